/*
 * cmd-failover.c: drover failover PLAN --from S[,S] --to S (and the runner
 * that drover drill, cmd-drill.c, shares).
 *
 * Loads and expands the plan, asks for confirmation, resolves secrets, then
 * runs the scheduler and executors on one libuv loop. The board prints one
 * line per task state change; the end prints each service's recovery time
 * against its RTO and writes report.json under the run directory.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/graph.h"
#include "drover/plan.h"
#include "drover/run.h"
#include "drover/records.h"

static const struct option failover_opts[] = {
    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 't'},
    {"only", required_argument, NULL, 'O'},
    {"dry-run", no_argument, NULL, 'n'},
    {"yes", no_argument, NULL, 'y'},
    {"auto-approve", no_argument, NULL, 'A'},
    {"json", no_argument, NULL, 'j'},
    {"take-stale-lock", no_argument, NULL, 'S'},
    {"metrics", required_argument, NULL, 'M'},
    {"incident-at", required_argument, NULL, 'I'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static char *
new_run_id(const struct dr_plan *p)
{
	char ts[32];
	time_t now = time(NULL);
	struct tm tm;
	unsigned r =
	    (unsigned)(dr_now_mono_ms() ^ (uint64_t)getpid() * 2654435761u);

	gmtime_r(&now, &tm);
	strftime(ts, sizeof(ts), "%Y%m%dT%H%M%SZ", &tm);
	return dr_xasprintf("%s-%s-%04x", ts, p->name, r & 0xffff);
}

static bool
confirm(const struct dr_graph *g, bool drill)
{
	char line[256];
	size_t n;

	fprintf(stderr,
	        "\nThis %s acts on real hosts: %zu tasks.\n  %s\n"
	        "Type the target site's name (%s) to go on: ",
	        drill ? "drill" : "failover", g->ntasks, dr_graph_direction(g),
	        g->to->name);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) == NULL)
		return false;
	n = strlen(line);
	while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
		line[--n] = '\0';
	return strcmp(line, g->to->name) == 0;
}

int
dr_cmd_run_plan(int argc, char **argv, bool drill)
{
	struct dr_cmd_dir dir = {0};
	struct dr_plan *plan = NULL;
	struct dr_graph *g = NULL;
	size_t *order = NULL;
	bool dry = false, yes = false, auto_approve = false, json = false;
	bool take_stale = false;
	struct dr_run_opts ro = {0};
	char *sdir = NULL, *cmdline = NULL, *run_id = NULL;
	int c, rc = 0;

	cmdline = dr_run_command_line(argc, argv); /* before getopt permutes */
	optind = 1;
	while ((c = getopt_long(argc, argv, "hny", failover_opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'n':
			dry = true;
			break;
		case 'y':
			yes = true;
			break;
		case 'A':
			auto_approve = true;
			break;
		case 'M':
			ro.metrics_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'S':
			take_stale = true;
			break;
		case 'I':
			if (dr_time_parse(optarg, &ro.incident_ms) != 0) {
				fprintf(stderr,
				        "drover: --incident-at %s: give a UTC "
				        "time like 2023-12-08T03:00:00Z\n",
				        optarg);
				rc = DR_EXIT_USAGE;
			}
			break;
		case 'h':
			dr_cmd_dir_free(&dir);
			dr_cmd_usage(drill ? "drill" : "failover");
			return DR_EXIT_OK;
		default: /* --from --to --drill --only, or unknown */
			rc = dr_cmd_dir_opt(&dir, c, optarg);
		}
		if (rc != 0)
			goto out;
	}
	if (optind != argc - 1) {
		rc = dr_cmd_usage(drill ? "drill" : "failover");
		goto out;
	}
	dir.drill = drill;
	if ((rc = dr_cmd_load_plan(argv[optind], &plan)) != 0)
		goto out;
	if (drill && dir.nfrom == 0) {
		/* A drill rehearses the loss of every production site. */
		size_t i;
		for (i = 0; i < plan->nsites && dir.nfrom < 16; i++)
			if (plan->sites[i].role == DR_SITE_PRIMARY ||
			    plan->sites[i].role == DR_SITE_SECONDARY)
				dir.from[dir.nfrom++] =
				    (char *)plan->sites[i].name;
	}
	if ((rc = dr_cmd_expand(plan, &dir, &g)) != 0)
		goto out;
	order = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	if (dr_graph_order(g, order) != 0) {
		fprintf(stderr, "drover: the task graph has a cycle\n");
		rc = DR_EXIT_FAIL;
		goto out;
	}
	if (!dry && (rc = dr_cmd_preflight(g)) != 0)
		goto out;
	if (dry) {
		dr_cmd_show_print(g, order, stdout);
		printf("\ndry run: nothing was connected to\n");
		rc = DR_EXIT_OK;
		goto out;
	}
	if (!yes) {
		if (!isatty(STDIN_FILENO)) {
			fprintf(stderr, "drover: refusing to start without a "
			                "terminal to confirm; pass --yes\n");
			rc = DR_EXIT_USAGE;
			goto out;
		}
		if (!confirm(g, drill)) {
			fprintf(stderr,
			        "drover: not confirmed; nothing done\n");
			rc = DR_EXIT_FAIL;
			goto out;
		}
	}

	sdir = dr_state_dir();
	run_id = new_run_id(plan);
	ro.graph = g;
	ro.mode = drill ? "drill" : "failover";
	ro.run_id = run_id;
	ro.state_dir = sdir;
	ro.only = dir.only;
	ro.nonly = dir.nonly;
	ro.auto_approve = auto_approve;
	ro.json = json;
	ro.take_stale_lock = take_stale;
	ro.command_line = cmdline;
	rc = dr_cmd_exit_status(dr_run_execute(&ro));
out:
	free(order);
	free(sdir);
	free(cmdline);
	free(run_id);
	dr_graph_free(g);
	dr_plan_free(plan);
	dr_cmd_dir_free(&dir);
	return rc;
}

int
dr_cmd_failover(int argc, char **argv)
{
	return dr_cmd_run_plan(argc, argv, false);
}
