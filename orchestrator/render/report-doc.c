/*
 * render.c: the run report in Markdown or one self-contained HTML file, read
 * from the report JSON only.
 *
 * The report is first copied into plain arrays (tasks, service instances,
 * timeline groups) with every field checked for its type, so that the
 * writers below never touch jansson and never trust the input. Every string
 * from the report goes through text(), attr() or pre(), which escape for the
 * format; numbers are formatted by us.
 *
 * Restore points: the header shows "incident_at", the tenant tables gain
 * "Data lost" and "RPO" columns when a service was restored from one, and
 * copies name the backup they used. "previous" (the last run of the plan
 * in the same mode) adds a comparison of recovery times per service.
 */
#include "drover/report-doc.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drover/common.h"
#include "drover/doc.h"

/* Timeline geometry, in SVG user units (px at 100%). */
#define SVG_W 1300.0
#define LBL_SVC_X 6.0
#define LBL_STEP_X 200.0
#define CHART_X 392.0
#define RIGHT_PAD 14.0
#define ROW_H 13.0
#define TIER_H 16.0
#define RTO_ROW_H 12.0
#define AXIS_H 16.0
#define ZONE_GAP 24.0
#define ZONE_W 170.0
#define PART_H 660.0 /* rows per SVG: one A4 landscape page */
#define SVC_CHARS 34
#define STEP_CHARS 33

/* Longest tail shown per task; the end of the output is what matters. */
#define TAIL_MAX 8192

struct rtask {
	size_t idx; /* position in tasks[] */
	const char *key, *service, *tenant, *step, *action, *site, *host;
	const char *src, *state, *message, *tail, *signal;
	const char *backup, *backup_at; /* restore-point copies only */
	int tier;
	long long attempts; /* -1 unknown */
	long long exit_status;
	bool has_exit;
	bool unreachable;
	int64_t t0, t1; /* ms since the run started; -1 unknown */
	size_t group;
};

struct rsvc {
	const char *service, *tenant, *recovered_at;
	int tier;
	int64_t rto_ms;      /* 0: no RTO */
	int64_t recovery_ms; /* -1 unknown */
	bool recovered;
	bool met;
	/* Restore points: only when the service was restored from one. */
	bool has_rp;
	const char *backup_at;
	int64_t loss_ms; /* data lost: incident - backup; -1 unknown */
	int64_t rpo_ms;  /* 0: no RPO */
	bool rpo_met;
};

/* A service instance of the previous run of the plan in the same mode. */
struct rprev {
	const char *service, *tenant;
	int64_t recovery_ms; /* -1: not recovered */
};

/* Recovery times closer than this are the same (times show tenths). */
#define SAME_MS 100

/* This run's recovery time against the previous run's. */
enum cmp {
	CMP_NEW,     /* not in the previous run */
	CMP_SAME,    /* within SAME_MS, or shown as the same time */
	CMP_FASTER,  /* recovered sooner */
	CMP_SLOWER,  /* recovered later */
	CMP_NOTREC,  /* not recovered in this run */
	CMP_RECNOW,  /* recovered now, not in the previous run */
	CMP_UNKNOWN, /* recovered, but a time is missing */
	CMP_N
};

/* A timeline group: one service instance (service, tenant) in one tier. */
struct group {
	const char *service, *tenant;
	int tier;
	size_t svc; /* index in services[], or SIZE_MAX */
	size_t order;
	int64_t first; /* earliest start, INT64_MAX when none started */
	size_t ntasks;
};

struct ctx {
	FILE *out;
	bool html;
	bool in_table; /* md: escaping a table cell */
	const char *run_id, *plan, *plan_file, *sha, *mode, *to, *state;
	const char *user, *host, *command, *started_at, *ended_at;
	const char *incident_at; /* restore points from before it */
	char *from;
	int64_t start_ms;    /* wall clock of the run start; 0 unknown */
	int64_t duration_ms; /* -1 unknown */
	int64_t span;        /* time axis: the run, at least 1 ms */
	bool tenths;         /* elapsed times carry tenths of a second */
	struct rtask *t;
	size_t nt;
	struct rsvc *s;
	size_t ns;
	struct group *g;
	size_t ng;
	size_t *order; /* tasks in timeline order */
	bool any_rp;   /* a service was restored from a restore point */
	/* "previous": the last run of the plan in the same mode */
	bool has_prev;
	const char *prev_run_id, *prev_state;
	int64_t prev_duration_ms; /* -1 unknown */
	struct rprev *p;
	size_t np;
};

/* ---- reading the JSON ------------------------------------------------- */

static const char *
jstr(const json_t *o, const char *k)
{
	const json_t *v = json_object_get(o, k);

	return json_is_string(v) ? json_string_value(v) : NULL;
}

static bool
jint(const json_t *o, const char *k, long long *out)
{
	const json_t *v = json_object_get(o, k);

	if (json_is_integer(v)) {
		*out = (long long)json_integer_value(v);
		return true;
	}
	if (json_is_real(v)) {
		*out = (long long)json_real_value(v);
		return true;
	}
	return false;
}

static bool
jbool(const json_t *o, const char *k, bool def)
{
	const json_t *v = json_object_get(o, k);

	return json_is_boolean(v) ? json_is_true(v) : def;
}

/* An RFC 3339 time as epoch ms; 0 if there is none. */
static int64_t
parse_time(const char *s)
{
	uint64_t ms;

	return dr_time_parse(s, &ms) == 0 ? (int64_t)ms : 0;
}

/* A task time as ms since the run started, or -1. */
static int64_t
task_time(const struct ctx *c, const json_t *o, const char *kms,
          const char *kstr)
{
	long long v = 0;
	int64_t w = 0;

	if (jint(o, kms, &v) && v > 0)
		w = (int64_t)v;
	else
		w = parse_time(jstr(o, kstr));
	if (w <= 0 || c->start_ms <= 0)
		return -1;
	return w > c->start_ms ? w - c->start_ms : 0;
}

static bool
same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static size_t
group_of(struct ctx *c, const char *service, const char *tenant, int tier,
         size_t *cap)
{
	size_t i;

	for (i = 0; i < c->ng; i++)
		if (c->g[i].tier == tier && same(c->g[i].service, service) &&
		    same(c->g[i].tenant, tenant))
			return i;
	dr_grow((void **)&c->g, cap, c->ng + 1, sizeof(*c->g));
	c->g[c->ng] = (struct group){.service = service,
	                             .tenant = tenant,
	                             .tier = tier,
	                             .svc = SIZE_MAX,
	                             .order = c->ng,
	                             .first = INT64_MAX};
	return c->ng++;
}

static int
group_cmp(const void *a, const void *b)
{
	const struct group *x = a, *y = b;

	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	if (x->first != y->first)
		return x->first < y->first ? -1 : 1;
	return x->order < y->order ? -1 : x->order > y->order;
}

struct ord {
	size_t group;
	int64_t t0; /* INT64_MAX: not started */
	size_t idx;
};

static int
ord_cmp(const void *a, const void *b)
{
	const struct ord *x = a, *y = b;

	if (x->group != y->group)
		return x->group < y->group ? -1 : 1;
	if (x->t0 != y->t0)
		return x->t0 < y->t0 ? -1 : 1;
	return x->idx < y->idx ? -1 : x->idx > y->idx;
}

static void
load_previous(struct ctx *c, const json_t *prev)
{
	const json_t *svcs = json_object_get(prev, "services");
	size_t i;
	long long n;

	if (!json_is_object(prev))
		return;
	c->has_prev = true;
	c->prev_run_id = jstr(prev, "run_id");
	c->prev_state = jstr(prev, "state");
	c->prev_duration_ms = jint(prev, "duration_ms", &n) && n >= 0 ? n : -1;
	c->np = json_is_array(svcs) ? json_array_size(svcs) : 0;
	c->p = dr_xcalloc(c->np + 1, sizeof(*c->p));
	for (i = 0; i < c->np; i++) {
		const json_t *o = json_array_get(svcs, i);
		struct rprev *p = &c->p[i];

		p->service = jstr(o, "service");
		p->tenant = jstr(o, "tenant");
		p->recovery_ms = jint(o, "recovery_ms", &n) && n >= 0 ? n : -1;
	}
}

static void
load(struct ctx *c, const json_t *rep)
{
	const json_t *tasks = json_object_get(rep, "tasks");
	const json_t *svcs = json_object_get(rep, "services");
	const json_t *from = json_object_get(rep, "from"), *v;
	struct dr_buf b;
	size_t i, gcap = 0, *remap;
	struct ord *ord;
	long long n;
	int64_t end = 0;

	c->run_id = jstr(rep, "run_id");
	c->plan = jstr(rep, "plan");
	c->plan_file = jstr(rep, "plan_file");
	c->sha = jstr(rep, "plan_sha256");
	c->mode = jstr(rep, "mode");
	c->to = jstr(rep, "to");
	c->state = jstr(rep, "state");
	c->user = jstr(rep, "user");
	c->host = jstr(rep, "host");
	c->command = jstr(rep, "command");
	c->started_at = jstr(rep, "started_at");
	c->ended_at = jstr(rep, "ended_at");
	c->incident_at = jstr(rep, "incident_at");
	dr_buf_init(&b, 0);
	if (json_is_array(from)) {
		json_array_foreach(from, i, v)
		{
			if (!json_is_string(v))
				continue;
			if (b.len)
				dr_buf_puts(&b, ", ");
			dr_buf_puts(&b, json_string_value(v));
		}
	} else if (json_is_string(from)) {
		dr_buf_puts(&b, json_string_value(from));
	}
	c->from = dr_buf_steal(&b);
	dr_buf_free(&b);

	c->start_ms = parse_time(c->started_at);
	c->nt = json_is_array(tasks) ? json_array_size(tasks) : 0;
	c->t = dr_xcalloc(c->nt + 1, sizeof(*c->t));
	if (c->start_ms <= 0) {
		/* No usable start: the earliest task start stands in. */
		for (i = 0; i < c->nt; i++) {
			const json_t *o = json_array_get(tasks, i);
			if (jint(o, "start_ms", &n) && n > 0 &&
			    (c->start_ms <= 0 || n < c->start_ms))
				c->start_ms = n;
		}
	}
	c->duration_ms = jint(rep, "duration_ms", &n) && n >= 0 ? n : -1;
	if (c->duration_ms < 0 && c->start_ms > 0 &&
	    parse_time(c->ended_at) >= c->start_ms)
		c->duration_ms = parse_time(c->ended_at) - c->start_ms;

	for (i = 0; i < c->nt; i++) {
		const json_t *o = json_array_get(tasks, i);
		struct rtask *t = &c->t[i];

		t->idx = i;
		t->key = jstr(o, "key");
		t->service = jstr(o, "service");
		t->tenant = jstr(o, "tenant");
		t->step = jstr(o, "step");
		t->action = jstr(o, "action");
		t->site = jstr(o, "site");
		t->host = jstr(o, "host");
		t->src = jstr(o, "source_host");
		t->state = jstr(o, "state");
		t->message = jstr(o, "message");
		t->tail = jstr(o, "tail");
		t->signal = jstr(o, "exit_signal");
		t->backup = jstr(o, "backup");
		t->backup_at = jstr(o, "backup_taken_at");
		t->tier = jint(o, "tier", &n) ? (int)n : 0;
		t->attempts = jint(o, "attempts", &n) ? n : -1;
		t->has_exit = jint(o, "exit_status", &t->exit_status);
		t->unreachable = jbool(o, "unreachable", false);
		t->t0 = task_time(c, o, "start_ms", "start");
		t->t1 = task_time(c, o, "end_ms", "end");
		if (t->t1 >= 0 && t->t0 > t->t1)
			t->t1 = t->t0;
		if (t->t1 > end)
			end = t->t1;
		if (t->t0 > end)
			end = t->t0;
	}
	if (c->duration_ms < 0 && c->start_ms > 0)
		c->duration_ms = end;
	c->span = c->duration_ms > end ? c->duration_ms : end;
	if (c->span <= 0)
		c->span = 1;
	c->tenths = c->span < 600000;

	c->ns = json_is_array(svcs) ? json_array_size(svcs) : 0;
	c->s = dr_xcalloc(c->ns + 1, sizeof(*c->s));
	for (i = 0; i < c->ns; i++) {
		const json_t *o = json_array_get(svcs, i);
		struct rsvc *s = &c->s[i];

		s->service = jstr(o, "service");
		s->tenant = jstr(o, "tenant");
		s->recovered_at = jstr(o, "recovered_at");
		s->tier = jint(o, "tier", &n) ? (int)n : 0;
		s->rto_ms = jint(o, "rto_ms", &n) && n > 0 ? n : 0;
		s->recovered = jbool(o, "recovered", false);
		s->recovery_ms = jint(o, "recovery_ms", &n) && n >= 0 ? n : -1;
		if (s->recovered && s->recovery_ms < 0 && c->start_ms > 0 &&
		    parse_time(s->recovered_at) > 0)
			s->recovery_ms =
			    parse_time(s->recovered_at) - c->start_ms;
		s->met = jbool(o, "rto_met",
		               s->recovered && (s->rto_ms == 0 ||
		                                (s->recovery_ms >= 0 &&
		                                 s->recovery_ms <= s->rto_ms)));
		if (!s->recovered)
			s->met = false;
		s->backup_at = jstr(o, "backup_taken_at");
		s->has_rp =
		    s->backup_at != NULL ||
		    json_is_number(json_object_get(o, "data_loss_ms")) ||
		    json_is_boolean(json_object_get(o, "rpo_met"));
		s->loss_ms = jint(o, "data_loss_ms", &n) && n >= 0 ? n : -1;
		s->rpo_ms = jint(o, "rpo_ms", &n) && n > 0 ? n : 0;
		s->rpo_met = jbool(o, "rpo_met",
		                   s->rpo_ms == 0 || (s->loss_ms >= 0 &&
		                                      s->loss_ms <= s->rpo_ms));
		if (s->has_rp)
			c->any_rp = true;
	}
	load_previous(c, json_object_get(rep, "previous"));

	/* Groups: service instances in services[] order, then strays. */
	for (i = 0; i < c->ns; i++) {
		size_t k = group_of(c, c->s[i].service, c->s[i].tenant,
		                    c->s[i].tier, &gcap);
		c->g[k].svc = i;
	}
	for (i = 0; i < c->nt; i++) {
		struct rtask *t = &c->t[i];
		size_t k = group_of(c, t->service, t->tenant, t->tier, &gcap);

		t->group = k;
		c->g[k].ntasks++;
		if (t->t0 >= 0 && t->t0 < c->g[k].first)
			c->g[k].first = t->t0;
	}
	/* Drop service instances without tasks, sort, and renumber. */
	for (i = 0; i < c->ng; i++)
		if (c->g[i].ntasks == 0)
			c->g[i].tier = INT32_MAX;
	if (c->ng > 0)
		qsort(c->g, c->ng, sizeof(*c->g), group_cmp);
	remap = dr_xcalloc(c->ng + 1, sizeof(*remap));
	for (i = 0; i < c->ng; i++)
		remap[c->g[i].order] = i;
	for (i = 0; i < c->nt; i++)
		c->t[i].group = remap[c->t[i].group];
	free(remap);
	while (c->ng > 0 && c->g[c->ng - 1].ntasks == 0)
		c->ng--;

	ord = dr_xcalloc(c->nt + 1, sizeof(*ord));
	for (i = 0; i < c->nt; i++)
		ord[i] = (struct ord){
		    c->t[i].group, c->t[i].t0 < 0 ? INT64_MAX : c->t[i].t0, i};
	qsort(ord, c->nt, sizeof(*ord), ord_cmp);
	c->order = dr_xcalloc(c->nt + 1, sizeof(*c->order));
	for (i = 0; i < c->nt; i++)
		c->order[i] = ord[i].idx;
	free(ord);
}

static void
unload(struct ctx *c)
{
	free(c->from);
	free(c->t);
	free(c->s);
	free(c->g);
	free(c->order);
	free(c->p);
}

/* ---- formatting values ------------------------------------------------ */

/* Elapsed time since the run start: "07:02.3", "1:02:03". */
static const char *
fmt_elapsed(const struct ctx *c, int64_t ms, char *buf, size_t len)
{
	long long s;

	if (c->tenths && c->span < 3600000 && ms >= 0)
		ms = (ms + 50) / 100 * 100;
	s = (long long)(ms / 1000);
	if (ms < 0)
		snprintf(buf, len, "-");
	else if (s >= 3600)
		snprintf(buf, len, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60,
		         s % 60);
	else if (c->tenths)
		snprintf(buf, len, "%02lld:%02lld.%lld", s / 60, s % 60,
		         (long long)(ms % 1000 / 100));
	else
		snprintf(buf, len, "%02lld:%02lld", s / 60, s % 60);
	return buf;
}

static const char *
fmt_dur(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		return snprintf(buf, len, "-"), buf;
	return dr_duration_fmt((uint64_t)ms, buf, len);
}

/* An RTO the way plans write it: "8h", "30m", "1h30m", "1d". */
static const char *
fmt_rto(int64_t ms, char *buf, size_t len)
{
	long long v = ms;

	if (v <= 0)
		snprintf(buf, len, "-");
	else if (v % 86400000 == 0)
		snprintf(buf, len, "%lldd", v / 86400000);
	else if (v % 3600000 == 0)
		snprintf(buf, len, "%lldh", v / 3600000);
	else if (v % 60000 == 0 && v > 3600000)
		snprintf(buf, len, "%lldh%02lldm", v / 3600000, v / 60000 % 60);
	else if (v % 60000 == 0)
		snprintf(buf, len, "%lldm", v / 60000);
	else if (v % 1000 == 0 && v < 60000)
		snprintf(buf, len, "%llds", v / 1000);
	else
		dr_duration_fmt((uint64_t)v, buf, len);
	return buf;
}

/* A long span, for data lost: "1d 12h", "5h 30m", "12m 05s", "4.2s". */
static const char *
fmt_span(int64_t ms, char *buf, size_t len)
{
	long long v = ms, d = v / 86400000, h = v / 3600000 % 24,
	          m = v / 60000 % 60, s = v / 1000 % 60;

	if (v < 0)
		snprintf(buf, len, "-");
	else if (d && m)
		snprintf(buf, len, "%lldd %lldh %02lldm", d, h, m);
	else if (d && h)
		snprintf(buf, len, "%lldd %lldh", d, h);
	else if (d)
		snprintf(buf, len, "%lldd", d);
	else if (h && m)
		snprintf(buf, len, "%lldh %02lldm", h, m);
	else if (h)
		snprintf(buf, len, "%lldh", h);
	else if (m && s)
		snprintf(buf, len, "%lldm %02llds", m, s);
	else if (m)
		snprintf(buf, len, "%lldm", m);
	else
		dr_duration_fmt((uint64_t)v, buf, len);
	return buf;
}

/* "2026-11-22T10:43:00.176Z" as "2026-11-22 10:43:00 UTC". */
static const char *
fmt_wall(const char *s, bool time_only, char *buf, size_t len)
{
	int64_t ms = parse_time(s);
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms <= 0 || gmtime_r(&t, &tm) == NULL)
		return s ? s : "-";
	strftime(buf, len, time_only ? "%H:%M:%S UTC" : "%Y-%m-%d %H:%M:%S UTC",
	         &tm);
	return buf;
}

static const char *
outcome(const struct ctx *c, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "%s", c->state ? c->state : "unknown");
	for (i = 0; buf[i]; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
	return buf;
}

/* A CSS class suffix for a state: letters and dashes only. */
static const char *
state_class(const char *state)
{
	static const char *const known[] = {
	    "succeeded",     "failed",  "skipped", "cancelled",  "refused",
	    "indeterminate", "pending", "running", "retry-wait", "interrupted"};
	size_t i;

	for (i = 0; state && i < sizeof(known) / sizeof(known[0]); i++)
		if (strcmp(state, known[i]) == 0)
			return known[i];
	return "other";
}

static bool
is_failure(const struct rtask *t)
{
	return same(t->state, "failed") || same(t->state, "cancelled") ||
	       same(t->state, "indeterminate");
}

/* The previous run's instance of s, or NULL. */
static struct rprev *
prev_of(const struct ctx *c, const struct rsvc *s)
{
	size_t i;

	for (i = 0; i < c->np; i++)
		if (c->p[i].service && same(c->p[i].service, s->service) &&
		    same(c->p[i].tenant, s->tenant))
			return &c->p[i];
	return NULL;
}

static enum cmp
compare(const struct ctx *c, const struct rsvc *s, int64_t *delta)
{
	const struct rprev *p = prev_of(c, s);
	char a[32], b[32];

	*delta = 0;
	if (p == NULL)
		return CMP_NEW;
	if (!s->recovered)
		return CMP_NOTREC;
	if (p->recovery_ms < 0)
		return CMP_RECNOW;
	if (s->recovery_ms < 0)
		return CMP_UNKNOWN;
	/*
	 * Same within SAME_MS, or when both show as the same time: "slower
	 * by 50ms" is noise, and so is "faster by 0.4s" between two "1m00s".
	 */
	*delta = s->recovery_ms - p->recovery_ms;
	if ((*delta > -SAME_MS && *delta < SAME_MS) ||
	    strcmp(fmt_dur(s->recovery_ms, a, sizeof(a)),
	           fmt_dur(p->recovery_ms, b, sizeof(b))) == 0)
		return CMP_SAME;
	return *delta < 0 ? CMP_FASTER : CMP_SLOWER;
}

static void
count_cmp(const struct ctx *c, size_t k[CMP_N])
{
	size_t i;
	int64_t d;

	memset(k, 0, CMP_N * sizeof(*k));
	for (i = 0; i < c->ns; i++)
		k[compare(c, &c->s[i], &d)]++;
}

/* "drill" or "run": what the previous report is called. */
static const char *
prev_word(const struct ctx *c)
{
	return same(c->mode, "failover") ? "run" : "drill";
}

/* ---- escaping and primitive output ------------------------------------ */

/* Control characters that inline text writes as spaces: all of them. */
#define TEXT_SP (DR_MARKUP_SP_C0 | DR_MARKUP_SP_DEL)

static void
put(struct ctx *c, const char *s)
{
	fputs(s, c->out);
}

static void putf(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
putf(struct ctx *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(c->out, fmt, ap);
	va_end(ap);
}

/* Escaped inline text, the first n bytes of s. */
static void
text_bytes(struct ctx *c, const char *s, size_t n)
{
	if (c->html)
		dr_html_textn(c->out, s, n, TEXT_SP);
	else
		dr_md_textn(c->out, s, n, TEXT_SP | DR_MARKUP_MD_AMP);
}

/*
 * Escaped inline text, at most max code points (0: all; a cut string ends
 * with an ellipsis). Control characters become spaces.
 */
static void
text_n(struct ctx *c, const char *s, size_t max)
{
	size_t len, i, n = 0, cut = 0;

	if (s == NULL)
		return;
	len = strlen(s);
	/* n: the code points; cut: where code point max - 1 starts */
	for (i = 0; max && i < len; i++)
		if ((s[i] & 0xc0) != 0x80 && n++ == max - 1)
			cut = i;
	if (n <= max)
		cut = len;
	text_bytes(c, s, cut);
	if (cut < len)
		put(c, "\xe2\x80\xa6");
}

static void
text(struct ctx *c, const char *s)
{
	text_n(c, s, 0);
}

static void textf(struct ctx *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
textf(struct ctx *c, const char *fmt, ...)
{
	struct dr_buf b;
	va_list ap;

	dr_buf_init(&b, 0);
	va_start(ap, fmt);
	dr_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	text(c, b.data);
	dr_buf_free(&b);
}

/* HTML only: escaped text that keeps newlines and tabs (SVG <title>, <pre>). */
static void
text_lines(struct ctx *c, const char *s)
{
	dr_html_text(c->out, s,
	             DR_MARKUP_SP_CR | DR_MARKUP_SP_CTL | DR_MARKUP_SP_DEL);
}

/* Inline code: a value to copy (run id, command line, sha256). */
static void
code(struct ctx *c, const char *s)
{
	if (s == NULL)
		put(c, "-");
	else if (c->html)
		dr_html_code(c->out, s, TEXT_SP);
	else
		dr_md_code(c->out, s,
		           DR_MARKUP_SP_C0 |
		               (c->in_table ? DR_MARKUP_MD_CELL : 0));
}

/* The last TAIL_MAX bytes of s, cut on a character boundary. */
static const char *
tail_of(const char *s, bool *cut)
{
	size_t len = strlen(s);

	*cut = len > TAIL_MAX;
	if (!*cut)
		return s;
	s += len - TAIL_MAX;
	while ((*s & 0xc0) == 0x80)
		s++;
	return s;
}

/* A block of program output, verbatim but escaped. */
static void
pre(struct ctx *c, const char *s)
{
	bool cut;

	s = tail_of(s, &cut);
	if (c->html) {
		put(c, "<pre class=\"tail\">");
		if (cut)
			put(c, "<span class=\"cut\">[earlier output "
			       "omitted]</span>\n");
		text_lines(c, s);
		put(c, "</pre>\n");
		return;
	}
	if (cut)
		put(c, "[earlier output omitted]\n\n");
	dr_md_block(c->out, s, "text", DR_MARKUP_SP_CR | DR_MARKUP_SP_CTL);
}

static void
heading(struct ctx *c, int level, const char *s)
{
	int i;

	if (c->html) {
		putf(c, "<h%d>", level);
		text(c, s);
		putf(c, "</h%d>\n", level);
		return;
	}
	for (i = 0; i < level; i++)
		fputc('#', c->out);
	fputc(' ', c->out);
	text(c, s);
	put(c, "\n\n");
}

/* Tables: the header row, then cells written between row_begin/row_end. */
static void
table_begin(struct ctx *c, const char *cls, const char *const *head, size_t n)
{
	size_t i;

	if (c->html) {
		putf(c, "<table class=\"%s\">\n<thead><tr>", cls);
		for (i = 0; i < n; i++) {
			put(c, "<th>");
			text(c, head[i]);
			put(c, "</th>");
		}
		put(c, "</tr></thead>\n<tbody>\n");
		return;
	}
	put(c, "|");
	for (i = 0; i < n; i++) {
		put(c, " ");
		text(c, head[i]);
		put(c, " |");
	}
	put(c, "\n");
	dr_md_table_rule(c->out, n);
	c->in_table = true;
}

static void
row_begin(struct ctx *c, const char *cls)
{
	if (c->html)
		dr_html_open(c->out, "tr", cls);
	else
		put(c, "|");
}

static void
cell_begin(struct ctx *c, const char *cls)
{
	if (c->html)
		dr_html_open(c->out, "td", cls);
	else
		put(c, " ");
}

static void
cell_end(struct ctx *c)
{
	put(c, c->html ? "</td>" : " |");
}

static void
cell(struct ctx *c, const char *cls, const char *s)
{
	cell_begin(c, cls);
	text(c, s && *s ? s : "-");
	cell_end(c);
}

static void
row_end(struct ctx *c)
{
	put(c, c->html ? "</tr>\n" : "\n");
}

static void
table_end(struct ctx *c)
{
	put(c, c->html ? "</tbody>\n</table>\n" : "\n");
	c->in_table = false;
}

/* ---- document --------------------------------------------------------- */

static const char css[] =
    "@page{size:A4 landscape;margin:10mm}\n"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact;"
    "box-sizing:border-box}\n"
    "body{font-family:\"DejaVu Sans\",\"Liberation Sans\",Arial,"
    "sans-serif;font-size:10.5pt;line-height:1.4;color:#111;"
    "max-width:1340px;margin:0 auto;padding:16px 20px}\n"
    "h1{font-size:18pt;margin:0}\n"
    "h2{font-size:13.5pt;border-bottom:2px solid #111;"
    "padding-bottom:.1em;margin:1.3em 0 .5em;break-after:avoid;"
    "page-break-after:avoid}\n"
    "h3{font-size:11.5pt;margin:1em 0 .3em;break-after:avoid;"
    "page-break-after:avoid}\n"
    ".top{display:flex;gap:18px;align-items:stretch;margin-bottom:.6em}\n"
    ".top .title{flex:1}\n"
    ".top .sub{font-size:12pt;margin:.2em 0 0}\n"
    ".outcome{font-size:26pt;font-weight:bold;letter-spacing:.06em;"
    "padding:.15em .6em;border-radius:4px;color:#fff;display:flex;"
    "align-items:center}\n"
    ".o-succeeded{background:#1f7a36}\n"
    ".o-failed{background:#b3191b}\n"
    ".o-interrupted,.o-other{background:#c27c00}\n"
    "table{border-collapse:collapse;width:100%;margin:.3em 0 .8em;"
    "font-size:9pt}\n"
    "th,td{border:1px solid #999;padding:.15em .4em;text-align:left;"
    "vertical-align:top;overflow-wrap:anywhere}\n"
    "th{background:#e6e6e6}\n"
    "tr{break-inside:avoid;page-break-inside:avoid}\n"
    "table.meta td:first-child{width:9em;font-weight:bold;"
    "white-space:nowrap}\n"
    "table.svc td:nth-child(2),table.svc td:nth-child(3),"
    "table.svc td:nth-child(4){white-space:nowrap}\n"
    "table.log{table-layout:fixed;font-size:8.3pt}\n"
    "table.log th{white-space:nowrap}"
    "table.log th:nth-child(-n+2){width:5.6em}"
    "table.log th:nth-child(3){width:5.8em}"
    "table.log th:nth-child(4){width:8em}"
    "table.log th:nth-child(5){width:10em}"
    "table.log th:nth-child(6){width:9.5em}"
    "table.log th:nth-child(7){width:11.5em}"
    "table.log th:nth-child(8){width:9.5em}"
    "table.log th:nth-child(9){width:5.8em}\n"
    "table.log td:nth-child(8){white-space:nowrap}\n"
    "table.log td{overflow-wrap:break-word}\n"
    "table.svc{table-layout:fixed}\n"
    "table.svc th:nth-child(1){width:28%}"
    "table.svc th:nth-child(2){width:7%}"
    "table.svc th:nth-child(3){width:27%}"
    "table.svc th:nth-child(4){width:10%}\n"
    "table.svc.rp th:nth-child(1){width:15%}"
    "table.svc.rp th:nth-child(2){width:5%}"
    "table.svc.rp th:nth-child(3){width:17%}"
    "table.svc.rp th:nth-child(4){width:6%}"
    "table.svc.rp th:nth-child(5){width:17%}"
    "table.svc.rp th:nth-child(6){width:21%}\n"
    "table.cmp{table-layout:fixed}\n"
    "table.cmp th:nth-child(1){width:24%}"
    "table.cmp th:nth-child(2){width:24%}"
    "table.cmp th:nth-child(3),table.cmp th:nth-child(4){width:14%}\n"
    ".incident{margin:.2em 0 .5em;padding:.2em .6em;"
    "border-left:6px solid #c27c00;background:#fdf3e0}\n"
    "code,pre{font-family:\"DejaVu Sans Mono\",\"Liberation Mono\","
    "monospace}\n"
    "code{font-size:.92em;background:#f0f0f0;padding:0 .2em}\n"
    ".cards{display:flex;gap:14px;flex-wrap:wrap;margin:.3em 0}\n"
    ".card{border:1px solid #999;border-radius:4px;padding:.3em .7em;"
    "min-width:7.5em}\n"
    ".card .n{font-size:20pt;font-weight:bold;line-height:1.1}\n"
    ".card .l{font-size:9pt;color:#333}\n"
    ".card.bad{border-color:#b3191b;background:#fbeaea}\n"
    ".card.good{border-color:#1f7a36;background:#eaf6ec}\n"
    ".card.warn{border-color:#c27c00;background:#fdf3e0}\n"
    ".counts span{display:inline-block;margin-right:1.2em}\n"
    ".r-met{color:#1f7a36;font-weight:bold}\n"
    ".r-missed,.r-not{color:#b3191b;font-weight:bold}\n"
    ".r-none{color:#555}\n"
    ".small{font-size:8.5pt;color:#444}\n"
    ".legend{font-size:9pt;margin:.2em 0 .4em}\n"
    ".legend span{display:inline-block;margin-right:1.1em}\n"
    ".sw{display:inline-block;width:1.6em;height:.8em;margin-right:.3em;"
    "vertical-align:middle;border:1px solid #555}\n"
    ".dash{display:inline-block;width:1.8em;margin-right:.3em;"
    "vertical-align:middle;border-top:2px dashed #c2185b}\n"
    ".fail{border:1px solid #999;border-left:6px solid #b3191b;"
    "padding:.3em .7em .4em;margin:.6em 0;break-inside:avoid;"
    "page-break-inside:avoid}\n"
    ".fail.st-cancelled{border-left-color:#e8a200}\n"
    ".fail.st-indeterminate{border-left-color:#3b6fb6}\n"
    ".fail h3{margin:.1em 0 .3em;font-size:10.5pt}\n"
    ".fail table{width:auto;margin:.2em 0}\n"
    ".fail td:first-child{font-weight:bold;white-space:nowrap}\n"
    ".tag{display:inline-block;color:#fff;font-size:8.5pt;"
    "padding:0 .4em;border-radius:3px;margin-right:.4em;"
    "vertical-align:middle}\n"
    "pre.tail{font-size:8.3pt;line-height:1.3;white-space:pre-wrap;"
    "overflow-wrap:anywhere;background:#f4f4f4;border:1px solid #bbb;"
    "padding:.35em .55em;margin:.25em 0;max-height:none}\n"
    ".cut{color:#777;font-style:italic}\n"
    "svg.gantt{width:100%;height:auto;display:block;"
    "font-family:\"DejaVu Sans\",\"Liberation Sans\",Arial,sans-serif}\n"
    "svg.gantt text{font-size:10px;fill:#111}\n"
    "svg.gantt .svcl{font-weight:bold}\n"
    "svg.gantt .svcl.bad{fill:#b3191b}\n"
    "svg.gantt .tierh{fill:#2b3440}\n"
    "svg.gantt text.tiert{fill:#fff;font-weight:bold}\n"
    "svg.gantt .zebra{fill:#eef1f5}\n"
    "svg.gantt .grid{stroke:#d0d0d0;stroke-width:1}\n"
    "svg.gantt .axis{stroke:#333;stroke-width:1}\n"
    "svg.gantt text.tick{font-size:9px;fill:#333}\n"
    "svg.gantt .zone{fill:#f7f7f7;stroke:#bbb;stroke-dasharray:2 2}\n"
    "svg.gantt text.zonet{font-size:9px;fill:#555;font-style:italic}\n"
    "svg.gantt .rto{stroke:#c2185b;stroke-width:1.2;"
    "stroke-dasharray:5 3}\n"
    "svg.gantt text.rtot{font-size:9px;fill:#c2185b;font-weight:bold;"
    "paint-order:stroke;stroke:#fff;stroke-width:3px;"
    "stroke-linejoin:round}\n"
    "svg.gantt .endl{stroke:#111;stroke-width:1.5}\n"
    "svg.gantt text.endt{font-size:9px;font-weight:bold}\n"
    "svg.gantt .bar{stroke:#222;stroke-width:.4}\n"
    "svg.gantt .bar.open{stroke-dasharray:3 2}\n"
    "svg.gantt .bar.nostart{fill-opacity:.35;stroke:#555;"
    "stroke-dasharray:2 1}\n"
    "svg.gantt text.nst{font-size:8.5px;fill:#666;font-style:italic}\n"
    ".s-succeeded{fill:#2e9d4a;background:#2e9d4a}\n"
    ".s-failed{fill:#d62728;background:#d62728}\n"
    ".s-skipped{fill:#a3a3a3;background:#a3a3a3}\n"
    ".s-cancelled{fill:#f0a500;background:#f0a500}\n"
    ".s-refused{fill:#7b4fb3;background:#7b4fb3}\n"
    ".s-indeterminate{fill:#3b6fb6;background:#3b6fb6}\n"
    ".s-pending,.s-running,.s-retry-wait,.s-interrupted,.s-other"
    "{fill:#ffffff;background:#ffffff}\n"
    "@media print{body{max-width:none;padding:0;font-size:9.5pt}"
    ".timeline{break-before:page;page-break-before:always}"
    "svg.gantt{break-inside:auto}}\n";

static void
doc_begin(struct ctx *c)
{
	if (!c->html)
		return;
	put(c, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	       "<meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, "
	       "initial-scale=1\">\n<title>");
	textf(c, "Run report: %s %s", c->plan ? c->plan : "plan",
	      c->run_id ? c->run_id : "");
	put(c, "</title>\n<style>\n");
	put(c, css);
	put(c, "</style>\n</head>\n<body>\n");
}

static void
doc_end(struct ctx *c)
{
	if (c->html)
		put(c, "</body>\n</html>\n");
}

static void
meta_row(struct ctx *c, const char *label, const char *value, bool as_code)
{
	row_begin(c, NULL);
	cell(c, NULL, label);
	cell_begin(c, NULL);
	if (as_code)
		code(c, value);
	else
		text(c, value && *value ? value : "-");
	cell_end(c);
	row_end(c);
}

static void
write_header(struct ctx *c)
{
	static const char *const head[] = {"", ""};
	char out[64], a[64], b[64], d[32];
	char *dir =
	    dr_xasprintf("%s \xe2\x86\x92 %s", c->from[0] ? c->from : "?",
	                 c->to ? c->to : "?");
	char *by = dr_xasprintf("%s@%s", c->user ? c->user : "?",
	                        c->host ? c->host : "?");
	char *title = dr_xasprintf("Run report: %s",
	                           c->plan ? c->plan : "(unnamed plan)");
	const char *mode = c->mode ? c->mode : "run";

	outcome(c, out, sizeof(out));
	if (c->html) {
		put(c, "<div class=\"top\"><div class=\"title\">");
		heading(c, 1, title);
		put(c, "<p class=\"sub\"><b>");
		text(c, mode);
		put(c, "</b> &middot; ");
		text(c, dir);
		put(c, " &middot; run ");
		code(c, c->run_id);
		putf(c, "</p></div><div class=\"outcome o-%s\">",
		     c->state && (same(c->state, "succeeded") ||
		                  same(c->state, "failed") ||
		                  same(c->state, "interrupted"))
		         ? state_class(c->state)
		         : "other");
		text(c, out);
		put(c, "</div></div>\n");
		if (c->incident_at) {
			put(c, "<p class=\"incident\"><b>Incident declared / "
			       "restore points before:</b> ");
			text(c, fmt_wall(c->incident_at, false, a, sizeof(a)));
			put(c, "</p>\n");
		}
	} else {
		heading(c, 1, title);
		put(c, "**Outcome: ");
		text(c, out);
		put(c, "** \xc2\xb7 ");
		text(c, mode);
		put(c, " \xc2\xb7 ");
		text(c, dir);
		put(c, "\n\n");
		if (c->incident_at) {
			put(c,
			    "**Incident declared / restore points before:** ");
			text(c, fmt_wall(c->incident_at, false, a, sizeof(a)));
			put(c, "\n\n");
		}
	}
	table_begin(c, "meta", head, 2);
	meta_row(c, "Run", c->run_id, true);
	meta_row(c, "Plan", c->plan, false);
	meta_row(c, "Plan file", c->plan_file, true);
	meta_row(c, "Plan sha256", c->sha, true);
	meta_row(c, "Mode", mode, false);
	meta_row(c, "Direction", dir, false);
	meta_row(c, "Outcome", out, false);
	meta_row(c, "Started", fmt_wall(c->started_at, false, a, sizeof(a)),
	         false);
	meta_row(c, "Ended", fmt_wall(c->ended_at, false, b, sizeof(b)), false);
	meta_row(c, "Duration", fmt_dur(c->duration_ms, d, sizeof(d)), false);
	meta_row(c, "Run by", by, false);
	meta_row(c, "Command", c->command, true);
	table_end(c);
	free(dir);
	free(by);
	free(title);
}

struct svc_counts {
	size_t met, missed, notrec, norto, total;
	size_t rp, rpo_missed; /* restored from a restore point; over RPO */
};

static struct svc_counts
count_services(const struct ctx *c)
{
	struct svc_counts k = {0};
	size_t i;

	for (i = 0; i < c->ns; i++) {
		const struct rsvc *s = &c->s[i];
		k.total++;
		if (!s->recovered)
			k.notrec++;
		else if (s->rto_ms == 0)
			k.norto++;
		else if (s->met)
			k.met++;
		else
			k.missed++;
		if (s->has_rp) {
			k.rp++;
			if (s->rpo_ms && !s->rpo_met)
				k.rpo_missed++;
		}
	}
	return k;
}

static void
card(struct ctx *c, const char *cls, size_t n, const char *label)
{
	putf(c,
	     "<div class=\"card %s\"><div class=\"n\">%zu</div>"
	     "<div class=\"l\">",
	     cls, n);
	text(c, label);
	put(c, "</div></div>");
}

static void
write_summary(struct ctx *c)
{
	static const char *const states[] = {
	    "succeeded",     "failed",  "skipped", "cancelled", "refused",
	    "indeterminate", "pending", "running", "retry-wait"};
	size_t nstates = sizeof(states) / sizeof(states[0]);
	size_t counts[sizeof(states) / sizeof(states[0]) + 1] = {0};
	struct svc_counts k = count_services(c);
	size_t cmp[CMP_N];
	size_t i, j;
	bool first = true;

	for (i = 0; i < c->nt; i++) {
		for (j = 0; j < nstates; j++)
			if (same(c->t[i].state, states[j]))
				break;
		counts[j]++;
	}
	count_cmp(c, cmp);
	heading(c, 2, "Summary");
	if (c->html) {
		put(c, "<div class=\"cards\">");
		card(c, k.met == k.total - k.norto ? "good" : "", k.met,
		     "services met their RTO");
		card(c, k.missed ? "bad" : "", k.missed, "missed their RTO");
		card(c, k.notrec ? "bad" : "", k.notrec, "not recovered");
		if (k.norto)
			card(c, "", k.norto, "recovered, no RTO");
		if (k.rp)
			card(c, k.rpo_missed ? "bad" : "good", k.rpo_missed,
			     "missed their RPO");
		card(c, counts[1] ? "bad" : "", counts[1], "tasks failed");
		if (c->has_prev) {
			card(c, cmp[CMP_FASTER] ? "good" : "", cmp[CMP_FASTER],
			     "faster than last time");
			card(c, cmp[CMP_SLOWER] ? "warn" : "", cmp[CMP_SLOWER],
			     "slower than last time");
		}
		put(c, "</div>\n<p class=\"counts\"><b>");
		putf(c, "%zu tasks:</b> ", c->nt);
	} else {
		putf(c,
		     "- **Services against RTO** (%zu): %zu met, %zu missed, "
		     "%zu not recovered",
		     k.total, k.met, k.missed, k.notrec);
		if (k.norto)
			putf(c, ", %zu recovered without an RTO", k.norto);
		if (k.rp)
			putf(c,
			     "\n- **Restored from restore points** (%zu): %zu "
			     "missed their RPO",
			     k.rp, k.rpo_missed);
		if (c->has_prev)
			putf(c,
			     "\n- **Against the previous %s**: %zu faster than "
			     "last time, %zu slower, %zu same",
			     prev_word(c), cmp[CMP_FASTER], cmp[CMP_SLOWER],
			     cmp[CMP_SAME]);
		putf(c, "\n- **Tasks** (%zu): ", c->nt);
	}
	for (j = 0; j <= nstates; j++) {
		if (counts[j] == 0 && j != 0 && j != 1)
			continue;
		if (c->html)
			putf(c, "<span><span class=\"sw s-%s\"></span>",
			     j < nstates ? states[j] : "other");
		else if (!first)
			put(c, ", ");
		putf(c, "%zu %s", counts[j], j < nstates ? states[j] : "other");
		if (c->html)
			put(c, "</span>");
		first = false;
	}
	put(c, c->html ? "</p>\n" : "\n\n");
}

/* ---- timeline --------------------------------------------------------- */

struct axis {
	double chart_w;
	bool zone;       /* RTO deadlines beyond the run, not to scale */
	int64_t max_rto; /* largest RTO */
	double zone_x;
};

static double
xpos(const struct ctx *c, const struct axis *a, int64_t ms)
{
	if (ms <= c->span || !a->zone)
		return CHART_X +
		       (double)(ms < 0 ? 0 : ms) / (double)c->span * a->chart_w;
	if (a->max_rto <= c->span)
		return a->zone_x;
	return a->zone_x +
	       (double)(ms - c->span) / (double)(a->max_rto - c->span) * ZONE_W;
}

/* One time axis label: "mm:ss" under an hour, "h:mm" from an hour. */
static void
tick_label(struct ctx *c, int64_t ms, int64_t step, char *buf, size_t len)
{
	long long s = (long long)(ms / 1000);

	if (c->span >= 3600000)
		snprintf(buf, len, "%lld:%02lld", s / 3600, s / 60 % 60);
	else if (step < 1000)
		snprintf(buf, len, "%02lld:%02lld.%lld", s / 60, s % 60,
		         (long long)(ms % 1000 / 100));
	else
		snprintf(buf, len, "%02lld:%02lld", s / 60, s % 60);
}

static int64_t
tick_step(int64_t span)
{
	static const int64_t steps[] = {
	    100,     200,     500,     1000,     2000,     5000,     10000,
	    15000,   30000,   60000,   120000,   300000,   600000,   900000,
	    1800000, 3600000, 7200000, 10800000, 21600000, 43200000, 86400000};
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (span / steps[i] <= 10)
			return steps[i];
	return span / 10 + 1;
}

/* Index of the first service instance of each RTO service, in order. */
static size_t
rto_services(const struct ctx *c, size_t *out)
{
	size_t i, j, n = 0;

	for (i = 0; i < c->ns; i++) {
		if (c->s[i].rto_ms == 0)
			continue;
		for (j = 0; j < n; j++)
			if (same(c->s[out[j]].service, c->s[i].service))
				break;
		if (j == n)
			out[n++] = i;
	}
	return n;
}

static const char *
task_label(const struct rtask *t, char *buf, size_t len)
{
	const char *step = t->step ? t->step : t->key ? t->key : "?";

	if (t->src && t->host)
		snprintf(buf, len, "%s %s\xe2\x86\x92%s", step, t->src,
		         t->host);
	else if (t->host)
		snprintf(buf, len, "%s @ %s", step, t->host);
	else if (t->action)
		snprintf(buf, len, "%s (%s)", step, t->action);
	else
		snprintf(buf, len, "%s", step);
	return buf;
}

static bool
group_bad(const struct ctx *c, const struct group *g)
{
	return g->svc != SIZE_MAX && !c->s[g->svc].met &&
	       (c->s[g->svc].rto_ms || !c->s[g->svc].recovered);
}

static void
bar_title(struct ctx *c, const struct rtask *t)
{
	char a[32], b[32], d[32];

	put(c, "<title>");
	text_lines(c, t->key ? t->key : "?");
	put(c, "\nhost: ");
	if (t->site)
		text_lines(c, t->site), put(c, "/");
	text_lines(c, t->host ? t->host : "controller");
	if (t->src)
		put(c, " \xe2\x86\x90 "), text_lines(c, t->src);
	put(c, "\nstate: ");
	text_lines(c, t->state ? t->state : "unknown");
	if (t->attempts >= 0)
		putf(c, ", attempts %lld", t->attempts);
	if (t->t0 >= 0)
		putf(c, "\n+%s \xe2\x86\x92 +%s, duration %s",
		     fmt_elapsed(c, t->t0, a, sizeof(a)),
		     t->t1 >= 0 ? fmt_elapsed(c, t->t1, b, sizeof(b)) : "?",
		     t->t1 >= 0 ? fmt_dur(t->t1 - t->t0, d, sizeof(d)) : "?");
	else
		put(c, "\nnot started");
	if (t->has_exit)
		putf(c, "\nexit status %lld", t->exit_status);
	if (t->signal)
		put(c, "\nsignal "), text_lines(c, t->signal);
	if (t->message)
		put(c, "\n"), text_lines(c, t->message);
	if (t->backup)
		put(c, "\nbackup: "), text_lines(c, t->backup);
	put(c, "</title>");
}

static void
svg_bar(struct ctx *c, const struct axis *a, const struct rtask *t, double y)
{
	const char *st = state_class(t->state);
	double x0, x1;
	const char *extra = "";

	if (t->t0 >= 0) {
		x0 = xpos(c, a, t->t0);
		if (t->t1 >= 0) {
			x1 = xpos(c, a, t->t1);
		} else {
			x1 = xpos(c, a, c->span);
			extra = " open";
		}
		if (x1 - x0 < 2.0)
			x1 = x0 + 2.0;
	} else {
		/* Never started: a hollow mark where it ended (or the end). */
		x1 = xpos(c, a, t->t1 >= 0 ? t->t1 : c->span);
		x0 = x1 - 8.0;
		extra = " nostart";
		putf(c,
		     "<text class=\"nst\" x=\"%.1f\" y=\"%.1f\" "
		     "text-anchor=\"end\">not started</text>\n",
		     x0 - 3.0, y + ROW_H - 3.5);
	}
	putf(c, "<rect class=\"bar s-%s%s\" data-key=\"", st, extra);
	text(c, t->key);
	putf(c, "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">", x0,
	     y + 2.0, x1 - x0, ROW_H - 4.0);
	bar_title(c, t);
	put(c, "</rect>\n");
}

/* " · fence, base": the services of a tier, once each. */
static void
tier_services(struct ctx *c, int tier)
{
	size_t i, j, n = 0;

	for (i = 0; i < c->ng; i++) {
		if (c->g[i].tier != tier)
			continue;
		for (j = 0; j < i; j++)
			if (c->g[j].tier == tier &&
			    same(c->g[j].service, c->g[i].service))
				break;
		if (j < i)
			continue;
		put(c, n++ ? ", " : " \xc2\xb7 ");
		text(c, c->g[i].service ? c->g[i].service : "?");
	}
}

static bool
rto_right(const struct axis *a, double x)
{
	return x > CHART_X + (SVG_W - RIGHT_PAD - CHART_X) / 2.0;
}

/* Label row order of two RTO services (indexes in services[]). */
static bool
rto_before(const struct ctx *c, const struct axis *a, size_t i, size_t j)
{
	double xi = xpos(c, a, c->s[i].rto_ms), xj = xpos(c, a, c->s[j].rto_ms);
	bool ri = rto_right(a, xi), rj = rto_right(a, xj);

	if (ri != rj)
		return !ri;
	return ri ? xi > xj : xi < xj;
}

/* Row heights of tasks order[k0..k1) with their tier headers. */
static double
rows_height(const struct ctx *c, size_t k0, size_t k1)
{
	double h = 0.0;
	size_t k;

	for (k = k0; k < k1; k++) {
		const struct rtask *t = &c->t[c->order[k]];
		if (k == k0 || c->g[t->group].tier !=
		                   c->g[c->t[c->order[k - 1]].group].tier)
			h += TIER_H;
		h += ROW_H;
	}
	return h;
}

/*
 * One SVG of the timeline for the tasks order[k0..k1), with its own axis
 * and deadlines, so that each part prints on one page.
 */
static void
write_svg(struct ctx *c, const struct axis *ap, size_t *rto, size_t nrto,
          size_t k0, size_t k1, size_t part, size_t nparts)
{
	const struct axis a = *ap;
	size_t j, k;
	double top, y, bottom, h;
	int64_t step, ms;
	char buf[128], lb[64];
	int last_tier = INT32_MIN;
	size_t last_group = SIZE_MAX, ngroup = 0;

	top = 6.0 + (double)nrto * RTO_ROW_H + AXIS_H;
	bottom = top + rows_height(c, k0, k1);
	h = bottom + AXIS_H + 16.0;

	putf(c,
	     "<svg class=\"gantt\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
	     "height=\"%.0f\" role=\"img\" data-span-ms=\"%lld\">\n",
	     SVG_W, h, SVG_W, h, (long long)c->span);
	put(c, "<title>");
	textf(c, "Timeline of run %s", c->run_id ? c->run_id : "");
	if (nparts > 1)
		putf(c, " (part %zu of %zu)", part + 1, nparts);
	put(c, "</title>\n");

	/* The deadlines after the run, then row backgrounds: tier bands
	 * and zebra stripes per group. */
	if (a.zone) {
		putf(
		    c,
		    "<rect class=\"zone\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		    "height=\"%.1f\"/>\n",
		    a.zone_x - 6.0, top, ZONE_W + 12.0, bottom - top);
		putf(c,
		     "<text class=\"zonet\" x=\"%.1f\" y=\"%.1f\" "
		     "text-anchor=\"middle\">after the run, not to "
		     "scale</text>\n",
		     a.zone_x + ZONE_W / 2.0, bottom + 11.0);
	}

	y = top;
	for (k = k0; k < k1; k++) {
		const struct rtask *t = &c->t[c->order[k]];
		const struct group *g = &c->g[t->group];

		if (g->tier != last_tier) {
			putf(c,
			     "<rect class=\"tierh\" x=\"0\" y=\"%.1f\" "
			     "width=\"%.0f\" height=\"%.1f\"/>\n",
			     y, SVG_W, TIER_H);
			putf(c,
			     "<text class=\"tiert\" x=\"%.1f\" y=\"%.1f\">"
			     "Tier %d",
			     LBL_SVC_X, y + TIER_H - 4.0, g->tier);
			tier_services(c, g->tier);
			if (k == k0 && k > 0 &&
			    c->g[c->t[c->order[k - 1]].group].tier == g->tier)
				put(c, " (continued)");
			put(c, "</text>\n");
			last_tier = g->tier;
			y += TIER_H;
		}
		if (t->group != last_group) {
			size_t rows = g->ntasks;
			if (ngroup++ % 2)
				putf(c,
				     "<rect class=\"zebra\" x=\"0\" y=\"%.1f\" "
				     "width=\"%.0f\" height=\"%.1f\"/>\n",
				     y, SVG_W, (double)rows * ROW_H);
			last_group = t->group;
		}
		y += ROW_H;
	}

	/* Time axis: ticks, grid, labels above and below. */
	step = tick_step(c->span);
	putf(c,
	     "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
	     "y2=\"%.1f\"/>\n",
	     CHART_X, top, CHART_X + a.chart_w, top);
	for (ms = 0; ms <= c->span; ms += step) {
		double x = xpos(c, &a, ms);
		tick_label(c, ms, step, lb, sizeof(lb));
		putf(c,
		     "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		     "y2=\"%.1f\"/>\n",
		     x, top - 3.0, x, bottom);
		putf(c,
		     "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
		     "text-anchor=\"middle\">%s</text>\n",
		     x, top - 5.0, lb);
		putf(c,
		     "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
		     "text-anchor=\"middle\">%s</text>\n",
		     x, bottom + 11.0, lb);
	}
	/* Bars, with the group and step labels on the left. */
	y = top;
	last_tier = INT32_MIN;
	last_group = SIZE_MAX;
	for (k = k0; k < k1; k++) {
		const struct rtask *t = &c->t[c->order[k]];
		const struct group *g = &c->g[t->group];

		if (g->tier != last_tier) {
			last_tier = g->tier;
			y += TIER_H;
		}
		if (t->group != last_group) {
			putf(c, "<text class=\"svcl%s\" x=\"%.1f\" y=\"%.1f\">",
			     group_bad(c, g) ? " bad" : "", LBL_SVC_X,
			     y + ROW_H - 3.0);
			snprintf(buf, sizeof(buf), "%s%s%s",
			         g->service ? g->service : "?",
			         g->tenant ? " \xc2\xb7 " : "",
			         g->tenant ? g->tenant : "");
			text_n(c, buf, SVC_CHARS);
			put(c, "<title>");
			text(c, buf);
			put(c, "</title></text>\n");
			last_group = t->group;
		}
		putf(c, "<text class=\"stepl\" x=\"%.1f\" y=\"%.1f\">",
		     LBL_STEP_X, y + ROW_H - 3.0);
		task_label(t, buf, sizeof(buf));
		text_n(c, buf, STEP_CHARS);
		put(c, "</text>\n");
		svg_bar(c, &a, t, y);
		y += ROW_H;
	}

	/* End of the run. */
	if (c->duration_ms >= 0) {
		double x = xpos(c, &a, c->duration_ms);
		putf(c,
		     "<line class=\"endl\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		     "y2=\"%.1f\"/>\n",
		     x, top, x, bottom);
		putf(c,
		     "<text class=\"endt\" x=\"%.1f\" y=\"%.1f\" "
		     "text-anchor=\"middle\">end %s</text>\n",
		     x, bottom + 23.0,
		     fmt_elapsed(c, c->duration_ms, lb, sizeof(lb)));
	}

	/*
	 * One dashed deadline per service with an RTO, each labelled on its
	 * own row above the chart. Labels right of the middle sit left of
	 * their line: those rows go from the latest deadline up, the others
	 * from the earliest, so that no line runs through a label below it.
	 */
	for (j = 0; j < nrto; j++) {
		const struct rsvc *s = &c->s[rto[j]];
		double x = xpos(c, &a, s->rto_ms);
		double ly = 6.0 + (double)j * RTO_ROW_H + 9.0;
		bool right = rto_right(&a, x);

		put(c, "<g class=\"rtog\" data-service=\"");
		text(c, s->service);
		putf(c, "\" data-rto-ms=\"%lld\">", (long long)s->rto_ms);
		putf(c,
		     "<line class=\"rto\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		     "y2=\"%.1f\"/>",
		     x, ly - 8.0, x, bottom);
		putf(c,
		     "<text class=\"rtot\" x=\"%.1f\" y=\"%.1f\" "
		     "text-anchor=\"%s\">",
		     right ? x - 3.0 : x + 3.0, ly, right ? "end" : "start");
		text(c, s->service);
		put(c, " RTO ");
		text(c, fmt_rto(s->rto_ms, lb, sizeof(lb)));
		put(c, "</text></g>\n");
	}
	put(c, "</svg>\n");
}

/*
 * The timeline in parts of at most PART_H of rows, cut between service
 * instances, each part one page on paper.
 */
static void
write_svgs(struct ctx *c)
{
	size_t *rto = dr_xcalloc(c->ns + 1, sizeof(*rto));
	size_t nrto = rto_services(c, rto), i, k, k0, nparts = 0, part = 0;
	size_t *cut = dr_xcalloc(c->nt + 2, sizeof(*cut));
	struct axis a = {0};

	for (i = 0; i < nrto; i++)
		if (c->s[rto[i]].rto_ms > a.max_rto)
			a.max_rto = c->s[rto[i]].rto_ms;
	a.zone = a.max_rto > c->span;
	a.chart_w =
	    SVG_W - CHART_X - RIGHT_PAD - (a.zone ? ZONE_GAP + ZONE_W : 0.0);
	a.zone_x = CHART_X + a.chart_w + ZONE_GAP;
	/* Row labels follow the deadlines: sort them once for all parts. */
	for (i = 1; i < nrto; i++) {
		size_t x = rto[i], m = i;
		while (m > 0 && rto_before(c, &a, x, rto[m - 1])) {
			rto[m] = rto[m - 1];
			m--;
		}
		rto[m] = x;
	}

	for (k = 0; k < c->nt;) {
		k0 = k;
		while (k < c->nt) {
			size_t n = c->g[c->t[c->order[k]].group].ntasks;
			if (k > k0 && rows_height(c, k0, k + n) > PART_H)
				break;
			k += n;
		}
		cut[nparts++] = k0;
	}
	cut[nparts] = c->nt;
	for (part = 0; part < nparts; part++)
		write_svg(c, &a, rto, nrto, cut[part], cut[part + 1], part,
		          nparts);
	free(cut);
	free(rto);
}

static void
write_timeline_html(struct ctx *c)
{
	static const char *const states[] = {"succeeded", "failed",
	                                     "skipped",   "cancelled",
	                                     "refused",   "indeterminate"};
	size_t i;

	put(c, "<section class=\"timeline\">\n");
	heading(c, 2, "Timeline");
	put(c, "<div class=\"legend\">");
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		putf(c, "<span><span class=\"sw s-%s\"></span>%s</span>",
		     states[i], states[i]);
	put(c, "<span><span class=\"sw s-pending\"></span>not started</span>"
	       "<span><span class=\"dash\"></span>RTO deadline (run start + "
	       "RTO)</span><span class=\"small\">times are elapsed since the "
	       "run started; hover a bar for details</span></div>\n");
	if (c->nt == 0)
		put(c, "<p>No tasks.</p>\n");
	else
		write_svgs(c);
	put(c, "</section>\n");
}

/* ---- recovery per tenant ---------------------------------------------- */

static void
result_cell(struct ctx *c, const struct rsvc *s)
{
	char a[32], b[64];

	if (!s->recovered) {
		cell(c, "r-not", "NOT RECOVERED");
	} else if (s->rto_ms == 0) {
		cell(c, "r-none", "recovered (no RTO)");
	} else if (s->met) {
		snprintf(b, sizeof(b), "met (%s to spare)",
		         s->recovery_ms >= 0
		             ? fmt_dur(s->rto_ms - s->recovery_ms, a, sizeof(a))
		             : "?");
		cell(c, "r-met", s->recovery_ms >= 0 ? b : "met");
	} else {
		snprintf(b, sizeof(b), "MISSED (%s late)",
		         s->recovery_ms >= 0
		             ? fmt_dur(s->recovery_ms - s->rto_ms, a, sizeof(a))
		             : "?");
		cell(c, "r-missed", s->recovery_ms >= 0 ? b : "MISSED");
	}
}

#define DASH "\xe2\x80\x94" /* em dash: nothing to show */

/* Data lost to the restore point, and when the backup was taken. */
static void
loss_cell(struct ctx *c, const struct rsvc *s)
{
	char a[32], b[64];

	if (!s->has_rp) {
		cell(c, "r-none", DASH);
		return;
	}
	cell_begin(c, NULL);
	text(c, s->loss_ms >= 0 ? fmt_span(s->loss_ms, a, sizeof(a)) : "?");
	if (s->backup_at) {
		put(c, c->html ? "<br><span class=\"small\">backup "
		               : " (backup ");
		text(c, fmt_wall(s->backup_at, false, b, sizeof(b)));
		put(c, c->html ? "</span>" : ")");
	}
	cell_end(c);
}

static void
rpo_cell(struct ctx *c, const struct rsvc *s)
{
	char a[32], b[32], d[96];

	if (!s->has_rp) {
		cell(c, "r-none", DASH);
	} else if (s->rpo_ms == 0) {
		cell(c, "r-none", "no RPO");
	} else if (s->rpo_met) {
		snprintf(d, sizeof(d), "%s: met",
		         fmt_rto(s->rpo_ms, a, sizeof(a)));
		cell(c, "r-met", d);
	} else if (s->loss_ms > s->rpo_ms) {
		snprintf(d, sizeof(d), "%s: MISSED (%s over)",
		         fmt_rto(s->rpo_ms, a, sizeof(a)),
		         fmt_span(s->loss_ms - s->rpo_ms, b, sizeof(b)));
		cell(c, "r-missed", d);
	} else {
		snprintf(d, sizeof(d), "%s: MISSED",
		         fmt_rto(s->rpo_ms, a, sizeof(a)));
		cell(c, "r-missed", d);
	}
}

/*
 * One tenant's services against their RTO and, when the report used
 * restore points, the data lost against the RPO.
 */
static void
svc_table(struct ctx *c, const char *tenant)
{
	static const char *const head[] = {"Service", "Tier", "Recovered at",
	                                   "RTO",     "Met",  "Data lost",
	                                   "RPO"};
	char a[32], b[48], d[32];
	size_t i;

	table_begin(c, c->any_rp ? "svc rp" : "svc", head, c->any_rp ? 7 : 5);
	for (i = 0; i < c->ns; i++) {
		const struct rsvc *s = &c->s[i];

		if (!same(s->tenant, tenant))
			continue;
		row_begin(c, NULL);
		cell(c, NULL, s->service);
		snprintf(a, sizeof(a), "%d", s->tier);
		cell(c, NULL, a);
		cell_begin(c, NULL);
		if (s->recovered && s->recovery_ms >= 0) {
			textf(c, "+%s",
			      fmt_elapsed(c, s->recovery_ms, a, sizeof(a)));
			if (s->recovered_at) {
				put(c,
				    c->html ? " <span class=\"small\">" : " (");
				text(c, fmt_wall(s->recovered_at, true, b,
				                 sizeof(b)));
				put(c, c->html ? "</span>" : ")");
			}
		} else {
			text(c, "-");
		}
		cell_end(c);
		cell(c, NULL, fmt_rto(s->rto_ms, d, sizeof(d)));
		result_cell(c, s);
		if (c->any_rp) {
			loss_cell(c, s);
			rpo_cell(c, s);
		}
		row_end(c);
	}
	table_end(c);
}

static void
write_recovery(struct ctx *c)
{
	size_t i, j;
	bool global = false;

	heading(c, 2, "Recovery by tenant");
	if (c->ns == 0) {
		put(c, c->html ? "<p>No services in the report.</p>\n"
		               : "No services in the report.\n\n");
		return;
	}
	for (i = 0; i < c->ns; i++)
		if (c->s[i].tenant == NULL)
			global = true;
	if (global) {
		heading(c, 3, "Global services");
		svc_table(c, NULL);
	}
	for (i = 0; i < c->ns; i++) {
		const char *tn = c->s[i].tenant;
		if (tn == NULL)
			continue;
		for (j = 0; j < i; j++)
			if (same(c->s[j].tenant, tn))
				break;
		if (j < i)
			continue;
		heading(c, 3, tn);
		svc_table(c, tn);
	}
}

/* ---- against the previous run ---------------------------------------- */

static void
cmp_cell(struct ctx *c, enum cmp k, int64_t delta)
{
	char a[32], b[64];

	switch (k) {
	case CMP_NEW:
		cell(c, "r-none", "new");
		break;
	case CMP_SAME:
		cell(c, "r-none", "same");
		break;
	case CMP_FASTER:
		snprintf(b, sizeof(b), "faster by %s",
		         fmt_dur(-delta, a, sizeof(a)));
		cell(c, "r-met", b);
		break;
	case CMP_SLOWER:
		snprintf(b, sizeof(b), "slower by %s",
		         fmt_dur(delta, a, sizeof(a)));
		cell(c, "r-missed", b);
		break;
	case CMP_NOTREC:
		cell(c, "r-not", "not recovered now");
		break;
	case CMP_RECNOW:
		cell(c, "r-met", "recovered now, not before");
		break;
	default:
		cell(c, "r-none", "?");
		break;
	}
}

static void
recovery_cell(struct ctx *c, bool recovered, int64_t ms)
{
	char a[32];

	if (!recovered)
		cell(c, NULL, "not recovered");
	else
		cell(c, NULL, ms >= 0 ? fmt_dur(ms, a, sizeof(a)) : "?");
}

/* Has this run a service instance that p was? */
static bool
prev_matched(const struct ctx *c, const struct rprev *p)
{
	size_t i;

	for (i = 0; i < c->ns; i++)
		if (prev_of(c, &c->s[i]) == p)
			return true;
	return false;
}

static void
write_previous(struct ctx *c)
{
	static const char *const head[] = {"Service", "Tenant", "This run",
	                                   "Previous", "Change"};
	char out[64], d[32], *title;
	size_t i;
	int64_t delta;

	if (!c->has_prev)
		return;
	title = dr_xasprintf("Compared with the previous %s", prev_word(c));
	heading(c, 2, title);
	free(title);
	snprintf(out, sizeof(out), "%s",
	         c->prev_state ? c->prev_state : "unknown");
	for (i = 0; out[i]; i++)
		out[i] = (char)toupper((unsigned char)out[i]);
	put(c, c->html ? "<p>" : "");
	textf(c, "Previous %s: run ", prev_word(c));
	code(c, c->prev_run_id);
	put(c, ", ");
	put(c, c->html ? "<b>" : "**");
	text(c, out);
	put(c, c->html ? "</b>" : "**");
	if (c->prev_duration_ms >= 0)
		textf(c, " in %s", fmt_dur(c->prev_duration_ms, d, sizeof(d)));
	text(c, ". Recovery times are since the run started.");
	put(c, c->html ? "</p>\n" : "\n\n");
	if (c->ns == 0 && c->np == 0)
		return;
	table_begin(c, "cmp", head, 5);
	for (i = 0; i < c->ns; i++) {
		const struct rsvc *s = &c->s[i];
		const struct rprev *p = prev_of(c, s);
		enum cmp k = compare(c, s, &delta);

		row_begin(c, NULL);
		cell(c, NULL, s->service);
		cell(c, NULL, s->tenant);
		recovery_cell(c, s->recovered, s->recovery_ms);
		if (p)
			recovery_cell(c, p->recovery_ms >= 0, p->recovery_ms);
		else
			cell(c, "r-none", DASH);
		cmp_cell(c, k, delta);
		row_end(c);
	}
	for (i = 0; i < c->np; i++) {
		const struct rprev *p = &c->p[i];

		if (p->service == NULL || prev_matched(c, p))
			continue;
		row_begin(c, NULL);
		cell(c, NULL, p->service);
		cell(c, NULL, p->tenant);
		cell(c, "r-none", DASH);
		recovery_cell(c, p->recovery_ms >= 0, p->recovery_ms);
		cell(c, "r-none", "not in this run");
		row_end(c);
	}
	table_end(c);
}

/* ---- failures --------------------------------------------------------- */

/* The restore point a copy used: "path (taken 2026-11-20 22:00:00 UTC)". */
static char *
backup_text(const struct rtask *t)
{
	char b[64];

	if (t->backup_at)
		return dr_xasprintf(
		    "%s (taken %s)", t->backup,
		    fmt_wall(t->backup_at, false, b, sizeof(b)));
	return dr_xstrdup(t->backup);
}

static char *
host_text(const struct rtask *t)
{
	return dr_xasprintf("%s%s%s%s%s", t->site ? t->site : "",
	                    t->site ? "/" : "",
	                    t->host ? t->host : "controller",
	                    t->src ? " from " : "", t->src ? t->src : "");
}

static char *
exit_text(const struct rtask *t)
{
	if (t->has_exit && t->signal)
		return dr_xasprintf("status %lld, signal %s", t->exit_status,
		                    t->signal);
	if (t->has_exit)
		return dr_xasprintf("status %lld", t->exit_status);
	if (t->signal)
		return dr_xasprintf("signal %s", t->signal);
	return dr_xstrdup("none");
}

static void
kv(struct ctx *c, const char *k, const char *v)
{
	if (c->html) {
		put(c, "<tr><td>");
		text(c, k);
		put(c, "</td><td>");
		text(c, v && *v ? v : "-");
		put(c, "</td></tr>\n");
	} else {
		put(c, "- **");
		text(c, k);
		put(c, ":** ");
		text(c, v && *v ? v : "-");
		put(c, "\n");
	}
}

static void
failure(struct ctx *c, const struct rtask *t)
{
	char *host = host_text(t), *ex = exit_text(t);
	char a[32], b[32], d[32], att[32];
	char *when;

	if (t->attempts >= 0)
		snprintf(att, sizeof(att), "%lld", t->attempts);
	else
		snprintf(att, sizeof(att), "-");
	if (t->t0 >= 0)
		when = dr_xasprintf(
		    "+%s \xe2\x86\x92 +%s (%s)", fmt_elapsed(c, t->t0, a, 32),
		    t->t1 >= 0 ? fmt_elapsed(c, t->t1, b, 32) : "?",
		    t->t1 >= 0 ? fmt_dur(t->t1 - t->t0, d, 32) : "?");
	else
		when = dr_xstrdup("not started");
	if (c->html) {
		putf(c, "<div class=\"fail st-%s\">\n<h3>",
		     state_class(t->state));
		putf(c, "<span class=\"tag s-%s\">", state_class(t->state));
		text(c, t->state);
		put(c, "</span>");
		text(c, t->key ? t->key : "?");
		put(c, "</h3>\n<table>\n");
	} else {
		put(c, "### ");
		text(c, t->key ? t->key : "?");
		put(c, " \xe2\x80\x94 ");
		text(c, t->state);
		put(c, "\n\n");
	}
	kv(c, "Host", host);
	kv(c, "Attempts", att);
	kv(c, "Exit", ex);
	kv(c, "When", when);
	kv(c, "Message", t->message);
	if (t->backup) {
		char *bk = backup_text(t);
		kv(c, "Backup", bk);
		free(bk);
	}
	if (c->html)
		put(c, "</table>\n");
	else
		put(c, "\n");
	if (t->tail && *t->tail) {
		if (!c->html)
			put(c, "Output tail:\n\n");
		pre(c, t->tail);
	}
	if (c->html)
		put(c, "</div>\n");
	free(host);
	free(ex);
	free(when);
}

/* A cancelled task that never ran and has nothing more to say. */
static bool
quiet_cancel(const struct rtask *t)
{
	return same(t->state, "cancelled") && t->t0 < 0 &&
	       (t->tail == NULL || *t->tail == '\0') && t->attempts <= 0;
}

static void
write_failures(struct ctx *c)
{
	static const char *const head[] = {"Task", "Host", "Message"};
	size_t k, nfail = 0, nquiet = 0;

	heading(c, 2, "Failures");
	for (k = 0; k < c->nt; k++) {
		const struct rtask *t = &c->t[c->order[k]];
		if (!is_failure(t))
			continue;
		if (quiet_cancel(t))
			nquiet++;
		else
			nfail++;
	}
	if (nfail + nquiet == 0) {
		put(c, c->html ? "<p>No task failed or was cancelled.</p>\n"
		               : "No task failed or was cancelled.\n\n");
		return;
	}
	for (k = 0; k < c->nt; k++) {
		const struct rtask *t = &c->t[c->order[k]];
		if (is_failure(t) && !quiet_cancel(t))
			failure(c, t);
	}
	if (nquiet == 0)
		return;
	if (c->html)
		putf(c, "<h3>Cancelled before they started (%zu)</h3>\n",
		     nquiet);
	else
		putf(c, "### Cancelled before they started (%zu)\n\n", nquiet);
	table_begin(c, "cancelled", head, 3);
	for (k = 0; k < c->nt; k++) {
		const struct rtask *t = &c->t[c->order[k]];
		char *host;

		if (!is_failure(t) || !quiet_cancel(t))
			continue;
		host = host_text(t);
		row_begin(c, NULL);
		cell(c, NULL, t->key);
		cell(c, NULL, host);
		cell(c, NULL, t->message);
		row_end(c);
		free(host);
	}
	table_end(c);
}

/* ---- task log (the Markdown timeline, the HTML appendix) -------------- */

/* The message, and the restore point a copy used. */
static void
message_cell(struct ctx *c, const struct rtask *t)
{
	char b[64];

	if (t->backup == NULL) {
		cell(c, NULL, t->message);
		return;
	}
	cell_begin(c, NULL);
	if (t->message && *t->message) {
		text(c, t->message);
		put(c, c->html ? "<br>" : " \xc2\xb7 ");
	}
	put(c, c->html ? "<span class=\"small\">backup " : "backup ");
	code(c, t->backup);
	if (t->backup_at) {
		put(c, " (");
		text(c, fmt_wall(t->backup_at, false, b, sizeof(b)));
		put(c, ")");
	}
	if (c->html)
		put(c, "</span>");
	cell_end(c);
}

static void
write_task_log(struct ctx *c)
{
	static const char *const head[] = {
	    "Start", "End",  "Duration", "Service",  "Tenant",
	    "Step",  "Host", "State",    "Attempts", "Message"};
	char a[32], b[32], d[32], n[32], tier[32];
	int last_tier = INT32_MIN;
	size_t k;

	if (c->html)
		put(c, "<section class=\"log\">\n");
	heading(c, 2, c->html ? "Task log" : "Timeline");
	if (!c->html)
		put(c, "Times are elapsed since the run started.\n\n");
	if (c->nt == 0)
		put(c, c->html ? "<p>No tasks.</p>\n" : "No tasks.\n\n");
	for (k = 0; k < c->nt; k++) {
		const struct rtask *t = &c->t[c->order[k]];
		const struct group *g = &c->g[t->group];
		char *host;

		if (g->tier != last_tier) {
			if (last_tier != INT32_MIN)
				table_end(c);
			snprintf(tier, sizeof(tier), "Tier %d", g->tier);
			heading(c, 3, tier);
			table_begin(c, "log", head, 10);
			last_tier = g->tier;
		}
		host = host_text(t);
		row_begin(c, NULL);
		cell(c, NULL,
		     t->t0 >= 0 ? fmt_elapsed(c, t->t0, a, sizeof(a)) : "-");
		cell(c, NULL,
		     t->t1 >= 0 ? fmt_elapsed(c, t->t1, b, sizeof(b)) : "-");
		cell(c, NULL,
		     t->t0 >= 0 && t->t1 >= 0
		         ? fmt_dur(t->t1 - t->t0, d, sizeof(d))
		         : "-");
		cell(c, NULL, t->service);
		cell(c, NULL, t->tenant);
		cell(c, NULL, t->step);
		cell(c, NULL, host);
		if (c->html) {
			putf(c, "<td><span class=\"sw s-%s\"></span>",
			     state_class(t->state));
			text(c, t->state ? t->state : "-");
			put(c, "</td>");
		} else {
			cell(c, NULL, t->state);
		}
		if (t->attempts >= 0)
			snprintf(n, sizeof(n), "%lld", t->attempts);
		else
			snprintf(n, sizeof(n), "-");
		cell(c, NULL, n);
		message_cell(c, t);
		row_end(c);
		free(host);
	}
	if (last_tier != INT32_MIN)
		table_end(c);
	if (c->html)
		put(c, "</section>\n");
}

int
dr_render_report(const json_t *report, enum dr_render_format fmt, FILE *out)
{
	struct ctx c = {0};

	if (!json_is_object(report) || out == NULL ||
	    (fmt != DR_RENDER_MD && fmt != DR_RENDER_HTML))
		return DR_EINVAL;
	c.out = out;
	c.html = fmt == DR_RENDER_HTML;
	load(&c, report);
	doc_begin(&c);
	write_header(&c);
	write_summary(&c);
	if (c.html)
		write_timeline_html(&c);
	write_recovery(&c);
	write_previous(&c);
	write_failures(&c);
	write_task_log(&c);
	doc_end(&c);
	unload(&c);
	if (fflush(out) != 0 || ferror(out))
		return DR_EIO;
	return 0;
}
