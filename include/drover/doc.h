/*
 * doc.h: escaping and small output primitives shared by the writers of
 * Markdown (GitHub-flavoured) and HTML documents: the printable runbook
 * (runbook.c) and the run report (render.c).
 *
 * Every function writes to f and reports no error: the callers check the
 * stream once at the end (ferror). A NULL string writes nothing.
 *
 * The writers differ in which control characters they turn into spaces,
 * so that is a parameter: the DR_MARKUP_SP_* bits in flags name the
 * control characters that become a space; any other control character is
 * written as it is. The other DR_MARKUP_* bits select the remaining
 * differences, and each function says which bits it reads.
 */
#ifndef DROVER_MARKUP_H
#define DROVER_MARKUP_H

#include <stddef.h>
#include <stdio.h>

/* Control characters written as a space. */
#define DR_MARKUP_SP_LF 0x01u  /* '\n' */
#define DR_MARKUP_SP_TAB 0x02u /* '\t' */
#define DR_MARKUP_SP_CR 0x04u  /* '\r' */
#define DR_MARKUP_SP_CTL 0x08u /* every other byte below 0x20 */
#define DR_MARKUP_SP_DEL 0x10u /* 0x7f */
/* '\n', '\t' and '\r' */
#define DR_MARKUP_SP_WS (DR_MARKUP_SP_LF | DR_MARKUP_SP_TAB | DR_MARKUP_SP_CR)
/* every byte below 0x20 */
#define DR_MARKUP_SP_C0 (DR_MARKUP_SP_WS | DR_MARKUP_SP_CTL)

/* Markdown text: escape '&' too (so that no entity is ever formed). */
#define DR_MARKUP_MD_AMP 0x20u
/* Markdown code span inside a table row: '|' written as "\|". */
#define DR_MARKUP_MD_CELL 0x40u
/*
 * HTML: '"' and '\'' written as they are; only '&', '<' and '>' become
 * entities. For element content only, never for attribute values.
 */
#define DR_MARKUP_HTML_BARE 0x80u

/*
 * HTML text, for element content and double- or single-quoted attribute
 * values: '&', '<', '>', '"' and '\'' become entities ("&amp;", "&lt;",
 * "&gt;", "&quot;", "&#39;"; with DR_MARKUP_HTML_BARE only the first three),
 * the control characters named by the DR_MARKUP_SP_* bits become spaces,
 * everything else (UTF-8 included) is written as it is.
 */
void dr_html_text(FILE *f, const char *s, unsigned flags);

/* dr_html_text() of the first n bytes of s (n <= strlen(s)). */
void dr_html_textn(FILE *f, const char *s, size_t n, unsigned flags);

/*
 * HTML inline code: "<code>", s as dr_html_text() writes it with flags,
 * "</code>".
 */
void dr_html_code(FILE *f, const char *s, unsigned flags);

/*
 * An HTML start tag with an optional class: "<tag>" or
 * "<tag class=\"cls\">". tag and cls are literal markup from the program,
 * never data: they are not escaped.
 */
void dr_html_open(FILE *f, const char *tag, const char *cls);

/*
 * Markdown inline text (a paragraph, a list item, a heading or a table
 * cell): the control characters named by the DR_MARKUP_SP_* bits become
 * spaces; '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '#' (and '&'
 * with DR_MARKUP_MD_AMP) get a backslash, except an underscore between two
 * ASCII letters or digits, which is literal in GFM. '|' is escaped
 * everywhere, so that the same text is safe in a table cell.
 */
void dr_md_text(FILE *f, const char *s, unsigned flags);

/*
 * dr_md_text() of the first n bytes of s (n <= strlen(s)). s must stay
 * readable up to its NUL: the byte after the last one written decides
 * whether an underscore there is inside a word, as in the whole string.
 */
void dr_md_textn(FILE *f, const char *s, size_t n, unsigned flags);

/*
 * A Markdown code span: a fence of backticks one longer than the longest
 * run in s, padded with a space inside when s holds a backtick; the content
 * is verbatim but for the control characters named by the DR_MARKUP_SP_*
 * bits (spaces) and, with DR_MARKUP_MD_CELL, '|' as "\|" so that the span
 * does not split a table row.
 */
void dr_md_code(FILE *f, const char *s, unsigned flags);

/*
 * A Markdown fenced code block: a fence of at least three backticks and
 * longer than any run in s, the info string lang, s verbatim but for the
 * control characters named by the DR_MARKUP_SP_* bits (spaces), a newline
 * when s does not end with one, the closing fence and a blank line.
 */
void dr_md_block(FILE *f, const char *s, const char *lang, unsigned flags);

/* The delimiter row of a Markdown table of ncols columns: "| --- |...\n". */
void dr_md_table_rule(FILE *f, size_t ncols);

#endif
