/*
 * board.h: what a run prints as it goes, for the people watching it.
 *
 * One line per task state change ("[00:01:12] tier 0 payroll/comune-a
 * restore torino/to-db1 ok 41s"), notes on tasks stopped early, and at the
 * end the counts and each service's recovery time against its RTO. With
 * --json, one JSON object per change goes to stdout as well and the board
 * to stderr. The board only prints: the journal is the record.
 *
 * On a terminal the changes are not printed one by one (26,000 tasks make
 * 52,000 lines nobody can follow): the live board (live.h) is redrawn in
 * place instead, and the summary follows it. dr_board_mode() decides.
 */
#ifndef DROVER_BOARD_H
#define DROVER_BOARD_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "drover/common.h"
#include "drover/graph.h"
#include "drover/sched.h"

enum dr_board_mode {
	DR_BOARD_LINES, /* one line per change (dr_board_task) */
	DR_BOARD_LIVE   /* redrawn in place (live.h) */
};

/*
 * How the board is drawn on board (stdout, or stderr with json): live when
 * board is a terminal, else lines, which tests and logs parse. With json,
 * lines also when stdout is a terminal too: the NDJSON would tear the
 * frames. With DROVER_TRACE, lines: the trace goes to the same terminal.
 * The environment overrides it:
 *   DROVER_BOARD=lines  lines even on a terminal (a screen reader, a
 *                       terminal that logs, a slow link)
 *   DROVER_BOARD=live   live even when board is not a terminal (tests that
 *                       read a pseudo-terminal or a pipe)
 * Any other value, or none: decided as above.
 */
enum dr_board_mode dr_board_mode(FILE *board, bool json);

/* "payroll/comune-brescia restore torino/to-db1": task t for people. */
void dr_board_label(const struct dr_task *t, struct dr_buf *b);

/* "00:01:12": ms as hours, minutes and seconds. */
void dr_board_clock(uint64_t ms, char *buf, size_t len);

/*
 * The line for task t entering r->state from old, since_ms after the run
 * started. A task cancelled before it started prints nothing (the summary
 * counts it).
 */
void dr_board_task(FILE *board, const struct dr_task *t,
                   const struct dr_task_run *r, enum dr_task_state old,
                   uint64_t since_ms);

/* --json: {"event":"task","run":...} for the change, on stdout. */
void dr_board_json(const char *run_id, const struct dr_task *t,
                   const struct dr_task_run *r, uint64_t since_ms);

/* "[00:03:10] KEY: msg": what became of a task stopped early. */
void dr_board_note(FILE *board, const struct dr_task *t, const char *msg,
                   uint64_t since_ms);

/*
 * The end: "SUCCEEDED RUN: 12 succeeded, ..." and the table of services
 * with their recovery time against their RTO. runs are the scheduler's, one
 * per task of g; RTOs are measured from start_wall_ms.
 */
void dr_board_summary(FILE *board, const struct dr_graph *g,
                      const struct dr_task_run *runs, const char *run_id,
                      enum dr_run_result res, uint64_t start_wall_ms,
                      uint64_t end_wall_ms, uint64_t incident_ms);

#endif
