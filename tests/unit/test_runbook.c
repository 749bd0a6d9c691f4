/* test_runbook.c: the printable runbook, Markdown and HTML, from a small plan.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <unistd.h>

#include <cmocka.h>

#include "drover/common.h"
#include "drover/graph.h"
#include "drover/plan.h"
#include "drover/runbook.h"

#define SECRET_ENV "DROVER_TEST_RB_DB_PW"
#define SECRET_VALUE "hunter2-never-printed"

/* website is declared before payroll: the order must come from the tiers. */
static const char plan_text[] =
    "version = 1;\n"
    "name = \"rb-test\";\n"
    "description = \"runbook test <plan> & friends\";\n"
    "defaults: { user = \"drlab\"; port = 2222; retries = 2; "
    "retry_delay = \"5s\"; timeout = \"10m\"; };\n"
    "contacts = ( { name = \"Giulia Ferrari\"; role = \"incident "
    "commander\"; phone = \"+39 030 000 0001\"; email = "
    "\"ic@lab.invalid\"; } );\n"
    "secrets = ( { name = \"db_password\"; env = \"" SECRET_ENV "\"; } );\n"
    "sites = (\n"
    "  { name = \"milan\"; role = \"primary\"; hosts = ( { name = "
    "\"mi-db1\"; address = \"127.0.1.1\"; roles = [\"db\"]; } ); },\n"
    "  { name = \"torino\"; role = \"standby\"; hosts = ( { name = "
    "\"to-db1\"; address = \"127.0.3.1\"; roles = [\"db\"]; } ); },\n"
    "  { name = \"vault\"; role = \"vault\"; hosts = ( { name = "
    "\"va-bk1\"; address = \"127.0.4.1\"; port = 2200; user = \"bk\"; "
    "roles = [\"backup\"]; } ); }\n"
    ");\n"
    "tenants = (\n"
    "  { name = \"comune-lodi\"; priority = 2; vars = { x = "
    "\"<script>alert('x')</script>\"; }; },\n"
    "  { name = \"comune-brescia\"; priority = 1; vars = { x = \"bs\"; }; "
    "}\n"
    ");\n"
    "services = (\n"
    "  { name = \"fence\"; tier = 0; scope = \"global\";\n"
    "    steps = ( { name = \"cut\"; on = \"from:db\"; run = \"touch "
    "/etc/fenced\"; unreachable = \"continue\"; } ); },\n"
    "  { name = \"website\"; tier = 2; scope = \"tenant\"; rto = \"1d\"; "
    "after = [\"payroll\"];\n"
    "    steps = ( { name = \"publish\"; on = \"to:db\"; run = "
    "\"publish-site ${tenant}\"; } ); },\n"
    "  { name = \"payroll\"; tier = 1; scope = \"tenant\"; rto = \"8h\"; "
    "after = [\"fence\"];\n"
    "    description = \"Salaries are due\";\n"
    "    steps = (\n"
    "      { name = \"fetch\"; copy = { from = "
    "\"vault:backup:/srv/backups/${tenant}/payroll.tar\"; to = "
    "\"to:db:/var/restore/${tenant}/\"; sha256 = "
    "\"e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855\";"
    " }; },\n"
    "      { name = \"restore\"; on = \"to:db\"; run = \"restore-payroll "
    "${tenant} ${secret.db_password}\"; idempotent = true; },\n"
    "      { name = \"echo\"; on = \"to:db\"; run = \"printf %s "
    "${var.x}\"; },\n"
    "      { name = \"go\"; approve = \"Payroll for ${tenant} looks right?"
    "\"; },\n"
    "      { name = \"healthy\"; probe = { http = "
    "\"http://127.0.3.1:8080/${tenant}/health\"; within = \"5m\"; }; }\n"
    "    ); }\n"
    ");\n";

struct fixture {
	struct dr_plan *plan;
	struct dr_graph *graph;
	char *md;
	char *html;
};

static char *
render(struct dr_graph *g, enum dr_runbook_format fmt, const char *kh)
{
	struct dr_runbook_opts o = {
	    .format = fmt, .known_hosts = kh, .now_wall_ms = 1765180800000ULL};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(dr_runbook_write(g, &o, f), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	return buf;
}

static int
setup(void **state)
{
	static const char *const from[] = {"milan"};
	struct dr_expand_opts eo = {
	    .from = from, .nfrom = 1, .to = "torino", .mode = DR_MODE_FAILOVER};
	struct dr_diags diags = {0};
	struct fixture *fx = calloc(1, sizeof(*fx));
	int r;

	setenv(SECRET_ENV, SECRET_VALUE, 1);
	r = dr_plan_load_string(plan_text, "rb-test.cfg", &diags, &fx->plan);
	if (r != 0)
		dr_diag_print(&diags, stderr);
	assert_int_equal(r, 0);
	r = dr_graph_expand(fx->plan, &eo, &diags, &fx->graph);
	if (r != 0)
		dr_diag_print(&diags, stderr);
	assert_int_equal(r, 0);
	dr_diag_clear(&diags);
	fx->md = render(fx->graph, DR_RUNBOOK_MD, NULL);
	fx->html = render(fx->graph, DR_RUNBOOK_HTML, NULL);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	free(fx->md);
	free(fx->html);
	dr_graph_free(fx->graph);
	dr_plan_free(fx->plan);
	free(fx);
	return 0;
}

/* strstr that fails the test, showing what was missing. */
static const char *
find(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (p == NULL)
		fail_msg("missing from the runbook: \"%s\"", needle);
	return p;
}

static void
absent(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (p != NULL)
		fail_msg(
		    "must not appear in the runbook: \"%s\" (at \"%.60s\")",
		    needle, p);
}

static void
test_title(void **state)
{
	struct fixture *fx = *state;
	const char *doc[] = {fx->md, fx->html};
	size_t i;

	for (i = 0; i < 2; i++) {
		find(doc[i], "rb-test");
		find(doc[i], "milan \xe2\x86\x92 torino");
		find(doc[i], "failover");
		find(doc[i], "2025-12-08");
		find(doc[i], fx->plan->sha256);
		find(doc[i], "Giulia Ferrari");
		find(doc[i], "+39 030 000 0001");
		find(doc[i], "Before you start");
		find(doc[i], "Fence first");
	}
}

static void
test_order(void **state)
{
	struct fixture *fx = *state;
	const char *doc[] = {fx->md, fx->html};
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *fence = find(doc[i], "0.1 fence");
		const char *payroll = find(doc[i], "1.1 payroll");
		const char *website = find(doc[i], "2.1 website");
		const char *pb = find(payroll, "payroll \xe2\x80\x94 "
		                               "comune-brescia");
		const char *pl = find(payroll, "payroll \xe2\x80\x94 "
		                               "comune-lodi");
		const char *wb = find(website, "website \xe2\x80\x94 "
		                               "comune-brescia");

		assert_true(fence < payroll);
		assert_true(payroll < website);
		/* every tenant's payroll before any website */
		assert_true(pb < pl);
		assert_true(pl < website);
		assert_true(website < wb);
		find(doc[i], "RTO 8h");
		find(doc[i], "Tier 1");
		/* steps of one tenant in run order */
		assert_true(find(pb, "fetch") < find(pb, "restore-payroll"));
		assert_true(find(pb, "restore-payroll") <
		            find(pb, "Approved by"));
	}
}

static void
test_ssh_lines(void **state)
{
	struct fixture *fx = *state;
	const char *doc[] = {fx->md, fx->html};
	size_t i;

	for (i = 0; i < 2; i++) {
		/* a command with values: log in, then paste the script */
		find(doc[i], "ssh -p 2222 drlab@127.0.3.1");
		find(doc[i], "publish-site \"${_dr_tenant}\"");
		find(doc[i], "ssh -p 2222 drlab@127.0.1.1 'touch /etc/fenced'");
		/* copy: relayed by hand, with the vault's own user and port */
		find(doc[i], "scp -P 2200 bk@127.0.4.1:/srv/backups/"
		             "comune-brescia/payroll.tar ./payroll.tar");
		find(doc[i], "sha256sum -c");
		find(doc[i], "curl ");
		find(doc[i], "http://127.0.3.1:8080/comune-brescia/health");
	}
	find(fx->md, "_dr_tenant='comune-brescia'\n"
	             "publish-site \"${_dr_tenant}\"");
	find(fx->md, "[ ]");
	find(fx->html, "\xe2\x98\x90");
	find(fx->md, "done at:");
}

/* The script block, pasted into a shell, runs the command with the value
 * intact: here the tenant's var is HTML that must come out as it is. */
static void
test_ssh_line_pastes(void **state)
{
	struct fixture *fx = *state;
	const char *p = find(fx->md, "_dr_var_x='<script>"), *e;
	char *script, out[256];
	size_t n;
	FILE *f;
	int fd[2];
	pid_t pid;

	e = strstr(p, "\n```");
	assert_non_null(e);
	script = strndup(p, (size_t)(e - p));
	assert_int_equal(pipe(fd), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		dup2(fd[1], 1);
		close(fd[0]);
		close(fd[1]);
		execl("/bin/sh", "sh", "-c", script, (char *)NULL);
		_exit(127);
	}
	close(fd[1]);
	f = fdopen(fd[0], "r");
	n = fread(out, 1, sizeof(out) - 1, f);
	out[n] = '\0';
	fclose(f);
	waitpid(pid, NULL, 0);
	assert_string_equal(out, "<script>alert('x')</script>");
	free(script);
}

static void
test_secrets(void **state)
{
	struct fixture *fx = *state;

	absent(fx->md, SECRET_VALUE);
	absent(fx->html, SECRET_VALUE);
	find(fx->md, "IFS= read -r _dr_secret_db_password");
	find(fx->md, "<secret:db_password>");
	find(fx->html, "&lt;secret:db_password&gt;");
	/* where to get it: the variable's name */
	find(fx->md, SECRET_ENV);
	find(fx->html, SECRET_ENV);
}

static void
test_html_self_contained(void **state)
{
	struct fixture *fx = *state;
	const char *h = fx->html;

	find(h, "<!DOCTYPE html>");
	find(h, "<style>");
	find(h, "@media print");
	find(h, "@page");
	find(h, "size:A4");
	find(h, "page-break-before");
	absent(h, "src=\"http");
	absent(h, "href=\"http");
	absent(h, "src='http");
	absent(h, "href='http");
	absent(h, "url(http");
	absent(h, "@import");
	absent(h, "<link");
	absent(h, "<img");
	absent(h, "<script");
}

static void
test_html_escaped(void **state)
{
	struct fixture *fx = *state;

	absent(fx->html, "<script>");
	absent(fx->html, "<plan>");
	find(fx->html, "&lt;script&gt;");
	find(fx->html, "runbook test &lt;plan&gt; &amp; friends");
	/* Markdown does not let raw HTML through either */
	absent(fx->md, "<plan>");
	find(fx->md, "\\<plan\\>");
}

static void
test_known_hosts(void **state)
{
	struct fixture *fx = *state;
	char path[] = "/tmp/drover-test-kh-XXXXXX";
	int fd = mkstemp(path);
	FILE *f;
	char *md;

	assert_true(fd >= 0);
	f = fdopen(fd, "w");
	fprintf(f, "# pinned\n"
	           "|1|hashed=|entry= ssh-ed25519 AAAA\n"
	           "[127.0.3.1]:2222 ssh-ed25519 "
	           "AAAAC3NzaC1lZDI1NTE5AAAAIOcJexxwGgiB4R9NQ/"
	           "Ac6chRu1GZiZnbaLny6RjwL1Xz root@vm\n");
	fclose(f);
	md = render(fx->graph, DR_RUNBOOK_MD, path);
	unlink(path);
	/* as ssh-keygen -l prints it */
	find(md, "ED25519 SHA256:bzeSIfyuztMJgBbT8lnSoL5omu6xUp2f5JAy8UgtaDs");
	free(md);
}

static void
test_bad_known_hosts(void **state)
{
	struct fixture *fx = *state;
	struct dr_runbook_opts o = {.format = DR_RUNBOOK_MD,
	                            .known_hosts = "/nonexistent/known_hosts"};
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_int_equal(dr_runbook_write(fx->graph, &o, f), DR_EIO);
	fclose(f);
	free(buf);
}

/* A write that fails is reported, not lost (the document writer keeps the
 * first error for the end). */
static void
test_write_error(void **state)
{
	struct fixture *fx = *state;
	struct dr_runbook_opts o = {.format = DR_RUNBOOK_HTML,
	                            .now_wall_ms = 1765180800000ULL};
	FILE *f = fopen("/dev/full", "w");

	assert_non_null(f);
	assert_int_equal(dr_runbook_write(fx->graph, &o, f), DR_EIO);
	fclose(f);
	f = fopen("/dev/null", "r");
	assert_non_null(f);
	o.format = DR_RUNBOOK_MD;
	assert_int_equal(dr_runbook_write(fx->graph, &o, f), DR_EIO);
	fclose(f);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_title),
	    cmocka_unit_test(test_order),
	    cmocka_unit_test(test_ssh_lines),
	    cmocka_unit_test(test_ssh_line_pastes),
	    cmocka_unit_test(test_secrets),
	    cmocka_unit_test(test_html_self_contained),
	    cmocka_unit_test(test_html_escaped),
	    cmocka_unit_test(test_known_hosts),
	    cmocka_unit_test(test_bad_known_hosts),
	    cmocka_unit_test(test_write_error),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
