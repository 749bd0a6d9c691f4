/* cmd-graph.c: drover graph PLAN --from S --to S: Graphviz DOT. */
#include <stdio.h>

#include "drover/cmd.h"
#include "drover/graph.h"
#include "drover/plan.h"

int
dr_cmd_graph(int argc, char **argv)
{
	struct dr_plan *plan;
	struct dr_graph *g;
	int rc = dr_cmd_plan_graph(argc, argv, "graph", &plan, &g);

	if (rc != 0)
		return rc < 0 ? DR_EXIT_OK : rc;
	dr_graph_dot(g, stdout);
	rc = fflush(stdout) == 0 ? DR_EXIT_OK : DR_EXIT_FAIL;
	dr_graph_free(g);
	dr_plan_free(plan);
	return rc;
}
