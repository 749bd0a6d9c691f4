/*
 * cmd-failover.c: drover failover PLAN --from S[,S] --to S (and the runner
 * that drover drill, cmd-drill.c, shares).
 *
 * Loads and expands the plan, asks for confirmation, resolves secrets, then
 * runs the scheduler and executors on one libuv loop. The board prints one
 * line per task state change; the end prints each service's recovery time
 * against its RTO and writes report.json under the run directory.
 */
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
#include "drover/runs.h"

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

int
dr_cmd_run_plan(int argc, char **argv, bool drill)
{
	const char *verb = drill ? "drill" : "failover";
	struct dr_cmd_dir dir = {0};
	struct dr_cmd_run run = {0};
	const char *path = NULL;
	struct dr_cmd_args a = {verb,           "ftOnyAjSMIC", "hny", &dir,
	                        dr_cmd_run_opt, &run,          &path};
	struct dr_plan *plan = NULL;
	struct dr_graph *g = NULL;
	size_t *order = NULL;
	char *sdir = NULL, *cmdline = NULL, *run_id = NULL, *header = NULL;
	int rc;

	cmdline = dr_run_command_line(argc, argv); /* before getopt permutes */
	if ((rc = dr_cmd_parse(argc, argv, &a)) != 0) {
		rc = rc < 0 ? DR_EXIT_OK : rc;
		goto out;
	}
	dir.drill = drill;
	if ((rc = dr_cmd_load_plan(path, &plan)) != 0)
		goto out;
	if (drill && dir.nfrom == 0)
		dr_cmd_default_from(plan, &dir);
	if ((rc = dr_cmd_expand(plan, &dir, &g)) != 0)
		goto out;
	order = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	if (dr_graph_order(g, order) != 0) {
		fprintf(stderr, "drover: the task graph has a cycle\n");
		rc = DR_EXIT_FAIL;
		goto out;
	}
	if (run.dry_run) {
		dr_cmd_show_print(g, order, stdout);
		printf("\ndry run: nothing was connected to\n");
		rc = DR_EXIT_OK;
		goto out;
	}
	if ((rc = dr_cmd_preflight(g)) != 0)
		goto out;
	header = dr_xasprintf("This %s acts on real hosts: %zu tasks.", verb,
	                      g->ntasks);
	if ((rc = dr_cmd_confirm(g, run.yes, "start", header)) != 0)
		goto out;

	sdir = dr_state_dir();
	run_id = new_run_id(plan);
	run.ro.graph = g;
	run.ro.mode = verb;
	run.ro.run_id = run_id;
	run.ro.state_dir = sdir;
	run.ro.only = dir.only;
	run.ro.nonly = dir.nonly;
	run.ro.command_line = cmdline;
	if (g->ndeferred > 0) {
		/* The target does not exist yet: first the tasks up to its
		 * provision step, then, with its hosts journaled and pinned,
		 * the rest as drover resume would run it. */
		struct dr_lock *lock = NULL;
		int end;
		dr_graph_before_provision(g);
		run.ro.stage_provision = true;
		run.ro.keep_lock = &lock;
		end = dr_run_execute(&run.ro);
		if (end != DR_END_PROVISIONED) {
			rc = dr_cmd_exit_status(end);
			dr_cmd_next_steps(sdir, run_id, g->to->name, rc);
			goto out;
		}
		rc = dr_cmd_continue(run_id, lock, &run, cmdline);
		goto out;
	}
	rc = dr_cmd_exit_status(dr_run_execute(&run.ro));
	dr_cmd_next_steps(sdir, run_id, g->to->name, rc);
out:
	free(header);
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
