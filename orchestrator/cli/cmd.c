/*
 * cmd.c: the table of CLI verbs (one cmd-<verb>.c each) and what the verbs
 * share: plan loading, direction flags, the preflight.
 */
#include "drover/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/graph.h"
#include "drover/lock.h"
#include "drover/plan.h"
#include "drover/preflight.h"
#include "drover/records.h"
#include "drover/run.h"
#include "drover/runs.h"
#include "drover/time.h"

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
			if (d->nfrom == DR_CMD_MAXFROM) {
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

size_t
dr_cmd_default_from(const struct dr_plan *plan, struct dr_cmd_dir *d)
{
	size_t i;

	for (i = 0; i < plan->nsites && d->nfrom < DR_CMD_MAXFROM; i++) {
		const struct dr_site *s = &plan->sites[i];
		if ((s->role == DR_SITE_PRIMARY ||
		     s->role == DR_SITE_SECONDARY) &&
		    (d->to == NULL || strcmp(s->name, d->to) != 0))
			d->from[d->nfrom++] = (char *)s->name;
	}
	return d->nfrom;
}

int
dr_cmd_set_flag(int c, const char *arg, void *ctx)
{
	(void)c;
	(void)arg;
	*(bool *)ctx = true;
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

/*
 * Every long option of the verbs, each once: its name, whether it takes an
 * argument, and the letter the verbs' switches see. A verb names the ones it
 * takes by their letters (dr_cmd_parse).
 */
static const struct option every_opt[] = {
    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 't'},
    {"drill", no_argument, NULL, 'd'},
    {"only", required_argument, NULL, 'O'},
    {"dry-run", no_argument, NULL, 'n'},
    {"yes", no_argument, NULL, 'y'},
    {"auto-approve", no_argument, NULL, 'A'},
    {"json", no_argument, NULL, 'j'},
    {"metrics", required_argument, NULL, 'M'},
    {"incident-at", required_argument, NULL, 'I'},
    {"take-stale-lock", no_argument, NULL, 'S'},
    {"plan-changed", no_argument, NULL, 'P'},
    {"assume-done", required_argument, NULL, 'D'},
    {"rerun", required_argument, NULL, 'R'},
    {"rerun-indeterminate", no_argument, NULL, 'X'},
    {"mode", required_argument, NULL, 'm'},
    {"format", required_argument, NULL, 'F'},
    {"output", required_argument, NULL, 'o'},
    {"known-hosts", required_argument, NULL, 'k'},
    {"remaining", required_argument, NULL, 'r'},
    {"follow", no_argument, NULL, 'W'},
    {"etcd", required_argument, NULL, 'E'},
    {"no-quorum", no_argument, NULL, 'Q'},
    {"attest", required_argument, NULL, 'T'},
    {"help", no_argument, NULL, 'h'}, /* last: every verb takes it */
};

#define NOPTS (sizeof(every_opt) / sizeof(every_opt[0]))

int
dr_cmd_parse(int argc, char **argv, const struct dr_cmd_args *a)
{
	struct option opts[NOPTS + 1];
	size_t i, n = 0;
	const char *l;
	int c, rc;

	for (l = a->letters; *l; l++) {
		for (i = 0; i < NOPTS && every_opt[i].val != *l; i++)
			;
		if (i == NOPTS) { /* a verb names a letter the table lacks */
			fprintf(stderr, "drover: bug: no option '%c'\n", *l);
			abort();
		}
		opts[n++] = every_opt[i];
	}
	opts[n++] = every_opt[NOPTS - 1]; /* --help */
	memset(&opts[n], 0, sizeof(opts[n]));
	optind = 1;
	while ((c = getopt_long(argc, argv, a->shortopts ? a->shortopts : "h",
	                        opts, NULL)) != -1) {
		if (c == 'h') {
			dr_cmd_help(a->verb);
			return -1;
		}
		if (c == '?' || c == ':')
			return DR_EXIT_USAGE; /* getopt said what was wrong */
		if (a->dir && strchr("ftdO", c) != NULL)
			rc = dr_cmd_dir_opt(a->dir, c, optarg);
		else
			rc = a->opt(c, optarg, a->ctx);
		if (rc != 0)
			return rc;
	}
	if (optind != argc - 1)
		return dr_cmd_usage(a->verb);
	*a->operand = argv[optind];
	return 0;
}

int
dr_cmd_run_opt(int c, const char *arg, void *ctx)
{
	struct dr_cmd_run *r = ctx;
	bool *flag = c == 'n'   ? &r->dry_run
	             : c == 'y' ? &r->yes
	             : c == 'A' ? &r->ro.auto_approve
	             : c == 'j' ? &r->ro.json
	             : c == 'S' ? &r->ro.take_stale_lock
	             : c == 'Q' ? &r->no_quorum
	                        : NULL;

	if (flag != NULL) {
		*flag = true;
	} else if (c == 'E') {
		r->etcd = arg;
	} else if (c == 'T') {
		r->attest = arg;
	} else if (c == 'M') {
		r->ro.metrics_path = arg;
	} else if (c != 'I') {
		return DR_EXIT_USAGE;
	} else if (dr_time_parse(arg, &r->ro.incident_ms) != 0) {
		fprintf(stderr,
		        "drover: --incident-at %s: give a UTC time like "
		        "2023-12-08T03:00:00Z\n",
		        arg);
		return DR_EXIT_USAGE;
	}
	return 0;
}

int
dr_cmd_confirm(const struct dr_graph *g, bool yes, const char *verb,
               const char *header)
{
	char line[256];
	size_t n;

	if (yes)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr,
		        "drover: refusing to %s without a terminal to "
		        "confirm; pass --yes\n",
		        verb);
		return DR_EXIT_USAGE;
	}
	fprintf(stderr,
	        "\n%s\n  %s\nType the target site's name (%s) to go on: ",
	        header, dr_graph_direction(g), g->to->name);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) != NULL) {
		n = strlen(line);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strcmp(line, g->to->name) == 0)
			return 0;
	}
	fprintf(stderr, "drover: not confirmed; nothing done\n");
	return DR_EXIT_FAIL;
}

const char *
dr_cmd_run_state(const char *sdir, const struct dr_rs_run *rs)
{
	char *holder = NULL, *mine;
	bool alive = false, live;

	if (rs->final_state)
		return rs->final_state;
	if (rs->to == NULL || dr_lock_peek(sdir, rs->to, &holder, &alive) != 0)
		return "interrupted";
	mine = dr_xasprintf("run %s ", rs->run_id);
	live = alive && holder && strncmp(holder, mine, strlen(mine)) == 0;
	free(mine);
	free(holder);
	return live ? "running" : "interrupted";
}

int
dr_cmd_open_run(const char *sdir, const char *id, char **run_dir,
                struct dr_rs_run *rs, char **why)
{
	int r;

	*run_dir = dr_runs_dir(sdir, id);
	r = dr_rs_load(*run_dir, rs, why);
	if (r == DR_ENOTFOUND)
		fprintf(stderr,
		        "drover: no run %s under %s/runs (drover status lists "
		        "the runs)\n",
		        id, sdir);
	return r;
}

int
dr_cmd_plan_graph(int argc, char **argv, const char *verb,
                  struct dr_plan **plan, struct dr_graph **g)
{
	struct dr_cmd_dir dir = {0};
	const char *path = NULL;
	struct dr_cmd_args a = {verb, "ftdO", NULL, &dir, NULL, NULL, &path};
	int rc;

	*plan = NULL;
	*g = NULL;
	if ((rc = dr_cmd_parse(argc, argv, &a)) != 0)
		goto out;
	if ((rc = dr_cmd_load_plan(path, plan)) != 0)
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
     "PLAN --from S[,S] --to S [--format md|html|pdf] [--known-hosts FILE] "
     "[--drill] [--only NAME]... [--remaining RUN] [-o FILE]",
     "render the printable runbook for a direction", dr_cmd_runbook},
    {"check", "PLAN --to S [--from S[,S]] [--drill] [--json]",
     "readiness: hosts, host keys, auth, required commands and backups; "
     "changes nothing",
     dr_cmd_check},
    {"failover",
     "PLAN --from S[,S] --to S [--dry-run] [--yes] [--auto-approve] "
     "[--only NAME]... [--json] [--metrics FILE] [--incident-at TIME] "
     "[--take-stale-lock] [--etcd URLS] [--no-quorum --attest TEXT]",
     "run the plan: fence, restore, bring services back", dr_cmd_failover},
    {"drill",
     "PLAN --to DRILL-SITE [--from S[,S]] [--dry-run] [--yes] "
     "[--auto-approve] [--only NAME]... [--json] [--metrics FILE] "
     "[--incident-at TIME] [--take-stale-lock] [--etcd URLS] "
     "[--no-quorum --attest TEXT]",
     "rehearse the failover in a drill site; production is never touched",
     dr_cmd_drill},
    {"standby",
     "PLAN --from S[,S] --to S [--etcd URLS] [--drill] [--yes] "
     "[--auto-approve] [--json] [--assume-done TASK]... [--rerun TASK]... "
     "[--rerun-indeterminate] [--plan-changed] [--take-stale-lock]",
     "wait as a standby controller; take the run over when its leader's "
     "lease expires",
     dr_cmd_standby},
    {"resume",
     "RUN [--assume-done TASK]... [--rerun TASK]... [--rerun-indeterminate] "
     "[--plan-changed] [--yes] [--auto-approve] [--json] [--metrics FILE] "
     "[--take-stale-lock] [--etcd URLS]",
     "continue an interrupted run from its journal", dr_cmd_resume},
    {"status", "[RUN]", "list runs, or show one run's tasks by tier",
     dr_cmd_status},
    {"report", "RUN [--format json|md|html] [-o FILE]",
     "render a run's report from its journal", dr_cmd_report},
    {"logs", "RUN [TASK] [--follow]",
     "a task's output (a live run's too), or every task's output size",
     dr_cmd_logs},
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

static void
usage_to(FILE *f, const char *verb)
{
	const struct dr_cmd *c = dr_cmd_find(verb);

	if (c)
		fprintf(f, "usage: drover %s %s\n", verb, c->usage);
	else
		dr_cmd_list(f);
}

int
dr_cmd_usage(const char *verb)
{
	usage_to(stderr, verb);
	return DR_EXIT_USAGE;
}

void
dr_cmd_help(const char *verb)
{
	usage_to(stdout, verb);
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
