/*
 * markup.c: Markdown and HTML escaping shared by the runbook and the run
 * report (see markup.h).
 */
#include "drover/doc.h"

#include <ctype.h>
#include <stdbool.h>
#include <string.h>

/* Whether flags turn the byte c into a space. */
static bool
blank(unsigned char c, unsigned flags)
{
	switch (c) {
	case '\n':
		return (flags & DR_MARKUP_SP_LF) != 0;
	case '\t':
		return (flags & DR_MARKUP_SP_TAB) != 0;
	case '\r':
		return (flags & DR_MARKUP_SP_CR) != 0;
	case 0x7f:
		return (flags & DR_MARKUP_SP_DEL) != 0;
	}
	return c < 0x20 && (flags & DR_MARKUP_SP_CTL) != 0;
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
backticks(FILE *f, size_t n)
{
	while (n--)
		fputc('`', f);
}

/* s verbatim but for the blanks in flags and, in a cell, '|'. */
static void
verbatim(FILE *f, const char *s, unsigned flags)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;

		if (blank(c, flags))
			fputc(' ', f);
		else if (c == '|' && (flags & DR_MARKUP_MD_CELL))
			fputs("\\|", f);
		else
			fputc(c, f);
	}
}

void
dr_html_textn(FILE *f, const char *s, size_t n, unsigned flags)
{
	bool bare = (flags & DR_MARKUP_HTML_BARE) != 0;
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (blank(c, flags)) {
			fputc(' ', f);
			continue;
		}
		switch (c) {
		case '&':
			fputs("&amp;", f);
			continue;
		case '<':
			fputs("&lt;", f);
			continue;
		case '>':
			fputs("&gt;", f);
			continue;
		case '"':
			if (bare)
				break;
			fputs("&quot;", f);
			continue;
		case '\'':
			if (bare)
				break;
			fputs("&#39;", f);
			continue;
		}
		fputc(c, f);
	}
}

void
dr_html_text(FILE *f, const char *s, unsigned flags)
{
	if (s != NULL)
		dr_html_textn(f, s, strlen(s), flags);
}

void
dr_html_code(FILE *f, const char *s, unsigned flags)
{
	if (s == NULL)
		return;
	fputs("<code>", f);
	dr_html_text(f, s, flags);
	fputs("</code>", f);
}

void
dr_html_open(FILE *f, const char *tag, const char *cls)
{
	if (cls)
		fprintf(f, "<%s class=\"%s\">", tag, cls);
	else
		fprintf(f, "<%s>", tag);
}

void
dr_md_textn(FILE *f, const char *s, size_t n, unsigned flags)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];

		if (blank(c, flags)) {
			fputc(' ', f);
			continue;
		}
		if (strchr("\\`*_[]<>|~#", c) != NULL ||
		    (c == '&' && (flags & DR_MARKUP_MD_AMP))) {
			/* an underscore inside a word is literal in GFM */
			bool intraword = c == '_' && i > 0 &&
			                 isalnum((unsigned char)s[i - 1]) &&
			                 isalnum((unsigned char)s[i + 1]);
			if (!intraword)
				fputc('\\', f);
		}
		fputc(c, f);
	}
}

void
dr_md_text(FILE *f, const char *s, unsigned flags)
{
	if (s != NULL)
		dr_md_textn(f, s, strlen(s), flags);
}

void
dr_md_code(FILE *f, const char *s, unsigned flags)
{
	size_t max;

	if (s == NULL)
		return;
	max = backtick_run(s);
	backticks(f, max + 1);
	if (max)
		fputc(' ', f);
	verbatim(f, s, flags);
	if (max)
		fputc(' ', f);
	backticks(f, max + 1);
}

void
dr_md_block(FILE *f, const char *s, const char *lang, unsigned flags)
{
	size_t max;

	if (s == NULL)
		return;
	max = backtick_run(s);
	if (max < 2)
		max = 2;
	backticks(f, max + 1);
	fputs(lang, f);
	fputc('\n', f);
	verbatim(f, s, flags);
	if (*s && s[strlen(s) - 1] != '\n')
		fputc('\n', f);
	backticks(f, max + 1);
	fputs("\n\n", f);
}

void
dr_md_table_rule(FILE *f, size_t ncols)
{
	size_t i;

	fputc('|', f);
	for (i = 0; i < ncols; i++)
		fputs(" --- |", f);
	fputc('\n', f);
}
