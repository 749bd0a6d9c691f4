/*
 * cmd.h: the CLI verbs. One cmd-<verb>.c per verb; cmd.c holds the table.
 *
 * Exit status contract (README "CLI reference"): 0 success; 1 failed run or
 * invalid plan; 2 usage; 3 paused or interrupted (resumable); 4 another run
 * holds the lock.
 */
#ifndef DROVER_CMD_H
#define DROVER_CMD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

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
int dr_cmd_check(int argc, char **argv);
int dr_cmd_failover(int argc, char **argv);
int dr_cmd_drill(int argc, char **argv);
int dr_cmd_resume(int argc, char **argv);
int dr_cmd_status(int argc, char **argv);
int dr_cmd_report(int argc, char **argv);
int dr_cmd_audit(int argc, char **argv);
int dr_cmd_history(int argc, char **argv);

struct dr_plan;
struct dr_graph;

/* Direction and filters shared by show, graph, runbook, failover, drill. */
struct dr_cmd_dir {
	char *from[16]; /* --from milan,rome */
	size_t nfrom;
	const char *to;
	bool drill;
	const char *only[64];
	size_t nonly;
	char *from_arg; /* owns the from strings */
};

/*
 * Handles a direction option found by getopt_long, by its value in the
 * verbs' option tables: 'f' --from, 't' --to, 'd' --drill, 'O' --only.
 * Returns 0, or DR_EXIT_USAGE after printing why (any other value of c
 * included: getopt has already reported an unknown option).
 */
int dr_cmd_dir_opt(struct dr_cmd_dir *d, int c, const char *arg);
void dr_cmd_dir_free(struct dr_cmd_dir *d);

/*
 * Loads and validates the plan, printing every diagnostic to stderr.
 * Returns 0 and sets *out, or DR_EXIT_FAIL.
 */
int dr_cmd_load_plan(const char *path, struct dr_plan **out);

/*
 * Expands plan for d, printing diagnostics. Returns 0 and sets *out, or
 * DR_EXIT_FAIL (problems in the plan or direction) / DR_EXIT_USAGE.
 */
int dr_cmd_expand(const struct dr_plan *plan, const struct dr_cmd_dir *d,
                  struct dr_graph **out);

/*
 * For verbs whose options are the direction ones only (show, graph):
 * parses PLAN --from --to [--drill] [--only], loads and expands. Returns 0
 * with *plan and *g set (free both), -1 after printing --help (exit 0),
 * or an exit status after printing why.
 */
int dr_cmd_plan_graph(int argc, char **argv, const char *verb,
                      struct dr_plan **plan, struct dr_graph **g);

/*
 * Checks what a run of g needs from this controller (dr_preflight),
 * printing each problem. Returns 0, or DR_EXIT_FAIL: nothing may start.
 */
int dr_cmd_preflight(const struct dr_graph *g);

/* Prints the tasks of g in run order (order from dr_graph_order). */
void dr_cmd_show_print(const struct dr_graph *g, const size_t *order, FILE *f);

/*
 * The runner of failover and drill: parses the options, loads, expands and
 * checks the plan, confirms, and runs it. Returns the exit status.
 */
int dr_cmd_run_plan(int argc, char **argv, bool drill);

/* The exit status for how a run ended (run.h). */
int dr_cmd_exit_status(int end);

/* Prints "usage: drover VERB USAGE" for the verb to stderr; returns 2. */
int dr_cmd_usage(const char *verb);

/* The verb called name, or NULL. */
const struct dr_cmd *dr_cmd_find(const char *name);

/* Prints every verb with its summary. */
void dr_cmd_list(FILE *f);

#endif
