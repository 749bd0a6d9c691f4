/* report.c: per-task and per-service results, report.json. */
#include "drover/report.h"
#include "drover/scan.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/report-doc.h"
#include "drover/report-model.h"
#include "drover/records.h"
#include "drover/runs.h"
#include "drover/resume.h"

static bool
counts_as_recovered(const struct dr_task_run *r)
{
	return r->state == DR_TS_SUCCEEDED || r->state == DR_TS_REFUSED ||
	       (r->state == DR_TS_SKIPPED && r->unreachable);
}

/*
 * Tier, then tenant priority (global first), then service name; then as
 * the plan lists the tenants (a sort of 6,500 instances by insertion was
 * quadratic in the tenants).
 */
static int
recovery_cmp(const void *a, const void *b)
{
	const struct dr_recovery *x = a, *y = b;
	int px = x->tenant ? x->tenant->priority : 0;
	int py = y->tenant ? y->tenant->priority : 0;
	int c;

	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	if (px != py)
		return px < py ? -1 : 1;
	if ((c = strcmp(x->service->name, y->service->name)) != 0)
		return c;
	if (x->tenant == NULL || y->tenant == NULL)
		return (x->tenant != NULL) - (y->tenant != NULL);
	return x->tenant < y->tenant ? -1 : x->tenant > y->tenant;
}

void
dr_report_recoveries(const struct dr_graph *g, const struct dr_task_run *runs,
                     uint64_t start, uint64_t incident,
                     struct dr_recovery **out, size_t *n)
{
	const struct dr_plan *p = g->plan;
	size_t ninst = p->nservices * (p->ntenants + 1), i, k = 0;
	struct dr_recovery *v = dr_xcalloc(ninst + 1, sizeof(*v));

	for (i = 0; i < ninst; i++) {
		v[i].service = &p->services[i / (p->ntenants + 1)];
		v[i].tenant = i % (p->ntenants + 1)
		                  ? &p->tenants[i % (p->ntenants + 1) - 1]
		                  : NULL;
		v[i].tier = v[i].service->tier;
		v[i].recovered = true;
	}
	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		const struct dr_task_run *r = &runs[i];
		size_t idx;
		struct dr_recovery *x;

		if (t->hunt) /* no service of the plan: not a recovery */
			continue;
		idx = (size_t)(t->service - p->services) * (p->ntenants + 1) +
		      (t->tenant ? (size_t)(t->tenant - p->tenants) + 1 : 0);
		x = &v[idx];

		x->ntasks++;
		if (r->backup_ms &&
		    (x->backup_ms == 0 || r->backup_ms < x->backup_ms))
			x->backup_ms = r->backup_ms;
		if (!counts_as_recovered(r))
			x->recovered = false;
		else if (r->end_wall_ms > x->recovered_wall_ms)
			x->recovered_wall_ms = r->end_wall_ms;
	}
	for (i = 0; i < ninst; i++) {
		if (v[i].ntasks == 0)
			continue;
		if (!v[i].recovered)
			v[i].recovered_wall_ms = 0;
		v[i].recovered_ms =
		    v[i].recovered && v[i].recovered_wall_ms > start
		        ? v[i].recovered_wall_ms - start
		        : 0;
		if (v[i].backup_ms && incident > v[i].backup_ms)
			v[i].data_loss_ms = incident - v[i].backup_ms;
		v[i].met = v[i].recovered &&
		           (v[i].service->rto_ms == 0 ||
		            v[i].recovered_ms <= v[i].service->rto_ms);
		v[k++] = v[i];
	}
	if (k > 1)
		qsort(v, k, sizeof(*v), recovery_cmp);
	*out = v;
	*n = k;
}

static json_t *
jtime(uint64_t ms)
{
	char buf[40];

	if (ms == 0)
		return json_null();
	return json_string(dr_time_fmt(ms, buf, sizeof(buf)));
}

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* The report's members before its tasks: the run itself. */
static json_t *
run_json(const struct dr_graph *g, const struct dr_run_info *info)
{
	const struct dr_plan *p = g->plan;
	json_t *root = json_object(), *from = json_array();
	size_t i;

	json_object_set_new(root, "run_id", json_string(info->run_id));
	json_object_set_new(root, "plan", json_string(p->name));
	json_object_set_new(root, "plan_file", json_string(p->path));
	json_object_set_new(root, "plan_sha256", json_string(p->sha256));
	json_object_set_new(root, "mode", json_string(info->mode));
	for (i = 0; i < g->nfrom; i++)
		json_array_append_new(from, json_string(g->from[i]->name));
	json_object_set_new(root, "from", from);
	json_object_set_new(root, "to", json_string(g->to->name));
	json_object_set_new(root, "state", json_string(info->final_state));
	json_object_set_new(root, "user", jstr(info->user));
	json_object_set_new(root, "host", jstr(info->host));
	json_object_set_new(root, "command", jstr(info->command_line));
	json_object_set_new(root, "started_at", jtime(info->start_wall_ms));
	json_object_set_new(root, "ended_at", jtime(info->end_wall_ms));
	if (info->incident_ms)
		json_object_set_new(root, "incident_at",
		                    jtime(info->incident_ms));
	if (info->compromise_ms)
		json_object_set_new(root, "compromise_at",
		                    jtime(info->compromise_ms));
	json_object_set_new(root, "duration_ms",
	                    json_integer((json_int_t)(info->end_wall_ms -
	                                              info->start_wall_ms)));
	return root;
}

/* One task's member of "tasks". */
static json_t *
task_json(const struct dr_task *t, const struct dr_task_run *tr)
{
	json_t *o = json_object();

	json_object_set_new(o, "key", json_string(t->key));
	json_object_set_new(o, "service", json_string(t->service->name));
	json_object_set_new(o, "tenant",
	                    jstr(t->tenant ? t->tenant->name : NULL));
	json_object_set_new(o, "tier", json_integer(t->tier));
	json_object_set_new(o, "step", json_string(t->step->name));
	json_object_set_new(o, "action",
	                    json_string(dr_action_name(t->step->action)));
	json_object_set_new(o, "site", jstr(t->site ? t->site->name : NULL));
	json_object_set_new(o, "host", jstr(t->host ? t->host->name : NULL));
	json_object_set_new(o, "source_host",
	                    jstr(t->src_host ? t->src_host->name : NULL));
	json_object_set_new(o, "state",
	                    json_string(dr_task_state_name(tr->state)));
	json_object_set_new(o, "unreachable", json_boolean(tr->unreachable));
	json_object_set_new(o, "attempts", json_integer(tr->attempts));
	json_object_set_new(o, "exit_status",
	                    tr->exit_code >= 0 ? json_integer(tr->exit_code)
	                                       : json_null());
	json_object_set_new(o, "exit_signal",
	                    tr->signal[0] ? json_string(tr->signal)
	                                  : json_null());
	json_object_set_new(o, "message", jstr(tr->message));
	if (tr->backup) {
		json_object_set_new(o, "backup", json_string(tr->backup));
		json_object_set_new(o, "backup_taken_at", jtime(tr->backup_ms));
	}
	if (t->src_path && strchr(t->src_path, '*')) {
		/* A restore-point set: the point used (null: none) and every
		 * point passed over, with why. */
		json_t *rj =
		    tr->rejected ? json_loads(tr->rejected, 0, NULL) : NULL;
		if (!tr->backup)
			json_object_set_new(o, "backup", json_null());
		json_object_set_new(o, "rejected", rj ? rj : json_array());
		if (t->qdir)
			json_object_set_new(o, "quarantine",
			                    json_string(t->qdir));
	}
	if (tr->tail && tr->state != DR_TS_SUCCEEDED)
		json_object_set_new(o, "tail", json_string(tr->tail));
	json_object_set_new(o, "start", jtime(tr->start_wall_ms));
	json_object_set_new(o, "end", jtime(tr->end_wall_ms));
	json_object_set_new(o, "start_ms",
	                    json_integer((json_int_t)tr->start_wall_ms));
	json_object_set_new(o, "end_ms",
	                    json_integer((json_int_t)tr->end_wall_ms));
	return o;
}

/* "services": every service instance against its RTO (and RPO). */
static json_t *
services_json(const struct dr_graph *g, const struct dr_task_run *runs,
              const struct dr_run_info *info)
{
	json_t *services = json_array();
	struct dr_recovery *rec;
	size_t i, nrec;

	dr_report_recoveries(g, runs, info->start_wall_ms, info->incident_ms,
	                     &rec, &nrec);
	for (i = 0; i < nrec; i++) {
		json_t *o = json_object();
		json_object_set_new(o, "service",
		                    json_string(rec[i].service->name));
		json_object_set_new(
		    o, "tenant",
		    jstr(rec[i].tenant ? rec[i].tenant->name : NULL));
		json_object_set_new(o, "tier", json_integer(rec[i].tier));
		json_object_set_new(
		    o, "rto_ms",
		    rec[i].service->rto_ms
		        ? json_integer((json_int_t)rec[i].service->rto_ms)
		        : json_null());
		json_object_set_new(o, "recovered",
		                    json_boolean(rec[i].recovered));
		json_object_set_new(o, "recovered_at",
		                    jtime(rec[i].recovered_wall_ms));
		json_object_set_new(
		    o, "recovery_ms",
		    rec[i].recovered
		        ? json_integer((json_int_t)rec[i].recovered_ms)
		        : json_null());
		/* No target, no verdict: null, not "met". */
		json_object_set_new(o, "rto_met",
		                    rec[i].service->rto_ms
		                        ? json_boolean(rec[i].met)
		                        : json_null());
		if (rec[i].backup_ms) {
			uint64_t rpo = rec[i].service->rpo_ms;
			json_object_set_new(o, "backup_taken_at",
			                    jtime(rec[i].backup_ms));
			json_object_set_new(
			    o, "data_loss_ms",
			    json_integer((json_int_t)rec[i].data_loss_ms));
			json_object_set_new(o, "rpo_ms",
			                    rpo ? json_integer((json_int_t)rpo)
			                        : json_null());
			json_object_set_new(
			    o, "rpo_met",
			    rpo ? json_boolean(rec[i].data_loss_ms <= rpo)
			        : json_null());
		}
		json_array_append_new(services, o);
	}
	free(rec);
	return services;
}

json_t *
dr_report_json(const struct dr_graph *g, const struct dr_task_run *runs,
               const struct dr_run_info *info)
{
	json_t *root = run_json(g, info), *tasks = json_array();
	size_t i;

	for (i = 0; i < g->ntasks; i++)
		json_array_append_new(tasks, task_json(&g->tasks[i], &runs[i]));
	json_object_set_new(root, "tasks", tasks);
	json_object_set_new(root, "services", services_json(g, runs, info));
	return root;
}

json_t *
dr_report_head(const struct dr_graph *g, const struct dr_task_run *runs,
               const struct dr_run_info *info)
{
	json_t *root = run_json(g, info);

	json_object_set_new(root, "services", services_json(g, runs, info));
	return root;
}

/*
 * A memstream's text, once closed, to path (atomically replaced) or, with
 * path NULL, to stdout; r is how the rendering went. 0, or DR_EIO with
 * errno set.
 */
static int
write_text(FILE *f, char **text, size_t *len, const char *path, int r)
{
	if (fclose(f) != 0 && r == 0)
		r = DR_EIO;
	if (r == 0 && path)
		r = dr_write_file_atomic(path, *text, *len, 0600);
	else if (r == 0 && fwrite(*text, 1, *len, stdout) != *len)
		r = DR_EIO;
	if (r != 0 && errno == 0)
		errno = EIO;
	free(*text);
	*text = NULL;
	return r;
}

int
dr_report_render_file(const json_t *report, const char *format,
                      const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f;
	int r;

	errno = 0;
	if ((f = open_memstream(&text, &len)) == NULL)
		return DR_EIO;
	if (strcmp(format, "json") == 0) {
		r = json_dumpf(report, f, JSON_INDENT(2) | JSON_PRESERVE_ORDER)
		        ? DR_EIO
		        : 0;
		fputc('\n', f);
	} else {
		r = dr_render_report(
		    report,
		    strcmp(format, "html") == 0 ? DR_RENDER_HTML : DR_RENDER_MD,
		    f);
	}
	return write_text(f, &text, &len, path, r);
}

/*
 * Writes v as json_dumps() with JSON_INDENT(2) would inside a document, at
 * depth: its line breaks indented by two spaces a level (a JSON string
 * holds no raw line break, so every one is structure).
 */
static int
dump_at(FILE *f, const json_t *v, int depth)
{
	char *text = json_dumps(v, JSON_INDENT(2) | JSON_PRESERVE_ORDER |
	                               JSON_ENCODE_ANY);
	const char *p, *nl;

	if (text == NULL)
		return DR_EIO;
	for (p = text; (nl = strchr(p, '\n')) != NULL; p = nl + 1)
		fprintf(f, "%.*s\n%*s", (int)(nl - p), p, depth * 2, "");
	fputs(p, f);
	free(text);
	return 0;
}

/* One member of the document's top level: "  \"key\": value". */
static int
member(FILE *f, bool first, const char *key, const json_t *v)
{
	json_t *k = json_string(key);
	int r;

	fputs(first ? "{\n  " : ",\n  ", f);
	r = k ? dump_at(f, k, 1) : DR_EIO;
	json_decref(k);
	fputs(": ", f);
	return r ? r : dump_at(f, v, 1);
}

/* The member "tasks", each task built, written and dropped in turn. */
static void
stream_tasks(FILE *f, bool first, const struct dr_graph *g,
             const struct dr_task_run *runs, struct dr_rm *m, int *r)
{
	size_t i;

	fputs(first ? "{\n  \"tasks\": [" : ",\n  \"tasks\": [", f);
	for (i = 0; i < g->ntasks; i++) {
		json_t *o = task_json(&g->tasks[i], &runs[i]);
		fputs(i ? ",\n    " : "\n    ", f);
		if (*r == 0)
			*r = dump_at(f, o, 2);
		dr_rm_task(m, o);
		json_decref(o);
	}
	fputs(g->ntasks ? "\n  ]" : "]", f);
}

/*
 * report.json from head and the tasks, byte for byte what json_dumpf() of
 * the whole report writes; each task also goes into m. The tasks come
 * before "services", as in dr_report_json().
 */
static int
stream_json(FILE *f, const json_t *head, const struct dr_graph *g,
            const struct dr_task_run *runs, struct dr_rm *m)
{
	const char *key;
	const json_t *v;
	bool first = true, tasks_done = false;
	int r = 0;

	json_object_foreach((json_t *)head, key, v)
	{
		if (!tasks_done && strcmp(key, "services") == 0) {
			stream_tasks(f, first, g, runs, m, &r);
			first = false;
			tasks_done = true;
		}
		if (r == 0)
			r = member(f, first, key, v);
		first = false;
	}
	if (!tasks_done) { /* a head without services: the tasks last */
		stream_tasks(f, first, g, runs, m, &r);
		first = false;
	}
	fputs(first ? "{}\n" : "\n}\n", f);
	return r;
}

void
dr_report_write_run(const json_t *head, const struct dr_graph *g,
                    const struct dr_task_run *runs, const char *run_dir,
                    void (*done)(void *arg, const char *path, int err),
                    void *arg)
{
	static const char *const docs[] = {"md", "html"};
	struct dr_rm m;
	char *text = NULL, *path;
	size_t len = 0, i;
	FILE *f;
	int r;

	dr_rm_begin(&m, head, g->ntasks);
	path = dr_xasprintf("%s/report.json", run_dir);
	errno = 0;
	if ((f = open_memstream(&text, &len)) == NULL)
		r = DR_EIO;
	else
		r = write_text(f, &text, &len, path,
		               stream_json(f, head, g, runs, &m));
	done(arg, path, r ? (errno ? errno : EIO) : 0);
	free(path);
	dr_rm_finish(&m);
	for (i = 0; i < DR_NELEM(docs); i++) {
		path = dr_xasprintf("%s/report.%s", run_dir, docs[i]);
		errno = 0;
		if ((f = open_memstream(&text, &len)) == NULL) {
			r = DR_EIO;
		} else {
			r = dr_render_report_model(
			    &m, i ? DR_RENDER_HTML : DR_RENDER_MD, f);
			r = write_text(f, &text, &len, path, r);
		}
		done(arg, path, r ? (errno ? errno : EIO) : 0);
		free(path);
	}
	dr_rm_free(&m);
}

json_t *
dr_report_previous(const char *state_dir, const char *plan, const char *mode,
                   const char *exclude_run)
{
	struct dr_runs rs;
	json_t *found = NULL, *out;
	size_t i;

	/* The newest run of the plan in this mode that started before. */
	dr_runs_list(state_dir, &rs);
	for (i = 0; i < rs.n && found == NULL; i++) {
		json_t *r;
		if (strcmp(rs.ids[i], exclude_run) >= 0)
			continue;
		r = dr_runs_report(state_dir, rs.ids[i]);
		if (r && json_is_string(json_object_get(r, "plan")) &&
		    strcmp(json_string_value(json_object_get(r, "plan")),
		           plan) == 0 &&
		    json_is_string(json_object_get(r, "mode")) &&
		    strcmp(json_string_value(json_object_get(r, "mode")),
		           mode) == 0)
			found = r;
		else
			json_decref(r);
	}
	dr_runs_free(&rs);
	if (found == NULL)
		return NULL;
	out = json_object();
	json_object_set(out, "run_id", json_object_get(found, "run_id"));
	json_object_set(out, "state", json_object_get(found, "state"));
	json_object_set(out, "duration_ms",
	                json_object_get(found, "duration_ms"));
	{
		json_t *svcs = json_array(),
		       *src = json_object_get(found, "services");
		for (i = 0; i < json_array_size(src); i++) {
			json_t *s = json_array_get(src, i), *o = json_object();
			json_object_set(o, "service",
			                json_object_get(s, "service"));
			json_object_set(o, "tenant",
			                json_object_get(s, "tenant"));
			json_object_set(o, "recovery_ms",
			                json_object_get(s, "recovery_ms"));
			json_object_set(o, "rto_met",
			                json_object_get(s, "rto_met"));
			json_array_append_new(svcs, o);
		}
		json_object_set_new(out, "services", svcs);
	}
	json_decref(found);
	return out;
}

/* A run's plan, graph, task records and facts, from its journal. */
static int
rebuild(const struct dr_rs_run *rs, struct dr_plan **plan, struct dr_graph **g,
        struct dr_task_run **runs, struct dr_run_info *info)
{
	char *why = NULL;
	bool changed;

	if (dr_resume_rebuild(rs, plan, g, runs, &changed, &why) != 0) {
		fprintf(stderr, "drover: %s\n", why);
		free(why);
		return -1;
	}
	if (changed)
		fprintf(stderr,
		        "drover: note: %s changed since the run; tasks are "
		        "matched by name\n",
		        rs->plan_file);
	memset(info, 0, sizeof(*info));
	info->run_id = rs->run_id;
	info->mode = rs->mode;
	info->user = rs->user;
	info->host = rs->host;
	info->command_line = rs->command;
	info->final_state = rs->final_state ? rs->final_state : "interrupted";
	info->start_wall_ms = rs->start_ms;
	info->end_wall_ms = rs->last_ms;
	info->incident_ms = rs->incident_ms ? rs->incident_ms : rs->start_ms;
	{
		struct dr_verdicts *vs = dr_verdicts_new();
		uint64_t c;
		if (rs->verdicts)
			dr_verdicts_load(vs, rs->verdicts);
		c = dr_verdicts_compromise(vs);
		info->compromise_ms = rs->clean_before_ms;
		if (c && (info->compromise_ms == 0 || c < info->compromise_ms))
			info->compromise_ms = c;
		dr_verdicts_free(vs);
	}
	return 0;
}

/* The report of a run as a json object, from its journal. */
json_t *
dr_report_rebuild(const struct dr_rs_run *rs)
{
	struct dr_plan *plan;
	struct dr_graph *g;
	struct dr_task_run *runs;
	struct dr_run_info info;
	json_t *o;

	if (rebuild(rs, &plan, &g, &runs, &info) != 0)
		return NULL;
	o = dr_report_json(g, runs, &info);
	free(runs);
	dr_graph_free(g);
	dr_plan_free(plan);
	return o;
}

int
dr_report_rebuild_write(const struct dr_rs_run *rs, const char *run_dir,
                        void (*done)(void *arg, const char *path, int err),
                        void *arg)
{
	struct dr_plan *plan;
	struct dr_graph *g;
	struct dr_task_run *runs;
	struct dr_run_info info;
	json_t *head;

	if (rebuild(rs, &plan, &g, &runs, &info) != 0)
		return -1;
	head = dr_report_head(g, runs, &info);
	dr_report_write_run(head, g, runs, run_dir, done, arg);
	json_decref(head);
	free(runs);
	dr_graph_free(g);
	dr_plan_free(plan);
	return 0;
}
