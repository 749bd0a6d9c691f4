/*
 * cmd.c: the table of CLI verbs (one cmd-<verb>.c each) and what the verbs
 * share: plan loading, direction flags, the preflight.
 */
#include "drover/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"
#include "drover/graph.h"
#include "drover/plan.h"
#include "drover/preflight.h"
#include "drover/run.h"

int
dr_cmd_dir_opt(struct dr_cmd_dir *d, int c, const char *arg)
{
	char *p, *save = NULL, *tok;

	if (c == 'f') {
		free(d->from_arg);
		d->from_arg = dr_xstrdup(arg);
		d->nfrom = 0;
		for (p = d->from_arg; (tok = strtok_r(p, ",", &save)) != NULL;
		     p = NULL) {
			if (d->nfrom == sizeof(d->from) / sizeof(d->from[0])) {
				fprintf(stderr,
				        "drover: --from: too many sites\n");
				return DR_EXIT_USAGE;
			}
			d->from[d->nfrom++] = tok;
		}
		if (d->nfrom == 0) {
			fprintf(stderr, "drover: --from needs a site name\n");
			return DR_EXIT_USAGE;
		}
	} else if (c == 't') {
		if (strchr(arg, ',') != NULL) {
			fprintf(stderr,
			        "drover: --to takes one site, not \"%s\"\n",
			        arg);
			return DR_EXIT_USAGE;
		}
		d->to = arg;
	} else if (c == 'd') {
		d->drill = true;
	} else if (c == 'O') {
		if (d->nonly == sizeof(d->only) / sizeof(d->only[0])) {
			fprintf(stderr, "drover: --only: too many names\n");
			return DR_EXIT_USAGE;
		}
		d->only[d->nonly++] = arg;
	} else {
		return DR_EXIT_USAGE; /* getopt already said what was wrong */
	}
	return 0;
}

void
dr_cmd_dir_free(struct dr_cmd_dir *d)
{
	free(d->from_arg);
	d->from_arg = NULL;
}

int
dr_cmd_load_plan(const char *path, struct dr_plan **out)
{
	struct dr_diags diags = {0};
	int r;

	r = dr_plan_load(path, &diags, out);
	dr_diag_print(&diags, stderr);
	if (r != 0)
		fprintf(stderr, "%s: %zu error%s\n", path, diags.n,
		        diags.n == 1 ? "" : "s");
	dr_diag_clear(&diags);
	return r == 0 ? 0 : DR_EXIT_FAIL;
}

int
dr_cmd_expand(const struct dr_plan *plan, const struct dr_cmd_dir *d,
              struct dr_graph **out)
{
	struct dr_expand_opts o = {0};
	struct dr_diags diags = {0};
	int r;

	if (d->nfrom == 0 || d->to == NULL) {
		fprintf(stderr,
		        "drover: give the direction: --from SITE[,SITE] "
		        "--to SITE\n");
		return DR_EXIT_USAGE;
	}
	o.from = (const char *const *)d->from;
	o.nfrom = d->nfrom;
	o.to = d->to;
	o.mode = d->drill ? DR_MODE_DRILL : DR_MODE_FAILOVER;
	o.only = d->only;
	o.nonly = d->nonly;
	r = dr_graph_expand(plan, &o, &diags, out);
	dr_diag_print(&diags, stderr);
	dr_diag_clear(&diags);
	return r == 0 ? 0 : DR_EXIT_FAIL;
}

/* A run stopped at once by a second interrupt exits resumable. */
_Static_assert(DR_RUN_END_EXIT_AT_ONCE == DR_EXIT_PAUSED, "exit at once");

int
dr_cmd_exit_status(int end)
{
	switch (end) {
	case DR_END_OK:
		return DR_EXIT_OK;
	case DR_END_RESUMABLE:
		return DR_EXIT_PAUSED;
	case DR_END_LOCKED:
		return DR_EXIT_LOCKED;
	default:
		return DR_EXIT_FAIL;
	}
}

int
dr_cmd_preflight(const struct dr_graph *g)
{
	struct dr_diags d = {0};
	size_t n = dr_preflight(g->plan, g, false, &d);

	dr_diag_print(&d, stderr);
	dr_diag_clear(&d);
	if (n == 0)
		return 0;
	fprintf(stderr,
	        "drover: %zu problem%s on this controller; nothing was "
	        "started\n",
	        n, n == 1 ? "" : "s");
	return DR_EXIT_FAIL;
}

static const struct option dir_only_opts[] = {
    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 't'},
    {"drill", no_argument, NULL, 'd'},
    {"only", required_argument, NULL, 'O'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

int
dr_cmd_plan_graph(int argc, char **argv, const char *verb,
                  struct dr_plan **plan, struct dr_graph **g)
{
	struct dr_cmd_dir dir = {0};
	int c, rc = 0;

	*plan = NULL;
	*g = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", dir_only_opts, NULL)) != -1) {
		if (c == 'h') {
			dr_cmd_dir_free(&dir);
			dr_cmd_usage(verb);
			return -1;
		}
		if ((rc = dr_cmd_dir_opt(&dir, c, optarg)) != 0)
			goto out;
	}
	if (optind != argc - 1) {
		rc = dr_cmd_usage(verb);
		goto out;
	}
	if ((rc = dr_cmd_load_plan(argv[optind], plan)) != 0)
		goto out;
	if ((rc = dr_cmd_expand(*plan, &dir, g)) != 0) {
		dr_plan_free(*plan);
		*plan = NULL;
	}
out:
	dr_cmd_dir_free(&dir);
	return rc;
}

/* The verbs, in the order `drover help` lists them. */
static const struct dr_cmd cmd_table[] = {
    {"validate", "PLAN", "check a plan and report every error",
     dr_cmd_validate},
    {"show", "PLAN --from S[,S] --to S [--drill] [--only NAME]",
     "list the tasks in the order they would run", dr_cmd_show},
    {"graph", "PLAN --from S[,S] --to S [--drill]",
     "write the task graph as Graphviz DOT", dr_cmd_graph},
    {"runbook",
     "PLAN --from S[,S] --to S [--format md|html] [--known-hosts FILE] "
     "[--drill] [-o FILE]",
     "render the printable runbook for a direction", dr_cmd_runbook},
    {"check", "PLAN --to S [--from S[,S]] [--drill] [--json]",
     "readiness: hosts, host keys, auth, required commands and backups; "
     "changes nothing",
     dr_cmd_check},
    {"failover",
     "PLAN --from S[,S] --to S [--dry-run] [--yes] [--auto-approve] "
     "[--only NAME]... [--json] [--metrics FILE] [--incident-at TIME] "
     "[--take-stale-lock]",
     "run the plan: fence, restore, bring services back", dr_cmd_failover},
    {"drill",
     "PLAN --to DRILL-SITE [--from S[,S]] [--dry-run] [--yes] "
     "[--auto-approve] [--only NAME]... [--json] [--metrics FILE] "
     "[--incident-at TIME] [--take-stale-lock]",
     "rehearse the failover in a drill site; production is never touched",
     dr_cmd_drill},
    {"resume",
     "RUN [--assume-done TASK]... [--rerun TASK]... [--rerun-indeterminate] "
     "[--plan-changed] [--yes] [--auto-approve] [--json]",
     "continue an interrupted run from its journal", dr_cmd_resume},
    {"status", "[RUN]", "list runs, or show one run's tasks by tier",
     dr_cmd_status},
    {"report", "RUN [--format json|md|html] [-o FILE]",
     "render a run's report from its journal", dr_cmd_report},
    {"history", "PLAN [--mode drill|failover] [--json]",
     "past runs of a plan; drill recovery times against the previous one",
     dr_cmd_history},
    {"audit", "verify|show RUN", "check or show a run's audit trail",
     dr_cmd_audit},
};

#define NCMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))

void
dr_cmd_list(FILE *f)
{
	size_t i;

	fprintf(f, "usage: drover COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-9s %s\n", cmd_table[i].name,
		        cmd_table[i].summary);
	fprintf(f, "\nrun 'drover COMMAND --help' for its arguments\n");
}

int
dr_cmd_usage(const char *verb)
{
	size_t i;

	for (i = 0; i < NCMDS; i++) {
		if (strcmp(cmd_table[i].name, verb) == 0) {
			fprintf(stderr, "usage: drover %s %s\n", verb,
			        cmd_table[i].usage);
			return DR_EXIT_USAGE;
		}
	}
	dr_cmd_list(stderr);
	return DR_EXIT_USAGE;
}

const struct dr_cmd *
dr_cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmd_table[i].name, name) == 0)
			return &cmd_table[i];
	return NULL;
}
