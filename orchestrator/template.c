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

/*
 * The shell context around a reference, tracked over the template's literal
 * text: a stack, because "$( )" and backticks open a fresh unquoted context
 * inside double quotes.
 */
enum qctx {
	Q_NONE,   /* unquoted (top level) */
	Q_SINGLE, /* '...' */
	Q_DOUBLE, /* "..." */
	Q_CMD,    /* $( ... ): unquoted inside */
	Q_PAREN,  /* ( ... ) in an unquoted context */
	Q_BTICK   /* `...`: unquoted inside */
};

#define QDEPTH 32

struct qstate {
	enum qctx st[QDEPTH];
	int n;         /* entries above the implicit Q_NONE */
	bool overflow; /* nested too deep to follow */
	bool heredoc;  /* a << was seen unquoted: contexts are unknown */
};

static enum qctx
qtop(const struct qstate *q)
{
	return q->n ? q->st[q->n - 1] : Q_NONE;
}

static void
qpush(struct qstate *q, enum qctx c)
{
	if (q->n == QDEPTH)
		q->overflow = true;
	else
		q->st[q->n++] = c;
}

static void
qpop(struct qstate *q)
{
	if (q->n)
		q->n--;
}

/*
 * Advances the context over the literal character(s) at p; returns how many
 * were consumed.
 */
static size_t
shell_step(const char *p, struct qstate *q)
{
	enum qctx t = qtop(q);

	switch (t) {
	case Q_SINGLE:
		if (*p == '\'')
			qpop(q);
		return 1;
	case Q_DOUBLE:
		if (*p == '\\' && p[1])
			return 2;
		if (*p == '"')
			qpop(q);
		else if (p[0] == '$' && p[1] == '(') {
			qpush(q, Q_CMD);
			return 2;
		} else if (*p == '`')
			qpush(q, Q_BTICK);
		return 1;
	case Q_NONE:
	case Q_CMD:
	case Q_PAREN:
	case Q_BTICK:
		if (*p == '\\' && p[1])
			return 2;
		if (*p == '\'')
			qpush(q, Q_SINGLE);
		else if (*p == '"')
			qpush(q, Q_DOUBLE);
		else if (p[0] == '$' && p[1] == '(') {
			qpush(q, Q_CMD);
			return 2;
		} else if (*p == '(')
			qpush(q, Q_PAREN);
		else if (*p == ')' && (t == Q_CMD || t == Q_PAREN))
			qpop(q);
		else if (*p == '`')
			t == Q_BTICK ? qpop(q) : qpush(q, Q_BTICK);
		else if (p[0] == '<' && p[1] == '<' && p[2] != '<') {
			q->heredoc = true;
			return 2;
		}
		return 1;
	}
	return 1;
}

/* Characters that keep a meaning inside double quotes. */
static bool
dq_unsafe(const char *v)
{
	return strpbrk(v, "\"\\$`") != NULL;
}

/*
 * Why a reference cannot be rendered safely here, or NULL. val is the value
 * (NULL when not known yet: validation).
 */
static const char *
context_problem(const struct qstate *q, const char *val)
{
	if (q->overflow)
		return "the command nests quotes and $( ) too deeply to "
		       "follow";
	if (q->heredoc)
		return "a here-document (<<) has no safe quoting for values; "
		       "pass it with a variable or a script step";
	if (qtop(q) == Q_SINGLE)
		return "it is inside single quotes; drover quotes every value "
		       "itself, remove the quotes";
	if (qtop(q) == Q_DOUBLE && val != NULL && dq_unsafe(val))
		return "it is inside double quotes and its value holds \", "
		       "\\, $ or `; remove the quotes around it, drover quotes "
		       "every value itself";
	return NULL;
}

int
dr_tmpl_render(const char *tmpl, enum dr_tmpl_ctx ctx, dr_tmpl_lookup_fn lookup,
               void *arg, bool display, struct dr_tmpl_out *sec,
               struct dr_buf *out, char **bad)
{
	const char *p = tmpl;
	struct qstate q = {.n = 0};
	bool shell = ctx == DR_TMPL_SHELL;

	*bad = NULL;
	while (*p) {
		const char *name, *next, *val = NULL, *why;
		size_t len;
		char *tmp;
		bool secret, dq;

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
		secret = strncmp(tmp, "secret.", 7) == 0;
		if (secret && !shell) {
			*bad =
			    dr_xasprintf("${%s}: secrets may only be used in "
			                 "commands",
			                 tmp);
			free(tmp);
			return DR_EINVAL;
		}
		if (!secret) {
			val = lookup(tmp, arg);
			if (val == NULL) {
				*bad = dr_xasprintf("unknown reference ${%s}",
				                    tmp);
				free(tmp);
				return DR_EINVAL;
			}
		}
		if (shell &&
		    (why = context_problem(&q, secret ? "$" : val)) != NULL &&
		    !(secret && qtop(&q) == Q_DOUBLE && !q.heredoc &&
		      !q.overflow)) {
			*bad = dr_xasprintf("${%s}: %s", tmp, why);
			free(tmp);
			return DR_EINVAL;
		}
		/* Inside "...": close, add the quoted value, reopen. */
		dq = shell && qtop(&q) == Q_DOUBLE;
		if (dq)
			dr_buf_append(out, "\"", 1);
		if (secret) {
			if (display) {
				dr_buf_printf(out, "\"<secret:%s>\"", tmp + 7);
			} else {
				size_t idx =
				    sec ? secret_index(sec, tmp + 7) : 0;
				dr_buf_printf(out, "\"$DROVER_SECRET_%zu\"",
				              idx + 1);
			}
		} else if (shell) {
			dr_shell_quote(out, val);
		} else {
			dr_buf_puts(out, val);
		}
		if (dq)
			dr_buf_append(out, "\"", 1);
		free(tmp);
		p = next;
	}
	if (shell && (q.n > 0 && qtop(&q) != Q_PAREN && qtop(&q) != Q_CMD)) {
		*bad = dr_xasprintf("unterminated %s in the command",
		                    qtop(&q) == Q_SINGLE   ? "single quote"
		                    : qtop(&q) == Q_DOUBLE ? "double quote"
		                                           : "backtick");
		return DR_EINVAL;
	}
	return 0;
}

int
dr_tmpl_check_shell(const char *tmpl, char **bad)
{
	const char *p = tmpl, *why;
	struct qstate q = {.n = 0};

	*bad = NULL;
	while (*p) {
		if (p[0] == '$' && p[1] == '$') {
			p += 2;
			continue;
		}
		if (p[0] == '$' && p[1] == '{' &&
		    (why = context_problem(&q, NULL)) != NULL) {
			const char *end = strchr(p, '}');
			*bad = dr_xasprintf(
			    "%.*s: %s", end ? (int)(end - p + 1) : 2, p, why);
			return DR_EINVAL;
		}
		p += shell_step(p, &q);
	}
	if (q.n > 0 && qtop(&q) != Q_PAREN && qtop(&q) != Q_CMD) {
		*bad = dr_xasprintf("unterminated %s",
		                    qtop(&q) == Q_SINGLE   ? "single quote"
		                    : qtop(&q) == Q_DOUBLE ? "double quote"
		                                           : "backtick");
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
