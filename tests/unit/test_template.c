/*
 * test_template.c: ${name} references in text that is not shell code
 * (paths, URLs, prompts): expansion, scanning, and probe targets that
 * would split a request.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drover/common.h"
#include "drover/template.h"

static int secret_calls;

static const char *
lookup(const char *name, bool *integer, void *arg)
{
	*integer = false;
	if (strncmp(name, "secret.", 7) == 0) {
		secret_calls++;
		return "THE-SECRET-VALUE";
	}
	if (strcmp(name, "var.x") == 0)
		return arg;
	if (strcmp(name, "tenant") == 0)
		return "comune-lodi";
	if (strcmp(name, "host") == 0)
		return "to-db1";
	return NULL;
}

static int
expand(const char *tmpl, const char *x, char **out, char **bad)
{
	struct dr_buf b;
	int r;

	dr_buf_init(&b, 0);
	r = dr_tmpl_expand(tmpl, lookup, (void *)x, &b, bad);
	*out = b.data ? dr_buf_steal(&b) : dr_xstrdup("");
	dr_buf_free(&b);
	return r;
}

static void
test_expand(void **state)
{
	char *out, *bad;

	assert_int_equal(expand("http://${host}:8080/${tenant}/${var.x}$$x",
	                        "a b'c", &out, &bad),
	                 0);
	assert_string_equal(out, "http://to-db1:8080/comune-lodi/a b'c$x");
	free(out);
}

static void
test_unknown_and_malformed(void **state)
{
	/* White space of any kind inside the braces is malformed, as in
	 * shell templates: both are read by dr_sh_scan_ref. */
	static const char *const bads[] = {
	    "echo ${",       "echo ${var.x", "echo ${}", "echo ${a b}",
	    "echo ${a${b}}", "x ${\n}",      "${{x}}",   "${nope}",
	    "${a\tb}",       "${a\rb}",      "${a\vb}",  "${a\fb}",
	};
	size_t i;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char *out, *bad = NULL;
		int r = expand(bads[i], "v", &out, &bad);
		if (r != DR_EINVAL || bad == NULL)
			fail_msg("\"%s\" expanded (%d) as \"%s\"", bads[i], r,
			         out);
		free(bad);
		free(out);
	}
}

static void
test_secret_refused(void **state)
{
	char *out, *bad = NULL;

	secret_calls = 0;
	assert_int_equal(expand("http://x/?t=${secret.tok}", "v", &out, &bad),
	                 DR_EINVAL);
	assert_non_null(strstr(bad, "secret"));
	assert_int_equal(secret_calls, 0);
	free(bad);
	free(out);
}

struct names {
	char v[8][32];
	int n;
};

static void
collect(const char *name, void *arg)
{
	struct names *s = arg;

	snprintf(s->v[s->n++], sizeof(s->v[0]), "%s", name);
}

static void
test_scan(void **state)
{
	struct names s = {0};

	assert_int_equal(dr_tmpl_scan("a $$ ${tenant} $HOME ${var.db}-"
	                              "${secret.pg}$${not.this}",
	                              collect, &s),
	                 0);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.v[0], "tenant");
	assert_string_equal(s.v[1], "var.db");
	assert_string_equal(s.v[2], "secret.pg");
	assert_int_equal(dr_tmpl_scan("x ${tenant", collect, &s), DR_EINVAL);
	assert_int_equal(dr_tmpl_scan("x ${}", collect, &s), DR_EINVAL);
	assert_int_equal(dr_tmpl_scan("x ${a\vb}", collect, &s), DR_EINVAL);
	assert_int_equal(s.n, 3);
}

static void
test_bad_target(void **state)
{
	assert_null(dr_tmpl_bad_target("http://10.0.0.1:8080/a/health"));
	assert_non_null(dr_tmpl_bad_target("http://h/\r\nX-Evil: 1"));
	assert_non_null(dr_tmpl_bad_target("http://h/\nx"));
	assert_non_null(dr_tmpl_bad_target("http://h/a b"));
	assert_non_null(dr_tmpl_bad_target("h:80\t"));
	assert_non_null(dr_tmpl_bad_target("h\x7f:80"));
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_expand),
	    cmocka_unit_test(test_unknown_and_malformed),
	    cmocka_unit_test(test_secret_refused),
	    cmocka_unit_test(test_scan),
	    cmocka_unit_test(test_bad_target),
	};

	return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
