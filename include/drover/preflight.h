/*
 * preflight.h: what a run needs from the controller before it touches any
 * host: the pinned host keys (known_hosts), the private key, the secrets
 * and the scripts. failover, drill and resume refuse to start on a problem,
 * check reports it, and validate warns: the same checks everywhere, so
 * that check passes only when failover would start.
 */
#ifndef DROVER_PREFLIGHT_H
#define DROVER_PREFLIGHT_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/diag.h"
#include "drover/graph.h"
#include "drover/plan.h"

/* Largest known_hosts and script files read (bytes). */
#define DR_FILE_MAX (16 * 1024 * 1024)

/*
 * Checks plan's known_hosts file (exists, a regular file, readable), its
 * private key (a regular file not readable by group or others, as OpenSSH
 * demands) or, without one, that an ssh-agent is there, and every secret
 * file. With g (may be NULL), also every secret the graph uses (environment
 * variables included) and every script it feeds. Adds one "FILE:LINE:"
 * diagnostic per problem to d, prefixed "warning: " when warn. Returns the
 * number of problems.
 */
size_t dr_preflight(const struct dr_plan *p, const struct dr_graph *g,
                    bool warn, struct dr_diags *d);

#endif
