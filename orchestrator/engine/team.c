/*
 * team.c: a live run as a team sees it (team.h): the control socket's
 * requests, gates with their approvers, pauses, watchers, notifications.
 */
#include "drover/team.h"

#include <errno.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jansson.h>

#include "drover/board.h"
#include "drover/common.h"
#include "drover/control.h"
#include "drover/notify.h"

#define MAX_APPROVERS 9
#define MAX_FAILED_EVENTS 10 /* a run of 2,600 failing tasks sends 10 */

/* A gate waiting for its answer. */
struct gate {
	struct dr_team *t;
	size_t task;
	uint64_t since_wall_ms;
	uv_timer_t timer; /* the step's timeout */
	uid_t uids[MAX_APPROVERS];
	char users[MAX_APPROVERS][64];
	size_t n;
	struct gate *next;
};

/* A task waiting for an answer to its pause (on_failure = "pause"). */
struct pausew {
	size_t task;
	uint64_t since_wall_ms;
	struct pausew *next;
};

struct dr_team {
	struct dr_team_opts o;
	struct dr_control *ctl;
	struct dr_notifier *notifier;
	struct gate *gates;
	struct pausew *pauses;
	uid_t starter;
	char starter_name[64];
	int nhandles;   /* gate timers closing */
	size_t nfailed; /* task-failed events sent */
	bool ended;
};

static void
name_of(uid_t uid, char *out, size_t len)
{
	struct passwd pw, *res = NULL;
	char buf[4096];

	snprintf(out, len, "%u", (unsigned)uid);
	if (getpwuid_r(uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(out, len, "%s", pw.pw_name);
}

/* --- notifications --------------------------------------------------- */

static json_t *
event(struct dr_team *t, const char *type)
{
	json_t *e = json_object();

	json_object_set_new(e, "type", json_string(type));
	json_object_set_new(e, "run", json_string(t->o.run_id));
	json_object_set_new(e, "plan", json_string(t->o.g->plan->name));
	json_object_set_new(e, "mode", json_string(t->o.mode));
	json_object_set_new(e, "from",
	                    json_string(dr_graph_from_names(t->o.g)));
	json_object_set_new(e, "to", json_string(t->o.g->to->name));
	json_object_set_new(e, "time",
	                    json_integer((json_int_t)dr_now_wall_ms()));
	return e;
}

static void
notify(struct dr_team *t, json_t *e, const char *text)
{
	dr_notify_send(t->notifier, e, text);
}

static void
notify_failed(void *arg, const char *msg)
{
	struct dr_team *t = arg;

	if (t->o.warn)
		t->o.warn(t->o.arg, msg);
	dr_control_broadcast(t->ctl, msg);
}

/* --- gates ------------------------------------------------------------ */

static struct gate *
find_gate(struct dr_team *t, const char *key)
{
	struct gate *gt;

	for (gt = t->gates; gt; gt = gt->next)
		if (strcmp(t->o.g->tasks[gt->task].key, key) == 0)
			return gt;
	return NULL;
}

static void
gate_timer_closed(uv_handle_t *h)
{
	struct gate *gt = h->data;
	struct dr_team *t = gt->t;

	free(gt);
	if (--t->nhandles == 0 && t->ended)
		free(t);
}

/* The gate no longer waits: unlinked, its timer closed. */
static void
gate_drop(struct gate *gt)
{
	struct dr_team *t = gt->t;
	struct gate **pp;

	for (pp = &t->gates; *pp; pp = &(*pp)->next)
		if (*pp == gt) {
			*pp = gt->next;
			break;
		}
	if (t->o.prompts)
		dr_prompts_drop(t->o.prompts, gt->task);
	uv_timer_stop(&gt->timer);
	uv_close((uv_handle_t *)&gt->timer, gate_timer_closed);
}

static void
gate_end(struct gate *gt, int status, const char *msg)
{
	struct dr_team *t = gt->t;
	size_t task = gt->task;

	gate_drop(gt);
	dr_exec_gate_finish(t->o.ex, task, status, msg);
}

static void
gate_timeout(uv_timer_t *h)
{
	struct gate *gt = h->data;
	struct dr_team *t = gt->t;
	const struct dr_task *task = &t->o.g->tasks[gt->task];
	char d[32], *m;

	dr_duration_fmt(task->step->timeout_ms, d, sizeof(d));
	m = dr_xasprintf("no answer within %s (%zu of %d approvals)", d, gt->n,
	                 task->step->approvers);
	t->o.audit(t->o.arg, "gate-timeout", task->key, NULL, 0, m);
	gate_end(gt, DR_ETIMEDOUT, m);
	free(m);
}

/* "approved by alice (uid 1001), bob (uid 1002)" */
static char *
approved_by(const struct gate *gt)
{
	struct dr_buf b;
	size_t i;

	dr_buf_init(&b, 0);
	dr_buf_puts(&b, "approved by ");
	for (i = 0; i < gt->n; i++)
		dr_buf_printf(&b, "%s%s (uid %u)", i ? ", " : "", gt->users[i],
		              (unsigned)gt->uids[i]);
	return dr_buf_steal(&b);
}

/*
 * One approval or denial by uid/user. Returns 0 with *msg, or nonzero
 * with *msg saying why it changed nothing.
 */
static int
decide(struct dr_team *t, struct gate *gt, bool yes, uid_t uid,
       const char *user, const char *comment, char **msg)
{
	const struct dr_task *task = &t->o.g->tasks[gt->task];
	const struct dr_step *st = task->step;
	enum dr_vote_result v;
	char *m;

	if (!yes) {
		t->o.audit(t->o.arg, "deny", task->key, user, uid, comment);
		m = dr_xasprintf("denied by %s (uid %u)%s%s", user,
		                 (unsigned)uid, comment ? ": " : "",
		                 comment ? comment : "");
		*msg = dr_xasprintf("%s: %s", task->key, m);
		gate_end(gt, DR_EREFUSED, m);
		free(m);
		return 0;
	}
	v = dr_ctl_vote(st->approvers, st->not_by_starter, t->starter, gt->uids,
	                gt->n, uid);
	if (v == DR_VOTE_STARTER) {
		t->o.audit(t->o.arg, "approve-not-counted", task->key, user,
		           uid, "not_by_starter: the run's starter");
		*msg = dr_xasprintf("%s: %s started this run, and the gate "
		                    "needs another person (not_by_starter)",
		                    task->key, user);
		return DR_EREFUSED;
	}
	if (v == DR_VOTE_TWICE) {
		*msg = dr_xasprintf("%s: %s has approved already; it needs "
		                    "%d distinct approvers",
		                    task->key, user, st->approvers);
		return DR_EREFUSED;
	}
	t->o.audit(t->o.arg, "approve", task->key, user, uid, comment);
	gt->uids[gt->n] = uid;
	snprintf(gt->users[gt->n], sizeof(gt->users[0]), "%s", user);
	gt->n++;
	if (v == DR_VOTE_MORE) {
		*msg = dr_xasprintf("%s: approval %zu of %d recorded; waiting "
		                    "for another person",
		                    task->key, gt->n, st->approvers);
		m = dr_xasprintf("  %s: approval %zu of %d by %s", task->key,
		                 gt->n, st->approvers, user);
		dr_control_broadcast(t->ctl, m);
		free(m);
		return 0;
	}
	m = approved_by(gt);
	*msg = dr_xasprintf("%s: %s", task->key, m);
	gate_end(gt, 0, m);
	free(m);
	return 0;
}

void
dr_team_gate(struct dr_team *t, size_t task)
{
	const struct dr_task *tk = &t->o.g->tasks[task];
	struct gate *gt = dr_xcalloc(1, sizeof(*gt));
	char *cmd, *text, *line;
	json_t *e;

	gt->t = t;
	gt->task = task;
	gt->since_wall_ms = dr_now_wall_ms();
	uv_timer_init(t->o.loop, &gt->timer);
	gt->timer.data = gt;
	t->nhandles++;
	gt->next = t->gates;
	t->gates = gt;
	if (tk->step->timeout_ms > 0)
		uv_timer_start(&gt->timer, gate_timeout, tk->step->timeout_ms,
		               0);
	cmd = dr_xasprintf("drover approve %s %s", t->o.run_id, tk->key);
	text = dr_xasprintf(
	    "drover: run %s (%s %s -> %s) waits at gate %s: %s; answer "
	    "with: %s [--comment TEXT] (or drover deny)%s",
	    t->o.run_id, t->o.mode, dr_graph_from_names(t->o.g),
	    t->o.g->to->name, tk->key, tk->prompt ? tk->prompt : "", cmd,
	    tk->step->approvers > 1 || tk->step->not_by_starter
	        ? tk->step->not_by_starter
	              ? "; needs approvers other than the starter"
	              : "; needs more than one approver"
	        : "");
	e = event(t, "gate-waiting");
	json_object_set_new(e, "task", json_string(tk->key));
	json_object_set_new(e, "question",
	                    json_string(tk->prompt ? tk->prompt : ""));
	json_object_set_new(e, "approvers", json_integer(tk->step->approvers));
	json_object_set_new(e, "not_by_starter",
	                    json_boolean(tk->step->not_by_starter));
	json_object_set_new(e, "command", json_string(cmd));
	notify(t, e, text);
	line = dr_xasprintf("  gate %s waiting: %s", tk->key, cmd);
	dr_control_broadcast(t->ctl, line);
	if (t->o.prompts == NULL) {
		fprintf(stderr, "drover: gate %s waits: %s\n", tk->key, cmd);
		fflush(stderr);
	} else {
		dr_prompts_gate(t->o.prompts, task);
	}
	free(line);
	free(text);
	free(cmd);
}

void
dr_team_tty_answer(struct dr_team *t, size_t task, bool yes)
{
	struct gate *gt;
	char *msg = NULL;

	for (gt = t->gates; gt; gt = gt->next)
		if (gt->task == task)
			break;
	if (gt == NULL)
		return;
	/* The terminal is the starter's. */
	if (decide(t, gt, yes, t->starter, t->starter_name, "on the terminal",
	           &msg) != 0 ||
	    (msg && strstr(msg, "recorded")))
		fprintf(stderr, "  %s\n", msg ? msg : "");
	free(msg);
}

/* --- pauses ------------------------------------------------------------ */

void
dr_team_pause(struct dr_team *t, size_t task)
{
	const struct dr_task *tk = &t->o.g->tasks[task];
	const struct dr_task_run *r = dr_sched_task(t->o.sched, task);
	struct pausew *p = dr_xcalloc(1, sizeof(*p));
	char *text, *line;
	json_t *e;

	{ /* an earlier pause of the same task was answered on the tty */
		struct pausew **pp = &t->pauses, *q;
		while ((q = *pp) != NULL) {
			if (q->task == task) {
				*pp = q->next;
				free(q);
			} else {
				pp = &q->next;
			}
		}
	}
	p->task = task;
	p->since_wall_ms = dr_now_wall_ms();
	p->next = t->pauses;
	t->pauses = p;
	text = dr_xasprintf("drover: run %s paused: %s: %s; answer with: "
	                    "drover answer %s %s retry|skip|abort",
	                    t->o.run_id, tk->key,
	                    r->message ? r->message : "failed", t->o.run_id,
	                    tk->key);
	e = event(t, "run-paused");
	json_object_set_new(e, "task", json_string(tk->key));
	json_object_set_new(e, "message",
	                    json_string(r->message ? r->message : ""));
	notify(t, e, text);
	line = dr_xasprintf("  paused: %s: drover answer %s %s "
	                    "retry|skip|abort",
	                    tk->key, t->o.run_id, tk->key);
	dr_control_broadcast(t->ctl, line);
	if (t->o.prompts)
		dr_prompts_pause(t->o.prompts, task);
	else if (!r->unknown)
		fprintf(stderr, "drover: %s\n", line + 2);
	free(line);
	free(text);
}

static struct pausew *
find_pause(struct dr_team *t, const char *key)
{
	struct pausew *p;

	for (p = t->pauses; p; p = p->next)
		if (strcmp(t->o.g->tasks[p->task].key, key) == 0 &&
		    dr_sched_task(t->o.sched, p->task)->state ==
		        DR_TS_RETRY_WAIT)
			return p;
	return NULL;
}

static struct pausew *
take_pause(struct dr_team *t, const char *key)
{
	struct pausew **pp, *p;

	for (pp = &t->pauses; *pp; pp = &(*pp)->next) {
		p = *pp;
		if (strcmp(t->o.g->tasks[p->task].key, key) == 0 &&
		    dr_sched_task(t->o.sched, p->task)->state ==
		        DR_TS_RETRY_WAIT) {
			*pp = p->next;
			return p;
		}
	}
	return NULL;
}

/* --- the control socket ------------------------------------------------- */

static char *
gates_text(struct dr_team *t)
{
	struct dr_buf b;
	struct gate *gt;
	struct pausew *p;
	uint64_t now = dr_now_wall_ms();
	size_t i;

	dr_buf_init(&b, 0);
	for (gt = t->gates; gt; gt = gt->next) {
		const struct dr_task *tk = &t->o.g->tasks[gt->task];
		char d[32];
		dr_duration_fmt(now - gt->since_wall_ms, d, sizeof(d));
		dr_buf_printf(&b, "gate %s waiting %s, %zu of %d approvals",
		              tk->key, d, gt->n, tk->step->approvers);
		for (i = 0; i < gt->n; i++)
			dr_buf_printf(&b, "%s%s", i ? ", " : " (",
			              gt->users[i]);
		dr_buf_printf(
		    &b, "%s%s: drover approve %s %s\n", gt->n ? ")" : "",
		    tk->step->not_by_starter ? ", not the starter" : "",
		    t->o.run_id, tk->key);
	}
	for (p = t->pauses; p; p = p->next) {
		const struct dr_task *tk = &t->o.g->tasks[p->task];
		char d[32];
		if (dr_sched_task(t->o.sched, p->task)->state !=
		    DR_TS_RETRY_WAIT)
			continue;
		dr_duration_fmt(now - p->since_wall_ms, d, sizeof(d));
		dr_buf_printf(&b,
		              "paused %s waiting %s: drover answer %s %s "
		              "retry|skip|abort\n",
		              tk->key, d, t->o.run_id, tk->key);
	}
	if (dr_sched_held(t->o.sched))
		dr_buf_printf(&b, "held by drover pause: drover continue %s\n",
		              t->o.run_id);
	return b.data ? dr_buf_steal(&b) : dr_xstrdup("");
}

static int
on_request(void *arg, const struct dr_ctl_peer *peer,
           const struct dr_ctl_msg *m, char **msg)
{
	struct dr_team *t = arg;
	struct gate *gt;
	struct pausew *p;
	char *d;

	if (t->ended) {
		*msg = dr_xstrdup("the run is ending");
		return DR_EINVAL;
	}
	switch (m->op) {
	case DR_CTL_APPROVE:
	case DR_CTL_DENY:
		gt = find_gate(t, m->task);
		if (gt == NULL) {
			*msg = dr_xasprintf(
			    "no gate %s is waiting in run %s (drover status "
			    "%s lists what waits)",
			    m->task, t->o.run_id, t->o.run_id);
			return DR_ENOTFOUND;
		}
		return decide(t, gt, m->op == DR_CTL_APPROVE, peer->uid,
		              peer->user, m->comment, msg);
	case DR_CTL_PAUSE:
		t->o.audit(t->o.arg, "pause", "start nothing new", peer->user,
		           peer->uid, NULL);
		dr_sched_hold(t->o.sched, true);
		{
			json_t *e = event(t, "run-paused");
			char *text = dr_xasprintf(
			    "drover: run %s paused by %s: drover continue %s",
			    t->o.run_id, peer->user, t->o.run_id);
			json_object_set_new(e, "by", json_string(peer->user));
			notify(t, e, text);
			free(text);
		}
		d = dr_xasprintf("  paused by %s: running tasks go on, nothing "
		                 "new starts (drover continue %s)",
		                 peer->user, t->o.run_id);
		dr_control_broadcast(t->ctl, d);
		fprintf(stderr, "drover: %s\n", d + 2);
		*msg = d;
		return 0;
	case DR_CTL_CONTINUE:
		t->o.audit(t->o.arg, "continue", "start what is ready",
		           peer->user, peer->uid, NULL);
		dr_sched_hold(t->o.sched, false);
		*msg = dr_xasprintf("run %s continues", t->o.run_id);
		fprintf(stderr, "drover: continued by %s\n", peer->user);
		return 0;
	case DR_CTL_ABORT:
		t->o.audit(t->o.arg, "abort",
		           "interrupted: starting nothing new, cancelling "
		           "running tasks",
		           peer->user, peer->uid, NULL);
		d = dr_xasprintf("abort by %s (uid %u)", peer->user,
		                 (unsigned)peer->uid);
		t->o.interrupt(t->o.arg, d);
		free(d);
		*msg = dr_xasprintf("run %s is stopping (exit 3); drover "
		                    "resume %s continues it",
		                    t->o.run_id, t->o.run_id);
		return 0;
	case DR_CTL_ANSWER:
		p = find_pause(t, m->task);
		if (p && strcmp(m->answer, "skip") == 0 &&
		    dr_sched_task(t->o.sched, p->task)->unknown) {
			*msg = dr_xasprintf(
			    "%s may or may not have run: answer retry (run it "
			    "again) or abort (then drover resume %s "
			    "--assume-done %s once you checked it did its "
			    "work)",
			    m->task, t->o.run_id, m->task);
			return DR_EINVAL;
		}
		p = take_pause(t, m->task);
		if (p == NULL) {
			*msg = dr_xasprintf("%s is not paused in run %s",
			                    m->task, t->o.run_id);
			return DR_ENOTFOUND;
		}
		d = dr_xasprintf("%s: %s", m->task, m->answer);
		t->o.audit(t->o.arg, "pause-answer", d, peer->user, peer->uid,
		           NULL);
		free(d);
		if (t->o.prompts)
			dr_prompts_drop(t->o.prompts, p->task);
		dr_sched_answer_pause(
		    t->o.sched, p->task,
		    strcmp(m->answer, "retry") == 0  ? DR_PAUSE_RETRY
		    : strcmp(m->answer, "skip") == 0 ? DR_PAUSE_SKIP
		                                     : DR_PAUSE_ABORT);
		free(p);
		*msg = dr_xasprintf("%s: %s", m->task, m->answer);
		return 0;
	case DR_CTL_WATCH:
		d = gates_text(t);
		*msg = dr_xasprintf(
		    "run %s: %s from %s to %s, %zu tasks (watching, "
		    "read-only)\n%s",
		    t->o.run_id, t->o.mode, dr_graph_from_names(t->o.g),
		    t->o.g->to->name, t->o.g->ntasks, d);
		free(d);
		return 0;
	case DR_CTL_STATUS:
		*msg = gates_text(t);
		return 0;
	}
	*msg = dr_xstrdup("unknown request");
	return DR_EINVAL;
}

int
dr_team_new(const struct dr_team_opts *o, struct dr_team **out)
{
	struct dr_team *t = dr_xcalloc(1, sizeof(*t));
	struct dr_notify_opts no = {0};
	char *path = dr_xasprintf("%s/%s", o->run_dir, DR_CONTROL_SOCK);
	int r;

	t->o = *o;
	t->starter = geteuid();
	name_of(t->starter, t->starter_name, sizeof(t->starter_name));
	/* The socket's group is the run directory's: a setgid state
	 * directory (README "Shared state") gives it the team's group. */
	r = dr_control_open(o->loop, path, (gid_t)-1, on_request, t, &t->ctl);
	if (r != 0 && o->warn) {
		char *m = dr_xasprintf("cannot open the control socket %s: %s; "
		                       "gates are answered on this terminal "
		                       "only",
		                       path, strerror(errno));
		o->warn(o->arg, m);
		free(m);
	}
	no.loop = o->loop;
	no.cfg = &o->g->plan->notify;
	no.cwd = o->g->plan->dir;
	no.secrets = o->secrets;
	no.nsecrets = o->nsecrets;
	no.failed = notify_failed;
	no.arg = t;
	if (dr_notify_new(&no, &t->notifier) != 0 && o->warn)
		o->warn(o->arg, "notifications cannot be sent: libcurl could "
		                "not be set up");
	{
		char *text = dr_xasprintf(
		    "drover: run %s started: %s %s -> %s, plan %s, %zu tasks; "
		    "drover watch %s",
		    o->run_id, o->mode, dr_graph_from_names(o->g),
		    o->g->to->name, o->g->plan->name, o->g->ntasks, o->run_id);
		json_t *e = event(t, "run-start");
		json_object_set_new(e, "tasks",
		                    json_integer((json_int_t)o->g->ntasks));
		json_object_set_new(e, "by", json_string(t->starter_name));
		notify(t, e, text);
		free(text);
	}
	free(path);
	*out = t;
	return 0;
}

void
dr_team_line(struct dr_team *t, const char *line)
{
	if (t)
		dr_control_broadcast(t->ctl, line);
}

void
dr_team_change(struct dr_team *t, const struct dr_task *task,
               const struct dr_task_run *r, enum dr_task_state old,
               uint64_t since_ms)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f;

	if (t == NULL)
		return;
	if (task->step->action == DR_ACT_APPROVE &&
	    r->state != DR_TS_RUNNING) { /* cancelled, or answered */
		struct gate *gt;
		for (gt = t->gates; gt; gt = gt->next)
			if (gt->task == task->id) {
				gate_drop(gt);
				break;
			}
	}
	if (dr_control_watchers(t->ctl) > 0 &&
	    (f = open_memstream(&buf, &len)) != NULL) {
		dr_board_task(f, task, r, old, since_ms);
		fclose(f);
		if (len > 0 && buf[len - 1] == '\n')
			buf[--len] = '\0';
		if (len > 0)
			dr_control_broadcast(t->ctl, buf);
		free(buf);
	}
	if ((r->state == DR_TS_FAILED || r->state == DR_TS_REFUSED) &&
	    t->nfailed++ < MAX_FAILED_EVENTS) {
		bool last = t->nfailed == MAX_FAILED_EVENTS;
		char *text = dr_xasprintf(
		    "drover: run %s: %s failed: %s%s%s", t->o.run_id, task->key,
		    r->message ? r->message : "",
		    last ? "; further failures are not notified one by one: "
		           "drover status "
		         : "",
		    last ? t->o.run_id : "");
		json_t *e = event(t, "task-failed");
		json_object_set_new(e, "task", json_string(task->key));
		json_object_set_new(e, "message",
		                    json_string(r->message ? r->message : ""));
		json_object_set_new(e, "exit_code", json_integer(r->exit_code));
		notify(t, e, text);
		free(text);
	}
}

void
dr_team_end(struct dr_team *t, const char *final_state)
{
	struct pausew *p;
	char *text;
	json_t *e;

	if (t == NULL)
		return;
	text = dr_xasprintf(
	    "drover: run %s ended: %s (%s %s -> %s)%s%s", t->o.run_id,
	    final_state, t->o.mode, dr_graph_from_names(t->o.g),
	    t->o.g->to->name,
	    strcmp(final_state, "interrupted") == 0
	        ? "; continue it with drover resume "
	        : "",
	    strcmp(final_state, "interrupted") == 0 ? t->o.run_id : "");
	e = event(t, "run-ended");
	json_object_set_new(e, "state", json_string(final_state));
	if (strcmp(final_state, "provisioned") == 0) /* the run goes on */
		json_decref(e);
	else
		notify(t, e, text);
	dr_control_broadcast(t->ctl, text + strlen("drover: "));
	free(text);
	t->ended = true;
	while (t->gates)
		gate_drop(t->gates);
	while ((p = t->pauses) != NULL) {
		t->pauses = p->next;
		free(p);
	}
	dr_control_close(t->ctl);
	t->ctl = NULL;
	/* The notifier outlives t by up to one deadline: its failures go to
	 * the run itself from now on. */
	dr_notify_rehook(t->notifier, t->o.warn, t->o.arg);
	dr_notify_close(t->notifier);
	t->notifier = NULL;
	if (t->nhandles == 0)
		free(t);
}

int
dr_team_query_gates(const char *run_dir, char **text)
{
	struct dr_ctl_msg m = {.op = DR_CTL_STATUS};

	return dr_ctl_call(run_dir, &m, text, NULL, NULL);
}

void
dr_team_share(const char *run_dir)
{
	static const char *const files[] = {
	    "journal",   "audit",       "logs/output.log", "report.json",
	    "report.md", "report.html", "known_hosts",     NULL};
	struct stat st;
	size_t i;

	if (stat(run_dir, &st) != 0 || !(st.st_mode & S_ISGID))
		return;
	for (i = 0; files[i]; i++) {
		char *p = dr_xasprintf("%s/%s", run_dir, files[i]);
		chmod(p, 0640);
		free(p);
	}
}
