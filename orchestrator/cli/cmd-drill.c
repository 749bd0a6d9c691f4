/*
 * cmd-drill.c: drover drill PLAN --to DRILL-SITE [--from S[,S]]: the
 * failover rehearsed in a drill site.
 *
 * The same runner as failover (cmd-failover.c) in drill mode: --from
 * defaults to every production site, steps on the lost sites are skipped by
 * design, anything else that would reach production is refused before it
 * connects (graph.c, guard.h), and the cleanup steps run at the end,
 * whatever the outcome.
 */
#include "drover/cmd.h"

int
dr_cmd_drill(int argc, char **argv)
{
	return dr_cmd_run_plan(argc, argv, true);
}
