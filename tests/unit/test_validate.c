/*
 * test_validate.c: the plan validator against tests/plans/bad/ (one file per
 * error class) and plans/ (every example plan must validate cleanly).
 *
 * A bad plan says how many errors it holds on its first line, "# expect: N",
 * and marks each line that must carry a diagnostic with "# ERR" ("# ERR x2"
 * for two). The test checks the count, that every diagnostic names the file
 * and a line, that the lines are exactly the marked ones, and the message
 * substrings listed below for the file's class. The directories are globbed
 * at run time: a new file is tested without touching this one.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <sys/wait.h>
#include <glob.h>

#include "drover/common.h"
#include "drover/diag.h"
#include "drover/plan.h"

#define BAD_DIR DROVER_SOURCE_DIR "/tests/plans/bad"
#define GOOD_DIR DROVER_SOURCE_DIR "/plans"

/* Message substrings each class must produce (all of them, in any order). */
struct want {
	const char *file; /* base name in tests/plans/bad */
	const char *subs[16];
};

static const struct want wants[] = {
    {"syntax.cfg", {"syntax"}},
    {"unknown-keys.cfg",
     {"unknown key \"strict_tier\" in plan (did you mean \"strict_tiers\"?)",
      "unknown key \"frobnicate\" in plan",
      "unknown key \"timout\" in defaults (did you mean \"timeout\"?)",
      "in limits (did you mean \"per_host\"?)",
      "in site (did you mean \"description\"?)",
      "unknown key \"usr\" in host (did you mean \"user\"?)",
      "unknown key \"colour\" in tenant",
      "in service (did you mean \"after\"?)",
      "in copy (did you mean \"sha256\"?)",
      "unknown key \"timout\" in step (did you mean \"timeout\"?)",
      "did you mean \"idempotent\"", "in probe (did you mean \"within\"?)"}},
    {"wrong-types.cfg",
     {"\"version\" must be an integer, not a string",
      "\"strict_tiers\" must be true or false",
      "\"retries\" must be an integer", "\"limits\" must be a group",
      "\"port\" must be an integer", "\"hosts\" must be a list of groups",
      "\"priority\" must be an integer", "\"tier\" must be an integer",
      "\"after\" must be an array of strings",
      "\"idempotent\" must be true or false"}},
    {"missing.cfg",
     {"missing required \"version\"", "missing required \"name\"",
      "site \"milan\": missing required \"role\"",
      "host \"to-db1\": missing required \"address\"",
      "service \"base\": missing required \"tier\"",
      "service \"payroll\": missing required \"scope\"",
      "step \"restore\": missing required \"on\""}},
    {"duplicates.cfg",
     {"duplicate secret \"pg\"", "duplicate site \"milan\"",
      "duplicate host \"db1\"", "duplicate tenant \"comune-lodi\"",
      "duplicate step \"restore\"", "duplicate service \"payroll\"",
      "first defined at line"}},
    {"unknown-refs.cfg",
     {"runs after unknown service \"base\"", "unknown site \"paris\"",
      "has no host or role \"nosuch\"",
      "\"from:backup\" matches no host in any site that could be lost",
      "\"to:web\" matches no host in site \"drill\"",
      "tenant \"comune-pavia\" has no variable \"db\"", "no secret \"nope\"",
      "${host} in local, but the step has no host",
      "${tenant} in run, but the service is global",
      "unknown reference ${unknown}"}},
    {"cycle.cfg", {"dependency cycle: a -> b -> c -> a"}},
    {"actions.cfg",
     {"step \"nothing\": has no action",
      "step \"both\": has 2 actions (run and local)",
      "step \"blank\": \"run\" is empty", "step \"spaces\": \"local\" is empty",
      "step \"ask\": \"approve\" is empty"}},
    {"ranges.cfg",
     {"\"priority\" is 0, must be 1", "\"tier\" is 100, must be 0 to 99",
      "\"tier\" is -1, must be 0 to 99"}},
    {"durations.cfg",
     {"malformed duration \"10 minutes\"", "malformed duration \"\"",
      "malformed duration \"5x\"", "\"timeout\" must be a duration string",
      "duration \"0s\" for \"connect_timeout\" is zero",
      "duration \"213503982289d45d51952616ms\" for \"timeout\" is over "
      "3650d",
      "duration \"3651d\" for \"retry_delay\" is over 3650d"}},
    {"tier-inversion.cfg",
     {"service \"payroll\" (tier 1) runs after \"website\" (tier 3)"}},
    {"secrets.cfg",
     {"secret \"pg\": give exactly one of \"env\"",
      "secret \"token\": give exactly one of \"env\""}},
    {"copy-from-lost.cfg",
     {"step \"fetch-bad\": copies from a lost site (\"from:db\")"}},
    {"names.cfg",
     {"name \"milan north\" may hold only", "name \"pay roll\" may hold only",
      "name \"-x\" may hold only"}},
    {"mixed.cfg",
     {"did you mean \"strict_tiers\"", "malformed duration \"forever\"",
      "give exactly one of", "unknown role \"backup\"",
      "missing required \"address\"", "\"priority\" is 0", "duplicate tenant",
      "but the service is global", "\"tier\" is 100", "copies from a lost site",
      "has no action", "unknown site \"paris\""}},
};

#define NWANTS (sizeof(wants) / sizeof(wants[0]))

static const struct want *
want_for(const char *base)
{
	size_t i;

	for (i = 0; i < NWANTS; i++)
		if (strcmp(wants[i].file, base) == 0)
			return &wants[i];
	return NULL;
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');

	return s ? s + 1 : path;
}

static void
print_diags(const struct dr_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		print_message("    %s:%d: %s\n",
		              d->v[i].file ? d->v[i].file : "(null)",
		              d->v[i].line, d->v[i].msg);
}

static bool
diags_have(const struct dr_diags *d, const char *sub)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strstr(d->v[i].msg, sub) != NULL)
			return true;
	return false;
}

/* The expectations written in a bad plan: "# expect: N" and "# ERR" marks. */
struct marks {
	int expect;   /* -1: no header */
	int *line;    /* expected diagnostics per line, 1-based */
	size_t nline; /* entries in line */
	int total;    /* sum of line[] */
};

static void
read_marks(const char *path, struct marks *m)
{
	FILE *f = fopen(path, "r");
	char buf[4096];
	size_t ln = 0;

	memset(m, 0, sizeof(*m));
	m->expect = -1;
	assert_non_null(f);
	while (fgets(buf, sizeof(buf), f) != NULL) {
		const char *e;
		int n;

		ln++;
		m->line = realloc(m->line, (ln + 1) * sizeof(int));
		assert_non_null(m->line);
		m->line[ln] = 0;
		m->nline = ln + 1;
		if (ln == 1 && sscanf(buf, "# expect: %d", &n) == 1)
			m->expect = n;
		if ((e = strstr(buf, "# ERR")) != NULL) {
			n = 1;
			if (sscanf(e, "# ERR x%d", &n) != 1)
				n = 1;
			m->line[ln] = n;
			m->total += n;
		}
	}
	fclose(f);
}

/* Writes all of n bytes or exits: the child's side of isolated_load. */
static void
put(int fd, const void *p, size_t n)
{
	const char *c = p;

	while (n > 0) {
		ssize_t w = write(fd, c, n);
		if (w <= 0)
			_exit(3);
		c += w;
		n -= (size_t)w;
	}
}

static bool
get(FILE *f, void *p, size_t n)
{
	return fread(p, 1, n, f) == n;
}

/*
 * Loads path in a child process so that a crash in the loader fails this
 * one case instead of the whole program. Returns true when the child ended
 * normally; then *r is dr_plan_load's result, *plan whether it returned a
 * plan, and d holds its diagnostics.
 */
static bool
isolated_load(const char *path, struct dr_diags *d, int *r, bool *plan)
{
	int fds[2], st;
	pid_t pid;
	FILE *f;
	size_t i, n;

	assert_int_equal(pipe(fds), 0);
	fflush(stdout);
	fflush(stderr);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		static const int sigs[] = {SIGSEGV, SIGBUS, SIGILL, SIGFPE,
		                           SIGABRT};
		struct dr_diags cd = {0};
		struct dr_plan *p = NULL;
		int cr;
		char hasplan;

		/* Die of a crash here: cmocka's handlers would go on running
		 * the remaining tests in this child. */
		for (i = 0; i < sizeof(sigs) / sizeof(sigs[0]); i++)
			signal(sigs[i], SIG_DFL);
		close(fds[0]);
		cr = dr_plan_load(path, &cd, &p);
		hasplan = p != NULL;
		put(fds[1], &cr, sizeof(cr));
		put(fds[1], &hasplan, 1);
		put(fds[1], &cd.n, sizeof(cd.n));
		for (i = 0; i < cd.n; i++) {
			const char *file = cd.v[i].file ? cd.v[i].file : "";
			size_t fl = strlen(file), ml = strlen(cd.v[i].msg);
			put(fds[1], &cd.v[i].line, sizeof(int));
			put(fds[1], &fl, sizeof(fl));
			put(fds[1], file, fl);
			put(fds[1], &ml, sizeof(ml));
			put(fds[1], cd.v[i].msg, ml);
		}
		dr_plan_free(p);
		dr_diag_clear(&cd);
		_exit(0);
	}
	close(fds[1]);
	f = fdopen(fds[0], "r");
	assert_non_null(f);
	if (get(f, r, sizeof(*r))) {
		char hasplan = 0;
		get(f, &hasplan, 1);
		*plan = hasplan != 0;
		if (get(f, &n, sizeof(n))) {
			for (i = 0; i < n; i++) {
				int line;
				size_t fl, ml;
				char *file, *msg;
				if (!get(f, &line, sizeof(line)) ||
				    !get(f, &fl, sizeof(fl)))
					break;
				file = calloc(1, fl + 1);
				get(f, file, fl);
				get(f, &ml, sizeof(ml));
				msg = calloc(1, ml + 1);
				get(f, msg, ml);
				dr_diag_add(d, fl ? file : NULL, line, "%s",
				            msg);
				free(file);
				free(msg);
			}
		}
	}
	fclose(f);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	if (WIFSIGNALED(st)) {
		print_message("%s: the loader crashed (signal %d)\n", path,
		              WTERMSIG(st));
		return false;
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		print_message("%s: the loader exited %d\n", path,
		              WEXITSTATUS(st));
		return false;
	}
	return true;
}

/* One bad plan: fails, count, file and line, marked lines, substrings. */
static void
test_bad_plan(void **state)
{
	const char *path = *state;
	const struct want *w = want_for(base_name(path));
	struct dr_diags d = {0};
	struct marks m;
	int r = 0, *got;
	bool plan = false, ok = true;
	size_t i;

	read_marks(path, &m);
	if (m.expect < 0 || m.total != m.expect) {
		free(m.line);
		fail_msg("%s: needs \"# expect: N\" on line 1 and N \"# ERR\" "
		         "marks (has %d)",
		         path, m.total);
	}
	if (!isolated_load(path, &d, &r, &plan)) {
		free(m.line);
		dr_diag_clear(&d);
		fail_msg("%s: dr_plan_load did not return", path);
	}
	if (r != DR_EPLAN || plan) {
		print_message("%s: dr_plan_load returned %d (%s a plan), want "
		              "DR_EPLAN and none\n",
		              path, r, plan ? "with" : "without");
		ok = false;
	}
	if (d.n != (size_t)m.expect) {
		print_message("%s: expected %d diagnostics, got %zu\n", path,
		              m.expect, d.n);
		ok = false;
	}
	got = calloc(m.nline + 1, sizeof(int));
	assert_non_null(got);
	for (i = 0; i < d.n; i++) {
		const struct dr_diag *g = &d.v[i];
		if (g->file == NULL || strcmp(g->file, path) != 0) {
			print_message("diagnostic without the file name: %s\n",
			              g->msg);
			ok = false;
		}
		if (g->line <= 0 || (size_t)g->line >= m.nline) {
			print_message("%s: diagnostic without a line in the "
			              "file (line %d): %s\n",
			              base_name(path), g->line, g->msg);
			ok = false;
			continue;
		}
		got[g->line]++;
	}
	for (i = 1; i < m.nline; i++) {
		if (got[i] != m.line[i]) {
			print_message("%s:%zu: expected %d diagnostic(s) on "
			              "this line (# ERR marks), got %d\n",
			              base_name(path), i, m.line[i], got[i]);
			ok = false;
		}
	}
	free(got);
	free(m.line);
	for (i = 0; w != NULL && i < 16 && w->subs[i]; i++) {
		if (!diags_have(&d, w->subs[i])) {
			print_message("%s: no diagnostic contains \"%s\"\n",
			              base_name(path), w->subs[i]);
			ok = false;
		}
	}
	if (!ok)
		print_diags(&d);
	dr_diag_clear(&d);
	if (!ok)
		fail();
}

/* Every plan in plans/ loads with no diagnostic at all. */
static void
test_good_plan(void **state)
{
	const char *path = *state;
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;
	int r;

	r = dr_plan_load(path, &d, &p);
	if (r != 0 || d.n != 0) {
		print_message("%s: expected a valid plan, got %d and:\n", path,
		              r);
		print_diags(&d);
		dr_diag_clear(&d);
		dr_plan_free(p);
		fail();
	}
	assert_non_null(p);
	assert_string_equal(p->path, path);
	assert_true(p->nsites > 0);
	assert_true(p->nservices > 0);
	dr_plan_free(p);
	dr_diag_clear(&d);
}

/* Every class listed above has its file (the directory did not lose one). */
static void
test_every_class_has_a_file(void **state)
{
	size_t i;

	for (i = 0; i < NWANTS; i++) {
		char path[512];
		snprintf(path, sizeof(path), "%s/%s", BAD_DIR, wants[i].file);
		if (access(path, R_OK) != 0)
			fail_msg("missing bad plan %s", path);
	}
}

/* In-memory cases. */

#define SITES                                                                  \
	"sites = (\n"                                                          \
	"  { name = \"milan\"; role = \"primary\";\n"                          \
	"    hosts = ( { name = \"mi-db1\"; address = \"10.0.0.1\"; "          \
	"roles = [\"db\"]; } ); },\n"                                          \
	"  { name = \"torino\"; role = \"standby\";\n"                         \
	"    hosts = ( { name = \"to-db1\"; address = \"10.0.1.1\"; "          \
	"roles = [\"db\"]; } ); },\n"                                          \
	"  { name = \"vault\"; role = \"vault\";\n"                            \
	"    hosts = ( { name = \"va-bk1\"; address = \"10.0.2.1\"; "          \
	"roles = [\"backup\"]; } ); }\n"                                       \
	");\n"

#define HEAD "version = 1;\nname = \"t\";\n" SITES

static int
load_str(const char *text, struct dr_diags *d, struct dr_plan **p)
{
	return dr_plan_load_string(text, "mem.cfg", d, p);
}

static void
expect_error(const char *text, const char *sub)
{
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;
	int r = load_str(text, &d, &p);

	if (r != DR_EPLAN || p != NULL || !diags_have(&d, sub)) {
		print_message("expected an error containing \"%s\", got %d:\n",
		              sub, r);
		print_diags(&d);
		fail();
	}
	dr_diag_clear(&d);
}

static struct dr_plan *
expect_valid(const char *text)
{
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;
	int r = load_str(text, &d, &p);

	if (r != 0 || d.n != 0) {
		print_message("expected a valid plan, got %d:\n", r);
		print_diags(&d);
		fail();
	}
	dr_diag_clear(&d);
	return p;
}

static void
test_missing_file(void **state)
{
	struct dr_diags d = {0};
	struct dr_plan *p = (struct dr_plan *)1;

	assert_int_equal(dr_plan_load("/nonexistent/drover/x.cfg", &d, &p),
	                 DR_EIO);
	assert_null(p);
	assert_int_equal(d.n, 1);
	assert_string_equal(d.v[0].file, "/nonexistent/drover/x.cfg");
	assert_non_null(strstr(d.v[0].msg, "cannot read plan"));
	dr_diag_clear(&d);
}

static void
test_binary_file(void **state)
{
	char path[] = "/tmp/drover-test-XXXXXX";
	int fd = mkstemp(path);
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;

	assert_true(fd >= 0);
	assert_int_equal(write(fd, "version = 1;\0\1\2", 16), 16);
	close(fd);
	assert_int_equal(dr_plan_load(path, &d, &p), DR_EPLAN);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.v[0].msg, "not a text file"));
	unlink(path);
	dr_diag_clear(&d);
}

static void
test_empty_file(void **state)
{
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;

	assert_int_equal(load_str("", &d, &p), DR_EPLAN);
	assert_true(diags_have(&d, "missing required \"version\""));
	assert_true(diags_have(&d, "missing required \"sites\""));
	assert_true(diags_have(&d, "missing required \"services\""));
	dr_diag_clear(&d);
}

static void
test_defaults_and_durations(void **state)
{
	struct dr_plan *p = expect_valid(
	    HEAD "defaults: { timeout = \"1h30m\"; retries = 2; };\n"
	         "tenants = ( { name = \"t1\"; priority = 7; vars = { n = 5; "
	         "}; } );\n"
	         "services = ( { name = \"s\"; tier = 3; rto = \"8h\"; "
	         "scope = \"tenant\";\n"
	         "  steps = ( { name = \"a\"; on = \"to:db\"; run = \"x "
	         "${var.n}\"; },\n"
	         "            { name = \"b\"; on = \"to:db\"; run = \"y\"; "
	         "timeout = \"90s\"; retries = 0; } ); } );\n");
	const struct dr_service *s;

	assert_non_null(p);
	assert_int_equal(p->version, 1);
	assert_true(p->strict_tiers);
	assert_int_equal(p->defaults.timeout_ms, 5400000);
	assert_int_equal(p->defaults.port, 22);
	s = dr_plan_service(p, "s");
	assert_non_null(s);
	assert_int_equal(s->tier, 3);
	assert_int_equal(s->rto_ms, 8 * 3600 * 1000);
	assert_int_equal(s->scope, DR_SCOPE_TENANT);
	assert_int_equal(s->nsteps, 2);
	assert_int_equal(s->steps[0].timeout_ms, 5400000);
	assert_int_equal(s->steps[0].retries, 2);
	assert_int_equal(s->steps[1].timeout_ms, 90000);
	assert_int_equal(s->steps[1].retries, 0);
	assert_int_equal(s->steps[1].index, 1);
	assert_string_equal(dr_plan_var(p, dr_plan_tenant(p, "t1"), "n"), "5");
	assert_int_equal(dr_plan_tenant(p, "t1")->priority, 7);
	assert_int_equal(dr_plan_site(p, "vault")->role, DR_SITE_VAULT);
	dr_plan_free(p);
}

/* limits.channels: commands per SSH connection, 8 unless given, 1..64. */
static void
test_limits_channels(void **state)
{
	static const char svc[] =
	    "services = ( { name = \"s\"; tier = 1; scope = \"global\";\n"
	    "  steps = ( { name = \"a\"; on = \"to:db\"; run = \"x\"; } ); "
	    "} );\n";
	char text[4096];
	struct dr_plan *p;

	snprintf(text, sizeof(text), "%s%s", HEAD, svc);
	p = expect_valid(text);
	assert_int_equal(p->limits.channels, 8);
	assert_int_equal(p->limits.per_host, 4);
	dr_plan_free(p);
	snprintf(text, sizeof(text),
	         "%slimits: { per_host = 16; channels = 64; "
	         "};\n%s",
	         HEAD, svc);
	p = expect_valid(text);
	assert_int_equal(p->limits.channels, 64);
	assert_int_equal(p->limits.per_host, 16);
	dr_plan_free(p);
	snprintf(text, sizeof(text), "%slimits: { channels = 0; };\n%s", HEAD,
	         svc);
	expect_error(text, "limits: \"channels\" is 0, must be 1 to 64");
	snprintf(text, sizeof(text), "%slimits: { channels = 65; };\n%s", HEAD,
	         svc);
	expect_error(text, "limits: \"channels\" is 65, must be 1 to 64");
	snprintf(text, sizeof(text), "%slimits: { channel = 2; };\n%s", HEAD,
	         svc);
	expect_error(text, "(did you mean \"channels\"?)");
}

static void
test_self_after(void **state)
{
	expect_error(HEAD "services = ( { name = \"a\"; tier = 1; scope = "
	                  "\"global\"; after = [\"a\"];\n"
	                  "  steps = ( { name = \"s\"; on = \"to:db\"; run = "
	                  "\"x\"; } ); } );\n",
	             "runs after itself");
}

static void
test_two_cycle(void **state)
{
	expect_error(HEAD "services = (\n"
	                  " { name = \"a\"; tier = 1; scope = \"global\"; "
	                  "after = [\"b\"];\n"
	                  "  steps = ( { name = \"s\"; on = \"to:db\"; run = "
	                  "\"x\"; } ); },\n"
	                  " { name = \"b\"; tier = 1; scope = \"global\"; "
	                  "after = [\"a\"];\n"
	                  "  steps = ( { name = \"s\"; on = \"to:db\"; run = "
	                  "\"x\"; } ); } );\n",
	             "dependency cycle: a -> b -> a");
}

static void
test_loose_tiers_allow_inversion(void **state)
{
	struct dr_plan *p = expect_valid(
	    HEAD "strict_tiers = false;\n"
	         "services = (\n"
	         " { name = \"web\"; tier = 3; scope = \"global\";\n"
	         "  steps = ( { name = \"s\"; on = \"to:db\"; run = \"x\"; } "
	         "); },\n"
	         " { name = \"pay\"; tier = 1; scope = \"global\"; after = "
	         "[\"web\"];\n"
	         "  steps = ( { name = \"s\"; on = \"to:db\"; run = \"x\"; } "
	         "); } );\n");
	assert_false(p->strict_tiers);
	dr_plan_free(p);
}

static void
test_secret_outside_command(void **state)
{
	expect_error(HEAD "secrets = ( { name = \"tok\"; env = \"TOK\"; } );\n"
	                  "services = ( { name = \"a\"; tier = 1; scope = "
	                  "\"global\";\n"
	                  "  steps = ( { name = \"p\"; probe = { http = "
	                  "\"http://x/${secret.tok}\"; }; } ); } );\n",
	             "secrets may only be used in");
}

static void
test_malformed_reference(void **state)
{
	expect_error(HEAD "services = ( { name = \"a\"; tier = 1; scope = "
	                  "\"global\";\n"
	                  "  steps = ( { name = \"s\"; on = \"to:db\"; run = "
	                  "\"echo ${oops\"; } ); } );\n",
	             "malformed ${...} in run");
}

static void
test_plan_var_serves_all_tenants(void **state)
{
	struct dr_plan *p = expect_valid(
	    HEAD "vars = { db = \"default\"; };\n"
	         "tenants = ( { name = \"t1\"; priority = 1; vars = { db = "
	         "\"one\"; }; },\n"
	         "            { name = \"t2\"; priority = 2; } );\n"
	         "services = ( { name = \"a\"; tier = 1; scope = \"tenant\";\n"
	         "  steps = ( { name = \"s\"; on = \"to:db\"; run = \"x "
	         "${var.db}\"; } ); } );\n");
	assert_string_equal(dr_plan_var(p, dr_plan_tenant(p, "t1"), "db"),
	                    "one");
	assert_string_equal(dr_plan_var(p, dr_plan_tenant(p, "t2"), "db"),
	                    "default");
	dr_plan_free(p);
}

static void
test_tenant_service_needs_tenants(void **state)
{
	expect_error(HEAD "services = ( { name = \"a\"; tier = 1; scope = "
	                  "\"tenant\";\n"
	                  "  steps = ( { name = \"s\"; on = \"to:db\"; run = "
	                  "\"x\"; } ); } );\n",
	             "per tenant but the plan has no tenants");
}

static void
test_copy_source_must_be_checked_against_sites(void **state)
{
	expect_error(HEAD "services = ( { name = \"a\"; tier = 1; scope = "
	                  "\"global\";\n"
	                  "  steps = ( { name = \"c\"; copy = { from = "
	                  "\"vault:tape:/x\"; to = \"to:db:/y/\"; }; } ); } "
	                  ");\n",
	             "site \"vault\" has no host or role \"tape\"");
}

/* Each keyword value maps to its enum; any other is named with the words. */
static void
test_keywords(void **state)
{
	struct dr_plan *p = expect_valid(
	    HEAD "services = ( { name = \"a\"; tier = 1; scope = \"global\";\n"
	         "  steps = ( { name = \"s\"; on = \"to:db\"; run = \"x\"; "
	         "on_failure = \"pause\"; unreachable = \"continue\"; "
	         "when = \"drill\"; },\n"
	         "            { name = \"t\"; on = \"to:db\"; run = \"x\"; "
	         "when = \"always\"; } ); } );\n");
	const struct dr_step *st = p->services[0].steps;

	assert_int_equal(p->services[0].scope, DR_SCOPE_GLOBAL);
	assert_int_equal(st[0].on_failure, DR_FAIL_PAUSE);
	assert_int_equal(st[0].unreachable, DR_UNREACH_CONTINUE);
	assert_int_equal(st[0].when, DR_MODE_DRILL);
	assert_int_equal(st[1].on_failure, DR_FAIL_ABORT);
	assert_int_equal(st[1].when, DR_MODE_FAILOVER | DR_MODE_DRILL);
	dr_plan_free(p);
	expect_error(HEAD "services = ( { name = \"a\"; tier = 1; scope = "
	                  "\"site\";\n"
	                  "  steps = ( { name = \"s\"; on = \"to:db\"; run = "
	                  "\"x\"; on_failure = \"stop\"; } ); } );\n",
	             "on_failure \"stop\" must be abort, continue or pause");
	expect_error(HEAD "services = ( { name = \"a\"; tier = 1; scope = "
	                  "\"site\";\n"
	                  "  steps = ( { name = \"s\"; on = \"to:db\"; run = "
	                  "\"x\"; } ); } );\n",
	             "scope \"site\" must be global or tenant");
}

/* Every later duplicate points at the first definition. */
static void
test_duplicates_point_at_first(void **state)
{
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;
	char first[64];
	const char *q;
	int line = 2; /* the first tenant is on the line after HEAD's */
	size_t i, hits = 0;

	for (q = HEAD; *q; q++)
		line += *q == '\n';
	snprintf(first, sizeof(first), "(first defined at line %d)", line);
	assert_int_equal(load_str(HEAD "tenants = (\n"
	                               "  { name = \"t\"; priority = 1; },\n"
	                               "  { name = \"t\"; priority = 2; },\n"
	                               "  { name = \"t\"; priority = 3; } );\n",
	                          &d, &p),
	                 DR_EPLAN);
	for (i = 0; i < d.n; i++) {
		if (strstr(d.v[i].msg, "duplicate tenant \"t\"") == NULL)
			continue;
		if (strstr(d.v[i].msg, first) == NULL)
			fail_msg("line %d: \"%s\" does not say \"%s\"",
			         d.v[i].line, d.v[i].msg, first);
		hits++;
	}
	assert_int_equal(hits, 2);
	dr_diag_clear(&d);
}

static void
test_diag_print_format(void **state)
{
	struct dr_diags d = {0};
	char buf[512] = {0};
	FILE *f = fmemopen(buf, sizeof(buf) - 1, "w");

	assert_non_null(f);
	dr_diag_add(&d, "p.cfg", 9, "late");
	dr_diag_add(&d, "p.cfg", 2, "early %d", 1);
	dr_diag_add(&d, "p.cfg", 0, "no line");
	dr_diag_add(&d, NULL, 0, "no file");
	dr_diag_print(&d, f);
	fclose(f);
	assert_string_equal(buf, "drover: no file\n"
	                         "p.cfg: no line\n"
	                         "p.cfg:2: early 1\n"
	                         "p.cfg:9: late\n");
	dr_diag_clear(&d);
	assert_int_equal(d.n, 0);
}

/* Globs pattern into a NULL-terminated, malloc'd list of paths. */
static char **
list(const char *pattern, size_t *n)
{
	glob_t g;
	char **v;
	size_t i;

	*n = 0;
	if (glob(pattern, 0, NULL, &g) != 0)
		return calloc(1, sizeof(char *));
	v = calloc(g.gl_pathc + 1, sizeof(char *));
	for (i = 0; i < g.gl_pathc; i++)
		v[i] = strdup(g.gl_pathv[i]);
	*n = g.gl_pathc;
	globfree(&g);
	return v;
}

static int
run_dir(const char *group, const char *pattern, CMUnitTestFunction fn)
{
	size_t n, i;
	char **paths = list(pattern, &n);
	struct CMUnitTest *t = calloc(n + 1, sizeof(*t));
	int r;

	for (i = 0; i < n; i++) {
		t[i].name = base_name(paths[i]);
		t[i].test_func = fn;
		t[i].initial_state = paths[i];
	}
	r = n ? _cmocka_run_group_tests(group, t, n, NULL, NULL) : 0;
	for (i = 0; i < n; i++)
		free(paths[i]);
	free(paths);
	free(t);
	return r;
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_every_class_has_a_file),
	    cmocka_unit_test(test_missing_file),
	    cmocka_unit_test(test_binary_file),
	    cmocka_unit_test(test_empty_file),
	    cmocka_unit_test(test_defaults_and_durations),
	    cmocka_unit_test(test_limits_channels),
	    cmocka_unit_test(test_self_after),
	    cmocka_unit_test(test_two_cycle),
	    cmocka_unit_test(test_loose_tiers_allow_inversion),
	    cmocka_unit_test(test_secret_outside_command),
	    cmocka_unit_test(test_malformed_reference),
	    cmocka_unit_test(test_plan_var_serves_all_tenants),
	    cmocka_unit_test(test_tenant_service_needs_tenants),
	    cmocka_unit_test(test_copy_source_must_be_checked_against_sites),
	    cmocka_unit_test(test_keywords),
	    cmocka_unit_test(test_duplicates_point_at_first),
	    cmocka_unit_test(test_diag_print_format),
	};
	int r = 0;

	r += cmocka_run_group_tests_name("validate", tests, NULL, NULL);
	r += run_dir("bad plans", BAD_DIR "/*.cfg", test_bad_plan);
	r += run_dir("good plans", GOOD_DIR "/*.cfg", test_good_plan);
	return r ? 1 : 0;
}
