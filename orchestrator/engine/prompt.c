/*
 * prompt.c: the operator's questions on the terminal during a run
 * (prompt.h), read on the loop through a uv_tty_t, one at a time.
 */
#include "drover/prompt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A question waiting for its answer. */
struct dr_prompt {
	bool gate; /* else: pause */
	size_t task;
	struct dr_prompt *next;
};

static void ask_next(struct dr_prompts *pr);

static void
tty_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char mem[1024];

	(void)h;
	(void)hint;
	buf->base = mem;
	buf->len = sizeof(mem);
}

static void
answer(struct dr_prompts *pr, const char *text)
{
	struct dr_prompt *p = pr->queue;
	const char *who = getenv("USER");

	if (p == NULL)
		return;
	if (p->gate) {
		bool yes = strcmp(text, "yes") == 0;
		if (!yes && strcmp(text, "no") != 0) {
			fprintf(stderr, "  answer yes or no: ");
			return;
		}
		pr->queue = p->next;
		if (pr->gate_answer) {
			size_t task = p->task;
			free(p);
			pr->gate_answer(pr->arg, task, yes);
			ask_next(pr);
			return;
		}
		pr->audit(pr->arg, yes ? "approve" : "refuse",
		          pr->g->tasks[p->task].key);
		dr_exec_gate_answer(pr->ex, p->task, yes, who);
	} else {
		bool unknown = dr_sched_task(pr->sched, p->task)->unknown;
		enum dr_pause_answer a;
		if (strcmp(text, "r") == 0 || strcmp(text, "retry") == 0 ||
		    (unknown && strcmp(text, "rerun") == 0))
			a = DR_PAUSE_RETRY;
		else if (!unknown &&
		         (strcmp(text, "s") == 0 || strcmp(text, "skip") == 0))
			a = DR_PAUSE_SKIP;
		else if (unknown &&
		         (strcmp(text, "d") == 0 || strcmp(text, "done") == 0))
			a = DR_PAUSE_DONE;
		else if (strcmp(text, "a") == 0 || strcmp(text, "abort") == 0)
			a = DR_PAUSE_ABORT;
		else {
			fprintf(stderr,
			        unknown ? "  answer done, rerun or abort: "
			                : "  answer retry, skip or abort: ");
			return;
		}
		pr->queue = p->next;
		{
			/* Every decision is on record before it acts. */
			char *d = dr_xasprintf("%s: %s",
			                       pr->g->tasks[p->task].key, text);
			pr->audit(pr->arg,
			          unknown ? "decision" : "pause-answer", d);
			free(d);
		}
		dr_sched_answer_pause(pr->sched, p->task, a);
	}
	free(p);
	ask_next(pr);
}

static void
tty_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct dr_prompts *pr = s->data;
	ssize_t i;

	if (n < 0) {
		/* The terminal went away: refuse what is pending. */
		uv_read_stop(s);
		pr->tty_reading = false;
		if (pr->gate_answer) { /* the control socket still answers */
			while (pr->queue) {
				struct dr_prompt *p = pr->queue;
				pr->queue = p->next;
				free(p);
			}
			return;
		}
		while (pr->queue)
			answer(pr, pr->queue->gate ? "no" : "abort");
		return;
	}
	for (i = 0; i < n; i++) {
		char c = buf->base[i];
		if (c == '\r')
			continue;
		if (c != '\n') {
			dr_buf_append(&pr->line, &c, 1);
			continue;
		}
		answer(pr, pr->line.data ? pr->line.data : "");
		pr->line.len = 0;
		if (pr->line.data)
			pr->line.data[0] = '\0';
	}
}

static void
ask_next(struct dr_prompts *pr)
{
	struct dr_prompt *p = pr->queue;
	const struct dr_task *t;

	if (p == NULL) {
		if (pr->tty_reading) {
			uv_read_stop((uv_stream_t *)&pr->tty);
			pr->tty_reading = false;
		}
		return;
	}
	t = &pr->g->tasks[p->task];
	if (p->gate) {
		fprintf(stderr,
		        "\n=== approval gate: %s/%s\n    %s\n  approve? "
		        "(yes/no): ",
		        t->service->name, t->step->name,
		        t->prompt ? t->prompt : "");
	} else {
		const struct dr_task_run *r = dr_sched_task(pr->sched, p->task);
		if (r->unknown)
			fprintf(
			    stderr,
			    "\n=== %s: %s\n  done (you checked on the host "
			    "that it did its work), rerun, or abort (decide "
			    "later with drover resume)? ",
			    t->key, r->message ? r->message : "");
		else
			fprintf(
			    stderr,
			    "\n=== paused: %s failed: %s\n  retry, skip (its "
			    "dependents are skipped) or abort? ",
			    t->key, r->message ? r->message : "");
	}
	if (!pr->tty_open) {
		if (uv_tty_init(pr->loop, &pr->tty, 0, 1) != 0) {
			fprintf(stderr, "\ndrover: cannot read the terminal\n");
			answer(pr, p->gate ? "no" : "abort");
			return;
		}
		pr->tty.data = pr;
		pr->tty_open = true;
		dr_buf_init(&pr->line, 256); /* an answer is a word */
	}
	if (!pr->tty_reading) {
		uv_read_start((uv_stream_t *)&pr->tty, tty_alloc, tty_read);
		pr->tty_reading = true;
	}
}

static void
push_prompt(struct dr_prompts *pr, bool gate, size_t task)
{
	struct dr_prompt *p = dr_xcalloc(1, sizeof(*p)), **pp;
	bool first = pr->queue == NULL;

	p->gate = gate;
	p->task = task;
	for (pp = &pr->queue; *pp; pp = &(*pp)->next)
		;
	*pp = p;
	if (first)
		ask_next(pr);
}

void
dr_prompts_gate(struct dr_prompts *pr, size_t task)
{
	push_prompt(pr, true, task);
}

void
dr_prompts_pause(struct dr_prompts *pr, size_t task)
{
	push_prompt(pr, false, task);
}

void
dr_prompts_drop(struct dr_prompts *pr, size_t task)
{
	struct dr_prompt **pp, *p;
	bool first;

	for (pp = &pr->queue; *pp; pp = &(*pp)->next) {
		if ((*pp)->task != task)
			continue;
		p = *pp;
		first = p == pr->queue;
		*pp = p->next;
		free(p);
		if (first) {
			fprintf(stderr, "\n  (answered elsewhere: %s)\n",
			        pr->g->tasks[task].key);
			pr->line.len = 0;
			if (pr->line.data)
				pr->line.data[0] = '\0';
			ask_next(pr);
		}
		return;
	}
}

static void
tty_closed(uv_handle_t *h)
{
	(void)h; /* the prompts live as long as the loop */
}

void
dr_prompts_close(struct dr_prompts *pr)
{
	if (pr->tty_open) {
		uv_close((uv_handle_t *)&pr->tty, tty_closed);
		pr->tty_open = false;
	}
	while (pr->queue) {
		struct dr_prompt *p = pr->queue;
		pr->queue = p->next;
		free(p);
	}
	dr_buf_free(&pr->line);
}
