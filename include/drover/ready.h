/*
 * ready.h: the scheduler's ready tasks, kept so that a full host or site
 * costs nothing to pass over.
 *
 * Every task belongs to one class: the tasks that hold the same host slots
 * (its host, a copy's source) and the same kind of controller slot. Whether
 * a task fits the limits depends only on its class, so a pass that finds a
 * class's first task does not fit sets the whole class aside without
 * looking at its other tasks. Each class is a heap of task ids in
 * dr_task_cmp order; the classes are a heap ordered by their first task, so
 * the first task of all is found in O(1) and a start or a new ready task
 * costs O(log n). A pass visits at most every class once: nothing in it is
 * proportional to the number of ready tasks.
 *
 * The order of starts is the one of a single heap of every ready task that
 * is popped in order and where a task that does not fit waits for the next
 * pass: dr_ready_skipped_min() gives the first task of a set-aside class
 * that such a walk would still meet, for the scheduler's stopping rules.
 */
#ifndef DROVER_READY_H
#define DROVER_READY_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/graph.h"

struct dr_ready;

/*
 * class_of[id] (g->ntasks entries, each < nclasses) is each task's class;
 * copied. Never fails (aborts on allocation failure).
 */
struct dr_ready *dr_ready_new(const struct dr_graph *g, const size_t *class_of,
                              size_t nclasses);
void dr_ready_free(struct dr_ready *r);

/* Adds a ready task (not already in). */
void dr_ready_push(struct dr_ready *r, size_t id);

/* Ready tasks in all, set-aside classes included. */
size_t dr_ready_count(const struct dr_ready *r);

/* The first task of the classes not set aside in this pass, or false. */
bool dr_ready_peek(const struct dr_ready *r, size_t *id);

/* Removes that task (the scheduler starts or settles it). */
void dr_ready_take(struct dr_ready *r);

/* Sets that task's class aside until dr_ready_end_pass(). */
void dr_ready_skip(struct dr_ready *r);

/*
 * The first task after the first of any set-aside class (what a walk of a
 * single heap would meet next among them), or false.
 */
bool dr_ready_skipped_min(const struct dr_ready *r, size_t *id);

/* Whether task a comes before task b in ready order. */
bool dr_ready_before(const struct dr_ready *r, size_t a, size_t b);

/* Ends a pass: the set-aside classes are back. */
void dr_ready_end_pass(struct dr_ready *r);

#endif
