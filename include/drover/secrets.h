/*
 * secrets.h: the values of the plan's secrets, read at run time only.
 *
 * A secret comes from an environment variable or from a file the user owns
 * with mode 0600 or stricter (a regular file of at most DR_SECRET_MAX
 * bytes). Its value is one line: it travels on a command's stdin and is
 * scrubbed from every output; it is never printed, logged or journaled.
 */
#ifndef DROVER_SECRETS_H
#define DROVER_SECRETS_H

#include <stddef.h>

#include "drover/graph.h"
#include "drover/plan.h"

#define DR_SECRET_MAX (64 * 1024)

/* A secret's value, resolved before the run starts. Never logged. */
struct dr_secret_value {
	const char *name; /* borrowed from the plan */
	char *value;
};

/*
 * Checks that secret s can be read (the variable is set; the file exists,
 * is regular, small, owned by the user and not readable by others) without
 * reading its value. Returns NULL, or a malloc'd message saying what is
 * wrong and what to do, ending with the secret's hint (where a person gets
 * the value) when the plan gives one.
 */
char *dr_secret_problem(const struct dr_secret *s);

/*
 * Resolves the values of the secrets the graph's tasks use. Returns 0 and
 * sets *out (caller frees with dr_secrets_free), or DR_EINVAL after
 * printing which secret is missing and how to provide it.
 */
int dr_secrets_resolve(const struct dr_graph *g, struct dr_secret_value **out,
                       size_t *n);
void dr_secrets_free(struct dr_secret_value *v, size_t n);

#endif
