/*
 * runbook.h: the printable runbook for one direction of a plan.
 *
 * The runbook is written for a person doing the recovery by hand, without
 * drover: every task of the expanded graph becomes a numbered step, in run
 * order, grouped by tier, service and tenant, with the exact ssh command to
 * paste, what success looks like and what to do on failure. Secrets appear
 * as placeholders ("<secret:db_password>") with where to get them, never as
 * values. It reads the graph and the plan only; it never connects anywhere.
 */
#ifndef DROVER_RUNBOOK_H
#define DROVER_RUNBOOK_H

#include <stdint.h>
#include <stdio.h>

#include "drover/graph.h"

enum dr_runbook_format {
	DR_RUNBOOK_MD,  /* GitHub-flavoured Markdown */
	DR_RUNBOOK_HTML /* one self-contained file, prints on A4 */
};

struct dr_runbook_opts {
	enum dr_runbook_format format;
	/*
	 * OpenSSH known_hosts file, or NULL. When given, the keys pinned for
	 * each host ("address" or "[address]:port", see hostkeys.h) are
	 * shown as OpenSSH fingerprints ("SHA256:..."); hashed entries
	 * cannot be matched and are ignored. A file that cannot be read is
	 * an error.
	 */
	const char *known_hosts;
	uint64_t now_wall_ms; /* date shown as generated; 0: now */
};

/*
 * Writes the runbook for g to out. Returns 0, DR_EINVAL (the graph has a
 * cycle or opts is bad), DR_EIO (known_hosts unreadable, said on stderr, or
 * a write to out failed: errno says why) or DR_EPROTO (libssh2 cannot start
 * to read known_hosts). On error out may hold a partial document.
 */
int dr_runbook_write(const struct dr_graph *g,
                     const struct dr_runbook_opts *opts, FILE *out);

#endif
