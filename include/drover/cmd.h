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

#include "drover/run.h"

enum {
	DR_EXIT_OK = 0,
	DR_EXIT_FAIL = 1,
	DR_EXIT_USAGE = 2,
	DR_EXIT_PAUSED = 3,
	DR_EXIT_LOCKED = 4
};

/* A verb: argv[0] is the verb; returns the exit status. */
typedef int dr_cmd_fn(int argc, char **argv);

/*
 * A verb: one entry of cmd.c's table. Adding a verb is one entry; its
 * --help, drover help VERB, the completion (drover __complete) and the
 * checks of tests/cli/help.sh follow from it.
 */
struct dr_cmd {
	const char *name;  /* a name starting with '_' is hidden */
	const char *usage; /* arguments after the verb */
	const char *summary;
	dr_cmd_fn *exec;
	const char *letters; /* its options, by their letters in every_opt */
	const char *shorts;  /* their short forms it takes ("ny": -n -y) */
	const char *help;    /* what it does, for --help and the man page */
};

/*
 * An option of the verbs, once for all of them: adding one is one entry
 * of cmd.c's every_opt. The verbs that take it name its letter.
 */
struct dr_cmd_opt {
	const char *name; /* --NAME */
	int has_arg;      /* getopt's no_argument or required_argument */
	int letter;       /* what the verbs' switches see */
	int shortname;    /* -X where a verb takes it (dr_cmd.shorts), or 0 */
	const char *arg;  /* the argument's name in the help (FILE), or NULL */
	const char *help; /* what it does */
};

/* The verbs (cmd_table, *n of them) and the options (every_opt). */
const struct dr_cmd *dr_cmd_table(size_t *n);
const struct dr_cmd_opt *dr_cmd_opts(size_t *n);

/* The option of letter, or NULL. */
const struct dr_cmd_opt *dr_cmd_opt_find(int letter);

/* The verbs, one cmd-<verb>.c each. */
dr_cmd_fn dr_cmd_validate, dr_cmd_show, dr_cmd_graph, dr_cmd_runbook,
    dr_cmd_check, dr_cmd_failover, dr_cmd_drill, dr_cmd_resume, dr_cmd_status,
    dr_cmd_report, dr_cmd_audit, dr_cmd_history, dr_cmd_logs, dr_cmd_standby;
/* help.c: drover help [VERB] and the completion helper drover __complete. */
dr_cmd_fn dr_cmd_helpverb, dr_cmd_complete;

/* cmd-control.c: a live run steered through its control socket. */
dr_cmd_fn dr_cmd_approve, dr_cmd_deny, dr_cmd_pause, dr_cmd_continue_run,
    dr_cmd_abort, dr_cmd_answer, dr_cmd_watch;

/* drover status: a live run's waiting gates and pauses, asked through its
 * control socket, one line each after indent (nothing when none). */
void dr_cmd_print_waiting(const char *run_dir, const char *indent);

struct dr_plan;
struct dr_graph;
struct dr_rs_run;

#define DR_CMD_MAXFROM 16

/* Direction and filters shared by show, graph, runbook, failover, drill. */
struct dr_cmd_dir {
	char *from[DR_CMD_MAXFROM]; /* --from milan,rome */
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
 * Without --from, a drill (and check) rehearses the loss of every
 * production site: adds each primary and secondary site of plan that is not
 * d->to. Returns how many d->from holds.
 */
size_t dr_cmd_default_from(const struct dr_plan *plan, struct dr_cmd_dir *d);

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
 * A verb's command line: its options, by their letters in the table of every
 * option (cmd.c: f --from, t --to, d --drill, O --only, n --dry-run, y --yes,
 * A --auto-approve, j --json, M --metrics, I --incident-at, S
 * --take-stale-lock, P --plan-changed, D --assume-done, R --rerun, X
 * --rerun-indeterminate, m --mode, F --format, o --output, k --known-hosts, W
 * --follow, r --remaining, E --etcd, Q --no-quorum, T --attest, c
 * --comment (approve, deny: cmd-control.c), C --clean-before;
 * --help always), then exactly one operand (PLAN or RUN).
 */
struct dr_cmd_args {
	const char *verb;
	const char *letters;
	const char *shortopts;  /* getopt's; NULL: "h" */
	struct dr_cmd_dir *dir; /* f t d O go here when set */
	int (*opt)(int c, const char *arg, void *ctx); /* the others: 0, or an
	                                                  exit status after
	                                                  saying why */
	void *ctx;
	const char **operand;
};

/*
 * Parses argv (argv[0] is the verb) as a describes. Returns 0 with
 * *a->operand set; -1 after printing the usage for --help (exit 0); or an
 * exit status after saying what is wrong.
 */
int dr_cmd_parse(int argc, char **argv, const struct dr_cmd_args *a);

/* What the verbs that run a plan (failover, drill, resume) share. */
struct dr_cmd_run {
	bool dry_run;          /* n --dry-run */
	bool yes;              /* y --yes */
	struct dr_run_opts ro; /* A j M S I */
	const char *etcd;      /* E --etcd URLS (HA, ha.h) */
	bool no_quorum;        /* Q --no-quorum */
	const char *attest;    /* T --attest TEXT */
	const char *plan_path; /* standby: the plan as this controller has it */
};

struct dr_ha;

/*
 * HA for plan and target site: the endpoints of --etcd (etcd_arg, may be
 * NULL) or else of the plan's controllers section, with its TTL and TLS
 * and auth options. Returns 0 with *out (NULL when neither gives
 * endpoints: no HA; free with dr_ha_free), or DR_EXIT_USAGE after saying
 * why (cmd-standby.c).
 */
int dr_cmd_ha_new(const struct dr_plan *plan, const char *to,
                  const char *etcd_arg, bool quiet, struct dr_ha **out);

/*
 * drover resume RUN as a standby that took the run over (cmd-resume.c):
 * argv as for resume; extra->ro.ha holds the leadership, extra->plan_path
 * is the plan to load instead of the path in the journal. Returns an exit
 * status.
 */
int dr_cmd_resume_ha(int argc, char **argv, const struct dr_cmd_run *extra);

/* The opt of those verbs: ctx is a struct dr_cmd_run. */
int dr_cmd_run_opt(int c, const char *arg, void *ctx);

/*
 * Before a run acts: 0 with --yes (yes); else asks on the terminal for the
 * target site's name under header. Returns 0, DR_EXIT_USAGE (no terminal:
 * "refusing to VERB ... pass --yes") or DR_EXIT_FAIL (not confirmed), after
 * saying so.
 */
int dr_cmd_confirm(const struct dr_graph *g, bool yes, const char *verb,
                   const char *header);

/* An opt for a verb whose one option of its own is a flag: *(bool *)ctx. */
int dr_cmd_set_flag(int c, const char *arg, void *ctx);

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

/*
 * A recorded run's state: its final one ("succeeded", "failed",
 * "interrupted"), or "running" while its lock lives, else "interrupted".
 */
const char *dr_cmd_run_state(const char *sdir, const struct dr_rs_run *rs);

/*
 * Loads run id from STATE/runs (dr_rs_load; *run_dir set, caller frees).
 * Says so on stderr when there is no such run (DR_ENOTFOUND: rs unset);
 * other errors are the caller's to report (rs is set: what came before).
 */
int dr_cmd_open_run(const char *sdir, const char *id, char **run_dir,
                    struct dr_rs_run *rs, char **why);

/* The exit status for how a run ended (run.h). */
int dr_cmd_exit_status(int end);

/*
 * Prints "usage: drover VERB USAGE" for the verb to stderr and how to get
 * its help; returns 2.
 */
int dr_cmd_usage(const char *verb);

/*
 * help.c: the verb's help on f: its usage, what it does, and each of its
 * options described. An unknown verb gets the list of verbs.
 */
void dr_cmd_help_to(FILE *f, const char *verb);

/* The same on stdout, for --help. */
void dr_cmd_help(const char *verb);

/* The verb called name, or NULL. */
const struct dr_cmd *dr_cmd_find(const char *name);

/* Prints every verb (hidden ones aside) with its summary. */
void dr_cmd_list(FILE *f);

/*
 * help.c: the names among cands[0..n) closest to word by edit distance
 * (transpositions count one), when close enough to be a slip: at most
 * max names into out, returns how many (0: nothing close).
 */
size_t dr_cmd_suggest(const char *word, const char *const *cands, size_t n,
                      const char **out, size_t max);

/*
 * For an unknown verb: says so on stderr with "did you mean VERB?" when
 * one is close, else lists the verbs. Returns 2.
 */
int dr_cmd_unknown(const char *verb);

/*
 * Resolves a RUN operand: a run id, a unique prefix of one, or "last" (the
 * newest run) under sdir/runs. Returns 0 with *id (caller frees); or, after
 * saying why on stderr, DR_EXIT_FAIL (no such run) or DR_EXIT_USAGE (the
 * prefix names several runs: they are listed).
 */
int dr_cmd_resolve_run(const char *sdir, const char *ref, char **id);

/* The same saying nothing (for the completion). */
int dr_cmd_resolve_run_quiet(const char *sdir, const char *ref, char **id);

/*
 * next.c: after a run of run_id (target site to) ended with exit status
 * rc, says on stderr what to do next: on 3 the resume line; on 1 the
 * failed tasks, the logs and report lines and whether resume retries them;
 * on 4 who holds the site and how to reach it. Nothing on 0.
 */
void dr_cmd_next_steps(const char *sdir, const char *run_id, const char *to,
                       int rc);

/*
 * Continues run_id after its first stage provisioned the target (run.h,
 * DR_END_PROVISIONED): exactly what drover resume does, with the lock the
 * first stage kept and nothing asked again. Returns an exit status.
 */
int dr_cmd_continue(const char *run_id, struct dr_lock *lock,
                    const struct dr_cmd_run *run, const char *command_line);

#endif
