/*
 * report-model.c: the report JSON read into plain arrays, every field checked
 * for its type (see report-model.h).
 */
#include "drover/report-model.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drover/common.h"

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

/* A task time as wall-clock ms (start_ms, else the RFC 3339 start), 0 if
 * there is none; made relative to the run start by dr_rm_finish(). */
static int64_t
task_wall(const json_t *o, const char *kms, const char *kstr)
{
	long long v = 0;

	if (jint(o, kms, &v) && v > 0)
		return (int64_t)v;
	return parse_time(jstr(o, kstr));
}

/* A wall-clock task time as ms since the run started, or -1. */
static int64_t
since_start(const struct dr_rm *m, int64_t w)
{
	if (w <= 0 || m->start_ms <= 0)
		return -1;
	return w > m->start_ms ? w - m->start_ms : 0;
}

/* Text of a task kept by the model: borrowed from the report, or copied
 * when the task object is freed after dr_rm_task(). */
static const char *
keep(struct dr_rm *m, const char *s)
{
	return m->own && s ? dr_arena_strdup(m->arena, s) : s;
}

bool
dr_rm_same(const char *a, const char *b)
{
	if (a == NULL || b == NULL)
		return a == b;
	return strcmp(a, b) == 0;
}

static size_t
str_hash(size_t h, const char *s)
{
	for (; s && *s; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h * 16777619u;
}

/*
 * The group of (service, tenant, tier), added when new. slot[] (cap, a
 * power of two above the most groups there can be) holds group indexes
 * plus one by hash of the three: a report of 26,000 tasks is grouped in
 * one pass instead of a search of every group per task.
 */
static size_t
group_of(struct dr_rm *m, size_t *slot, size_t cap, const char *service,
         const char *tenant, int tier, size_t *gcap)
{
	size_t h = str_hash(str_hash(2166136261u, service), tenant);

	h = (h ^ (size_t)(unsigned)tier) & (cap - 1);
	for (; slot[h] != 0; h = (h + 1) & (cap - 1)) {
		const struct dr_rm_group *g = &m->g[slot[h] - 1];
		if (g->tier == tier && dr_rm_same(g->service, service) &&
		    dr_rm_same(g->tenant, tenant))
			return slot[h] - 1;
	}
	dr_grow((void **)&m->g, gcap, m->ng + 1, sizeof(*m->g));
	m->g[m->ng] = (struct dr_rm_group){.service = service,
	                                   .tenant = tenant,
	                                   .tier = tier,
	                                   .svc = SIZE_MAX,
	                                   .order = m->ng,
	                                   .first = INT64_MAX};
	slot[h] = m->ng + 1;
	return m->ng++;
}

/* The order of (a0, a1, a2) and (b0, b1, b2), by the first that differs. */
static int
order3(int64_t a0, int64_t b0, int64_t a1, int64_t b1, int64_t a2, int64_t b2)
{
	if (a0 != b0)
		return a0 < b0 ? -1 : 1;
	if (a1 != b1)
		return a1 < b1 ? -1 : 1;
	return a2 < b2 ? -1 : a2 > b2;
}

/* Groups by tier, then first start, then as they came. */
static int
group_cmp(const void *a, const void *b)
{
	const struct dr_rm_group *x = a, *y = b;

	return order3(x->tier, y->tier, x->first, y->first, (int64_t)x->order,
	              (int64_t)y->order);
}

struct ord {
	size_t group;
	int64_t t0; /* INT64_MAX: not started */
	size_t idx;
};

/* Tasks by group, then start, then as they came. */
static int
ord_cmp(const void *a, const void *b)
{
	const struct ord *x = a, *y = b;

	return order3((int64_t)x->group, (int64_t)y->group, x->t0, y->t0,
	              (int64_t)x->idx, (int64_t)y->idx);
}

/* A duration or time in ms that the report may lack: -1 when it does. */
static int64_t
jms(const json_t *o, const char *k)
{
	long long n;

	return jint(o, k, &n) && n >= 0 ? n : -1;
}

/* The elements of the JSON array a, as a zeroed array of *n of elem
 * bytes (one more, so that it is never empty). */
static void *
records(const json_t *a, size_t elem, size_t *n)
{
	*n = json_is_array(a) ? json_array_size(a) : 0;
	return dr_xcalloc(*n + 1, elem);
}

static void
load_previous(struct dr_rm *m, const json_t *prev)
{
	size_t i;

	if (!json_is_object(prev))
		return;
	m->has_prev = true;
	m->prev_run_id = jstr(prev, "run_id");
	m->prev_state = jstr(prev, "state");
	m->prev_duration_ms = jms(prev, "duration_ms");
	prev = json_object_get(prev, "services");
	m->p = records(prev, sizeof(*m->p), &m->np);
	for (i = 0; i < m->np; i++) {
		const json_t *o = json_array_get(prev, i);

		m->p[i] =
		    (struct dr_rm_prev){.service = jstr(o, "service"),
		                        .tenant = jstr(o, "tenant"),
		                        .recovery_ms = jms(o, "recovery_ms")};
	}
}

/*
 * Names to indexes: an open-addressing table over the names of the
 * services or the tenants, so that a report of a thousand tenants is read
 * in one pass rather than a search per instance. NULL is a name too.
 */
struct names {
	const char **key;
	size_t *val;
	size_t cap; /* a power of two, at least twice the names */
};

static void
names_init(struct names *nm, size_t max)
{
	nm->cap = 16;
	while (nm->cap < 2 * max + 2)
		nm->cap *= 2;
	nm->key = dr_xcalloc(nm->cap, sizeof(*nm->key));
	nm->val = dr_xcalloc(nm->cap, sizeof(*nm->val));
}

static void
names_free(struct names *nm)
{
	free(nm->key);
	free(nm->val);
}

/* The slot of name: its own, or the empty one where it would go. */
static size_t
names_slot(const struct names *nm, const char *name)
{
	size_t h = str_hash(2166136261u, name) & (nm->cap - 1);

	while (nm->val[h] != 0 && !dr_rm_same(nm->key[h], name))
		h = (h + 1) & (nm->cap - 1);
	return h;
}

/* The index of name, or next (which is then name's) when it is new. */
static size_t
names_get(struct names *nm, const char *name, size_t next, bool *added)
{
	size_t h = names_slot(nm, name);

	*added = nm->val[h] == 0;
	if (*added) {
		nm->key[h] = name;
		nm->val[h] = next + 1;
	}
	return nm->val[h] - 1;
}

enum dr_rm_verdict
dr_rm_verdict(const struct dr_rm_svc *s)
{
	if (!s->recovered)
		return s->nfailed ? DR_RM_FAILED : DR_RM_NOTREC;
	if (s->rto_ms == 0)
		return DR_RM_NORTO;
	return s->met ? DR_RM_MET : DR_RM_MISSED;
}

static size_t
service_of(struct dr_rm *m, struct names *nm, const char *name, int tier)
{
	bool added;
	size_t v = names_get(nm, name, m->nsv, &added);

	if (added)
		m->sv[m->nsv++] = (struct dr_rm_service){.name = name,
		                                         .tier = tier,
		                                         .rec_min = -1,
		                                         .rec_max = -1,
		                                         .first = -1,
		                                         .last = -1};
	return v;
}

static size_t
tenant_of(struct dr_rm *m, struct names *nm, const char *name)
{
	bool added;
	size_t k;

	if (name == NULL)
		return SIZE_MAX;
	k = names_get(nm, name, m->ntn, &added);
	if (added)
		m->tn[m->ntn++] = (struct dr_rm_tenant){.name = name};
	return k;
}

static bool
task_failed(const struct dr_rm_task *t)
{
	return dr_rm_same(t->state, "failed") ||
	       dr_rm_same(t->state, "indeterminate");
}

/*
 * Services in group order (tier, first start), then those without tasks;
 * tenants in the order of services[] (tier, then priority), then those
 * with tasks only; and what became of every instance.
 */
static void
load_summary(struct dr_rm *m)
{
	struct names svn, tnn;
	size_t i, n = m->ng + m->ns;

	names_init(&svn, n);
	names_init(&tnn, n);
	m->sv = dr_xcalloc(n + 1, sizeof(*m->sv));
	m->tn = dr_xcalloc(n + 1, sizeof(*m->tn));
	for (i = 0; i < m->ng; i++)
		m->g[i].sv = service_of(m, &svn, m->g[i].service, m->g[i].tier);
	for (i = 0; i < m->ns; i++) {
		struct dr_rm_svc *s = &m->s[i];

		s->sv = service_of(m, &svn, s->service, s->tier);
		s->tn = tenant_of(m, &tnn, s->tenant);
		if (m->sv[s->sv].rto_ms == 0)
			m->sv[s->sv].rto_ms = s->rto_ms;
	}
	for (i = 0; i < m->ng; i++) {
		m->g[i].tn = tenant_of(m, &tnn, m->g[i].tenant);
		if (m->g[i].tenant)
			m->sv[m->g[i].sv].scoped = true;
	}
	for (i = 0; i < m->nt; i++) {
		const struct dr_rm_task *t = &m->t[i];
		const struct dr_rm_group *g = &m->g[t->group];
		struct dr_rm_service *v = &m->sv[g->sv];

		v->ntasks++;
		if (t->t0 >= 0 && (v->first < 0 || t->t0 < v->first))
			v->first = t->t0;
		if (t->t1 > v->last)
			v->last = t->t1;
		if (g->svc != SIZE_MAX && task_failed(t))
			m->s[g->svc].nfailed++;
	}
	m->grid = dr_xcalloc(m->ntn * m->nsv + 1, sizeof(*m->grid));
	for (i = 0; i < m->ntn * m->nsv; i++)
		m->grid[i] = SIZE_MAX;
	for (i = 0; i < m->ns; i++) {
		const struct dr_rm_svc *s = &m->s[i];
		struct dr_rm_service *v = &m->sv[s->sv];
		enum dr_rm_verdict vd = dr_rm_verdict(s);

		v->ninst++;
		v->verdicts[vd]++;
		if (s->has_rp && s->rpo_ms && !s->rpo_met)
			v->rpo_missed++;
		if (s->recovered && s->recovery_ms >= 0) {
			if (v->rec_min < 0 || s->recovery_ms < v->rec_min)
				v->rec_min = s->recovery_ms;
			if (s->recovery_ms > v->rec_max)
				v->rec_max = s->recovery_ms;
		}
		if (s->tn == SIZE_MAX)
			continue;
		v->scoped = true;
		m->tn[s->tn].verdicts[vd]++;
		if (m->grid[s->tn * m->nsv + s->sv] == SIZE_MAX)
			m->grid[s->tn * m->nsv + s->sv] = i;
	}
	names_free(&svn);
	names_free(&tnn);
}

/*
 * Each service instance's in the previous run (by service and tenant, the
 * first of a name), by hash: a search per instance is quadratic in the
 * tenants.
 */
static void
link_previous(struct dr_rm *m)
{
	size_t cap = 16, i, *slot;

	for (i = 0; i < m->ns; i++)
		m->s[i].prev = SIZE_MAX;
	if (m->np == 0)
		return;
	while (cap < 2 * m->np + 2)
		cap *= 2;
	slot = dr_xcalloc(cap, sizeof(*slot));
	for (i = 0; i < m->np; i++) {
		const struct dr_rm_prev *p = &m->p[i];
		size_t h =
		    str_hash(str_hash(2166136261u, p->service), p->tenant) &
		    (cap - 1);

		if (p->service == NULL)
			continue;
		while (slot[h] != 0 &&
		       !(dr_rm_same(m->p[slot[h] - 1].service, p->service) &&
		         dr_rm_same(m->p[slot[h] - 1].tenant, p->tenant)))
			h = (h + 1) & (cap - 1);
		if (slot[h] == 0)
			slot[h] = i + 1;
	}
	for (i = 0; i < m->ns; i++) {
		struct dr_rm_svc *s = &m->s[i];
		size_t h =
		    str_hash(str_hash(2166136261u, s->service), s->tenant) &
		    (cap - 1);

		if (s->service == NULL)
			continue;
		for (; slot[h] != 0; h = (h + 1) & (cap - 1)) {
			struct dr_rm_prev *p = &m->p[slot[h] - 1];
			if (dr_rm_same(p->service, s->service) &&
			    dr_rm_same(p->tenant, s->tenant)) {
				s->prev = slot[h] - 1;
				p->matched = true;
				break;
			}
		}
	}
	free(slot);
}

/* "milan, rome" from an array of names, or a name. */
static char *
site_list(const json_t *from)
{
	struct dr_buf b;
	const json_t *v;
	size_t i;

	dr_buf_init(&b, 0);
	if (json_is_string(from))
		dr_buf_puts(&b, json_string_value(from));
	json_array_foreach(from, i, v)
	{
		if (json_is_string(v))
			dr_buf_printf(&b, "%s%s", b.len ? ", " : "",
			              json_string_value(v));
	}
	return dr_buf_steal(&b);
}

static void
load_run(struct dr_rm *m, const json_t *rep)
{
	m->run_id = jstr(rep, "run_id");
	m->plan = jstr(rep, "plan");
	m->plan_file = jstr(rep, "plan_file");
	m->sha = jstr(rep, "plan_sha256");
	m->mode = jstr(rep, "mode");
	m->to = jstr(rep, "to");
	m->state = jstr(rep, "state");
	m->user = jstr(rep, "user");
	m->host = jstr(rep, "host");
	m->command = jstr(rep, "command");
	m->started_at = jstr(rep, "started_at");
	m->ended_at = jstr(rep, "ended_at");
	m->incident_at = jstr(rep, "incident_at");
	m->compromise_at = jstr(rep, "compromise_at");
	m->attestation = jstr(rep, "attestation");
	m->fencing_token = jstr(rep, "fencing_token");
	m->from = site_list(json_object_get(rep, "from"));
}

static void
load_task(struct dr_rm *m, const json_t *o, struct dr_rm_task *t)
{
	const json_t *rej = json_object_get(o, "rejected");
	long long n;
	size_t i;

	t->key = keep(m, jstr(o, "key"));
	t->service = keep(m, jstr(o, "service"));
	t->tenant = keep(m, jstr(o, "tenant"));
	t->step = keep(m, jstr(o, "step"));
	t->action = keep(m, jstr(o, "action"));
	t->site = keep(m, jstr(o, "site"));
	t->host = keep(m, jstr(o, "host"));
	t->src = keep(m, jstr(o, "source_host"));
	t->state = keep(m, jstr(o, "state"));
	t->message = keep(m, jstr(o, "message"));
	t->tail = keep(m, jstr(o, "tail"));
	t->signal = keep(m, jstr(o, "exit_signal"));
	t->backup = keep(m, jstr(o, "backup"));
	t->backup_at = keep(m, jstr(o, "backup_taken_at"));
	t->tier = jint(o, "tier", &n) ? (int)n : 0;
	t->attempts = jint(o, "attempts", &n) ? n : -1;
	t->has_exit = jint(o, "exit_status", &t->exit_status);
	t->unreachable = jbool(o, "unreachable", false);
	/* Wall clock here; since the run start in dr_rm_finish(). */
	t->t0 = task_wall(o, "start_ms", "start");
	t->t1 = task_wall(o, "end_ms", "end");
	if (json_is_array(rej)) {
		t->rp = true;
		t->nrej = json_array_size(rej);
		t->rej =
		    dr_arena_alloc(m->arena, (t->nrej + 1) * sizeof(*t->rej));
		for (i = 0; i < t->nrej; i++) {
			const json_t *r = json_array_get(rej, i);
			t->rej[i].backup = keep(m, jstr(r, "backup"));
			t->rej[i].reason = keep(m, jstr(r, "reason"));
		}
	}
}

static void
load_svc(struct dr_rm *m, const json_t *o, struct dr_rm_svc *s)
{
	long long n;

	/* recovered, when, against the RTO */
	s->tier = jint(o, "tier", &n) ? (int)n : 0;
	s->service = jstr(o, "service");
	s->tenant = jstr(o, "tenant");
	s->rto_ms = jint(o, "rto_ms", &n) && n > 0 ? n : 0;
	s->recovered = jbool(o, "recovered", false);
	s->recovered_at = jstr(o, "recovered_at");
	s->recovery_ms = jms(o, "recovery_ms");
	if (s->recovered && s->recovery_ms < 0 && m->start_ms > 0 &&
	    parse_time(s->recovered_at) > 0)
		s->recovery_ms = parse_time(s->recovered_at) - m->start_ms;
	s->met = jbool(o, "rto_met",
	               s->recovered &&
	                   (s->rto_ms == 0 || (s->recovery_ms >= 0 &&
	                                       s->recovery_ms <= s->rto_ms)));
	if (!s->recovered)
		s->met = false;
	/* restored from a restore point: data lost against the RPO */
	s->backup_at = jstr(o, "backup_taken_at");
	s->has_rp = s->backup_at != NULL ||
	            json_is_number(json_object_get(o, "data_loss_ms")) ||
	            json_is_boolean(json_object_get(o, "rpo_met"));
	s->loss_ms = jms(o, "data_loss_ms");
	s->rpo_ms = jint(o, "rpo_ms", &n) && n > 0 ? n : 0;
	s->rpo_met = jbool(o, "rpo_met",
	                   s->rpo_ms == 0 ||
	                       (s->loss_ms >= 0 && s->loss_ms <= s->rpo_ms));
	if (s->has_rp)
		m->any_rp = true;
}

void
dr_rm_begin(struct dr_rm *m, const json_t *head, size_t ntasks_hint)
{
	memset(m, 0, sizeof(*m));
	m->head = head;
	m->own = true;
	m->arena = dr_arena_new();
	load_run(m, head);
	m->tcap = ntasks_hint;
	m->t = dr_xcalloc(m->tcap + 1, sizeof(*m->t));
}

void
dr_rm_task(struct dr_rm *m, const json_t *task)
{
	struct dr_rm_task *t;
	long long n;

	if (m->nt == m->tcap)
		dr_grow((void **)&m->t, &m->tcap, m->nt + 1, sizeof(*m->t));
	t = &m->t[m->nt];
	memset(t, 0, sizeof(*t));
	t->idx = m->nt++;
	load_task(m, task, t);
	/* The earliest start stands in for a run start the report lacks. */
	if (jint(task, "start_ms", &n) && n > 0 &&
	    (m->min_start <= 0 || n < m->min_start))
		m->min_start = n;
}

void
dr_rm_load(const json_t *rep, struct dr_rm *m)
{
	const json_t *tasks = json_object_get(rep, "tasks");
	size_t i, n = json_is_array(tasks) ? json_array_size(tasks) : 0;

	dr_rm_begin(m, rep, n);
	m->own = false; /* rep outlives m: its strings are borrowed */
	for (i = 0; i < n; i++)
		dr_rm_task(m, json_array_get(tasks, i));
	dr_rm_finish(m);
}

void
dr_rm_finish(struct dr_rm *m)
{
	const json_t *rep = m->head;
	const json_t *svcs = json_object_get(rep, "services");
	size_t i, gcap = 0, *remap, *slot, scap = 16;
	struct ord *ord;
	int64_t end = 0;

	m->start_ms = parse_time(m->started_at);
	if (m->start_ms <= 0) /* no usable start: the earliest task's */
		m->start_ms = m->min_start;
	m->duration_ms = jms(rep, "duration_ms");
	if (m->duration_ms < 0 && m->start_ms > 0 &&
	    parse_time(m->ended_at) >= m->start_ms)
		m->duration_ms = parse_time(m->ended_at) - m->start_ms;
	for (i = 0; i < m->nt; i++) {
		struct dr_rm_task *t = &m->t[i];

		t->t0 = since_start(m, t->t0);
		t->t1 = since_start(m, t->t1);
		if (t->t1 >= 0 && t->t0 > t->t1)
			t->t1 = t->t0;
		if (t->t1 > end)
			end = t->t1;
		if (t->t0 > end)
			end = t->t0;
	}
	if (m->duration_ms < 0 && m->start_ms > 0)
		m->duration_ms = end;
	m->span = m->duration_ms > end ? m->duration_ms : end;
	if (m->span <= 0)
		m->span = 1;
	m->tenths = m->span < 600000;

	m->s = records(svcs, sizeof(*m->s), &m->ns);
	for (i = 0; i < m->ns; i++)
		load_svc(m, json_array_get(svcs, i), &m->s[i]);
	load_previous(m, json_object_get(rep, "previous"));
	link_previous(m);

	/* Groups: service instances in services[] order, then strays. */
	while (scap < 2 * (m->ns + m->nt) + 2)
		scap *= 2;
	slot = dr_xcalloc(scap, sizeof(*slot));
	for (i = 0; i < m->ns; i++) {
		size_t k = group_of(m, slot, scap, m->s[i].service,
		                    m->s[i].tenant, m->s[i].tier, &gcap);
		m->g[k].svc = i;
	}
	for (i = 0; i < m->nt; i++) {
		struct dr_rm_task *t = &m->t[i];
		size_t k = group_of(m, slot, scap, t->service, t->tenant,
		                    t->tier, &gcap);

		t->group = k;
		m->g[k].ntasks++;
		if (t->t0 >= 0 && t->t0 < m->g[k].first)
			m->g[k].first = t->t0;
	}
	free(slot);
	/* Drop service instances without tasks, sort, and renumber. */
	for (i = 0; i < m->ng; i++)
		if (m->g[i].ntasks == 0)
			m->g[i].tier = INT32_MAX;
	if (m->ng > 0)
		qsort(m->g, m->ng, sizeof(*m->g), group_cmp);
	remap = dr_xcalloc(m->ng + 1, sizeof(*remap));
	for (i = 0; i < m->ng; i++)
		remap[m->g[i].order] = i;
	for (i = 0; i < m->nt; i++)
		m->t[i].group = remap[m->t[i].group];
	free(remap);
	while (m->ng > 0 && m->g[m->ng - 1].ntasks == 0)
		m->ng--;

	ord = dr_xcalloc(m->nt + 1, sizeof(*ord));
	for (i = 0; i < m->nt; i++)
		ord[i] = (struct ord){
		    m->t[i].group, m->t[i].t0 < 0 ? INT64_MAX : m->t[i].t0, i};
	qsort(ord, m->nt, sizeof(*ord), ord_cmp);
	m->order = dr_xcalloc(m->nt + 1, sizeof(*m->order));
	for (i = 0; i < m->nt; i++)
		m->order[i] = ord[i].idx;
	free(ord);
	load_summary(m);
}

void
dr_rm_free(struct dr_rm *m)
{
	dr_arena_free(m->arena);
	free(m->from);
	free(m->t);
	free(m->s);
	free(m->g);
	free(m->order);
	free(m->sv);
	free(m->tn);
	free(m->grid);
	free(m->p);
	memset(m, 0, sizeof(*m));
}

/* Elapsed time since the run start: "07:02.3", "1:02:03". */
const char *
dr_rm_elapsed(const struct dr_rm *m, int64_t ms, char *buf, size_t len)
{
	long long s;

	if (m->tenths && m->span < 3600000 && ms >= 0)
		ms = (ms + 50) / 100 * 100;
	s = (long long)(ms / 1000);
	if (ms < 0)
		snprintf(buf, len, "-");
	else if (s >= 3600)
		snprintf(buf, len, "%lld:%02lld:%02lld", s / 3600, s / 60 % 60,
		         s % 60);
	else if (m->tenths)
		snprintf(buf, len, "%02lld:%02lld.%lld", s / 60, s % 60,
		         (long long)(ms % 1000 / 100));
	else
		snprintf(buf, len, "%02lld:%02lld", s / 60, s % 60);
	return buf;
}

const char *
dr_rm_duration(int64_t ms, char *buf, size_t len)
{
	if (ms < 0)
		return snprintf(buf, len, "-"), buf;
	return dr_duration_fmt((uint64_t)ms, buf, len);
}

/* An RTO the way plans write it: "8h", "30m", "1h30m", "1d". */
const char *
dr_rm_target(int64_t ms, char *buf, size_t len)
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

/* "2026-11-22T10:43:00.176Z" as "2026-11-22 10:43:00 UTC". */
const char *
dr_rm_wall(const char *s, bool time_only, char *buf, size_t len)
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

/* A CSS class suffix for a state: letters and dashes only. */
const char *
dr_rm_state_class(const char *state)
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
