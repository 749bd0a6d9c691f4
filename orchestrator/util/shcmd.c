/*
 * shcmd.c: shell scripts from templates; values become variables, never
 * code.
 *
 * Two readers of a template, with different jobs:
 * - sink_scan() looks for constructs that evaluate a variable's contents as
 *   code. It reads the text quote-insensitively (quotes are dropped, not
 *   followed; line continuations are joined first), so a quote, a comment
 *   or a here-document the builder misreads cannot hide one from it.
 * - struct lex follows the shell's quoting to choose, for each reference,
 *   the expansion that reads best there ("${_dr_x}" or ${_dr_x}) and to
 *   refuse references that would be literal text (single quotes, quoted
 *   here-documents) or name a command. A mistake here gives a wrong
 *   literal, never code: the value is only ever inside a variable.
 */
#include "drover/shcmd.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define REF_MARK '\x01' /* a reference, in the flattened text */

void
dr_sh_quote(struct dr_buf *out, const char *s)
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

int
dr_sh_scan_ref(const char *p, const char **name, size_t *len, const char **next)
{
	const char *end = strchr(p + 2, '}');
	const char *q;

	if (end == NULL || end == p + 2)
		return DR_EINVAL;
	for (q = p + 2; q < end; q++) {
		if (*q == '$' || *q == '{' || isspace((unsigned char)*q))
			return DR_EINVAL;
	}
	*name = p + 2;
	*len = (size_t)(end - (p + 2));
	*next = end + 1;
	return 0;
}

/* ------------------------------------------------------------------ */
/* Sinks: constructs that run a variable's contents as code.           */

/* Flattens tmpl as the shell would see it, quote-insensitively: "$$" is
 * "$", a reference is REF_MARK, backslash-newline is removed. */
static void
flatten(const char *tmpl, struct dr_buf *f)
{
	const char *p = tmpl;

	while (*p) {
		const char *name, *next;
		size_t len;

		if (p[0] == '\\' && p[1] == '\n') {
			p += 2;
			continue;
		}
		if (p[0] == '$' && p[1] == '$') {
			dr_buf_append(f, "$", 1);
			p += 2;
			continue;
		}
		if (p[0] == '$' && p[1] == '{' &&
		    dr_sh_scan_ref(p, &name, &len, &next) == 0) {
			char m = REF_MARK;
			dr_buf_append(f, &m, 1);
			p = next;
			continue;
		}
		dr_buf_append(f, p, 1);
		p++;
	}
}

/* One word of the flattened text, quotes dropped. */
struct tok {
	char *text;
	size_t seg;     /* simple command it belongs to */
	bool cmd_start; /* it names the command */
	bool after_pipe;
	bool expansion; /* holds $ or a reference */
	bool redirect;  /* the target of a < or > */
};

static bool
is_sep(char c)
{
	return c == ';' || c == '&' || c == '|' || c == '(' || c == ')' ||
	       c == '`' || c == '\n';
}

static bool
is_assignment(const char *t)
{
	const char *eq = strchr(t, '='), *q;

	if (eq == NULL || eq == t || !(isalpha((unsigned char)*t) || *t == '_'))
		return false;
	for (q = t; q < eq; q++)
		if (!(isalnum((unsigned char)*q) || *q == '_'))
			return false;
	return true;
}

static bool in_list(const char *s, const char *const *list);

/* Words after which the next word still names the command. */
static const char *const keep_words[] = {"if",    "then",  "else", "elif",
                                         "while", "until", "do",   "!",
                                         "{",     "}",     "time", NULL};
/* Commands that run the command named by their next non-option word. */
static const char *const wrap_words[] = {
    "exec", "command", "builtin", "nohup", "setsid", "env", NULL};

static size_t
tokenize(const char *f, struct tok **out)
{
	struct tok *v = NULL;
	size_t n = 0, cap = 0, seg = 0;
	const char *p = f;
	bool start = true, wrap = false, pipe = false, redir = false;
	int bq = 0;

	char *delims[16];
	size_t ndelims = 0, d;

	while (*p) {
		struct dr_buf w;
		bool exp = false;
		struct tok *t;

		if (p[0] == '<' && p[1] == '<' && p[2] != '<') {
			/* A here-document: its body is text, not commands. */
			struct dr_buf dl;
			p += 2;
			if (*p == '-')
				p++;
			while (*p == ' ' || *p == '\t')
				p++;
			dr_buf_init(&dl, 0);
			while (*p && !isspace((unsigned char)*p) &&
			       !is_sep(*p) && *p != '<' && *p != '>') {
				if (*p != '\'' && *p != '"' && *p != '\\')
					dr_buf_append(&dl, p, 1);
				p++;
			}
			if (dl.len && ndelims < 16)
				delims[ndelims++] = dr_buf_steal(&dl);
			dr_buf_free(&dl);
			continue;
		}
		if (*p == '\n' && ndelims > 0) {
			/* Skip each body up to its delimiter line. */
			for (d = 0; d < ndelims; d++) {
				size_t dlen = strlen(delims[d]);
				for (;;) {
					const char *line = p + 1, *q = line;
					const char *nl;
					if (*p == '\0')
						break;
					while (*q == '\t')
						q++;
					nl = strchr(line, '\n');
					if (strncmp(q, delims[d], dlen) == 0 &&
					    (q[dlen] == '\n' ||
					     q[dlen] == '\0')) {
						p = q + dlen;
						break;
					}
					if (nl == NULL) {
						p = line + strlen(line);
						break;
					}
					p = nl;
				}
				free(delims[d]);
			}
			ndelims = 0;
			continue;
		}
		if (is_sep(*p)) {
			/* "$(x)y" and a closing backtick continue a word's
			 * command; everything else starts a new one. */
			bool closing = *p == ')' || (*p == '`' && (bq++ & 1));
			bool redirect = *p == '&' && p > f &&
			                (p[-1] == '>' || p[-1] == '<');
			if (!redirect) {
				seg++;
				start = !closing;
				wrap = false;
				pipe = *p == '|';
			}
			p++;
			continue;
		}
		if (isspace((unsigned char)*p)) {
			p++;
			continue;
		}
		if (*p == '<' || *p == '>') {
			redir = true;
			p++;
			continue;
		}
		dr_buf_init(&w, 0);
		while (*p && !is_sep(*p) && !isspace((unsigned char)*p) &&
		       *p != '<' && *p != '>') {
			if (*p == '$' || *p == REF_MARK)
				exp = true;
			if (*p != '\'' && *p != '"' && *p != '\\')
				dr_buf_append(&w, p, 1);
			p++;
		}
		if (w.data == NULL)
			dr_buf_append(&w, "", 0);
		{
			void *vv = v;
			dr_grow(&vv, &cap, n + 1, sizeof(*v));
			v = vv;
		}
		t = &v[n++];
		t->text = dr_buf_steal(&w);
		t->seg = seg;
		t->expansion = exp;
		t->after_pipe = start && pipe;
		t->cmd_start = false;
		t->redirect = redir;
		pipe = redir = false;
		if (!start || t->redirect)
			continue;
		if (is_assignment(t->text) || in_list(t->text, keep_words))
			continue; /* the command is still to come */
		if (wrap && t->text[0] == '-')
			continue; /* a wrapper's option */
		t->cmd_start = true;
		wrap = !exp && in_list(t->text, wrap_words);
		start = wrap;
	}
	for (d = 0; d < ndelims; d++)
		free(delims[d]);
	*out = v;
	return n;
}

static void
free_toks(struct tok *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(v[i].text);
	free(v);
}

static const char *
base_name(const char *s)
{
	const char *sl = strrchr(s, '/');

	return sl ? sl + 1 : s;
}

static bool
in_list(const char *s, const char *const *list)
{
	size_t i;

	for (i = 0; list[i]; i++)
		if (strcmp(list[i], s) == 0)
			return true;
	return false;
}

static const char *const shells[] = {
    "sh",      "bash", "dash", "ksh",  "ksh93", "mksh", "pdksh",
    "oksh",    "lksh", "zsh",  "ash",  "yash",  "posh", "rbash",
    "busybox", "csh",  "tcsh", "fish", NULL};

/* Always run their argument or stdin text as shell commands. */
static const char *const runners[] = {"eval",    "trap",     "su", "ssh",
                                      "watch",   "parallel", "at", "batch",
                                      "crontab", "fc",       NULL};

/* Their program text (first operand) can run commands. */
static const char *const programs[] = {"awk", "gawk", "mawk", "nawk",
                                       "sed", "gsed", NULL};

/* Interpreters: code in an option (-c, -e) or on stdin. */
static const char *const interpreters[] = {
    "perl",   "ruby",  "node", "nodejs", "php",     "lua",
    "luajit", "tclsh", "wish", "expect", "Rscript", NULL};

/* Builtins that take variable names: a name from an expansion is code. */
static const char *const namers[] = {
    "read",    "mapfile", "readarray", "getopts", "unset", "declare",
    "typeset", "local",   "readonly",  "export",  NULL};

/* The simple command of token i: [*b, *e). */
static void
command_span(const struct tok *v, size_t n, size_t i, size_t *b, size_t *e)
{
	size_t j = i;

	while (j > 0 && v[j - 1].seg == v[i].seg)
		j--;
	*b = j;
	j = i;
	while (j + 1 < n && v[j + 1].seg == v[i].seg)
		j++;
	*e = j + 1;
}

static bool
has_opt_letter(const struct tok *v, size_t b, size_t e, const char *letters,
               const char *const *longs)
{
	size_t j;

	for (j = b; j < e; j++) {
		const char *t = v[j].text;
		if (t[0] != '-' || t[1] == '\0')
			continue;
		if (t[1] == '-') {
			if (longs && in_list(t, longs))
				return true;
			continue;
		}
		if (strpbrk(t + 1, letters) != NULL)
			return true;
	}
	return false;
}

static bool
is_python(const char *s)
{
	return strncmp(s, "python", 6) == 0 &&
	       (s[6] == '\0' || isdigit((unsigned char)s[6]));
}

/*
 * Returns a description of the first construct in the flattened text that
 * evaluates a variable's contents as code, or NULL. *ref_named is set when
 * it is a reference in the command name position.
 */
static const char *
sink_scan(const char *f)
{
	static const char *const arith_ops[] = {"-eq", "-ne", "-lt", "-le",
	                                        "-gt", "-ge", NULL};
	struct tok *v;
	size_t n, i;
	const char *p, *why = NULL;

	if (strstr(f, "((") != NULL)
		return "bash arithmetic (( )) evaluates a variable's contents "
		       "as code";
	if (strstr(f, "$[") != NULL)
		return "bash arithmetic $[ ] evaluates a variable's contents "
		       "as code";
	if (strstr(f, "${!") != NULL)
		return "an indirect expansion ${!...} evaluates a name taken "
		       "from a variable";
	for (p = f; (p = strchr(p, '[')) != NULL; p++) {
		if (p > f && (isalnum((unsigned char)p[-1]) || p[-1] == '_'))
			return "an array subscript name[...] is bash "
			       "arithmetic, which evaluates a variable's "
			       "contents as code";
	}
	for (p = f; (p = strstr(p, "${")) != NULL; p += 2) {
		const char *q = p + 2;
		if (*q == '#')
			q++;
		while (isalnum((unsigned char)*q) || *q == '_')
			q++;
		if (*q == ':' && q[1] != '-' && q[1] != '=' && q[1] != '+' &&
		    q[1] != '?')
			return "a substring expansion ${name:offset} is bash "
			       "arithmetic, which evaluates a variable's "
			       "contents as code";
	}
	n = tokenize(f, &v);
	for (i = 0; i < n && why == NULL; i++) {
		const char *t = v[i].text, *bn = base_name(t);
		size_t b, e;

		command_span(v, n, i, &b, &e);
		if (strcmp(t, "[[") == 0) {
			size_t j;
			for (j = 0; j < n; j++)
				if (in_list(v[j].text, arith_ops))
					why = "[[ ... -eq ... ]] is bash "
					      "arithmetic, which evaluates a "
					      "variable's contents as code";
			if (why)
				break;
		}
		if (strcmp(t, "let") == 0)
			why = "let is bash arithmetic, which evaluates a "
			      "variable's contents as code";
		else if (in_list(bn, shells))
			why = "it runs text through another shell, where a "
			      "value could become code";
		else if (in_list(t, runners))
			why = "it runs text as shell commands (eval, trap, su, "
			      "ssh, watch, ...), where a value could become "
			      "code";
		else if (in_list(bn, programs))
			why = "awk and sed run their program text, which can "
			      "run commands; a value must not be part of it";
		else if (in_list(bn, interpreters) || is_python(bn)) {
			static const char *const longs[] = {"--eval", "--print",
			                                    "--command", NULL};
			if (has_opt_letter(v, i + 1, e,
			                   is_python(bn) ? "c" : "ceErp",
			                   longs) ||
			    v[i].after_pipe)
				why = "it runs program text given on its "
				      "command line or stdin, where a value "
				      "could become code";
		} else if (strcmp(t, "sudo") == 0 || strcmp(t, "doas") == 0) {
			static const char *const longs[] = {"--shell",
			                                    "--login", NULL};
			if (has_opt_letter(v, i + 1, e, "si", longs))
				why = "sudo -s/-i runs the command through a "
				      "shell, where a value could become code";
		} else if (strcmp(t, "runuser") == 0 ||
		           strcmp(t, "flock") == 0 ||
		           strcmp(t, "script") == 0) {
			static const char *const longs[] = {
			    "--command", "--session-command", "--login", NULL};
			if (has_opt_letter(v, i + 1, e, "cl", longs))
				why = "its -c runs text through a shell, where "
				      "a value could become code";
		} else if (in_list(t, namers) ||
		           ((strcmp(t, "printf") == 0 ||
		             strcmp(t, "test") == 0 || strcmp(t, "[") == 0 ||
		             strcmp(t, "[[") == 0 || strcmp(t, "wait") == 0) &&
		            has_opt_letter(v, i + 1, e, "vp", NULL))) {
			size_t j;
			bool decl = strcmp(t, "declare") == 0 ||
			            strcmp(t, "typeset") == 0 ||
			            strcmp(t, "local") == 0 ||
			            strcmp(t, "readonly") == 0 ||
			            strcmp(t, "export") == 0;
			if (decl && has_opt_letter(v, i + 1, e, "in", NULL))
				why = "an integer or nameref declaration (-i, "
				      "-n) evaluates a variable's contents as "
				      "code";
			for (j = i + 1; j < e && why == NULL; j++) {
				const char *w = v[j].text;
				size_t k, len = strcspn(w, "=");
				if (w[0] == '-' || v[j].redirect)
					continue;
				for (k = 0; k < len; k++)
					if (w[k] == '$' || w[k] == REF_MARK)
						why = "a variable name taken "
						      "from "
						      "an expansion (read "
						      "\"$x\", "
						      "unset \"$x\") is "
						      "evaluated "
						      "as code by bash";
			}
		}
		if (why == NULL && v[i].cmd_start && v[i].expansion)
			why =
			    "the command's name comes from an expansion, so a "
			    "value could choose to run eval or a shell";
	}
	free_toks(v, n);
	return why;
}

/* ------------------------------------------------------------------ */
/* The quote-following reader.                                         */

enum ctx {
	X_TOP,     /* unquoted */
	X_SQ,      /* '...' */
	X_DQ,      /* "..." */
	X_CMDSUB,  /* $( ... ) */
	X_BQ,      /* `...` */
	X_PAREN,   /* ( ... ) */
	X_PARAM,   /* the shell's own ${ ... } */
	X_ARITH,   /* $(( )), (( )), $[ ] */
	X_COMMENT, /* # ... to the end of the line */
	X_HDOC,    /* body of an unquoted here-document */
	X_HDOCQ    /* body of a quoted one: literal */
};

#define LEX_DEPTH 64
#define LEX_HDOCS 16

struct frame {
	enum ctx c;
	int depth; /* X_ARITH, X_PARAM: brackets open inside */
};

struct hdoc {
	char *delim;
	bool quoted, strip_tabs;
};

struct lex {
	struct frame st[LEX_DEPTH];
	int n;
	bool overflow;
	bool wstart;  /* at the start of a word */
	bool cmdpos;  /* the word being read names the command */
	bool wrapper; /* the command word was exec, env, ...: next is too */
	int cases;    /* case ... esac open */
	bool pattern; /* reading a case pattern */
	struct dr_buf word; /* unquoted literal text of the current word */
	bool word_quoted;   /* the current word holds quoted parts */
	struct hdoc hd[LEX_HDOCS];
	int nhd, cur;
	bool in_body, line_start;
};

static enum ctx
top(const struct lex *l)
{
	return l->n ? l->st[l->n - 1].c : X_TOP;
}

static bool
code_ctx(enum ctx c)
{
	return c == X_TOP || c == X_CMDSUB || c == X_BQ || c == X_PAREN;
}

static void
push(struct lex *l, enum ctx c)
{
	if (l->n == LEX_DEPTH) {
		l->overflow = true;
		return;
	}
	l->st[l->n].c = c;
	l->st[l->n].depth = 0;
	l->n++;
	if (c == X_CMDSUB || c == X_BQ || c == X_PAREN) {
		l->wstart = true;
		l->cmdpos = true;
		l->wrapper = false;
	}
}

static void
pop(struct lex *l)
{
	if (l->n)
		l->n--;
}

/* The end of a word in code: decides whether the next names a command. */
static void
word_end(struct lex *l)
{
	const char *w = l->word.data ? l->word.data : "";
	bool quoted = l->word_quoted;

	l->word_quoted = false;
	if (l->word.len == 0 && !quoted)
		return;
	if (!quoted && strcmp(w, "case") == 0 && l->cmdpos)
		l->cases++;
	if (l->cases > 0 && strcmp(w, "in") == 0 && !l->cmdpos && !l->pattern)
		l->pattern = true;
	else if (l->cases > 0 && strcmp(w, "esac") == 0) {
		l->cases--;
		l->pattern = false;
	} else if (l->cmdpos && !l->pattern) {
		if (is_assignment(w) || in_list(w, keep_words))
			; /* the command is still to come */
		else if (in_list(w, wrap_words))
			l->wrapper = true;
		else if (l->wrapper && w[0] == '-')
			; /* a wrapper's option */
		else
			l->cmdpos = l->wrapper = false;
	}
	l->word.len = 0;
	if (l->word.data)
		l->word.data[0] = '\0';
}

/* A separator in code: the next word names a command. */
static void
separator(struct lex *l)
{
	word_end(l);
	l->wstart = true;
	l->cmdpos = true;
	l->wrapper = false;
}

static void
lex_free(struct lex *l)
{
	int i;

	for (i = 0; i < l->nhd; i++)
		free(l->hd[i].delim);
	l->nhd = 0;
	dr_buf_free(&l->word);
}

/* "<<[-] WORD": records the delimiter; returns the bytes it takes. */
static size_t
heredoc_op(struct lex *l, const char *p)
{
	const char *q = p + 2;
	struct dr_buf d;
	bool strip = false, quoted = false;

	if (*q == '-') {
		strip = true;
		q++;
	}
	while (*q == ' ' || *q == '\t')
		q++;
	dr_buf_init(&d, 0);
	while (*q && !isspace((unsigned char)*q) && !strchr(";&|()<>", *q)) {
		char qc = *q;
		if (qc == '\'' || qc == '"') {
			quoted = true;
			for (q++; *q && *q != qc; q++)
				dr_buf_append(&d, q, 1);
			if (*q)
				q++;
			continue;
		}
		if (qc == '\\' && q[1]) {
			quoted = true;
			dr_buf_append(&d, q + 1, 1);
			q += 2;
			continue;
		}
		dr_buf_append(&d, q, 1);
		q++;
	}
	if (d.len > 0 && l->nhd < LEX_HDOCS) {
		struct hdoc *h = &l->hd[l->nhd++];
		h->delim = dr_buf_steal(&d);
		h->quoted = quoted;
		h->strip_tabs = strip;
	} else if (d.len > 0) {
		l->overflow = true;
	}
	dr_buf_free(&d);
	word_end(l);
	l->wstart = true;
	return (size_t)(q - p);
}

static void
body_begin(struct lex *l)
{
	push(l, l->hd[l->cur].quoted ? X_HDOCQ : X_HDOC);
	l->in_body = true;
	l->line_start = true;
}

/* At a line start inside a body: the delimiter line ends it. */
static bool
body_ends(struct lex *l, const char *p, size_t *skip)
{
	const struct hdoc *h = &l->hd[l->cur];
	const char *q = p;
	size_t dl = strlen(h->delim);

	if (h->strip_tabs)
		while (*q == '\t')
			q++;
	if (strncmp(q, h->delim, dl) != 0 || (q[dl] != '\n' && q[dl] != '\0'))
		return false;
	*skip = (size_t)(q + dl - p);
	while (l->n && top(l) != X_HDOC && top(l) != X_HDOCQ)
		pop(l); /* a $( left open inside the body */
	pop(l);
	if (++l->cur < l->nhd) {
		body_begin(l);
		l->line_start = false; /* the newline after the delimiter */
		return true;
	}
	for (int i = 0; i < l->nhd; i++)
		free(l->hd[i].delim);
	l->nhd = l->cur = 0;
	l->in_body = false;
	return true;
}

/*
 * Reads the literal text at p (the shell's view: no reference starts here)
 * and returns how many bytes it takes, 1 to 3, or more for a heredoc
 * operator with its delimiter.
 */
static size_t
lex_step(struct lex *l, const char *p)
{
	enum ctx c = top(l);
	bool ws = l->wstart;

	if (l->line_start) {
		size_t skip;
		l->line_start = false;
		if (l->in_body && body_ends(l, p, &skip))
			return skip;
		c = top(l);
	}
	l->wstart = false;
	switch (c) {
	case X_SQ:
		if (*p == '\'')
			pop(l);
		return 1;
	case X_HDOCQ:
		if (*p == '\n')
			l->line_start = true;
		return 1;
	case X_COMMENT:
		if (*p == '\n') {
			pop(l);
			return lex_step(l, p); /* the newline ends a command */
		}
		return 1;
	case X_DQ:
	case X_HDOC:
		if (*p == '\\' && p[1])
			return 2;
		if (c == X_DQ && *p == '"') {
			pop(l);
			return 1;
		}
		if (*p == '\n' && c == X_HDOC)
			l->line_start = true;
		if (p[0] == '$' && p[1] == '(' && p[2] == '(') {
			push(l, X_ARITH);
			return 3;
		}
		if (p[0] == '$' && p[1] == '(') {
			push(l, X_CMDSUB);
			return 2;
		}
		if (p[0] == '$' && p[1] == '{') {
			push(l, X_PARAM);
			return 2;
		}
		if (p[0] == '$' && p[1] == '[') {
			push(l, X_ARITH);
			return 2;
		}
		if (*p == '`')
			push(l, X_BQ);
		return 1;
	case X_PARAM:
		if (*p == '\\' && p[1])
			return 2;
		if (*p == '{')
			l->st[l->n - 1].depth++;
		else if (*p == '}' && l->st[l->n - 1].depth-- == 0)
			pop(l);
		return 1;
	case X_ARITH:
		if (*p == '(' || *p == '[') {
			l->st[l->n - 1].depth++;
		} else if (*p == ')' || *p == ']') {
			if (l->st[l->n - 1].depth == 0) {
				pop(l);
				return p[0] == ')' && p[1] == ')' ? 2 : 1;
			}
			l->st[l->n - 1].depth--;
		}
		return 1;
	case X_TOP:
	case X_CMDSUB:
	case X_BQ:
	case X_PAREN:
		break;
	}
	/* Code. */
	if (p[0] == '\\' && p[1] == '\n') {
		l->wstart = ws;
		return 2; /* a line continuation joins the lines */
	}
	if (p[0] == '\\' && p[1]) {
		l->word_quoted = true;
		return 2;
	}
	if (*p == '#' && ws) {
		word_end(l);
		push(l, X_COMMENT);
		return 1;
	}
	if (*p == '\'' || *p == '"') {
		l->word_quoted = true;
		push(l, *p == '\'' ? X_SQ : X_DQ);
		return 1;
	}
	if (p[0] == '$' && p[1] == '(' && p[2] == '(') {
		push(l, X_ARITH);
		return 3;
	}
	if (p[0] == '(' && p[1] == '(' && ws) {
		push(l, X_ARITH);
		return 2;
	}
	if (p[0] == '$' && p[1] == '(') {
		dr_buf_append(&l->word, "$", 1);
		push(l, X_CMDSUB);
		return 2;
	}
	if (p[0] == '$' && p[1] == '{') {
		dr_buf_append(&l->word, "$", 1);
		push(l, X_PARAM);
		return 2;
	}
	if (p[0] == '$' && p[1] == '[') {
		push(l, X_ARITH);
		return 2;
	}
	if (*p == '`') {
		if (c == X_BQ) {
			word_end(l);
			pop(l);
		} else {
			dr_buf_append(&l->word, "`", 1);
			push(l, X_BQ);
		}
		return 1;
	}
	if (*p == '(') {
		if (l->pattern)
			return 1; /* "(a|b)" pattern syntax */
		separator(l);
		push(l, X_PAREN);
		return 1;
	}
	if (*p == ')') {
		if (l->pattern) { /* the end of a case pattern */
			word_end(l);
			l->pattern = false;
			l->wstart = l->cmdpos = true;
			return 1;
		}
		if (c == X_CMDSUB || c == X_PAREN) {
			word_end(l);
			pop(l);
			return 1;
		}
	}
	if (p[0] == '<' && p[1] == '<' && p[2] == '<') {
		word_end(l);
		l->wstart = true;
		return 3;
	}
	if (p[0] == '<' && p[1] == '<')
		return heredoc_op(l, p);
	if (*p == '\n') {
		separator(l);
		if (l->nhd > 0 && !l->in_body) {
			l->cur = 0;
			body_begin(l);
		}
		return 1;
	}
	if (p[0] == ';' && p[1] == ';') {
		separator(l);
		if (l->cases > 0)
			l->pattern = true;
		return p[2] == '&' ? 3 : 2;
	}
	if ((*p == '>' || *p == '<') && p[1] == '&') {
		word_end(l);
		l->wstart = true;
		return 2;
	}
	if (*p == ';' || *p == '&' || *p == '|') {
		separator(l);
		return 1;
	}
	if (*p == ' ' || *p == '\t' || *p == '<' || *p == '>') {
		word_end(l);
		l->wstart = true;
		return 1;
	}
	dr_buf_append(&l->word, p, 1);
	return 1;
}

/* ------------------------------------------------------------------ */
/* Building.                                                           */

void
dr_sh_init(struct dr_sh *s, unsigned flags)
{
	memset(s, 0, sizeof(*s));
	s->flags = flags;
	dr_buf_init(&s->vars, 0);
	dr_buf_init(&s->reads, 0);
	dr_buf_init(&s->body, 0);
}

void
dr_sh_free(struct dr_sh *s)
{
	size_t i;

	for (i = 0; i < s->nbound; i++) {
		free(s->bound[i]);
		free(s->vnames[i]);
	}
	for (i = 0; i < s->nsecrets; i++)
		free(s->secrets[i]);
	free(s->bound);
	free(s->vnames);
	free(s->secrets);
	dr_buf_free(&s->vars);
	dr_buf_free(&s->reads);
	dr_buf_free(&s->body);
	memset(s, 0, sizeof(*s));
}

static bool
vname_taken(const struct dr_sh *s, const char *v)
{
	return dr_str_in((const char *const *)s->vnames, s->nbound, v);
}

/* The variable bound to reference name, binding it on first use. */
static const char *
bind(struct dr_sh *s, const char *name, const char *value)
{
	struct dr_buf v;
	const char *p;
	size_t i;
	int k = 2;
	char *base;

	for (i = 0; i < s->nbound; i++)
		if (strcmp(s->bound[i], name) == 0)
			return s->vnames[i];
	dr_buf_init(&v, 0);
	dr_buf_puts(&v, "_dr_");
	for (p = name; *p; p++) {
		char c = isalnum((unsigned char)*p) ? *p : '_';
		dr_buf_append(&v, &c, 1);
	}
	base = dr_xstrdup(v.data);
	while (vname_taken(s, v.data)) {
		v.len = 0;
		dr_buf_printf(&v, "%s_%d", base, k++);
	}
	free(base);
	s->bound = dr_xrealloc(s->bound, (s->nbound + 1) * sizeof(char *));
	s->vnames = dr_xrealloc(s->vnames, (s->nbound + 1) * sizeof(char *));
	s->bound[s->nbound] = dr_xstrdup(name);
	s->vnames[s->nbound] = dr_buf_steal(&v);
	if (strncmp(name, "secret.", 7) == 0) {
		s->secrets =
		    dr_xrealloc(s->secrets, (s->nsecrets + 1) * sizeof(char *));
		s->secrets[s->nsecrets++] = dr_xstrdup(name + 7);
		if (s->flags & DR_SH_DISPLAY)
			dr_buf_printf(&s->reads,
			              "IFS= read -r %s  # type <secret:%s>\n",
			              s->vnames[s->nbound], name + 7);
		else
			dr_buf_printf(&s->reads,
			              "IFS= read -r %s || exit 125\n",
			              s->vnames[s->nbound]);
	} else {
		dr_buf_printf(&s->vars, "%s=", s->vnames[s->nbound]);
		dr_sh_quote(&s->vars, value);
		dr_buf_puts(&s->vars, "\n");
	}
	return s->vnames[s->nbound++];
}

void
dr_sh_text(struct dr_sh *s, const char *code)
{
	dr_buf_puts(&s->body, code);
}

void
dr_sh_value(struct dr_sh *s, const char *value)
{
	char name[32];

	snprintf(name, sizeof(name), "%zu", ++s->anon);
	dr_buf_printf(&s->body, "\"${%s}\"", bind(s, name, value));
}

char *
dr_sh_finish(struct dr_sh *s)
{
	struct dr_buf b;

	dr_buf_init(&b, 0);
	dr_buf_append(&b, s->vars.data ? s->vars.data : "", s->vars.len);
	dr_buf_append(&b, s->reads.data ? s->reads.data : "", s->reads.len);
	dr_buf_append(&b, s->body.data ? s->body.data : "", s->body.len);
	return dr_buf_steal(&b);
}

/* One reference resolved: its value, or why it cannot be used. */
struct resolved {
	char *name;
	const char *value;
	bool integer;
	bool secret;
};

static int
resolve(const char *p, dr_sh_lookup_fn lookup, void *arg, struct resolved *r,
        const char **next, char **why)
{
	const char *name;
	size_t len;

	memset(r, 0, sizeof(*r));
	if (dr_sh_scan_ref(p, &name, &len, next) != 0) {
		*why = dr_xasprintf("malformed reference at \"%.20s\" (a "
		                    "reference is ${name}; $$ is a literal $)",
		                    p);
		return DR_EINVAL;
	}
	r->name = dr_xstrndup(name, len);
	r->secret = strncmp(r->name, "secret.", 7) == 0;
	if (!r->secret) {
		r->value = lookup(r->name, &r->integer, arg);
		if (r->value == NULL) {
			*why = dr_xasprintf("unknown reference ${%s}", r->name);
			free(r->name);
			r->name = NULL;
			return DR_EINVAL;
		}
	}
	return 0;
}

static const char *
context_refusal(const struct lex *l, const struct resolved *r)
{
	enum ctx c = top(l);

	if (l->overflow)
		return "the command nests quotes and substitutions too deeply "
		       "to follow";
	if (c == X_SQ)
		return "it is inside single quotes, where it would be the "
		       "literal text of a variable name; remove the quotes, "
		       "drover quotes every value itself";
	if (c == X_HDOCQ)
		return "it is inside a quoted here-document (<<'EOF'), where "
		       "nothing is substituted; use <<EOF";
	if (c == X_PARAM)
		return "it is inside the shell's own ${...}; copy the value "
		       "to a variable first (v=${var.x}; ... $${v:-...})";
	if (c == X_ARITH && !r->integer)
		return "it is inside shell arithmetic, which evaluates a "
		       "variable's contents as code; only values declared as "
		       "integers may appear there";
	if (code_ctx(c) && l->cmdpos && !l->pattern && !r->integer &&
	    !(l->word.data && is_assignment(l->word.data)))
		return "it would name the command to run, so a value could "
		       "choose to run eval or a shell; name the command "
		       "in the plan";
	return NULL;
}

static bool
uses_reserved(const char *tmpl)
{
	return strstr(tmpl, "_dr_") != NULL;
}

/* Renders tmpl as code into s (or only checks it when s is NULL). */
static int
render_code(struct dr_sh *s, const char *tmpl, dr_sh_lookup_fn lookup,
            void *arg, char **why)
{
	struct dr_buf flat, out;
	struct lex l;
	const char *p = tmpl, *sink;
	int r = 0;

	*why = NULL;
	if (uses_reserved(tmpl)) {
		*why = dr_xstrdup("the command uses the prefix _dr_, which is "
		                  "reserved for drover's variables; rename it");
		return DR_EINVAL;
	}
	dr_buf_init(&flat, 0);
	flatten(tmpl, &flat);
	sink = sink_scan(flat.data ? flat.data : "");
	dr_buf_free(&flat);
	memset(&l, 0, sizeof(l));
	l.wstart = l.cmdpos = true;
	dr_buf_init(&l.word, 0);
	dr_buf_init(&out, 0);
	while (*p) {
		struct resolved rv;
		const char *next, *refusal, *var;
		enum ctx c;

		if (p[0] == '$' && p[1] == '$') {
			/* The shell sees one '$', with what follows it. */
			char view[4] = {'$', '\0', '\0', '\0'};
			size_t k;
			if (p[2] == '(' || p[2] == '{' || p[2] == '[') {
				view[1] = p[2];
				if (p[2] == '(' && p[3] == '(')
					view[2] = '(';
			}
			k = lex_step(&l, view);
			dr_buf_append(&out, "$", 1);
			dr_buf_append(&out, p + 2, k - 1);
			p += 2 + (k - 1);
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			size_t k = lex_step(&l, p);
			dr_buf_append(&out, p, k);
			p += k;
			continue;
		}
		if (resolve(p, lookup, arg, &rv, &next, why) != 0) {
			r = DR_EINVAL;
			break;
		}
		if (!rv.integer && sink != NULL) {
			*why = dr_xasprintf(
			    "${%s}: the command holds a construct where a "
			    "value could become code: %s; only values declared "
			    "as integers may appear in such a command",
			    rv.name, sink);
			free(rv.name);
			r = DR_EINVAL;
			break;
		}
		if (l.line_start && l.in_body) {
			/* A reference at a body's line start: not its end. */
			size_t skip;
			l.line_start = false;
			if (body_ends(&l, p, &skip)) {
				dr_buf_append(&out, p, skip);
				p += skip;
				free(rv.name);
				continue;
			}
		}
		if ((refusal = context_refusal(&l, &rv)) != NULL) {
			*why = dr_xasprintf("${%s}: %s", rv.name, refusal);
			free(rv.name);
			r = DR_EINVAL;
			break;
		}
		c = top(&l);
		if (s != NULL) {
			var = bind(s, rv.name, rv.value ? rv.value : "");
			if (c == X_DQ || c == X_HDOC || c == X_ARITH)
				dr_buf_printf(&out, "${%s}", var);
			else
				dr_buf_printf(&out, "\"${%s}\"", var);
		}
		/* The reference is part of the word being read. */
		l.wstart = false;
		l.word_quoted = true;
		free(rv.name);
		p = next;
	}
	if (r == 0 && (top(&l) == X_SQ || top(&l) == X_DQ || top(&l) == X_BQ)) {
		*why = dr_xasprintf("unterminated %s in the command",
		                    top(&l) == X_SQ   ? "single quote"
		                    : top(&l) == X_DQ ? "double quote"
		                                      : "backtick");
		r = DR_EINVAL;
	}
	if (r == 0 && s != NULL)
		dr_buf_append(&s->body, out.data ? out.data : "", out.len);
	dr_buf_free(&out);
	lex_free(&l);
	return r;
}

int
dr_sh_code(struct dr_sh *s, const char *tmpl, dr_sh_lookup_fn lookup, void *arg,
           char **why)
{
	return render_code(s, tmpl, lookup, arg, why);
}

int
dr_sh_check(const char *tmpl, dr_sh_lookup_fn lookup, void *arg, char **why)
{
	return render_code(NULL, tmpl, lookup, arg, why);
}

int
dr_sh_word(struct dr_sh *s, const char *tmpl, dr_sh_lookup_fn lookup, void *arg,
           char **why)
{
	struct dr_buf out, lit;
	const char *p = tmpl;
	bool any = false;

	*why = NULL;
	dr_buf_init(&out, 0);
	dr_buf_init(&lit, 0);
	while (*p) {
		struct resolved rv;
		const char *next;

		if (p[0] == '$' && p[1] == '$') {
			dr_buf_append(&lit, "$", 1);
			p += 2;
			continue;
		}
		if (p[0] != '$' || p[1] != '{') {
			dr_buf_append(&lit, p, 1);
			p++;
			continue;
		}
		if (resolve(p, lookup, arg, &rv, &next, why) != 0)
			goto fail;
		if (rv.secret) {
			*why = dr_xasprintf("${%s}: a secret may not be an "
			                    "argument (it would show in the "
			                    "process list); use it in a run "
			                    "command",
			                    rv.name);
			free(rv.name);
			goto fail;
		}
		if (lit.len) {
			dr_sh_quote(&out, lit.data);
			lit.len = 0;
		}
		dr_buf_printf(&out, "\"${%s}\"", bind(s, rv.name, rv.value));
		any = true;
		free(rv.name);
		p = next;
	}
	if (lit.len || !any)
		dr_sh_quote(&out, lit.data ? lit.data : "");
	dr_buf_append(&s->body, out.data, out.len);
	dr_buf_free(&out);
	dr_buf_free(&lit);
	return 0;
fail:
	dr_buf_free(&out);
	dr_buf_free(&lit);
	return DR_EINVAL;
}
