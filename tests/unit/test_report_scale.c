/*
 * test_report_scale.c: the run report at 1,300 tenants stays readable: a
 * grid of tenants by service instead of a table per tenant, one timeline
 * bar per service with the per-task detail capped, failures listed once,
 * tasks cancelled by the thousand summed up per service, the comparison
 * with the previous run per service; and the Markdown keeps every row.
 * Rendering is linear enough to finish in seconds (it was cubic in the
 * tenants with a previous run).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <jansson.h>

#include "drover/common.h"
#include "drover/report-doc.h"

/* 2026-11-22T10:00:00Z */
#define T0 1795341600000LL
#define SEC 1000LL
#define NTEN 1300
#define NSVC 4
#define FAILS(i) ((i) % 97 == 5) /* einvoicing fails for these */
#define NFAIL 14                 /* i % 97 == 5 below 1,300 */
#define LATE_RANK 1000           /* payroll late from this rank on */
#define CUT_RANK 1200            /* website cancelled from this rank */

static const char *const svc_name[NSVC] = {"payroll", "anagrafe", "einvoicing",
                                           "website"};
static const long long svc_rto[NSVC] = {20 * SEC, 120 * SEC, 240 * SEC,
                                        360 * SEC};

static json_t *
task(const char *service, const char *tenant, int tier, const char *step,
     const char *state, long long start, long long end)
{
	char key[128];

	snprintf(key, sizeof(key), "%s/%s/%s@torino/to-app1", service,
	         tenant ? tenant : "-", step);
	return json_pack("{s:s, s:s, s:s?, s:i, s:s, s:s, s:s, s:s, s:s, "
	                 "s:i, s:I, s:I}",
	                 "key", key, "service", service, "tenant", tenant,
	                 "tier", tier, "step", step, "action", "run", "site",
	                 "torino", "host", "to-app1", "state", state,
	                 "attempts", start >= 0, "start_ms",
	                 (json_int_t)(start >= 0 ? T0 + start : 0), "end_ms",
	                 (json_int_t)(end >= 0 ? T0 + end : 0));
}

static json_t *
svc(const char *service, const char *tenant, int tier, long long rto,
    long long at)
{
	return json_pack("{s:s, s:s?, s:i, s:I, s:b, s:o, s:b}", "service",
	                 service, "tenant", tenant, "tier", tier, "rto_ms",
	                 (json_int_t)rto, "recovered", at >= 0, "recovery_ms",
	                 at >= 0 ? json_integer(at) : json_null(), "rto_met",
	                 at >= 0 && at <= rto);
}

/* byrank[r]: the tenant of priority rank r (not in name order). */
static int byrank[NTEN];

/*
 * A failover of 1,300 tenants, four services of two tasks each: payroll
 * late for the last 300 by priority, einvoicing failed for 14, website
 * cancelled before it started for the last 100 (the run was stopped);
 * services[] in tier and priority order, as drover writes it.
 */
static json_t *
big_run(void)
{
	json_t *r = json_pack(
	    "{s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:I}", "run_id",
	    "20261122T100000Z-westpole-0001", "plan", "westpole", "mode",
	    "failover", "state", "interrupted", "from", "milan", "to", "torino",
	    "started_at", "2026-11-22T10:00:00.000Z", "ended_at",
	    "2026-11-22T10:06:00.000Z", "duration_ms", (json_int_t)(360 * SEC));
	json_t *tasks = json_array(), *svcs = json_array(), *ps = json_array();
	int i, k, rk;

	for (i = 0; i < NTEN; i++)
		byrank[(i * 7919) % NTEN] = i;
	json_array_append_new(
	    tasks, task("fence", NULL, 0, "cut", "succeeded", 0, 2 * SEC));
	json_array_append_new(svcs, svc("fence", NULL, 0, 0, 2 * SEC));
	for (k = 0; k < NSVC; k++) {
		for (rk = 0; rk < NTEN; rk++) {
			char tn[32];
			long long t0 = 2 * SEC + k * 80 * SEC + rk * 15;
			long long t1 = t0 + 3 * SEC, t2 = t1 + 2 * SEC;
			bool fail = k == 2 && FAILS(byrank[rk]);
			bool cut = k == 3 && rk >= CUT_RANK;
			json_t *t;

			snprintf(tn, sizeof(tn), "comune-%04d", byrank[rk]);
			if (k == 0 && rk >= LATE_RANK)
				t1 = t2 = 21 * SEC + rk;
			else if (k == 0)
				t1 = t2 = 5 * SEC + rk * 15;
			if (cut) {
				t = task(svc_name[k], tn, k + 1, "s0",
				         "cancelled", -1, -1);
				json_object_set_new(
				    t, "message",
				    json_string("cancelled: the run was "
				                "stopped"));
				json_array_append_new(tasks, t);
				t = task(svc_name[k], tn, k + 1, "s1",
				         "cancelled", -1, -1);
				json_object_set_new(
				    t, "message",
				    json_string("cancelled: the run was "
				                "stopped"));
				json_array_append_new(tasks, t);
			} else {
				json_array_append_new(
				    tasks, task(svc_name[k], tn, k + 1, "s0",
				                "succeeded", t0, t1));
				t = task(svc_name[k], tn, k + 1, "s1",
				         fail ? "failed" : "succeeded", t1, t2);
				if (fail) {
					json_object_set_new(
					    t, "message",
					    json_string("torino/to-app1: s1: "
					                "exit 3"));
					json_object_set_new(
					    t, "tail",
					    json_string("sdi: connection "
					                "refused\n"));
				}
				json_array_append_new(tasks, t);
			}
			json_array_append_new(svcs, svc(svc_name[k], tn, k + 1,
			                                svc_rto[k],
			                                fail || cut ? -1 : t2));
			json_array_append_new(
			    ps,
			    json_pack("{s:s, s:s, s:I, s:b}", "service",
			              svc_name[k], "tenant", tn, "recovery_ms",
			              (json_int_t)(t2 + 700), "rto_met", 1));
		}
	}
	json_object_set_new(r, "tasks", tasks);
	json_object_set_new(r, "services", svcs);
	json_object_set_new(r, "previous",
	                    json_pack("{s:s, s:s, s:I, s:o}", "run_id",
	                              "20261101T100000Z-westpole-0000", "state",
	                              "succeeded", "duration_ms",
	                              (json_int_t)(350 * SEC), "services", ps));
	return r;
}

static char *
render(const json_t *r, enum dr_render_format fmt, size_t *len)
{
	char *buf = NULL;
	FILE *f = open_memstream(&buf, len);
	struct timespec a, b;

	assert_non_null(f);
	clock_gettime(CLOCK_MONOTONIC, &a);
	assert_int_equal(dr_render_report(r, fmt, f), 0);
	clock_gettime(CLOCK_MONOTONIC, &b);
	assert_int_equal(fclose(f), 0);
	print_message("%s: %zu bytes in %.2fs\n",
	              fmt == DR_RENDER_HTML ? "html" : "md", *len,
	              (double)(b.tv_sec - a.tv_sec) +
	                  (double)(b.tv_nsec - a.tv_nsec) / 1e9);
	return buf;
}

static const char *
find(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (p == NULL)
		fail_msg("missing from the report: \"%s\"", needle);
	return p;
}

static void
absent(const char *hay, const char *needle)
{
	const char *p = strstr(hay, needle);

	if (p != NULL)
		fail_msg("must not appear in the report: \"%s\" (at \"%.80s\")",
		         needle, p);
}

/* Occurrences of needle in hay[0..end) (end NULL: to the end). */
static size_t
count(const char *hay, const char *end, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL && (!end || hay < end)) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

static void
test_html(void **state)
{
	json_t *r = big_run();
	size_t len, i;
	char *html = render(r, DR_RENDER_HTML, &len), name[64];
	const char *g, *ge, *p, *q, *d, *de;

	(void)state;
	/* it was 8 MB and 600 pages at this size */
	assert_true(len < 2000000);

	/* the grid: a row per tenant, in priority order, in blocks of 100
	 * (two tables of 50 side by side); no table per tenant */
	g = find(html, "<h2 id=\"by-tenant\">");
	ge = find(g, "<h2>");
	assert_int_equal(count(g, ge, "<div class=\"gridblock\">"), 13);
	assert_int_equal(count(g, ge, "<table class=\"grid\">"), 26);
	assert_int_equal(count(g, ge, "<td class=\"gt\">"), NTEN);
	absent(html, "<h3>comune-");
	p = g;
	for (i = 0; i < 5; i++) {
		snprintf(name, sizeof(name), "<td class=\"gt\">comune-%04d<",
		         byrank[i]);
		q = find(g, name);
		assert_true(q > p);
		p = q;
	}
	assert_int_equal(count(g, ge, "<td class=\"g-failed\">FAILED</td>"),
	                 NFAIL);
	assert_int_equal(count(g, ge, " late</td>"), NTEN - LATE_RANK);
	assert_int_equal(count(g, ge, "<td class=\"g-notrec\">"),
	                 NTEN - CUT_RANK);
	/* per service */
	find(html, "<td>payroll</td><td>1</td><td>20s</td><td>1300</td><td "
	           "class=\"r-met\">1000</td><td class=\"r-missed\">300</td>");
	find(html, "<td class=\"r-not\">14 (14 failed)</td>");

	/* the timeline: one bar per service, then the detail of the global
	 * services and 20 tenants, the failed first, closed */
	p = find(html, "<section class=\"timeline\">");
	q = find(p, "</svg>");
	assert_int_equal(count(p, q, "<rect class=\"bar "), 5);
	find(p, ">1300 tenants, 2600 tasks</text>");
	/* a tick per failure, those in the same pixel once */
	i = count(p, q, "<line class=\"failm\"");
	assert_true(i >= 1 && i <= NFAIL);
	d = find(p, "<details class=\"detail\"><summary><b>Per task</b>: the "
	            "161 tasks of the global services and of 20 of the 1300 "
	            "tenants (failed, not recovered, late, then by priority); "
	            "1280 tenants and 10240 tasks left out");
	de = find(d, "</details>");
	for (i = 5; i < NTEN; i += 97) {
		snprintf(name, sizeof(name),
		         "einvoicing \xc2\xb7 comune-%04zu<", i);
		find(d, name);
	}
	assert_int_equal(count(d, de, "<rect class=\"bar "), 161);

	/* failures once each, the thousand cancelled summed per service */
	p = find(html, "<h2>Failures</h2>");
	assert_int_equal(count(p, NULL, "<div class=\"fail st-failed\">"),
	                 NFAIL);
	q = find(p, "Cancelled before they started (200)");
	find(q, "<tr><td>website</td><td>200</td><td>100</td><td>cancelled: "
	        "the run was stopped</td></tr>");
	assert_int_equal(count(q, find(q, "</table>"), "<tr>"), 2);

	/* the previous run per service, and what it recovered that this
	 * one did not, up to 100 rows */
	p = find(html, "<h2>Compared with the previous run</h2>");
	q = find(p, "<h2>");
	find(p, "<table class=\"cmpsvc\">");
	find(p, "<tr><td>payroll</td><td class=\"r-met\">1300</td>");
	find(p, "Recovered in the previous run, not now (114)");
	assert_true(count(p, q, "<tr>") < 120);
	find(p, "14 more in report.md and report.json.");

	/* the task log: the same tasks as the detail */
	p = find(html, "<section class=\"log\">");
	assert_int_equal(count(p, NULL, "<tr><td>"), 161);
	free(html);
	json_decref(r);
}

static void
test_md(void **state)
{
	json_t *r = big_run();
	size_t len;
	char *md = render(r, DR_RENDER_MD, &len);
	const char *g;

	(void)state;
	/* the Markdown keeps every row: the grid, the comparison and the
	 * timeline (task log) */
	g = find(md, "## Recovery by tenant");
	assert_int_equal(count(g, find(g, "\n## "), "\n| comune-"), NTEN);
	find(g, "| Tenant | payroll (RTO 20s) | anagrafe (RTO 2m) | "
	        "einvoicing (RTO 4m) | website (RTO 6m) |");
	assert_int_equal(count(md, NULL, "| not recovered now |"), 114);
	assert_int_equal(count(find(md, "## Timeline"), NULL, "\n| "),
	                 1 + NSVC * NTEN * 2 + (1 + NSVC) * 2);
	free(md);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_html),
	    cmocka_unit_test(test_md),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
