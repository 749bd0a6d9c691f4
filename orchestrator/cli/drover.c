/* drover.c: the entry point; the verbs are in cmd.c's table. */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "drover/cmd.h"

/*
 * What a verb printed is only out once stdout is flushed: a full disk, a
 * closed pipe or a closed descriptor fails the command (exit 1 where it
 * would have been 0), and says so, rather than leave a short file behind
 * an exit 0.
 */
static int
close_stdout(int rc)
{
	if (fflush(stdout) != 0) {
		fprintf(stderr,
		        "drover: cannot write the standard output: %s\n",
		        strerror(errno));
	} else if (ferror(stdout) && rc == DR_EXIT_OK) {
		/* an earlier write failed, and the verb did not say so */
		fprintf(stderr, "drover: a write to the standard output "
		                "failed: what it printed is incomplete\n");
	} else {
		return rc;
	}
	return rc == DR_EXIT_OK ? DR_EXIT_FAIL : rc;
}

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
		return close_stdout(DR_EXIT_OK);
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("drover %s\n", DROVER_VERSION);
		return close_stdout(DR_EXIT_OK);
	}
	if ((cmd = dr_cmd_find(argv[1])) != NULL)
		return close_stdout(cmd->exec(argc - 1, argv + 1));
	return close_stdout(dr_cmd_unknown(argv[1]));
}
