/*
 * team.h: a live run as a team sees it. The run's control socket
 * (control.h) and its notifications (notify.h), and what they decide:
 * gates answered from any terminal with the four-eyes rules (a step's
 * approvers and not_by_starter), drover pause / continue / abort, answers
 * to on_failure = "pause", watchers of the board, and the waiting gates
 * that drover status lists.
 *
 * A gate waits for its approvers (or a denial) on the socket, and on the
 * run's terminal when there is one (prompt.h: a "yes" there is the
 * starter's approval), until the step's timeout: then it fails, "no
 * answer". Every approval, denial, answer and steer is audited at once
 * with the person's user and uid (from the kernel) and comment.
 */
#ifndef DROVER_TEAM_H
#define DROVER_TEAM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#include "drover/exec.h"
#include "drover/graph.h"
#include "drover/prompt.h"
#include "drover/sched.h"
#include "drover/secrets.h"

struct dr_team;

struct dr_team_opts {
	uv_loop_t *loop;
	const struct dr_graph *g;
	struct dr_sched *sched;
	struct dr_exec *ex;
	struct dr_prompts *prompts; /* the terminal's, or NULL: none */
	const char *run_id, *run_dir, *mode;
	const struct dr_secret_value *secrets;
	size_t nsecrets;
	/* An audit record for a person's decision (by user, uid). */
	void (*audit)(void *arg, const char *event, const char *detail,
	              const char *user, unsigned long uid, const char *comment);
	/* drover abort: what the first Ctrl-C does (exit 3, resumable). */
	void (*interrupt)(void *arg, const char *why);
	/* A notification failed, or the socket could not be opened: said on
	 * the board, never fatal. msg borrowed for the call. */
	void (*warn)(void *arg, const char *msg);
	void *arg;
};

/*
 * Opens the control socket STATE/runs/RUN/control.sock and the notifier,
 * and sends the run-start event. Returns 0 and sets *out; a socket that
 * cannot be opened is warned about (the run goes on: the terminal still
 * answers).
 */
int dr_team_new(const struct dr_team_opts *o, struct dr_team **out);

/* A gate is waiting (exec.h's gate hook). */
void dr_team_gate(struct dr_team *t, size_t task);

/* A task paused (sched.h's pause hook). */
void dr_team_pause(struct dr_team *t, size_t task);

/* A task changed state: watchers get the board line; a failure is
 * notified. */
void dr_team_change(struct dr_team *t, const struct dr_task *task,
                    const struct dr_task_run *r, enum dr_task_state old,
                    uint64_t since_ms);

/* A note for watchers (a line of the run's board). */
void dr_team_line(struct dr_team *t, const char *line);

/* The terminal answered a gate (prompt.h's gate_answer). */
void dr_team_tty_answer(struct dr_team *t, size_t task, bool yes);

/*
 * The run ended in final_state: the run-ended event goes out, the socket
 * is removed and watchers are closed; notifications still in flight get
 * one deadline. t is freed once its handles have closed (run the loop).
 * NULL is a no-op.
 */
void dr_team_end(struct dr_team *t, const char *final_state);

/*
 * Waiting gates of a live run as text lines ("  fence/confirm: waiting
 * 2m10s, 1 of 2 approvals (alice)"), asked through its socket by
 * drover status. Returns 0 and *text (may be empty), or nonzero.
 */
int dr_team_query_gates(const char *run_dir, char **text);

/*
 * In a team's state directory (the run directory is setgid), makes the
 * run's records readable by the group (0640) so that every operator's
 * status, report and logs see them; elsewhere they stay 0600.
 */
void dr_team_share(const char *run_dir);

#endif
