/*
 * cmd-report.c: drover report RUN [--format json|md|html] [-o FILE].
 *
 * Rebuilt from the run's journal at any time, interrupted runs included, so
 * that the report never depends on the controller having ended cleanly.
 */
#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/report.h"
#include "drover/records.h"

/* -f/--format FORMAT, -o/--output FILE. */
static int
report_opt(int c, const char *arg, void *ctx)
{
	const char **v = ctx;

	if (c == 'f' || c == 'F')
		v[0] = v[2] = arg; /* v[2]: given, not the default */
	else if (c == 'o')
		v[1] = arg;
	else
		return DR_EXIT_USAGE;
	return 0;
}

int
dr_cmd_report(int argc, char **argv)
{
	const char *v[3] = {"md", NULL, NULL}, *format, *out, *id = NULL;
	struct dr_cmd_args a = {"report",   "Fo", "f:o:h", NULL,
	                        report_opt, v,    &id};
	struct dr_rs_run rs;
	char *sdir = NULL, *run_dir = NULL, *why = NULL, *rid = NULL;
	json_t *report = NULL;
	bool loaded = false;
	int r, rc;

	if ((rc = dr_cmd_parse(argc, argv, &a)) != 0)
		return rc < 0 ? DR_EXIT_OK : rc;
	rc = DR_EXIT_FAIL;
	format = v[0];
	out = v[1];
	/* -o report.html without --format means html, as for runbook. */
	if (v[2] == NULL && out) {
		if (dr_ends_with(out, ".html") || dr_ends_with(out, ".htm"))
			format = "html";
		else if (dr_ends_with(out, ".json"))
			format = "json";
		else if (dr_ends_with(out, ".pdf")) {
			fprintf(
			    stderr,
			    "drover: -o %s: the report is json, md or html; "
			    "print the html from a browser, or give "
			    "--format\n",
			    out);
			return DR_EXIT_USAGE;
		}
	}
	if (strcmp(format, "json") && strcmp(format, "md") &&
	    strcmp(format, "html")) {
		fprintf(stderr,
		        "drover: --format: \"%s\" is not json, md or html\n",
		        format);
		return DR_EXIT_USAGE;
	}
	sdir = dr_state_dir();
	if ((rc = dr_cmd_resolve_run(sdir, id, &rid)) != 0)
		goto out;
	rc = DR_EXIT_FAIL;
	r = dr_cmd_open_run(sdir, rid, &run_dir, &rs, &why);
	loaded = r != DR_ENOTFOUND;
	if (r == DR_ENOTFOUND)
		goto out;
	if (r != 0)
		fprintf(stderr,
		        "drover: %s\ndrover: the report shows what "
		        "came before\n",
		        why);
	report = dr_report_rebuild(&rs);
	if (report == NULL)
		goto out;
	if (dr_report_render_file(report, format, out) != 0) {
		fprintf(stderr, "drover: cannot write the report%s%s: %s\n",
		        out ? " to " : "", out ? out : "", strerror(errno));
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
	free(rid);
	free(sdir);
	return rc;
}
