/*
 * test_runbook.c: the printable runbook, Markdown and HTML, from a small
 * plan; a procedure shared by the tenants and its checklist; what a run
 * left to do; the pages of a printed PDF; a 1,300-tenant plan.
 *
 * "test_runbook --write-plan N FILE" writes plans/westpole.cfg with N
 * generated tenants, the plan the runbook's size and pages are measured on.
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
    "secrets = ( { name = \"db_password\"; env = \"" SECRET_ENV "\"; "
    "hint = \"the DBA's sealed envelope <b>\"; } );\n"
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
    "/etc/fenced\"; unreachable = \"continue\"; },\n"
    "      { name = \"quoted\"; on = \"from:db\"; run = \"echo 'a b'\"; "
    "unreachable = \"continue\"; },\n"
    "      { name = \"nested\"; on = \"from:db\"; run = \"echo '$HOME'\"; "
    "unreachable = \"continue\"; } ); },\n"
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
	char *text; /* html without the boxes of command words */
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

/* s without the spans that keep hyphenated command words whole, for
 * looking for a command line in the HTML as it reads. Caller frees. */
static char *
untag(const char *s)
{
	static const char *const tag[] = {"<span class=\"w\">", "</span>"};
	struct dr_buf b;
	size_t i;

	dr_buf_init(&b, 0);
	while (*s) {
		for (i = 0; i < 2; i++)
			if (strncmp(s, tag[i], strlen(tag[i])) == 0)
				break;
		if (i < 2) {
			s += strlen(tag[i]);
			continue;
		}
		dr_buf_append(&b, s++, 1);
	}
	return dr_buf_steal(&b);
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
	fx->text = untag(fx->html);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	free(fx->md);
	free(fx->html);
	free(fx->text);
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
	const char *doc[] = {fx->md, fx->text};
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
	const char *doc[] = {fx->md, fx->text};
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *fence = find(doc[i], "0.1 fence");
		const char *payroll = find(doc[i], "1.1 payroll");
		const char *website = find(doc[i], "2.1 website");
		const char *pb = find(payroll, "payroll \xe2\x80\x94 "
		                               "comune-brescia");
		const char *pl = find(payroll, "payroll \xe2\x80\x94 "
		                               "comune-lodi");
		/* website: one procedure, then the checklist in priority
		 * order */
		const char *wb = find(website, "comune-brescia");

		assert_true(fence < payroll);
		assert_true(payroll < website);
		/* every tenant's payroll before any website */
		assert_true(pb < pl);
		assert_true(pl < website);
		assert_true(website < wb);
		assert_true(wb < find(website, "comune-lodi"));
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
	const char *doc[] = {fx->md, fx->text};
	size_t i;

	for (i = 0; i < 2; i++) {
		/* a command with values: log in, then paste the script */
		find(doc[i], "ssh -p 2222 drlab@127.0.3.1");
		find(doc[i], "publish-site \"${_dr_tenant}\"");
		find(doc[i], "ssh -p 2222 drlab@127.0.1.1 'touch /etc/fenced'");
		/* copy: relayed by hand, with the vault's own user and port */
		/* each tenant's files in its own workstation directory */
		find(doc[i], "mkdir -p comune-brescia");
		find(doc[i], "scp -P 2200 bk@127.0.4.1:/srv/backups/"
		             "comune-brescia/payroll.tar "
		             "./comune-brescia/payroll.tar");
		/* a quote inside: double quotes, not '\'' */
		find(doc[i], "ssh -p 2222 drlab@127.0.1.1 \"echo 'a b'\"");
		find(doc[i], "sha256sum -c");
		find(doc[i], "curl ");
		find(doc[i], "http://127.0.3.1:8080/comune-brescia/health");
	}
	/* the shared procedure: the value is the checklist's */
	find(fx->md, "_dr_tenant='TENANT'\n"
	             "publish-site \"${_dr_tenant}\"");
	find(fx->md, "[ ]");
	find(fx->html, "\xe2\x98\x90");
	find(fx->md, "done at:");
	/* quotes that double quotes would not keep: log in and paste */
	find(fx->md, "and paste this command into its shell:\n\n```sh\n"
	             "echo '$HOME'\n```");
	absent(fx->md, "@127.0.1.1 'echo '\\''");
	absent(fx->html, "@127.0.1.1 'echo '\\''");
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
	/* where to get it: the variable's name, and the plan's hint */
	find(fx->md, SECRET_ENV);
	find(fx->html, SECRET_ENV);
	find(fx->md, "the DBA's sealed envelope \\<b\\>");
	find(fx->html, "the DBA&#39;s sealed envelope &lt;b&gt;");
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

/* Occurrences of needle in hay. */
static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;
	const char *p = hay;

	while ((p = strstr(p, needle)) != NULL) {
		n++;
		p += strlen(needle);
	}
	return n;
}

static char *
render_opts(struct dr_graph *g, const struct dr_runbook_opts *o)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(dr_runbook_write(g, o, f), 0);
	assert_int_equal(fclose(f), 0);
	return buf;
}

/* website: both tenants do the same step on the same host, so it is
 * printed once with the tenant as a placeholder, and a checklist; payroll
 * has a value that needs quoting, so it is written tenant by tenant. */
static void
test_shared(void **state)
{
	struct fixture *fx = *state;
	const char *doc[] = {fx->md, fx->text};
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *w = find(doc[i], "2.1 website");
		const char *c = find(w, "Checklist: website, tenant by step");

		assert_int_equal(count(w, "publish-site"), 1);
		find(w, "for each of the 2 tenants");
		find(w, "TENANT");
		assert_true(find(c, "comune-brescia") < find(c, "comune-lodi"));
		/* the overview says so, and links the checklist */
		find(doc[i], "for each tenant");
		/* payroll: per tenant, as before */
		find(doc[i], "payroll \xe2\x80\x94 comune-lodi, tenant");
	}
	find(fx->md, "| \\# | TENANT |");
	find(fx->md, "| 1 | comune-brescia | [ ] |");
	find(fx->html, "<a href=\"#s-2-1\">2.1</a>");
	find(fx->html, "id=\"c-2-1\"");
	/* no page numbers without a print to take them from */
	absent(fx->html, "toc pages");
}

/* --remaining: what the run did is left out, and the document says so. */
static void
test_remaining(void **state)
{
	struct fixture *fx = *state;
	struct dr_graph *g = fx->graph;
	bool *done = calloc(g->ntasks, sizeof(bool));
	struct dr_runbook_opts o = {.format = DR_RUNBOOK_MD,
	                            .now_wall_ms = 1765180800000ULL,
	                            .done = done,
	                            .run_id = "RUN-1"};
	char *md;
	size_t i, n = 0;

	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		if (strcmp(t->service->name, "fence") == 0 ||
		    (strcmp(t->service->name, "website") == 0 &&
		     strcmp(t->tenant->name, "comune-brescia") == 0)) {
			done[i] = true;
			n++;
		}
	}
	md = render_opts(g, &o);
	find(md, "what run RUN-1 has not done");
	find(md, "All 3 steps were done in run RUN-1.");
	absent(md, "touch /etc/fenced");
	find(md, "1 of the 2 tenants were done in run RUN-1");
	/* website's checklist keeps only lodi */
	absent(find(md, "Checklist: website"), "comune-brescia");
	find(find(md, "Checklist: website"), "comune-lodi");
	free(md);
	free(done);
	(void)n;
}

static void
test_only(void **state)
{
	struct fixture *fx = *state;
	static const char *const only[] = {"website", "comune-lodi"};
	struct dr_runbook_opts o = {.format = DR_RUNBOOK_HTML,
	                            .now_wall_ms = 1765180800000ULL,
	                            .only = only,
	                            .nonly = 2};
	char *h = render_opts(fx->graph, &o);

	find(h, "covers only");
	find(h, "website, comune-lodi");
	free(h);
}

/* A PDF as Chromium writes it: a classic xref, a page tree of two levels,
 * named destinations. */
static char *
tiny_pdf(size_t *len)
{
	static const char *const obj[] = {
	    NULL,
	    "<</Type /Catalog /Pages 2 0 R /Dests 3 0 R>>",
	    "<</Type /Pages /Count 3 /Kids [4 0 R 5 0 R]>>",
	    "<</s-1-1 [6 0 R /XYZ 6 800 0]\n/c-1-1 [8 0 R /XYZ 6 400 0]\n"
	    "/we#2Ddo [7 0 R /XYZ 0 0 0]>>",
	    "<</Type /Page /Parent 2 0 R>>",
	    "<</Type /Pages /Count 2 /Kids [7 0 R 8 0 R] /Parent 2 0 R>>",
	    "<</Type /Page>>", /* in no tree */
	    "<</Type /Page /Parent 5 0 R>>",
	    "<</Type /Page /Parent 5 0 R>>",
	};
	size_t off[9], i, xref;
	struct dr_buf b;

	dr_buf_init(&b, 0);
	dr_buf_puts(&b, "%PDF-1.4\n");
	for (i = 1; i < 9; i++) {
		off[i] = b.len;
		dr_buf_printf(&b, "%zu 0 obj\n%s\nendobj\n", i, obj[i]);
	}
	xref = b.len;
	dr_buf_puts(&b, "xref\n0 9\n0000000000 65535 f \n");
	for (i = 1; i < 9; i++)
		dr_buf_printf(&b, "%010zu 00000 n \n", off[i]);
	dr_buf_printf(&b,
	              "trailer\n<</Size 9\n/Root 1 0 R>>\nstartxref\n%zu\n"
	              "%%%%EOF\n",
	              xref);
	*len = b.len;
	return dr_buf_steal(&b);
}

static void
test_pdf_pages(void **state)
{
	struct dr_runbook_page *v = NULL;
	size_t len, n = 0, i;
	char *pdf = tiny_pdf(&len);
	int s11 = 0, c11 = 0, wedo = 0;

	(void)state;
	assert_int_equal(dr_runbook_pdf_pages(pdf, len, &v, &n), 0);
	for (i = 0; i < n; i++) {
		if (strcmp(v[i].id, "s-1-1") == 0)
			s11 = v[i].page;
		if (strcmp(v[i].id, "c-1-1") == 0)
			c11 = v[i].page;
		if (strcmp(v[i].id, "we-do") == 0)
			wedo = v[i].page;
	}
	/* obj 6 is in no page tree: its destination is dropped */
	assert_int_equal(n, 2);
	assert_int_equal(s11, 0);
	assert_int_equal(c11, 3);
	assert_int_equal(wedo, 2);
	dr_runbook_pages_free(v, n);
	/* anything else is refused, not guessed */
	assert_int_equal(dr_runbook_pdf_pages(pdf, len / 2, &v, &n), DR_EINVAL);
	assert_int_equal(dr_runbook_pdf_pages("%PDF-1.4\n", 9, &v, &n),
	                 DR_EINVAL);
	free(pdf);
}

/*
 * plans/westpole.cfg with n generated tenants (comune-0000, priority 1..n,
 * each its own db and port): the plan the runbook is measured on
 * ("test_runbook --write-plan N FILE").
 */
static char *
westpole_with(size_t n)
{
	char *text = NULL, *a, *e;
	struct dr_buf b;
	size_t i;

	assert_int_equal(dr_read_file(DROVER_SOURCE_DIR "/plans/westpole.cfg",
	                              0, &text, NULL),
	                 0);
	a = strstr(text, "\ntenants = (");
	assert_non_null(a);
	e = strstr(a, "\n);");
	assert_non_null(e);
	dr_buf_init(&b, 0);
	dr_buf_append(&b, text, (size_t)(a - text));
	dr_buf_puts(&b, "\ntenants = (\n");
	for (i = 0; i < n; i++)
		dr_buf_printf(
		    &b,
		    "  { name = \"comune-%04zu\"; priority = %zu; "
		    "vars = { db = \"c%04zu\"; port = \"%zu\"; }; }%s\n",
		    i, i + 1, i, 9000 + i, i + 1 < n ? "," : "");
	dr_buf_puts(&b, e + 1);
	free(text);
	return dr_buf_steal(&b);
}

/* 1,300 tenants: each service's procedure once, a checklist row each; the
 * document grows by a row per tenant and service, not by their steps. */
static void
test_scale(void **state)
{
	static const char *const from[] = {"milan", "rome"};
	struct dr_expand_opts eo = {
	    .from = from, .nfrom = 2, .to = "torino", .mode = DR_MODE_FAILOVER};
	struct dr_runbook_opts o = {.format = DR_RUNBOOK_HTML,
	                            .now_wall_ms = 1765180800000ULL};
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;
	struct dr_graph *g = NULL;
	char *text = westpole_with(1300), *h, *t;
	size_t size;

	(void)state;
	assert_int_equal(
	    dr_plan_load_string(text, DROVER_SOURCE_DIR "/plans/w1300.cfg", &d,
	                        &p),
	    0);
	assert_int_equal(dr_graph_expand(p, &eo, &d, &g), 0);
	dr_diag_clear(&d);
	t = render_opts(g, &o);
	size = strlen(t);
	h = untag(t);
	free(t);
	assert_int_equal(count(h, "pg_restore --clean"), 2);
	assert_int_equal(count(h, "Checklist: "), 5);
	assert_int_equal(count(h, ">comune-1299<"), 5);
	/* about a kilobyte per tenant: 300 MB once for 10,000 */
	if (size > 1300 * 1200)
		fail_msg("a 1,300-tenant runbook of %zu bytes", size);
	free(h);
	dr_graph_free(g);
	dr_plan_free(p);
	free(text);
}

int
main(int argc, char **argv)
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
	    cmocka_unit_test(test_shared),
	    cmocka_unit_test(test_remaining),
	    cmocka_unit_test(test_only),
	    cmocka_unit_test(test_pdf_pages),
	    cmocka_unit_test(test_scale),
	};

	/* The plan the runbook is measured on, for tests/bench. */
	if (argc == 4 && strcmp(argv[1], "--write-plan") == 0) {
		char *text = westpole_with((size_t)strtoul(argv[2], NULL, 10));
		int r = dr_write_file_atomic(argv[3], text, strlen(text), 0644);
		free(text);
		return r == 0 ? 0 : 1;
	}
	return cmocka_run_group_tests(tests, setup, teardown);
}
