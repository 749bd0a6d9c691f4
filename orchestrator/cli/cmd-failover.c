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
#include <pwd.h>
#include <unistd.h>
#include <uv.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/graph.h"
#include "drover/ha.h"
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

/*
 * HA: --etcd or the plan's controllers make this run a leader over etcd;
 * --no-quorum --attest TEXT runs it as a single controller when etcd has
 * no quorum (checked when endpoints are known), attested by the operator:
 * who (from the uid, not the environment) and why.
 */
static int
ha_setup(const struct dr_plan *plan, const struct dr_graph *g,
         const struct dr_cmd_run *run, struct dr_ha **ha, char **attestation)
{
	struct passwd *pw;
	uv_loop_t loop;
	char *why = NULL;
	int rc;

	if (run->attest && !run->no_quorum) {
		fprintf(stderr, "drover: --attest goes with --no-quorum\n");
		return DR_EXIT_USAGE;
	}
	if (run->no_quorum && (run->attest == NULL || *run->attest == '\0')) {
		fprintf(stderr,
		        "drover: --no-quorum runs without etcd's agreement: "
		        "say who you are and why with --attest \"TEXT\" "
		        "(for example: \"milan and rome lost, etcd has one "
		        "member; incident commander approved\")\n");
		return DR_EXIT_USAGE;
	}
	if ((rc = dr_cmd_ha_new(plan, g->to->name, run->etcd, true, ha)) != 0)
		return rc;
	if (*ha && g->ndeferred > 0 && !run->no_quorum) {
		fprintf(stderr,
		        "drover: %s is a provisioned site: HA over etcd "
		        "does not cover provisioned targets yet\n",
		        g->to->name);
		return DR_EXIT_USAGE;
	}
	if (!run->no_quorum)
		return 0;
	if (*ha) { /* the manual grant is for when etcd cannot decide */
		uv_loop_init(&loop);
		rc = dr_ha_check_no_quorum(*ha, &loop, &why);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		dr_ha_free(*ha);
		*ha = NULL;
		if (rc != 0) {
			fprintf(stderr, "drover: --no-quorum refused: %s\n",
			        why);
			free(why);
			return DR_EXIT_USAGE;
		}
		fprintf(stderr, "drover: etcd has no quorum (%s)\n", why);
		free(why);
	}
	pw = getpwuid(getuid());
	*attestation =
	    dr_xasprintf("by %s (uid %u): %s", pw ? pw->pw_name : "?",
	                 (unsigned)getuid(), run->attest);
	return 0;
}

int
dr_cmd_run_plan(int argc, char **argv, bool drill)
{
	const char *verb = drill ? "drill" : "failover";
	struct dr_cmd_dir dir = {0};
	struct dr_cmd_run run = {0};
	const char *path = NULL;
	struct dr_cmd_args a = {
	    verb, "ftOnyAjSMICEQT", "hny", &dir, dr_cmd_run_opt, &run, &path};
	struct dr_ha *ha = NULL;
	char *attestation = NULL;
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

	if ((rc = ha_setup(plan, g, &run, &ha, &attestation)) != 0)
		goto out;
	run.ro.ha = ha;
	run.ro.attestation = attestation;

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
	dr_ha_free(ha);
	free(attestation);
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
