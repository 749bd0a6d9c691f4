/*
 * test_provisioned.c: a provisioned site through the plan and the graph:
 * per-role tasks before its hosts exist, every one of them after the
 * provision step, the first stage of a run, and the full expansion once the
 * hosts are supplied (dr_plan_provide).
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
#include "drover/graph.h"
#include "drover/plan.h"
#include "drover/provisioner.h"

#include <sys/stat.h>
#include <unistd.h>

/*
 * milan is lost; fresh (standby) and scratch (drill) are provisioned;
 * torino exists. Tier 0: fence (milan), make (the provision step), base
 * (on to:*, after fence only: it must still wait for make). Tier 1: restore
 * per tenant, from the vault to to:db. Cleanup: remove (deprovision).
 */
static const char plan_text[] =
    "version = 1;\nname = \"p\";\n"
    "defaults: { user = \"ops\"; known_hosts = \"/dev/null\"; };\n"
    "sites = (\n"
    " { name = \"milan\"; role = \"primary\"; hosts = (\n"
    "   { name = \"mi-db1\"; address = \"10.1.0.1\"; roles = [\"db\"]; } "
    "); },\n"
    " { name = \"torino\"; role = \"standby\"; hosts = (\n"
    "   { name = \"to-db1\"; address = \"10.3.0.1\"; roles = [\"db\", "
    "\"app\"]; } ); },\n"
    " { name = \"fresh\"; role = \"standby\"; provisioned = true;\n"
    "   roles = [\"db\", \"app\"]; max_hosts = 3; },\n"
    " { name = \"scratch\"; role = \"drill\"; provisioned = true; roles = "
    "[\"db\", \"app\"]; },\n"
    " { name = \"vault\"; role = \"vault\"; hosts = (\n"
    "   { name = \"va-bk1\"; address = \"10.4.0.1\"; roles = "
    "[\"backup\"]; } ); }\n"
    ");\n"
    "tenants = ( { name = \"t1\"; priority = 1; }, { name = \"t2\"; "
    "priority = 2; } );\n"
    "services = (\n"
    " { name = \"fence\"; tier = 0; scope = \"global\"; steps = (\n"
    "   { name = \"cut\"; on = \"from:db\"; run = \"true\"; when = "
    "\"failover\"; } ); },\n"
    " { name = \"make\"; tier = 0; scope = \"global\"; steps = (\n"
    "   { name = \"hosts\"; provision = \"./make-hosts\"; },\n"
    "   { name = \"remove\"; deprovision = \"./remove-hosts\"; } ); },\n"
    " { name = \"base\"; tier = 0; scope = \"global\"; after = "
    "[\"fence\"]; steps = (\n"
    "   { name = \"dirs\"; on = \"to:*\"; run = \"mkdir -p /srv/${host}\"; "
    "} ); },\n"
    " { name = \"restore\"; tier = 1; scope = \"tenant\"; after = "
    "[\"base\"]; steps = (\n"
    "   { name = \"verify\"; on = \"vault:backup\"; run = \"true\"; "
    "readonly = true; },\n"
    "   { name = \"fetch\"; copy = { from = "
    "\"vault:backup:/b/${tenant}.tar\"; to = \"to:db:/r/${host}/\"; }; },\n"
    "   { name = \"load\"; on = \"to:db\"; run = \"load ${address}\"; } "
    "); }\n"
    ");\n";

static struct dr_plan *
load(const char *text)
{
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;
	int r = dr_plan_load_string(text, "p.cfg", &d, &p);

	if (r != 0)
		dr_diag_print(&d, stderr);
	dr_diag_clear(&d);
	assert_int_equal(r, 0);
	return p;
}

static struct dr_graph *
expand(const struct dr_plan *p, const char *to, unsigned mode)
{
	static const char *const from[] = {"milan"};
	struct dr_expand_opts o = {
	    .from = from, .nfrom = 1, .to = to, .mode = mode};
	struct dr_diags d = {0};
	struct dr_graph *g = NULL;
	int r = dr_graph_expand(p, &o, &d, &g);

	if (r != 0)
		dr_diag_print(&d, stderr);
	dr_diag_clear(&d);
	assert_int_equal(r, 0);
	return g;
}

static const struct dr_task *
find(const struct dr_graph *g, const char *key)
{
	size_t i;

	for (i = 0; i < g->ntasks; i++)
		if (strcmp(g->tasks[i].key, key) == 0)
			return &g->tasks[i];
	return NULL;
}

static bool
depends(const struct dr_task *t, size_t id)
{
	size_t i;

	for (i = 0; i < t->ndeps; i++)
		if (t->deps[i] == id)
			return true;
	return false;
}

static void
test_plan(void **state)
{
	struct dr_plan *p = load(plan_text);
	const struct dr_site *s = dr_plan_site(p, "fresh");

	(void)state;
	assert_true(s->provisioned);
	assert_int_equal(s->nhosts, 0);
	assert_int_equal(s->nroles, 2);
	assert_int_equal(s->max_hosts, 3);
	assert_int_equal(dr_plan_site(p, "scratch")->max_hosts, 2);
	assert_true(dr_site_has_role(s, "app"));
	assert_false(dr_site_has_role(s, "web"));
	assert_string_equal(dr_plan_provision_step(p)->name, "hosts");
	dr_plan_free(p);
}

/* Before the hosts exist: one task per step and role, after the provision
 * step, rendered with placeholders. */
static void
test_deferred(void **state)
{
	struct dr_plan *p = load(plan_text);
	struct dr_graph *g = expand(p, "fresh", DR_MODE_FAILOVER);
	const struct dr_task *mk = find(g, "make/hosts");
	const struct dr_task *dirs = find(g, "base/dirs@fresh/role:*");
	const struct dr_task *fetch = find(g, "restore/t1/fetch@fresh/role:db");
	const struct dr_task *ld = find(g, "restore/t2/load@fresh/role:db");

	(void)state;
	assert_non_null(mk);
	assert_int_equal(g->provision, mk->id);
	assert_non_null(dirs);
	assert_true(dirs->deferred);
	assert_null(dirs->host);
	assert_ptr_equal(dirs->site, dr_plan_site(p, "fresh"));
	/* base says only after fence: it waits for the provision step too */
	assert_true(depends(dirs, mk->id));
	assert_non_null(strstr(dirs->display, "<each-host>"));
	assert_non_null(fetch);
	assert_true(fetch->deferred);
	assert_string_equal(fetch->src_host->name, "va-bk1");
	assert_string_equal(fetch->src_path, "/b/t1.tar");
	assert_string_equal(fetch->dst_path, "/r/<db-host>/");
	assert_non_null(strstr(ld->display, "<db-address>"));
	/* 1 dirs + per tenant fetch and load: 5 deferred; no cleanup in a
	 * failover */
	assert_int_equal(g->ndeferred, 5);
	assert_null(find(g, "make/remove"));
	dr_graph_free(g);
	dr_plan_free(p);
}

/* The first stage: what can run before the hosts exist, renumbered. */
static void
test_before_provision(void **state)
{
	struct dr_plan *p = load(plan_text);
	struct dr_graph *g = expand(p, "fresh", DR_MODE_FAILOVER);
	size_t n = g->ntasks, dropped, i, j;

	(void)state;
	dropped = dr_graph_before_provision(g);
	assert_int_equal(g->ntasks + dropped, n);
	/* fence/cut and make/hosts; the vault's verify is tier 1 */
	assert_int_equal(g->ntasks, 2);
	assert_non_null(find(g, "fence/cut@milan/mi-db1"));
	assert_non_null(find(g, "make/hosts"));
	assert_null(find(g, "restore/t1/verify@vault/va-bk1"));
	assert_int_equal(g->ndeferred, 0);
	assert_string_equal(g->tasks[g->provision].key, "make/hosts");
	for (i = 0; i < g->ntasks; i++) {
		assert_int_equal(g->tasks[i].id, i);
		for (j = 0; j < g->tasks[i].ndeps; j++)
			assert_true(g->tasks[i].deps[j] < g->ntasks);
		for (j = 0; j < g->tasks[i].nrdeps; j++)
			assert_true(g->tasks[i].rdeps[j] < g->ntasks);
	}
	dr_graph_free(g);
	dr_plan_free(p);
}

/* Once the inventory is in: one task per host, reached with the run's own
 * known_hosts; no placeholder is left. */
static void
test_provided(void **state)
{
	static const char *const db[] = {"db"}, *const app[] = {"app"};
	const struct dr_new_host hosts[] = {
	    {.name = "fr-db1",
	     .address = "10.9.0.1",
	     .port = 2200,
	     .roles = db,
	     .nroles = 1,
	     .key = "ssh-ed25519 AAAA",
	     .fingerprint = "SHA256:x"},
	    {.name = "fr-app1",
	     .address = "10.9.0.2",
	     .roles = app,
	     .nroles = 1,
	     .key = "ssh-ed25519 AAAB",
	     .fingerprint = "SHA256:y"},
	};
	struct dr_plan *p = load(plan_text);
	struct dr_graph *g;
	const struct dr_task *t, *mk;

	(void)state;
	assert_int_equal(dr_plan_provide(p, "torino", hosts, 2, "/kh"),
	                 DR_EINVAL);
	assert_int_equal(dr_plan_provide(p, "fresh", hosts, 2, "/run/kh"), 0);
	assert_int_equal(dr_plan_provide(p, "fresh", hosts, 2, "/run/kh"),
	                 DR_EINVAL); /* once */
	g = expand(p, "fresh", DR_MODE_FAILOVER);
	assert_int_equal(g->ndeferred, 0);
	mk = find(g, "make/hosts");
	assert_non_null(mk);
	t = find(g, "restore/t1/load@fresh/fr-db1");
	assert_non_null(t);
	assert_true(depends(find(g, "base/dirs@fresh/fr-app1"), mk->id));
	assert_string_equal(t->conn->known_hosts, "/run/kh");
	assert_int_equal(t->conn->port, 2200);
	assert_string_equal(t->conn->user, "ops");
	assert_non_null(strstr(t->command, "10.9.0.1"));
	assert_null(find(g, "restore/t1/load@fresh/fr-app1"));
	assert_string_equal(
	    find(g, "fence/cut@milan/mi-db1")->conn->known_hosts, "/dev/null");
	dr_graph_free(g);
	dr_plan_free(p);
}

/* A site that exists has no provision or deprovision task; a drill into a
 * provisioned drill site removes it last. */
static void
test_existing_and_drill(void **state)
{
	struct dr_plan *p = load(plan_text);
	struct dr_graph *g = expand(p, "torino", DR_MODE_FAILOVER);
	const struct dr_task *rm;

	(void)state;
	assert_int_equal(g->provision, SIZE_MAX);
	assert_null(find(g, "make/hosts"));
	assert_int_equal(g->ndeferred, 0);
	assert_non_null(find(g, "base/dirs@torino/to-db1"));
	dr_graph_free(g);
	g = expand(p, "scratch", DR_MODE_DRILL);
	assert_non_null(find(g, "make/hosts"));
	rm = find(g, "make/remove");
	assert_non_null(rm);
	assert_true(rm->cleanup);
	assert_null(find(g, "fence/cut@milan/mi-db1")); /* failover only */
	dr_graph_free(g);
	dr_plan_free(p);
}

/* A step on the new site that the provision step itself waits for can
 * never run: an error naming it. */
static void
test_before_its_hosts(void **state)
{
	static const char *const from[] = {"milan"};
	const char *text =
	    "version = 1;\nname = \"q\";\n"
	    "sites = (\n"
	    " { name = \"milan\"; role = \"primary\"; hosts = ( { name = "
	    "\"mi\"; address = \"10.1.0.1\"; roles = [\"db\"]; } ); },\n"
	    " { name = \"fresh\"; role = \"standby\"; provisioned = true; "
	    "roles = [\"db\"]; }\n"
	    ");\n"
	    "services = (\n"
	    " { name = \"early\"; tier = 0; scope = \"global\"; steps = (\n"
	    "   { name = \"prep\"; on = \"to:db\"; run = \"true\"; } ); },\n"
	    " { name = \"make\"; tier = 0; scope = \"global\"; after = "
	    "[\"early\"]; steps = (\n"
	    "   { name = \"hosts\"; provision = \"./mk\"; } ); }\n"
	    ");\n";
	struct dr_plan *p = load(text);
	struct dr_expand_opts o = {
	    .from = from, .nfrom = 1, .to = "fresh", .mode = DR_MODE_FAILOVER};
	struct dr_diags d = {0};
	struct dr_graph *g = NULL;

	(void)state;
	assert_int_not_equal(dr_graph_expand(p, &o, &d, &g), 0);
	assert_null(g);
	assert_true(d.n >= 1);
	assert_non_null(strstr(d.v[0].msg, "step \"prep\""));
	assert_non_null(strstr(d.v[0].msg, "before the provision step"));
	dr_diag_clear(&d);
	dr_plan_free(p);
}

static void
touch(const char *dir, const char *name)
{
	char *p = dr_xasprintf("%s/%s", dir, name);
	FILE *f = fopen(p, "w");

	assert_non_null(f);
	fclose(f);
	free(p);
}

static bool
exists(const char *dir, const char *name)
{
	char *p = dr_xasprintf("%s/%s", dir, name);
	bool r = access(p, F_OK) == 0;

	free(p);
	return r;
}

/* What an interrupted provision step left: private keys go, the rest
 * stays. */
static void
test_scrub_leftovers(void **state)
{
	char run[] = "/tmp/drover-prov-XXXXXX";
	char *kd;

	(void)state;
	assert_non_null(mkdtemp(run));
	assert_int_equal(dr_prov_scrub_leftovers(run), 0); /* none yet */
	kd = dr_xasprintf("%s/provision/keys-abc", run);
	assert_int_equal(dr_mkdirs(kd), 0);
	touch(kd, "key-1");
	touch(kd, "key-1.pub");
	touch(kd, "key-1.user-data");
	touch(kd, "key-12");
	touch(kd, "stdout");
	assert_int_equal(dr_prov_scrub_leftovers(run), 3);
	assert_false(exists(kd, "key-1"));
	assert_false(exists(kd, "key-1.user-data"));
	assert_false(exists(kd, "key-12"));
	assert_true(exists(kd, "key-1.pub"));
	assert_true(exists(kd, "stdout"));
	assert_int_equal(dr_prov_scrub_leftovers(run), 0);
	free(kd);
	{
		char *rm = dr_xasprintf("rm -rf '%s'", run);
		assert_int_equal(system(rm), 0);
		free(rm);
	}
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_plan),
	    cmocka_unit_test(test_deferred),
	    cmocka_unit_test(test_before_provision),
	    cmocka_unit_test(test_provided),
	    cmocka_unit_test(test_existing_and_drill),
	    cmocka_unit_test(test_before_its_hosts),
	    cmocka_unit_test(test_scrub_leftovers),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
