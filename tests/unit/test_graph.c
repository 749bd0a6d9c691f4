/*
 * test_graph.c: expansion of a plan into tasks, dependencies, order, drill
 * interlock, filters, direction errors and rendered commands.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/graph.h"
#include "drover/plan.h"

#include "run_shell.h"

/*
 * milan (primary) and rome (secondary) can be lost; torino (standby) and
 * drill are targets; vault has two backup hosts.
 */
#define SITES                                                                  \
	"sites = (\n"                                                          \
	" { name = \"milan\"; role = \"primary\"; hosts = (\n"                 \
	"   { name = \"mi-db1\"; address = \"10.1.0.1\"; roles = [\"db\"]; "   \
	"},\n"                                                                 \
	"   { name = \"mi-db2\"; address = \"10.1.0.2\"; roles = [\"db\"]; "   \
	"},\n"                                                                 \
	"   { name = \"mi-app1\"; address = \"10.1.1.1\"; roles = [\"app\"]; " \
	"} ); },\n"                                                            \
	" { name = \"rome\"; role = \"secondary\"; hosts = (\n"                \
	"   { name = \"ro-db1\"; address = \"10.2.0.1\"; roles = [\"db\"]; "   \
	"},\n"                                                                 \
	"   { name = \"ro-app1\"; address = \"10.2.1.1\"; roles = [\"app\"]; " \
	"} ); },\n"                                                            \
	" { name = \"torino\"; role = \"standby\"; hosts = (\n"                \
	"   { name = \"to-db1\"; address = \"10.3.0.1\"; roles = [\"db\"]; "   \
	"},\n"                                                                 \
	"   { name = \"to-app1\"; address = \"10.3.1.1\"; roles = [\"app\"]; " \
	"},\n"                                                                 \
	"   { name = \"to-app2\"; address = \"10.3.1.2\"; roles = [\"app\"]; " \
	"} ); },\n"                                                            \
	" { name = \"drill\"; role = \"drill\"; hosts = (\n"                   \
	"   { name = \"dr-db1\"; address = \"10.5.0.1\"; roles = [\"db\"]; "   \
	"},\n"                                                                 \
	"   { name = \"dr-app1\"; address = \"10.5.1.1\"; roles = [\"app\"]; " \
	"},\n"                                                                 \
	"   { name = \"dr-app2\"; address = \"10.5.1.2\"; roles = [\"app\"]; " \
	"} ); },\n"                                                            \
	" { name = \"vault\"; role = \"vault\"; hosts = (\n"                   \
	"   { name = \"va-bk1\"; address = \"10.4.0.1\"; roles = "             \
	"[\"backup\"]; },\n"                                                   \
	"   { name = \"va-bk2\"; address = \"10.4.0.2\"; roles = "             \
	"[\"backup\"]; } ); }\n"                                               \
	");\n"

/*
 * Tenants: brescia first (priority 1), then lodi, then aaa (named first,
 * recovered last). Per --from milan --to torino the plan expands to:
 *   fence     tier 0 global: cut x2 (mi-db1, mi-db2), revoke x1, check x1
 *   base      tier 0 global: provision x3 (to:*)
 *   payroll   tier 1 tenant: fetch x1, restore x1, healthy x2   (x3 tenants)
 *   anagrafe  tier 2 tenant: restore x1                         (x3)
 *   website   tier 3 tenant: publish x2                         (x3)
 *   reconnect tier 4 global: go-live x1, open x2
 * = 4 + 3 + 12 + 3 + 6 + 3 = 31 tasks.
 */
static const char plan_text[] =
    "version = 1;\nname = \"g\";\n" SITES "tenants = (\n"
    " { name = \"lodi\"; priority = 2; vars = { db = \"lo'; rm -rf /\"; }; },\n"
    " { name = \"brescia\"; priority = 1; vars = { db = \"bs\"; }; },\n"
    " { name = \"aaa\"; priority = 3; vars = { db = \"aa\"; }; }\n"
    ");\n"
    "services = (\n"
    " { name = \"fence\"; tier = 0; scope = \"global\"; steps = (\n"
    "   { name = \"cut\"; on = \"from:db\"; run = \"stop-replication "
    "${host}\"; },\n"
    "   { name = \"revoke\"; local = \"revoke --sites ${from}\"; },\n"
    "   { name = \"check\"; on = \"from:app\"; run = \"status\"; readonly = "
    "true; } ); },\n"
    " { name = \"base\"; tier = 0; scope = \"global\"; after = [\"fence\"]; "
    "steps = (\n"
    "   { name = \"provision\"; on = \"to:*\"; run = \"prep ${host}\"; } ); "
    "},\n"
    " { name = \"payroll\"; tier = 1; scope = \"tenant\"; after = "
    "[\"base\"]; steps = (\n"
    "   { name = \"fetch\"; copy = { from = "
    "\"vault:va-bk1:/b/${tenant}/payroll.dump\";\n"
    "       to = \"to:db:/r/${tenant}/\"; sha256 = \"manifest\"; }; },\n"
    "   { name = \"restore\"; on = \"to:db\"; run = \"restore ${var.db}\"; "
    "},\n"
    "   { name = \"healthy\"; on = \"to:app\"; probe = { http = "
    "\"http://${address}:80/${tenant}\"; }; } ); },\n"
    " { name = \"anagrafe\"; tier = 2; scope = \"tenant\"; after = "
    "[\"payroll\"]; steps = (\n"
    "   { name = \"restore\"; on = \"to:db\"; run = \"restore-ana "
    "${tenant}\"; } ); },\n"
    " { name = \"website\"; tier = 3; scope = \"tenant\"; after = "
    "[\"base\"]; steps = (\n"
    "   { name = \"publish\"; on = \"to:app\"; run = \"publish ${tenant}\"; "
    "} ); },\n"
    " { name = \"reconnect\"; tier = 4; scope = \"global\";\n"
    "   after = [\"payroll\", \"anagrafe\", \"website\"]; steps = (\n"
    "   { name = \"go-live\"; approve = \"open ${to}?\"; },\n"
    "   { name = \"open\"; on = \"to:app\"; run = \"open-routes\"; } ); }\n"
    ");\n";

static struct dr_plan *
load(const char *text)
{
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;
	size_t i;

	if (dr_plan_load_string(text, "graph.cfg", &d, &p) != 0) {
		for (i = 0; i < d.n; i++)
			print_message("%s:%d: %s\n", d.v[i].file, d.v[i].line,
			              d.v[i].msg);
		fail_msg("fixture plan did not load");
	}
	dr_diag_clear(&d);
	return p;
}

static int
setup(void **state)
{
	*state = load(plan_text);
	return 0;
}

static int
teardown(void **state)
{
	dr_plan_free(*state);
	return 0;
}

/* Expands with from = "a,b" split on commas; returns the graph or NULL. */
static struct dr_graph *
expand_full(const struct dr_plan *p, const char *from, const char *to,
            unsigned mode, const char *const *only, size_t nonly,
            struct dr_diags *d)
{
	struct dr_expand_opts o = {0};
	const char *names[8];
	char buf[128], *tok, *save = NULL, *s;
	struct dr_graph *g = NULL;

	snprintf(buf, sizeof(buf), "%s", from);
	for (s = buf; (tok = strtok_r(s, ",", &save)) != NULL; s = NULL)
		names[o.nfrom++] = tok;
	o.from = names;
	o.to = to;
	o.mode = mode;
	o.only = only;
	o.nonly = nonly;
	if (dr_graph_expand(p, &o, d, &g) != 0)
		return NULL;
	return g;
}

static struct dr_graph *
expand(const struct dr_plan *p, const char *from, const char *to, unsigned mode,
       const char *const *only, size_t nonly)
{
	struct dr_diags d = {0};
	struct dr_graph *g = expand_full(p, from, to, mode, only, nonly, &d);
	size_t i;

	if (g == NULL) {
		for (i = 0; i < d.n; i++)
			print_message("%s:%d: %s\n",
			              d.v[i].file ? d.v[i].file : "-",
			              d.v[i].line, d.v[i].msg);
		fail_msg("expansion --from %s --to %s failed", from, to);
	}
	assert_int_equal(d.n, 0);
	dr_diag_clear(&d);
	return g;
}

/* Expects expansion to fail with a diagnostic containing sub. */
static void
expect_fail(const struct dr_plan *p, const char *from, const char *to,
            unsigned mode, const char *const *only, size_t nonly,
            const char *sub)
{
	struct dr_diags d = {0};
	struct dr_graph *g = expand_full(p, from, to, mode, only, nonly, &d);
	size_t i;
	bool found = false;

	for (i = 0; i < d.n; i++)
		if (strstr(d.v[i].msg, sub) != NULL)
			found = true;
	if (g != NULL || !found) {
		for (i = 0; i < d.n; i++)
			print_message("  %s\n", d.v[i].msg);
		dr_graph_free(g);
		fail_msg("expected --from %s --to %s to fail with \"%s\"", from,
		         to, sub);
	}
	dr_diag_clear(&d);
}

static size_t
count(const struct dr_graph *g, const char *svc, const char *step,
      const char *tenant)
{
	size_t i, n = 0;

	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		if (svc && strcmp(t->service->name, svc) != 0)
			continue;
		if (step && strcmp(t->step->name, step) != 0)
			continue;
		if (tenant &&
		    (t->tenant == NULL || strcmp(t->tenant->name, tenant) != 0))
			continue;
		n++;
	}
	return n;
}

static const struct dr_task *
find(const struct dr_graph *g, const char *key)
{
	size_t i;

	for (i = 0; i < g->ntasks; i++)
		if (strcmp(g->tasks[i].key, key) == 0)
			return &g->tasks[i];
	fail_msg("no task %s", key);
	return NULL;
}

static bool
depends_on(const struct dr_task *t, const struct dr_task *d)
{
	size_t i;

	for (i = 0; i < t->ndeps; i++)
		if (t->deps[i] == d->id)
			return true;
	return false;
}

/*
 * Checks that order is a permutation of the tasks, every task comes after
 * its dependencies, rdeps mirror deps, and (strict) tiers never go down.
 */
static size_t *
check_order(const struct dr_graph *g, bool strict)
{
	size_t *order = calloc(g->ntasks + 1, sizeof(size_t));
	size_t *pos = calloc(g->ntasks + 1, sizeof(size_t));
	bool *seen = calloc(g->ntasks + 1, sizeof(bool));
	size_t i, j, nr = 0, nd = 0;

	assert_int_equal(dr_graph_order(g, order), 0);
	for (i = 0; i < g->ntasks; i++) {
		assert_true(order[i] < g->ntasks);
		assert_false(seen[order[i]]);
		seen[order[i]] = true;
		pos[order[i]] = i;
	}
	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		assert_int_equal(t->id, i);
		nd += t->ndeps;
		nr += t->nrdeps;
		for (j = 0; j < t->ndeps; j++) {
			assert_true(t->deps[j] < g->ntasks);
			assert_true(t->deps[j] != i);
			if (pos[t->deps[j]] >= pos[i])
				fail_msg("%s runs before its dependency %s",
				         t->key, g->tasks[t->deps[j]].key);
			if (j > 0)
				assert_true(t->deps[j - 1] < t->deps[j]);
		}
	}
	assert_int_equal(nd, nr);
	if (strict) {
		for (i = 1; i < g->ntasks; i++) {
			const struct dr_task *a = &g->tasks[order[i - 1]];
			const struct dr_task *b = &g->tasks[order[i]];
			if (a->tier > b->tier)
				fail_msg(
				    "tier %d task %s ordered before tier %d "
				    "task %s",
				    a->tier, a->key, b->tier, b->key);
		}
	}
	free(pos);
	free(seen);
	return order;
}

static void
test_counts(void **state)
{
	struct dr_graph *g =
	    expand(*state, "milan", "torino", DR_MODE_FAILOVER, NULL, 0);

	assert_int_equal(g->ntasks, 31);
	assert_int_equal(g->nfrom, 1);
	assert_string_equal(g->to->name, "torino");
	assert_string_equal(dr_graph_from_names(g), "milan");
	/* Global services once; a step once per matched host. */
	assert_int_equal(count(g, "fence", "cut", NULL), 2);
	assert_int_equal(count(g, "fence", "revoke", NULL), 1);
	assert_int_equal(count(g, "fence", "check", NULL), 1);
	assert_int_equal(count(g, "base", "provision", NULL), 3);
	/* Tenant services once per tenant. */
	assert_int_equal(count(g, "payroll", NULL, NULL), 12);
	assert_int_equal(count(g, "payroll", "healthy", "lodi"), 2);
	assert_int_equal(count(g, "anagrafe", NULL, NULL), 3);
	assert_int_equal(count(g, "website", NULL, NULL), 6);
	assert_int_equal(count(g, "reconnect", NULL, NULL), 3);
	/* Keys, hosts, tenants, tiers, priorities. */
	{
		const struct dr_task *t = find(g, "fence/cut@milan/mi-db2");
		assert_string_equal(t->host->name, "mi-db2");
		assert_string_equal(t->site->name, "milan");
		assert_null(t->tenant);
		assert_int_equal(t->priority, 0);
		t = find(g, "fence/revoke");
		assert_null(t->host);
		assert_null(t->site);
		assert_string_equal(t->command,
		                    "_dr_from='milan'\n"
		                    "revoke --sites \"${_dr_from}\"");
		t = find(g, "payroll/lodi/restore@torino/to-db1");
		assert_int_equal(t->tier, 1);
		assert_int_equal(t->priority, 2);
		assert_string_equal(t->tenant->name, "lodi");
	}
	free(check_order(g, true));
	dr_graph_free(g);
}

static void
test_from_two_sites(void **state)
{
	struct dr_graph *g =
	    expand(*state, "milan,rome", "torino", DR_MODE_FAILOVER, NULL, 0);

	assert_int_equal(g->nfrom, 2);
	assert_string_equal(dr_graph_from_names(g), "milan,rome");
	assert_string_equal(dr_graph_direction(g),
	                    "milan (primary, LOST), rome (secondary, LOST) "
	                    "-> torino (standby)");
	/* from:db selects in both lost sites. */
	assert_int_equal(count(g, "fence", "cut", NULL), 3);
	find(g, "fence/cut@milan/mi-db1");
	find(g, "fence/cut@milan/mi-db2");
	find(g, "fence/cut@rome/ro-db1");
	assert_int_equal(count(g, "fence", "check", NULL), 2);
	assert_int_equal(g->ntasks, 33);
	assert_string_equal(find(g, "fence/revoke")->command,
	                    "_dr_from='milan,rome'\n"
	                    "revoke --sites \"${_dr_from}\"");
	/* The same site twice is one site. */
	dr_graph_free(g);
	g = expand(*state, "milan,milan", "torino", DR_MODE_FAILOVER, NULL, 0);
	assert_int_equal(g->nfrom, 1);
	assert_int_equal(g->ntasks, 31);
	free(check_order(g, true));
	dr_graph_free(g);
}

static void
test_copy_source(void **state)
{
	struct dr_graph *g =
	    expand(*state, "milan", "torino", DR_MODE_FAILOVER, NULL, 0);
	const struct dr_task *t = find(g, "payroll/lodi/fetch@torino/to-db1");

	assert_non_null(t->src_host);
	assert_string_equal(t->src_host->name, "va-bk1");
	assert_string_equal(t->src_path, "/b/lodi/payroll.dump");
	assert_string_equal(t->dst_path, "/r/lodi/");
	assert_string_equal(t->sha256, "manifest");
	assert_string_equal(t->host->name, "to-db1");
	dr_graph_free(g);
}

static void
test_copy_source_several_hosts(void **state)
{
	struct dr_plan *p = load(
	    "version = 1;\nname = \"c\";\n" SITES
	    "services = ( { name = \"s\"; tier = 1; scope = \"global\"; steps "
	    "= (\n"
	    " { name = \"fetch\"; copy = { from = \"vault:backup:/b/x\"; to = "
	    "\"to:db:/r/\"; }; } ); } );\n");
	expect_fail(p, "milan", "torino", DR_MODE_FAILOVER, NULL, 0,
	            "copy source matches several hosts");
	dr_plan_free(p);
}

/* The hunt (graph.h): one task per source host of the copies from
 * restore-point sets, in the tier of the first, readonly; every such copy
 * depends on its host's hunt; none without indicators the vault can see. */
static void
test_hunt_tasks(void **state)
{
	static const char *fmt =
	    "version = 1;\nname = \"h\";\n" SITES
	    "%s\ntenants = ( { name = \"t1\"; priority = 1; }, "
	    "{ name = \"t2\"; priority = 2; } );\n"
	    "services = ( { name = \"s\"; tier = 2; scope = \"tenant\"; "
	    "steps = (\n"
	    " { name = \"f1\"; copy = { from = "
	    "\"vault:va-bk1:/b/${tenant}/x-*.tar\"; to = \"to:db:/r/\"; }; },\n"
	    " { name = \"f2\"; copy = { from = \"vault:va-bk2:/b/y-*.tar\"; "
	    "to = \"to:db:/r/\"; }; },\n"
	    " { name = \"plain\"; copy = { from = \"vault:va-bk1:/b/z\"; "
	    "to = \"to:db:/r/\"; }; } ); } );\n";
	char *text = dr_xasprintf(
	    fmt, "indicators = { names = [\"README-LOCKBIT.txt\"]; };");
	struct dr_plan *p = load(text);
	struct dr_graph *g =
	    expand(p, "milan", "torino", DR_MODE_FAILOVER, NULL, 0);
	const struct dr_task *h1 = find(g, "hunt/indicators@vault/va-bk1");
	const struct dr_task *h2 = find(g, "hunt/indicators@vault/va-bk2");
	const char *t;

	(void)state;
	assert_int_equal(count(g, "hunt", NULL, NULL), 2);
	assert_true(h1->hunt && h1->step->readonly && h1->tier == 2);
	assert_true(depends_on(find(g, "s/t1/f1@torino/to-db1"), h1));
	assert_true(depends_on(find(g, "s/t2/f1@torino/to-db1"), h1));
	assert_false(depends_on(find(g, "s/t1/f1@torino/to-db1"), h2));
	assert_true(depends_on(find(g, "s/t1/f2@torino/to-db1"), h2));
	assert_false(depends_on(find(g, "s/t1/plain@torino/to-db1"), h1));
	/* each set once, by host; the tenant's value quoted */
	assert_non_null(strstr(h1->command, "'/b/t1/x-'*'.tar'"));
	assert_non_null(strstr(h1->command, "'/b/t2/x-'*'.tar'"));
	assert_null(strstr(h1->command, "y-"));
	t = strstr(h2->command, "/b/y-");
	assert_non_null(t);
	assert_null(strstr(t + 1, "/b/y-")); /* once for both tenants */
	free(check_order(g, true));
	dr_graph_free(g);
	dr_plan_free(p);
	free(text);
	/* digests only: the vault side cannot see them, no hunt */
	text =
	    dr_xasprintf(fmt, "indicators = { sha256 = [\"0000000000000000"
	                      "000000000000000000000000000000000000000000000000"
	                      "\"]; };");
	p = load(text);
	g = expand(p, "milan", "torino", DR_MODE_FAILOVER, NULL, 0);
	assert_int_equal(count(g, "hunt", NULL, NULL), 0);
	dr_graph_free(g);
	dr_plan_free(p);
	free(text);
}

/* A copy from a site that is lost in this direction reads compromised data. */
static int
setup_named_lost(void **state)
{
	*state = load(
	    "version = 1;\nname = \"c\";\n" SITES
	    "services = ( { name = \"s\"; tier = 1; scope = \"global\"; steps "
	    "= (\n"
	    " { name = \"fetch\"; copy = { from = \"milan:mi-db1:/pg/x.dump\"; "
	    "to = \"to:db:/r/\"; }; } ); } );\n");
	return 0;
}

static void
test_copy_from_named_lost_site(void **state)
{
	struct dr_graph *g;

	/* Rome lost: milan is clean, copying from it is allowed. */
	g = expand(*state, "rome", "torino", DR_MODE_FAILOVER, NULL, 0);
	assert_int_equal(g->ntasks, 1);
	dr_graph_free(g);
	/* Milan lost: the copy would restore from the compromised site. */
	expect_fail(*state, "milan", "torino", DR_MODE_FAILOVER, NULL, 0,
	            "lost");
}

/* Steps that name a site's hosts outright, not through "from:". */
static int
setup_on_named_lost(void **state)
{
	*state = load(
	    "version = 1;\nname = \"c\";\n" SITES
	    "services = ( { name = \"s\"; tier = 1; scope = \"global\"; steps "
	    "= (\n"
	    " { name = \"peek\"; on = \"milan:db\"; run = \"true\"; },\n"
	    " { name = \"push\"; copy = { from = \"torino:to-db1:/r/x\"; "
	    "to = \"milan:mi-app1:/x\"; }; } ); } );\n");
	return 0;
}

static void
test_on_named_lost_site(void **state)
{
	struct dr_graph *g;

	/* Rome lost: milan is not, a step may name it. */
	g = expand(*state, "rome", "torino", DR_MODE_FAILOVER, NULL, 0);
	assert_int_equal(g->ntasks, 3);
	dr_graph_free(g);
	/* Milan lost: it is only fenced, through "from:". */
	expect_fail(*state, "milan", "torino", DR_MODE_FAILOVER, NULL, 0,
	            "step \"peek\": runs on a lost site, which is only fenced");
	expect_fail(*state, "milan", "torino", DR_MODE_FAILOVER, NULL, 0,
	            "step \"push\": copies to a lost site, which is only "
	            "fenced");
	expect_fail(*state, "milan,rome", "torino", DR_MODE_FAILOVER, NULL, 0,
	            "runs on a lost site");
}

static void
test_deps(void **state)
{
	struct dr_graph *g =
	    expand(*state, "milan", "torino", DR_MODE_FAILOVER, NULL, 0);
	const struct dr_task *cut1 = find(g, "fence/cut@milan/mi-db1");
	const struct dr_task *cut2 = find(g, "fence/cut@milan/mi-db2");
	const struct dr_task *revoke = find(g, "fence/revoke");
	const struct dr_task *check = find(g, "fence/check@milan/mi-app1");
	const struct dr_task *prov = find(g, "base/provision@torino/to-db1");
	const struct dr_task *fetch =
	    find(g, "payroll/lodi/fetch@torino/to-db1");
	const struct dr_task *restore =
	    find(g, "payroll/lodi/restore@torino/to-db1");
	const struct dr_task *h1 =
	    find(g, "payroll/lodi/healthy@torino/to-app1");
	const struct dr_task *h2 =
	    find(g, "payroll/lodi/healthy@torino/to-app2");
	const struct dr_task *ana =
	    find(g, "anagrafe/lodi/restore@torino/to-db1");
	const struct dr_task *golive = find(g, "reconnect/go-live");
	const char *tenants[] = {"lodi", "brescia", "aaa"};
	size_t i;

	/* Steps of one service chain: every task of step k on all of k-1. */
	assert_int_equal(cut1->ndeps, 0);
	assert_int_equal(cut2->ndeps, 0);
	assert_int_equal(revoke->ndeps, 2);
	assert_true(depends_on(revoke, cut1) && depends_on(revoke, cut2));
	assert_int_equal(check->ndeps, 1);
	assert_true(depends_on(check, revoke));
	/* after: the first step waits for the last step of the other. */
	assert_int_equal(prov->ndeps, 1);
	assert_true(depends_on(prov, check));
	assert_int_equal(fetch->ndeps, 3);
	assert_int_equal(restore->ndeps, 1);
	assert_true(depends_on(restore, fetch));
	assert_true(depends_on(h1, restore) && depends_on(h2, restore));
	/* after between tenant services is per tenant. */
	assert_int_equal(ana->ndeps, 2);
	assert_true(depends_on(ana, h1) && depends_on(ana, h2));
	/* A global service after tenant services waits for every tenant. */
	assert_int_equal(golive->ndeps, 3 * 2 + 3 * 1 + 3 * 2);
	for (i = 0; i < 3; i++) {
		char key[128];
		snprintf(key, sizeof(key), "payroll/%s/healthy@torino/to-app2",
		         tenants[i]);
		assert_true(depends_on(golive, find(g, key)));
		snprintf(key, sizeof(key), "anagrafe/%s/restore@torino/to-db1",
		         tenants[i]);
		assert_true(depends_on(golive, find(g, key)));
		snprintf(key, sizeof(key), "website/%s/publish@torino/to-app1",
		         tenants[i]);
		assert_true(depends_on(golive, find(g, key)));
	}
	/* rdeps mirror deps. */
	assert_int_equal(cut1->nrdeps, 1);
	assert_int_equal(cut1->rdeps[0], revoke->id);
	assert_int_equal(restore->nrdeps, 2);
	dr_graph_free(g);
}

static void
test_order(void **state)
{
	struct dr_graph *g =
	    expand(*state, "milan,rome", "torino", DR_MODE_FAILOVER, NULL, 0);
	size_t *order = check_order(g, true);
	size_t i, last_payroll = 0, first_website = g->ntasks;
	int last_tier = -1, last_prio = -1;
	const char *last_tenant = "";

	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[order[i]];
		if (strcmp(t->service->name, "payroll") == 0)
			last_payroll = i;
		if (strcmp(t->service->name, "website") == 0 &&
		    first_website == g->ntasks)
			first_website = i;
		/* Within a tier: tenant priority, then tenant name. */
		if (t->tier != last_tier) {
			last_tier = t->tier;
			last_prio = -1;
			last_tenant = "";
		}
		if (t->priority < last_prio)
			fail_msg("%s (priority %d) after a priority %d task",
			         t->key, t->priority, last_prio);
		if (t->priority == last_prio && t->tenant &&
		    strcmp(t->tenant->name, last_tenant) < 0)
			fail_msg("%s out of tenant name order", t->key);
		last_prio = t->priority;
		if (t->tenant)
			last_tenant = t->tenant->name;
	}
	/* Every payroll task before any website task. */
	assert_true(last_payroll < first_website);
	/* Tier 1 starts with brescia (priority 1) and ends with aaa (3). */
	for (i = 0; i < g->ntasks; i++)
		if (g->tasks[order[i]].tier == 1)
			break;
	assert_string_equal(g->tasks[order[i]].key,
	                    "payroll/brescia/fetch@torino/to-db1");
	assert_string_equal(g->tasks[order[i + 4]].key,
	                    "payroll/lodi/fetch@torino/to-db1");
	assert_string_equal(g->tasks[order[i + 11]].key,
	                    "payroll/aaa/healthy@torino/to-app2");
	/* The first task is a fence, the last one opens the routes. */
	assert_string_equal(g->tasks[order[0]].service->name, "fence");
	assert_string_equal(g->tasks[order[g->ntasks - 1]].key,
	                    "reconnect/open@torino/to-app2");
	free(order);
	dr_graph_free(g);
}

static void
test_task_cmp(void **state)
{
	struct dr_graph *g =
	    expand(*state, "milan", "torino", DR_MODE_FAILOVER, NULL, 0);
	const struct dr_task *a =
	    find(g, "payroll/brescia/restore@torino/to-db1");
	const struct dr_task *b = find(g, "payroll/lodi/fetch@torino/to-db1");
	const struct dr_task *c =
	    find(g, "anagrafe/brescia/restore@torino/to-db1");
	const struct dr_task *f = find(g, "fence/revoke");

	assert_true(dr_task_cmp(a, b) < 0); /* priority before step */
	assert_true(dr_task_cmp(b, a) > 0);
	assert_true(dr_task_cmp(b, c) < 0); /* tier first */
	assert_true(dr_task_cmp(f, a) < 0);
	assert_int_equal(dr_task_cmp(a, a), 0);
	dr_graph_free(g);
}

static void
test_loose_tiers_order(void **state)
{
	struct dr_plan *p =
	    load("version = 1;\nname = \"l\";\nstrict_tiers = false;\n" SITES
	         "services = (\n"
	         " { name = \"web\"; tier = 3; scope = \"global\"; steps = (\n"
	         "   { name = \"s\"; on = \"to:db\"; run = \"x\"; } ); },\n"
	         " { name = \"pay\"; tier = 1; scope = \"global\"; after = "
	         "[\"web\"]; steps = (\n"
	         "   { name = \"s\"; on = \"to:db\"; run = \"x\"; } ); } );\n");
	struct dr_graph *g =
	    expand(p, "milan", "torino", DR_MODE_FAILOVER, NULL, 0);
	size_t *order = check_order(g, false);

	assert_int_equal(g->ntasks, 2);
	assert_string_equal(g->tasks[order[0]].service->name, "web");
	free(order);
	dr_graph_free(g);
	dr_plan_free(p);
}

static void
test_drill_interlock(void **state)
{
	struct dr_graph *g =
	    expand(*state, "milan,rome", "drill", DR_MODE_DRILL, NULL, 0);
	size_t i;

	assert_int_equal(g->mode, DR_MODE_DRILL);
	/* Fencing production is skipped in a drill, never run. */
	assert_true(find(g, "fence/cut@milan/mi-db1")->drill_skip);
	assert_true(find(g, "fence/cut@rome/ro-db1")->drill_skip);
	assert_false(find(g, "fence/cut@milan/mi-db1")->refused);
	assert_false(find(g, "fence/check@milan/mi-app1")->refused);
	assert_false(find(g, "fence/check@rome/ro-app1")->refused);
	/* The drill site is fair game; a local command that names a
	 * production site (revoke --sites milan) is not. */
	assert_true(find(g, "fence/revoke")->refused);
	assert_non_null(strstr(find(g, "fence/revoke")->refusal,
	                       "site milan, a production site"));
	assert_false(find(g, "base/provision@drill/dr-db1")->refused);
	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		bool prod = t->site && (t->site->role == DR_SITE_PRIMARY ||
		                        t->site->role == DR_SITE_SECONDARY);
		bool fence = t->step->on.kind == DR_SEL_FROM;
		if (t->site == NULL)
			continue; /* controller steps: checked above */
		/* readonly does not matter: a drill touches no production */
		assert_int_equal(t->refused, prod && !fence);
		assert_int_equal(t->drill_skip, fence);
	}
	dr_graph_free(g);
	/* Failover refuses nothing. */
	g = expand(*state, "milan,rome", "torino", DR_MODE_FAILOVER, NULL, 0);
	for (i = 0; i < g->ntasks; i++)
		assert_false(g->tasks[i].refused);
	dr_graph_free(g);
}

static void
test_drill_named_production_host(void **state)
{
	struct dr_plan *p = load(
	    "version = 1;\nname = \"d\";\n" SITES
	    "services = ( { name = \"s\"; tier = 1; scope = \"global\"; steps "
	    "= (\n"
	    " { name = \"peek\"; on = \"milan:mi-db1\"; run = \"psql -c "
	    "'select "
	    "1'\"; readonly = true; },\n"
	    " { name = \"poke\"; on = \"milan:db\"; run = \"touch x\"; },\n"
	    " { name = \"copy\"; copy = { from = \"vault:va-bk1:/b/x\"; to = "
	    "\"rome:db:/r/\"; }; },\n"
	    " { name = \"pull\"; copy = { from = \"rome:ro-db1:/b/x\"; to = "
	    "\"to:db:/r/\"; }; },\n"
	    " { name = \"web\"; probe = { http = "
	    "\"http://10.1.1.1:8080/health\"; }; },\n"
	    " { name = \"tcp\"; probe = { tcp = \"mi-app1:5432\"; }; },\n"
	    " { name = \"ok\"; probe = { http = \"http://10.5.1.1:80/\"; }; "
	    "},\n"
	    " { name = \"each\"; on = \"from:app\"; probe = { tcp = "
	    "\"${address}:22\"; }; },\n"
	    " { name = \"call\"; local = \"curl -fsS http://10.2.0.1/x\"; },\n"
	    " { name = \"call2\"; local = \"curl http://10.2.0.10/x\"; }"
	    " ); } );\n");
	struct dr_graph *g =
	    expand(p, "milan", "drill", DR_MODE_DRILL, NULL, 0);

	/* readonly or not, a drill connects to no production host */
	assert_true(find(g, "s/peek@milan/mi-db1")->refused);
	assert_true(find(g, "s/poke@milan/mi-db1")->refused);
	assert_true(find(g, "s/poke@milan/mi-db2")->refused);
	/* A copy writes to its destination: production in a drill. */
	assert_true(find(g, "s/copy@rome/ro-db1")->refused);
	/* ...and so does one that reads from a production host */
	assert_true(find(g, "s/pull@drill/dr-db1")->refused);
	/* probes: readonly by nature, but a connection all the same */
	assert_true(find(g, "s/web")->refused);
	assert_non_null(strstr(find(g, "s/web")->refusal,
	                       "its address 10.1.1.1: milan/mi-app1"));
	assert_true(find(g, "s/tcp")->refused);
	assert_false(find(g, "s/ok")->refused);
	assert_true(find(g, "s/each@milan/mi-app1")->drill_skip);
	/* a local command that names a production address */
	assert_true(find(g, "s/call")->refused);
	assert_false(find(g, "s/call2")->refused); /* 10.2.0.10 is not it */
	dr_graph_free(g);
	dr_plan_free(p);
}

static void
test_when_and_cleanup(void **state)
{
	struct dr_plan *p = load(
	    "version = 1;\nname = \"w\";\n" SITES
	    "services = ( { name = \"s\"; tier = 1; scope = \"global\"; steps "
	    "= (\n"
	    " { name = \"a\"; on = \"to:db\"; run = \"a\"; when = "
	    "\"failover\"; "
	    "},\n"
	    " { name = \"b\"; on = \"to:db\"; run = \"b\"; when = \"drill\"; "
	    "},\n"
	    " { name = \"c\"; on = \"to:db\"; run = \"c\"; },\n"
	    " { name = \"z\"; on = \"to:db\"; run = \"z\"; cleanup = true; } "
	    "); "
	    "} );\n");
	struct dr_graph *g =
	    expand(p, "milan", "torino", DR_MODE_FAILOVER, NULL, 0);

	assert_int_equal(g->ntasks, 2);
	find(g, "s/a@torino/to-db1");
	assert_true(depends_on(find(g, "s/c@torino/to-db1"),
	                       find(g, "s/a@torino/to-db1")));
	dr_graph_free(g);
	g = expand(p, "milan", "drill", DR_MODE_DRILL, NULL, 0);
	assert_int_equal(g->ntasks, 3);
	find(g, "s/b@drill/dr-db1");
	find(g, "s/z@drill/dr-db1");
	dr_graph_free(g);
	dr_plan_free(p);
}

static void
test_only_service(void **state)
{
	const char *only[] = {"payroll"};
	struct dr_graph *g =
	    expand(*state, "milan", "torino", DR_MODE_FAILOVER, only, 1);
	size_t i;

	assert_int_equal(g->ntasks, 12);
	for (i = 0; i < g->ntasks; i++)
		assert_string_equal(g->tasks[i].service->name, "payroll");
	/* Dependencies on what was left out are dropped, chains are kept. */
	assert_int_equal(find(g, "payroll/lodi/fetch@torino/to-db1")->ndeps, 0);
	assert_int_equal(find(g, "payroll/lodi/restore@torino/to-db1")->ndeps,
	                 1);
	free(check_order(g, true));
	dr_graph_free(g);
}

static void
test_only_tenant(void **state)
{
	const char *only[] = {"lodi"};
	const char *both[] = {"payroll", "lodi"};
	struct dr_graph *g =
	    expand(*state, "milan", "torino", DR_MODE_FAILOVER, only, 1);
	size_t i, ntenant = 0;

	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		if (t->tenant == NULL)
			continue;
		assert_string_equal(t->tenant->name, "lodi");
		ntenant++;
	}
	assert_int_equal(ntenant, 4 + 1 + 2);
	free(check_order(g, true));
	dr_graph_free(g);

	g = expand(*state, "milan", "torino", DR_MODE_FAILOVER, both, 2);
	assert_int_equal(g->ntasks, 4);
	for (i = 0; i < g->ntasks; i++) {
		assert_string_equal(g->tasks[i].service->name, "payroll");
		assert_string_equal(g->tasks[i].tenant->name, "lodi");
	}
	dr_graph_free(g);
}

static void
test_direction_errors(void **state)
{
	const char *only[] = {"nosuch"};

	expect_fail(*state, "paris", "torino", DR_MODE_FAILOVER, NULL, 0,
	            "--from site \"paris\" is not in the plan");
	expect_fail(*state, "milan,paris", "torino", DR_MODE_FAILOVER, NULL, 0,
	            "\"paris\" is not in the plan");
	expect_fail(*state, "milan", "paris", DR_MODE_FAILOVER, NULL, 0,
	            "--to site \"paris\" is not in the plan");
	expect_fail(*state, "milan,torino", "torino", DR_MODE_FAILOVER, NULL, 0,
	            "cannot be both lost (--from) and the target (--to)");
	expect_fail(*state, "milan", "milan", DR_MODE_FAILOVER, NULL, 0,
	            "cannot be both lost");
	expect_fail(*state, "milan", "vault", DR_MODE_FAILOVER, NULL, 0,
	            "--to site \"vault\" is vault, the backup vault; a "
	            "failover goes to a standby site");
	expect_fail(*state, "vault", "torino", DR_MODE_FAILOVER, NULL, 0,
	            "--from site \"vault\" is vault, the backup vault; "
	            "--from names the lost production sites");
	/* The direction cannot be turned against production. */
	expect_fail(*state, "rome", "milan", DR_MODE_FAILOVER, NULL, 0,
	            "--to site \"milan\" is primary (production, possibly "
	            "compromised); a failover goes to a standby site");
	expect_fail(*state, "milan", "rome", DR_MODE_FAILOVER, NULL, 0,
	            "--to site \"rome\" is secondary (production");
	expect_fail(*state, "milan", "drill", DR_MODE_FAILOVER, NULL, 0,
	            "is drill, a rehearsal site; a failover goes to a standby "
	            "site (use drover drill for a drill site)");
	expect_fail(*state, "torino", "torino", DR_MODE_FAILOVER, NULL, 0,
	            "--from site \"torino\" is standby; --from names the lost "
	            "production sites");
	expect_fail(*state, "milan", "torino", DR_MODE_DRILL, NULL, 0,
	            "a drill runs into a drill site; \"torino\" is standby");
	expect_fail(*state, "milan", "torino", DR_MODE_FAILOVER, only, 1,
	            "--only \"nosuch\" is neither a service nor a tenant");
	{
		struct dr_expand_opts o = {.to = "torino",
		                           .mode = DR_MODE_FAILOVER};
		struct dr_diags d = {0};
		struct dr_graph *g = (struct dr_graph *)1;
		assert_int_equal(dr_graph_expand(*state, &o, &d, &g),
		                 DR_EINVAL);
		assert_null(g);
		assert_true(d.n >= 1);
		assert_non_null(strstr(d.v[0].msg, "--from"));
		dr_diag_clear(&d);
	}
}

static void
test_rendered_commands(void **state)
{
	struct dr_graph *g =
	    expand(*state, "milan", "torino", DR_MODE_FAILOVER, NULL, 0);
	const struct dr_task *t;

	t = find(g, "payroll/lodi/restore@torino/to-db1");
	assert_string_equal(t->command, "_dr_var_db='lo'\\''; rm -rf /'\n"
	                                "restore \"${_dr_var_db}\"");
	assert_string_equal(t->display, t->command);
	assert_int_equal(t->nsecrets, 0);
	t = find(g, "payroll/brescia/restore@torino/to-db1");
	assert_string_equal(t->command, "_dr_var_db='bs'\n"
	                                "restore \"${_dr_var_db}\"");
	t = find(g, "fence/cut@milan/mi-db1");
	assert_string_equal(t->command, "_dr_host='mi-db1'\n"
	                                "stop-replication \"${_dr_host}\"");
	t = find(g, "payroll/lodi/healthy@torino/to-app2");
	assert_string_equal(t->target, "http://10.3.1.2:80/lodi");
	assert_null(t->command);
	t = find(g, "reconnect/go-live");
	assert_string_equal(t->prompt, "open torino?");
	dr_graph_free(g);
}

/* Secrets: never in the command; read from stdin; intact when used. */
static void
test_secret_command(void **state)
{
	struct dr_plan *p = load(
	    "version = 1;\nname = \"s\";\n" SITES
	    "secrets = ( { name = \"pw\"; env = \"PW\"; }, { name = \"tok\"; "
	    "env = \"TOK\"; } );\n"
	    "services = ( { name = \"s\"; tier = 1; scope = \"global\"; steps "
	    "= (\n"
	    " { name = \"rotate\"; on = \"to:db\"; run = \"printf '%s|%s|%s' "
	    "${secret.tok} ${secret.pw} ${secret.tok}\"; } ); } );\n");
	struct dr_graph *g =
	    expand(p, "milan", "torino", DR_MODE_FAILOVER, NULL, 0);
	const struct dr_task *t = find(g, "s/rotate@torino/to-db1");
	char *out;

	assert_int_equal(t->nsecrets, 2);
	assert_string_equal(t->secret_names[0], "tok");
	assert_string_equal(t->secret_names[1], "pw");
	assert_non_null(strstr(t->display, "<secret:tok>"));
	assert_non_null(strstr(t->command, "IFS= read -r _dr_secret_tok"));
	assert_null(strstr(t->display, "PW"));
	assert_int_equal(test_run_shell("/bin/sh", NULL, t->command,
	                                "t$(id)'\"`x`\np w; rm -rf /\n", &out,
	                                NULL),
	                 0);
	assert_string_equal(out, "t$(id)'\"`x`|p w; rm -rf /|t$(id)'\"`x`");
	free(out);
	dr_graph_free(g);
	dr_plan_free(p);
}

/*
 * A secret in a script argument: either the plan is refused, or the task
 * declares the secret so that the executor feeds it.
 */
static void
test_secret_in_script_args(void **state)
{
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;
	struct dr_graph *g;
	const struct dr_task *t;
	char cmd[256];
	size_t n;

	if (dr_plan_load_string(
	        "version = 1;\nname = \"s\";\n" SITES
	        "secrets = ( { name = \"pw\"; env = \"PW\"; } );\n"
	        "services = ( { name = \"s\"; tier = 1; scope = \"global\"; "
	        "steps = (\n"
	        " { name = \"rotate\"; on = \"to:db\"; script = \"rotate.sh\"; "
	        "args = [\"--pw\", \"${secret.pw}\"]; } ); } );\n",
	        "s.cfg", &d, &p) != 0) {
		dr_diag_clear(&d);
		return; /* refused: fine */
	}
	g = expand(p, "milan", "torino", DR_MODE_FAILOVER, NULL, 0);
	t = find(g, "s/rotate@torino/to-db1");
	n = t->nsecrets;
	snprintf(cmd, sizeof(cmd), "%s", t->command);
	dr_graph_free(g);
	dr_plan_free(p);
	if (n != 1)
		fail_msg("script step references ${secret.pw} in its args but "
		         "the task feeds %zu secrets: command \"%s\" reads an "
		         "unset variable",
		         n, cmd);
}

static void
test_dot(void **state)
{
	struct dr_graph *g =
	    expand(*state, "milan", "torino", DR_MODE_FAILOVER, NULL, 0);
	char *buf = NULL;
	size_t len = 0, i, edges = 0, nodes = 0;
	FILE *f = open_memstream(&buf, &len);
	const char *p;

	dr_graph_dot(g, f);
	fclose(f);
	assert_non_null(strstr(buf, "digraph \"g\""));
	for (p = buf; (p = strstr(p, " -> t")) != NULL; p++)
		edges++;
	for (p = buf; (p = strstr(p, "[label=")) != NULL; p++)
		nodes++;
	for (i = 0; i < g->ntasks; i++)
		edges -= g->tasks[i].ndeps;
	assert_int_equal(edges, 0);
	assert_int_equal(nodes, g->ntasks);
	assert_non_null(strstr(buf, "cluster_tier4"));
	free(buf);
	dr_graph_free(g);
}

/* The example plans expand in every direction they were written for. */
static void
test_example_plans(void **state)
{
	static const struct {
		const char *file, *from, *to;
		unsigned mode;
	} cases[] = {
	    {"westpole.cfg", "milan,rome", "torino", DR_MODE_FAILOVER},
	    {"westpole.cfg", "milan", "torino", DR_MODE_FAILOVER},
	    {"westpole.cfg", "milan,rome", "drill", DR_MODE_DRILL},
	    {"lab.cfg", "milan,rome", "torino", DR_MODE_FAILOVER},
	    {"lab.cfg", "milan,rome", "drill", DR_MODE_DRILL},
	    {"minimal.cfg", "primary", "standby", DR_MODE_FAILOVER},
	};
	size_t i;

	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char path[512];
		struct dr_diags d = {0};
		struct dr_plan *p = NULL;
		struct dr_graph *g;

		snprintf(path, sizeof(path), "%s/plans/%s", DROVER_SOURCE_DIR,
		         cases[i].file);
		if (access(path, R_OK) != 0)
			continue; /* not written yet */
		if (dr_plan_load(path, &d, &p) != 0)
			fail_msg("%s does not validate", path);
		g = expand(p, cases[i].from, cases[i].to, cases[i].mode, NULL,
		           0);
		assert_true(g->ntasks > 0);
		free(check_order(g, p->strict_tiers));
		dr_graph_free(g);
		dr_plan_free(p);
		dr_diag_clear(&d);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_counts, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_from_two_sites, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_copy_source, setup, teardown),
	    cmocka_unit_test(test_copy_source_several_hosts),
	    cmocka_unit_test(test_hunt_tasks),
	    cmocka_unit_test_setup_teardown(test_copy_from_named_lost_site,
	                                    setup_named_lost, teardown),
	    cmocka_unit_test_setup_teardown(test_on_named_lost_site,
	                                    setup_on_named_lost, teardown),
	    cmocka_unit_test_setup_teardown(test_deps, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_order, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_task_cmp, setup, teardown),
	    cmocka_unit_test(test_loose_tiers_order),
	    cmocka_unit_test_setup_teardown(test_drill_interlock, setup,
	                                    teardown),
	    cmocka_unit_test(test_drill_named_production_host),
	    cmocka_unit_test(test_when_and_cleanup),
	    cmocka_unit_test_setup_teardown(test_only_service, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_only_tenant, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_direction_errors, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_rendered_commands, setup,
	                                    teardown),
	    cmocka_unit_test(test_secret_command),
	    cmocka_unit_test(test_secret_in_script_args),
	    cmocka_unit_test_setup_teardown(test_dot, setup, teardown),
	    cmocka_unit_test(test_example_plans),
	};

	return cmocka_run_group_tests_name("graph", tests, NULL, NULL);
}
