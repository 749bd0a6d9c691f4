/*
 * shcmd.h: shell scripts built from plan templates, where a value never
 * becomes shell code.
 *
 * A template is shell text with ${name} references. The builder never
 * splices a value into the text: every value is assigned to a shell variable
 * in a preamble at the top of the script, with the one quoting form that is
 * always safe (_dr_tenant='it'\''s'), and the reference becomes an expansion
 * of that variable: "${_dr_tenant}" where words are unquoted, ${_dr_tenant}
 * inside double quotes, unquoted here-documents and arithmetic. A context
 * misjudged by the builder therefore yields a wrong literal, never code.
 * The prefix _dr_ is reserved: a template that uses it is refused.
 *
 * Some shell constructs evaluate a variable's contents as code: bash
 * arithmetic ($(( )), (( )), let, [[ -eq ]], array subscripts, integer and
 * nameref declarations), eval, trap, names taken from expansions (read "$x",
 * ${!x}), commands that run text through another shell (sh, bash, su, ssh,
 * ...) or another interpreter's program text (awk, sed, python -c, ...), and
 * a command whose name is itself an expansion. A command that holds one of
 * them may reference only values declared and checked as integers; any
 * other reference is refused with the construct named. The check reads the
 * template without trusting its own quote tracking (quotes, comments and
 * line continuations do not hide a construct from it).
 *
 * Secrets (${secret.NAME}) are read from the command's stdin, one per line,
 * into a variable of the same kind (IFS= read -r _dr_secret_NAME), so they
 * never appear in the script text; the display form reads them the same
 * way, with a comment naming the placeholder <secret:NAME>.
 */
#ifndef DROVER_SHCMD_H
#define DROVER_SHCMD_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/common.h"

/*
 * Resolves one reference (the name without braces, never "secret.X").
 * Returns the value (borrowed until dr_sh_finish) and sets *integer when the
 * value is declared and checked as an integer, or returns NULL when the name
 * is unknown here.
 */
typedef const char *(*dr_sh_lookup_fn)(const char *name, bool *integer,
                                       void *arg);

/* dr_sh_init flags */
#define DR_SH_DISPLAY 1u /* secrets as placeholders in comments: runbooks */

/* A script being built. Fields other than secrets/nsecrets are private. */
struct dr_sh {
	unsigned flags;
	struct dr_buf vars;  /* _dr_x='value' assignments */
	struct dr_buf reads; /* secret reads */
	struct dr_buf body;
	char **bound; /* reference names bound to variables, by index */
	char **vnames;
	size_t nbound;
	size_t anon;    /* dr_sh_value variables so far */
	char **secrets; /* secret names, in the order they are read */
	size_t nsecrets;
};

void dr_sh_init(struct dr_sh *s, unsigned flags);

/*
 * Appends tmpl as shell code. Returns 0, or DR_EINVAL with *why set to a
 * malloc'd message ("${var.x}: ...") naming the first reference that is
 * unknown, malformed or refused, or the construct that refuses it; nothing
 * is appended then.
 */
int dr_sh_code(struct dr_sh *s, const char *tmpl, dr_sh_lookup_fn lookup,
               void *arg, char **why);

/*
 * Appends tmpl as exactly one shell word: its literal text quoted, its
 * references as quoted expansions (script arguments). Secrets are refused.
 * Returns like dr_sh_code.
 */
int dr_sh_word(struct dr_sh *s, const char *tmpl, dr_sh_lookup_fn lookup,
               void *arg, char **why);

/* Appends drover's own shell text as it is. */
void dr_sh_text(struct dr_sh *s, const char *code);

/* Appends one word that expands to value: "${_dr_N}", assigned above. */
void dr_sh_value(struct dr_sh *s, const char *value);

/*
 * Returns the whole script (preamble, secret reads, body); caller frees.
 * The struct keeps secrets/nsecrets until dr_sh_free.
 */
char *dr_sh_finish(struct dr_sh *s);

void dr_sh_free(struct dr_sh *s);

/*
 * Reads the reference "${name}" that starts at p (p[0] is '$', p[1] '{'):
 * sets *name and *len to the name between the braces (not copied) and *next
 * to just after the '}'. Returns 0, or DR_EINVAL when there is no '}', the
 * name is empty or holds '$', '{' or white space. The one reader of
 * references, for shell templates here and plain ones (template.h).
 */
int dr_sh_scan_ref(const char *p, const char **name, size_t *len,
                   const char **next);

/* Appends s in single quotes ('\'' for each '), safe for any POSIX shell. */
void dr_sh_quote(struct dr_buf *out, const char *s);

/*
 * Checks tmpl as dr_sh_code would at run time, with lookup giving the
 * values' declarations (their text is not looked at). Returns 0 or DR_EINVAL
 * with *why (malloc'd). Validation and expansion agree because both come
 * here.
 */
int dr_sh_check(const char *tmpl, dr_sh_lookup_fn lookup, void *arg,
                char **why);

#endif
