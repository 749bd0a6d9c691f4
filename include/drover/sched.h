/*
 * sched.h: the scheduler. It knows tasks and events, not SSH.
 *
 * Ready tasks start in dr_task_cmp order (tier, tenant priority, name) within
 * the plan's limits: sessions in all, per site and per host (a copy holds a
 * slot on its source and its destination host). With strict tiers a task
 * starts only when every task of the tiers before it has ended.
 *
 * The scheduler calls the executor's start() for a task and expects exactly
 * one dr_sched_task_done() for it later (on the loop thread). Failures are
 * retried up to the step's retries with exponential backoff; then the step's
 * on_failure decides: abort (start nothing new, let running tasks finish),
 * continue (dependents are skipped, the rest goes on) or pause (ask the
 * operator through the pause callback).
 */
#ifndef DROVER_SCHED_H
#define DROVER_SCHED_H

#include <stdbool.h>
#include <stdint.h>
#include <uv.h>

#include "drover/graph.h"

enum dr_task_state {
	DR_TS_PENDING,       /* waiting for dependencies or a slot */
	DR_TS_RUNNING,       /* handed to an executor */
	DR_TS_RETRY_WAIT,    /* failed, waiting for the retry delay */
	DR_TS_SUCCEEDED,     /* done */
	DR_TS_FAILED,        /* failed after its retries */
	DR_TS_SKIPPED,       /* not run: a dependency failed (continue), or
	                        unreachable with unreachable = continue */
	DR_TS_CANCELLED,     /* not run or stopped: abort or interrupt */
	DR_TS_INDETERMINATE, /* was running when the controller stopped */
	DR_TS_REFUSED        /* drill interlock: production host */
};

const char *dr_task_state_name(enum dr_task_state s);

/* Whether s ends a task (every state but pending, running, retry-wait). */
bool dr_task_state_final(enum dr_task_state s);

/* What an executor reports for one attempt. */
struct dr_outcome {
	int status;      /* 0 success, else DR_E* (DR_EEXIT: nonzero exit) */
	int exit_code;   /* -1 when the command did not exit */
	char signal[32]; /* exit signal name, "" if none */
	const char *message;  /* borrowed for the call: "exit 3", ... */
	const char *tail;     /* borrowed: last output, may be NULL */
	const char *backup;   /* copy from a restore-point set: the backup
	                         used, or NULL */
	uint64_t backup_ms;   /* when that backup was taken (mtime) */
	const char *rejected; /* restore points passed over: a JSON array of
	                         {backup, reason}, borrowed; NULL: none */
	bool unknown; /* the command may have run and its end was not seen
	                 (connection lost, deadline, cancel): unless the step
	                 is idempotent or readonly, the task becomes
	                 indeterminate and the operator decides */
};

/* Per-task run record, readable by renderers and the board. */
struct dr_task_run {
	enum dr_task_state state;
	int attempts;
	int exit_code;
	char signal[32];
	bool unreachable;
	bool unknown;           /* the last attempt may have run, its end
	                           unseen: paused or indeterminate until the
	                           operator decides */
	bool by_design;         /* skipped on purpose: a drill does not fence */
	char *message;          /* last outcome message, owned */
	char *tail;             /* last output tail, owned */
	char *backup;           /* restore point a copy used, owned, or NULL */
	uint64_t backup_ms;     /* when it was taken */
	char *rejected;         /* points passed over (JSON array), owned */
	uint64_t start_wall_ms; /* first attempt started */
	uint64_t end_wall_ms;   /* ended (any final state) */
	uint64_t start_mono_ms;
	uint64_t end_mono_ms;
};

struct dr_sched;

struct dr_executor {
	/*
	 * Starts one attempt of task. Returns 0 and later calls
	 * dr_sched_task_done() exactly once, or returns DR_E* and never does
	 * (the scheduler then treats the attempt as failed with that code).
	 */
	int (*start)(void *impl, struct dr_sched *s, const struct dr_task *t);
	/* Asks a running attempt to stop; it still ends with task_done. */
	void (*cancel)(void *impl, const struct dr_task *t);
	void *impl;
};

/*
 * Answers to a pause. DR_PAUSE_DONE is for a task whose outcome is unknown
 * (dr_task_run.unknown): the operator checked that it did its work.
 */
enum dr_pause_answer {
	DR_PAUSE_RETRY,
	DR_PAUSE_SKIP,
	DR_PAUSE_ABORT,
	DR_PAUSE_DONE,
	DR_PAUSE_LATER /* an unknown outcome nobody is asked about now (no
	                  terminal): indeterminate, its dependents wait, the
	                  rest goes on, resume decides */
};

struct dr_sched_hooks {
	/* A task changed state (also called for each retry scheduled). */
	void (*on_change)(void *arg, const struct dr_task *t,
	                  const struct dr_task_run *r, enum dr_task_state old);
	/*
	 * A failed task's step says on_failure = pause, or a task's outcome
	 * is unknown (r->unknown: the command may have run and its end was
	 * not seen) and its step is not idempotent. The hook must later call
	 * dr_sched_answer_pause(). NULL: pause means abort, and an unknown
	 * outcome leaves the task indeterminate (the run ends resumable,
	 * the operator decides on resume).
	 */
	void (*on_pause)(void *arg, const struct dr_task *t,
	                 const struct dr_task_run *r);
	/*
	 * The change just reported through on_change must be durable before
	 * the scheduler goes on (a task's intent before it starts, its
	 * outcome before its dependents start). The hook must later call
	 * dr_sched_durable(). NULL: no barrier.
	 */
	void (*barrier)(void *arg, struct dr_sched *s, const struct dr_task *t);
	/* Every task has reached a final state, or the run stopped. */
	void (*on_end)(void *arg, struct dr_sched *s);
	void *arg;
};

enum dr_run_result {
	DR_RUN_SUCCEEDED,   /* every task succeeded or was skipped by design */
	DR_RUN_FAILED,      /* a task failed */
	DR_RUN_INTERRUPTED, /* stopped by the operator, or a task's outcome is
	                       unknown and awaits a decision; resumable */
	DR_RUN_RUNNING
};

/*
 * Creates a scheduler for g (borrowed; must outlive it). Timers live on
 * loop. Returns 0 and sets *out. Free with dr_sched_free() after on_end.
 */
int dr_sched_new(uv_loop_t *loop, const struct dr_graph *g,
                 const struct dr_executor *ex, const struct dr_sched_hooks *h,
                 struct dr_sched **out);

/* Starts dispatching; on_end is called later (never from inside this). */
int dr_sched_start(struct dr_sched *s);

/* Reports the end of one attempt of task id. */
void dr_sched_task_done(struct dr_sched *s, size_t id,
                        const struct dr_outcome *o);

/*
 * Operator interrupt: start nothing new, cancel running tasks; the run ends
 * DR_RUN_INTERRUPTED once they have reported.
 */
void dr_sched_interrupt(struct dr_sched *s);

/*
 * Reports that the change awaited through the barrier hook is durable
 * (status 0) or could not be made durable (DR_EIO: nothing new starts, the
 * run fails).
 */
void dr_sched_durable(struct dr_sched *s, size_t id, int status);

/* True once a journal write failed (see dr_sched_durable). */
bool dr_sched_journal_failed(const struct dr_sched *s);

/*
 * drover pause / continue: while held, nothing new starts (running tasks
 * go on; an interrupt or abort still ends the run). Releasing it
 * dispatches what is ready.
 */
void dr_sched_hold(struct dr_sched *s, bool on);
bool dr_sched_held(const struct dr_sched *s);

/* Answers a pause raised through on_pause. */
void dr_sched_answer_pause(struct dr_sched *s, size_t id,
                           enum dr_pause_answer a);

/*
 * Before the run starts, gives a task the final state (and attempts, times,
 * message) it reached in an earlier run (resume; --assume-done).
 */
void dr_sched_preset(struct dr_sched *s, size_t id,
                     const struct dr_task_run *from);

const struct dr_task_run *dr_sched_task(const struct dr_sched *s, size_t id);
/* Every task's run record, indexed by task id. */
const struct dr_task_run *dr_sched_runs(const struct dr_sched *s);
enum dr_run_result dr_sched_result(const struct dr_sched *s);
uint64_t dr_sched_start_wall_ms(const struct dr_sched *s);
uint64_t dr_sched_start_mono_ms(const struct dr_sched *s);

/*
 * Releases the scheduler; its timers are closed first, so call it with the
 * loop still alive and run the loop once more to finish the closes.
 * dr_sched_free(NULL) is a no-op.
 */
void dr_sched_free(struct dr_sched *s);

#endif
