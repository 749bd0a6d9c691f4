/* cmd-graph.c: drover graph PLAN --from S --to S: Graphviz DOT. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "drover/cmd.h"
#include "drover/graph.h"
#include "drover/plan.h"

static const struct option graph_opts[] = {
    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 't'},
    {"drill", no_argument, NULL, 'd'},
    {"only", required_argument, NULL, 'O'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

int
dr_cmd_graph(int argc, char **argv)
{
	struct dr_cmd_dir dir = {0};
	struct dr_plan *plan = NULL;
	struct dr_graph *g = NULL;
	int c, rc = 0;

	optind = 1;
	while ((c = getopt_long(argc, argv, "h", graph_opts, NULL)) != -1) {
		switch (c) {
		case 'h':
			dr_cmd_dir_free(&dir);
			printf("usage: drover graph PLAN --from S[,S] --to S "
			       "[--drill] [--only NAME]... | dot -Tsvg\n");
			return DR_EXIT_OK;
		default: /* --from --to --drill --only, or unknown */
			rc = dr_cmd_dir_opt(&dir, c, optarg);
		}
		if (rc != 0)
			goto out;
	}
	if (optind != argc - 1) {
		rc = dr_cmd_usage("graph");
		goto out;
	}
	if ((rc = dr_cmd_load_plan(argv[optind], &plan)) != 0)
		goto out;
	if ((rc = dr_cmd_expand(plan, &dir, &g)) != 0)
		goto out;
	dr_graph_dot(g, stdout);
	rc = fflush(stdout) == 0 ? DR_EXIT_OK : DR_EXIT_FAIL;
out:
	dr_graph_free(g);
	dr_plan_free(plan);
	dr_cmd_dir_free(&dir);
	return rc;
}
