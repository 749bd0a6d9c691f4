/* drover.c: the entry point; the verbs are in cmd.c's table. */
#include <stdio.h>
#include <string.h>

#include "drover/cmd.h"

int
main(int argc, char **argv)
{
	const struct dr_cmd *cmd;

	if (argc < 2) {
		dr_cmd_list(stderr);
		return DR_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0) {
		dr_cmd_list(stdout);
		return DR_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("drover %s\n", DROVER_VERSION);
		return DR_EXIT_OK;
	}
	if ((cmd = dr_cmd_find(argv[1])) != NULL)
		return cmd->exec(argc - 1, argv + 1);
	return dr_cmd_unknown(argv[1]);
}
