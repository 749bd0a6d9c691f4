/*
 * doc.h: the one document writer, with a GitHub-flavoured Markdown and an
 * HTML backend, for every document drover writes for people: the printable
 * runbook (runbook.c) and the run report (report-doc.c, timeline.c).
 *
 * A document is a sequence of calls: the content is decided once and each
 * call writes it in the document's format. Every string given as text,
 * code or verbatim content is data and is escaped by one policy:
 *
 *  - text (dr_doc_text, headings, cells, spans): one line; every control
 *    character (below 0x20, and 0x7f) becomes a space, except a newline in
 *    a table cell, which is a line break ("<br>", the only one GFM has in a
 *    cell). HTML: '&', '<', '>', '"' and '\'' become entities, so that text
 *    is safe in element content and in quoted attribute values alike.
 *    Markdown: '\\', '`', '*', '_', '[', ']', '<', '>', '|', '~', '#' and
 *    '&' get a backslash (no markup, no raw HTML, no entity is ever formed;
 *    '|' everywhere, so that text is safe in a table cell), except an
 *    underscore between two ASCII letters or digits, literal in GFM.
 *  - code (dr_doc_code): one line as text, but verbatim: HTML escapes only
 *    '&', '<' and '>' (a command reads as typed in the source too);
 *    Markdown writes a code span whose fence is longer than any run of
 *    backticks inside, and "\|" for '|' in a table cell.
 *  - verbatim content of a preformatted block (dr_doc_pre, dr_doc_verbatim):
 *    newlines and tabs are kept, every other control character becomes a
 *    space; HTML escapes '&', '<' and '>'; Markdown writes it inside a
 *    fence longer than any run of backticks in it.
 *
 * Everything else a call takes (tag classes, ids, the info string of a
 * block, the markup of dr_doc_raw and dr_doc_htmlf, the stylesheet) is
 * markup from the program, never data, and is written as it is.
 *
 * Errors: the calls report none. The writer remembers the first write that
 * failed and dr_doc_end() reports it, so that a caller checks once, at the
 * end, and loses no write error. A NULL string writes nothing.
 */
#ifndef DROVER_DOC_H
#define DROVER_DOC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

enum dr_doc_format {
	DR_DOC_MD,  /* GitHub-flavoured Markdown */
	DR_DOC_HTML /* one self-contained file: inline CSS, no script */
};

struct dr_doc;

/*
 * A writer of a document in fmt to f (borrowed: the caller closes it).
 * Never returns NULL (allocation failure aborts). Free with dr_doc_free().
 */
struct dr_doc *dr_doc_new(FILE *f, enum dr_doc_format fmt);

/* Frees d; the stream is left open. dr_doc_free(NULL) is a no-op. */
void dr_doc_free(struct dr_doc *d);

/* Whether d writes HTML: for content that only one format has. */
bool dr_doc_is_html(const struct dr_doc *d);

/* ---- the document ------------------------------------------------------ */

/*
 * Starts the document. HTML: the head with title (text), the stylesheet
 * css (markup) and, when foot is not NULL, ":root{--foot:"FOOT"}" before
 * it (a CSS string, for the footer of printed pages: "@bottom-left{content:
 * var(--foot)}"), then "<body>". Markdown: nothing (the document starts
 * with its first heading).
 */
void dr_doc_begin(struct dr_doc *d, const char *title, const char *foot,
                  const char *css);

/*
 * Ends the document (HTML begun with dr_doc_begin(): "</body></html>") and
 * flushes the stream.
 * Returns 0, or DR_EIO when any write since dr_doc_new() failed (errno
 * then says why). d is still to be freed.
 */
int dr_doc_end(struct dr_doc *d);

/* ---- blocks ------------------------------------------------------------ */

/*
 * A heading of level 1-6 with the text s. id and cls, when not NULL, are
 * the HTML element's id (an anchor) and class; Markdown has neither.
 */
void dr_doc_heading(struct dr_doc *d, int level, const char *id,
                    const char *cls, const char *s);

/* A heading whose content the calls up to dr_doc_heading_end() write. */
void dr_doc_heading_begin(struct dr_doc *d, int level, const char *id,
                          const char *cls);
void dr_doc_heading_end(struct dr_doc *d);

/* A paragraph of class cls (HTML; may be NULL): begin, inline calls, end. */
void dr_doc_p_begin(struct dr_doc *d, const char *cls);
void dr_doc_p_end(struct dr_doc *d);

/* A paragraph of the text s. */
void dr_doc_p(struct dr_doc *d, const char *cls, const char *s);

/*
 * A list, numbered or not, of items written between dr_doc_item_begin()
 * and dr_doc_item_end(). Lists do not nest.
 */
void dr_doc_list_begin(struct dr_doc *d, bool ordered);
void dr_doc_item_begin(struct dr_doc *d);
void dr_doc_item_end(struct dr_doc *d);
void dr_doc_list_end(struct dr_doc *d);

/*
 * A note set apart from the text: HTML, a <div> of class cls (which the
 * stylesheet styles: a warning, a remark); Markdown, a block quote.
 */
void dr_doc_note_begin(struct dr_doc *d, const char *cls);
void dr_doc_note_end(struct dr_doc *d);

/* With dr_doc_pre_begin(): HTML, each line of the block is its own box
 * (<span class="l">), so that the stylesheet can make a wrapped line hang
 * and a command reads as one on paper. */
#define DR_DOC_PRE_LINES 0x1u

/* With dr_doc_pre_begin(): HTML, each word (between spaces) of at most 40
 * bytes that holds a hyphen is one box (<span class="w">), so that the
 * stylesheet can keep it whole: a command line then breaks at spaces, never
 * after the hyphen of an option. */
#define DR_DOC_PRE_WORDS 0x2u

/*
 * A preformatted block: HTML, <pre> of class cls (may be NULL); Markdown,
 * a fenced code block with the info string lang ("sh", "text"). s is all
 * the content dr_doc_verbatim() will write into the block (the Markdown
 * fence must be longer than any run of backticks in it); flags are
 * DR_DOC_PRE_* bits. Between begin and end, dr_doc_raw() may add HTML
 * markup inside the block.
 */
void dr_doc_pre_begin(struct dr_doc *d, const char *cls, const char *lang,
                      const char *s, unsigned flags);

/* Verbatim content (see the policy above): in a preformatted block, or in
 * HTML inside an element the caller opened with dr_doc_htmlf() (an SVG
 * <title>); Markdown writes it only inside a block. */
void dr_doc_verbatim(struct dr_doc *d, const char *s);

/* Ends a preformatted block (Markdown: the last line ended, the fence). */
void dr_doc_pre_end(struct dr_doc *d);

/* A preformatted block holding s: begin, verbatim, end. */
void dr_doc_pre(struct dr_doc *d, const char *cls, const char *lang,
                const char *s, unsigned flags);

/*
 * A table of ncols columns, of class cls (HTML; may be NULL). With
 * DR_DOC_THEAD, the header row is an HTML <thead>, which browsers repeat
 * on every printed page the table spans, and the rows a <tbody>. A table
 * without a header row has none in HTML; Markdown, which needs one, gets an
 * empty one.
 */
#define DR_DOC_THEAD 0x1u
void dr_doc_table_begin(struct dr_doc *d, const char *cls, size_t ncols,
                        unsigned flags);

/* The header row: ncols cells of text. Before any other row, or none. */
void dr_doc_table_head(struct dr_doc *d, const char *const *cells);

/* A row whose ncols cells are written between begin and end. */
void dr_doc_row_begin(struct dr_doc *d);
void dr_doc_row_end(struct dr_doc *d);

/* A cell of class cls (HTML; may be NULL) written by inline calls. */
void dr_doc_cell_begin(struct dr_doc *d, const char *cls);
void dr_doc_cell_end(struct dr_doc *d);

/* A cell of the text s (NULL: empty). */
void dr_doc_cell(struct dr_doc *d, const char *cls, const char *s);

/* A row of ncols cells of text (a NULL cell is empty). */
void dr_doc_row(struct dr_doc *d, const char *const *cells);

void dr_doc_table_end(struct dr_doc *d);

/* ---- inline ------------------------------------------------------------ */

/* Text (see the policy above). */
void dr_doc_text(struct dr_doc *d, const char *s);

/* Text formatted as printf() does. */
void dr_doc_textf(struct dr_doc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

/*
 * Text of at most max characters (UTF-8 code points; 0: no limit): a
 * longer s is cut to max - 1 of them and an ellipsis.
 */
void dr_doc_text_cut(struct dr_doc *d, const char *s, size_t max);

/* Inline code (see the policy above): a value to copy as it is. */
void dr_doc_code(struct dr_doc *d, const char *s);

/* Bold text: s, or what the calls between begin and end write. */
void dr_doc_bold(struct dr_doc *d, const char *s);
void dr_doc_bold_begin(struct dr_doc *d);
void dr_doc_bold_end(struct dr_doc *d);

/*
 * Text in an HTML <span> of class cls (may be NULL), for the stylesheet;
 * Markdown writes the text alone. dr_doc_span(d, cls, NULL) is an empty
 * span (a colour swatch).
 */
void dr_doc_span(struct dr_doc *d, const char *cls, const char *s);
void dr_doc_span_begin(struct dr_doc *d, const char *cls);
void dr_doc_span_end(struct dr_doc *d);

/* An empty box to tick by hand: HTML "\u2610", Markdown "[ ]". */
void dr_doc_checkbox(struct dr_doc *d);

/*
 * A link to the anchor id of this document (a heading's id), of class cls
 * (may be NULL), around what the calls up to dr_doc_link_end() write: HTML
 * <a href="#ID">; Markdown writes the content alone. id and cls are markup.
 */
void dr_doc_link_begin(struct dr_doc *d, const char *id, const char *cls);
void dr_doc_link_end(struct dr_doc *d);

/*
 * Markup only one format has, where no call above says it: html in an
 * HTML document, md in a Markdown one (either may be NULL). Both are
 * written as they are: never pass data.
 */
void dr_doc_raw(struct dr_doc *d, const char *html, const char *md);

/* HTML markup formatted as printf() does (nothing in Markdown): numbers
 * and the program's own names only, never data. */
void dr_doc_htmlf(struct dr_doc *d, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
