/*
 * template.h: ${name} references in plan text that is not shell code:
 * paths, URLs, prompts, digests. Shell commands are built by shcmd.h, which
 * never puts a value into the command text.
 *
 * Names: ${tenant} ${service} ${step} ${host} ${address} ${port} ${user}
 * ${site} ${from} ${to} ${mode} ${var.NAME} ${secret.NAME}; "$$" is a literal
 * '$'. Any other "$" passes through unchanged.
 */
#ifndef DROVER_TEMPLATE_H
#define DROVER_TEMPLATE_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/common.h"

/*
 * Resolves one name (without braces). Returns the value (borrowed) and sets
 * *integer when it is declared and checked as an integer, or NULL when the
 * name is unknown here. Same shape as dr_sh_lookup_fn.
 */
typedef const char *(*dr_tmpl_lookup_fn)(const char *name, bool *integer,
                                         void *arg);

/*
 * Appends tmpl to out with every reference replaced by its value as it is.
 * A secret reference is refused (secrets travel only on a command's stdin).
 * Returns 0, or DR_EINVAL with *bad set to a malloc'd message naming the
 * first unknown, malformed or refused reference.
 */
int dr_tmpl_expand(const char *tmpl, dr_tmpl_lookup_fn lookup, void *arg,
                   struct dr_buf *out, char **bad);

/*
 * Calls fn for every ${...} reference in tmpl (the name without braces).
 * Returns 0, or DR_EINVAL on an unterminated, empty or malformed reference
 * (read by dr_sh_scan_ref, as in shell templates).
 */
int dr_tmpl_scan(const char *tmpl, void (*fn)(const char *name, void *arg),
                 void *arg);

/*
 * Checks text that will be sent as a URL or "host:port": no control
 * characters (CR, LF, ...) and no spaces. Returns NULL or a static reason.
 */
const char *dr_tmpl_bad_target(const char *s);

#endif
