/*
 * runbook.h: the printable runbook for one direction of a plan.
 *
 * The runbook is written for a person doing the recovery by hand, without
 * drover: every task of the expanded graph becomes a numbered step, in run
 * order, grouped by tier, service and tenant, with the exact ssh command to
 * paste, what success looks like and what to do on failure. Secrets appear
 * as placeholders ("<secret:db_password>") with where to get them, never as
 * values. A tenant-scoped service whose tenants differ only in their values
 * is printed once, with the values as placeholders, and a checklist of
 * tenant by step that holds each tenant's values. It reads the graph and
 * the plan only; it never connects anywhere.
 */
#ifndef DROVER_RUNBOOK_H
#define DROVER_RUNBOOK_H

#include <stdint.h>
#include <stdio.h>

#include "drover/graph.h"

enum dr_runbook_format {
	DR_RUNBOOK_MD,   /* GitHub-flavoured Markdown */
	DR_RUNBOOK_HTML, /* one self-contained file, prints on A4 */
	DR_RUNBOOK_PDF   /* the HTML printed by headless Chromium */
};

/* Where a section starts in the printed document (see runbook-pdf.c). */
struct dr_runbook_page {
	const char *id; /* the section's anchor: "s-1-1", "c-1-1", ... */
	int page;       /* 1 is the first */
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
	/* The names the graph was expanded with (--only), for the header
	 * to say what the runbook covers; NULL/0: everything. */
	const char *const *only;
	size_t nonly;
	/*
	 * --remaining: done[id] is true for each task of the graph that the
	 * run run_id finished (succeeded). Those are left out, and the
	 * document says how many. NULL: nothing is done yet.
	 */
	const bool *done;
	const char *run_id;
	/*
	 * HTML: the pages the sections start on, from a first print of the
	 * same document, written into the table of contents. NULL: unknown
	 * (the stylesheet asks for target-counter(), which not every engine
	 * has). Borrowed.
	 */
	const struct dr_runbook_page *pages;
	size_t npages;
};

/*
 * Writes the runbook for g to out. Returns 0, DR_EINVAL (the graph has a
 * cycle or opts is bad), DR_EIO (known_hosts unreadable, said on stderr, or
 * a write to out failed: errno says why), DR_EPROTO (libssh2 cannot start
 * to read known_hosts), or for DR_RUNBOOK_PDF, DR_ENOTFOUND (no Chromium:
 * said on stderr, with the package to install) or DR_EEXIT (Chromium
 * failed, said on stderr). On error out may hold a partial document.
 */
int dr_runbook_write(const struct dr_graph *g,
                     const struct dr_runbook_opts *opts, FILE *out);

/*
 * The HTML runbook printed to PDF by headless Chromium (chromium,
 * chromium-browser or google-chrome in PATH, or $DROVER_CHROMIUM), twice:
 * the first print tells the pages the sections start on, for the table of
 * contents of the second. Writes the PDF to out. Returns like
 * dr_runbook_write. Blocks until Chromium is done.
 */
int dr_runbook_write_pdf(const struct dr_graph *g,
                         const struct dr_runbook_opts *opts, FILE *out);

/*
 * Reads the named destinations of a PDF that Chromium printed (one per
 * link target): fills *out with malloc'd ids and their pages, sets *n.
 * Returns 0, or DR_EINVAL when the PDF is not one it can read. Free with
 * dr_runbook_pages_free().
 */
int dr_runbook_pdf_pages(const char *pdf, size_t len,
                         struct dr_runbook_page **out, size_t *n);
void dr_runbook_pages_free(struct dr_runbook_page *v, size_t n);

#endif
