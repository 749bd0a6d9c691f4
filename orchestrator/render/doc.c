/*
 * doc.c: the document writer, Markdown and HTML (see doc.h). Every byte goes
 * through emit(), which remembers the first failed write; every string of
 * data through escape(), which holds the one escaping policy.
 */
#include "drover/doc.h"

#include <ctype.h>
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"

struct dr_doc {
	FILE *f;
	bool html;
	bool begun;        /* the HTML head is written: the body is to close */
	int err;           /* errno of the first failed write; 0: none */
	struct dr_buf fmt; /* scratch for the printf-like calls */
	int level;         /* of the heading being written */
	bool ordered;      /* the list being written */
	int item;          /* items so far in it */
	size_t ncols;      /* of the table being written; 0: none */
	unsigned tflags;   /* its DR_DOC_THEAD */
	bool head, body;   /* its header row written; HTML <tbody> open */
	bool in_head;      /* writing the header row */
	bool in_cell;      /* writing a cell: a newline is a line break */
	size_t fence;      /* Markdown block: backticks of the fence */
	bool lines;        /* HTML block: one <span class="l"> per line */
	bool words;        /* HTML block: hyphenated words kept whole */
	bool line_break;   /* a line ended: a new box when one starts */
	bool at_bol;       /* Markdown block: the content ended a line */
};

/* What escape() writes: three kinds of data (see doc.h). */
enum esc {
	ESC_TEXT, /* one line, every special character escaped */
	ESC_CODE, /* one line, verbatim */
	ESC_VERB  /* lines, verbatim */
};

#define MD_SPECIAL "\\`*_[]<>|~#&"

static void
emit(struct dr_doc *d, const char *p, size_t n)
{
	if (d->err == 0 && n > 0 && fwrite(p, 1, n, d->f) != n)
		d->err = errno ? errno : EIO;
}

static void
put(struct dr_doc *d, const char *s)
{
	if (s)
		emit(d, s, strlen(s));
}

static const char *
vformat(struct dr_doc *d, const char *fmt, va_list ap)
{
	d->fmt.len = 0;
	dr_buf_vprintf(&d->fmt, fmt, ap);
	return d->fmt.data ? d->fmt.data : "";
}

/*
 * What byte i of s (n bytes, readable up to its NUL) becomes in kind k:
 * NULL when it is written as it is, else its replacement (two[] holds a
 * backslash escape).
 */
static const char *
replace(const struct dr_doc *d, const char *s, size_t i, enum esc k,
        char two[3])
{
	unsigned char c = (unsigned char)s[i];

	if (c < 0x20 || c == 0x7f) {
		if (k == ESC_VERB && (c == '\n' || c == '\t'))
			return NULL;
		if (k == ESC_TEXT && c == '\n' && d->in_cell)
			return "<br>";
		return " ";
	}
	if (d->html) {
		switch (c) {
		case '&':
			return "&amp;";
		case '<':
			return "&lt;";
		case '>':
			return "&gt;";
		case '"':
			return k == ESC_TEXT ? "&quot;" : NULL;
		case '\'':
			return k == ESC_TEXT ? "&#39;" : NULL;
		}
		return NULL;
	}
	if (k == ESC_CODE && c == '|' && d->ncols)
		return "\\|";
	if (k != ESC_TEXT || strchr(MD_SPECIAL, c) == NULL)
		return NULL;
	/* an underscore inside a word is literal in GFM */
	if (c == '_' && i > 0 && isalnum((unsigned char)s[i - 1]) &&
	    isalnum((unsigned char)s[i + 1]))
		return NULL;
	two[0] = '\\';
	two[1] = (char)c;
	two[2] = '\0';
	return two;
}

/* The first n bytes of s, escaped as k; runs of plain bytes in one write. */
static void
escape(struct dr_doc *d, const char *s, size_t n, enum esc k)
{
	size_t i, from = 0;
	char two[3];

	for (i = 0; i < n; i++) {
		const char *r;

		if (d->line_break) {
			put(d, "</span><span class=\"l\">");
			d->line_break = false;
		}
		if (d->lines && s[i] == '\n') {
			emit(d, s + from, i - from);
			from = i + 1;
			d->line_break = true;
			continue;
		}
		if ((r = replace(d, s, i, k, two)) == NULL)
			continue;
		emit(d, s + from, i - from);
		put(d, r);
		from = i + 1;
	}
	emit(d, s + from, n - from);
}

/* The longest run of backticks in s. */
static size_t
backtick_run(const char *s)
{
	size_t run = 0, max = 0;

	for (; *s; s++) {
		run = *s == '`' ? run + 1 : 0;
		if (run > max)
			max = run;
	}
	return max;
}

static void
backticks(struct dr_doc *d, size_t n)
{
	while (n--)
		put(d, "`");
}

/* HTML: "<tag>" or "<tag class=\"cls\">"; Markdown: nothing. */
static void
open_tag(struct dr_doc *d, const char *tag, const char *cls)
{
	if (!d->html)
		return;
	put(d, "<");
	put(d, tag);
	if (cls) {
		put(d, " class=\"");
		put(d, cls);
		put(d, "\"");
	}
	put(d, ">");
}

/* A CSS string literal: anything unusual as a hex escape. */
static void
css_string(struct dr_doc *d, const char *s)
{
	put(d, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		char hex[8];

		if (isalnum(c) || strchr(" -_.,", c) || c >= 0x80) {
			emit(d, s, 1);
			continue;
		}
		snprintf(hex, sizeof(hex), "\\%x ", c);
		put(d, hex);
	}
	put(d, "\"");
}

struct dr_doc *
dr_doc_new(FILE *f, enum dr_doc_format fmt)
{
	struct dr_doc *d = dr_xcalloc(1, sizeof(*d));

	d->f = f;
	d->html = fmt == DR_DOC_HTML;
	dr_buf_init(&d->fmt, 0);
	return d;
}

void
dr_doc_free(struct dr_doc *d)
{
	if (d == NULL)
		return;
	dr_buf_free(&d->fmt);
	free(d);
}

bool
dr_doc_is_html(const struct dr_doc *d)
{
	return d->html;
}

/* ---- the document ------------------------------------------------------ */

void
dr_doc_begin(struct dr_doc *d, const char *title, const char *foot,
             const char *css)
{
	if (!d->html)
		return;
	d->begun = true;
	put(d, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	       "<meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, "
	       "initial-scale=1\">\n<title>");
	dr_doc_text(d, title);
	put(d, "</title>\n<style>\n");
	if (foot) {
		put(d, ":root{--foot:");
		css_string(d, foot);
		put(d, "}\n");
	}
	put(d, css);
	put(d, "</style>\n</head>\n<body>\n");
}

int
dr_doc_end(struct dr_doc *d)
{
	if (d->begun)
		put(d, "</body>\n</html>\n");
	if (fflush(d->f) != 0 && d->err == 0)
		d->err = errno ? errno : EIO;
	if (ferror(d->f) && d->err == 0)
		d->err = EIO;
	if (d->err == 0)
		return 0;
	errno = d->err;
	return DR_EIO;
}

/* ---- blocks ------------------------------------------------------------ */

void
dr_doc_heading_begin(struct dr_doc *d, int level, const char *id,
                     const char *cls)
{
	char tag[16];

	d->level = level < 1 ? 1 : level > 6 ? 6 : level;
	if (!d->html) {
		emit(d, "######", (size_t)d->level);
		put(d, " ");
		return;
	}
	snprintf(tag, sizeof(tag), "<h%d", d->level);
	put(d, tag);
	if (id) {
		put(d, " id=\"");
		put(d, id);
		put(d, "\"");
	}
	if (cls) {
		put(d, " class=\"");
		put(d, cls);
		put(d, "\"");
	}
	put(d, ">");
}

void
dr_doc_heading_end(struct dr_doc *d)
{
	char tag[16];

	if (!d->html) {
		put(d, "\n\n");
		return;
	}
	snprintf(tag, sizeof(tag), "</h%d>\n", d->level);
	put(d, tag);
}

void
dr_doc_heading(struct dr_doc *d, int level, const char *id, const char *cls,
               const char *s)
{
	dr_doc_heading_begin(d, level, id, cls);
	dr_doc_text(d, s);
	dr_doc_heading_end(d);
}

void
dr_doc_p_begin(struct dr_doc *d, const char *cls)
{
	open_tag(d, "p", cls);
}

void
dr_doc_p_end(struct dr_doc *d)
{
	put(d, d->html ? "</p>\n" : "\n\n");
}

void
dr_doc_p(struct dr_doc *d, const char *cls, const char *s)
{
	dr_doc_p_begin(d, cls);
	dr_doc_text(d, s);
	dr_doc_p_end(d);
}

void
dr_doc_list_begin(struct dr_doc *d, bool ordered)
{
	d->ordered = ordered;
	d->item = 0;
	if (d->html)
		put(d, ordered ? "<ol>\n" : "<ul>\n");
}

void
dr_doc_item_begin(struct dr_doc *d)
{
	char num[32];

	d->item++;
	if (d->html) {
		put(d, "<li>");
	} else if (d->ordered) {
		snprintf(num, sizeof(num), "%d. ", d->item);
		put(d, num);
	} else {
		put(d, "- ");
	}
}

void
dr_doc_item_end(struct dr_doc *d)
{
	put(d, d->html ? "</li>\n" : "\n");
}

void
dr_doc_list_end(struct dr_doc *d)
{
	dr_doc_raw(d, d->ordered ? "</ol>\n" : "</ul>\n", "\n");
}

void
dr_doc_note_begin(struct dr_doc *d, const char *cls)
{
	if (d->html)
		open_tag(d, "div", cls);
	else
		put(d, "> ");
}

void
dr_doc_note_end(struct dr_doc *d)
{
	put(d, d->html ? "</div>\n" : "\n\n");
}

void
dr_doc_pre_begin(struct dr_doc *d, const char *cls, const char *lang,
                 const char *s, unsigned flags)
{
	if (d->html) {
		open_tag(d, "pre", cls);
		d->lines = (flags & DR_DOC_PRE_LINES) != 0;
		d->words = (flags & DR_DOC_PRE_WORDS) != 0;
		if (d->lines)
			put(d, "<span class=\"l\">");
		return;
	}
	d->fence = s ? backtick_run(s) + 1 : 1;
	if (d->fence < 3)
		d->fence = 3;
	backticks(d, d->fence);
	put(d, lang);
	put(d, "\n");
	d->at_bol = true;
}

/* The longest word kept whole: a longer one may break where it must. */
#define WORD_MAX 40

/*
 * Verbatim content whose words holding a hyphen are each a box that does
 * not break: a browser may break a line after any hyphen ("-" at the end
 * of a line, "P 22" on the next), which reads as hyphenation.
 */
static void
escape_words(struct dr_doc *d, const char *s, size_t n)
{
	size_t i = 0, j;

	while (i < n) {
		for (j = i; j < n && !strchr(" \t\n", s[j]); j++)
			;
		if (j == i) {
			escape(d, s + i, 1, ESC_VERB);
			i++;
			continue;
		}
		if (j - i > WORD_MAX || memchr(s + i, '-', j - i) == NULL) {
			escape(d, s + i, j - i, ESC_VERB);
		} else {
			if (d->line_break) {
				put(d, "</span><span class=\"l\">");
				d->line_break = false;
			}
			put(d, "<span class=\"w\">");
			escape(d, s + i, j - i, ESC_VERB);
			put(d, "</span>");
		}
		i = j;
	}
}

void
dr_doc_verbatim(struct dr_doc *d, const char *s)
{
	size_t n;

	if (s == NULL || (!d->html && d->fence == 0))
		return;
	n = strlen(s);
	if (d->html && d->words)
		escape_words(d, s, n);
	else
		escape(d, s, n, ESC_VERB);
	if (n)
		d->at_bol = s[n - 1] == '\n';
}

void
dr_doc_pre_end(struct dr_doc *d)
{
	if (d->html) {
		put(d, d->lines ? "</span></pre>\n" : "</pre>\n");
		d->lines = d->words = d->line_break = false;
		return;
	}
	if (!d->at_bol)
		put(d, "\n");
	backticks(d, d->fence);
	put(d, "\n\n");
	d->fence = 0;
}

void
dr_doc_pre(struct dr_doc *d, const char *cls, const char *lang, const char *s,
           unsigned flags)
{
	dr_doc_pre_begin(d, cls, lang, s, flags);
	dr_doc_verbatim(d, s);
	dr_doc_pre_end(d);
}

/* ---- tables ------------------------------------------------------------ */

/* The Markdown delimiter row: "| --- |...". */
static void
md_rule(struct dr_doc *d)
{
	size_t i;

	put(d, "|");
	for (i = 0; i < d->ncols; i++)
		put(d, " --- |");
	put(d, "\n");
}

void
dr_doc_table_begin(struct dr_doc *d, const char *cls, size_t ncols,
                   unsigned flags)
{
	d->ncols = ncols ? ncols : 1;
	d->tflags = flags;
	d->head = d->body = false;
	if (d->html) {
		open_tag(d, "table", cls);
		put(d, "\n");
	}
}

void
dr_doc_table_head(struct dr_doc *d, const char *const *cells)
{
	bool group = d->html && (d->tflags & DR_DOC_THEAD);

	if (group)
		put(d, "<thead>");
	d->in_head = true;
	dr_doc_row(d, cells);
	d->in_head = false;
	if (group) {
		put(d, "</thead>\n<tbody>\n");
		d->body = true;
	}
}

void
dr_doc_row_begin(struct dr_doc *d)
{
	size_t i;

	if (d->html) {
		put(d, "<tr>");
		return;
	}
	if (!d->head && !d->in_head) {
		/* GFM has no table without a header row: an empty one */
		put(d, "|");
		for (i = 0; i < d->ncols; i++)
			put(d, "  |");
		put(d, "\n");
		md_rule(d);
		d->head = true;
	}
	put(d, "|");
}

void
dr_doc_row_end(struct dr_doc *d)
{
	if (d->html) {
		/* in a <thead>, "</thead>" follows on the same line */
		put(d, d->in_head && (d->tflags & DR_DOC_THEAD) ? "</tr>"
		                                                : "</tr>\n");
	} else {
		put(d, "\n");
		if (d->in_head)
			md_rule(d);
	}
	if (d->in_head)
		d->head = true;
}

void
dr_doc_cell_begin(struct dr_doc *d, const char *cls)
{
	d->in_cell = true;
	if (d->html)
		open_tag(d, d->in_head ? "th" : "td", cls);
	else
		put(d, " ");
}

void
dr_doc_cell_end(struct dr_doc *d)
{
	d->in_cell = false;
	if (d->html)
		put(d, d->in_head ? "</th>" : "</td>");
	else
		put(d, " |");
}

void
dr_doc_cell(struct dr_doc *d, const char *cls, const char *s)
{
	dr_doc_cell_begin(d, cls);
	dr_doc_text(d, s);
	dr_doc_cell_end(d);
}

void
dr_doc_row(struct dr_doc *d, const char *const *cells)
{
	size_t i;

	dr_doc_row_begin(d);
	for (i = 0; i < d->ncols; i++)
		dr_doc_cell(d, NULL, cells[i]);
	dr_doc_row_end(d);
}

void
dr_doc_table_end(struct dr_doc *d)
{
	dr_doc_raw(d, d->body ? "</tbody>\n</table>\n" : "</table>\n", "\n");
	d->ncols = 0;
	d->head = d->body = false;
}

/* ---- inline ------------------------------------------------------------ */

void
dr_doc_text(struct dr_doc *d, const char *s)
{
	if (s)
		escape(d, s, strlen(s), ESC_TEXT);
}

void
dr_doc_textf(struct dr_doc *d, const char *fmt, ...)
{
	va_list ap;
	const char *s;

	va_start(ap, fmt);
	s = vformat(d, fmt, ap);
	va_end(ap);
	dr_doc_text(d, s);
}

void
dr_doc_text_cut(struct dr_doc *d, const char *s, size_t max)
{
	size_t len, i, n = 0, cut = 0;

	if (s == NULL)
		return;
	len = strlen(s);
	/* n: the code points; cut: where code point max - 1 starts */
	for (i = 0; max && i < len; i++)
		if ((s[i] & 0xc0) != 0x80 && n++ == max - 1)
			cut = i;
	if (n <= max)
		cut = len;
	escape(d, s, cut, ESC_TEXT);
	if (cut < len)
		put(d, "\xe2\x80\xa6");
}

void
dr_doc_code(struct dr_doc *d, const char *s)
{
	size_t max;

	if (s == NULL)
		return;
	if (d->html) {
		put(d, "<code>");
		escape(d, s, strlen(s), ESC_CODE);
		put(d, "</code>");
		return;
	}
	max = backtick_run(s);
	backticks(d, max + 1);
	if (max)
		put(d, " ");
	escape(d, s, strlen(s), ESC_CODE);
	if (max)
		put(d, " ");
	backticks(d, max + 1);
}

void
dr_doc_bold_begin(struct dr_doc *d)
{
	dr_doc_raw(d, "<b>", "**");
}

void
dr_doc_bold_end(struct dr_doc *d)
{
	dr_doc_raw(d, "</b>", "**");
}

void
dr_doc_bold(struct dr_doc *d, const char *s)
{
	dr_doc_raw(d, "<b>", "**");
	dr_doc_text(d, s);
	dr_doc_raw(d, "</b>", "**");
}

void
dr_doc_span_begin(struct dr_doc *d, const char *cls)
{
	open_tag(d, "span", cls);
}

void
dr_doc_span_end(struct dr_doc *d)
{
	if (d->html)
		put(d, "</span>");
}

void
dr_doc_span(struct dr_doc *d, const char *cls, const char *s)
{
	open_tag(d, "span", cls);
	dr_doc_text(d, s);
	if (d->html)
		put(d, "</span>");
}

void
dr_doc_checkbox(struct dr_doc *d)
{
	put(d, d->html ? "\xe2\x98\x90" : "[ ]");
}

void
dr_doc_link_begin(struct dr_doc *d, const char *id, const char *cls)
{
	if (!d->html)
		return;
	put(d, "<a href=\"#");
	put(d, id);
	put(d, "\"");
	if (cls) {
		put(d, " class=\"");
		put(d, cls);
		put(d, "\"");
	}
	put(d, ">");
}

void
dr_doc_link_end(struct dr_doc *d)
{
	if (d->html)
		put(d, "</a>");
}

void
dr_doc_raw(struct dr_doc *d, const char *html, const char *md)
{
	put(d, d->html ? html : md);
}

void
dr_doc_htmlf(struct dr_doc *d, const char *fmt, ...)
{
	va_list ap;
	const char *s;

	if (!d->html)
		return;
	va_start(ap, fmt);
	s = vformat(d, fmt, ap);
	va_end(ap);
	put(d, s);
}
