/*
 * test_golden.c: the documents drover writes stay byte for byte what they
 * were, unless a change means them to differ.
 *
 * The runbook (md, html) of every example plan in every direction it
 * allows, and the report (json, md, html) rebuilt from a recorded lab run's
 * journal (tests/golden/lab-run.journal), are compared with the files in
 * tests/golden/. After a deliberate change, regenerate them with
 *
 *     build/tests/test_golden --write tests/golden
 *
 * and say in the commit what changed and why.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/graph.h"
#include "drover/plan.h"
#include "drover/report.h"
#include "drover/runbook.h"
#include "drover/records.h"

#define GOLDEN DROVER_SOURCE_DIR "/tests/golden"
#define NOW_MS 1702000000000ULL /* the runbooks' "generated" date */

static const char *write_dir; /* --write: regenerate into this folder */
static size_t compared, differing;

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	struct dr_buf b;
	char chunk[65536];
	size_t n;

	if (f == NULL)
		return NULL;
	dr_buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		dr_buf_append(&b, chunk, n);
	fclose(f);
	dr_buf_append(&b, "", 0);
	*len = b.len;
	return dr_buf_steal(&b);
}

/* Compares what was made with the golden file name, or writes it. */
static void
golden(const char *name, const char *got, size_t len)
{
	char *path, *want;
	size_t wlen, i, line = 1;

	if (write_dir) {
		path = dr_xasprintf("%s/%s", write_dir, name);
		assert_int_equal(dr_write_file_atomic(path, got, len, 0644), 0);
		free(path);
		return;
	}
	path = dr_xasprintf("%s/%s", GOLDEN, name);
	want = slurp(path, &wlen);
	compared++;
	if (want == NULL) {
		print_message("%s: no golden file (run --write)\n", path);
		differing++;
	} else if (wlen != len || memcmp(want, got, len) != 0) {
		for (i = 0; i < len && i < wlen && want[i] == got[i]; i++)
			if (got[i] == '\n')
				line++;
		print_message("%s: differs from line %zu (%zu bytes, golden "
		              "%zu):\n  got:  %.120s\n  want: %.120s\n",
		              name, line, len, wlen,
		              got + (i > 40 ? i - 40 : 0),
		              want + (i > 40 ? i - 40 : 0));
		differing++;
	}
	free(want);
	free(path);
}

static char *
runbook(const struct dr_graph *g, enum dr_runbook_format fmt, size_t *len)
{
	struct dr_runbook_opts o = {.format = fmt, .now_wall_ms = NOW_MS};
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);

	assert_non_null(f);
	assert_int_equal(dr_runbook_write(g, &o, f), 0);
	fclose(f);
	return buf;
}

static void
runbooks_of(const char *plan_name)
{
	char *path = dr_xasprintf("plans/%s.cfg", plan_name);
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;
	const char *from[16];
	size_t nfrom = 0, i;

	assert_int_equal(dr_plan_load(path, &d, &p), 0);
	dr_diag_clear(&d);
	for (i = 0; i < p->nsites && nfrom < 16; i++)
		if (p->sites[i].role == DR_SITE_PRIMARY ||
		    p->sites[i].role == DR_SITE_SECONDARY)
			from[nfrom++] = p->sites[i].name;
	for (i = 0; i < p->nsites; i++) {
		const struct dr_site *s = &p->sites[i];
		struct dr_expand_opts o = {
		    .from = from, .nfrom = nfrom, .to = s->name};
		struct dr_graph *g = NULL;
		char *md, *html, *name;
		size_t mlen, hlen;

		if (s->role == DR_SITE_STANDBY)
			o.mode = DR_MODE_FAILOVER;
		else if (s->role == DR_SITE_DRILL)
			o.mode = DR_MODE_DRILL;
		else
			continue;
		assert_int_equal(dr_graph_expand(p, &o, &d, &g), 0);
		dr_diag_clear(&d);
		md = runbook(g, DR_RUNBOOK_MD, &mlen);
		html = runbook(g, DR_RUNBOOK_HTML, &hlen);
		name = dr_xasprintf("%s-%s.runbook.md", plan_name, s->name);
		golden(name, md, mlen);
		free(name);
		name = dr_xasprintf("%s-%s.runbook.html", plan_name, s->name);
		golden(name, html, hlen);
		free(name);
		free(md);
		free(html);
		dr_graph_free(g);
	}
	dr_plan_free(p);
	free(path);
}

static void
test_runbooks(void **state)
{
	(void)state;
	runbooks_of("lab");
	runbooks_of("westpole");
	runbooks_of("minimal");
}

/* dr_report_rebuild_write()'s callback: counts the files written. */
static void
written(void *arg, const char *path, int err)
{
	if (err != 0)
		fail_msg("%s: %s", path, strerror(err));
	(*(size_t *)arg)++;
}

/* The recorded run, its plan pointed at plans/lab.cfg. */
static void
test_report(void **state)
{
	char dir[] = "/tmp/drover-golden-XXXXXX", *jp, *data, *path;
	static const char *const formats[] = {"json", "md", "html"};
	struct dr_rs_run rs;
	char *why = NULL;
	json_t *rep;
	size_t len, i, nwritten = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	data = slurp(GOLDEN "/lab-run.journal", &len);
	assert_non_null(data);
	jp = dr_xasprintf("%s/journal", dir);
	assert_int_equal(dr_write_file_atomic(jp, data, len, 0600), 0);
	free(data);
	assert_int_equal(dr_rs_load(dir, &rs, &why), 0);
	free(rs.plan_file);
	rs.plan_file = dr_xstrdup("plans/lab.cfg");
	rep = dr_report_rebuild(&rs);
	assert_non_null(rep);
	for (i = 0; i < 3; i++) {
		char *name = dr_xasprintf("lab-report.%s", formats[i]);
		path = dr_xasprintf("%s/%s", dir, name);
		assert_int_equal(dr_report_render_file(rep, formats[i], path),
		                 0);
		data = slurp(path, &len);
		golden(name, data, len);
		unlink(path);
		free(data);
		free(path);
		free(name);
	}
	json_decref(rep);
	/* The run's end writes the same three files without the tree of
	 * every task (dr_report_write_run): byte for byte the same. */
	assert_int_equal(dr_report_rebuild_write(&rs, dir, written, &nwritten),
	                 0);
	assert_int_equal(nwritten, 3);
	for (i = 0; i < 3; i++) {
		char *name = dr_xasprintf("lab-report.%s", formats[i]);
		path = dr_xasprintf("%s/report.%s", dir, formats[i]);
		data = slurp(path, &len);
		assert_non_null(data);
		golden(name, data, len);
		unlink(path);
		free(data);
		free(path);
		free(name);
	}
	dr_rs_run_free(&rs);
	unlink(jp);
	free(jp);
	rmdir(dir);
}

static void
test_all_equal(void **state)
{
	(void)state;
	if (write_dir)
		return;
	print_message("golden: %zu documents compared, %zu differ\n", compared,
	              differing);
	assert_int_equal(differing, 0);
	assert_true(compared >= 10);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_runbooks),
	    cmocka_unit_test(test_report),
	    cmocka_unit_test(test_all_equal),
	};

	if (argc == 3 && strcmp(argv[1], "--write") == 0)
		write_dir = realpath(argv[2], NULL);
	/* Plans by relative path: the documents name them as a user would,
	 * whatever the checkout's place. */
	if (chdir(DROVER_SOURCE_DIR) != 0)
		return 1;
	return cmocka_run_group_tests_name("golden", tests, NULL, NULL);
}
