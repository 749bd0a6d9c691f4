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
#include "drover/records.h"

static const struct option report_opts[] = {
    {"format", required_argument, NULL, 'f'},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

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
	report = dr_report_rebuild(&rs);
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
