/*
 * plan-internal.h: what the files of orchestrator/plan/ share and nothing
 * else sees.
 *
 * dr_plan_load_string() (plan.c) makes a loader, has load.c read the text
 * into the plan and validate.c check what needs every name known; both add
 * their problems to the loader's diagnostics with ERR. Symbols here carry
 * the prefix plan_, not dr_: they are private to the module.
 */
#ifndef DROVER_PLAN_INTERNAL_H
#define DROVER_PLAN_INTERNAL_H

#include <stddef.h>

#include "drover/common.h"
#include "drover/diag.h"
#include "drover/plan.h"

/* One plan being loaded. */
struct loader {
	const char *file; /* for messages */
	struct dr_diags *diags;
	struct dr_arena *a; /* the plan's arena */
	struct dr_plan *p;
	int errors; /* problems reported so far */
};

/* Reports one problem at line of the plan file and counts it. */
#define ERR(ld, line, ...)                                                     \
	do {                                                                   \
		dr_diag_add((ld)->diags, (ld)->file, (line), __VA_ARGS__);     \
		(ld)->errors++;                                                \
	} while (0)

/*
 * Reads the plan text into ld->p (load.c). Returns DR_EPLAN when the text
 * cannot be read at all (an @include, a syntax error: one diagnostic), else
 * 0; problems in what was read are counted in ld->errors.
 */
int plan_read(struct loader *ld, const char *text);

/* Checks the loaded plan as a whole and resolves after (validate.c). */
void plan_validate(struct loader *ld);

/*
 * The named things of a plan start with their name, a const char *: the
 * lists of them are read (load.c), searched (plan.c) and checked for
 * duplicates (validate.c) through that one member.
 */
#define PLAN_NAME_FIRST(type)                                                  \
	_Static_assert(offsetof(type, name) == 0, #type ": name first")
PLAN_NAME_FIRST(struct dr_site);
PLAN_NAME_FIRST(struct dr_host);
PLAN_NAME_FIRST(struct dr_tenant);
PLAN_NAME_FIRST(struct dr_contact);
PLAN_NAME_FIRST(struct dr_secret);
PLAN_NAME_FIRST(struct dr_service);
PLAN_NAME_FIRST(struct dr_step);
PLAN_NAME_FIRST(struct dr_var);

/*
 * Returns the first of the n elements of size bytes at v whose name is
 * name, or NULL.
 */
const void *plan_find_named(const void *v, size_t n, size_t size,
                            const char *name);

#endif
