/*
 * run.h: one execution of an expanded plan on one loop: lock, secrets,
 * journal and audit chain, scheduler and executors, the board, the summary
 * and report.json. Used by failover, drill and resume.
 */
#ifndef DROVER_RUN_H
#define DROVER_RUN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/graph.h"
#include "drover/lock.h"
#include "drover/sched.h"

struct json_t;

struct dr_run_opts {
	const struct dr_graph *graph;
	const char *mode; /* "failover" or "drill" */
	const char *run_id;
	const char *state_dir;     /* the run lives in STATE/runs/RUN */
	struct dr_lock *lock;      /* the target site's lock, already held
	                              (resume); the run releases it. NULL:
	                              the run takes it */
	bool resume;               /* the journal exists: append to it */
	uint64_t first_start_ms;   /* resume: when the run first started; RTOs
	                              are measured from there */
	uint64_t journal_next_seq; /* resume: last seq + 1 */
	uint64_t audit_next_seq;
	const char *audit_prev; /* resume: hash of the last audit record */
	/* Per task (or NULL): a final state reached before (resume), or
	   state DR_TS_PENDING to run it. */
	const struct dr_task_run *presets;
	const char *const *audit_notes; /* resume decisions, audited */
	size_t naudit_notes;
	const char *const *only;
	size_t nonly;
	bool auto_approve;
	bool json;
	bool take_stale_lock;
	const char *command_line;
	const char *metrics_path; /* Prometheus textfile to write, or NULL */
	/* The first stage of a run onto a provisioned site (the graph of
	 * dr_graph_before_provision): when it succeeds the run is not over;
	 * it returns DR_END_PROVISIONED with the lock in *keep_lock, and the
	 * caller goes on as drover resume does (dr_cmd_continue). */
	bool stage_provision;
	struct dr_lock **keep_lock;
	bool continuing;          /* that second stage */
	uint64_t incident_ms;     /* restore points older than this; 0: start */
	uint64_t clean_before_ms; /* --clean-before: and older than this */
	const struct json_t *verdicts; /* resume: judged restore points
	                                  (journal records), or NULL */
	/* HA over etcd (ha.h), or NULL: the local journal only. The run
	 * takes the leadership (unless a standby already holds it), renews
	 * its lease on the loop, replicates every group commit, checks the
	 * lease before each task start and ends the run key. */
	struct dr_ha *ha;
	/* --no-quorum --attest TEXT: a single controller run without etcd,
	 * attested by the operator (audited, on the board, in report.json);
	 * NULL: none. */
	const char *attestation;
};

/* How a run ended; the CLI turns it into an exit status. */
enum dr_run_end {
	DR_END_OK,         /* every task succeeded */
	DR_END_FAILED,     /* a task failed, the run could not start, or its
	                      logs or reports could not be written */
	DR_END_RESUMABLE,  /* interrupted, a decision is awaited, or the
	                      journal failed: drover resume continues it */
	DR_END_LOCKED,     /* another run holds the target site */
	DR_END_PROVISIONED /* stage_provision: the hosts are known and
	                      journaled; the rest of the run follows */
};

/*
 * The exit status of the process when a second interrupt stops a run at
 * once (from the signal handler, with _exit): resumable.
 */
#define DR_RUN_END_EXIT_AT_ONCE 3

/* Runs it. Returns how it ended. */
int dr_run_execute(const struct dr_run_opts *o);

/* "drover ARG..." for the audit trail; caller frees. */
char *dr_run_command_line(int argc, char **argv);

#endif
