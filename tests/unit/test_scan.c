/*
 * test_scan.c: restore points judged in quarantine (scan.h): the quarantine
 * path, the scan and indicator scripts run by a real shell (values stay
 * values; an archive's ransom note, .lockbit file or known digest is
 * found; a clean one passes), and the run's memory of verdicts.
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

#include "drover/check.h"
#include "drover/common.h"
#include "drover/scan.h"
#include "drover/sha256.h"

#include "run_shell.h"

static char workdir[] = "/tmp/drover-scan-XXXXXX";

static const char *
lookup(const char *name, bool *integer, void *arg)
{
	(void)arg;
	*integer = false;
	if (strcmp(name, "tenant") == 0)
		return "it's; $(touch PWNED-t) `touch PWNED-b`";
	return NULL;
}

static bool
exists(const char *name)
{
	struct stat st;
	char *p = dr_xasprintf("%s/%s", workdir, name);
	bool r = stat(p, &st) == 0;

	free(p);
	return r;
}

static void
sh(const char *cmd)
{
	char *c = dr_xasprintf("cd %s && %s", workdir, cmd);
	assert_int_equal(system(c), 0);
	free(c);
}

static void
test_qdir(void **state)
{
	char *q;

	(void)state;
	q = dr_scan_qdir("/srv/restore/bs/payroll.dump", "fetch");
	assert_string_equal(q,
	                    "/srv/restore/bs/.drover-quarantine-payroll.dump");
	free(q);
	q = dr_scan_qdir("/srv/restore/bs/", "fetch");
	assert_string_equal(q, "/srv/restore/bs/.drover-quarantine-fetch");
	free(q);
	q = dr_scan_template("yara -r r {} && ls {}/x");
	assert_string_equal(q, "yara -r r ${scan.dir} && ls ${scan.dir}/x");
	free(q);
}

/* {} is the quarantine, given as a value: a hostile directory name and a
 * hostile tenant name reach the command intact and run nothing. */
static void
test_scan_script_values(void **state)
{
	char *q = dr_xasprintf("%s/q $(touch PWNED-q) '", workdir);
	char *why = NULL, *s, *out = NULL;
	size_t n;
	int rc;

	(void)state;
	assert_int_equal(mkdir(q, 0700), 0);
	s = dr_scan_script("test -d {} && pwd && printf '%s\\n' ${tenant}", q,
	                   lookup, NULL, &why);
	assert_non_null(s);
	rc = test_run_shell("/bin/sh", workdir, s, NULL, &out, &n);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "q $(touch PWNED-q) '"));
	assert_non_null(strstr(out, "it's; $(touch PWNED-t)"));
	assert_false(exists("PWNED-q"));
	assert_false(exists("PWNED-t"));
	assert_false(exists("PWNED-b"));
	free(out);
	free(s);
	/* the shell's own text as the command's name is refused, as in run */
	s = dr_scan_script("eval ${tenant}", q, lookup, NULL, &why);
	assert_null(s);
	assert_non_null(why);
	free(why);
	rmdir(q);
	free(q);
}

static struct dr_plan plan;

static int
ioc_run(const char *tarname, char **out)
{
	char *q = dr_xasprintf("%s/qq", workdir), *s, *c;
	size_t n;
	int rc;

	c = dr_xasprintf("rm -rf qq && mkdir qq && cp %s qq/", tarname);
	sh(c);
	free(c);
	s = dr_scan_ioc_script(&plan, q);
	assert_non_null(s);
	rc = test_run_shell("/bin/sh", workdir, s, NULL, out, &n);
	free(s);
	free(q);
	return rc;
}

static void
test_indicators(void **state)
{
	static const char *const names[] = {"README-LOCKBIT.txt",
	                                    "$(touch PWNED-n)"};
	static const char *const exts[] = {".lockbit", "'; touch PWNED-e; '"};
	const char *sums[2];
	char *out = NULL, hex[DR_SHA256_HEX];

	(void)state;
	plan.ioc_names = names;
	plan.nioc_names = 2;
	plan.ioc_extensions = exts;
	plan.nioc_extensions = 2;
	sh("mkdir -p a/p b/p c/p d/p && echo pay >a/p/pay.csv && "
	   "cp a/p/pay.csv b/p/ && echo note >b/p/README-LOCKBIT.txt && "
	   "cp a/p/pay.csv c/p/ && echo x >c/p/f.xml.lockbit && "
	   "cp a/p/pay.csv d/p/ && echo tool >d/p/run.sh && "
	   "tar -cf clean.tar -C a p && tar -cf note.tar -C b p && "
	   "tar -cf ext.tar -C c p && tar -cf tool.tar -C d p");
	assert_int_equal(ioc_run("clean.tar", &out), 0);
	free(out);
	assert_int_equal(ioc_run("note.tar", &out), 1);
	assert_non_null(strstr(out, "indicator: file name README-LOCKBIT.txt"));
	free(out);
	assert_int_equal(ioc_run("ext.tar", &out), 1);
	assert_non_null(strstr(out, "indicator: extension .lockbit"));
	free(out);
	/* a known tool's digest, among others */
	dr_sha256_hex("tool\n", 5, hex);
	sums[0] =
	    "0000000000000000000000000000000000000000000000000000000000000000";
	sums[1] = hex;
	plan.ioc_sha256 = sums;
	plan.nioc_sha256 = 2;
	assert_int_equal(ioc_run("tool.tar", &out), 1);
	assert_non_null(strstr(out, "indicator: sha256"));
	assert_non_null(strstr(out, "run.sh"));
	free(out);
	assert_int_equal(ioc_run("clean.tar", &out), 0);
	free(out);
	assert_false(exists("PWNED-n"));
	assert_false(exists("PWNED-e"));
	/* no indicators: no script */
	memset(&plan, 0, sizeof(plan));
	assert_null(dr_scan_ioc_script(&plan, "/x"));
}

/* The hunt's vault-side look (check.h): each point before $before, newest
 * first; a point with an indicator printed as infected, with its finding;
 * clean ones do not stop it; values never become code. */
static void
test_hunt_script(void **state)
{
	static const char *const names[] = {"README-LOCKBIT.txt",
	                                    "$(touch PWNED-h)"};
	struct dr_buf b;
	char *glob, *out = NULL, *c;
	size_t n;
	int rc;

	(void)state;
	memset(&plan, 0, sizeof(plan));
	plan.ioc_names = names;
	plan.nioc_names = 2;
	sh("mkdir -p \"s t\" h1/p h2/p && echo pay >h1/p/pay.csv && "
	   "cp h1/p/pay.csv h2/p/ && echo note >h2/p/README-LOCKBIT.txt && "
	   "tar -cf \"s t/p-1.tar\" -C h1 p && tar -cf \"s t/p-2.tar\" -C h2 p "
	   "&& tar -cf \"s t/p-3.tar\" -C h1 p && cd \"s t\" && "
	   "for f in p-1 p-2 p-3; do sha256sum $f.tar >$f.tar.sha256; done && "
	   "touch -d @1000000000 p-1.tar && touch -d @1000001000 p-2.tar && "
	   "touch -d @1000002000 p-3.tar");
	glob = dr_xasprintf("%s/s t/p-*.tar", workdir);
	dr_buf_init(&b, 0);
	dr_buf_puts(&b, "before=1000001500\n{\n");
	dr_check_set_script(&b, &plan, glob, 3, 0, true);
	dr_buf_puts(&b, "} 2>/dev/null\n");
	rc = test_run_shell("/bin/sh", workdir, b.data, NULL, &out, &n);
	assert_int_equal(rc, 0);
	c = dr_xasprintf("@0 infected 1000001000 %s/s t/p-2.tar\n"
	                 "@0 finding file name p/README-LOCKBIT.txt\n"
	                 "@0 ok 1000000000 %s/s t/p-1.tar\n@0 done 2\n",
	                 workdir, workdir);
	assert_string_equal(out, c);
	free(c);
	free(out);
	assert_false(exists("PWNED-h"));
	dr_buf_free(&b);
	free(glob);
	memset(&plan, 0, sizeof(plan));
}

static void
test_verdicts(void **state)
{
	struct dr_verdicts *vs = dr_verdicts_new(), *back = dr_verdicts_new();
	struct dr_verdict a = {.host = "va-bk1",
	                       .path = "/b/p-2.tar",
	                       .mtime_ms = 2000,
	                       .scan_id = "s1",
	                       .infected = true,
	                       .indicator = true,
	                       .finding = "indicator: file name x",
	                       .task = "payroll/bs/fetch"};
	struct dr_verdict b = {.host = "va-bk1",
	                       .path = "/b/p-1.tar",
	                       .mtime_ms = 1000,
	                       .scan_id = "s1",
	                       .task = "payroll/bs/fetch"};
	json_t *recs = json_array();
	char *r;

	(void)state;
	assert_null(dr_verdicts_find(vs, "va-bk1", "/b/p-2.tar", 2000, "s1"));
	assert_int_equal(dr_verdicts_compromise(vs), 0);
	dr_verdicts_add(vs, &a);
	dr_verdicts_add(vs, &b);
	/* infected: whatever scan asks; clean: only the same scan */
	assert_non_null(
	    dr_verdicts_find(vs, "va-bk1", "/b/p-2.tar", 2000, "s2"));
	assert_non_null(
	    dr_verdicts_find(vs, "va-bk1", "/b/p-1.tar", 1000, "s1"));
	assert_null(dr_verdicts_find(vs, "va-bk1", "/b/p-1.tar", 1000, "s2"));
	assert_null(dr_verdicts_find(vs, "va-bk1", "/b/p-1.tar", 999, "s1"));
	assert_null(dr_verdicts_find(vs, "other", "/b/p-2.tar", 2000, "s1"));
	assert_int_equal(dr_verdicts_compromise(vs), 2000);
	/* through the journal's records and back */
	r = dr_verdict_record(&a);
	json_array_append_new(recs, json_loads(r, 0, NULL));
	free(r);
	r = dr_verdict_record(&b);
	json_array_append_new(recs, json_loads(r, 0, NULL));
	free(r);
	json_array_append_new(recs, json_pack("{s:s}", "type", "task"));
	dr_verdicts_load(back, recs);
	{
		const struct dr_verdict *v =
		    dr_verdicts_find(back, "va-bk1", "/b/p-2.tar", 2000, "zz");
		assert_non_null(v);
		assert_true(v->infected && v->indicator);
		assert_string_equal(v->finding, "indicator: file name x");
		assert_string_equal(v->task, "payroll/bs/fetch");
	}
	assert_non_null(
	    dr_verdicts_find(back, "va-bk1", "/b/p-1.tar", 1000, "s1"));
	assert_int_equal(dr_verdicts_compromise(back), 2000);
	json_decref(recs);
	dr_verdicts_free(vs);
	dr_verdicts_free(back);
	dr_verdicts_free(NULL);
}

static void
test_finding(void **state)
{
	char *f;

	(void)state;
	f = dr_scan_finding("\n  rule_x ./a/b\nrule_y ./c\n");
	assert_string_equal(f, "rule_x ./a/b");
	free(f);
	f = dr_scan_finding("rule ./caf\xc3\xa9\x01.txt\n");
	assert_string_equal(f, "rule ./caf??\?.txt");
	free(f);
	f = dr_scan_finding(NULL);
	assert_string_equal(f, "(the scan printed nothing)");
	free(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_qdir),
	    cmocka_unit_test(test_scan_script_values),
	    cmocka_unit_test(test_indicators),
	    cmocka_unit_test(test_hunt_script),
	    cmocka_unit_test(test_verdicts),
	    cmocka_unit_test(test_finding),
	};
	int r;
	char *c;

	if (mkdtemp(workdir) == NULL)
		return 1;
	r = cmocka_run_group_tests(tests, NULL, NULL);
	c = dr_xasprintf("rm -rf %s", workdir);
	if (system(c) != 0)
		r = 1;
	free(c);
	return r;
}
