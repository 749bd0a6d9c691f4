/*
 * exec.c: run one task attempt at a time on behalf of the scheduler.
 *
 * An attempt acquires what it needs (pooled SSH sessions), starts one
 * engine operation (exec, transfer, probe, spawn, gate), and reports exactly
 * one outcome through dr_sched_task_done(). Nothing here blocks the loop:
 * scripts are read before the run starts, logs are written by the engines
 * through the thread pool.
 */
#include "drover/exec.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/probe.h"
#include "drover/spawn.h"
#include "drover/ssh.h"
#include "drover/shcmd.h"
#include "drover/transfer.h"

#define TAIL_CAP 4096

struct conn {
	struct dr_ssh *ssh;
	struct pool *pool;
	bool busy;              /* lent to an attempt */
	bool connecting;        /* handshake under way */
	struct attempt *waiter; /* the attempt this connect is for */
	struct conn *next;
};

struct pool {
	const struct dr_host *host;
	struct conn *conns;
	int nconns;
	size_t *tasks; /* tasks that need a session on this host */
	size_t ntasks;
};

enum attempt_kind { AT_SSH, AT_COPY, AT_PROBE, AT_LOCAL, AT_GATE };

struct attempt {
	struct dr_exec *ex;
	const struct dr_task *t;
	enum attempt_kind kind;
	struct conn *conn[2]; /* run/script: [0]; copy: [0] dst, [1] src */
	int need;             /* connections still to acquire */
	int conn_err;         /* first connect error */
	char *conn_msg;
	bool cancelled;
	bool running; /* engine operation started */
	struct dr_probe_run *probe;
	struct dr_spawn *spawn;
	struct dr_transfer *xfer;
	uv_timer_t gate_timer; /* auto-approve without re-entering */
	bool gate_timer_open;
	char *stdin_data;
	size_t stdin_len;
	char *log_path;
	/* Copy from a restore-point set (a source path with '*'). */
	struct cand *cands;
	size_t ncands, icand;
	struct dr_buf skipped; /* why newer candidates were passed over */
	struct attempt *next;
};

struct cand {
	char *path;
	uint64_t mtime_ms;
};

struct dr_exec {
	struct dr_exec_opts o;
	struct dr_sched *sched;
	struct pool *pools; /* one per host of the plan, by index */
	size_t npools;
	int nconns; /* open or opening, all hosts */
	struct attempt *attempts;
	char **scripts; /* per step, by task: loaded script text */
	size_t *script_len;
	int closing;                /* connections still closing */
	const char **secret_values; /* scrubbed from every output */
	const char **secret_names;
	void (*close_cb)(void *);
	void *close_arg;
	bool close_requested;
};

static struct pool *
pool_of(struct dr_exec *ex, const struct dr_host *h)
{
	size_t i;

	for (i = 0; i < ex->npools; i++)
		if (ex->pools[i].host == h)
			return &ex->pools[i];
	return NULL;
}

static void finish(struct attempt *a, int status, int exit_code,
                   const char *sig, const char *msg, const char *tail);
static void start_operation(struct attempt *a);

/*
 * One fewer handle closing (a session, or a gate's timer); frees the
 * executor when it was asked to close and nothing is left.
 */
static void
conn_closed(void *arg)
{
	struct dr_exec *ex = arg;

	ex->closing--;
	if (ex->close_requested && ex->closing == 0 && ex->nconns == 0 &&
	    ex->close_cb) {
		void (*cb)(void *) = ex->close_cb;
		void *cb_arg = ex->close_arg;
		ex->close_cb = NULL;
		for (size_t k = 0; k < ex->npools; k++)
			free(ex->pools[k].tasks);
		free(ex->pools);
		free(ex->scripts);
		free(ex->script_len);
		free(ex->secret_values);
		free(ex->secret_names);
		free(ex);
		cb(cb_arg);
	}
}

/* Removes c from its pool and closes it. */
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
	c->pool->nconns--;
	ex->nconns--;
	ex->closing++;
	dr_ssh_close(c->ssh, conn_closed, ex);
	free(c);
}

/* Closes one idle connection anywhere, to make room under the cap. */
static bool
evict_idle(struct dr_exec *ex, const struct pool *keep)
{
	size_t i;
	struct conn *c;

	for (i = 0; i < ex->npools; i++) {
		if (&ex->pools[i] == keep)
			continue;
		for (c = ex->pools[i].conns; c; c = c->next) {
			if (!c->busy && !c->connecting) {
				conn_drop(ex, c);
				return true;
			}
		}
	}
	return false;
}

static void got_conn(struct attempt *a, struct conn *c, int status,
                     const char *msg);

static void
on_connect(struct dr_ssh *ssh, int status, const char *msg, void *arg)
{
	struct conn *c = arg;
	struct attempt *a = c->waiter;

	(void)ssh;
	c->connecting = false;
	c->waiter = NULL;
	if (status != 0) {
		struct dr_exec *e = a->ex;
		conn_drop(e, c);
		got_conn(a, NULL, status, msg);
		return;
	}
	got_conn(a, c, 0, NULL);
}

/* Lends a ready idle connection to a, or opens a new one. */
static void
acquire(struct attempt *a, const struct dr_host *h)
{
	struct dr_exec *ex = a->ex;
	const struct dr_plan *p = ex->o.graph->plan;
	struct pool *pl = pool_of(ex, h);
	struct dr_ssh_opts so = {0};
	struct conn *c;
	char label[160];
	int r;

	for (c = pl->conns; c; c = c->next) {
		if (!c->busy && !c->connecting && dr_ssh_ready(c->ssh)) {
			c->busy = true;
			got_conn(a, c, 0, NULL);
			return;
		}
	}
	/* Drop idle connections that died; then respect the global cap. */
	for (c = pl->conns; c;) {
		struct conn *next = c->next;
		if (!c->busy && !c->connecting && !dr_ssh_ready(c->ssh))
			conn_drop(ex, c);
		c = next;
	}
	while (ex->nconns >= p->limits.sessions && evict_idle(ex, pl))
		;
	if (pl->nconns >= p->limits.per_host) {
		for (c = pl->conns; c; c = c->next)
			if (!c->busy && !c->connecting) {
				conn_drop(ex, c);
				break;
			}
	}
	snprintf(label, sizeof(label), "%s/%s", h->site->name, h->name);
	so.label = label;
	so.address = h->address;
	so.port = h->port ? h->port : p->defaults.port;
	so.user = h->user ? h->user : p->defaults.user;
	so.identity = p->defaults.identity;
	so.known_hosts = p->defaults.known_hosts;
	so.connect_timeout_ms = p->defaults.connect_timeout_ms;
	so.keepalive_ms = p->defaults.keepalive_ms;
	so.guard = ex->o.guard;
	c = dr_xcalloc(1, sizeof(*c));
	c->pool = pl;
	c->busy = true;
	c->connecting = true;
	c->waiter = a;
	r = dr_ssh_new(ex->o.loop, &so, &c->ssh);
	if (r != 0) {
		char *m = dr_xasprintf("%s: %s", label, dr_strerror(r));
		free(c);
		got_conn(a, NULL, r, m);
		free(m);
		return;
	}
	c->next = pl->conns;
	pl->conns = c;
	pl->nconns++;
	ex->nconns++;
	r = dr_ssh_connect(c->ssh, on_connect, c);
	if (r != 0) {
		char *m = dr_xasprintf("%s: %s", label, dr_strerror(r));
		conn_drop(ex, c);
		got_conn(a, NULL, r, m);
		free(m);
	}
}

/* True when no task but a's own still needs a session on the pool's host. */
static bool
host_done(const struct attempt *a, const struct pool *pl)
{
	size_t i;

	for (i = 0; i < pl->ntasks; i++) {
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

static void
release(struct attempt *a)
{
	int i;

	for (i = 0; i < 2; i++) {
		struct conn *c = a->conn[i];
		if (c == NULL)
			continue;
		a->conn[i] = NULL;
		c->busy = false;
		/* A dead session goes; so does one whose host has nothing
		 * left to do, so that disconnects overlap the rest. */
		if (!dr_ssh_ready(c->ssh) || host_done(a, c->pool))
			conn_drop(a->ex, c);
	}
}

static void
got_conn(struct attempt *a, struct conn *c, int status, const char *msg)
{
	if (c != NULL) {
		if (a->conn[0] == NULL)
			a->conn[0] = c;
		else
			a->conn[1] = c;
	} else if (a->conn_err == 0) {
		a->conn_err = status;
		a->conn_msg = dr_xstrdup(msg ? msg : dr_strerror(status));
	}
	if (--a->need > 0)
		return;
	if (a->conn_err != 0) {
		char *m = a->conn_msg;
		a->conn_msg = NULL;
		release(a);
		finish(a, a->conn_err, -1, "", m, NULL);
		free(m);
		return;
	}
	if (a->cancelled) {
		release(a);
		finish(a, DR_ECANCELED, -1, "", "cancelled before it started",
		       NULL);
		return;
	}
	start_operation(a);
}

static void
attempt_free(struct attempt *a)
{
	struct attempt **pp;

	for (pp = &a->ex->attempts; *pp; pp = &(*pp)->next) {
		if (*pp == a) {
			*pp = a->next;
			break;
		}
	}
	if (a->stdin_data) {
		memset(a->stdin_data, 0, a->stdin_len);
		free(a->stdin_data);
	}
	for (size_t i = 0; i < a->ncands; i++)
		free(a->cands[i].path);
	free(a->cands);
	dr_buf_free(&a->skipped);
	free(a->log_path);
	free(a->conn_msg);
	free(a);
}

static void
gate_timer_closed(uv_handle_t *h)
{
	struct attempt *a = h->data;
	struct dr_exec *ex = a->ex;

	attempt_free(a);
	conn_closed(ex); /* one less handle closing: may free ex */
}

static void finish_backup(struct attempt *a, int status, const char *msg,
                          const char *backup, uint64_t backup_ms);

/* Reports the outcome and frees the attempt. */
static void
finish(struct attempt *a, int status, int exit_code, const char *sig,
       const char *msg, const char *tail)
{
	struct dr_outcome o = {0};
	struct dr_sched *s = a->ex->sched;
	size_t id = a->t->id;

	o.status = status;
	o.exit_code = exit_code;
	snprintf(o.signal, sizeof(o.signal), "%s", sig ? sig : "");
	o.message = msg;
	o.tail = tail;
	if (a->gate_timer_open) {
		a->gate_timer_open = false;
		a->ex->closing++; /* the executor outlives this close */
		uv_close((uv_handle_t *)&a->gate_timer, gate_timer_closed);
	} else {
		attempt_free(a);
	}
	dr_sched_task_done(s, id, &o);
}

static void
finish_backup(struct attempt *a, int status, const char *msg,
              const char *backup, uint64_t backup_ms)
{
	struct dr_outcome o = {0};
	struct dr_sched *s = a->ex->sched;
	size_t id = a->t->id;
	char *m = dr_xstrdup(msg), *b = dr_xstrdup(backup);

	o.status = status;
	o.exit_code = -1;
	o.message = m;
	o.backup = b;
	o.backup_ms = backup_ms;
	attempt_free(a);
	dr_sched_task_done(s, id, &o);
	free(m);
	free(b);
}

static void
on_exec(struct dr_ssh *ssh, const struct dr_ssh_result *res, void *arg)
{
	struct attempt *a = arg;
	int status = res->status;
	char *msg;

	(void)ssh;
	if (status == 0 && (res->exit_code != 0 || res->exit_signal[0]))
		status = DR_EEXIT;
	msg = dr_xstrdup(res->message ? res->message : dr_strerror(status));
	release(a);
	finish(a, status, res->exit_code, res->exit_signal, msg, res->tail);
	free(msg);
}

static void start_candidate(struct attempt *a);

static bool
restore_point_mode(const struct attempt *a)
{
	return a->cands != NULL;
}

static void
on_transfer(const struct dr_transfer_result *res, void *arg)
{
	struct attempt *a = arg;
	char *msg =
	    dr_xstrdup(res->message ? res->message : dr_strerror(res->status));

	a->xfer = NULL;
	if (restore_point_mode(a)) {
		const struct cand *c = &a->cands[a->icand];
		char when[40], age[32];
		uint64_t inc = a->ex->o.incident_ms;

		if (res->status == 0) {
			struct dr_buf b;
			dr_buf_init(&b, 0);
			dr_buf_printf(
			    &b,
			    "restored %s, taken %s (%s before the incident)",
			    c->path,
			    dr_time_fmt(c->mtime_ms, when, sizeof(when)),
			    dr_duration_fmt(
			        inc > c->mtime_ms ? inc - c->mtime_ms : 0, age,
			        sizeof(age)));
			if (a->skipped.len)
				dr_buf_printf(&b, "; passed over: %s",
				              a->skipped.data);
			release(a);
			finish_backup(a, 0, b.data, c->path, c->mtime_ms);
			dr_buf_free(&b);
			free(msg);
			return;
		}
		/* A newer backup that does not verify: fall back to the next
		 * older one. Connection-level failures end the attempt. */
		if ((res->status == DR_ECHECKSUM || res->status == DR_EINVAL ||
		     res->status == DR_EEXIT) &&
		    !a->cancelled && a->icand + 1 < a->ncands) {
			dr_buf_printf(&a->skipped, "%s%s (%s)",
			              a->skipped.len ? ", " : "", c->path,
			              dr_strerror(res->status));
			a->icand++;
			free(msg);
			start_candidate(a);
			return;
		}
		if (a->skipped.len) {
			char *m = dr_xasprintf("%s; also passed over: %s", msg,
			                       a->skipped.data);
			free(msg);
			msg = m;
		}
	}
	release(a);
	finish(a, res->status, -1, "", msg, NULL);
	free(msg);
}

static void
on_probe(struct dr_probe_result *res, void *arg)
{
	struct attempt *a = arg;
	char *msg =
	    dr_xstrdup(res->message ? res->message : dr_strerror(res->status));

	a->probe = NULL;
	finish(a, res->status, -1, "", msg, NULL);
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
	if (status == 0 && (res->exit_code != 0 || res->term_signal != 0))
		status = DR_EEXIT;
	if (res->term_signal)
		snprintf(sig, sizeof(sig), "%d", res->term_signal);
	msg = dr_xstrdup(res->message ? res->message : dr_strerror(status));
	finish(a, status, res->exit_code, sig, msg, res->tail);
	free(msg);
}

static void
gate_auto(uv_timer_t *t)
{
	struct attempt *a = t->data;

	finish(a, 0, 0, "", "approved: --auto-approve", NULL);
}

static void
gate_refuse(uv_timer_t *t)
{
	struct attempt *a = t->data;

	finish(a, DR_EREFUSED, 1, "",
	       "approval gate needs an operator: run on a terminal, or pass "
	       "--auto-approve to pass gates unattended",
	       NULL);
}

static char *
kill_tag(struct attempt *a)
{
	const struct dr_task_run *r = dr_sched_task(a->ex->sched, a->t->id);

	return dr_xasprintf("%s-%zu-%d", a->ex->o.run_id, a->t->id,
	                    r ? r->attempts : 0);
}

static int
transfer(struct attempt *a, const char *src_path)
{
	const struct dr_task *t = a->t;
	struct dr_transfer_opts to = {0};

	to.src = a->conn[1] ? a->conn[1]->ssh : NULL;
	to.src_path = src_path;
	to.dst = a->conn[0]->ssh;
	to.dst_path = t->dst_path;
	to.sha256 = t->sha256;
	to.mode = t->step->copy.mode;
	to.timeout_ms = t->step->timeout_ms;
	to.label = t->key;
	return dr_transfer_start(a->ex->o.loop, &to, on_transfer, a, &a->xfer);
}

static void
start_candidate(struct attempt *a)
{
	int r = transfer(a, a->cands[a->icand].path);

	if (r != 0) {
		char *m = dr_xasprintf("%s: %s", a->t->key, dr_strerror(r));
		release(a);
		finish(a, r, -1, "", m, NULL);
		free(m);
	}
}

static int
cand_newest_first(const void *x, const void *y)
{
	const struct cand *a = x, *b = y;

	if (a->mtime_ms != b->mtime_ms)
		return a->mtime_ms > b->mtime_ms ? -1 : 1;
	return strcmp(b->path, a->path);
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
	if (res->status != 0 || res->exit_code != 0 || res->tail_truncated) {
		char *m = dr_xasprintf("listing backups %s: %s", a->t->src_path,
		                       res->tail_truncated
		                           ? "too many to list"
		                           : (res->message
		                                  ? res->message
		                                  : dr_strerror(res->status)));
		release(a);
		finish(a, res->status ? res->status : DR_EEXIT, -1, "", m,
		       NULL);
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
		release(a);
		finish(a, DR_ENOTFOUND, -1, "", m, NULL);
		free(m);
		return;
	}
	qsort(a->cands, a->ncands, sizeof(struct cand), cand_newest_first);
	if (newer)
		dr_buf_printf(&a->skipped, "%zu taken after the incident",
		              newer);
	start_candidate(a);
}

/* Lists a restore-point set on the source host; '*' stays a glob, the rest
 * of the path is quoted. */
static void
list_candidates(struct attempt *a, const char *tag)
{
	struct dr_ssh_exec_opts eo = {0};
	struct dr_buf cmd;
	const char *p = a->t->src_path, *star;
	int r;

	dr_buf_init(&cmd, 0);
	dr_buf_puts(&cmd, "for f in ");
	while ((star = strchr(p, '*')) != NULL) {
		if (star > p) {
			char *piece = dr_xstrndup(p, (size_t)(star - p));
			dr_sh_quote(&cmd, piece);
			free(piece);
		}
		dr_buf_puts(&cmd, "*");
		p = star + 1;
	}
	if (*p)
		dr_sh_quote(&cmd, p);
	dr_buf_puts(&cmd, "; do case \"$f\" in *.sha256) continue;; esac; "
	                  "[ -f \"$f\" ] && stat -c '%Y %n' -- \"$f\"; done; "
	                  "true");
	eo.command = cmd.data;
	eo.tail_cap = 256 * 1024;
	eo.timeout_ms = 60000;
	eo.kill_tag = tag;
	r = dr_ssh_exec(a->conn[1]->ssh, &eo, on_list, a);
	dr_buf_free(&cmd);
	if (r != 0) {
		char *m = dr_xasprintf("%s: listing backups: %s", a->t->key,
		                       dr_strerror(r));
		release(a);
		finish(a, r, -1, "", m, NULL);
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
	int r = 0;

	a->running = true;
	switch (a->kind) {
	case AT_SSH: {
		struct dr_ssh_exec_opts eo = {0};
		eo.command = t->command;
		eo.stdin_data = a->stdin_data;
		eo.stdin_len = a->stdin_len;
		eo.log_path = a->log_path;
		eo.tail_cap = TAIL_CAP;
		eo.timeout_ms = st->timeout_ms;
		eo.kill_tag = tag;
		eo.secret_values = ex->secret_values;
		eo.secret_names = ex->secret_names;
		eo.nsecrets = ex->o.nsecrets;
		r = dr_ssh_exec(a->conn[0]->ssh, &eo, on_exec, a);
		break;
	}
	case AT_COPY:
		if (strchr(t->src_path, '*') != NULL && a->conn[1] != NULL) {
			list_candidates(a, tag);
			free(tag);
			return;
		}
		r = transfer(a, t->src_path);
		break;
	case AT_PROBE: {
		struct dr_probe_opts po = {0};
		po.kind = st->probe.kind;
		po.target = t->target;
		po.expect_status = st->probe.expect_status;
		po.expect_body = st->probe.expect_body;
		po.within_ms = st->probe.within_ms;
		po.interval_ms = st->probe.interval_ms;
		po.guard = ex->o.guard;
		r = dr_probe_start(ex->o.loop, &po, on_probe, a, &a->probe);
		break;
	}
	case AT_LOCAL: {
		struct dr_spawn_opts so = {0};
		so.command = t->command;
		so.cwd = ex->o.graph->plan->dir;
		so.stdin_data = a->stdin_data;
		so.stdin_len = a->stdin_len;
		so.log_path = a->log_path;
		so.tail_cap = TAIL_CAP;
		so.timeout_ms = st->timeout_ms;
		so.secret_values = ex->secret_values;
		so.secret_names = ex->secret_names;
		so.nsecrets = ex->o.nsecrets;
		r = dr_spawn_start(ex->o.loop, &so, on_spawn, a, &a->spawn);
		break;
	}
	case AT_GATE:
		uv_timer_init(ex->o.loop, &a->gate_timer);
		a->gate_timer.data = a;
		a->gate_timer_open = true;
		if (ex->o.auto_approve)
			uv_timer_start(&a->gate_timer, gate_auto, 0, 0);
		else if (ex->o.gate)
			ex->o.gate(ex->o.gate_arg, ex, t);
		else
			uv_timer_start(&a->gate_timer, gate_refuse, 0, 0);
		break;
	}
	free(tag);
	if (r != 0) {
		char *m = dr_xasprintf("%s: %s", t->key, dr_strerror(r));
		release(a);
		finish(a, r, -1, "", m, NULL);
		free(m);
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
	struct dr_buf b;
	const char *p;

	dr_buf_init(&b, 0);
	dr_buf_printf(&b, "%s/", ex->o.log_dir);
	for (p = t->key; *p; p++) {
		char c = *p;
		if (c == '/' || c == '@')
			c = '_';
		dr_buf_append(&b, &c, 1);
	}
	dr_buf_puts(&b, ".log");
	return dr_buf_steal(&b);
}

static int
ex_start(void *impl, struct dr_sched *s, const struct dr_task *t)
{
	struct dr_exec *ex = impl;
	struct attempt *a;

	ex->sched = s;
	a = dr_xcalloc(1, sizeof(*a));
	a->ex = ex;
	a->t = t;
	a->next = ex->attempts;
	ex->attempts = a;
	a->log_path = log_path(ex, t);
	switch (t->step->action) {
	case DR_ACT_RUN:
	case DR_ACT_SCRIPT:
		a->kind = AT_SSH;
		build_stdin(a);
		a->need = 1;
		acquire(a, t->host);
		break;
	case DR_ACT_COPY:
		a->kind = AT_COPY;
		a->need = t->src_host ? 2 : 1;
		acquire(a, t->host);
		if (t->src_host) /* a lives on: need was 2 */
			acquire(a, t->src_host);
		break;
	case DR_ACT_PROBE:
		a->kind = AT_PROBE;
		start_operation(a);
		break;
	case DR_ACT_LOCAL:
		a->kind = AT_LOCAL;
		build_stdin(a);
		start_operation(a);
		break;
	case DR_ACT_APPROVE:
		a->kind = AT_GATE;
		start_operation(a);
		break;
	case DR_ACT_NONE:
		attempt_free(a);
		return DR_EINVAL;
	}
	return 0;
}

static void
ex_cancel(void *impl, const struct dr_task *t)
{
	struct dr_exec *ex = impl;
	struct attempt *a;

	for (a = ex->attempts; a; a = a->next) {
		if (a->t != t)
			continue;
		a->cancelled = true;
		if (!a->running)
			return; /* reported when the connect ends */
		switch (a->kind) {
		case AT_SSH:
			if (a->conn[0])
				dr_ssh_cancel(a->conn[0]->ssh);
			break;
		case AT_COPY:
			if (a->xfer)
				dr_transfer_cancel(a->xfer);
			break;
		case AT_PROBE:
			if (a->probe)
				dr_probe_cancel(a->probe);
			break;
		case AT_LOCAL:
			if (a->spawn)
				dr_spawn_cancel(a->spawn);
			break;
		case AT_GATE:
			if (a->gate_timer_open &&
			    !uv_is_active((uv_handle_t *)&a->gate_timer))
				finish(a, DR_ECANCELED, -1, "",
				       "gate cancelled", NULL);
			break;
		}
		return;
	}
}

void
dr_exec_gate_answer(struct dr_exec *ex, size_t task_id, bool approved,
                    const char *who)
{
	struct attempt *a;
	char *m;

	for (a = ex->attempts; a; a = a->next) {
		if (a->t->id != task_id || a->kind != AT_GATE)
			continue;
		m = dr_xasprintf("%s by %s", approved ? "approved" : "refused",
		                 who ? who : "operator");
		finish(a, approved ? 0 : DR_EREFUSED, approved ? 0 : 1, "", m,
		       NULL);
		free(m);
		return;
	}
}

void
dr_exec_executor(struct dr_exec *ex, struct dr_executor *out)
{
	out->start = ex_start;
	out->cancel = ex_cancel;
	out->impl = ex;
}

static int
read_file(const char *path, char **data, size_t *len)
{
	FILE *f = fopen(path, "r");
	struct dr_buf b;
	char chunk[8192];
	size_t n;

	if (f == NULL)
		return DR_EIO;
	dr_buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		dr_buf_append(&b, chunk, n);
	fclose(f);
	*len = b.len;
	*data = dr_buf_steal(&b);
	return 0;
}

int
dr_exec_new(const struct dr_exec_opts *o, struct dr_exec **out)
{
	const struct dr_graph *g = o->graph;
	const struct dr_plan *p = g->plan;
	struct dr_exec *ex = dr_xcalloc(1, sizeof(*ex));
	size_t i, j, k = 0, n = 0;

	ex->o = *o;
	for (i = 0; i < p->nsites; i++)
		n += p->sites[i].nhosts;
	ex->pools = dr_xcalloc(n + 1, sizeof(struct pool));
	for (i = 0; i < p->nsites; i++)
		for (j = 0; j < p->sites[i].nhosts; j++)
			ex->pools[k++].host = &p->sites[i].hosts[j];
	ex->npools = n;
	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		const struct dr_host *hs[2] = {NULL, NULL};
		if (t->step->action == DR_ACT_RUN ||
		    t->step->action == DR_ACT_SCRIPT ||
		    t->step->action == DR_ACT_COPY)
			hs[0] = t->host;
		if (t->step->action == DR_ACT_COPY)
			hs[1] = t->src_host;
		for (j = 0; j < 2; j++) {
			struct pool *pl = hs[j] ? pool_of(ex, hs[j]) : NULL;
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
		           : dr_xasprintf("%s/%s", p->dir, st->script);
		if (read_file(path, &ex->scripts[i], &ex->script_len[i]) != 0) {
			fprintf(stderr, "drover: %s: cannot read script: %s\n",
			        path, strerror(errno));
			free(path);
			for (j = 0; j < i; j++)
				free(ex->scripts[j]);
			free(ex->scripts);
			free(ex->script_len);
			for (j = 0; j < ex->npools; j++)
				free(ex->pools[j].tasks);
			free(ex->pools);
			free(ex->secret_values);
			free(ex->secret_names);
			free(ex);
			return DR_EIO;
		}
		free(path);
	}
	*out = ex;
	return 0;
}

void
dr_exec_close(struct dr_exec *ex, void (*cb)(void *arg), void *arg)
{
	size_t i;

	for (i = 0; i < ex->o.graph->ntasks; i++)
		free(ex->scripts[i]);
	ex->close_requested = true;
	ex->close_cb = cb;
	ex->close_arg = arg;
	ex->closing++;
	for (i = 0; i < ex->npools; i++)
		while (ex->pools[i].conns)
			conn_drop(ex, ex->pools[i].conns);
	conn_closed(ex);
}

static int
secret_value(const struct dr_secret *s, char **out)
{
	char *v = NULL;
	size_t len = 0;

	if (s->env) {
		const char *e = getenv(s->env);
		if (e == NULL || *e == '\0') {
			fprintf(stderr,
			        "drover: secret \"%s\": environment variable "
			        "%s is not set; export it before the run\n",
			        s->name, s->env);
			return DR_EINVAL;
		}
		v = dr_xstrdup(e);
		len = strlen(v);
	} else {
		struct stat sb;
		int fd = open(s->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
		if (fd < 0 || fstat(fd, &sb) != 0) {
			fprintf(stderr, "drover: secret \"%s\": %s: %s\n",
			        s->name, s->file, strerror(errno));
			if (fd >= 0)
				close(fd);
			return DR_EINVAL;
		}
		close(fd);
		if ((sb.st_mode & 0077) != 0 || sb.st_uid != geteuid()) {
			fprintf(stderr,
			        "drover: secret \"%s\": %s must be owned by "
			        "you with mode 0600 or stricter (chmod 600 "
			        "%s)\n",
			        s->name, s->file, s->file);
			return DR_EINVAL;
		}
		if (read_file(s->file, &v, &len) != 0) {
			fprintf(stderr, "drover: secret \"%s\": %s: %s\n",
			        s->name, s->file, strerror(errno));
			return DR_EINVAL;
		}
		while (len > 0 && (v[len - 1] == '\n' || v[len - 1] == '\r'))
			v[--len] = '\0';
	}
	if (memchr(v, '\n', len) != NULL || strlen(v) != len) {
		fprintf(stderr,
		        "drover: secret \"%s\": holds a newline or a NUL "
		        "byte; secrets are passed one per line\n",
		        s->name);
		memset(v, 0, len);
		free(v);
		return DR_EINVAL;
	}
	*out = v;
	return 0;
}

int
dr_secrets_resolve(const struct dr_graph *g, struct dr_secret_value **out,
                   size_t *n)
{
	const struct dr_plan *p = g->plan;
	struct dr_secret_value *v;
	bool *used = dr_xcalloc(p->nsecrets + 1, sizeof(bool));
	size_t i, j, k = 0;
	int r = 0;

	for (i = 0; i < g->ntasks; i++)
		for (j = 0; j < g->tasks[i].nsecrets; j++)
			for (k = 0; k < p->nsecrets; k++)
				if (strcmp(p->secrets[k].name,
				           g->tasks[i].secret_names[j]) == 0)
					used[k] = true;
	v = dr_xcalloc(p->nsecrets + 1, sizeof(*v));
	*n = 0;
	for (k = 0; k < p->nsecrets; k++) {
		if (!used[k])
			continue;
		v[*n].name = p->secrets[k].name;
		if (secret_value(&p->secrets[k], &v[*n].value) != 0) {
			r = DR_EINVAL;
			continue;
		}
		(*n)++;
	}
	free(used);
	if (r != 0) {
		dr_secrets_free(v, *n);
		*n = 0;
		return r;
	}
	*out = v;
	return 0;
}

void
dr_secrets_free(struct dr_secret_value *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		memset(v[i].value, 0, strlen(v[i].value));
		free(v[i].value);
	}
	free(v);
}
