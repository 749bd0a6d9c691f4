/*
 * cmd-history.c: drover history PLAN [--mode drill|failover] [--json]: the
 * past runs of a plan, newest first, and for drills how each service's
 * recovery time moved between the last drill and the one before it.
 *
 * A run belongs to the plan when its report (or, without one, its journal)
 * names the plan's name or the plan's file. Reads report.json when present
 * and falls back to the journal for runs that ended before writing it.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/time.h"
#include "drover/lock.h"
#include "drover/plan.h"
#include "drover/records.h"
#include "drover/runs.h"

/* --mode drill|failover, --json. */
struct history_args {
	const char *mode;
	bool json;
};

static int
history_opt(int c, const char *arg, void *ctx)
{
	struct history_args *ha = ctx;

	if (c == 'm')
		ha->mode = arg;
	else if (c == 'j')
		ha->json = true;
	else
		return DR_EXIT_USAGE;
	return 0;
}

struct hrun {
	char *id;
	char *mode;
	uint64_t start_ms;
	json_t *report; /* NULL: no report.json */
	char *state;    /* without a report: "running" or "interrupted" */
	uint64_t duration_ms;
	size_t nservices, nmet; /* services with an RTO; of them, met */
};

/* An RFC 3339 time as epoch ms; 0 when there is none. */
static uint64_t
parse_time(const char *s)
{
	uint64_t ms;

	return dr_time_parse(s, &ms) == 0 ? ms : 0;
}

static const char *
sval(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

static bool
same_file(const char *a_abs, const char *b)
{
	char *rb;
	bool same;

	/* A relative path was relative to the run's working directory. */
	if (a_abs == NULL || b == NULL || b[0] != '/')
		return false;
	rb = realpath(b, NULL);
	same = strcmp(a_abs, rb ? rb : b) == 0;
	free(rb);
	return same;
}

/*
 * Reads one run directory. Returns true and fills *h when the run belongs to
 * the plan (name, or abs_file).
 */
static bool
load_run(const char *sdir, const char *dir, const char *name,
         const char *plan_name, const char *abs_file, struct hrun *h)
{
	char *path = dr_xasprintf("%s/report.json", dir);
	json_t *rep = json_load_file(path, 0, NULL);

	free(path);
	memset(h, 0, sizeof(*h));
	if (json_is_object(rep)) {
		const char *p = sval(rep, "plan");
		json_t *svcs = json_object_get(rep, "services"), *d;
		size_t i;

		if (!((p && strcmp(p, plan_name) == 0) ||
		      same_file(abs_file, sval(rep, "plan_file")))) {
			json_decref(rep);
			return false;
		}
		h->id = dr_xstrdup(sval(rep, "run_id") ? sval(rep, "run_id")
		                                       : name);
		h->mode =
		    dr_xstrdup(sval(rep, "mode") ? sval(rep, "mode") : "?");
		h->start_ms = parse_time(sval(rep, "started_at"));
		h->state =
		    dr_xstrdup(sval(rep, "state") ? sval(rep, "state") : "?");
		d = json_object_get(rep, "duration_ms");
		h->duration_ms = json_is_integer(d) && json_integer_value(d) > 0
		                     ? (uint64_t)json_integer_value(d)
		                     : 0;
		/* Only services with an RTO have a verdict. */
		for (i = 0; i < json_array_size(svcs); i++) {
			json_t *s = json_array_get(svcs, i);
			if (!json_is_integer(json_object_get(s, "rto_ms")))
				continue;
			h->nservices++;
			if (json_is_true(json_object_get(s, "rto_met")))
				h->nmet++;
		}
		h->report = rep;
		return true;
	}
	json_decref(rep);
	{
		struct dr_rs_run rs;
		char *why = NULL;
		int r = dr_rs_load(dir, &rs, &why);
		bool mine = false;

		free(why);
		if (r == DR_ENOTFOUND)
			return false;
		if (rs.run_id &&
		    ((rs.plan_name && strcmp(rs.plan_name, plan_name) == 0) ||
		     same_file(abs_file, rs.plan_file))) {
			mine = true;
			h->id = dr_xstrdup(rs.run_id);
			h->mode = dr_xstrdup(rs.mode ? rs.mode : "?");
			h->start_ms = rs.start_ms;
			h->state = dr_xstrdup(dr_cmd_run_state(sdir, &rs));
			h->duration_ms = rs.last_ms > rs.start_ms
			                     ? rs.last_ms - rs.start_ms
			                     : 0;
		}
		dr_rs_run_free(&rs);
		return mine;
	}
}

static void
hrun_free(struct hrun *h)
{
	free(h->id);
	free(h->mode);
	free(h->state);
	json_decref(h->report);
}

/* Newest first; the run id (which starts with its UTC time) breaks ties. */
static int
cmp_newest(const void *a, const void *b)
{
	const struct hrun *x = a, *y = b;

	return dr_cmp_newest(x->start_ms, x->id, y->start_ms, y->id);
}

static const char *
when(uint64_t ms, char *buf, size_t len)
{
	time_t t = (time_t)(ms / 1000);
	struct tm tm;

	if (ms == 0)
		return "?";
	gmtime_r(&t, &tm);
	strftime(buf, len, "%Y-%m-%d %H:%MZ", &tm);
	return buf;
}

/* The services[] entry of rep for (service, tenant); NULL when absent. */
static const json_t *
find_service(const json_t *rep, const char *service, const char *tenant)
{
	json_t *svcs = json_object_get(rep, "services");
	size_t i;

	for (i = 0; i < json_array_size(svcs); i++) {
		const json_t *o = json_array_get(svcs, i);
		const char *s = sval(o, "service"), *t = sval(o, "tenant");
		if (s && strcmp(s, service) == 0 &&
		    strcmp(t ? t : "", tenant ? tenant : "") == 0)
			return o;
	}
	return NULL;
}

/* Recovery ms of a services[] entry, or -1 when it was not recovered. */
static long long
recovery(const json_t *o)
{
	json_t *v = json_object_get(o, "recovery_ms");

	if (o == NULL || !json_is_true(json_object_get(o, "recovered")) ||
	    !json_is_integer(v))
		return -1;
	return (long long)json_integer_value(v);
}

/*
 * One line per service of the last drill against the previous one, or one
 * JSON object per service appended to arr when arr is not NULL.
 */
static void
compare(const struct hrun *last, const struct hrun *prev, json_t *arr)
{
	json_t *svcs = json_object_get(last->report, "services");
	size_t i;

	for (i = 0; i < json_array_size(svcs); i++) {
		const json_t *o = json_array_get(svcs, i);
		const char *s = sval(o, "service"), *t = sval(o, "tenant");
		const json_t *po;
		long long now, before;
		char name[256], a[32], b[32], c[32];

		if (s == NULL)
			continue;
		po = find_service(prev->report, s, t);
		now = recovery(o);
		before = po ? recovery(po) : -1;
		if (arr) {
			json_t *x = json_object();
			json_object_set_new(x, "service", json_string(s));
			json_object_set_new(x, "tenant",
			                    t ? json_string(t) : json_null());
			json_object_set_new(x, "recovery_ms",
			                    now >= 0 ? json_integer(now)
			                             : json_null());
			json_object_set_new(x, "previous_recovery_ms",
			                    before >= 0 ? json_integer(before)
			                                : json_null());
			json_object_set_new(x, "delta_ms",
			                    now >= 0 && before >= 0
			                        ? json_integer(now - before)
			                        : json_null());
			json_object_set_new(
			    x, "rto_met",
			    json_boolean(
			        json_is_true(json_object_get(o, "rto_met"))));
			json_array_append_new(arr, x);
			continue;
		}
		snprintf(name, sizeof(name), "%s%s%s", s, t ? "/" : "",
		         t ? t : "");
		printf("  %-40s ", name);
		if (now < 0)
			printf("not recovered");
		else
			printf("%s",
			       dr_duration_fmt((uint64_t)now, a, sizeof(a)));
		if (po == NULL)
			printf(" (not in the previous drill)");
		else if (before < 0)
			printf(" (previous not recovered)");
		else if (now < 0)
			printf(" (previous %s)",
			       dr_duration_fmt((uint64_t)before, b, sizeof(b)));
		else if (now == before)
			printf(" (previous %s, same)",
			       dr_duration_fmt((uint64_t)before, b, sizeof(b)));
		else
			printf(" (previous %s, %s by %s)",
			       dr_duration_fmt((uint64_t)before, b, sizeof(b)),
			       now < before ? "faster" : "slower",
			       dr_duration_fmt((uint64_t)(now < before
			                                      ? before - now
			                                      : now - before),
			                       c, sizeof(c)));
		if (!json_is_true(json_object_get(o, "rto_met")))
			printf("  RTO missed");
		printf("\n");
	}
}

static json_t *
run_json(const struct hrun *h)
{
	json_t *o = json_object();
	char buf[40];

	json_object_set_new(o, "run_id", json_string(h->id));
	json_object_set_new(o, "mode", json_string(h->mode));
	json_object_set_new(o, "started_at",
	                    h->start_ms ? json_string(dr_time_fmt(
	                                      h->start_ms, buf, sizeof(buf)))
	                                : json_null());
	json_object_set_new(o, "state", json_string(h->state));
	json_object_set_new(o, "report", json_boolean(h->report != NULL));
	json_object_set_new(o, "duration_ms",
	                    json_integer((json_int_t)h->duration_ms));
	if (h->report) {
		json_object_set_new(o, "services_with_rto",
		                    json_integer((json_int_t)h->nservices));
		json_object_set_new(o, "services_rto_met",
		                    json_integer((json_int_t)h->nmet));
	}
	return o;
}

static void
print_table(const struct hrun *v, size_t n)
{
	size_t i;

	printf("%-44s %-8s %-17s %-11s %-8s %s\n", "RUN", "MODE", "STARTED",
	       "OUTCOME", "DURATION", "RTO MET");
	for (i = 0; i < n; i++) {
		const struct hrun *h = &v[i];
		char w[32], d[32];

		printf("%-44s %-8s %-17s ", h->id, h->mode,
		       when(h->start_ms, w, sizeof(w)));
		if (h->report == NULL) {
			printf("%s, no report (drover report %s rebuilds it)\n",
			       h->state, h->id);
			continue;
		}
		printf("%-11s %-8s %zu/%zu\n", h->state,
		       dr_duration_fmt(h->duration_ms, d, sizeof(d)), h->nmet,
		       h->nservices);
	}
}

int
dr_cmd_history(int argc, char **argv)
{
	struct history_args ha = {0};
	const char *mode, *path = NULL;
	struct dr_cmd_args a = {"history",   "mj", NULL, NULL,
	                        history_opt, &ha,  &path};
	bool json;
	struct dr_plan *plan = NULL;
	char *sdir = NULL, *abs = NULL;
	struct dr_runs runs;
	struct hrun *v = NULL;
	const struct hrun *last = NULL, *prev = NULL;
	size_t n = 0, i, k;
	int rc;

	if ((rc = dr_cmd_parse(argc, argv, &a)) != 0)
		return rc < 0 ? DR_EXIT_OK : rc;
	mode = ha.mode;
	json = ha.json;
	if (mode && strcmp(mode, "drill") && strcmp(mode, "failover"))
		return dr_cmd_usage("history");
	if (dr_cmd_load_plan(path, &plan) != 0)
		return DR_EXIT_FAIL;
	abs = realpath(plan->path, NULL);
	sdir = dr_state_dir();
	dr_runs_list(sdir, &runs);
	for (k = 0; k < runs.n; k++) {
		char *dir = dr_runs_dir(sdir, runs.ids[k]);
		struct hrun h;

		if (load_run(sdir, dir, runs.ids[k], plan->name,
		             abs ? abs : plan->path, &h)) {
			if (mode && strcmp(h.mode, mode) != 0) {
				hrun_free(&h);
			} else {
				v = dr_xrealloc(v, (n + 1) * sizeof(*v));
				v[n++] = h;
			}
		}
		free(dir);
	}
	dr_runs_free(&runs);
	if (n > 1)
		qsort(v, n, sizeof(*v), cmp_newest);
	/* The last two drills that have a report. */
	for (i = 0; i < n && (mode == NULL || strcmp(mode, "drill") == 0);
	     i++) {
		if (v[i].report == NULL || strcmp(v[i].mode, "drill") != 0)
			continue;
		if (last == NULL) {
			last = &v[i];
		} else {
			prev = &v[i];
			break;
		}
	}

	if (json) {
		json_t *o = json_object(), *arr = json_array();
		json_object_set_new(o, "plan", json_string(plan->name));
		json_object_set_new(o, "plan_file",
		                    json_string(abs ? abs : plan->path));
		for (i = 0; i < n; i++)
			json_array_append_new(arr, run_json(&v[i]));
		json_object_set_new(o, "runs", arr);
		if (last && prev) {
			json_t *cmp = json_object(), *svcs = json_array();
			json_object_set_new(cmp, "run", json_string(last->id));
			json_object_set_new(cmp, "previous",
			                    json_string(prev->id));
			compare(last, prev, svcs);
			json_object_set_new(cmp, "services", svcs);
			json_object_set_new(o, "drill_comparison", cmp);
		} else {
			json_object_set_new(o, "drill_comparison", json_null());
		}
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
	} else if (n == 0) {
		printf("no %s%sruns of %s under %s/runs\n", mode ? mode : "",
		       mode ? " " : "", plan->name, sdir);
	} else {
		print_table(v, n);
		if (last && prev) {
			printf("\nlast drill %s against the previous one %s:\n",
			       last->id, prev->id);
			compare(last, prev, NULL);
		} else if (last) {
			printf("\none drill with a report so far: nothing to "
			       "compare it with\n");
		}
	}
	for (i = 0; i < n; i++)
		hrun_free(&v[i]);
	free(v);
	free(sdir);
	free(abs);
	dr_plan_free(plan);
	return DR_EXIT_OK;
}
