/*
 * cmd-report.c: drover report RUN [--format json|md|html] [-o FILE].
 *
 * Rebuilt from the run's journal at any time, interrupted runs included, so
 * that the report never depends on the controller having ended cleanly.
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/report.h"
#include "drover/runstate.h"

static const struct option report_opts[] = {
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

/* The report of a run as a json object, from its journal. */
static json_t *
build(const struct dr_rs_run *rs)
{
	struct dr_plan *plan;
	struct dr_graph *g;
	struct dr_task_run *runs;
	struct dr_run_info info = {0};
	char *why = NULL;
	bool changed;
	json_t *o;

	if (dr_rs_rebuild(rs, &plan, &g, &runs, &changed, &why) != 0) {
		fprintf(stderr, "drover: %s\n", why);
		free(why);
		return NULL;
	}
	if (changed)
		fprintf(stderr,
		        "drover: note: %s changed since the run; tasks are "
		        "matched by name\n",
		        rs->plan_file);
	info.run_id = rs->run_id;
	info.mode = rs->mode;
	info.user = rs->user;
	info.host = rs->host;
	info.command_line = rs->command;
	info.final_state = rs->final_state ? rs->final_state : "interrupted";
	info.start_wall_ms = rs->start_ms;
	info.end_wall_ms = rs->last_ms;
	info.incident_ms = rs->incident_ms ? rs->incident_ms : rs->start_ms;
	o = dr_report_json(g, runs, &info);
	free(runs);
	dr_graph_free(g);
	dr_plan_free(plan);
	return o;
}

int
dr_cmd_report(int argc, char **argv)
{
	const char *format = "md", *out = NULL;
	struct dr_rs_run rs;
	char *sdir = NULL, *run_dir = NULL, *why = NULL;
	json_t *report = NULL;
	bool loaded = false;
	int c, r, rc = DR_EXIT_FAIL;

	optind = 1;
	while ((c = getopt_long(argc, argv, "f:o:h", report_opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'f':
			format = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'h':
			dr_cmd_usage("report");
			return DR_EXIT_OK;
		default:
			return dr_cmd_usage("report");
		}
	}
	if (optind != argc - 1 ||
	    (strcmp(format, "json") && strcmp(format, "md") &&
	     strcmp(format, "html")))
		return dr_cmd_usage("report");
	sdir = dr_state_dir();
	run_dir = dr_xasprintf("%s/runs/%s", sdir, argv[optind]);
	r = dr_rs_load(run_dir, &rs, &why);
	loaded = r != DR_ENOTFOUND;
	if (r == DR_ENOTFOUND) {
		fprintf(stderr, "drover: no run %s under %s/runs\n",
		        argv[optind], sdir);
		goto out;
	}
	if (r != 0)
		fprintf(stderr,
		        "drover: %s\ndrover: the report shows what "
		        "came before\n",
		        why);
	report = build(&rs);
	if (report == NULL)
		goto out;
	if (dr_report_render_file(report, format, out) != 0) {
		fprintf(stderr, "drover: cannot write the report%s%s\n",
		        out ? " to " : "", out ? out : "");
		goto out;
	}
	if (out)
		fprintf(stderr, "report: %s\n", out);
	rc = DR_EXIT_OK;
out:
	json_decref(report);
	if (loaded)
		dr_rs_run_free(&rs);
	free(why);
	free(run_dir);
	free(sdir);
	return rc;
}
