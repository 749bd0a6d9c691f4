/*
 * test_doc.c: the document writer: the one escaping policy in both
 * formats, the blocks and inline pieces as each format writes them, and
 * the first write error reported at the end.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drover/common.h"
#include "drover/doc.h"

/* A document being written to memory. */
struct mem {
	char *buf;
	size_t len;
	FILE *f;
	struct dr_doc *d;
};

static struct dr_doc *
open_doc(struct mem *m, enum dr_doc_format fmt)
{
	memset(m, 0, sizeof(*m));
	m->f = open_memstream(&m->buf, &m->len);
	assert_non_null(m->f);
	m->d = dr_doc_new(m->f, fmt);
	return m->d;
}

/* Ends the document and returns what it wrote (caller frees). */
static char *
close_doc(struct mem *m)
{
	assert_int_equal(dr_doc_end(m->d), 0);
	dr_doc_free(m->d);
	assert_int_equal(fclose(m->f), 0);
	return m->buf;
}

/* What fmt writes for the text s. */
static char *
text_in(enum dr_doc_format fmt, const char *s)
{
	struct mem m;

	dr_doc_text(open_doc(&m, fmt), s);
	return close_doc(&m);
}

static void
expect(char *got, const char *want)
{
	assert_string_equal(got, want);
	free(got);
}

static void
test_text(void **state)
{
	(void)state;
	expect(text_in(DR_DOC_HTML, "a <b> & \"c\" 'd'"),
	       "a &lt;b&gt; &amp; &quot;c&quot; &#39;d&#39;");
	expect(text_in(DR_DOC_MD, "a <b> & *c* [d](e) `f` | #g ~h \\ i_j _k_"),
	       "a \\<b\\> \\& \\*c\\* \\[d\\](e) \\`f\\` \\| \\#g \\~h \\\\ "
	       "i_j \\_k\\_");
	/* every control character is a space, in both formats */
	expect(text_in(DR_DOC_HTML, "a\nb\tc\rd\x01"
	                            "e\x7f"
	                            "f"),
	       "a b c d e f");
	expect(text_in(DR_DOC_MD, "a\nb\tc\rd\x1b"
	                          "e"),
	       "a b c d e");
	/* UTF-8 as it is */
	expect(text_in(DR_DOC_MD, "milan \xe2\x86\x92 torino"),
	       "milan \xe2\x86\x92 torino");
	expect(text_in(DR_DOC_HTML, NULL), "");
}

static void
test_text_cut(void **state)
{
	struct mem m;
	struct dr_doc *d = open_doc(&m, DR_DOC_HTML);

	(void)state;
	dr_doc_text_cut(d, "abcdef", 4);
	dr_doc_text(d, "|");
	dr_doc_text_cut(d, "\xc3\xa0\xc3\xa8<", 3);
	dr_doc_text(d, "|");
	dr_doc_text_cut(d, "\xc3\xa0\xc3\xa8<x", 3);
	dr_doc_text(d, "|");
	dr_doc_text_cut(d, "all", 0);
	expect(close_doc(&m), "abc\xe2\x80\xa6|\xc3\xa0\xc3\xa8&lt;|"
	                      "\xc3\xa0\xc3\xa8\xe2\x80\xa6|all");
}

static void
test_code(void **state)
{
	struct mem m;
	struct dr_doc *d;

	(void)state;
	d = open_doc(&m, DR_DOC_HTML);
	dr_doc_code(d, "ssh 'a' \"b\" <c> & d\ne");
	expect(close_doc(&m), "<code>ssh 'a' \"b\" &lt;c&gt; &amp; d e</code>");

	d = open_doc(&m, DR_DOC_MD);
	dr_doc_code(d, "a_b*c");
	dr_doc_text(d, " ");
	dr_doc_code(d, "x`y``z");
	dr_doc_text(d, " ");
	dr_doc_code(d, "p|q");
	expect(close_doc(&m), "`a_b*c` ``` x`y``z ``` `p|q`");

	/* in a table cell a '|' would end the cell */
	d = open_doc(&m, DR_DOC_MD);
	dr_doc_table_begin(d, NULL, 1, 0);
	dr_doc_row_begin(d);
	dr_doc_cell_begin(d, NULL);
	dr_doc_code(d, "p|q");
	dr_doc_cell_end(d);
	dr_doc_row_end(d);
	dr_doc_table_end(d);
	expect(close_doc(&m), "|  |\n| --- |\n| `p\\|q` |\n\n");
}

static void
test_pre(void **state)
{
	struct mem m;
	struct dr_doc *d;

	(void)state;
	d = open_doc(&m, DR_DOC_MD);
	dr_doc_pre(d, NULL, "sh", "echo 'a'\n\techo ```x\r", 0);
	dr_doc_pre(d, NULL, "text", "done\n", 0);
	dr_doc_pre(d, NULL, "text", "", 0);
	expect(close_doc(&m), "````sh\necho 'a'\n\techo ```x \n````\n\n"
	                      "```text\ndone\n```\n\n"
	                      "```text\n```\n\n");

	d = open_doc(&m, DR_DOC_HTML);
	dr_doc_pre(d, "tail", "text", "a <b>\n\"c\"\n", 0);
	dr_doc_pre(d, NULL, "sh", "one\n\ntwo\n", DR_DOC_PRE_LINES);
	dr_doc_pre(d, NULL, "sh", "", DR_DOC_PRE_LINES);
	expect(close_doc(&m),
	       "<pre class=\"tail\">a &lt;b&gt;\n\"c\"\n</pre>\n"
	       "<pre><span class=\"l\">one</span><span class=\"l\"></span>"
	       "<span class=\"l\">two</span></pre>\n"
	       "<pre><span class=\"l\"></span></pre>\n");
}

static void
write_table(struct dr_doc *d, unsigned flags)
{
	static const char *const head[] = {"k", "v"};
	static const char *const row[] = {"a|b", "one\ntwo"};

	dr_doc_table_begin(d, "t", 2, flags);
	dr_doc_table_head(d, head);
	dr_doc_row(d, row);
	dr_doc_row_begin(d);
	dr_doc_cell(d, "c", NULL);
	dr_doc_cell(d, NULL, "x");
	dr_doc_row_end(d);
	dr_doc_table_end(d);
}

static void
test_tables(void **state)
{
	struct mem m;

	(void)state;
	write_table(open_doc(&m, DR_DOC_MD), 0);
	expect(close_doc(&m), "| k | v |\n| --- | --- |\n"
	                      "| a\\|b | one<br>two |\n|  | x |\n\n");
	write_table(open_doc(&m, DR_DOC_HTML), 0);
	expect(close_doc(&m), "<table class=\"t\">\n"
	                      "<tr><th>k</th><th>v</th></tr>\n"
	                      "<tr><td>a|b</td><td>one<br>two</td></tr>\n"
	                      "<tr><td class=\"c\"></td><td>x</td></tr>\n"
	                      "</table>\n");
	write_table(open_doc(&m, DR_DOC_HTML), DR_DOC_THEAD);
	expect(close_doc(&m), "<table class=\"t\">\n"
	                      "<thead><tr><th>k</th><th>v</th></tr></thead>\n"
	                      "<tbody>\n"
	                      "<tr><td>a|b</td><td>one<br>two</td></tr>\n"
	                      "<tr><td class=\"c\"></td><td>x</td></tr>\n"
	                      "</tbody>\n</table>\n");
	/* no header: none in HTML, an empty one in Markdown */
	{
		static const char *const row[] = {"a", "b"};
		struct dr_doc *d = open_doc(&m, DR_DOC_HTML);

		dr_doc_table_begin(d, NULL, 2, DR_DOC_THEAD);
		dr_doc_row(d, row);
		dr_doc_table_end(d);
		expect(close_doc(&m), "<table>\n<tr><td>a</td><td>b</td></tr>\n"
		                      "</table>\n");
		d = open_doc(&m, DR_DOC_MD);
		dr_doc_table_begin(d, NULL, 2, 0);
		dr_doc_row(d, row);
		dr_doc_table_end(d);
		expect(close_doc(&m), "|  |  |\n| --- | --- |\n| a | b |\n\n");
	}
}

/* The same calls, in both formats. */
static void
write_blocks(struct dr_doc *d)
{
	dr_doc_heading(d, 2, "id-1", "tier", "Tier <1>");
	dr_doc_p_begin(d, "sub");
	dr_doc_bold(d, "mode");
	dr_doc_text(d, " ");
	dr_doc_span(d, "sw", NULL);
	dr_doc_span(d, "lbl", "x");
	dr_doc_p_end(d);
	dr_doc_list_begin(d, true);
	dr_doc_item_begin(d);
	dr_doc_checkbox(d);
	dr_doc_textf(d, " %d%%", 50);
	dr_doc_item_end(d);
	dr_doc_item_begin(d);
	dr_doc_raw(d, "<i>html</i>", "*md*");
	dr_doc_htmlf(d, "<u>%d</u>", 7);
	dr_doc_item_end(d);
	dr_doc_list_end(d);
	dr_doc_note_begin(d, "warn");
	dr_doc_text(d, "careful");
	dr_doc_note_end(d);
}

static void
test_blocks(void **state)
{
	struct mem m;

	(void)state;
	write_blocks(open_doc(&m, DR_DOC_MD));
	expect(close_doc(&m), "## Tier \\<1\\>\n\n**mode** x\n\n"
	                      "1. [ ] 50%\n2. *md*\n\n> careful\n\n");
	write_blocks(open_doc(&m, DR_DOC_HTML));
	expect(close_doc(&m),
	       "<h2 id=\"id-1\" class=\"tier\">Tier &lt;1&gt;</h2>\n"
	       "<p class=\"sub\"><b>mode</b> <span class=\"sw\"></span>"
	       "<span class=\"lbl\">x</span></p>\n"
	       "<ol>\n<li>\xe2\x98\x90 50%</li>\n<li><i>html</i><u>7</u></li>\n"
	       "</ol>\n<div class=\"warn\">careful</div>\n");
}

static void
test_document(void **state)
{
	struct mem m;
	struct dr_doc *d;
	char *s;

	(void)state;
	d = open_doc(&m, DR_DOC_HTML);
	dr_doc_begin(d, "Run <1>", "plan \xc2\xb7 a\"b;}", "p{x:y}\n");
	s = close_doc(&m);
	assert_non_null(strstr(s, "<title>Run &lt;1&gt;</title>\n<style>\n"
	                          ":root{--foot:\"plan \xc2\xb7 a\\22 b\\3b "
	                          "\\7d \"}\np{x:y}\n</style>\n"));
	assert_true(strncmp(s, "<!DOCTYPE html>\n", 16) == 0);
	assert_non_null(strstr(s, "<body>\n</body>\n</html>\n"));
	free(s);
	d = open_doc(&m, DR_DOC_MD);
	dr_doc_begin(d, "Run", NULL, "p{}");
	expect(close_doc(&m), "");
}

/* The first failed write is reported at the end, with its errno. */
/* A link: HTML an anchor to the id around its content; Markdown the
 * content alone. */
static void
test_link(void **state)
{
	struct mem m;
	struct dr_doc *d;

	(void)state;
	d = open_doc(&m, DR_DOC_HTML);
	dr_doc_link_begin(d, "s-1-1", NULL);
	dr_doc_text(d, "1.1 <x>");
	dr_doc_link_end(d);
	dr_doc_link_begin(d, "c-1-1", "pg");
	dr_doc_link_end(d);
	expect(close_doc(&m), "<a href=\"#s-1-1\">1.1 &lt;x&gt;</a>"
	                      "<a href=\"#c-1-1\" class=\"pg\"></a>");
	d = open_doc(&m, DR_DOC_MD);
	dr_doc_link_begin(d, "s-1-1", NULL);
	dr_doc_text(d, "1.1 <x>");
	dr_doc_link_end(d);
	expect(close_doc(&m), "1.1 \\<x\\>");
}

/* A word with a hyphen stays whole in a command block (HTML). */
static void
test_pre_words(void **state)
{
	struct mem m;

	(void)state;
	dr_doc_pre(open_doc(&m, DR_DOC_HTML), NULL, "sh",
	           "ssh -p 22 a<b\nx -o\n",
	           DR_DOC_PRE_LINES | DR_DOC_PRE_WORDS);
	expect(close_doc(&m), "<pre><span class=\"l\">ssh <span class=\"w\">"
	                      "-p</span> 22 a&lt;b</span><span class=\"l\">x "
	                      "<span class=\"w\">-o</span></span></pre>\n");
	dr_doc_pre(open_doc(&m, DR_DOC_MD), NULL, "sh", "ssh -p 22",
	           DR_DOC_PRE_LINES | DR_DOC_PRE_WORDS);
	expect(close_doc(&m), "```sh\nssh -p 22\n```\n\n");
}

static void
test_write_error(void **state)
{
	FILE *f = fopen("/dev/full", "w");
	struct dr_doc *d;
	size_t i;

	(void)state;
	assert_non_null(f);
	d = dr_doc_new(f, DR_DOC_HTML);
	for (i = 0; i < 10000; i++)
		dr_doc_text(d, "text that does not fit ");
	errno = 0;
	assert_int_equal(dr_doc_end(d), DR_EIO);
	assert_int_equal(errno, ENOSPC);
	dr_doc_free(d);
	fclose(f);

	f = fopen("/dev/null", "r");
	assert_non_null(f);
	d = dr_doc_new(f, DR_DOC_MD);
	dr_doc_p(d, NULL, "x");
	assert_int_equal(dr_doc_end(d), DR_EIO);
	dr_doc_free(d);
	fclose(f);
	dr_doc_free(NULL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_text),     cmocka_unit_test(test_text_cut),
	    cmocka_unit_test(test_code),     cmocka_unit_test(test_pre),
	    cmocka_unit_test(test_tables),   cmocka_unit_test(test_blocks),
	    cmocka_unit_test(test_document), cmocka_unit_test(test_write_error),
	    cmocka_unit_test(test_link),     cmocka_unit_test(test_pre_words),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
