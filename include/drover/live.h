/*
 * live.h: the live board, what a run shows on a terminal instead of one
 * line per task state change (board.h's dr_board_mode chooses): one frame
 * redrawn in place, with ANSI cursor movement, at most ten times a second
 * from a timer on the run's loop.
 *
 * A frame shows, per tier and service, the tasks done, running, failed,
 * skipped or cancelled and pending with a bar, and each RTO against the
 * time elapsed; the longest-running tasks; the latest failures; the gates
 * and pauses waiting for the operator; the latest notes; and an estimated
 * finish from the task durations so far.
 *
 * Its cost does not depend on the number of tasks: a change updates
 * counters, the set of running tasks and two short rings in O(1); a frame
 * reads only those (per service, per tier, the running tasks, which the
 * plan's session limit bounds). Changes never draw; the timer does, when
 * something changed or the clock moved on a second.
 *
 * While the operator is asked something (dr_live_wait) no frame is drawn,
 * so that the question stays readable; once every question is answered the
 * next frame is drawn below the answers. Whoever prints anything else on
 * the terminal during a run calls dr_live_detach() first, so that the next
 * frame goes below it instead of over it.
 */
#ifndef DROVER_LIVE_H
#define DROVER_LIVE_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include <uv.h>

#include "drover/graph.h"
#include "drover/sched.h"

struct dr_live;

struct dr_live_opts {
	FILE *out; /* the terminal: the board's stream */
	const struct dr_graph *g;
	/* Every task's record as the run starts, indexed by task id (the
	 * scheduler's, after presets: a resumed run's finished tasks count
	 * as done); NULL: every task pending. Read only here. */
	const struct dr_task_run *runs;
	uint64_t (*now)(void *arg); /* ms since the run started */
	void *arg;
	/* How long the RTO clock had run when this run started (a resumed
	 * run's RTOs run from its first start); 0 for a new run. */
	uint64_t rto_offset_ms;
	/* The terminal's size; 0: asked of out's terminal each frame, 80
	 * columns and 24 rows when it cannot say. Lines are cut to the
	 * width and a frame keeps within the height, so that moving the
	 * cursor up over the last frame always reaches its first line. */
	int cols, rows;
};

/*
 * Creates a live board for o->g (borrowed; must outlive it). Nothing is
 * drawn until the first tick. Returns 0 and sets *out, or DR_EINVAL (no
 * graph, stream or clock). Release with dr_live_close().
 */
int dr_live_new(const struct dr_live_opts *o, struct dr_live **out);

/*
 * Starts the redraw timer on loop (every 100 ms; it does not keep the loop
 * alive). Returns 0 or DR_EINVAL (already started).
 */
int dr_live_start(struct dr_live *l, uv_loop_t *loop);

/* Task t is now in r->state (the scheduler's on_change). O(1). */
void dr_live_change(struct dr_live *l, const struct dr_task *t,
                    const struct dr_task_run *r);

/* What became of task t, stopped early: kept among the latest notes. */
void dr_live_note(struct dr_live *l, const struct dr_task *t, const char *msg);

/*
 * The operator is about to be asked about task t: a gate (r NULL) or a
 * pause (r: the task's record, for its message). Draws one frame now,
 * showing t as waiting, then draws nothing until every task waited for has
 * changed state (each answer changes it), so that the question is printed
 * below the last frame and stays readable.
 */
void dr_live_wait(struct dr_live *l, const struct dr_task *t,
                  const struct dr_task_run *r);

/*
 * Something else is about to be printed on the terminal: the frame on
 * screen stays as it is, and the next one is drawn below whatever follows.
 */
void dr_live_detach(struct dr_live *l);

/*
 * What the timer does: draws a frame if anything changed since the last
 * one, or the clock moved on a second, and no question is waiting. Returns
 * whether it drew. Tests call it instead of running a timer.
 */
bool dr_live_tick(struct dr_live *l);

/*
 * At the end of the run: draws the final frame, stops the timer and
 * releases the board once the timer is closed (run the loop to finish the
 * close, so that uv_loop_close() succeeds; without dr_live_start, at
 * once). l is not usable afterwards. dr_live_close(NULL) is a no-op.
 */
void dr_live_close(struct dr_live *l);

#endif
