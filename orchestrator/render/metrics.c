/* metrics.c: a run's outcome as a Prometheus textfile-collector file. */
#include "drover/metrics.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdarg.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "drover/common.h"

/* Task states in the order the tasks family lists them (sched.h). */
static const char *const task_states[] = {
    "pending", "running",   "retry-wait",    "succeeded", "failed",
    "skipped", "cancelled", "indeterminate", "refused"};

#define NSTATES (sizeof(task_states) / sizeof(task_states[0]))

/* Appends a label value escaped per the text exposition format. */
static void
put_label_value(struct dr_buf *b, const char *v)
{
	dr_buf_puts(b, "\"");
	for (; *v; v++) {
		if (*v == '\\')
			dr_buf_puts(b, "\\\\");
		else if (*v == '"')
			dr_buf_puts(b, "\\\"");
		else if (*v == '\n')
			dr_buf_puts(b, "\\n");
		else
			dr_buf_append(b, v, 1);
	}
	dr_buf_puts(b, "\"");
}

static void
family(struct dr_buf *b, const char *prefix, const char *name, const char *help)
{
	dr_buf_printf(b, "# HELP %s_%s %s\n# TYPE %s_%s gauge\n", prefix, name,
	              help, prefix, name);
}

/*
 * Starts a sample: PREFIX_NAME{plan="..." then the other labels, given as
 * name, value pairs ending with NULL. The caller appends " VALUE\n".
 */
static void
sample(struct dr_buf *b, const char *prefix, const char *name, const char *plan,
       ...)
{
	va_list ap;
	const char *k;

	dr_buf_printf(b, "%s_%s{plan=", prefix, name);
	put_label_value(b, plan);
	va_start(ap, plan);
	while ((k = va_arg(ap, const char *)) != NULL) {
		dr_buf_printf(b, ",%s=", k);
		put_label_value(b, va_arg(ap, const char *));
	}
	va_end(ap);
	dr_buf_puts(b, "}");
}

/* " 12.345\n": milliseconds as seconds, exactly. */
static void
put_seconds(struct dr_buf *b, uint64_t ms)
{
	dr_buf_printf(b, " %" PRIu64 ".%03u\n", ms / 1000,
	              (unsigned)(ms % 1000));
}

static void
put_int(struct dr_buf *b, long long v)
{
	dr_buf_printf(b, " %lld\n", v);
}

static const char *
sval(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* A non-negative integer member, or -1 when absent, null or negative. */
static long long
ival(const json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	if (json_is_integer(v) && json_integer_value(v) >= 0)
		return (long long)json_integer_value(v);
	if (json_is_real(v) && json_real_value(v) >= 0)
		return (long long)json_real_value(v);
	return -1;
}

/* The end of the run: ended_at, else started_at + duration, else now. */
static uint64_t
run_end_ms(const json_t *report)
{
	uint64_t ms;
	long long dur = ival(report, "duration_ms");

	if (dr_time_parse(sval(report, "ended_at"), &ms) == 0)
		return ms;
	if (dr_time_parse(sval(report, "started_at"), &ms) == 0)
		return ms + (uint64_t)(dur > 0 ? dur : 0);
	return dr_now_wall_ms();
}

/*
 * The value of the series "NAME{plan=...}" in the previous file, as
 * milliseconds; -1 when absent or unreadable.
 */
static long long
previous_value(const char *previous, const char *series)
{
	size_t n = strlen(series);
	const char *p = previous;

	while (p && *p) {
		const char *eol = strchr(p, '\n');
		if (strncmp(p, series, n) == 0 && p[n] == ' ') {
			char *end;
			double v = strtod(p + n + 1, &end);
			if (end != p + n + 1 &&
			    (*end == '\n' || *end == '\0') && v >= 0 &&
			    v < 1e15)
				return (long long)(v * 1000.0 + 0.5);
			return -1;
		}
		p = eol ? eol + 1 : NULL;
	}
	return -1;
}

/* The per-service families, in the order they are written. */
enum { SVC_RECOVERED, SVC_RECOVERY, SVC_RTO, SVC_RTO_MET, NSVC_METRICS };

static const struct svc_metric {
	const char *name, *help;
	bool seconds; /* the value is milliseconds, written as seconds */
} svc_metrics[NSVC_METRICS] = {
    [SVC_RECOVERED] = {"service_recovered",
                       "1 if the service (for the tenant; \"\" for a global "
                       "service) was recovered in the last run, 0 otherwise.",
                       false},
    [SVC_RECOVERY] = {"service_recovery_seconds",
                      "Time from the start of the last run until the service "
                      "was recovered, in seconds; absent when it was not "
                      "recovered.",
                      true},
    [SVC_RTO] = {"service_rto_seconds",
                 "Recovery time objective of the service, in seconds; absent "
                 "when the plan sets none.",
                 true},
    [SVC_RTO_MET] = {"service_rto_met",
                     "1 if the service was recovered within its RTO in the "
                     "last run, 0 otherwise.",
                     false},
};

/* Metric m of the service's report entry o; false: no sample. */
static bool
svc_value(int m, const json_t *o, long long *v)
{
	bool recovered = json_is_true(json_object_get(o, "recovered"));
	long long rto = ival(o, "rto_ms");

	switch (m) {
	case SVC_RECOVERED:
		*v = recovered;
		return true;
	case SVC_RECOVERY:
		*v = ival(o, "recovery_ms");
		return recovered && *v >= 0;
	case SVC_RTO:
		*v = rto;
		return rto > 0;
	default: /* SVC_RTO_MET; no target: no verdict */
		*v = json_is_true(json_object_get(o, "rto_met"));
		return rto > 0;
	}
}

struct svc {
	const char *service, *tenant;
	const json_t *o;
};

/* Services of the report, without repeated (service, tenant) pairs. */
static struct svc *
collect_services(const json_t *report, size_t *n)
{
	json_t *arr = json_object_get(report, "services");
	json_t *seen = json_object();
	struct svc *v = dr_xcalloc(json_array_size(arr) + 1, sizeof(*v));
	size_t i;

	*n = 0;
	for (i = 0; i < json_array_size(arr); i++) {
		const json_t *o = json_array_get(arr, i);
		const char *s = sval(o, "service");
		const char *t = sval(o, "tenant");
		char *key;

		if (s == NULL)
			continue;
		if (t == NULL)
			t = "";
		/* U+001F cannot appear unescaped in a name we compare. */
		key = dr_xasprintf("%s\x1f%s", s, t);
		if (json_object_get(seen, key) == NULL) {
			json_object_set_new(seen, key, json_true());
			v[*n].service = s;
			v[*n].tenant = t;
			v[*n].o = o;
			(*n)++;
		}
		free(key);
	}
	json_decref(seen);
	return v;
}

static int
render_states(const json_t *report, const char *const *states, size_t nstates,
              const char *previous, char **out)
{
	const char *plan = sval(report, "plan");
	const char *mode = sval(report, "mode");
	const char *state = sval(report, "state");
	const char *prefix;
	size_t counts[NSTATES] = {0}, i, j, m, nsvc, nother = 0;
	const char **other = NULL;
	size_t *other_count = NULL;
	struct svc *svc;
	struct dr_buf b;
	bool ok = state && strcmp(state, "succeeded") == 0;
	uint64_t end = run_end_ms(report);
	long long dur = ival(report, "duration_ms"), prev_ok;
	char *series;

	*out = NULL;
	if (plan == NULL || mode == NULL)
		return DR_EINVAL;
	if (strcmp(mode, "drill") == 0)
		prefix = "drover_drill";
	else if (strcmp(mode, "failover") == 0)
		prefix = "drover_failover";
	else
		return DR_EINVAL;

	dr_buf_init(&b, 0);
	family(&b, prefix, "last_run_timestamp_seconds",
	       "Time the last run of the plan ended, in seconds since the "
	       "epoch.");
	sample(&b, prefix, "last_run_timestamp_seconds", plan, NULL);
	put_seconds(&b, end);

	family(&b, prefix, "last_run_info",
	       "The last run of the plan: its id, target site and final "
	       "state (always 1).");
	sample(&b, prefix, "last_run_info", plan, "run",
	       sval(report, "run_id") ? sval(report, "run_id") : "", "to",
	       sval(report, "to") ? sval(report, "to") : "", "state",
	       state ? state : "", NULL);
	put_int(&b, 1);

	family(&b, prefix, "last_success",
	       "1 if the last run of the plan succeeded, 0 otherwise.");
	sample(&b, prefix, "last_success", plan, NULL);
	put_int(&b, ok ? 1 : 0);

	/* The previous file's series, spelled as this one would spell it. */
	{
		struct dr_buf k;
		dr_buf_init(&k, 0);
		sample(&k, prefix, "last_success_timestamp_seconds", plan,
		       NULL);
		series = dr_buf_steal(&k);
	}
	prev_ok = ok ? -1 : previous_value(previous, series);
	free(series);
	family(&b, prefix, "last_success_timestamp_seconds",
	       "Time the last successful run of the plan ended, in seconds "
	       "since the epoch; 0 when none is known.");
	sample(&b, prefix, "last_success_timestamp_seconds", plan, NULL);
	put_seconds(&b, ok ? end : prev_ok > 0 ? (uint64_t)prev_ok : 0);

	family(&b, prefix, "duration_seconds",
	       "Wall-clock duration of the last run of the plan, in seconds.");
	sample(&b, prefix, "duration_seconds", plan, NULL);
	put_seconds(&b, dur > 0 ? (uint64_t)dur : 0);

	/* Tasks by state: the known states always, others as found. */
	for (i = 0; i < nstates; i++) {
		const char *st = states[i];
		if (st == NULL)
			continue;
		for (j = 0; j < NSTATES; j++)
			if (strcmp(st, task_states[j]) == 0)
				break;
		if (j < NSTATES) {
			counts[j]++;
			continue;
		}
		for (j = 0; j < nother; j++)
			if (strcmp(st, other[j]) == 0)
				break;
		if (j == nother) {
			other =
			    dr_xrealloc(other, (nother + 1) * sizeof(*other));
			other_count = dr_xrealloc(
			    other_count, (nother + 1) * sizeof(*other_count));
			other[nother] = st;
			other_count[nother++] = 0;
		}
		other_count[j]++;
	}
	family(&b, prefix, "tasks",
	       "Tasks of the last run of the plan, by final state.");
	for (i = 0; i < NSTATES; i++) {
		sample(&b, prefix, "tasks", plan, "state", task_states[i],
		       NULL);
		put_int(&b, (long long)counts[i]);
	}
	for (i = 0; i < nother; i++) {
		sample(&b, prefix, "tasks", plan, "state", other[i], NULL);
		put_int(&b, (long long)other_count[i]);
	}
	free(other);
	free(other_count);

	svc = collect_services(report, &nsvc);
	for (m = 0; m < NSVC_METRICS; m++) {
		const struct svc_metric *f = &svc_metrics[m];
		family(&b, prefix, f->name, f->help);
		for (i = 0; i < nsvc; i++) {
			long long v;
			if (!svc_value((int)m, svc[i].o, &v))
				continue;
			sample(&b, prefix, f->name, plan, "service",
			       svc[i].service, "tenant", svc[i].tenant, NULL);
			if (f->seconds)
				put_seconds(&b, (uint64_t)v);
			else
				put_int(&b, v);
		}
	}
	free(svc);
	*out = dr_buf_steal(&b);
	return 0;
}

/* The final state of each task of the report, borrowed from it. */
static const char **
report_states(const json_t *report, size_t *n)
{
	const json_t *tasks = json_object_get(report, "tasks");
	const char **v;
	size_t i;

	*n = json_array_size(tasks);
	v = dr_xcalloc(*n + 1, sizeof(*v));
	for (i = 0; i < *n; i++)
		v[i] = sval(json_array_get(tasks, i), "state");
	return v;
}

int
dr_metrics_render(const json_t *report, const char *previous, char **out)
{
	size_t n;
	const char **states = report_states(report, &n);
	int r = render_states(report, states, n, previous, out);

	free(states);
	return r;
}

int
dr_metrics_write_states(const json_t *report, const char *const *states,
                        size_t nstates, const char *path)
{
	char *previous = NULL, *text = NULL;
	int r;

	/* The previous file's samples, when it can be read (and is not huge).
	 */
	dr_read_file(path, 16u << 20, &previous, NULL);
	r = render_states(report, states, nstates, previous, &text);

	free(previous);
	if (r != 0)
		return r;
	/* 0644: node_exporter reads it as another user (prometheus). */
	r = dr_write_file_atomic(path, text, strlen(text), 0644);
	free(text);
	return r;
}

int
dr_metrics_write(const json_t *report, const char *path)
{
	size_t n;
	const char **states = report_states(report, &n);
	int r = dr_metrics_write_states(report, states, n, path);

	free(states);
	return r;
}
