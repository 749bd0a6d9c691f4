/*
 * exec.h: the executors behind the scheduler. One executor object runs the
 * tasks of one run: remote commands and scripts over pooled SSH sessions,
 * copies relayed through the controller, probes, local commands and
 * approval gates. It knows one task at a time, never the plan's order.
 *
 * SSH sessions are pooled per host: a connection is reused by that host's
 * tasks, more are opened up to the plan's per-host limit, and idle ones are
 * closed when the global session limit is reached.
 */
#ifndef DROVER_EXEC_H
#define DROVER_EXEC_H

#include <stdbool.h>
#include <uv.h>

#include "drover/graph.h"
#include "drover/provision.h"
#include "drover/guard.h"
#include "drover/secrets.h"
#include "drover/sched.h"
#include "drover/ssh.h"

struct dr_exec;
struct json_t;

/*
 * Asks the operator to answer an approval gate. The hook must eventually
 * call dr_exec_gate_answer(). NULL: gates fail unless auto_approve.
 */
typedef void (*dr_gate_fn)(void *arg, struct dr_exec *ex,
                           const struct dr_task *t);

/*
 * Tells the operator how an operation ended in the background after its
 * task's outcome was reported early (deadline, cancel): whether the
 * remote kill is confirmed. msg is borrowed for the call.
 */
typedef void (*dr_note_fn)(void *arg, const struct dr_task *t, const char *msg);

struct dr_exec_opts {
	uv_loop_t *loop;
	const struct dr_graph *graph;
	const char *log_dir; /* per-task logs are written here */
	const char *run_id;  /* used in remote kill tags */
	bool auto_approve;
	uint64_t incident_ms; /* restore points: newest backup older than this
	                         (wall clock ms); 0: the run's start */
	const struct dr_secret_value *secrets;
	size_t nsecrets;
	dr_gate_fn gate;
	dr_note_fn note;  /* NULL: notes are dropped */
	dr_note_fn fault; /* a task's log could not be written: the run's
	                     records are incomplete; NULL: dropped */
	void *hook_arg;   /* for gate and note */
	/* Addresses never to connect to (drills: production), borrowed;
	 * NULL: none. Checked by every session and probe before connect. */
	const struct dr_guard *guard;
	const char *run_dir; /* a provision step's keys go under it */
	/* A provision step's inventory, checked: the run journals the hosts
	 * and pins their keys before the step is reported done. Returns 0,
	 * or an error with *why (caller frees): the step fails. */
	int (*provisioned)(void *arg, const struct dr_task *t,
	                   const struct dr_inventory *inv, char **why);
	/* Restore points (scan.h): points must also be older than this
	 * (--clean-before; 0: no bound); the verdicts of earlier runs of
	 * this run (journal records, borrowed; NULL: none); and where a new
	 * verdict record goes (the journal), NULL: nowhere. */
	uint64_t clean_before_ms;
	const struct json_t *verdict_records;
	void (*journal_note)(void *arg, const struct dr_task *t,
	                     const char *record);
	/* HA (ha.h): the leader's fencing token, decimal digits, exported
	 * to every command (remote and local) as DROVER_FENCING_TOKEN and
	 * part of the remote kill tags; NULL: none. */
	const char *fencing_token;
	/* HA: asked again just before a command, copy or probe is sent (the
	 * scheduler's check was at the task's start, before connecting):
	 * false and *why: the attempt ends cancelled, nothing sent. NULL:
	 * no check. Called with hook_arg. */
	bool (*fence)(void *arg, const char **why);
};

/*
 * Creates the executor. Reads every script the graph needs (a missing one is
 * an error, reported to stderr). Returns 0 and sets *out, or DR_EIO.
 */
int dr_exec_new(const struct dr_exec_opts *o, struct dr_exec **out);

/* Fills the scheduler's view of this executor; sched is bound later. */
void dr_exec_executor(struct dr_exec *ex, struct dr_executor *out);

/*
 * Ends a gate raised through the gate hook with status (0 approved,
 * DR_EREFUSED denied, DR_ETIMEDOUT no answer in time) and message ("approved
 * by alice (uid 1001)"). A gate no longer waiting is left alone.
 */
void dr_exec_gate_finish(struct dr_exec *ex, size_t task_id, int status,
                         const char *message);

/* The compromise time restore points were chosen before (--clean-before,
 * or the first point an indicator was found in, scan.h); 0: none. */
uint64_t dr_exec_compromise_ms(const struct dr_exec *ex);

/* Answers a gate raised through the gate hook: approved or not. */
void dr_exec_gate_answer(struct dr_exec *ex, size_t task_id, bool approved,
                         const char *who);

/*
 * Closes every pooled session (gracefully, each with a deadline) and calls
 * cb when the last one is gone and every operation stopped in the
 * background has ended (each is bounded); the executor is then freed. No
 * task may be running.
 */
void dr_exec_close(struct dr_exec *ex, void (*cb)(void *arg), void *arg);

/*
 * The SSH options for connection cn: its address, user, key and known
 * hosts, labelled label ("site/host"), never connecting where guard
 * forbids (NULL: anywhere).
 */
void dr_exec_ssh_opts(const struct dr_conn *cn, const char *label,
                      const struct dr_guard *guard, struct dr_ssh_opts *so);

#endif
