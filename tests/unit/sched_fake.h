/*
 * sched_fake.h: a fake executor for scheduler unit tests.
 *
 * It stands where the SSH, transfer, probe and local executors stand and
 * completes each attempt on a uv timer of the real loop, following a script
 * per task key: succeed after N ms, fail with a DR_E* code after N ms, hang
 * until cancelled, or refuse to start (start() returns the code). It records
 * every start and end (on the loop clock, uv_now) and the live number of
 * slots per host, per site and in all, counted as the scheduler's contract
 * says: run, script and copy tasks hold their host, a copy also its source.
 *
 * Problems seen inside callbacks (a task started twice, a cancel for a task
 * that is not running) are counted, not asserted, so that a failure never
 * unwinds through libuv; the test checks the counters afterwards.
 */
#ifndef DROVER_SCHED_FAKE_H
#define DROVER_SCHED_FAKE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <uv.h>

#include "drover/common.h"
#include "drover/graph.h"
#include "drover/sched.h"

enum fake_kind {
	FK_OK,       /* succeed after ms */
	FK_FAIL,     /* end with status (DR_EEXIT if 0) after ms */
	FK_HANG,     /* never end until cancelled */
	FK_LOST,     /* the connection drops mid-command after ms: the
	                outcome is unknown */
	FK_START_ERR /* start() returns status; no attempt runs */
};

struct fake_step {
	enum fake_kind kind;
	int status;
	uint64_t ms;
};

#define FAKE_MAX_STEPS 4

/*
 * One script: key is a task key, or a prefix ending in '*'. steps[k] is
 * what attempt k+1 does; attempts past nsteps repeat the last one.
 */
struct fake_rule {
	const char *key;
	struct fake_step steps[FAKE_MAX_STEPS];
	int nsteps;
};

struct fake_ev {
	size_t id;
	int attempt;
	bool start; /* false: end */
	int status; /* end only */
	uint64_t at;
};

struct fake;

struct fake_job {
	uv_timer_t timer;
	struct fake *f;
	size_t id;
	int attempt;
	int status;
	bool cancelled;
	bool unknown;
};

struct fake {
	uv_loop_t *loop;
	const struct dr_graph *g;
	struct dr_sched *s;
	const struct fake_rule *rules;
	size_t nrules;
	uint64_t default_ms;
	bool sync_cancel; /* cancel() reports the end before returning */

	struct fake_ev *ev;
	size_t nev, evcap;
	int *calls;   /* per task: start() calls */
	int *cancels; /* per task: cancel() calls */
	struct fake_job **job;

	size_t nhosts, nsites;
	size_t *site_first; /* per site: index of its first host */
	int *host_live, *host_max;
	int *site_live, *site_max;
	int live, live_max;             /* slots (a copy holds two) */
	int tasks_live, tasks_live_max; /* attempts in flight */
	int open_jobs;                  /* timers not yet closed */

	int double_start;       /* start() for a task already running */
	int cancel_not_running; /* cancel() for a task not running */
};

static void
fake_init(struct fake *f, uv_loop_t *loop, const struct dr_graph *g,
          const struct fake_rule *rules, size_t nrules)
{
	const struct dr_plan *p = g->plan;
	size_t i, n = 0;

	memset(f, 0, sizeof(*f));
	f->loop = loop;
	f->g = g;
	f->rules = rules;
	f->nrules = nrules;
	f->default_ms = 5;
	f->calls = dr_xcalloc(g->ntasks + 1, sizeof(int));
	f->cancels = dr_xcalloc(g->ntasks + 1, sizeof(int));
	f->job = dr_xcalloc(g->ntasks + 1, sizeof(*f->job));
	f->nsites = p->nsites;
	f->site_first = dr_xcalloc(p->nsites + 1, sizeof(size_t));
	for (i = 0; i < p->nsites; i++) {
		f->site_first[i] = n;
		n += p->sites[i].nhosts;
	}
	f->nhosts = n;
	f->host_live = dr_xcalloc(n + 1, sizeof(int));
	f->host_max = dr_xcalloc(n + 1, sizeof(int));
	f->site_live = dr_xcalloc(p->nsites + 1, sizeof(int));
	f->site_max = dr_xcalloc(p->nsites + 1, sizeof(int));
}

static void
fake_free(struct fake *f)
{
	free(f->ev);
	free(f->calls);
	free(f->cancels);
	free(f->job);
	free(f->site_first);
	free(f->host_live);
	free(f->host_max);
	free(f->site_live);
	free(f->site_max);
	memset(f, 0, sizeof(*f));
}

static size_t
fake_site_index(const struct fake *f, const struct dr_site *s)
{
	return (size_t)(s - f->g->plan->sites);
}

static size_t
fake_host_index(const struct fake *f, const struct dr_host *h)
{
	return f->site_first[fake_site_index(f, h->site)] +
	       (size_t)(h - h->site->hosts);
}

/* Hosts whose slot a task holds, as sched.h describes; returns the count. */
static int
fake_slots(const struct dr_task *t, const struct dr_host *out[2])
{
	int n = 0;
	enum dr_action a = t->step->action;

	if ((a == DR_ACT_RUN || a == DR_ACT_SCRIPT || a == DR_ACT_COPY) &&
	    t->host)
		out[n++] = t->host;
	if (a == DR_ACT_COPY && t->src_host && t->src_host != t->host)
		out[n++] = t->src_host;
	return n;
}

static void
fake_hold(struct fake *f, const struct dr_task *t, int delta)
{
	const struct dr_host *h[2];
	int n = fake_slots(t, h), i;

	for (i = 0; i < n; i++) {
		size_t hi = fake_host_index(f, h[i]);
		size_t si = fake_site_index(f, h[i]->site);
		f->host_live[hi] += delta;
		f->site_live[si] += delta;
		f->live += delta;
		if (f->host_live[hi] > f->host_max[hi])
			f->host_max[hi] = f->host_live[hi];
		if (f->site_live[si] > f->site_max[si])
			f->site_max[si] = f->site_live[si];
	}
	if (f->live > f->live_max)
		f->live_max = f->live;
	f->tasks_live += delta;
	if (f->tasks_live > f->tasks_live_max)
		f->tasks_live_max = f->tasks_live;
}

static void
fake_record(struct fake *f, size_t id, int attempt, bool start, int status)
{
	void *p = f->ev;

	dr_grow(&p, &f->evcap, f->nev + 1, sizeof(struct fake_ev));
	f->ev = p;
	f->ev[f->nev].id = id;
	f->ev[f->nev].attempt = attempt;
	f->ev[f->nev].start = start;
	f->ev[f->nev].status = status;
	f->ev[f->nev].at = uv_now(f->loop);
	f->nev++;
}

static bool
fake_key_match(const char *pat, const char *key)
{
	size_t n = strlen(pat);

	if (n > 0 && pat[n - 1] == '*')
		return strncmp(pat, key, n - 1) == 0;
	return strcmp(pat, key) == 0;
}

static struct fake_step
fake_step_for(const struct fake *f, const struct dr_task *t, int attempt)
{
	struct fake_step ok = {FK_OK, 0, f->default_ms};
	size_t i;

	for (i = 0; i < f->nrules; i++) {
		const struct fake_rule *r = &f->rules[i];
		int k = attempt - 1;
		if (!fake_key_match(r->key, t->key) || r->nsteps == 0)
			continue;
		if (k >= r->nsteps)
			k = r->nsteps - 1;
		return r->steps[k];
	}
	return ok;
}

static void
fake_job_closed(uv_handle_t *h)
{
	struct fake_job *j = h->data;

	j->f->open_jobs--;
	free(j);
}

/* Ends an attempt: bookkeeping first, then the report to the scheduler. */
static void
fake_finish(struct fake_job *j, int status)
{
	struct fake *f = j->f;
	const struct dr_task *t = &f->g->tasks[j->id];
	struct dr_outcome o = {0};

	fake_hold(f, t, -1);
	fake_record(f, j->id, j->attempt, false, status);
	f->job[j->id] = NULL;
	uv_timer_stop(&j->timer);
	uv_close((uv_handle_t *)&j->timer, fake_job_closed);
	o.status = status;
	o.exit_code = status == 0 ? 0 : status == DR_EEXIT ? 1 : -1;
	o.message = status == 0 ? "exit 0" : dr_strerror(status);
	o.tail = "fake output";
	o.unknown = j->unknown && status != 0;
	dr_sched_task_done(f->s, j->id, &o);
}

static void
fake_fire(uv_timer_t *tm)
{
	struct fake_job *j = tm->data;

	fake_finish(j, j->cancelled ? DR_ECANCELED : j->status);
}

static int
fake_start(void *impl, struct dr_sched *s, const struct dr_task *t)
{
	struct fake *f = impl;
	struct fake_step st;
	struct fake_job *j;
	int attempt;

	f->s = s;
	attempt = ++f->calls[t->id];
	st = fake_step_for(f, t, attempt);
	if (st.kind == FK_START_ERR)
		return st.status;
	if (f->job[t->id] != NULL) {
		f->double_start++;
		return DR_EINVAL;
	}
	j = dr_xcalloc(1, sizeof(*j));
	j->f = f;
	j->id = t->id;
	j->attempt = attempt;
	j->status =
	    st.kind == FK_FAIL ? (st.status ? st.status : DR_EEXIT) : st.status;
	if (st.kind == FK_LOST) {
		j->status = DR_EDISCONNECT;
		j->unknown = true;
	}
	uv_timer_init(f->loop, &j->timer);
	j->timer.data = j;
	f->open_jobs++;
	f->job[t->id] = j;
	fake_hold(f, t, +1);
	fake_record(f, t->id, attempt, true, 0);
	if (st.kind != FK_HANG)
		uv_timer_start(&j->timer, fake_fire, st.ms, 0);
	return 0;
}

static void
fake_cancel(void *impl, const struct dr_task *t)
{
	struct fake *f = impl;
	struct fake_job *j = f->job[t->id];

	f->cancels[t->id]++;
	if (j == NULL) {
		f->cancel_not_running++;
		return;
	}
	j->cancelled = true;
	if (f->sync_cancel) {
		fake_finish(j, DR_ECANCELED);
		return;
	}
	uv_timer_stop(&j->timer);
	uv_timer_start(&j->timer, fake_fire, 0, 0);
}

static void
fake_executor(struct fake *f, struct dr_executor *ex)
{
	ex->start = fake_start;
	ex->cancel = fake_cancel;
	ex->impl = f;
}

#endif
