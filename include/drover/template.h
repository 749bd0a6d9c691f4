/*
 * template.h: ${name} substitution with shell quoting.
 *
 * Names: ${tenant} ${service} ${step} ${host} ${address} ${port} ${user}
 * ${site} ${from} ${to} ${mode} ${var.NAME} ${secret.NAME}; "$$" is a literal
 * '$'. Any other "$" passes through unchanged so that plans can use shell
 * variables ($HOME, "$1").
 *
 * In DR_TMPL_SHELL context the template's own quoting is tracked and every
 * substituted value is wrapped in single quotes (closing and reopening an
 * enclosing double-quoted string) (a value holding ' ; $( ) ` or a newline
 * reaches the command intact and inert). ${secret.NAME} never becomes its
 * value: it becomes a reference to a shell variable that the command reads from
 * stdin (see graph.h).
 */
#ifndef DROVER_TEMPLATE_H
#define DROVER_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/common.h"

enum dr_tmpl_ctx {
	DR_TMPL_SHELL, /* values shell-quoted */
	DR_TMPL_RAW    /* values as they are (paths, URLs, prompts) */
};

/*
 * Resolves one name. Returns the value (borrowed) or NULL when the name is
 * unknown in this context. For "secret.X" the resolver is not called.
 */
typedef const char *(*dr_tmpl_lookup_fn)(const char *name, void *arg);

struct dr_tmpl_out {
	char **secrets; /* secret names referenced, in first-use order */
	size_t nsecrets;
};

/*
 * Renders tmpl into out. Returns 0, or DR_EINVAL with *bad set to a
 * malloc'd message naming the first unknown or malformed reference.
 * In DR_TMPL_SHELL context ${secret.X} renders as "$DROVER_SECRET_<n>" (in
 * double quotes) and X is recorded in sec (when sec is not NULL); with
 * display set it renders as "<secret:X>" instead. In DR_TMPL_RAW context a
 * secret reference is an error.
 */
int dr_tmpl_render(const char *tmpl, enum dr_tmpl_ctx ctx,
                   dr_tmpl_lookup_fn lookup, void *arg, bool display,
                   struct dr_tmpl_out *sec, struct dr_buf *out, char **bad);

/*
 * Checks a command template's shell quoting: a reference inside single
 * quotes (it would not be substituted safely) or an unterminated quote.
 * Returns 0, or DR_EINVAL with *bad set to a malloc'd message.
 * References inside double quotes are fine: the value is rendered as
 * "...""'value'""..." and stays one inert word.
 */
int dr_tmpl_check_shell(const char *tmpl, char **bad);

void dr_tmpl_out_free(struct dr_tmpl_out *sec);

/* Appends s to out in single quotes, safe for any POSIX shell. */
void dr_shell_quote(struct dr_buf *out, const char *s);

/*
 * Calls fn for every ${...} reference in tmpl (the name without braces).
 * Returns 0, or DR_EINVAL on an unterminated or empty reference.
 */
int dr_tmpl_scan(const char *tmpl, void (*fn)(const char *name, void *arg),
                 void *arg);

#endif
