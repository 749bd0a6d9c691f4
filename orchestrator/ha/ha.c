/*
 * ha.c: one active controller per plan and target over etcd: the leader's
 * lease, its keepalive timer and deadline (fencing on the monotonic
 * clock), the journal's replica (one compared txn per group commit), the
 * end of a run, and the standby that takes a run over when its leader's
 * lease expires. See ha.h for the keys.
 */
#include <inttypes.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/ha.h"
#include "drover/time.h"

#define PART_MAX (768u * 1024) /* raw bytes per key: under etcd's 1.5 MiB */
#define RETRY_MS 100

/* A batch waiting for its txn. */
struct repl {
	struct repl *next;
	char *name;
	uint64_t first_seq;
	char *buf;       /* a copy: the journal reuses its own */
	size_t len, off; /* off: bytes already in etcd (parts) */
	unsigned part;
	dr_journal_replica_done done;
	void *done_arg;
};

struct dr_ha {
	struct dr_etcd *etcd;
	char *prefix, *k_leader, *k_run;
	char *who;
	unsigned ttl_s;
	uint64_t ttl_ms, margin_ms, interval_ms;
	unsigned timeout_ms; /* per request and member */
	bool quiet;
	/* Leadership. */
	char *run_id, *plan_sha256;
	int64_t lease;
	int64_t token;
	bool leader, lost;
	char *lost_why;
	char *why;            /* dr_ha_may_start's answer */
	uint64_t deadline_ms; /* mono: tasks may start until then */
	uint64_t renewed_ms;  /* mono: when the last good renewal was sent */
	char *renew_error;    /* the last failed renewal's reason */
	/* On the loop. */
	uv_loop_t *loop;
	uv_timer_t timer;
	bool timers_open;
	bool ka_inflight;
	uint64_t ka_sent_ms;
	dr_ha_lost_fn on_lost;
	void *lost_arg;
	struct lane {
		struct dr_ha *ha;
		struct repl *head, *tail;
		bool inflight;
		uv_timer_t retry;
	} lanes[2]; /* the journal's, the audit trail's */
	uint64_t repl_txns, repl_retries, repl_batches;
};

static void say(const struct dr_ha *ha, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
say(const struct dr_ha *ha, const char *fmt, ...)
{
	va_list ap;

	if (ha->quiet)
		return;
	va_start(ap, fmt);
	fputs("drover: ha: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	fflush(stderr);
}

int
dr_ha_parse_endpoints(char *s, struct dr_etcd_cfg *cfg, char **why)
{
	char *save = NULL, *tok;

	cfg->nendpoints = 0;
	for (tok = strtok_r(s, ",", &save); tok != NULL;
	     tok = strtok_r(NULL, ",", &save)) {
		if (strncmp(tok, "http://", 7) != 0 &&
		    strncmp(tok, "https://", 8) != 0) {
			*why = dr_xasprintf("--etcd: \"%s\" is not an http:// "
			                    "or https:// URL",
			                    tok);
			return -1;
		}
		if (cfg->nendpoints == DR_ETCD_MAX_ENDPOINTS) {
			*why = dr_xasprintf("--etcd: at most %d endpoints",
			                    DR_ETCD_MAX_ENDPOINTS);
			return -1;
		}
		cfg->endpoints[cfg->nendpoints++] = tok;
	}
	if (cfg->nendpoints == 0) {
		*why = dr_xstrdup("--etcd: give the cluster's client URLs, "
		                  "comma-separated");
		return -1;
	}
	return 0;
}

int
dr_ha_new(const struct dr_ha_opts *o, struct dr_ha **out)
{
	struct dr_ha *ha;
	char host[256] = "";
	int r;

	*out = NULL;
	if (o == NULL || o->plan_name == NULL || o->target == NULL)
		return DR_EINVAL;
	ha = dr_xcalloc(1, sizeof(*ha));
	if ((r = dr_etcd_new(&o->etcd, &ha->etcd)) != 0) {
		free(ha);
		return r;
	}
	ha->prefix = dr_xasprintf("/drover/%s/%s/", o->plan_name, o->target);
	ha->k_leader = dr_xasprintf("%sleader", ha->prefix);
	ha->k_run = dr_xasprintf("%srun", ha->prefix);
	gethostname(host, sizeof(host) - 1);
	ha->who = dr_xasprintf("%s pid %ld", host, (long)getpid());
	ha->ttl_s = o->ttl_s ? o->ttl_s : 10;
	ha->ttl_ms = (uint64_t)ha->ttl_s * 1000;
	ha->margin_ms = ha->ttl_ms / 4 > 300 ? ha->ttl_ms / 4 : 300;
	ha->interval_ms = ha->ttl_ms / 4 > 100 ? ha->ttl_ms / 4 : 100;
	ha->timeout_ms =
	    (unsigned)(ha->ttl_ms / 3 > 500 ? ha->ttl_ms / 3 : 500);
	if (ha->timeout_ms > 3000)
		ha->timeout_ms = 3000;
	ha->quiet = o->quiet;
	ha->lanes[0].ha = ha->lanes[1].ha = ha;
	*out = ha;
	return 0;
}

void
dr_ha_free(struct dr_ha *ha)
{
	if (ha == NULL)
		return;
	dr_etcd_free(ha->etcd);
	free(ha->prefix);
	free(ha->k_leader);
	free(ha->k_run);
	free(ha->who);
	free(ha->run_id);
	free(ha->plan_sha256);
	free(ha->lost_why);
	free(ha->why);
	free(ha->renew_error);
	free(ha);
}

int64_t
dr_ha_token(const struct dr_ha *ha)
{
	return ha && ha->leader ? ha->token : 0;
}

bool
dr_ha_lost(const struct dr_ha *ha, const char **why)
{
	if (why)
		*why = ha && ha->lost ? ha->lost_why : NULL;
	return ha && ha->lost;
}

void
dr_ha_stats(const struct dr_ha *ha, struct dr_etcd_stats *s,
            uint64_t *repl_txns, uint64_t *batches, uint64_t *retries)
{
	dr_etcd_stats(ha ? ha->etcd : NULL, s);
	if (repl_txns)
		*repl_txns = ha ? ha->repl_txns : 0;
	if (batches)
		*batches = ha ? ha->repl_batches : 0;
	if (retries)
		*retries = ha ? ha->repl_retries : 0;
}

/* ---- losing it ---- */

static void fail_queue(struct dr_ha *ha);

static void lose(struct dr_ha *ha, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
lose(struct dr_ha *ha, const char *fmt, ...)
{
	va_list ap;

	if (ha->lost)
		return;
	va_start(ap, fmt);
	ha->lost_why = dr_xvasprintf(fmt, ap);
	va_end(ap);
	ha->lost = true;
	fail_queue(ha);
	if (ha->on_lost)
		ha->on_lost(ha->lost_arg, ha->lost_why);
}

bool
dr_ha_may_start(struct dr_ha *ha, const char **why)
{
	uint64_t now = dr_now_mono_ms();

	if (ha->lost) {
		*why = ha->lost_why;
		return false;
	}
	if (!ha->leader) {
		*why = "this controller is not the leader";
		return false;
	}
	if (now >= ha->deadline_ms) {
		lose(ha,
		     "lost the leadership of run %s: the lease could not be "
		     "renewed in time (last renewal sent %" PRIu64
		     " ms ago, TTL %u s, safety margin %" PRIu64 " ms%s%s)",
		     ha->run_id ? ha->run_id : "?", now - ha->renewed_ms,
		     ha->ttl_s, ha->margin_ms, ha->renew_error ? "; " : "",
		     ha->renew_error ? ha->renew_error : "");
		*why = ha->lost_why;
		return false;
	}
	*why = NULL;
	return true;
}

/* ---- leader ---- */

static char *
leader_value(const struct dr_ha *ha, const char *run_id)
{
	json_t *o = json_pack("{s:s, s:s, s:I}", "run", run_id, "controller",
	                      ha->who, "pid", (json_int_t)getpid());
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	return s;
}

static char *
run_value(const struct dr_ha *ha, const char *state, int exit_status)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:s}", "run", ha->run_id, "state", state,
	              "plan_sha256", ha->plan_sha256 ? ha->plan_sha256 : "",
	              "controller", ha->who);
	char *s;

	if (exit_status >= 0)
		json_object_set_new(o, "exit", json_integer(exit_status));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	return s;
}

/* One key's kv (range); 0 with k->n 0 or 1, or DR_E* with *why. */
static int
get_key(struct dr_ha *ha, uv_loop_t *loop, const char *key, bool prefix,
        struct dr_etcd_kvs *k, char **why)
{
	char *body = dr_etcd_range_body(key, prefix), *ans = NULL;
	int r = dr_etcd_call(ha->etcd, loop, "/v3/kv/range", body,
	                     ha->timeout_ms, &ans, why);

	free(body);
	memset(k, 0, sizeof(*k));
	if (r == 0 && dr_etcd_parse_range(ans, k, why) != 0)
		r = DR_EPROTO;
	free(ans);
	return r;
}

static int
grant(struct dr_ha *ha, uv_loop_t *loop, char **why)
{
	char *body = dr_etcd_grant_body(ha->ttl_s), *ans = NULL;
	uint64_t sent = dr_now_mono_ms();
	int64_t ttl = 0;
	int r = dr_etcd_call(ha->etcd, loop, "/v3/lease/grant", body,
	                     ha->timeout_ms, &ans, why);

	free(body);
	if (r == 0 && dr_etcd_parse_grant(ans, &ha->lease, &ttl, why) != 0)
		r = DR_EPROTO;
	free(ans);
	if (r == 0) {
		ha->renewed_ms = sent;
		ha->deadline_ms = sent + (uint64_t)ttl * 1000 - ha->margin_ms;
	}
	return r;
}

static void
lease_revoke(struct dr_ha *ha, uv_loop_t *loop)
{
	char *body, *ans = NULL, *why = NULL;

	if (ha->lease == 0 || loop == NULL)
		return;
	body = dr_etcd_lease_body(ha->lease);
	dr_etcd_call(ha->etcd, loop, "/v3/lease/revoke", body, ha->timeout_ms,
	             &ans, &why);
	free(body);
	free(ans);
	free(why);
	ha->lease = 0;
}

/* Who holds the leader key, for a message. */
static char *
holder(struct dr_ha *ha, uv_loop_t *loop)
{
	struct dr_etcd_kvs k;
	char *why = NULL, *s;

	if (get_key(ha, loop, ha->k_leader, false, &k, &why) != 0 || k.n == 0) {
		free(why);
		dr_etcd_kvs_free(&k);
		return dr_xstrdup("another controller");
	}
	s = dr_xasprintf("%s (fencing token %" PRId64 ")", k.kv[0].value,
	                 k.kv[0].create_revision);
	dr_etcd_kvs_free(&k);
	return s;
}

int
dr_ha_lead(struct dr_ha *ha, uv_loop_t *loop, const char *run_id,
           const char *plan_sha256, char **why)
{
	struct dr_etcd_cmp cmp = {ha->k_leader, DR_ETCD_CREATE, 0};
	struct dr_etcd_op ops[2];
	struct dr_etcd_kvs k;
	char *lv, *rv, *body, *ans = NULL;
	bool ok = false;
	int64_t rev = 0;
	int r;

	*why = NULL;
	free(ha->run_id);
	free(ha->plan_sha256);
	ha->run_id = dr_xstrdup(run_id);
	ha->plan_sha256 = dr_xstrdup(plan_sha256 ? plan_sha256 : "");
	if (get_key(ha, loop, ha->k_run, false, &k, why) == 0 && k.n == 1 &&
	    strstr(k.kv[0].value, "\"state\":\"running\"") != NULL &&
	    strstr(k.kv[0].value, run_id) == NULL) /* not this one resumed */
		fprintf(stderr,
		        "drover: etcd says an earlier run was left unfinished "
		        "(%s); this new run replaces it (drover standby would "
		        "have continued it)\n",
		        k.kv[0].value);
	dr_etcd_kvs_free(&k);
	free(*why);
	*why = NULL;
	if ((r = grant(ha, loop, why)) != 0)
		return r;
	lv = leader_value(ha, run_id);
	rv = run_value(ha, "running", -1);
	ops[0] =
	    (struct dr_etcd_op){ha->k_leader, lv, strlen(lv), ha->lease, false};
	ops[1] = (struct dr_etcd_op){ha->k_run, rv, strlen(rv), 0, false};
	body = dr_etcd_txn_body(&cmp, 1, ops, 2);
	r = dr_etcd_call(ha->etcd, loop, "/v3/kv/txn", body, ha->timeout_ms,
	                 &ans, why);
	if (r == 0 && dr_etcd_parse_txn(ans, &ok, &rev, why) != 0)
		r = DR_EPROTO;
	free(body);
	free(ans);
	free(lv);
	free(rv);
	if (r == 0 && !ok) {
		/* Our own key from a try whose answer was lost? */
		if (get_key(ha, loop, ha->k_leader, false, &k, why) == 0 &&
		    k.n == 1 && k.kv[0].lease == ha->lease) {
			rev = k.kv[0].create_revision;
			ok = true;
		}
		dr_etcd_kvs_free(&k);
		free(*why);
		*why = NULL;
		if (!ok) {
			char *h = holder(ha, loop);
			*why = dr_xasprintf("etcd: %s leads %s already; this "
			                    "controller can run as its standby "
			                    "(drover standby)",
			                    h, ha->prefix);
			free(h);
			r = DR_ELOCKED;
		}
	}
	if (r != 0) {
		lease_revoke(ha, loop);
		return r;
	}
	ha->leader = true;
	ha->token = rev;
	return 0;
}

/* ---- keepalive ---- */

static void
ka_answer(int status, const char *body, const char *why, void *arg)
{
	struct dr_ha *ha = arg;
	int64_t ttl = 0;
	char *perr = NULL;

	ha->ka_inflight = false;
	if (ha->loop == NULL || ha->lost || !ha->leader)
		return;
	if (status == 0 && dr_etcd_parse_keepalive(body, &ttl, &perr) == 0) {
		if (ttl == 0) {
			lose(ha,
			     "lost the leadership of run %s: etcd says its "
			     "lease has expired; another controller may lead "
			     "now",
			     ha->run_id ? ha->run_id : "?");
			return;
		}
		ha->renewed_ms = ha->ka_sent_ms;
		ha->deadline_ms =
		    ha->ka_sent_ms + (uint64_t)ttl * 1000 - ha->margin_ms;
		free(ha->renew_error);
		ha->renew_error = NULL;
		return;
	}
	free(ha->renew_error);
	ha->renew_error = dr_xasprintf("renewal: %s", perr  ? perr
	                                              : why ? why
	                                                    : "?");
	free(perr);
}

static void
ka_send(struct dr_ha *ha)
{
	char *body = dr_etcd_lease_body(ha->lease);

	ha->ka_sent_ms = dr_now_mono_ms();
	if (dr_etcd_post(ha->etcd, ha->loop, "/v3/lease/keepalive", body,
	                 ha->timeout_ms, ka_answer, ha) == 0)
		ha->ka_inflight = true;
	free(body);
}

static void
ka_tick(uv_timer_t *t)
{
	struct dr_ha *ha = t->data;
	const char *why;

	if (ha->lost || !ha->leader)
		return;
	/* Woken after a pause (SIGSTOP) past the deadline: nothing more. */
	if (!dr_ha_may_start(ha, &why))
		return;
	if (!ha->ka_inflight)
		ka_send(ha);
}

int
dr_ha_attach(struct dr_ha *ha, uv_loop_t *loop, dr_ha_lost_fn lost, void *arg,
             char **why)
{
	char *body, *ans = NULL, *perr = NULL;
	uint64_t sent = dr_now_mono_ms();
	int64_t ttl = 0;
	int r;

	*why = NULL;
	if (!ha->leader || ha->lost) {
		*why =
		    dr_xstrdup(ha->lost ? ha->lost_why
		                        : "this controller is not the leader");
		return DR_EIO;
	}
	body = dr_etcd_lease_body(ha->lease);
	r = dr_etcd_call(ha->etcd, loop, "/v3/lease/keepalive", body,
	                 ha->timeout_ms, &ans, why);
	free(body);
	if (r == 0 && dr_etcd_parse_keepalive(ans, &ttl, &perr) != 0) {
		*why = perr;
		r = DR_EPROTO;
	}
	free(ans);
	if (r == 0 && ttl == 0) {
		*why = dr_xasprintf("the lease of run %s has expired already",
		                    ha->run_id);
		r = DR_ETIMEDOUT;
	}
	if (r != 0)
		return r;
	ha->renewed_ms = sent;
	ha->deadline_ms = sent + (uint64_t)ttl * 1000 - ha->margin_ms;
	ha->loop = loop;
	ha->on_lost = lost;
	ha->lost_arg = arg;
	uv_timer_init(loop, &ha->timer);
	ha->timer.data = ha;
	for (int i = 0; i < 2; i++) {
		uv_timer_init(loop, &ha->lanes[i].retry);
		ha->lanes[i].retry.data = &ha->lanes[i];
		uv_unref((uv_handle_t *)&ha->lanes[i].retry);
	}
	ha->timers_open = true;
	uv_timer_start(&ha->timer, ka_tick, ha->interval_ms, ha->interval_ms);
	/* They do not keep the run's loop alive: the run ends it. */
	uv_unref((uv_handle_t *)&ha->timer);
	return 0;
}

static void
timer_closed(uv_handle_t *h)
{
	(void)h;
}

void
dr_ha_detach(struct dr_ha *ha)
{
	if (ha->timers_open) {
		uv_close((uv_handle_t *)&ha->timer, timer_closed);
		uv_close((uv_handle_t *)&ha->lanes[0].retry, timer_closed);
		uv_close((uv_handle_t *)&ha->lanes[1].retry, timer_closed);
		ha->timers_open = false;
	}
	ha->on_lost = NULL;
	fail_queue(ha);
	ha->loop = NULL;
}

/* ---- replication ---- */

/*
 * One lane per file (the journal, the audit trail): a file's batches go
 * one at a time, in order; the two files' txns may be in flight together.
 */
static struct lane *
lane_of(struct dr_ha *ha, const char *name)
{
	return &ha->lanes[strcmp(name, "journal") == 0 ? 0 : 1];
}

static void repl_send(struct lane *l);

static void
repl_pop(struct lane *l, int status, const char *why)
{
	struct repl *q = l->head;

	l->head = q->next;
	if (l->head == NULL)
		l->tail = NULL;
	q->done(q->done_arg, status, why);
	free(q->name);
	free(q->buf);
	free(q);
}

static void
fail_lane(struct lane *l)
{
	struct dr_ha *ha = l->ha;

	while (l->head && !l->inflight)
		repl_pop(l, DR_EIO,
		         ha->lost_why ? ha->lost_why
		                      : "the controller gave up leadership");
}

static void
fail_queue(struct dr_ha *ha)
{
	fail_lane(&ha->lanes[0]);
	fail_lane(&ha->lanes[1]);
}

static void
retry_cb(uv_timer_t *t)
{
	repl_send(t->data);
}

static void
repl_answer(int status, const char *body, const char *why, void *arg)
{
	struct lane *l = arg;
	struct dr_ha *ha = l->ha;
	struct repl *q = l->head;
	bool ok = false;
	char *perr = NULL;
	const char *mwhy;

	l->inflight = false;
	if (q == NULL)
		return;
	if (ha->lost) {
		fail_lane(l);
		return;
	}
	if (status == 0 && dr_etcd_parse_txn(body, &ok, NULL, &perr) == 0) {
		if (!ok) {
			lose(ha,
			     "lost the leadership of run %s: etcd refused its "
			     "journal (the leader key is gone or another "
			     "controller's: its lease expired)",
			     ha->run_id ? ha->run_id : "?");
			return;
		}
		q->off +=
		    q->len - q->off > PART_MAX ? PART_MAX : q->len - q->off;
		q->part++;
		if (q->off < q->len) {
			repl_send(l);
			return;
		}
		repl_pop(l, 0, NULL);
		if (l->head)
			repl_send(l);
		return;
	}
	/* Unknown outcome: the put is idempotent, the compare the same. */
	ha->repl_retries++;
	if (dr_trace_on())
		fprintf(stderr, "trace: ha: txn of %s/%" PRIu64 " again: %s\n",
		        q->name, q->first_seq,
		        perr  ? perr
		        : why ? why
		              : "?");
	if (dr_ha_may_start(ha, &mwhy)) {
		if (ha->timers_open)
			uv_timer_start(&l->retry, retry_cb, RETRY_MS, 0);
	} else {
		free(ha->lost_why); /* say what etcd said too */
		ha->lost_why =
		    dr_xasprintf("%s; etcd: %s", mwhy, perr ? perr : why);
		fail_queue(ha);
	}
	free(perr);
}

static void
repl_send(struct lane *l)
{
	struct dr_ha *ha = l->ha;
	struct repl *q = l->head;
	struct dr_etcd_cmp cmp = {ha->k_leader, DR_ETCD_CREATE, ha->token};
	struct dr_etcd_op op = {0};
	char *key, *body;
	size_t n;
	const char *why;

	if (q == NULL || l->inflight)
		return;
	if (!dr_ha_may_start(ha, &why)) {
		fail_queue(ha);
		return;
	}
	n = q->len - q->off > PART_MAX ? PART_MAX : q->len - q->off;
	key = dr_xasprintf("%slog/%s/%s/%020" PRIu64 ".%04u", ha->prefix,
	                   ha->run_id, q->name, q->first_seq, q->part);
	op.key = key;
	op.value = q->buf + q->off;
	op.len = n;
	body = dr_etcd_txn_body(&cmp, 1, &op, 1);
	if (dr_etcd_post(ha->etcd, ha->loop, "/v3/kv/txn", body, ha->timeout_ms,
	                 repl_answer, l) == 0) {
		l->inflight = true;
		ha->repl_txns++;
	} else {
		lose(ha, "cannot queue an etcd request");
	}
	free(body);
	free(key);
}

void
dr_ha_replicate(void *arg, const char *name, uint64_t first_seq,
                const char *buf, size_t len, dr_journal_replica_done done,
                void *done_arg)
{
	struct dr_ha *ha = arg;
	struct lane *l = lane_of(ha, name);
	struct repl *q = dr_xcalloc(1, sizeof(*q));

	ha->repl_batches++;
	q->name = dr_xstrdup(name);
	q->first_seq = first_seq;
	q->buf = dr_xmalloc(len + 1);
	memcpy(q->buf, buf, len);
	q->len = len;
	q->done = done;
	q->done_arg = done_arg;
	if (l->tail)
		l->tail->next = q;
	else
		l->head = q;
	l->tail = q;
	if (ha->lost || ha->loop == NULL) {
		fail_lane(l);
		return;
	}
	repl_send(l);
}

/* ---- the end ---- */

int
dr_ha_end(struct dr_ha *ha, int exit_status, char **why)
{
	struct dr_etcd_cmp cmp = {ha->k_leader, DR_ETCD_CREATE, ha->token};
	struct dr_etcd_op ops[2];
	uv_loop_t *loop = ha->loop;
	char *rv, *body, *ans = NULL;
	bool ok = false;
	int r;

	*why = NULL;
	if (loop == NULL || !ha->leader || ha->lost) {
		dr_ha_detach(ha);
		ha->loop = NULL;
		return 0;
	}
	rv = run_value(ha, "ended", exit_status);
	ops[0] = (struct dr_etcd_op){ha->k_run, rv, strlen(rv), 0, false};
	ops[1] = (struct dr_etcd_op){ha->k_leader, NULL, 0, 0, true};
	body = dr_etcd_txn_body(&cmp, 1, ops, 2);
	r = dr_etcd_call(ha->etcd, loop, "/v3/kv/txn", body, ha->timeout_ms,
	                 &ans, why);
	if (r == 0 && dr_etcd_parse_txn(ans, &ok, NULL, why) != 0)
		r = DR_EPROTO;
	if (r == 0 && !ok) {
		*why = dr_xasprintf("etcd refused the end of run %s: the "
		                    "leader key is no longer this "
		                    "controller's",
		                    ha->run_id);
		r = DR_EREFUSED;
	}
	free(body);
	free(ans);
	free(rv);
	lease_revoke(ha, loop);
	ha->leader = false;
	dr_ha_detach(ha);
	ha->loop = NULL;
	return r;
}

void
dr_ha_release(struct dr_ha *ha, uv_loop_t *loop)
{
	if (ha == NULL)
		return;
	if (ha->loop)
		loop = ha->loop;
	if (!ha->lost)
		lease_revoke(ha, loop);
	ha->leader = false;
	dr_ha_detach(ha);
	ha->loop = NULL;
}

/* ---- standby ---- */

void
dr_ha_takeover_free(struct dr_ha_takeover *t)
{
	free(t->run_id);
	free(t->plan_sha256);
	free(t->journal);
	free(t->audit);
	memset(t, 0, sizeof(*t));
}

static void
wake(uv_timer_t *t)
{
	*(bool *)t->data = true;
}

static void
sleep_on(uv_loop_t *loop, uint64_t ms)
{
	uv_timer_t t;
	bool done = false;

	uv_timer_init(loop, &t);
	t.data = &done;
	uv_timer_start(&t, wake, ms, 0);
	while (!done)
		uv_run(loop, UV_RUN_ONCE);
	uv_close((uv_handle_t *)&t, timer_closed);
	uv_run(loop, UV_RUN_NOWAIT);
}

/* The run key's fields; false if it is not one. */
struct runkey {
	char *run, *state, *sha;
	int exit_status;
};

static bool
parse_run(const char *v, struct runkey *rk)
{
	json_t *o = json_loads(v, 0, NULL), *e;
	const char *run = NULL, *state = NULL, *sha = "";

	memset(rk, 0, sizeof(*rk));
	if (o == NULL || json_unpack(o, "{s:s, s:s, s?s}", "run", &run, "state",
	                             &state, "plan_sha256", &sha) != 0) {
		json_decref(o);
		return false;
	}
	rk->run = dr_xstrdup(run);
	rk->state = dr_xstrdup(state);
	rk->sha = dr_xstrdup(sha);
	e = json_object_get(o, "exit");
	rk->exit_status = json_is_integer(e) ? (int)json_integer_value(e) : 1;
	json_decref(o);
	return true;
}

static void
runkey_free(struct runkey *rk)
{
	free(rk->run);
	free(rk->state);
	free(rk->sha);
	memset(rk, 0, sizeof(*rk));
}

/* The bytes of one replicated file of run: its keys' values in order. */
int
dr_ha_fetch(struct dr_ha *ha, uv_loop_t *loop, const char *run,
            const char *name, char **out, size_t *len, char **why)
{
	char *pfx = dr_xasprintf("%slog/%s/%s/", ha->prefix, run, name);
	struct dr_etcd_kvs k;
	struct dr_buf b;
	size_t i;
	int r = get_key(ha, loop, pfx, true, &k, why);

	free(pfx);
	if (r != 0)
		return r;
	dr_buf_init(&b, 0);
	for (i = 0; i < k.n; i++)
		dr_buf_append(&b, k.kv[i].value, k.kv[i].len);
	*len = b.len;
	*out = b.len ? dr_buf_steal(&b) : dr_xstrdup("");
	dr_buf_free(&b);
	dr_etcd_kvs_free(&k);
	return 0;
}

/* Tries to take over run rk (its run key at mod_revision run_mod). */
static int
take_over(struct dr_ha *ha, uv_loop_t *loop, const struct runkey *rk,
          int64_t run_mod, struct dr_ha_takeover *t, char **why)
{
	struct dr_etcd_cmp cmp[2] = {{ha->k_leader, DR_ETCD_CREATE, 0},
	                             {ha->k_run, DR_ETCD_MOD, run_mod}};
	struct dr_etcd_op op;
	char *lv, *body, *ans = NULL;
	bool ok = false;
	int64_t rev = 0;
	int r;

	if ((r = grant(ha, loop, why)) != 0)
		return r;
	lv = leader_value(ha, rk->run);
	op =
	    (struct dr_etcd_op){ha->k_leader, lv, strlen(lv), ha->lease, false};
	body = dr_etcd_txn_body(cmp, 2, &op, 1);
	r = dr_etcd_call(ha->etcd, loop, "/v3/kv/txn", body, ha->timeout_ms,
	                 &ans, why);
	if (r == 0 && dr_etcd_parse_txn(ans, &ok, &rev, why) != 0)
		r = DR_EPROTO;
	free(body);
	free(ans);
	free(lv);
	if (r == 0 && !ok)
		r = DR_ELOCKED; /* another standby was first, or it changed */
	if (r != 0) {
		lease_revoke(ha, loop);
		return r;
	}
	ha->leader = true;
	ha->token = rev;
	free(ha->run_id);
	free(ha->plan_sha256);
	ha->run_id = dr_xstrdup(rk->run);
	ha->plan_sha256 = dr_xstrdup(rk->sha);
	memset(t, 0, sizeof(*t));
	t->run_id = dr_xstrdup(rk->run);
	t->plan_sha256 = dr_xstrdup(rk->sha);
	if ((r = dr_ha_fetch(ha, loop, rk->run, "journal", &t->journal,
	                     &t->journal_len, why)) != 0 ||
	    (r = dr_ha_fetch(ha, loop, rk->run, "audit", &t->audit,
	                     &t->audit_len, why)) != 0) {
		dr_ha_takeover_free(t);
		lease_revoke(ha, loop);
		ha->leader = false;
		return r;
	}
	return 0;
}

int
dr_ha_standby(struct dr_ha *ha, uv_loop_t *loop, int *exit_status,
              struct dr_ha_takeover *t)
{
	char *ignore = NULL, *said_led = NULL, *why = NULL;
	bool first = true, said_err = false;
	uint64_t poll_ms = ha->ttl_ms / 8 > 100 ? ha->ttl_ms / 8 : 100;
	int rc = -1;

	if (loop == NULL || exit_status == NULL || t == NULL)
		return DR_EINVAL;
	say(ha, "standby for %s on etcd (lease TTL %u s)", ha->prefix,
	    ha->ttl_s);
	while (rc < 0) {
		struct dr_etcd_kvs lk = {0}, rk = {0};
		struct runkey run = {0};
		bool have_run;
		int r;

		free(why);
		why = NULL;
		r = get_key(ha, loop, ha->k_run, false, &rk, &why);
		if (r == 0)
			r = get_key(ha, loop, ha->k_leader, false, &lk, &why);
		if (r != 0) {
			if (!said_err)
				say(ha,
				    "etcd does not answer (%s); waiting: "
				    "without an etcd quorum nothing takes "
				    "over (an operator may run drover "
				    "failover --no-quorum --attest)",
				    why);
			said_err = true;
			goto next;
		}
		if (said_err)
			say(ha, "etcd answers again");
		said_err = false;
		have_run = rk.n == 1 && parse_run(rk.kv[0].value, &run);
		if (first) {
			first = false;
			if (have_run && strcmp(run.state, "running") != 0)
				ignore = dr_xstrdup(run.run);
			if (!have_run || ignore)
				say(ha, "no run is going on; waiting for one");
		}
		if (!have_run)
			goto next;
		if (strcmp(run.state, "running") == 0 && ignore) {
			free(ignore); /* ended before, resumed since */
			ignore = NULL;
		}
		if (strcmp(run.state, "running") != 0) {
			if (ignore == NULL || strcmp(ignore, run.run) != 0) {
				say(ha, "run %s ended (exit %d) under %s",
				    run.run, run.exit_status,
				    lk.n ? lk.kv[0].value : "its leader");
				*exit_status = run.exit_status;
				rc = 1;
			}
			goto next;
		}
		if (lk.n == 1) {
			if (said_led == NULL || strcmp(said_led, run.run)) {
				say(ha, "run %s is led by %s; waiting", run.run,
				    lk.kv[0].value);
				free(said_led);
				said_led = dr_xstrdup(run.run);
			}
			goto next;
		}
		say(ha,
		    "run %s has no leader (its lease expired): taking it "
		    "over",
		    run.run);
		free(why);
		why = NULL;
		r = take_over(ha, loop, &run, rk.kv[0].mod_revision, t, &why);
		if (r == 0) {
			say(ha, "took over run %s (fencing token %" PRId64 ")",
			    run.run, ha->token);
			rc = 0;
		} else {
			say(ha, "could not take run %s over: %s", run.run,
			    r == DR_ELOCKED ? "another controller was first"
			    : why           ? why
			                    : dr_strerror(r));
		}
	next:
		runkey_free(&run);
		dr_etcd_kvs_free(&lk);
		dr_etcd_kvs_free(&rk);
		if (rc < 0)
			sleep_on(loop, poll_ms);
	}
	free(why);
	free(ignore);
	free(said_led);
	return rc;
}

int
dr_ha_check_no_quorum(struct dr_ha *ha, uv_loop_t *loop, char **why)
{
	struct dr_etcd_kvs k;
	char *err = NULL;
	int r = get_key(ha, loop, ha->k_leader, false, &k, &err);

	*why = NULL;
	if (r != 0) {
		*why = err;
		return 0;
	}
	free(err);
	*why = dr_xasprintf(
	    "etcd answers (it has a quorum)%s%s: run with --etcd as the "
	    "leader, not --no-quorum",
	    k.n ? "; the leader key is held by " : "",
	    k.n ? k.kv[0].value : "");
	dr_etcd_kvs_free(&k);
	return DR_EREFUSED;
}
