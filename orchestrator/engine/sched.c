/*
 * sched.c: ready queue, limits, tiers, retries and failure policy.
 *
 * Every task state change goes through set_state(), which keeps the counts
 * (per tier, remaining) and calls the on_change hook. Dispatch is one pass
 * over the ready heap in priority order; tasks blocked only by a per-host or
 * per-site limit are put back so that lower-priority work on other hosts can
 * use the idle capacity.
 */
#include "drover/sched.h"
#include "drover/ready.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"

struct retry {
	uv_timer_t timer;
	struct dr_sched *s;
	size_t id;
	struct retry *next, *prev;
};

enum { AWAIT_NONE, AWAIT_START };

struct dr_sched {
	uv_loop_t *loop;
	const struct dr_graph *g;
	struct dr_executor ex;
	struct dr_sched_hooks h;
	struct dr_task_run *runs;
	size_t *deps_left;
	bool *queued;         /* in the ready heap */
	unsigned char *await; /* AWAIT_*: waiting for a change to be durable */
	int awaiting;
	bool journal_failed;
	struct dr_ready *ready; /* ready tasks by slot class (ready.h) */

	/* Slots: host indices per task (-1 none); counts in use. */
	int (*slots)[2];
	int *host_site;
	int *host_busy;
	int *site_busy;
	int nhosts, nsites;
	int busy;

	size_t tier_left[DR_TIER_MAX + 1];
	int cur_tier;
	size_t remaining; /* tasks not in a final state */
	size_t work_left; /* of them, not cleanup tasks */
	size_t ncleanup;
	bool cleanup_phase; /* the plan is over: cleanup tasks may run */
	int running;
	int paused;         /* tasks waiting for an operator answer */
	size_t undecided;   /* indeterminate: the operator must decide */
	size_t *blocked_by; /* per task: 1 + the undecided task it waits for */
	struct retry *retries;

	bool started, stopping, interrupted, failed, ended;
	bool held; /* drover pause: start nothing new until continue */
	bool in_dispatch, again;
	uv_timer_t end_timer;
	bool end_timer_open;
	uint64_t start_wall_ms, start_mono_ms;
};

const char *
dr_task_state_name(enum dr_task_state s)
{
	switch (s) {
	case DR_TS_PENDING:
		return "pending";
	case DR_TS_RUNNING:
		return "running";
	case DR_TS_RETRY_WAIT:
		return "retry-wait";
	case DR_TS_SUCCEEDED:
		return "succeeded";
	case DR_TS_FAILED:
		return "failed";
	case DR_TS_SKIPPED:
		return "skipped";
	case DR_TS_CANCELLED:
		return "cancelled";
	case DR_TS_INDETERMINATE:
		return "indeterminate";
	case DR_TS_REFUSED:
		return "refused";
	}
	return "?";
}

bool
dr_task_state_final(enum dr_task_state s)
{
	return s == DR_TS_SUCCEEDED || s == DR_TS_FAILED ||
	       s == DR_TS_SKIPPED || s == DR_TS_CANCELLED ||
	       s == DR_TS_REFUSED || s == DR_TS_INDETERMINATE;
}

/* Final states after which dependents may run. */
static bool
lets_dependents_run(const struct dr_task_run *r)
{
	return r->state == DR_TS_SUCCEEDED || r->state == DR_TS_REFUSED ||
	       (r->state == DR_TS_SKIPPED && (r->unreachable || r->by_design));
}

static void dispatch(struct dr_sched *s);
static void maybe_end(struct dr_sched *s);
static void stop_retries(struct dr_sched *s);
static void block_dependents(struct dr_sched *s, size_t id, size_t root);

static void
advance_tier(struct dr_sched *s)
{
	while (s->cur_tier <= DR_TIER_MAX && s->tier_left[s->cur_tier] == 0)
		s->cur_tier++;
}

/* The only way a task changes state. */
static void
set_state(struct dr_sched *s, size_t id, enum dr_task_state st)
{
	struct dr_task_run *r = &s->runs[id];
	enum dr_task_state old = r->state;
	const struct dr_task *t = &s->g->tasks[id];

	if (old == st && st != DR_TS_RUNNING)
		return;
	r->state = st;
	if (st == DR_TS_RUNNING && r->start_wall_ms == 0) {
		r->start_wall_ms = dr_now_wall_ms();
		r->start_mono_ms = dr_now_mono_ms();
	}
	if (dr_task_state_final(st) && !dr_task_state_final(old)) {
		r->end_wall_ms = dr_now_wall_ms();
		r->end_mono_ms = dr_now_mono_ms();
		if (r->start_wall_ms == 0) {
			r->start_wall_ms = r->end_wall_ms;
			r->start_mono_ms = r->end_mono_ms;
		}
		s->remaining--;
		if (!t->cleanup) {
			s->work_left--;
			s->tier_left[t->tier]--;
			advance_tier(s);
		}
	}
	dr_trace_state("sched", t->key, dr_task_state_name(old),
	               dr_task_state_name(st));
	if (s->h.on_change && s->started) /* presets are history */
		s->h.on_change(s->h.arg, t, r, old);
}

static void
make_ready(struct dr_sched *s, size_t id)
{
	if (s->queued[id] || s->runs[id].state != DR_TS_PENDING)
		return;
	if (s->g->tasks[id].cleanup && !s->cleanup_phase)
		return; /* queued when the rest of the plan is over */
	s->queued[id] = true;
	dr_ready_push(s->ready, id);
}

/* Skips every pending task that depends, directly or not, on id. */
static void
skip_dependents(struct dr_sched *s, size_t id)
{
	const struct dr_task *t = &s->g->tasks[id];
	size_t j;

	for (j = 0; j < t->nrdeps; j++) {
		size_t d = t->rdeps[j];
		struct dr_task_run *r = &s->runs[d];
		if (r->state != DR_TS_PENDING)
			continue;
		free(r->message);
		r->message =
		    dr_xasprintf("depends on %s, which %s", t->key,
		                 dr_task_state_name(s->runs[id].state));
		set_state(s, d, DR_TS_SKIPPED);
		skip_dependents(s, d);
	}
}

/* A task reached a final state: release or skip its dependents. */
static void
settle(struct dr_sched *s, size_t id)
{
	const struct dr_task *t = &s->g->tasks[id];
	size_t j;

	if (!lets_dependents_run(&s->runs[id])) {
		skip_dependents(s, id);
		return;
	}
	for (j = 0; j < t->nrdeps; j++) {
		size_t d = t->rdeps[j];
		if (--s->deps_left[d] == 0)
			make_ready(s, d);
	}
}

/* Host slots a task holds while it runs: its host and a copy's source. */
static int
task_slots(const struct dr_sched *s, size_t id, int out[2])
{
	int n = 0;

	if (s->slots[id][0] >= 0)
		out[n++] = s->slots[id][0];
	if (s->slots[id][1] >= 0 && s->slots[id][1] != s->slots[id][0])
		out[n++] = s->slots[id][1];
	return n;
}

/* Local commands count against the session limit: each is a process. */
static bool
local_task(const struct dr_sched *s, size_t id)
{
	enum dr_action a = s->g->tasks[id].step->action;

	return a == DR_ACT_LOCAL || a == DR_ACT_PROVISION ||
	       a == DR_ACT_DEPROVISION;
}

static bool
fits(const struct dr_sched *s, size_t id)
{
	const struct dr_limits *l = &s->g->plan->limits;
	int h[2], n = task_slots(s, id, h), i;

	if (s->busy == 0)
		return true; /* at least one task can always run */
	if (n == 0)          /* a local command holds a controller slot */
		return !local_task(s, id) || s->busy + 1 <= l->sessions;
	if (s->busy + n > l->sessions)
		return false;
	for (i = 0; i < n; i++) {
		if (s->host_busy[h[i]] >= l->per_host)
			return false;
		if (s->site_busy[s->host_site[h[i]]] >= l->per_site)
			return false;
	}
	if (n == 2 && s->host_site[h[0]] == s->host_site[h[1]] &&
	    s->site_busy[s->host_site[h[0]]] + 2 > l->per_site)
		return false;
	return true;
}

static void
hold(struct dr_sched *s, size_t id, int delta)
{
	int h[2], n = task_slots(s, id, h), i;

	if (local_task(s, id))
		s->busy += delta;
	for (i = 0; i < n; i++) {
		s->host_busy[h[i]] += delta;
		s->site_busy[s->host_site[h[i]]] += delta;
		s->busy += delta;
	}
}

static void
fail_attempt(struct dr_sched *s, size_t id, int status, const char *msg)
{
	struct dr_outcome o = {
	    .status = status, .exit_code = -1, .message = msg};

	/* The attempt never started: account it as running first. */
	s->running++;
	hold(s, id, +1);
	dr_sched_task_done(s, id, &o);
}

/* Hands a RUNNING task to the executor. */
static void
launch(struct dr_sched *s, size_t id)
{
	int r = s->ex.start(s->ex.impl, s, &s->g->tasks[id]);

	if (r != 0) {
		hold(s, id, -1);
		s->running--;
		fail_attempt(s, id, r, dr_strerror(r));
	}
}

/*
 * Asks the barrier hook to make the change just reported durable before
 * going on. Only a start waits: records become durable in order, so when a
 * dependent's intent is durable, the outcome it depends on (appended before
 * it) is too: one sync serves both. Returns false when there is
 * no barrier hook: go on at once.
 */
static bool
await_durable(struct dr_sched *s, size_t id, unsigned char what)
{
	if (s->h.barrier == NULL)
		return false;
	s->await[id] = what;
	s->awaiting++;
	s->h.barrier(s->h.arg, s, &s->g->tasks[id]);
	return true;
}

void
dr_sched_durable(struct dr_sched *s, size_t id, int status)
{
	unsigned char what = s->await[id];
	struct dr_task_run *r = &s->runs[id];

	if (what == AWAIT_NONE)
		return;
	s->await[id] = AWAIT_NONE;
	s->awaiting--;
	if (status != 0 && !s->journal_failed) {
		s->journal_failed = true;
		s->failed = true;
		s->stopping = true;
		stop_retries(s);
	}
	if (status != 0 ||
	    (s->stopping && !(s->cleanup_phase && s->g->tasks[id].cleanup))) {
		hold(s, id, -1);
		s->running--;
		free(r->message);
		r->message = dr_xstrdup(
		    status != 0 ? "not started: the journal could "
		                  "not be written"
		                : "not started: the run is stopping");
		set_state(s, id, DR_TS_CANCELLED);
		if (!s->interrupted) /* an interrupt cancels them at the end */
			skip_dependents(s, id);
	} else {
		launch(s, id);
	}
	dispatch(s);
}

static void
dispatch(struct dr_sched *s)
{
	const struct dr_graph *g = s->g;
	const int sessions = g->plan->limits.sessions;

	if (s->in_dispatch) {
		s->again = true;
		return;
	}
	s->in_dispatch = true;
	/*
	 * Tasks start in ready order; one that does not fit its host, site
	 * or the session limit waits for the next pass, and so does its
	 * whole class (they hold the same slots), without being looked at.
	 * A pass stops at the first task that is in a later tier (strict
	 * tiers) or that does not fit while every session is taken,
	 * counting the tasks of the classes set aside (skipped_min).
	 */
	do {
		s->again = false;
		while (dr_ready_count(s->ready) > 0 &&
		       (!s->stopping || s->cleanup_phase) && s->paused == 0 &&
		       (!s->held || s->stopping)) {
			size_t id, sk;
			const struct dr_task *t;

			if (!dr_ready_peek(s->ready, &id))
				break;
			t = &g->tasks[id];
			if (dr_ready_skipped_min(s->ready, &sk) &&
			    dr_ready_before(s->ready, sk, id)) {
				const struct dr_task *y = &g->tasks[sk];
				if ((g->plan->strict_tiers && !y->cleanup &&
				     y->tier > s->cur_tier) ||
				    s->busy >= sessions)
					break;
			}
			if (g->plan->strict_tiers && !t->cleanup &&
			    t->tier > s->cur_tier)
				break;
			if (t->refused || t->drill_skip) {
				dr_ready_take(s->ready);
				s->queued[id] = false;
				free(s->runs[id].message);
				if (t->drill_skip) {
					s->runs[id].message =
					    dr_xstrdup("a drill does not fence "
					               "the production sites");
					s->runs[id].by_design = true;
					set_state(s, id, DR_TS_SKIPPED);
				} else {
					s->runs[id].message = dr_xstrdup(
					    t->refusal ? t->refusal
					               : "refused before "
					                 "connecting: a drill "
					                 "never touches "
					                 "production");
					s->failed = true;
					set_state(s, id, DR_TS_REFUSED);
				}
				settle(s, id);
				continue;
			}
			if (!fits(s, id)) {
				if (s->busy >= sessions)
					break;
				dr_ready_skip(s->ready);
				continue;
			}
			dr_ready_take(s->ready);
			s->queued[id] = false;
			s->runs[id].attempts++;
			hold(s, id, +1);
			s->running++;
			set_state(s, id, DR_TS_RUNNING);
			if (!await_durable(s, id, AWAIT_START))
				launch(s, id);
		}
		dr_ready_end_pass(s->ready);
	} while (s->again);
	s->in_dispatch = false;
	maybe_end(s);
}

static void
retry_closed(uv_handle_t *h)
{
	free(h->data);
}

static void
retry_unlink(struct dr_sched *s, struct retry *rt)
{
	if (rt->prev)
		rt->prev->next = rt->next;
	else
		s->retries = rt->next;
	if (rt->next)
		rt->next->prev = rt->prev;
	uv_close((uv_handle_t *)&rt->timer, retry_closed);
}

static void
retry_fire(uv_timer_t *t)
{
	struct retry *rt = t->data;
	struct dr_sched *s = rt->s;
	size_t id = rt->id;

	retry_unlink(s, rt);
	if (s->runs[id].state != DR_TS_RETRY_WAIT)
		return;
	set_state(s, id, DR_TS_PENDING);
	make_ready(s, id);
	dispatch(s);
}

static void
schedule_retry(struct dr_sched *s, size_t id)
{
	const struct dr_step *st = s->g->tasks[id].step;
	struct retry *rt = dr_xcalloc(1, sizeof(*rt));
	int shift = s->runs[id].attempts - 1;
	uint64_t delay;

	if (shift > 4)
		shift = 4;
	delay = st->retry_delay_ms << shift;
	rt->s = s;
	rt->id = id;
	uv_timer_init(s->loop, &rt->timer);
	rt->timer.data = rt;
	rt->next = s->retries;
	if (s->retries)
		s->retries->prev = rt;
	s->retries = rt;
	set_state(s, id, DR_TS_RETRY_WAIT);
	uv_timer_start(&rt->timer, retry_fire, delay, 0);
}

static bool
retryable(int status)
{
	return status != DR_EHOSTKEY && status != DR_EAUTH &&
	       status != DR_EREFUSED && status != DR_ECANCELED &&
	       status != DR_EINVAL;
}

/* Stopping: tasks waiting to retry will not start again. */
static void
stop_retries(struct dr_sched *s)
{
	struct retry *rt, *next;

	for (rt = s->retries; rt != NULL; rt = next) {
		next = rt->next;
		free(s->runs[rt->id].message);
		s->runs[rt->id].message =
		    dr_xstrdup("not retried: the run is stopping");
		set_state(s, rt->id, DR_TS_CANCELLED);
		retry_unlink(s, rt);
	}
}

void
dr_sched_task_done(struct dr_sched *s, size_t id, const struct dr_outcome *o)
{
	struct dr_task_run *r = &s->runs[id];
	const struct dr_step *st = s->g->tasks[id].step;

	if (r->state != DR_TS_RUNNING)
		return;
	hold(s, id, -1);
	s->running--;
	r->exit_code = o->exit_code;
	snprintf(r->signal, sizeof(r->signal), "%s", o->signal);
	free(r->message);
	r->message = o->message ? dr_xstrdup(o->message) : NULL;
	if (o->tail) {
		free(r->tail);
		r->tail = dr_xstrdup(o->tail);
	}
	r->unreachable = o->status == DR_ECONNECT;
	if (o->backup) {
		free(r->backup);
		r->backup = dr_xstrdup(o->backup);
		r->backup_ms = o->backup_ms;
	}
	if (o->rejected) {
		free(r->rejected);
		r->rejected = dr_xstrdup(o->rejected);
	}
	r->unknown = o->unknown;
	if (o->status == 0) {
		set_state(s, id, DR_TS_SUCCEEDED);
		settle(s, id);
	} else if (o->unknown && !st->idempotent && !st->readonly) {
		/* It may have run: never guessed, never retried. The
		 * operator decides; its dependents wait for that. */
		char *m = dr_xasprintf(
		    "outcome unknown (%s): the command may or may not have "
		    "run; check on the host, then decide",
		    r->message ? r->message : "no end seen");
		free(r->message);
		r->message = m;
		if (s->h.on_pause && !s->interrupted) {
			s->paused++;
			set_state(s, id, DR_TS_RETRY_WAIT);
			s->h.on_pause(s->h.arg, &s->g->tasks[id], r);
		} else {
			s->undecided++;
			set_state(s, id, DR_TS_INDETERMINATE);
			block_dependents(s, id, id);
		}
	} else if (s->interrupted && !s->g->tasks[id].cleanup) {
		/* Dependents stay pending; the end cancels them. */
		set_state(s, id, DR_TS_CANCELLED);
	} else if (retryable(o->status) && r->attempts <= st->retries &&
	           (!s->stopping || s->g->tasks[id].cleanup)) {
		schedule_retry(s, id);
	} else if (r->unreachable && st->unreachable == DR_UNREACH_CONTINUE) {
		set_state(s, id, DR_TS_SKIPPED);
		settle(s, id);
	} else if (st->on_failure == DR_FAIL_PAUSE && s->h.on_pause &&
	           !s->stopping) {
		s->paused++;
		set_state(s, id, DR_TS_RETRY_WAIT);
		s->h.on_pause(s->h.arg, &s->g->tasks[id], r);
	} else {
		s->failed = true;
		set_state(s, id, DR_TS_FAILED);
		if (st->on_failure != DR_FAIL_CONTINUE) {
			s->stopping = true;
			stop_retries(s);
		}
		skip_dependents(s, id);
	}
	dispatch(s);
}

void
dr_sched_hold(struct dr_sched *s, bool on)
{
	if (s->held == on)
		return;
	s->held = on;
	if (!on && s->started && !s->ended)
		dispatch(s);
}

bool
dr_sched_held(const struct dr_sched *s)
{
	return s->held;
}

void
dr_sched_answer_pause(struct dr_sched *s, size_t id, enum dr_pause_answer a)
{
	struct dr_task_run *r = &s->runs[id];

	if (s->paused == 0 || r->state != DR_TS_RETRY_WAIT)
		return;
	s->paused--;
	switch (a) {
	case DR_PAUSE_RETRY:
		r->unknown = false;
		set_state(s, id, DR_TS_PENDING);
		make_ready(s, id);
		break;
	case DR_PAUSE_DONE:
		free(r->message);
		r->message = dr_xstrdup("assumed done by the operator");
		r->unknown = false;
		set_state(s, id, DR_TS_SUCCEEDED);
		settle(s, id);
		break;
	case DR_PAUSE_SKIP:
		s->failed = true;
		set_state(s, id, DR_TS_FAILED);
		skip_dependents(s, id);
		break;
	case DR_PAUSE_LATER:
		if (r->unknown) {
			s->undecided++;
			set_state(s, id, DR_TS_INDETERMINATE);
			block_dependents(s, id, id);
			break;
		}
		/* A failure without an answer aborts. */
		__attribute__((fallthrough));
	case DR_PAUSE_ABORT:
		s->stopping = true;
		stop_retries(s);
		if (r->unknown) {
			/* Not a failure: still undecided, for resume. */
			s->undecided++;
			set_state(s, id, DR_TS_INDETERMINATE);
			block_dependents(s, id, id);
			break;
		}
		s->failed = true;
		set_state(s, id, DR_TS_FAILED);
		skip_dependents(s, id);
		break;
	}
	dispatch(s);
}

static void
end_cb(uv_timer_t *t)
{
	struct dr_sched *s = t->data;

	if (s->h.on_end)
		s->h.on_end(s->h.arg, s);
}

/* Marks every pending task that depends, directly or not, on root as
 * waiting for the operator's decision on root (each task once). */
static void
block_dependents(struct dr_sched *s, size_t id, size_t root)
{
	const struct dr_task *t = &s->g->tasks[id];
	size_t j;

	for (j = 0; j < t->nrdeps; j++) {
		size_t d = t->rdeps[j];
		if (s->blocked_by[d] != 0 || s->runs[d].state != DR_TS_PENDING)
			continue;
		s->blocked_by[d] = root + 1;
		block_dependents(s, d, root);
	}
}

static void
maybe_end(struct dr_sched *s)
{
	size_t i;

	if (s->ended || !s->started || s->running > 0 || s->paused > 0 ||
	    s->retries != NULL || s->awaiting > 0)
		return;
	if (s->remaining > 0 && (!s->stopping || s->cleanup_phase) &&
	    dr_ready_count(s->ready) > 0)
		return; /* dispatch will make progress */
	if (!s->cleanup_phase && s->ncleanup > 0) {
		/* The plan is over, stopped or interrupted: cancel what never
		 * started, then run the cleanup steps, whatever the outcome
		 * (an interrupted drill still leaves its site as found). */
		for (i = 0; i < s->g->ntasks; i++) {
			if (s->g->tasks[i].cleanup ||
			    dr_task_state_final(s->runs[i].state))
				continue;
			free(s->runs[i].message);
			s->runs[i].message = dr_xstrdup(
			    s->interrupted ? "not started: interrupted"
			                   : "not started: the run stopped");
			set_state(s, i, DR_TS_CANCELLED);
			if (!s->interrupted)
				s->failed = true;
		}
		s->cleanup_phase = true;
		for (i = 0; i < s->g->ntasks; i++)
			if (s->g->tasks[i].cleanup && s->deps_left[i] == 0)
				make_ready(s, i);
		dispatch(s);
		return;
	}
	for (i = 0; i < s->g->ntasks; i++) {
		if (!dr_task_state_final(s->runs[i].state)) {
			const char *wait =
			    s->blocked_by[i]
			        ? s->g->tasks[s->blocked_by[i] - 1].key
			        : NULL;
			free(s->runs[i].message);
			s->runs[i].message =
			    wait ? dr_xasprintf("not started: waiting for a "
			                        "decision on %s",
			                        wait)
			         : dr_xstrdup(s->interrupted
			                          ? "not started: interrupted"
			                          : "not started: the run "
			                            "stopped");
			set_state(s, i, DR_TS_CANCELLED);
			if (!s->interrupted && wait == NULL)
				s->failed = true;
		}
	}
	s->ended = true;
	uv_timer_start(&s->end_timer, end_cb, 0, 0);
}

/*
 * The slot class of every task (ready.h): 0 for the tasks that hold no
 * slot whatever the limits say (refused, skipped by design), else one per
 * pair of host slots and kind of controller slot, numbered as met.
 */
static struct dr_ready *
new_ready(const struct dr_sched *s)
{
	const struct dr_graph *g = s->g;
	size_t cap = 64, i, n = 1, *class_of;
	uint64_t *keys;
	size_t *vals;
	struct dr_ready *r;

	while (cap < 2 * g->ntasks + 2)
		cap *= 2;
	keys = dr_xcalloc(cap, sizeof(uint64_t)); /* 0: empty */
	vals = dr_xcalloc(cap, sizeof(size_t));
	class_of = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		uint64_t key, h;
		if (t->refused || t->drill_skip)
			continue; /* class 0 */
		key = (((uint64_t)(uint32_t)(s->slots[i][0] + 1) << 32 |
		        (uint32_t)(s->slots[i][1] + 1))
		           << 1 |
		       (local_task(s, i) ? 1 : 0)) +
		      1;
		h = (key * 0x9E3779B97F4A7C15ull) & (cap - 1);
		while (keys[h] != 0 && keys[h] != key)
			h = (h + 1) & (cap - 1);
		if (keys[h] == 0) {
			keys[h] = key;
			vals[h] = n++;
		}
		class_of[i] = vals[h];
	}
	r = dr_ready_new(g, class_of, n);
	free(keys);
	free(vals);
	free(class_of);
	return r;
}

int
dr_sched_new(uv_loop_t *loop, const struct dr_graph *g,
             const struct dr_executor *ex, const struct dr_sched_hooks *h,
             struct dr_sched **out)
{
	const struct dr_plan *p = g->plan;
	struct dr_sched *s;
	size_t i;

	s = dr_xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->g = g;
	s->ex = *ex;
	s->h = *h;
	s->runs = dr_xcalloc(g->ntasks + 1, sizeof(*s->runs));
	s->deps_left = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	s->queued = dr_xcalloc(g->ntasks + 1, sizeof(bool));
	s->await = dr_xcalloc(g->ntasks + 1, 1);
	s->blocked_by = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	s->slots = dr_xcalloc(g->ntasks + 1, sizeof(*s->slots));
	s->nsites = (int)p->nsites;
	s->nhosts = (int)g->nconns;
	s->host_site = dr_xcalloc(g->nconns + 1, sizeof(int));
	s->host_busy = dr_xcalloc(g->nconns + 1, sizeof(int));
	s->site_busy = dr_xcalloc(p->nsites + 1, sizeof(int));
	for (i = 0; i < g->nconns; i++)
		s->host_site[i] = (int)g->conns[i].site_index;
	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		const struct dr_conn *cs[2];
		int k;

		s->runs[i].exit_code = -1;
		s->deps_left[i] = t->ndeps;
		if (t->cleanup)
			s->ncleanup++;
		else
			s->tier_left[t->tier]++;
		dr_task_conns(t, cs);
		for (k = 0; k < 2; k++)
			s->slots[i][k] = cs[k] ? (int)cs[k]->index : -1;
	}
	s->ready = new_ready(s);
	s->remaining = g->ntasks;
	s->work_left = g->ntasks - s->ncleanup;
	s->cur_tier = 0;
	advance_tier(s);
	uv_timer_init(loop, &s->end_timer);
	s->end_timer.data = s;
	s->end_timer_open = true;
	*out = s;
	return 0;
}

void
dr_sched_preset(struct dr_sched *s, size_t id, const struct dr_task_run *from)
{
	struct dr_task_run *r = &s->runs[id];

	if (s->started || dr_task_state_final(r->state) ||
	    !dr_task_state_final(from->state))
		return;
	r->attempts = from->attempts;
	r->exit_code = from->exit_code;
	snprintf(r->signal, sizeof(r->signal), "%s", from->signal);
	r->unreachable = from->unreachable;
	r->message = from->message ? dr_xstrdup(from->message) : NULL;
	r->backup = from->backup ? dr_xstrdup(from->backup) : NULL;
	r->backup_ms = from->backup_ms;
	r->rejected = from->rejected ? dr_xstrdup(from->rejected) : NULL;
	r->start_wall_ms = from->start_wall_ms;
	r->end_wall_ms = from->end_wall_ms;
	r->start_mono_ms = r->end_mono_ms = dr_now_mono_ms();
	set_state(s, id, from->state);
	if (from->end_wall_ms)
		r->end_wall_ms = from->end_wall_ms;
}

int
dr_sched_start(struct dr_sched *s)
{
	size_t i, j;

	if (s->started)
		return DR_EINVAL;
	s->started = true;
	s->start_wall_ms = dr_now_wall_ms();
	s->start_mono_ms = dr_now_mono_ms();
	/* Presets count as settled dependencies. */
	for (i = 0; i < s->g->ntasks; i++) {
		const struct dr_task *t = &s->g->tasks[i];
		if (!dr_task_state_final(s->runs[i].state))
			continue;
		if (!lets_dependents_run(&s->runs[i])) {
			skip_dependents(s, i);
			continue;
		}
		for (j = 0; j < t->nrdeps; j++)
			s->deps_left[t->rdeps[j]]--;
	}
	for (i = 0; i < s->g->ntasks; i++)
		if (s->deps_left[i] == 0)
			make_ready(s, i);
	dispatch(s);
	return 0;
}

static bool
retry_pending(const struct dr_sched *s, size_t id)
{
	const struct retry *rt;

	for (rt = s->retries; rt != NULL; rt = rt->next)
		if (rt->id == id)
			return true;
	return false;
}

void
dr_sched_interrupt(struct dr_sched *s)
{
	size_t i;
	struct retry *rt, *next;

	if (s->ended)
		return;
	s->interrupted = true;
	s->stopping = true;
	/* Cleanup steps are not interrupted: they leave the site as it was
	 * found (a second interrupt stops everything, see run.c). */
	for (rt = s->retries; rt != NULL; rt = next) {
		next = rt->next;
		if (s->g->tasks[rt->id].cleanup)
			continue;
		set_state(s, rt->id, DR_TS_CANCELLED);
		retry_unlink(s, rt);
	}
	for (i = 0; i < s->g->ntasks; i++) {
		if (s->runs[i].state == DR_TS_RETRY_WAIT && /* paused */
		    !s->g->tasks[i].cleanup && !retry_pending(s, i)) {
			s->paused--;
			if (s->runs[i].unknown) { /* still undecided */
				s->undecided++;
				set_state(s, i, DR_TS_INDETERMINATE);
				block_dependents(s, i, i);
			} else {
				set_state(s, i, DR_TS_CANCELLED);
			}
		}
	}
	for (i = 0; i < s->g->ntasks; i++)
		if (s->runs[i].state == DR_TS_RUNNING && s->ex.cancel &&
		    s->await[i] != AWAIT_START && !s->g->tasks[i].cleanup)
			s->ex.cancel(s->ex.impl, &s->g->tasks[i]);
	maybe_end(s);
}

const struct dr_task_run *
dr_sched_task(const struct dr_sched *s, size_t id)
{
	return &s->runs[id];
}

enum dr_run_result
dr_sched_result(const struct dr_sched *s)
{
	if (!s->ended)
		return DR_RUN_RUNNING;
	if (s->failed)
		return DR_RUN_FAILED;
	if (s->interrupted || s->undecided > 0)
		return DR_RUN_INTERRUPTED; /* resumable after a decision */
	return DR_RUN_SUCCEEDED;
}

uint64_t
dr_sched_start_wall_ms(const struct dr_sched *s)
{
	return s->start_wall_ms;
}

uint64_t
dr_sched_start_mono_ms(const struct dr_sched *s)
{
	return s->start_mono_ms;
}

static void
sched_closed(uv_handle_t *h)
{
	struct dr_sched *s = h->data;
	size_t i;

	for (i = 0; i < s->g->ntasks; i++) {
		free(s->runs[i].message);
		free(s->runs[i].tail);
		free(s->runs[i].backup);
		free(s->runs[i].rejected);
	}
	free(s->runs);
	free(s->deps_left);
	free(s->queued);
	free(s->await);
	free(s->blocked_by);
	free(s->slots);
	free(s->host_site);
	free(s->host_busy);
	free(s->site_busy);
	dr_ready_free(s->ready);
	free(s);
}

void
dr_sched_free(struct dr_sched *s)
{
	struct retry *rt, *next;

	if (s == NULL)
		return;
	for (rt = s->retries; rt != NULL; rt = next) {
		next = rt->next;
		retry_unlink(s, rt);
	}
	uv_close((uv_handle_t *)&s->end_timer, sched_closed);
}

bool
dr_sched_journal_failed(const struct dr_sched *s)
{
	return s->journal_failed;
}

const struct dr_task_run *
dr_sched_runs(const struct dr_sched *s)
{
	return s->runs;
}
