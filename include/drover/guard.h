/*
 * guard.h: addresses a run must never connect to.
 *
 * A drill connects to no production host. The plan-level interlock (graph.h,
 * dr_task.refused) refuses such tasks before they start; the guard is the
 * second line, checked by every connecting executor (SSH sessions, probes)
 * on the address it is about to connect to, after name resolution, so a
 * name that resolves to a production address is refused too.
 */
#ifndef DROVER_GUARD_H
#define DROVER_GUARD_H

#include <stdbool.h>
#include <sys/socket.h>

struct dr_guard;

/* An empty guard. Never fails (aborts on allocation failure). */
struct dr_guard *dr_guard_new(void);

/*
 * Forbids address (an IP literal or a name, compared as written and, for
 * IP literals, numerically) with label naming it ("milan/mi-db1"). Copies
 * both strings.
 */
void dr_guard_add(struct dr_guard *g, const char *address, const char *label);

/*
 * Returns the label of the forbidden entry that name (as written, may be
 * NULL) or sa (may be NULL) matches, or NULL when the connection may go
 * ahead. A NULL guard forbids nothing.
 */
const char *dr_guard_check(const struct dr_guard *g, const char *name,
                           const struct sockaddr *sa);

void dr_guard_free(struct dr_guard *g);

struct dr_plan;

/* A guard forbidding every host (address and name) of the plan's primary
 * and secondary sites: what a drill must never reach. */
struct dr_guard *dr_guard_production(const struct dr_plan *p);

#endif
