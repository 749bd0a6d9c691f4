/*
 * test_template.c: ${name} rendering and shell quoting.
 *
 * Quoting is proved, not inspected: every rendered command is run through
 * /bin/sh -c and its output compared byte for byte with the value, and the
 * values try to create a file (the side effect must not happen).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/template.h"

/*
 * Commands run in a private directory; the file the hostile values try to
 * create lives there too and must never exist.
 */
static char workdir[64];
static char pwned[96];

static bool
pwned_exists(void)
{
	struct stat st;

	return stat(pwned, &st) == 0;
}

/*
 * Runs cmd with /bin/sh -c, feeding in on stdin; returns the exit status
 * and the whole of stdout in *out (caller frees).
 */
static int
run_sh(const char *cmd, const char *in, char **out, size_t *outlen)
{
	int ip[2], op[2], status;
	pid_t pid;
	struct dr_buf b;
	char chunk[4096];
	ssize_t n;

	assert_int_equal(pipe(ip), 0);
	assert_int_equal(pipe(op), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (chdir(workdir) != 0)
			_exit(126);
		dup2(ip[0], 0);
		dup2(op[1], 1);
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(126);
		close(ip[0]);
		close(ip[1]);
		close(op[0]);
		close(op[1]);
		execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
		_exit(127);
	}
	close(ip[0]);
	close(op[1]);
	if (in != NULL)
		assert_int_equal(write(ip[1], in, strlen(in)),
		                 (ssize_t)strlen(in));
	close(ip[1]);
	dr_buf_init(&b, 0);
	while ((n = read(op[0], chunk, sizeof(chunk))) > 0)
		dr_buf_append(&b, chunk, (size_t)n);
	close(op[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	*outlen = b.len;
	*out = b.data ? dr_buf_steal(&b) : dr_xstrdup("");
	dr_buf_free(&b);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

/* Values the quoting must carry intact and inert. */
static char *hostile[32];
static size_t nhostile;

static void
add_hostile(const char *v)
{
	hostile[nhostile++] = dr_xstrdup(v);
}

static int
setup(void **state)
{
	char *p;

	snprintf(workdir, sizeof(workdir), "/tmp/drover-test-XXXXXX");
	assert_non_null(mkdtemp(workdir));
	snprintf(pwned, sizeof(pwned), "%s/pwned", workdir);
	nhostile = 0;
	add_hostile("plain");
	add_hostile("");
	add_hostile("it's");
	add_hostile("'");
	add_hostile("''''");
	add_hostile("a;b");
	add_hostile("a && b || c | d > e < f & g");
	p = dr_xasprintf("$(touch %s)", pwned);
	add_hostile(p);
	free(p);
	p = dr_xasprintf("`touch %s`", pwned);
	add_hostile(p);
	free(p);
	p = dr_xasprintf("'; touch %s; echo '", pwned);
	add_hostile(p);
	free(p);
	p = dr_xasprintf("\"; touch %s; echo \"", pwned);
	add_hostile(p);
	free(p);
	add_hostile("\"double\"");
	add_hostile("back\\slash\\n\\");
	add_hostile("*");
	add_hostile("/*");
	add_hostile("?[a-z]");
	add_hostile("line one\nline two\n");
	add_hostile("-n");
	add_hostile("--help");
	add_hostile("-e \\n");
	add_hostile("$HOME ${HOME} $1 $$ $?");
	add_hostile("~root");
	add_hostile("# not a comment");
	add_hostile("tab\there  two  spaces");
	add_hostile("!event");
	add_hostile("Comune di Forl\xc3\xac");
	add_hostile("a\\'b");
	return 0;
}

/* rm -rf of the private directory (its name comes from mkdtemp). */
static void
remove_tree(const char *dir)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/rm", "rm", "-rf", "--", dir, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
}

static int
teardown(void **state)
{
	size_t i;

	for (i = 0; i < nhostile; i++)
		free(hostile[i]);
	nhostile = 0;
	remove_tree(workdir);
	return 0;
}

/* Asserts that cmd prints exactly want and created no file. */
static void
assert_prints(const char *cmd, const char *want)
{
	char *out;
	size_t len;
	int st = run_sh(cmd, NULL, &out, &len);

	if (st != 0 || len != strlen(want) || memcmp(out, want, len) != 0) {
		print_message("command: %s\nwant (%zu): [%s]\ngot  (%zu, exit "
		              "%d): [%s]\n",
		              cmd, strlen(want), want, len, st, out);
		fail();
	}
	if (pwned_exists())
		fail_msg("command %s created %s", cmd, pwned);
	free(out);
}

/* Lookup for the tests: var.x is the value under test. */
struct env {
	const char *x;
	const char *y;
	int calls_secret;
};

static const char *
lookup(const char *name, void *arg)
{
	struct env *e = arg;

	if (strncmp(name, "secret.", 7) == 0) {
		e->calls_secret++;
		return "THE-SECRET-VALUE";
	}
	if (strcmp(name, "var.x") == 0)
		return e->x;
	if (strcmp(name, "var.y") == 0)
		return e->y;
	if (strcmp(name, "tenant") == 0)
		return "comune-lodi";
	if (strcmp(name, "host") == 0)
		return "to-db1";
	return NULL;
}

static int
render(const char *tmpl, enum dr_tmpl_ctx ctx, struct env *e, bool display,
       struct dr_tmpl_out *sec, char **out, char **bad)
{
	struct dr_buf b;
	int r;

	dr_buf_init(&b, 0);
	r = dr_tmpl_render(tmpl, ctx, lookup, e, display, sec, &b, bad);
	*out = b.data ? dr_buf_steal(&b) : dr_xstrdup("");
	dr_buf_free(&b);
	return r;
}

static void
test_shell_quote_simple(void **state)
{
	struct dr_buf b;

	dr_buf_init(&b, 0);
	dr_shell_quote(&b, "abc");
	assert_string_equal(b.data, "'abc'");
	b.len = 0;
	b.data[0] = '\0';
	dr_shell_quote(&b, "");
	assert_string_equal(b.data, "''");
	b.len = 0;
	b.data[0] = '\0';
	dr_shell_quote(&b, "it's");
	assert_string_equal(b.data, "'it'\\''s'");
	dr_buf_free(&b);
}

static void
test_shell_quote_runs_inert(void **state)
{
	size_t i;

	for (i = 0; i < nhostile; i++) {
		struct dr_buf b;
		dr_buf_init(&b, 0);
		dr_buf_puts(&b, "printf '%s' ");
		dr_shell_quote(&b, hostile[i]);
		assert_prints(b.data, hostile[i]);
		dr_buf_free(&b);
	}
}

static void
test_render_runs_inert(void **state)
{
	size_t i;

	for (i = 0; i < nhostile; i++) {
		struct env e = {.x = hostile[i]};
		char *cmd, *bad;
		assert_int_equal(render("printf '%s' ${var.x}", DR_TMPL_SHELL,
		                        &e, false, NULL, &cmd, &bad),
		                 0);
		assert_null(bad);
		assert_prints(cmd, hostile[i]);
		free(cmd);
	}
}

/* Each value stays one word: no splitting, no globbing, order kept. */
static void
test_render_one_word_each(void **state)
{
	struct env e = {.x = "a b  *", .y = "c\td\n"};
	char *cmd, *bad;

	assert_int_equal(render("printf '<%s>' ${var.x} ${var.y} "
	                        "${tenant}",
	                        DR_TMPL_SHELL, &e, false, NULL, &cmd, &bad),
	                 0);
	assert_prints(cmd, "<a b  *><c\td\n><comune-lodi>");
	free(cmd);
	/* A value glued to literal text is still one word. */
	assert_int_equal(render("printf '<%s>' pre-${var.x}-post",
	                        DR_TMPL_SHELL, &e, false, NULL, &cmd, &bad),
	                 0);
	assert_prints(cmd, "<pre-a b  *-post>");
	free(cmd);
}

/* A long value survives too. */
static void
test_render_long_value(void **state)
{
	char *v = dr_xmalloc(20001);
	struct env e = {.x = v};
	char *cmd, *bad;
	size_t i;

	for (i = 0; i < 20000; i++)
		v[i] = "a'\"$`\\; \n*"[i % 10];
	v[20000] = '\0';
	assert_int_equal(render("printf '%s' ${var.x}", DR_TMPL_SHELL, &e,
	                        false, NULL, &cmd, &bad),
	                 0);
	assert_prints(cmd, v);
	free(cmd);
	free(v);
}

/*
 * A reference written inside quotes in the template must not let a value
 * out of them: either the renderer refuses such a template, or the value
 * still arrives intact and inert.
 */
static void
test_reference_inside_quotes(void **state)
{
	static const char *const tmpls[] = {
	    "printf '%s' \"${var.x}\"",
	    "printf '%s' '${var.x}'",
	    "printf '%s' \"pre ${var.x} post\"",
	};
	size_t i, j, wrong = 0, injected = 0;

	for (i = 0; i < sizeof(tmpls) / sizeof(tmpls[0]); i++) {
		for (j = 0; j < nhostile; j++) {
			struct env e = {.x = hostile[j]};
			char *cmd, *bad = NULL, *want, *out;
			size_t len;
			int r = render(tmpls[i], DR_TMPL_SHELL, &e, false, NULL,
			               &cmd, &bad);
			if (r != 0) {
				assert_int_equal(r, DR_EINVAL);
				assert_non_null(bad);
				free(bad);
				free(cmd);
				continue;
			}
			want = i == 2 ? dr_xasprintf("pre %s post", hostile[j])
			              : dr_xstrdup(hostile[j]);
			run_sh(cmd, NULL, &out, &len);
			if (pwned_exists()) {
				print_message("INJECTION: template %s, value "
				              "[%s] ran: %s\n",
				              tmpls[i], hostile[j], cmd);
				injected++;
				unlink(pwned);
			} else if (len != strlen(want) ||
			           memcmp(out, want, len) != 0) {
				wrong++;
			}
			free(out);
			free(want);
			free(cmd);
		}
	}
	if (wrong || injected)
		fail_msg("a ${...} inside quotes in a command: %zu values "
		         "mangled, %zu injected a command (render must refuse "
		         "it or keep the value quoted)",
		         wrong, injected);
}

static void
test_literal_dollars(void **state)
{
	struct env e = {.x = "v"};
	char *out, *bad;

	assert_int_equal(render("a $$ b $${var.x} $HOME \"$1\" ${var.x} $",
	                        DR_TMPL_SHELL, &e, false, NULL, &out, &bad),
	                 0);
	assert_string_equal(out, "a $ b ${var.x} $HOME \"$1\" 'v' $");
	free(out);
	/* And through the shell: $$ is one literal '$' there too. */
	assert_int_equal(render("printf '%s' '$$x'", DR_TMPL_SHELL, &e, false,
	                        NULL, &out, &bad),
	                 0);
	assert_prints(out, "$x");
	free(out);
	setenv("DROVER_TEST_VAR", "from-env", 1);
	assert_int_equal(render("printf '%s' \"$DROVER_TEST_VAR\"",
	                        DR_TMPL_SHELL, &e, false, NULL, &out, &bad),
	                 0);
	assert_prints(out, "from-env");
	free(out);
}

static void
test_raw_context(void **state)
{
	struct env e = {.x = "a b'c"};
	char *out, *bad;

	assert_int_equal(render("http://${host}:8080/${tenant}/${var.x}",
	                        DR_TMPL_RAW, &e, false, NULL, &out, &bad),
	                 0);
	assert_string_equal(out, "http://to-db1:8080/comune-lodi/a b'c");
	free(out);
}

static void
test_unknown_name(void **state)
{
	struct env e = {.x = "v"};
	char *out, *bad = NULL;

	assert_int_equal(
	    render("echo ${nope}", DR_TMPL_SHELL, &e, false, NULL, &out, &bad),
	    DR_EINVAL);
	assert_non_null(bad);
	assert_non_null(strstr(bad, "${nope}"));
	free(bad);
	free(out);
	assert_int_equal(render("echo ${var.missing}", DR_TMPL_RAW, &e, false,
	                        NULL, &out, &bad),
	                 DR_EINVAL);
	assert_non_null(strstr(bad, "${var.missing}"));
	free(bad);
	free(out);
}

static void
test_malformed(void **state)
{
	static const char *const bads[] = {
	    "echo ${",       "echo ${var.x", "echo ${}", "echo ${a b}",
	    "echo ${a${b}}", "x ${\n}",      "${{x}}",
	};
	struct env e = {.x = "v"};
	size_t i;

	for (i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		char *out, *bad = NULL;
		int r =
		    render(bads[i], DR_TMPL_SHELL, &e, false, NULL, &out, &bad);
		if (r != DR_EINVAL || bad == NULL)
			fail_msg("\"%s\" rendered (%d) as \"%s\"", bads[i], r,
			         out);
		free(bad);
		free(out);
	}
}

static void
test_secret_shell(void **state)
{
	struct env e = {.x = "v"};
	struct dr_tmpl_out sec = {0};
	char *out, *bad;

	assert_int_equal(render("db --pw ${secret.pg} --tok ${secret.tok} "
	                        "--again ${secret.pg} ${var.x}",
	                        DR_TMPL_SHELL, &e, false, &sec, &out, &bad),
	                 0);
	assert_string_equal(out, "db --pw \"$DROVER_SECRET_1\" --tok "
	                         "\"$DROVER_SECRET_2\" --again "
	                         "\"$DROVER_SECRET_1\" 'v'");
	assert_null(strstr(out, "THE-SECRET-VALUE"));
	assert_int_equal(e.calls_secret, 0); /* never resolved */
	assert_int_equal(sec.nsecrets, 2);
	assert_string_equal(sec.secrets[0], "pg");
	assert_string_equal(sec.secrets[1], "tok");
	dr_tmpl_out_free(&sec);
	assert_int_equal(sec.nsecrets, 0);
	free(out);
}

/* The reference reads the variable, and the variable's value is inert. */
static void
test_secret_reference_runs_inert(void **state)
{
	struct env e = {.x = "v"};
	char *tmpl, *bad, *cmd, *in, *res;
	size_t len, i;

	assert_int_equal(render("printf '%s' ${secret.pw}", DR_TMPL_SHELL, &e,
	                        false, NULL, &tmpl, &bad),
	                 0);
	cmd = dr_xasprintf("IFS= read -r DROVER_SECRET_1 && { %s; }", tmpl);
	for (i = 0; i < nhostile; i++) {
		if (strchr(hostile[i], '\n') != NULL)
			continue; /* a secret is one line on stdin */
		in = dr_xasprintf("%s\n", hostile[i]);
		assert_int_equal(run_sh(cmd, in, &res, &len), 0);
		if (len != strlen(hostile[i]) ||
		    memcmp(res, hostile[i], len) != 0)
			fail_msg("secret [%s] came out as [%s]", hostile[i],
			         res);
		assert_false(pwned_exists());
		free(res);
		free(in);
	}
	free(cmd);
	free(tmpl);
}

static void
test_secret_display(void **state)
{
	struct env e = {.x = "v"};
	char *out, *bad;

	assert_int_equal(render("psql --pw ${secret.pg}", DR_TMPL_SHELL, &e,
	                        true, NULL, &out, &bad),
	                 0);
	assert_string_equal(out, "psql --pw \"<secret:pg>\"");
	free(out);
}

static void
test_secret_raw_rejected(void **state)
{
	struct env e = {.x = "v"};
	char *out, *bad = NULL;

	assert_int_equal(render("http://x/?t=${secret.tok}", DR_TMPL_RAW, &e,
	                        false, NULL, &out, &bad),
	                 DR_EINVAL);
	assert_non_null(bad);
	assert_non_null(strstr(bad, "secret"));
	assert_int_equal(e.calls_secret, 0);
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
	s.n = 0;
	assert_int_equal(dr_tmpl_scan("x ${tenant", collect, &s), DR_EINVAL);
	assert_int_equal(dr_tmpl_scan("x ${}", collect, &s), DR_EINVAL);
	s.n = 0;
	assert_int_equal(dr_tmpl_scan("no references", collect, &s), 0);
	assert_int_equal(s.n, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_shell_quote_simple),
	    cmocka_unit_test_setup_teardown(test_shell_quote_runs_inert, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_render_runs_inert, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_render_one_word_each, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_render_long_value, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_reference_inside_quotes, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_literal_dollars, setup,
	                                    teardown),
	    cmocka_unit_test(test_raw_context),
	    cmocka_unit_test(test_unknown_name),
	    cmocka_unit_test(test_malformed),
	    cmocka_unit_test(test_secret_shell),
	    cmocka_unit_test_setup_teardown(test_secret_reference_runs_inert,
	                                    setup, teardown),
	    cmocka_unit_test(test_secret_display),
	    cmocka_unit_test(test_secret_raw_rejected),
	    cmocka_unit_test(test_scan),
	};

	return cmocka_run_group_tests_name("template", tests, NULL, NULL);
}
