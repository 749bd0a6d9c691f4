/*
 * cmd-runbook.c: drover runbook PLAN --from S[,S] --to S [--format md|html]
 * [--known-hosts FILE] [-o FILE] [--drill]: the printable runbook.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/graph.h"
#include "drover/plan.h"
#include "drover/runbook.h"

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/*
 * Writes the runbook to path, atomically and durably (see
 * dr_write_file_atomic). Returns 0 or DR_EXIT_FAIL after saying why.
 */
static int
write_file(const struct dr_graph *g, const struct dr_runbook_opts *o,
           const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	if (f == NULL) {
		fprintf(stderr, "drover: runbook: %s\n", strerror(errno));
		return DR_EXIT_FAIL;
	}
	r = dr_runbook_write(g, o, f);
	if (fclose(f) != 0 && r == 0)
		r = DR_EIO;
	if (r != 0) {
		fprintf(stderr, "drover: runbook: %s: %s\n", path,
		        dr_strerror(r));
	} else if (dr_write_file_atomic(path, text, len, 0644) != 0) {
		fprintf(stderr, "drover: runbook: cannot write %s: %s\n", path,
		        strerror(errno));
		r = DR_EIO;
	}
	free(text);
	return r == 0 ? 0 : DR_EXIT_FAIL;
}

/* The plan's defaults.known_hosts, when that file exists. */
static char *
plan_known_hosts(const struct dr_plan *p)
{
	const char *kh = p->defaults.known_hosts;
	char *path;

	if (kh == NULL || *kh == '\0')
		return NULL;
	path = dr_xstrdup(kh); /* the loader made it relative to the plan */
	if (access(path, R_OK) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* What runbook's own options say. */
struct runbook_args {
	struct dr_runbook_opts o;
	const char *output, *known_hosts;
	bool format_set;
};

static int
runbook_opt(int c, const char *arg, void *ctx)
{
	struct runbook_args *ra = ctx;

	if (c == 'k') {
		ra->known_hosts = arg;
	} else if (c == 'o') {
		ra->output = arg;
	} else if (c != 'F') {
		return DR_EXIT_USAGE;
	} else if (strcmp(arg, "md") == 0 || strcmp(arg, "markdown") == 0) {
		ra->o.format = DR_RUNBOOK_MD;
	} else if (strcmp(arg, "html") == 0) {
		ra->o.format = DR_RUNBOOK_HTML;
	} else {
		fprintf(stderr, "drover: --format: \"%s\" is not md or html\n",
		        arg);
		return DR_EXIT_USAGE;
	}
	ra->format_set = ra->format_set || c == 'F';
	return 0;
}

int
dr_cmd_runbook(int argc, char **argv)
{
	struct dr_cmd_dir dir = {0};
	struct runbook_args ra = {0};
	struct dr_runbook_opts *o = &ra.o;
	const char *path = NULL, *output;
	struct dr_cmd_args a = {"runbook",   "ftdFko", "ho:", &dir,
	                        runbook_opt, &ra,      &path};
	struct dr_plan *plan = NULL;
	struct dr_graph *g = NULL;
	char *kh = NULL;
	int rc;

	ra.o.format = DR_RUNBOOK_MD;
	if ((rc = dr_cmd_parse(argc, argv, &a)) != 0) {
		rc = rc < 0 ? DR_EXIT_OK : rc;
		goto out;
	}
	output = ra.output;
	if (dir.nfrom == 0 || dir.to == NULL) {
		fprintf(stderr, "drover: runbook: give the direction: --from "
		                "SITE[,SITE] --to SITE\n");
		rc = dr_cmd_usage("runbook");
		goto out;
	}
	/* -o runbook.html without --format means html. */
	if (!ra.format_set && output &&
	    (ends_with(output, ".html") || ends_with(output, ".htm")))
		o->format = DR_RUNBOOK_HTML;

	if ((rc = dr_cmd_load_plan(path, &plan)) != 0)
		goto out;
	if ((rc = dr_cmd_expand(plan, &dir, &g)) != 0)
		goto out;
	if (ra.known_hosts && access(ra.known_hosts, R_OK) != 0) {
		fprintf(stderr, "drover: runbook: --known-hosts %s: %s\n",
		        ra.known_hosts, strerror(errno));
		rc = DR_EXIT_FAIL;
		goto out;
	}
	if (ra.known_hosts)
		o->known_hosts = ra.known_hosts;
	else if ((kh = plan_known_hosts(plan)) != NULL)
		o->known_hosts = kh;

	if (output && strcmp(output, "-") != 0) {
		rc = write_file(g, o, output);
	} else {
		int r = dr_runbook_write(g, o, stdout);
		if (r != 0) {
			fprintf(stderr, "drover: runbook: %s\n",
			        dr_strerror(r));
			rc = DR_EXIT_FAIL;
		}
	}
out:
	free(kh);
	dr_graph_free(g);
	dr_plan_free(plan);
	dr_cmd_dir_free(&dir);
	return rc;
}
