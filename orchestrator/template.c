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

int
dr_tmpl_render(const char *tmpl, enum dr_tmpl_ctx ctx, dr_tmpl_lookup_fn lookup,
               void *arg, bool display, struct dr_tmpl_out *sec,
               struct dr_buf *out, char **bad)
{
	const char *p = tmpl;

	*bad = NULL;
	while (*p) {
		const char *d = strchr(p, '$');
		const char *name, *next, *val;
		size_t len;
		char *tmp;

		if (d == NULL) {
			dr_buf_puts(out, p);
			break;
		}
		dr_buf_append(out, p, (size_t)(d - p));
		if (d[1] == '$') {
			dr_buf_append(out, "$", 1);
			p = d + 2;
			continue;
		}
		if (d[1] != '{') {
			dr_buf_append(out, "$", 1);
			p = d + 1;
			continue;
		}
		if (scan_ref(d, &name, &len, &next) != 0) {
			*bad =
			    dr_xasprintf("malformed reference at \"%.20s\"", d);
			return DR_EINVAL;
		}
		tmp = dr_xstrndup(name, len);
		if (strncmp(tmp, "secret.", 7) == 0) {
			if (ctx != DR_TMPL_SHELL) {
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
			free(tmp);
			p = next;
			continue;
		}
		val = lookup(tmp, arg);
		if (val == NULL) {
			*bad = dr_xasprintf("unknown reference ${%s}", tmp);
			free(tmp);
			return DR_EINVAL;
		}
		free(tmp);
		if (ctx == DR_TMPL_SHELL)
			dr_shell_quote(out, val);
		else
			dr_buf_puts(out, val);
		p = next;
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
