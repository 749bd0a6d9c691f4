/*
 * byhand.h: the shell lines a person types on their workstation to do a
 * task of the graph by hand, drover not running (the runbook's commands):
 * ssh and scp lines with each host's user and port, a copy relayed through
 * the workstation with its sha256 checks, a probe with curl or nc.
 *
 * Every word that is not the program's own is a literal shell word or is
 * single-quoted. A command to run on a host is quoted once more for the
 * ssh line, so that it arrives as it was written: in single quotes, or in
 * double quotes when it holds a single quote and nothing that double
 * quotes expand. Every ssh and scp line names the plan's key (-i) and its
 * known_hosts file with strict checking. Strings only: the caller puts
 * them in a document.
 */
#ifndef DROVER_BYHAND_H
#define DROVER_BYHAND_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/graph.h"
#include "drover/plan.h"

/*
 * The order to do the tasks of g in: run order, regrouped by tier, then
 * service (in order of first start), then tenant within the service, so
 * that a person finishes one service instance before the next; cleanup
 * steps last. If regrouping would put a task before one it depends on, the
 * plain run order. Fills order[] with g->ntasks task indexes. Returns 0 or
 * DR_EINVAL (the graph has a cycle).
 */
int dr_byhand_order(const struct dr_graph *g, size_t *order);

/* The port drover connects to h on: the host's, the plan's, or 22. */
int dr_byhand_port(const struct dr_plan *p, const struct dr_host *h);

/* The user drover logs in to h as: the host's, the plan's, or "root". */
const char *dr_byhand_user(const struct dr_plan *p, const struct dr_host *h);

/* "site/host", as people name a host. Caller frees. */
char *dr_byhand_label(const struct dr_host *h);

/*
 * "ssh -i KEY -o UserKnownHostsFile=FILE -o StrictHostKeyChecking=yes
 * -p PORT USER@ADDRESS": a login to h (-i and -o when the plan gives a key
 * and a known_hosts file). Caller frees.
 */
char *dr_byhand_login(const struct dr_plan *p, const struct dr_host *h);

/*
 * Whether cmd reads well as the last word of an ssh line: one line, and
 * quotable without '\'' (see above). Otherwise log in and paste it.
 */
bool dr_byhand_fits_line(const char *cmd);

/*
 * The login of dr_byhand_login(), then " 'CMD'" and, when input is not
 * NULL, " < INPUT" (a local file for the command's standard input).
 * Caller frees.
 */
char *dr_byhand_ssh(const struct dr_plan *p, const struct dr_host *h,
                    const char *cmd, const char *input);

/* One instruction: what to do ("2. Check it before sending it on:") and
 * the lines to type, one command per line. Both owned. */
struct dr_byhand_step {
	char *say;
	char *lines;
};

#define DR_BYHAND_MAX                                                          \
	5 /* instructions of a copy at the most (a scanned                     \
	    restore point: into quarantine, scan, move) */

/*
 * The instructions of the copy task t: fetch the file from its source
 * host (when it has one) into the workstation directory dir (a tenant's
 * own, made first; NULL: the current one), check its sha256 (the digest
 * the plan gives, or the manifest beside the file), send it to the
 * destination and check it there (or keep it on the workstation). Fills
 * out and returns how many; free them with dr_byhand_clear().
 */
size_t dr_byhand_copy(const struct dr_plan *p, const struct dr_task *t,
                      const char *dir,
                      struct dr_byhand_step out[DR_BYHAND_MAX]);

/* Frees the n instructions of s. */
void dr_byhand_clear(struct dr_byhand_step *s, size_t n);

/*
 * The command that runs the probe task t once from the workstation: nc
 * for TCP, curl for HTTP (the status, and the body when the step expects
 * some). Caller frees.
 */
char *dr_byhand_probe(const struct dr_task *t);

#endif
