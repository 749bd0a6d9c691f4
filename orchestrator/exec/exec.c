/*
 * exec.c: run one task attempt at a time on behalf of the scheduler.
 *
 * Two state machines, each with one setter that traces:
 * - an attempt (enum at_state): it acquires the pooled SSH sessions it
 *   needs, runs one engine operation (exec, transfer, probe, spawn, gate)
 *   and reports exactly one outcome through dr_sched_task_done(). Its
 *   deadline is a controller timer: when it fires the outcome is reported
 *   at once, whatever the network does, and the operation is cancelled in
 *   the background (the remote kill has its own bound in ssh-channel.c); the
 *   attempt lives on, detached, until the operation's own end arrives,
 *   which is then reported as a note (kill confirmed or not).
 * - a pooled connection (enum cs_state): connecting, idle, lent to one
 *   attempt, closing.
 *
 * An outcome says whether the command may have run without its end being
 * seen (outcome.unknown): the scheduler never guesses such an outcome.
 * Nothing here blocks the loop: scripts are read before the run starts,
 * logs are written by the engines through the thread pool.
 */
#include "drover/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/time.h"
#include "drover/probe.h"
#include "drover/provisioner.h"
#include "drover/scan.h"
#include "drover/shcmd.h"
#include "drover/spawn.h"
#include "drover/tasklog.h"
#include "drover/ssh.h"
#include "drover/transfer.h"

#define TAIL_CAP 4096
#define HUNT_CAP (256 * 1024) /* a hunt's output: its lines are read */
#define LIST_MS 60000         /* listing a restore-point set */

enum cs_state {
	CS_CONNECTING, /* handshake under way; attempts wait for it */
	CS_IDLE,       /* connected, in the pool, no attempt on it */
	CS_LENT,       /* carrying attempts' operations, a channel each */
	CS_LAST
};

static const char *const cs_names[] = {"connecting", "idle", "lent"};
_Static_assert(DR_NELEM(cs_names) == CS_LAST, "cs_names");

struct conn {
	struct dr_exec *ex;
	struct dr_ssh *ssh;
	struct pool *pool;
	enum cs_state st;
	/* Attempts holding one of its channels (dr_ssh_capacity() at most),
	 * or waiting for one while it connects. */
	int users;
	struct attempt **waiting; /* CS_CONNECTING: told when it is up */
	size_t nwaiting, capwaiting;
	struct conn *next;
};

struct pool {
	const struct dr_conn *conn;
	char label[160]; /* "site/host" */
	struct conn *conns;
	int nconns;
	size_t *tasks; /* tasks that need a session on this host */
	size_t ntasks;
	size_t settled; /* tasks[0..settled) are over for good */
	int channels;   /* commands per connection its server allows, as
	                   learned (DR_EBUSY); 0: limits.channels */
};

enum attempt_kind { AK_SSH, AK_COPY, AK_PROBE, AK_LOCAL, AK_GATE };

enum at_state {
	AT_ACQUIRE,  /* waiting for its sessions */
	AT_RUN,      /* the operation runs */
	AT_DETACHED, /* outcome reported early (deadline, cancel): the
	                operation winds down in the background */
	AT_ENDED,    /* nothing outstanding; freed once its timer closed */
	AT_LAST
};

static const char *const at_names[] = {"acquire", "run", "detached", "ended"};
_Static_assert(DR_NELEM(at_names) == AT_LAST, "at_names");

struct cand {
	char *path;
	uint64_t mtime_ms;
};

/* A candidate of a scanned restore-point set (scan.h), on the destination:
 * the quarantine made empty, the copy into it, drover's indicators, the
 * plan's scan, the move into place. */
enum cphase { CP_NONE, CP_PREP, CP_COPY, CP_IOC, CP_SCAN, CP_PROMOTE };

/* What an attempt does once it has its channels: its operation, or again
 * the command a session refused a channel for (DR_EBUSY: not started). */
enum resume { RS_START, RS_PHASE, RS_LIST, RS_XFER };

#define MAX_REBUSY 16 /* channels refused to one attempt before it fails */

struct attempt {
	struct dr_exec *ex;
	const struct dr_task *t;
	enum attempt_kind kind;
	enum at_state st;
	bool reported;          /* the scheduler has its outcome */
	struct conn *conn[2];   /* run/script: [0]; copy: [0] dst, [1] src;
	                           a channel on each (maybe one connection) */
	int need;               /* connections still to come */
	enum resume resume;     /* what to do when they came */
	int rebusy;             /* channels refused (DR_EBUSY) so far */
	struct dr_ssh_cmd *cmd; /* the command running for it, if any */
	int conn_err;           /* first connect error */
	char *conn_msg;
	bool cancelled;
	struct dr_probe_run *probe;
	struct dr_spawn *spawn;
	struct dr_transfer *xfer;
	struct dr_prov_job *prov; /* a provision step: keys, inventory */
	struct dr_spawn_result *prov_res; /* its command's end, kept until
	                                     the inventory is read */
	char *env[6];                     /* a deprovision step's environment */
	uv_timer_t timer; /* the deadline; gates: their answer */
	bool timer_open;
	uint64_t start_ms;
	char *stdin_data;
	size_t stdin_len;
	char *log_path;
	/* Copy from a restore-point set (a source path with '*'). */
	struct cand *cands;
	size_t ncands, icand;
	struct dr_buf skipped; /* why newer candidates were passed over */
	json_t *rejected;      /* [{backup, reason}] */
	size_t tried;          /* candidates judged or copied: at most
	                          max_fallback + 1 */
	enum cphase phase;
	bool phase_exec; /* a phase's command runs on conn[0] */
	char *phase_cmd; /* ... its command and deadline, to run again */
	uint64_t phase_ms;
	char *xsrc, *xdst; /* the transfer started last, to run again */
	struct attempt *next;
};

struct dr_exec {
	struct dr_exec_opts o;
	struct dr_sched *sched;
	struct pool *pools; /* one per host of the plan */
	size_t npools;
	int nconns;  /* open or opening, all hosts */
	int closing; /* sessions and timers still closing */
	int nattempts;
	struct attempt *attempts;
	char **scripts; /* per task: loaded script text */
	size_t *script_len;
	const char **secret_values; /* scrubbed from every output */
	const char **secret_names;
	void (*close_cb)(void *);
	void *close_arg;
	bool close_requested;
	struct dr_verdicts *verdicts; /* judged restore points (scan.h) */
};

static void at_set(struct attempt *a, enum at_state st);
static void start_operation(struct attempt *a);
static void resume_operation(struct attempt *a);
static void on_prov_ready(void *arg, int status, const char *msg);
static void on_prov_collected(void *arg, int status, const char *msg,
                              const struct dr_inventory *inv);
static void maybe_free_exec(struct dr_exec *ex);

/* ------------------------------------------------------------------ */
/* Connections                                                         */

static void
cs_set(struct conn *c, enum cs_state st)
{
	dr_trace_state("exec-conn", c->pool->label, cs_names[c->st],
	               cs_names[st]);
	c->st = st;
}

static struct pool *
pool_of(struct dr_exec *ex, const struct dr_conn *cn)
{
	return &ex->pools[cn->index];
}

static void
session_closed(void *arg)
{
	struct dr_exec *ex = arg;

	ex->closing--;
	maybe_free_exec(ex);
}

/* Removes c from its pool and closes its session (with its own bound). */
static void
conn_drop(struct dr_exec *ex, struct conn *c)
{
	struct conn **pp;

	for (pp = &c->pool->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	dr_trace_state("exec-conn", c->pool->label, cs_names[c->st], "closed");
	c->pool->nconns--;
	ex->nconns--;
	ex->closing++;
	dr_ssh_close(c->ssh, session_closed, ex);
	free(c->waiting);
	free(c);
}

/* Closes one idle connection anywhere else, to make room under the cap. */
static bool
evict_idle(struct dr_exec *ex, const struct pool *keep)
{
	size_t i;
	struct conn *c;

	for (i = 0; i < ex->npools; i++) {
		if (&ex->pools[i] == keep)
			continue;
		for (c = ex->pools[i].conns; c; c = c->next) {
			if (c->st == CS_IDLE) {
				conn_drop(ex, c);
				return true;
			}
		}
	}
	return false;
}

/* True when no task but a's own still needs a session on the pool's host. */
static bool
host_done(const struct attempt *a, struct pool *pl)
{
	size_t i;

	/* Tasks that are over stay over: the scan starts after them, so a
	 * host's thousands of tasks cost O(1) per return, not O(n). (FAILED
	 * and INDETERMINATE may run again after a pause or a decision.) */
	while (pl->settled < pl->ntasks) {
		enum dr_task_state st =
		    dr_sched_task(a->ex->sched, pl->tasks[pl->settled])->state;
		if (st != DR_TS_SUCCEEDED && st != DR_TS_SKIPPED &&
		    st != DR_TS_CANCELLED && st != DR_TS_REFUSED)
			break;
		pl->settled++;
	}
	for (i = pl->settled; i < pl->ntasks; i++) {
		enum dr_task_state st;
		if (pl->tasks[i] == a->t->id)
			continue;
		st = dr_sched_task(a->ex->sched, pl->tasks[i])->state;
		if (st == DR_TS_PENDING || st == DR_TS_RUNNING ||
		    st == DR_TS_RETRY_WAIT)
			return false;
	}
	return true;
}

/* Gives a channel back. The last one out leaves the connection to the
 * pool, or closes it when dead, when its host has nothing left to do (so
 * that disconnects overlap the rest), or when the executor is closing. */
static void
conn_return(struct attempt *a, struct conn *c)
{
	if (--c->users > 0)
		return;
	if (!dr_ssh_ready(c->ssh) || a->ex->close_requested ||
	    host_done(a, c->pool)) {
		conn_drop(a->ex, c);
		return;
	}
	cs_set(c, CS_IDLE);
}

static void
release(struct attempt *a)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct conn *c = a->conn[i];
		if (c == NULL)
			continue;
		a->conn[i] = NULL;
		conn_return(a, c);
	}
}

static void got_conn(struct attempt *a, struct conn *c, int status,
                     const char *msg);

/* The connection is up, or failed: every attempt waiting for it hears. */
static void
on_connect(struct dr_ssh *ssh, int status, const char *msg, void *arg)
{
	struct conn *c = arg;
	struct attempt **w = c->waiting;
	size_t i, n = c->nwaiting;

	(void)ssh;
	c->waiting = NULL;
	c->nwaiting = c->capwaiting = 0;
	if (status != 0) {
		c->users = 0;
		conn_drop(c->ex, c);
		for (i = 0; i < n; i++)
			got_conn(w[i], NULL, status, msg);
		free(w);
		return;
	}
	cs_set(c, CS_LENT);
	/* Each waiter holds a channel: c stays until the last gave its
	 * back, and is not touched after that. */
	for (i = 0; i < n; i++)
		got_conn(w[i], c, 0, NULL);
	free(w);
}

/*
 * A channel for a on its host: on a ready connection with one free, else
 * on one still connecting with room, else on a new connection. Connections
 * are shared by as many attempts as they have channels (limits.channels,
 * or fewer where the server refused one).
 */
static void
acquire(struct attempt *a, const struct dr_conn *cn)
{
	struct dr_exec *ex = a->ex;
	const struct dr_limits *l = &ex->o.graph->limits;
	struct pool *pl = pool_of(ex, cn);
	struct dr_ssh_opts so = {0};
	struct conn *c, *next;
	int r;

	for (c = pl->conns; c; c = c->next) {
		if (c->st != CS_CONNECTING && dr_ssh_ready(c->ssh) &&
		    c->users < dr_ssh_capacity(c->ssh)) {
			if (c->users++ == 0)
				cs_set(c, CS_LENT);
			got_conn(a, c, 0, NULL);
			return;
		}
	}
	for (c = pl->conns; c; c = c->next) {
		if (c->st == CS_CONNECTING &&
		    c->users < dr_ssh_capacity(c->ssh)) {
			void *v = c->waiting;
			dr_grow(&v, &c->capwaiting, c->nwaiting + 1,
			        sizeof(*c->waiting));
			c->waiting = v;
			c->waiting[c->nwaiting++] = a;
			c->users++;
			return;
		}
	}
	/* Drop idle connections that died; then respect the limits. */
	for (c = pl->conns; c; c = next) {
		next = c->next;
		if (c->st == CS_IDLE && !dr_ssh_ready(c->ssh))
			conn_drop(ex, c);
	}
	while (ex->nconns >= l->sessions && evict_idle(ex, pl))
		;
	if (pl->nconns >= l->per_host) {
		for (c = pl->conns; c; c = c->next)
			if (c->st == CS_IDLE) {
				conn_drop(ex, c);
				break;
			}
	}
	dr_exec_ssh_opts(cn, pl->label, ex->o.guard, &so);
	so.channels = pl->channels ? pl->channels : l->channels;
	c = dr_xcalloc(1, sizeof(*c));
	c->ex = ex;
	c->pool = pl;
	c->st = CS_CONNECTING;
	r = dr_ssh_new(ex->o.loop, &so, &c->ssh);
	if (r != 0) {
		char *m = dr_xasprintf("%s: %s", pl->label, dr_strerror(r));
		free(c);
		got_conn(a, NULL, r, m);
		free(m);
		return;
	}
	dr_trace_state("exec-conn", pl->label, "new", cs_names[CS_CONNECTING]);
	c->next = pl->conns;
	pl->conns = c;
	pl->nconns++;
	ex->nconns++;
	r = dr_ssh_connect(c->ssh, on_connect, c);
	if (r != 0) {
		char *m = dr_xasprintf("%s: %s", pl->label, dr_strerror(r));
		conn_drop(ex, c);
		got_conn(a, NULL, r, m);
		free(m);
		return;
	}
	c->waiting = dr_xcalloc(1, sizeof(*c->waiting));
	c->capwaiting = 1;
	c->waiting[c->nwaiting++] = a;
	c->users = 1;
}

/* ------------------------------------------------------------------ */
/* Attempts                                                            */

static void
at_set(struct attempt *a, enum at_state st)
{
	dr_trace_state("exec", a->t->key, at_names[a->st], at_names[st]);
	a->st = st;
}

static void
attempt_free(struct attempt *a)
{
	struct dr_exec *ex = a->ex;
	struct attempt **pp;

	for (pp = &ex->attempts; *pp; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	}
	ex->nattempts--;
	if (a->stdin_data) {
		memset(a->stdin_data, 0, a->stdin_len);
		free(a->stdin_data);
	}
	for (size_t i = 0; i < a->ncands; i++)
		free(a->cands[i].path);
	free(a->cands);
	dr_buf_free(&a->skipped);
	json_decref(a->rejected);
	free(a->log_path);
	free(a->conn_msg);
	free(a->phase_cmd);
	free(a->xsrc);
	free(a->xdst);
	dr_prov_free(a->prov);
	for (size_t i = 0; a->env[i]; i++)
		free(a->env[i]);
	free(a);
	maybe_free_exec(ex);
}

static void
timer_closed(uv_handle_t *h)
{
	struct attempt *a = h->data;

	a->ex->closing--;
	attempt_free(a);
}

/* Nothing of the attempt is outstanding: close its timer, then free. */
static void
attempt_end(struct attempt *a)
{
	at_set(a, AT_ENDED);
	if (a->timer_open) {
		a->timer_open = false;
		a->ex->closing++;
		uv_close((uv_handle_t *)&a->timer, timer_closed);
	} else {
		attempt_free(a);
	}
}

/*
 * The one place an outcome reaches the scheduler. unknown: the command may
 * have run and its end was not seen.
 */
static void
report(struct attempt *a, int status, int exit_code, const char *sig,
       const char *msg, const char *tail, bool unknown)
{
	struct dr_outcome o = {0};

	if (a->reported)
		return;
	a->reported = true;
	if (a->timer_open)
		uv_timer_stop(&a->timer);
	o.status = status;
	o.exit_code = exit_code;
	snprintf(o.signal, sizeof(o.signal), "%s", sig ? sig : "");
	o.message = msg;
	o.tail = tail;
	o.unknown = unknown && status != 0;
	dr_sched_task_done(a->ex->sched, a->t->id, &o);
}

/* Reports, gives the sessions back and ends the attempt. */
static void
finish(struct attempt *a, int status, int exit_code, const char *sig,
       const char *msg, const char *tail, bool unknown)
{
	release(a);
	report(a, status, exit_code, sig, msg, tail, unknown);
	attempt_end(a);
}

/* The background end of an operation reported early: tell the operator
 * whether the kill is confirmed. */
static void
detached_end(struct attempt *a, bool confirmed, const char *msg)
{
	char *m;

	if (a->ex->o.note) {
		m = dr_xasprintf("%s after the deadline or cancel: %s",
		                 confirmed ? "stopped"
		                           : "NOT CONFIRMED stopped",
		                 msg ? msg : "");
		a->ex->o.note(a->ex->o.hook_arg, a->t, m);
		free(m);
	}
	release(a);
	attempt_end(a);
}

static void
got_conn(struct attempt *a, struct conn *c, int status, const char *msg)
{
	if (c != NULL) {
		/* [0] is the task's host (a copy's destination), [1] a copy's
		 * source, whichever connects first. */
		if (a->conn[0] == NULL && c->pool == pool_of(a->ex, a->t->conn))
			a->conn[0] = c;
		else
			a->conn[1] = c;
	} else if (a->conn_err == 0) {
		a->conn_err = status;
		a->conn_msg = dr_xstrdup(msg ? msg : dr_strerror(status));
	}
	if (--a->need > 0)
		return;
	if (a->st == AT_DETACHED) { /* reported while connecting */
		release(a);
		attempt_end(a);
		return;
	}
	if (a->conn_err != 0) {
		char *m = a->conn_msg;
		a->conn_msg = NULL;
		finish(a, a->conn_err, -1, "", m, NULL, false);
		free(m);
		return;
	}
	resume_operation(a);
}

/*
 * A session refused a's command a channel (DR_EBUSY: it carries as many as
 * its server allows, and the command did not start): the channel goes
 * back, and a waits for another, on the same host (idx 0 or 1, or 2 for
 * both), to do `what` again. Returns false when a had too many refused.
 */
static bool
busy_retry(struct attempt *a, int idx, enum resume what)
{
	const struct dr_conn *cn[2] = {NULL, NULL};
	int i;

	if (a->rebusy++ >= MAX_REBUSY)
		return false;
	a->resume = what;
	a->need = 0;
	for (i = 0; i < 2; i++) {
		struct conn *c = a->conn[i];
		if ((idx != 2 && idx != i) || c == NULL)
			continue;
		cn[i] = i == 0 ? a->t->conn : a->t->src_conn;
		/* The host's next connections open as many as it allows. */
		if (dr_ssh_capacity(c->ssh) <
		    (c->pool->channels ? c->pool->channels
		                       : a->ex->o.graph->limits.channels))
			c->pool->channels = dr_ssh_capacity(c->ssh);
		a->conn[i] = NULL;
		conn_return(a, c);
		a->need++;
	}
	at_set(a, AT_ACQUIRE);
	for (i = 0; i < 2; i++)
		if (cn[i] != NULL)
			acquire(a, cn[i]); /* a may end in there */
	return true;
}

static char *
kill_tag(struct attempt *a)
{
	const struct dr_task_run *r = dr_sched_task(a->ex->sched, a->t->id);

	if (a->ex->o.fencing_token) /* a new leader's never match an old's */
		return dr_xasprintf("%s-f%s-%zu-%d", a->ex->o.run_id,
		                    a->ex->o.fencing_token, a->t->id,
		                    r ? r->attempts : 0);
	return dr_xasprintf("%s-%zu-%d", a->ex->o.run_id, a->t->id,
	                    r ? r->attempts : 0);
}

/* Stops the running operation; its end comes through its callback. */
static void
cancel_operation(struct attempt *a)
{
	switch (a->kind) {
	case AK_SSH:
		if (a->cmd)
			dr_ssh_cmd_cancel(a->cmd);
		break;
	case AK_COPY:
		if (a->xfer)
			dr_transfer_cancel(a->xfer);
		else if (a->cmd) /* quarantine, or listing a set */
			dr_ssh_cmd_cancel(a->cmd);
		break;
	case AK_PROBE:
		if (a->probe)
			dr_probe_cancel(a->probe);
		break;
	case AK_LOCAL:
		if (a->spawn)
			dr_spawn_cancel(a->spawn);
		break;
	case AK_GATE:
		break;
	}
}

/* Whether a started operation of this kind may have changed something. */
static bool
may_have_run(const struct attempt *a)
{
	return a->kind == AK_SSH || a->kind == AK_LOCAL;
}

/*
 * Ends the attempt now, whatever the network does: the deadline fired or
 * the scheduler cancelled it. The operation is stopped in the background.
 */
static void
end_early(struct attempt *a, int status, const char *why)
{
	bool running = a->st == AT_RUN;
	char d[32], *m;

	m = dr_xasprintf(
	    "%s after %s%s", why,
	    dr_duration_fmt(dr_now_mono_ms() - a->start_ms, d, sizeof(d)),
	    running ? "" : " (while connecting)");
	report(a, status, -1, "", m, NULL, running && may_have_run(a));
	free(m);
	if (a->st == AT_ACQUIRE) {
		at_set(a, AT_DETACHED); /* the connects end by themselves */
		return;
	}
	at_set(a, AT_DETACHED);
	cancel_operation(a);
}

static void
on_deadline(uv_timer_t *t)
{
	struct attempt *a = t->data;

	if (a->reported)
		return;
	end_early(a, DR_ETIMEDOUT, "timed out");
}

/* ------------------------------------------------------------------ */
/* Operations                                                          */

/*
 * The hunt's output (dr_check_set_script, hunt = true): every point an
 * indicator is in becomes an infected verdict, journaled at once (and
 * audited), so that its time is the run's compromise time before any copy
 * from a set chooses (they all depend on this task), and for resume. An
 * output cut short fails the task: never choose on half a hunt.
 */
static void
hunted(struct attempt *a, const struct dr_ssh_result *res)
{
	const char *p = res->tail ? res->tail : "";
	size_t npoints = 0, nfound = 0, nsets = 0;
	uint64_t first = 0;
	char *first_path = NULL, when[40], *msg;

	if (res->tail_truncated) {
		finish(a, DR_EIO, res->exit_code, "",
		       "the hunt's output was cut short: not judged; the "
		       "copies from restore-point sets do not start",
		       res->tail, false);
		return;
	}
	while (*p) {
		const char *nl = strchr(p, '\n');
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		char *line = dr_xstrndup(p, len), *w, *end;
		unsigned long long mt;

		p += len + (nl ? 1 : 0);
		w = line[0] == '@' ? strchr(line, ' ') : NULL;
		if (w && strncmp(w + 1, "done ", 5) == 0)
			nsets++;
		if (w && strncmp(w + 1, "ok ", 3) == 0)
			npoints++;
		if (w == NULL || strncmp(w + 1, "infected ", 9) != 0) {
			free(line);
			continue;
		}
		mt = strtoull(w + 10, &end, 10);
		if (end != w + 10 && *end == ' ' && end[1]) {
			struct dr_verdict v = {.host = a->t->host->name,
			                       .path = end + 1,
			                       .mtime_ms = (uint64_t)mt * 1000,
			                       .scan_id = "hunt",
			                       .infected = true,
			                       .indicator = true,
			                       .task = a->t->key};
			char *finding = NULL, *rec;
			/* "@K finding WHAT" follows its point */
			if (*p == '@') {
				const char *nl2 = strchr(p, '\n');
				size_t l2 = nl2 ? (size_t)(nl2 - p) : strlen(p);
				char *f = dr_xstrndup(p, l2);
				char *fw = strchr(f, ' ');
				if (fw && strncmp(fw + 1, "finding ", 8) == 0) {
					char *t2 = dr_scan_finding(fw + 9);
					finding = dr_xasprintf(
					    "%s (on the vault, by the hunt)",
					    t2);
					free(t2);
					p += l2 + (nl2 ? 1 : 0);
				}
				free(f);
			}
			v.finding = finding ? finding : "an indicator";
			npoints++;
			nfound++;
			if (first == 0 || v.mtime_ms < first) {
				first = v.mtime_ms;
				free(first_path);
				first_path = dr_xstrdup(v.path);
			}
			dr_verdicts_add(a->ex->verdicts, &v);
			if (a->ex->o.journal_note) {
				rec = dr_verdict_record(&v);
				a->ex->o.journal_note(a->ex->o.hook_arg, a->t,
				                      rec);
				free(rec);
			}
			free(finding);
		}
		free(line);
	}
	if (nfound)
		msg = dr_xasprintf(
		    "hunted %zu restore-point set(s), %zu point(s): an "
		    "indicator in %zu; compromise time %s (%s): every copy "
		    "chooses a point taken before it",
		    nsets, npoints, nfound,
		    dr_time_fmt(first, when, sizeof(when)), first_path);
	else
		msg = dr_xasprintf("hunted %zu restore-point set(s), %zu "
		                   "point(s): no indicator seen on the vault",
		                   nsets, npoints);
	finish(a, 0, 0, "", msg, res->tail, false);
	free(msg);
	free(first_path);
}

static void
on_exec(struct dr_ssh *ssh, const struct dr_ssh_result *res, void *arg)
{
	struct attempt *a = arg;
	int status = res->status;
	char *msg;

	(void)ssh;
	a->cmd = NULL;
	if (a->st == AT_DETACHED) {
		detached_end(a, res->ended || !res->started, res->message);
		return;
	}
	if (status == DR_EBUSY && !res->started && busy_retry(a, 0, RS_START))
		return;
	if (res->log_error && a->ex->o.fault)
		a->ex->o.fault(a->ex->o.hook_arg, a->t, res->log_error);
	if (status == 0 && (res->exit_code != 0 || res->exit_signal[0]))
		status = DR_EEXIT;
	if (a->t->hunt && status == 0) {
		hunted(a, res);
		return;
	}
	msg = dr_xstrdup(res->message ? res->message : dr_strerror(status));
	finish(a, status, res->exit_code, res->exit_signal, msg, res->tail,
	       res->started && !res->ended);
	free(msg);
}

static void next_candidate(struct attempt *a);
static int transfer(struct attempt *a, const char *src_path,
                    const char *dst_path);

/* When every task's points must have been taken before: the incident, or
 * earlier --clean-before, or the first point an indicator was found in. */
static uint64_t
cutoff_ms(const struct dr_exec *ex, bool *compromise)
{
	uint64_t t = ex->o.incident_ms,
	         c = dr_verdicts_compromise(ex->verdicts);

	*compromise = false;
	if (ex->o.clean_before_ms && (t == 0 || ex->o.clean_before_ms < t)) {
		t = ex->o.clean_before_ms;
		*compromise = true;
	}
	if (c && (t == 0 || c < t)) {
		t = c;
		*compromise = true;
	}
	return t;
}

/* A candidate passed over: in the task's message and its rejected list. */
static void
reject(struct attempt *a, const struct cand *c, const char *reason)
{
	if (a->rejected == NULL)
		a->rejected = json_array();
	json_array_append_new(
	    a->rejected,
	    json_pack("{s:s, s:s}", "backup", c->path, "reason", reason));
	dr_buf_printf(&a->skipped, "%s%s (%s)", a->skipped.len ? ", " : "",
	              c->path, reason);
}

static bool
scanned(const struct attempt *a)
{
	return a->t->qdir != NULL;
}

/* Remembers a verdict for the run and journals it at once. */
static void
judged(struct attempt *a, const struct cand *c, bool infected, bool indicator,
       const char *finding)
{
	struct dr_verdict v = {.host = a->t->src_host ? a->t->src_host->name
	                                              : "local",
	                       .path = c->path,
	                       .mtime_ms = c->mtime_ms,
	                       .scan_id = a->t->scan_id,
	                       .infected = infected,
	                       .indicator = indicator,
	                       .finding = finding,
	                       .task = a->t->key};
	char *rec;

	dr_verdicts_add(a->ex->verdicts, &v);
	if (a->ex->o.journal_note) {
		rec = dr_verdict_record(&v);
		a->ex->o.journal_note(a->ex->o.hook_arg, a->t, rec);
		free(rec);
	}
}

/* The chosen point is in place: the task succeeds. */
static void
set_done(struct attempt *a)
{
	const struct cand *c = &a->cands[a->icand];
	char when[40], age[32], *rej = NULL;
	uint64_t inc = a->ex->o.incident_ms;
	struct dr_buf b;
	struct dr_outcome o = {0};

	dr_buf_init(&b, 0);
	dr_buf_printf(&b, "restored %s, taken %s (%s before the incident)%s",
	              c->path, dr_time_fmt(c->mtime_ms, when, sizeof(when)),
	              dr_duration_fmt(inc > c->mtime_ms ? inc - c->mtime_ms : 0,
	                              age, sizeof(age)),
	              scanned(a) ? ", scanned clean" : "");
	if (a->skipped.len)
		dr_buf_printf(&b, "; passed over: %s", a->skipped.data);
	release(a);
	a->reported = true;
	if (a->timer_open)
		uv_timer_stop(&a->timer);
	o.status = 0;
	o.exit_code = -1;
	o.message = b.data;
	o.backup = c->path;
	o.backup_ms = c->mtime_ms;
	if (a->rejected)
		rej = json_dumps(a->rejected, JSON_COMPACT);
	o.rejected = rej;
	dr_sched_task_done(a->ex->sched, a->t->id, &o);
	free(rej);
	dr_buf_free(&b);
	attempt_end(a);
}

/* Ends the attempt as failed with the rejected points in its record. */
static void
set_fail(struct attempt *a, int status, const char *msg)
{
	struct dr_outcome o = {0};
	char *rej = NULL, *m;

	m = a->skipped.len
	        ? dr_xasprintf("%s; passed over: %s", msg, a->skipped.data)
	        : dr_xstrdup(msg);
	release(a);
	if (a->reported) {
		free(m);
		attempt_end(a);
		return;
	}
	a->reported = true;
	if (a->timer_open)
		uv_timer_stop(&a->timer);
	o.status = status;
	o.exit_code = -1;
	o.message = m;
	if (a->rejected)
		rej = json_dumps(a->rejected, JSON_COMPACT);
	o.rejected = rej;
	dr_sched_task_done(a->ex->sched, a->t->id, &o);
	free(rej);
	free(m);
	attempt_end(a);
}

static void on_phase(struct dr_ssh *ssh, const struct dr_ssh_result *res,
                     void *arg);

/* Runs one phase's command on the destination. */
static void
phase_exec(struct attempt *a, enum cphase ph, const char *cmd,
           uint64_t timeout_ms)
{
	struct dr_ssh_exec_opts eo = {0};
	char *tag = kill_tag(a), *t2;
	int r;

	t2 = dr_xasprintf("%s-q%zu-%d", tag, a->icand, (int)ph);
	if (cmd != a->phase_cmd) {
		free(a->phase_cmd);
		a->phase_cmd = dr_xstrdup(cmd);
	}
	a->phase_ms = timeout_ms;
	a->phase = ph;
	a->phase_exec = true;
	eo.command = cmd;
	eo.log_path = a->log_path;
	eo.tail_cap = TAIL_CAP;
	eo.timeout_ms = timeout_ms;
	eo.kill_tag = t2;
	r = dr_ssh_exec(a->conn[0]->ssh, &eo, on_phase, a, &a->cmd);
	free(tag);
	free(t2);
	if (r == DR_EBUSY && busy_retry(a, 0, RS_PHASE))
		return;
	if (r != 0) {
		char *m = dr_xasprintf("%s: quarantine: %s", a->t->key,
		                       dr_strerror(r));
		a->phase_exec = false;
		set_fail(a, r, m);
		free(m);
	}
}

/* rm -rf QDIR && mkdir -p QDIR; or mv FILE DST && rm -rf QDIR. */
static void
phase_prep(struct attempt *a)
{
	struct dr_sh sh;
	char *cmd;

	dr_sh_init(&sh, 0);
	dr_sh_text(&sh, "rm -rf -- ");
	dr_sh_value(&sh, a->t->qdir);
	dr_sh_text(&sh, " && mkdir -p -m 0700 -- ");
	dr_sh_value(&sh, a->t->qdir);
	cmd = dr_sh_finish(&sh);
	dr_sh_free(&sh);
	phase_exec(a, CP_PREP, cmd, LIST_MS);
	free(cmd);
}

static char *
cand_base(const struct cand *c)
{
	const char *s = strrchr(c->path, '/');

	return dr_xstrdup(s ? s + 1 : c->path);
}

static void
phase_promote(struct attempt *a)
{
	const struct cand *c = &a->cands[a->icand];
	struct dr_sh sh;
	char *cmd, *base = cand_base(c), *q;
	size_t n = strlen(a->t->dst_path);

	q = dr_xasprintf("%s/%s", a->t->qdir, base);
	dr_sh_init(&sh, 0);
	dr_sh_text(&sh, "mv -f -- ");
	dr_sh_value(&sh, q);
	dr_sh_text(&sh, " ");
	if (n && a->t->dst_path[n - 1] == '/') {
		char *d = dr_xasprintf("%s%s", a->t->dst_path, base);
		dr_sh_value(&sh, d);
		free(d);
	} else {
		dr_sh_value(&sh, a->t->dst_path);
	}
	dr_sh_text(&sh, " && cd / && rm -rf -- ");
	dr_sh_value(&sh, a->t->qdir);
	cmd = dr_sh_finish(&sh);
	dr_sh_free(&sh);
	phase_exec(a, CP_PROMOTE, cmd, LIST_MS);
	free(cmd);
	free(q);
	free(base);
}

/* After the copy (or the indicators): the plan's scan, unless this point
 * was judged clean by the same checks already. */
static void
phase_after(struct attempt *a, enum cphase done)
{
	const struct dr_step *st = a->t->step;

	if (done == CP_COPY && a->t->ioc_script) {
		phase_exec(a, CP_IOC, a->t->ioc_script,
		           st->copy.scan_timeout_ms);
		return;
	}
	if (done != CP_SCAN && a->t->scan_script) {
		phase_exec(a, CP_SCAN, a->t->scan_script,
		           st->copy.scan_timeout_ms);
		return;
	}
	phase_promote(a);
}

static void
on_phase(struct dr_ssh *ssh, const struct dr_ssh_result *res, void *arg)
{
	struct attempt *a = arg;
	const struct cand *c = &a->cands[a->icand];
	enum cphase ph = a->phase;
	char d[32], *m, *finding;

	(void)ssh;
	a->phase_exec = false;
	a->cmd = NULL;
	if (a->st == AT_DETACHED) {
		detached_end(a, res->ended || !res->started, res->message);
		return;
	}
	if (res->status == DR_EBUSY && !res->started &&
	    busy_retry(a, 0, RS_PHASE))
		return;
	if (res->log_error && a->ex->o.fault)
		a->ex->o.fault(a->ex->o.hook_arg, a->t, res->log_error);
	if (ph == CP_SCAN || ph == CP_IOC) {
		const char *what = ph == CP_SCAN ? "scan" : "indicators";
		if (res->status == DR_ETIMEDOUT) {
			m = dr_xasprintf(
			    "%s of %s timed out after %s and was killed; the "
			    "point is not judged (it stays in quarantine %s)",
			    what, c->path,
			    dr_duration_fmt(a->t->step->copy.scan_timeout_ms, d,
			                    sizeof(d)),
			    a->t->qdir);
			set_fail(a, DR_ETIMEDOUT, m);
			free(m);
			return;
		}
		if (res->status == 0 && res->exit_code == 1 &&
		    !res->exit_signal[0]) {
			char *why;
			finding = dr_scan_finding(res->tail);
			judged(a, c, true, ph == CP_IOC, finding);
			why = dr_xasprintf("infected: %s", finding);
			reject(a, c, why);
			free(why);
			free(finding);
			a->icand++;
			next_candidate(a);
			return;
		}
		if (res->status != 0 || res->exit_code != 0 ||
		    res->exit_signal[0]) {
			finding = dr_scan_finding(res->tail);
			m = dr_xasprintf(
			    "%s of %s failed (%s), neither clean (exit 0) nor "
			    "infected (exit 1): %s; the point is not judged",
			    what, c->path,
			    res->message ? res->message
			                 : dr_strerror(res->status),
			    finding);
			set_fail(a, res->status ? res->status : DR_EEXIT, m);
			free(m);
			free(finding);
			return;
		}
		if (ph == CP_SCAN || a->t->scan_script == NULL)
			judged(a, c, false, false, NULL);
		phase_after(a, ph);
		return;
	}
	if (res->status != 0 || res->exit_code != 0 || res->exit_signal[0]) {
		m = dr_xasprintf("%s %s: %s",
		                 ph == CP_PREP ? "preparing quarantine"
		                               : "moving into place",
		                 ph == CP_PREP ? a->t->qdir : c->path,
		                 res->message ? res->message
		                              : dr_strerror(res->status));
		set_fail(a, res->status ? res->status : DR_EEXIT, m);
		free(m);
		return;
	}
	if (ph == CP_PREP) {
		char *q = dr_xasprintf("%s/", a->t->qdir);
		int r;
		a->phase = CP_COPY;
		r = transfer(a, c->path, q);
		free(q);
		if (r != 0) {
			m = dr_xasprintf("%s: %s", a->t->key, dr_strerror(r));
			set_fail(a, r, m);
			free(m);
		}
		return;
	}
	set_done(a); /* CP_PROMOTE */
}

static void
on_transfer(const struct dr_transfer_result *res, void *arg)
{
	struct attempt *a = arg;
	char *msg =
	    dr_xstrdup(res->message ? res->message : dr_strerror(res->status));

	a->xfer = NULL;
	if (a->st == AT_DETACHED) {
		detached_end(a, true, msg);
		free(msg);
		return;
	}
	/* A session refused a channel: the copy (safe to run again, it
	 * lands by rename after verification) goes again on others. */
	if (res->status == DR_EBUSY && busy_retry(a, 2, RS_XFER)) {
		free(msg);
		return;
	}
	if (a->cands != NULL) { /* a restore-point set */
		const struct cand *c = &a->cands[a->icand];

		if (res->status == 0) {
			free(msg);
			if (!scanned(a)) {
				set_done(a);
				return;
			}
			/* In quarantine and intact: judge it. */
			const struct dr_verdict *v = dr_verdicts_find(
			    a->ex->verdicts,
			    a->t->src_host ? a->t->src_host->name : "local",
			    c->path, c->mtime_ms, a->t->scan_id);
			if (v && !v->infected)
				phase_promote(a); /* judged clean before */
			else
				phase_after(a, CP_COPY);
			return;
		}
		/* A backup that does not verify: fall back to the next older
		 * one. Connection-level failures end the attempt. */
		if ((res->status == DR_ECHECKSUM || res->status == DR_EINVAL ||
		     res->status == DR_EEXIT) &&
		    !a->cancelled) {
			char *why =
			    dr_xasprintf("%s", dr_strerror(res->status));
			reject(a, c, why);
			free(why);
			a->icand++;
			free(msg);
			next_candidate(a);
			return;
		}
		set_fail(a, res->status, msg);
		free(msg);
		return;
	}
	/* A copy lands by rename after verification: rerunning it is safe,
	 * so its outcome is never unknown. */
	finish(a, res->status, -1, "", msg, NULL, false);
	free(msg);
}

static void
on_probe(struct dr_probe_result *res, void *arg)
{
	struct attempt *a = arg;
	char *msg =
	    dr_xstrdup(res->message ? res->message : dr_strerror(res->status));

	a->probe = NULL;
	if (a->st == AT_DETACHED)
		detached_end(a, true, msg);
	else
		finish(a, res->status, -1, "", msg, NULL, false);
	free(msg);
}

static void
on_spawn(struct dr_spawn_result *res, void *arg)
{
	struct attempt *a = arg;
	int status = res->status;
	char sig[16] = "";
	char *msg;

	a->spawn = NULL;
	if (res->log_error && a->ex->o.fault) {
		char *m = dr_xasprintf("log %s: %s", a->log_path,
		                       uv_strerror(res->log_error));
		a->ex->o.fault(a->ex->o.hook_arg, a->t, m);
		free(m);
	}
	if (a->prov) { /* the keys go, the inventory is read: then the end */
		a->prov_res = dr_xcalloc(1, sizeof(*res));
		*a->prov_res = *res;
		res->tail = res->message = NULL;
		dr_prov_collect(a->prov,
		                a->st != AT_DETACHED && res->status == 0 &&
		                    res->exit_code == 0 &&
		                    res->term_signal == 0,
		                on_prov_collected, a);
		return;
	}
	if (a->st == AT_DETACHED) {
		detached_end(a, true, res->message);
		return;
	}
	if (status == 0 && (res->exit_code != 0 || res->term_signal != 0))
		status = DR_EEXIT;
	if (res->term_signal)
		snprintf(sig, sizeof(sig), "%d", res->term_signal);
	msg = dr_xstrdup(res->message ? res->message : dr_strerror(status));
	/* A local command is watched to its end; killed by us, it may have
	 * done part of its work. */
	finish(a, status, res->exit_code, sig, msg, res->tail,
	       res->pid != 0 &&
	           (status == DR_ETIMEDOUT || status == DR_ECANCELED));
	free(msg);
}

/* What a deprovision command is told: the site, and the hosts it has. */
static void
deprovision_env(struct attempt *a)
{
	const struct dr_exec_opts *o = &a->ex->o;
	size_t i;

	for (i = 0; a->env[i]; i++)
		free(a->env[i]);
	a->env[0] = dr_xasprintf("DROVER_SITE=%s", o->graph->to->name);
	a->env[1] = dr_xasprintf("DROVER_RUN_ID=%s", o->run_id);
	a->env[2] = dr_xasprintf("DROVER_MODE=%s",
	                         o->graph->mode == DR_MODE_DRILL ? "drill"
	                                                         : "failover");
	a->env[3] = dr_xasprintf("DROVER_INVENTORY=%s/inventory.json",
	                         o->run_dir ? o->run_dir : ".");
	a->env[4] = NULL;
}

/* The keys are written (or could not be): the command starts. */
static void
on_prov_ready(void *arg, int status, const char *msg)
{
	struct attempt *a = arg;

	if (a->st == AT_DETACHED || status != 0) {
		char *m = dr_xstrdup(msg ? msg : dr_strerror(status));
		a->prov_res = dr_xcalloc(1, sizeof(*a->prov_res));
		a->prov_res->status = status ? status : DR_ECANCELED;
		a->prov_res->message = m;
		dr_prov_collect(a->prov, false, on_prov_collected, a);
		return;
	}
	start_operation(a);
}

/*
 * The private keys are gone and the inventory, if the command succeeded,
 * is read: the run pins the hosts, then the step ends.
 */
static void
on_prov_collected(void *arg, int status, const char *msg,
                  const struct dr_inventory *inv)
{
	struct attempt *a = arg;
	struct dr_spawn_result *res = a->prov_res;
	int st = res->status;
	char sig[16] = "", *why = NULL, *m;

	a->prov_res = NULL;
	if (a->st == AT_DETACHED) {
		detached_end(a, true, res->message);
		goto out;
	}
	if (st == 0 && (res->exit_code != 0 || res->term_signal != 0))
		st = DR_EEXIT;
	if (res->term_signal)
		snprintf(sig, sizeof(sig), "%d", res->term_signal);
	if (st != 0) {
		finish(a, st, res->exit_code, sig,
		       res->message ? res->message : dr_strerror(st), res->tail,
		       res->pid != 0 &&
		           (st == DR_ETIMEDOUT || st == DR_ECANCELED));
	} else if (status != 0) {
		/* The command ran; what it reported cannot be used. */
		finish(a, status, res->exit_code, "", msg, res->tail, false);
	} else if (a->ex->o.provisioned &&
	           a->ex->o.provisioned(a->ex->o.hook_arg, a->t, inv, &why) !=
	               0) {
		m = dr_xasprintf("the hosts could not be pinned: %s",
		                 why ? why : "?");
		finish(a, DR_EIO, res->exit_code, "", m, res->tail, false);
		free(m);
	} else {
		m = dr_xasprintf("%s; %zu host%s reported and pinned",
		                 res->message ? res->message : "exit 0",
		                 inv->nhosts, inv->nhosts == 1 ? "" : "s");
		finish(a, 0, 0, "", m, res->tail, false);
		free(m);
	}
out:
	free(why);
	free(res->tail);
	free(res->message);
	free(res);
}

static void
gate_fire(uv_timer_t *t)
{
	struct attempt *a = t->data;

	if (a->ex->o.auto_approve)
		finish(a, 0, 0, "", "approved: --auto-approve", NULL, false);
	else
		finish(a, DR_EREFUSED, 1, "",
		       "approval gate needs an operator: run on a terminal, or "
		       "pass --auto-approve to pass gates unattended",
		       NULL, false);
}

static int
transfer(struct attempt *a, const char *src_path, const char *dst_path)
{
	const struct dr_task *t = a->t;
	struct dr_transfer_opts to = {0};

	if (src_path != a->xsrc) {
		free(a->xsrc);
		a->xsrc = dr_xstrdup(src_path);
	}
	if (dst_path != a->xdst) {
		free(a->xdst);
		a->xdst = dr_xstrdup(dst_path);
	}
	to.src = a->conn[1] ? a->conn[1]->ssh : NULL;
	to.src_path = src_path;
	to.dst = a->conn[0]->ssh;
	to.dst_path = dst_path;
	to.sha256 = t->sha256;
	to.mode = t->step->copy.mode;
	to.timeout_ms = 0; /* the attempt's deadline stops it */
	to.label = t->key;
	return dr_transfer_start(a->ex->o.loop, &to, on_transfer, a, &a->xfer);
}

/*
 * Tries the next candidate, newest first: points taken after the
 * compromise time are passed over, a point judged infected before is
 * rejected without a copy, and at most max_fallback older points are tried
 * after the newest.
 */
static void
next_candidate(struct attempt *a)
{
	const struct dr_step *st = a->t->step;
	int maxf = st->copy.max_fallback;
	char when[40], *m;

	for (;;) {
		const struct cand *c;
		bool comp;
		uint64_t cut = cutoff_ms(a->ex, &comp);

		if (a->icand >= a->ncands) {
			m = dr_xasprintf(
			    "no %srestore point left in %s%s",
			    scanned(a) ? "clean " : "", a->t->src_path,
			    scanned(a)
			        ? "; nothing was put in place (the last "
			          "point looked at stays in its quarantine)"
			        : "");
			set_fail(a, DR_ENOTFOUND, m);
			free(m);
			return;
		}
		c = &a->cands[a->icand];
		if (comp && c->mtime_ms >= cut) {
			/* The point that set it says why (the hunt's). */
			const struct dr_verdict *v =
			    scanned(a)
			        ? dr_verdicts_find(
			              a->ex->verdicts,
			              a->t->src_host ? a->t->src_host->name
			                             : "local",
			              c->path, c->mtime_ms, a->t->scan_id)
			        : NULL;
			if (v && v->infected)
				m = dr_xasprintf(
				    "infected (judged before, by %s; not "
				    "scanned again): %s",
				    v->task ? v->task : "?",
				    v->finding ? v->finding : "?");
			else
				m = dr_xasprintf(
				    "taken after the compromise time %s",
				    dr_time_fmt(cut, when, sizeof(when)));
			reject(a, c, m);
			free(m);
			a->icand++;
			continue;
		}
		if (a->tried >= (size_t)maxf + 1) {
			m = dr_xasprintf(
			    "no %srestore point within max_fallback = %d (the "
			    "newest and %d older) in %s%s",
			    scanned(a) ? "clean " : "", maxf, maxf,
			    a->t->src_path,
			    scanned(a)
			        ? "; nothing was put in place (the last "
			          "point looked at stays in its quarantine)"
			        : "");
			set_fail(a, DR_ENOTFOUND, m);
			free(m);
			return;
		}
		a->tried++;
		if (scanned(a)) {
			const struct dr_verdict *v = dr_verdicts_find(
			    a->ex->verdicts,
			    a->t->src_host ? a->t->src_host->name : "local",
			    c->path, c->mtime_ms, a->t->scan_id);
			if (v && v->infected) {
				m = dr_xasprintf("infected (judged before, by "
				                 "%s; not scanned again): %s",
				                 v->task ? v->task : "?",
				                 v->finding ? v->finding : "?");
				reject(a, c, m);
				free(m);
				a->icand++;
				continue;
			}
			phase_prep(a);
			return;
		}
		{
			int r = transfer(a, c->path, a->t->dst_path);
			if (r != 0) {
				m = dr_xasprintf("%s: %s", a->t->key,
				                 dr_strerror(r));
				set_fail(a, r, m);
				free(m);
			}
		}
		return;
	}
}

static int
cand_newest_first(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	return dr_cmp_newest(a->mtime_ms, a->path, b->mtime_ms, b->path);
}

/* The listing of a restore-point set: "MTIME PATH" lines. */
static void
on_list(struct dr_ssh *ssh, const struct dr_ssh_result *res, void *arg)
{
	struct attempt *a = arg;
	const char *p = res->tail ? res->tail : "";
	uint64_t inc = a->ex->o.incident_ms;
	size_t newer = 0, cap = 0;
	char when[40];

	(void)ssh;
	a->cmd = NULL;
	if (a->st == AT_DETACHED) {
		detached_end(a, true, res->message);
		return;
	}
	if (res->status == DR_EBUSY && !res->started &&
	    busy_retry(a, 1, RS_LIST))
		return;
	if (res->status != 0 || res->exit_code != 0 || res->tail_truncated) {
		char *m = dr_xasprintf("listing backups %s: %s", a->t->src_path,
		                       res->tail_truncated
		                           ? "too many to list"
		                           : (res->message
		                                  ? res->message
		                                  : dr_strerror(res->status)));
		finish(a, res->status ? res->status : DR_EEXIT, -1, "", m, NULL,
		       false);
		free(m);
		return;
	}
	while (*p) {
		const char *nl = strchr(p, '\n'), *sp;
		size_t len = nl ? (size_t)(nl - p) : strlen(p);
		unsigned long long mt;
		char *end;

		sp = memchr(p, ' ', len);
		mt = strtoull(p, &end, 10);
		if (sp && end == sp && sp + 1 < p + len) {
			uint64_t ms = (uint64_t)mt * 1000;
			if (ms < inc) {
				void *v = a->cands;
				dr_grow(&v, &cap, a->ncands + 1,
				        sizeof(struct cand));
				a->cands = v;
				a->cands[a->ncands].path = dr_xstrndup(
				    sp + 1, len - (size_t)(sp + 1 - p));
				a->cands[a->ncands++].mtime_ms = ms;
			} else {
				newer++;
			}
		}
		p += len + (nl ? 1 : 0);
	}
	if (a->ncands == 0) {
		char *m = dr_xasprintf(
		    "no backup matching %s was taken before the incident "
		    "(%s)%s",
		    a->t->src_path, dr_time_fmt(inc, when, sizeof(when)),
		    newer ? "; only newer ones, which may be compromised" : "");
		finish(a, DR_ENOTFOUND, -1, "", m, NULL, false);
		free(m);
		return;
	}
	qsort(a->cands, a->ncands, sizeof(struct cand), cand_newest_first);
	if (newer)
		dr_buf_printf(&a->skipped, "%zu taken after the incident",
		              newer);
	next_candidate(a);
}

/* Lists a restore-point set on the source host; '*' stays a glob, the
 * rest of the path is a quoted value. */
static void
list_candidates(struct attempt *a, const char *tag)
{
	struct dr_ssh_exec_opts eo = {0};
	struct dr_sh sh;
	const char *p = a->t->src_path, *star;
	char *cmd;
	int r;

	dr_sh_init(&sh, 0);
	dr_sh_text(&sh, "for f in ");
	while ((star = strchr(p, '*')) != NULL) {
		if (star > p) {
			char *piece = dr_xstrndup(p, (size_t)(star - p));
			dr_sh_value(&sh, piece);
			free(piece);
		}
		dr_sh_text(&sh, "*");
		p = star + 1;
	}
	if (*p)
		dr_sh_value(&sh, p);
	dr_sh_text(&sh, "; do case \"$f\" in *.sha256) continue;; esac; "
	                "[ -f \"$f\" ] && stat -c '%Y %n' -- \"$f\"; done; "
	                "true");
	cmd = dr_sh_finish(&sh);
	dr_sh_free(&sh);
	eo.command = cmd;
	eo.tail_cap = 256 * 1024;
	eo.timeout_ms = LIST_MS;
	eo.kill_tag = tag;
	r = dr_ssh_exec(a->conn[1]->ssh, &eo, on_list, a, &a->cmd);
	free(cmd);
	if (r == DR_EBUSY && busy_retry(a, 1, RS_LIST))
		return;
	if (r != 0) {
		char *m = dr_xasprintf("%s: listing backups: %s", a->t->key,
		                       dr_strerror(r));
		finish(a, r, -1, "", m, NULL, false);
		free(m);
	}
}

static void
start_operation(struct attempt *a)
{
	struct dr_exec *ex = a->ex;
	const struct dr_task *t = a->t;
	const struct dr_step *st = t->step;
	char *tag = kill_tag(a);
	const char *fwhy = NULL;
	int r = 0;

	if (a->cancelled) {
		finish(a, DR_ECANCELED, -1, "", "cancelled before it started",
		       NULL, false);
		free(tag);
		return;
	}
	if (ex->o.fence && !ex->o.fence(ex->o.hook_arg, &fwhy)) {
		char *m =
		    dr_xasprintf("not started: %s", fwhy ? fwhy : "fenced");
		finish(a, DR_ECANCELED, -1, "", m, NULL, false);
		free(m);
		free(tag);
		return;
	}
	at_set(a, AT_RUN);
	switch (a->kind) {
	case AK_SSH: {
		struct dr_ssh_exec_opts eo = {0};
		char *fenced = NULL;
		eo.command = t->command;
		if (ex->o.fencing_token || t->hunt) {
			/* digits only: never code */
			struct dr_buf pre;
			dr_buf_init(&pre, 0);
			if (ex->o.fencing_token)
				dr_buf_printf(&pre,
				              "DROVER_FENCING_TOKEN=%s; export "
				              "DROVER_FENCING_TOKEN\n",
				              ex->o.fencing_token);
			if (t->hunt)
				dr_buf_printf(
				    &pre, "before=%llu\n",
				    (unsigned long long)(ex->o.incident_ms /
				                         1000));
			dr_buf_puts(&pre, t->command);
			eo.command = fenced = dr_buf_steal(&pre);
		}
		eo.stdin_data = a->stdin_data;
		eo.stdin_len = a->stdin_len;
		eo.log_path = a->log_path;
		eo.tail_cap = t->hunt ? HUNT_CAP : TAIL_CAP;
		eo.timeout_ms = 0; /* the attempt's deadline stops it */
		eo.kill_tag = tag;
		eo.secret_values = ex->secret_values;
		eo.secret_names = ex->secret_names;
		eo.nsecrets = ex->o.nsecrets;
		r = dr_ssh_exec(a->conn[0]->ssh, &eo, on_exec, a, &a->cmd);
		free(fenced);
		if (r == DR_EBUSY) {
			free(tag);
			if (!busy_retry(a, 0, RS_START)) {
				char *m = dr_xasprintf("%s: %s", t->key,
				                       dr_strerror(r));
				finish(a, r, -1, "", m, NULL, false);
				free(m);
			}
			return;
		}
		break;
	}
	case AK_COPY:
		if (strchr(t->src_path, '*') != NULL && a->conn[1] != NULL) {
			list_candidates(a, tag);
			free(tag);
			return;
		}
		r = transfer(a, t->src_path, t->dst_path);
		break;
	case AK_PROBE: {
		struct dr_probe_opts po = {0};
		po.kind = st->probe.kind == DR_PROBE_HTTP ? DR_PROBE_GET
		                                          : DR_PROBE_CONNECT;
		po.target = t->target;
		po.expect_status = st->probe.expect_status;
		po.expect_body = st->probe.expect_body;
		po.within_ms = st->probe.within_ms;
		po.interval_ms = st->probe.interval_ms;
		po.guard = ex->o.guard;
		r = dr_probe_start(ex->o.loop, &po, on_probe, a, &a->probe);
		break;
	}
	case AK_LOCAL: {
		struct dr_spawn_opts so = {0};
		if (st->action == DR_ACT_PROVISION && a->prov == NULL) {
			struct dr_prov_opts po = {0};
			po.task = t;
			po.graph = ex->o.graph;
			po.run_dir = ex->o.run_dir;
			po.run_id = ex->o.run_id;
			po.guard = ex->o.guard;
			r = dr_prov_prepare(ex->o.loop, &po, on_prov_ready, a,
			                    &a->prov);
			break;
		}
		so.command = a->prov ? dr_prov_command(a->prov) : t->command;
		so.env_extra = a->prov ? dr_prov_env(a->prov) : NULL;
		if (st->action == DR_ACT_DEPROVISION) {
			deprovision_env(a);
			so.env_extra = (const char *const *)a->env;
		} else if (so.env_extra == NULL && ex->o.fencing_token) {
			free(a->env[0]);
			a->env[0] = dr_xasprintf("DROVER_FENCING_TOKEN=%s",
			                         ex->o.fencing_token);
			a->env[1] = NULL;
			so.env_extra = (const char *const *)a->env;
		}
		so.cwd = ex->o.graph->dir;
		so.stdin_data = a->stdin_data;
		so.stdin_len = a->stdin_len;
		so.log_path = a->log_path;
		so.tail_cap = TAIL_CAP;
		so.timeout_ms = 0; /* the attempt's deadline stops it */
		so.secret_values = ex->secret_values;
		so.secret_names = ex->secret_names;
		so.nsecrets = ex->o.nsecrets;
		r = dr_spawn_start(ex->o.loop, &so, on_spawn, a, &a->spawn);
		break;
	}
	case AK_GATE:
		if (ex->o.auto_approve || ex->o.gate == NULL)
			uv_timer_start(&a->timer, gate_fire, 0, 0);
		else
			ex->o.gate(ex->o.hook_arg, ex, t);
		break;
	}
	free(tag);
	if (r != 0) {
		char *m = dr_xasprintf("%s: %s", t->key, dr_strerror(r));
		finish(a, r, -1, "", m, NULL, false);
		free(m);
	}
}

/* The channels came (again, after a DR_EBUSY): what the attempt does. */
static void
resume_operation(struct attempt *a)
{
	char *tag, *m;
	int r;

	if (a->resume == RS_START) {
		start_operation(a);
		return;
	}
	at_set(a, AT_RUN);
	switch (a->resume) {
	case RS_START:
		break;
	case RS_PHASE:
		phase_exec(a, a->phase, a->phase_cmd, a->phase_ms);
		break;
	case RS_LIST:
		tag = kill_tag(a);
		list_candidates(a, tag);
		free(tag);
		break;
	case RS_XFER:
		r = transfer(a, a->xsrc, a->xdst);
		if (r != 0) {
			m = dr_xasprintf("%s: %s", a->t->key, dr_strerror(r));
			if (a->cands != NULL)
				set_fail(a, r, m);
			else
				finish(a, r, -1, "", m, NULL, false);
			free(m);
		}
		break;
	}
}

/* Secrets on stdin: one value per line, in the task's order. */
static void
build_stdin(struct attempt *a)
{
	const struct dr_task *t = a->t;
	struct dr_buf b;
	size_t i, j;

	if (t->nsecrets == 0 && t->step->action != DR_ACT_SCRIPT)
		return;
	dr_buf_init(&b, 0);
	for (i = 0; i < t->nsecrets; i++) {
		for (j = 0; j < a->ex->o.nsecrets; j++) {
			if (strcmp(a->ex->o.secrets[j].name,
			           t->secret_names[i]) == 0) {
				dr_buf_puts(&b, a->ex->o.secrets[j].value);
				break;
			}
		}
		dr_buf_append(&b, "\n", 1);
	}
	if (t->step->action == DR_ACT_SCRIPT && a->ex->scripts[t->id])
		dr_buf_append(&b, a->ex->scripts[t->id],
		              a->ex->script_len[t->id]);
	a->stdin_len = b.len;
	a->stdin_data = dr_buf_steal(&b);
}

static char *
log_path(struct dr_exec *ex, const struct dr_task *t)
{
	char *name = dr_tasklog_name(t->key);
	char *p = dr_xasprintf("%s/%s.log", ex->o.log_dir, name);

	/* A name in the run's one output file (tasklog.h), not a file. */
	free(name);
	return p;
}

static int
ex_start(void *impl, struct dr_sched *s, const struct dr_task *t)
{
	struct dr_exec *ex = impl;
	struct attempt *a;

	ex->sched = s;
	if (t->step->action == DR_ACT_NONE)
		return DR_EINVAL;
	a = dr_xcalloc(1, sizeof(*a));
	a->ex = ex;
	a->t = t;
	a->st = AT_ACQUIRE;
	a->start_ms = dr_now_mono_ms();
	a->next = ex->attempts;
	ex->attempts = a;
	ex->nattempts++;
	a->log_path = log_path(ex, t);
	dr_trace_state("exec", t->key, "new", at_names[AT_ACQUIRE]);
	uv_timer_init(ex->o.loop, &a->timer);
	a->timer.data = a;
	a->timer_open = true;
	/* The deadline is the controller's: every action but a gate (a
	 * person answers it) ends when it expires. */
	if (t->step->action != DR_ACT_APPROVE && t->step->timeout_ms > 0)
		uv_timer_start(&a->timer, on_deadline, t->step->timeout_ms, 0);
	switch (t->step->action) {
	case DR_ACT_RUN:
	case DR_ACT_SCRIPT:
		a->kind = AK_SSH;
		build_stdin(a);
		a->need = 1;
		acquire(a, t->conn);
		break;
	case DR_ACT_COPY:
		a->kind = AK_COPY;
		a->need = t->src_host ? 2 : 1;
		acquire(a, t->conn);
		if (t->src_host) /* a lives on: need was 2 */
			acquire(a, t->src_conn);
		break;
	case DR_ACT_PROBE:
		a->kind = AK_PROBE;
		start_operation(a);
		break;
	case DR_ACT_LOCAL:
	case DR_ACT_PROVISION:
	case DR_ACT_DEPROVISION:
		a->kind = AK_LOCAL;
		build_stdin(a);
		start_operation(a);
		break;
	case DR_ACT_APPROVE:
		a->kind = AK_GATE;
		start_operation(a);
		break;
	case DR_ACT_NONE:
		break;
	}
	return 0;
}

static void
ex_cancel(void *impl, const struct dr_task *t)
{
	struct dr_exec *ex = impl;
	struct attempt *a;

	for (a = ex->attempts; a; a = a->next) {
		if (a->t != t || a->reported)
			continue;
		a->cancelled = true;
		if (a->kind == AK_GATE) {
			finish(a, DR_ECANCELED, -1, "", "gate cancelled", NULL,
			       false);
			return;
		}
		/* The task ends now; the operation stops in the
		 * background, bounded, and its end is noted. */
		end_early(a, DR_ECANCELED, "cancelled");
		return;
	}
}

uint64_t
dr_exec_compromise_ms(const struct dr_exec *ex)
{
	bool comp;
	uint64_t t = cutoff_ms(ex, &comp);

	return comp ? t : 0;
}

void
dr_exec_gate_answer(struct dr_exec *ex, size_t task_id, bool approved,
                    const char *who)
{
	struct attempt *a;
	char *m;

	for (a = ex->attempts; a; a = a->next) {
		if (a->t->id != task_id || a->kind != AK_GATE || a->reported)
			continue;
		m = dr_xasprintf("%s by %s", approved ? "approved" : "refused",
		                 who ? who : "operator");
		finish(a, approved ? 0 : DR_EREFUSED, approved ? 0 : 1, "", m,
		       NULL, false);
		free(m);
		return;
	}
}

void
dr_exec_gate_finish(struct dr_exec *ex, size_t task_id, int status,
                    const char *message)
{
	struct attempt *a;

	for (a = ex->attempts; a; a = a->next) {
		if (a->t->id != task_id || a->kind != AK_GATE || a->reported)
			continue;
		finish(a, status, status == 0 ? 0 : 1, "", message, NULL,
		       false);
		return;
	}
}

void
dr_exec_ssh_opts(const struct dr_conn *cn, const char *label,
                 const struct dr_guard *guard, struct dr_ssh_opts *so)
{
	*so = (struct dr_ssh_opts){.label = label,
	                           .address = cn->address,
	                           .port = cn->port,
	                           .user = cn->user,
	                           .identity = cn->identity,
	                           .known_hosts = cn->known_hosts,
	                           .connect_timeout_ms = cn->connect_timeout_ms,
	                           .keepalive_ms = cn->keepalive_ms,
	                           .guard = guard};
}

void
dr_exec_executor(struct dr_exec *ex, struct dr_executor *out)
{
	out->start = ex_start;
	out->cancel = ex_cancel;
	out->impl = ex;
}

static void
exec_free(struct dr_exec *ex)
{
	size_t k;

	for (k = 0; k < ex->npools; k++)
		free(ex->pools[k].tasks);
	free(ex->pools);
	if (ex->scripts)
		for (k = 0; k < ex->o.graph->ntasks; k++)
			free(ex->scripts[k]);
	free(ex->scripts);
	free(ex->script_len);
	free(ex->secret_values);
	free(ex->secret_names);
	dr_verdicts_free(ex->verdicts);
	free(ex);
}

int
dr_exec_new(const struct dr_exec_opts *o, struct dr_exec **out)
{
	const struct dr_graph *g = o->graph;
	struct dr_exec *ex = dr_xcalloc(1, sizeof(*ex));
	size_t i, j, n = g->nconns;

	ex->o = *o;
	ex->verdicts = dr_verdicts_new();
	if (o->verdict_records)
		dr_verdicts_load(ex->verdicts, o->verdict_records);
	ex->pools = dr_xcalloc(n + 1, sizeof(struct pool));
	for (i = 0; i < n; i++) {
		struct pool *pl = &ex->pools[i];
		pl->conn = &g->conns[i];
		snprintf(pl->label, sizeof(pl->label), "%s/%s",
		         pl->conn->host->site->name, pl->conn->host->name);
	}
	ex->npools = n;
	for (i = 0; i < g->ntasks; i++) {
		const struct dr_conn *cs[2];
		dr_task_conns(&g->tasks[i], cs);
		for (j = 0; j < 2; j++) {
			struct pool *pl = cs[j] ? pool_of(ex, cs[j]) : NULL;
			if (pl == NULL)
				continue;
			pl->tasks = dr_xrealloc(pl->tasks, (pl->ntasks + 1) *
			                                       sizeof(size_t));
			pl->tasks[pl->ntasks++] = i;
		}
	}
	ex->secret_values = dr_xcalloc(o->nsecrets + 1, sizeof(char *));
	ex->secret_names = dr_xcalloc(o->nsecrets + 1, sizeof(char *));
	for (i = 0; i < o->nsecrets; i++) {
		ex->secret_values[i] = o->secrets[i].value;
		ex->secret_names[i] = o->secrets[i].name;
	}
	ex->scripts = dr_xcalloc(g->ntasks + 1, sizeof(char *));
	ex->script_len = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	for (i = 0; i < g->ntasks; i++) {
		const struct dr_step *st = g->tasks[i].step;
		char *path;
		if (st->action != DR_ACT_SCRIPT)
			continue;
		path = st->script[0] == '/'
		           ? dr_xstrdup(st->script)
		           : dr_xasprintf("%s/%s", g->dir, st->script);
		if (dr_read_file(path, 0, &ex->scripts[i],
		                 &ex->script_len[i]) != 0) {
			fprintf(stderr, "drover: %s: cannot read script: %s\n",
			        path, strerror(errno));
			free(path);
			exec_free(ex);
			return DR_EIO;
		}
		free(path);
	}
	*out = ex;
	return 0;
}

/* Frees the executor once it was asked to close and nothing is left:
 * no attempt (a detached one is waiting for its kill), no session. */
static void
maybe_free_exec(struct dr_exec *ex)
{
	void (*cb)(void *);
	void *arg;

	if (!ex->close_requested || ex->closing > 0 || ex->nconns > 0 ||
	    ex->nattempts > 0 || ex->close_cb == NULL)
		return;
	cb = ex->close_cb;
	arg = ex->close_arg;
	ex->close_cb = NULL;
	exec_free(ex);
	cb(arg);
}

void
dr_exec_close(struct dr_exec *ex, void (*cb)(void *arg), void *arg)
{
	size_t i;
	struct conn *c, *next;

	ex->close_requested = true;
	ex->close_cb = cb;
	ex->close_arg = arg;
	ex->closing++; /* held until the loop below is done */
	for (i = 0; i < ex->npools; i++)
		for (c = ex->pools[i].conns; c; c = next) {
			next = c->next;
			if (c->st == CS_IDLE)
				conn_drop(ex, c);
		}
	ex->closing--;
	maybe_free_exec(ex);
}
