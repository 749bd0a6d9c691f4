/*
 * cmd.h: the CLI verbs. One cmd-<verb>.c per verb; drover.c holds the table.
 *
 * Exit status contract (README "CLI reference"): 0 success; 1 failed run or
 * invalid plan; 2 usage; 3 paused or interrupted (resumable); 4 another run
 * holds the lock.
 */
#ifndef DROVER_CMD_H
#define DROVER_CMD_H

enum {
	DR_EXIT_OK = 0,
	DR_EXIT_FAIL = 1,
	DR_EXIT_USAGE = 2,
	DR_EXIT_PAUSED = 3,
	DR_EXIT_LOCKED = 4
};

struct dr_cmd {
	const char *name;
	const char *usage; /* arguments after the verb */
	const char *summary;
	int (*exec)(int argc, char **argv); /* argv[0] is the verb */
};

int dr_cmd_validate(int argc, char **argv);
int dr_cmd_show(int argc, char **argv);
int dr_cmd_graph(int argc, char **argv);
int dr_cmd_runbook(int argc, char **argv);

/* Prints "usage: drover VERB USAGE" for the verb to stderr; returns 2. */
int dr_cmd_usage(const char *verb);

#endif
