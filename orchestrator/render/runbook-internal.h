/*
 * runbook-internal.h: what the files of the runbook share (runbook.c, the
 * document; runbook-step.c, one step; runbook-tenant.c, a procedure shared
 * by every tenant and its checklist; runbook-pdf.c, printing).
 */
#ifndef DROVER_RUNBOOK_INTERNAL_H
#define DROVER_RUNBOOK_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/doc.h"
#include "drover/graph.h"
#include "drover/hostkeys.h"
#include "drover/runbook.h"

struct rb {
	struct dr_doc *d;
	const struct dr_graph *g;
	const struct dr_plan *p;
	const struct dr_runbook_opts *o;
	struct dr_hostkeys *kh; /* the pinned keys, or NULL: none given */
	int nfacts;             /* in the facts line being written */
};

#define RB_HTML(r) dr_doc_is_html((r)->d)

/* Whether the run given with --remaining finished task id. */
static inline bool
rb_done(const struct rb *r, size_t id)
{
	return r->o->done != NULL && r->o->done[id];
}

/* "8h", "1h30m", "45s", "350ms": short and exact, in buf. */
const char *rb_dur(uint64_t ms, char *buf, size_t len);

/* A blank to fill in by hand, after its label. */
void rb_blank(struct rb *r, const char *label);

/* A line of facts: begin, then a fact (its bold label) before each. */
void rb_facts_begin(struct rb *r);
void rb_fact(struct rb *r, const char *label);
void rb_facts_end(struct rb *r);

/*
 * The page a section starts on in the printed document ("s-1-1"), when a
 * first print told it (dr_runbook_opts.pages); 0: unknown.
 */
int rb_page_of(const struct rb *r, const char *id);

/* How rb_write_step writes a step. */
struct rb_how {
	/* The workstation directory a copy goes through: the tenant's name,
	 * its placeholder in a shared procedure, or NULL (the current one). */
	const char *dir;
	/* A step of a procedure shared by every tenant: the checklist holds
	 * its box, and the values are the checklist's (placeholders). */
	bool shared;
};

/* Writes task t as step num: where, the commands, success and failure. */
void rb_write_step(struct rb *r, const struct dr_task *t, int num,
                   const struct rb_how *how);

/* A block of commands, one per line, copyable as is. */
void rb_pre(struct rb *r, const char *s);

/*
 * A service section whose tenants all do the same steps on the same hosts,
 * the commands differing only in the tenant's values: printed once, with
 * the values as placeholders, and a checklist of tenant by step.
 */
struct rb_shared;

/*
 * Looks at the section order[from, to) of one tenant-scoped service.
 * Returns the shared procedure, or NULL when the tenants' steps differ in
 * anything but their values (or when there is one tenant): then each
 * tenant's steps are written as they are. Free with rb_shared_free().
 */
struct rb_shared *rb_shared_new(const struct rb *r, const size_t *order,
                                size_t from, size_t to);
void rb_shared_free(struct rb_shared *s);

/* Steps in the procedure, tenants in the section, tenants left to do. */
size_t rb_shared_nsteps(const struct rb_shared *s);
size_t rb_shared_ntenants(const struct rb_shared *s);
size_t rb_shared_nleft(const struct rb_shared *s);

/*
 * Writes the procedure (its steps numbered from first) and then, with the
 * anchor id, the checklist: one row per tenant left to do with its values,
 * a box per step and when it was recovered.
 */
void rb_shared_write(struct rb *r, const struct rb_shared *s, int first,
                     const char *id);

/* Whether a plan value may stand in a command as it is (no quoting). */
bool rb_plain_word(const char *s);

#endif
