/* template.c: ${name} substitution with shell quoting. */
#include "drover/template.h"

#include <stdlib.h>
#include <string.h>

void
dr_shell_quote(struct dr_buf *out, const char *s)
{
	const char *p;

	dr_buf_append(out, "'", 1);
	for (p = s; *p; p++) {
		if (*p == '\'')
			dr_buf_append(out, "'\\''", 4);
		else
			dr_buf_append(out, p, 1);
	}
	dr_buf_append(out, "'", 1);
}

/* Finds the reference starting at p ("${"); sets *name, *len, *next. */
static int
scan_ref(const char *p, const char **name, size_t *len, const char **next)
{
	const char *end = strchr(p + 2, '}');
	const char *q;

	if (end == NULL)
		return DR_EINVAL;
	if (end == p + 2)
		return DR_EINVAL;
	for (q = p + 2; q < end; q++) {
		if (*q == '$' || *q == '{' || *q == ' ' || *q == '\n')
			return DR_EINVAL;
	}
	*name = p + 2;
	*len = (size_t)(end - (p + 2));
	*next = end + 1;
	return 0;
}

int
dr_tmpl_scan(const char *tmpl, void (*fn)(const char *name, void *arg),
             void *arg)
{
	const char *p = tmpl;

	while ((p = strchr(p, '$')) != NULL) {
		const char *name, *next;
		size_t len;
		char *tmp;

		if (p[1] == '$') {
			p += 2;
			continue;
		}
		if (p[1] != '{') {
			p++;
			continue;
		}
		if (scan_ref(p, &name, &len, &next) != 0)
			return DR_EINVAL;
		tmp = dr_xstrndup(name, len);
		fn(tmp, arg);
		free(tmp);
		p = next;
	}
	return 0;
}

static size_t
secret_index(struct dr_tmpl_out *sec, const char *name)
{
	size_t i;

	for (i = 0; i < sec->nsecrets; i++) {
		if (strcmp(sec->secrets[i], name) == 0)
			return i;
	}
	sec->secrets =
	    dr_xrealloc(sec->secrets, (sec->nsecrets + 1) * sizeof(char *));
	sec->secrets[sec->nsecrets] = dr_xstrdup(name);
	return sec->nsecrets++;
}

/* Shell quoting state of the template text around a reference. */
enum qstate { Q_NONE, Q_SINGLE, Q_DOUBLE };

/*
 * Advances the quote state over the literal character at *p (and the one
 * after a backslash); returns how many characters were consumed.
 */
static size_t
shell_step(const char *p, enum qstate *q)
{
	switch (*q) {
	case Q_NONE:
		if (*p == '\\' && p[1])
			return 2;
		if (*p == '\'')
			*q = Q_SINGLE;
		else if (*p == '"')
			*q = Q_DOUBLE;
		return 1;
	case Q_SINGLE:
		if (*p == '\'')
			*q = Q_NONE;
		return 1;
	case Q_DOUBLE:
		if (*p == '\\' && p[1])
			return 2;
		if (*p == '"')
			*q = Q_NONE;
		return 1;
	}
	return 1;
}

int
dr_tmpl_render(const char *tmpl, enum dr_tmpl_ctx ctx, dr_tmpl_lookup_fn lookup,
               void *arg, bool display, struct dr_tmpl_out *sec,
               struct dr_buf *out, char **bad)
{
	const char *p = tmpl;
	enum qstate q = Q_NONE;
	bool shell = ctx == DR_TMPL_SHELL;

	*bad = NULL;
	while (*p) {
		const char *name, *next, *val;
		size_t len;
		char *tmp;

		if (*p != '$' || (p[1] != '$' && p[1] != '{')) {
			size_t n = shell ? shell_step(p, &q) : 1;
			dr_buf_append(out, p, n);
			p += n;
			continue;
		}
		if (p[1] == '$') {
			dr_buf_append(out, "$", 1);
			p += 2;
			continue;
		}
		if (scan_ref(p, &name, &len, &next) != 0) {
			*bad =
			    dr_xasprintf("malformed reference at \"%.20s\"", p);
			return DR_EINVAL;
		}
		tmp = dr_xstrndup(name, len);
		if (shell && q == Q_SINGLE) {
			*bad = dr_xasprintf(
			    "${%s} inside single quotes; drover quotes "
			    "every value itself, remove the quotes",
			    tmp);
			free(tmp);
			return DR_EINVAL;
		}
		/* Inside "...": close, add the quoted value, reopen. */
		if (q == Q_DOUBLE)
			dr_buf_append(out, "\"", 1);
		if (strncmp(tmp, "secret.", 7) == 0) {
			if (!shell) {
				*bad = dr_xasprintf(
				    "${%s}: secrets may only be used in "
				    "commands",
				    tmp);
				free(tmp);
				return DR_EINVAL;
			}
			if (display) {
				dr_buf_printf(out, "\"<secret:%s>\"", tmp + 7);
			} else {
				size_t idx =
				    sec ? secret_index(sec, tmp + 7) : 0;
				dr_buf_printf(out, "\"$DROVER_SECRET_%zu\"",
				              idx + 1);
			}
		} else {
			val = lookup(tmp, arg);
			if (val == NULL) {
				*bad = dr_xasprintf("unknown reference ${%s}",
				                    tmp);
				free(tmp);
				return DR_EINVAL;
			}
			if (shell)
				dr_shell_quote(out, val);
			else
				dr_buf_puts(out, val);
		}
		if (q == Q_DOUBLE)
			dr_buf_append(out, "\"", 1);
		free(tmp);
		p = next;
	}
	if (shell && q != Q_NONE) {
		*bad = dr_xasprintf("unterminated %s quote in the command",
		                    q == Q_SINGLE ? "single" : "double");
		return DR_EINVAL;
	}
	return 0;
}

int
dr_tmpl_check_shell(const char *tmpl, char **bad)
{
	const char *p = tmpl;
	enum qstate q = Q_NONE;

	*bad = NULL;
	while (*p) {
		if (p[0] == '$' && p[1] == '$') {
			p += 2;
			continue;
		}
		if (p[0] == '$' && p[1] == '{' && q == Q_SINGLE) {
			const char *end = strchr(p, '}');
			*bad = dr_xasprintf(
			    "%.*s inside single quotes; drover quotes every "
			    "value itself, remove the quotes",
			    end ? (int)(end - p + 1) : 2, p);
			return DR_EINVAL;
		}
		p += shell_step(p, &q);
	}
	if (q != Q_NONE) {
		*bad = dr_xasprintf("unterminated %s quote",
		                    q == Q_SINGLE ? "single" : "double");
		return DR_EINVAL;
	}
	return 0;
}

void
dr_tmpl_out_free(struct dr_tmpl_out *sec)
{
	size_t i;

	for (i = 0; i < sec->nsecrets; i++)
		free(sec->secrets[i]);
	free(sec->secrets);
	sec->secrets = NULL;
	sec->nsecrets = 0;
}
