/*
 * test_render.c: the run report in Markdown and HTML, from a report JSON built
 * in memory (a failed run with every kind of outcome) and from a real lab
 * run (fixtures/report-lab.json).
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

#include "drover/common.h"
#include "drover/report-doc.h"

/* 2026-11-22T10:00:00Z */
#define T0 1795341600000LL
#define SEC 1000LL
#define MIN 60000LL

#define SCRIPT "<script>alert(1)</script>"

static json_t *
task(const char *key, const char *service, const char *tenant, int tier,
     const char *step, const char *host, const char *state, int attempts,
     long long start, long long end)
{
	return json_pack(
	    "{s:s, s:s, s:s?, s:i, s:s, s:s, s:s, s:s, s:n, s:s, s:b, s:i, "
	    "s:n, s:n, s:n, s:n, s:n, s:I, s:I}",
	    "key", key, "service", service, "tenant", tenant, "tier", tier,
	    "step", step, "action", "run", "site", "torino", "host", host,
	    "source_host", "state", state, "unreachable", 0, "attempts",
	    attempts, "exit_status", "exit_signal", "message", "start", "end",
	    "start_ms", (json_int_t)(start >= 0 ? T0 + start : 0), "end_ms",
	    (json_int_t)(end >= 0 ? T0 + end : 0));
}

static json_t *
svc(const char *service, const char *tenant, int tier, long long rto,
    bool recovered, long long at)
{
	json_t *o = json_pack("{s:s, s:s?, s:i}", "service", service, "tenant",
	                      tenant, "tier", tier);
	char buf[40];

	json_object_set_new(o, "rto_ms", rto ? json_integer(rto) : json_null());
	json_object_set_new(o, "recovered", json_boolean(recovered));
	json_object_set_new(o, "recovered_at",
	                    recovered
	                        ? json_string(dr_time_fmt((uint64_t)(T0 + at),
	                                                  buf, sizeof(buf)))
	                        : json_null());
	json_object_set_new(o, "recovery_ms",
	                    recovered ? json_integer(at) : json_null());
	json_object_set_new(o, "rto_met",
	                    json_boolean(recovered && (!rto || at <= rto)));
	return o;
}

static void
set_str(json_t *o, const char *k, const char *v)
{
	json_object_set_new(o, k, json_string(v));
}

/*
 * A failed 10-minute run: payroll for brescia recovered after its 4m RTO,
 * payroll for lodi failed (exit 3, with output), website for brescia
 * recovered in time, website for lodi was cancelled before it started,
 * einvoicing for brescia was killed by a signal.
 */
static json_t *
failed_run(void)
{
	json_t *r = json_pack(
	    "{s:s, s:s, s:s, s:s, s:s, s:[s,s], s:s, s:s, s:s, s:s, s:s, "
	    "s:s, s:s, s:I}",
	    "run_id", "20261122T100000Z-pa-recovery-7c1e", "plan",
	    "pa-recovery <test> & co", "plan_file", "plans/pa.cfg",
	    "plan_sha256",
	    "5f2b1c0e3a7d9e8f6b4a2c1d0e9f8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c3d2e1f",
	    "mode", "failover", "from", "milan", "rome", "to", "torino",
	    "state", "failed", "user", "giulia", "host", "ctl-1", "command",
	    "drover failover --from milan,rome --to torino plans/pa.cfg",
	    "started_at", "2026-11-22T10:00:00.000Z", "ended_at",
	    "2026-11-22T10:10:00.000Z", "duration_ms", (json_int_t)(10 * MIN));
	json_t *tasks = json_array(), *svcs = json_array(), *t;

	json_array_append_new(tasks, task("fence/cut@milan/mi-db1", "fence",
	                                  NULL, 0, "cut", "mi-db1", "succeeded",
	                                  1, 0, 1 * MIN));
	json_array_append_new(
	    tasks, task("payroll/comune-brescia/restore@torino/to-db1",
	                "payroll", "comune-brescia", 1, "restore", "to-db1",
	                "succeeded", 1, 1 * MIN, 5 * MIN));
	t = task("payroll/comune-lodi/restore@torino/to-db1", "payroll",
	         "comune-lodi", 1, "restore", "to-db1", "failed", 2, 1 * MIN,
	         3 * MIN);
	json_object_set_new(t, "exit_status", json_integer(3));
	set_str(t, "message", "torino/to-db1: restore: exit 3 " SCRIPT);
	set_str(t, "tail",
	        "tar: payroll.db: <b>No space left</b> & more\n"
	        "restore-payroll: giving up\n");
	json_array_append_new(tasks, t);
	t = task("payroll/comune-lodi/healthy", "payroll", "comune-lodi", 1,
	         "healthy", "to-db1", "skipped", 0, -1, -1);
	json_object_set_new(t, "host", json_null());
	set_str(t, "action", "probe");
	json_array_append_new(tasks, t);
	json_array_append_new(
	    tasks, task("website/comune-brescia/publish@torino/to-web1",
	                "website", "comune-brescia", 2, "publish", "to-web1",
	                "succeeded", 1, 5 * MIN, 10 * MIN));
	t = task("website/comune-lodi/publish@torino/to-web1", "website",
	         "comune-lodi", 2, "publish", "to-web1", "cancelled", 0, -1,
	         -1);
	set_str(t, "message", "cancelled: the run failed");
	json_array_append_new(tasks, t);
	t = task("einvoicing/comune-brescia/load@torino/to-app1", "einvoicing",
	         "comune-brescia", 2, "load", "to-app1", "failed", 1, 5 * MIN,
	         7 * MIN);
	set_str(t, "exit_signal", "KILL");
	set_str(t, "message", "torino/to-app1: load: deadline 2m exceeded");
	set_str(t, "tail", "invoice 00041 ok\ninvoice 00042 ok\n");
	json_array_append_new(tasks, t);
	json_object_set_new(r, "tasks", tasks);

	json_array_append_new(svcs, svc("fence", NULL, 0, 0, true, 1 * MIN));
	json_array_append_new(
	    svcs, svc("payroll", "comune-brescia", 1, 4 * MIN, true, 5 * MIN));
	json_array_append_new(
	    svcs, svc("payroll", "comune-lodi", 1, 4 * MIN, false, 0));
	json_array_append_new(
	    svcs, svc("einvoicing", "comune-brescia", 2, 30 * MIN, false, 0));
	json_array_append_new(svcs, svc("website", "comune-brescia", 2,
	                                60 * MIN, true, 10 * MIN));
	json_array_append_new(
	    svcs, svc("website", "comune-lodi", 2, 60 * MIN, false, 0));
	json_object_set_new(r, "services", svcs);
	return r;
}

static char *
render(const json_t *r, enum dr_render_format fmt)
{
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	assert_non_null(f);
	assert_int_equal(dr_render_report(r, fmt, f), 0);
	assert_int_equal(fclose(f), 0);
	assert_non_null(buf);
	return buf;
}

struct fixture {
	json_t *report;
	char *md;
	char *html;
};

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));

	fx->report = failed_run();
	fx->md = render(fx->report, DR_RENDER_MD);
	fx->html = render(fx->report, DR_RENDER_HTML);
	*state = fx;
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;

	free(fx->md);
	free(fx->html);
	json_decref(fx->report);
	free(fx);
	return 0;
}

/* strstr that fails the test, showing what was missing. */
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

static size_t
count(const char *hay, const char *needle)
{
	size_t n = 0;

	while ((hay = strstr(hay, needle)) != NULL) {
		n++;
		hay += strlen(needle);
	}
	return n;
}

/* The per-task detail of the timeline: its collapsible section. */
static const char *
detail(const char *html)
{
	return find(html, "<details class=\"detail\"");
}

/* The numeric attribute name="..." of the element starting at elem. */
static double
attr(const char *elem, const char *name)
{
	char pat[32];
	const char *end = strchr(elem, '>'), *p;

	snprintf(pat, sizeof(pat), " %s=\"", name);
	p = strstr(elem, pat);
	if (p == NULL || (end && p > end))
		fail_msg("no %s in \"%.100s\"", name, elem);
	return strtod(p + strlen(pat), NULL);
}

/* The <rect> of the bar of the task whose key is key. */
static const char *
bar(const char *html, const char *key)
{
	char pat[256];
	const char *p;

	snprintf(pat, sizeof(pat), "data-key=\"%s\"", key);
	p = find(html, pat);
	while (p > html && strncmp(p, "<rect", 5) != 0)
		p--;
	return p;
}

/* The <text> element holding needle. */
static const char *
label(const char *svg, const char *needle)
{
	const char *p = find(svg, needle);

	while (p > svg && strncmp(p, "<text", 5) != 0)
		p--;
	return p;
}

static void
near(double got, double want, const char *what)
{
	if (got < want - 0.25 || got > want + 0.25)
		fail_msg("%s: got %.2f, want %.2f", what, got, want);
}

static void
test_header(void **state)
{
	struct fixture *fx = *state;
	const char *doc[] = {fx->md, fx->html};
	size_t i;

	for (i = 0; i < 2; i++) {
		find(doc[i], "20261122T100000Z-pa-recovery-7c1e");
		find(doc[i], "milan, rome \xe2\x86\x92 torino");
		find(doc[i], "failover");
		find(doc[i], "FAILED");
		find(doc[i], "2026-11-22 10:00:00 UTC");
		find(doc[i], "2026-11-22 10:10:00 UTC");
		find(doc[i], "10m00s");
		find(doc[i], "giulia@ctl-1");
		find(doc[i], "drover failover --from milan,rome --to torino "
		             "plans/pa.cfg");
		find(doc[i], "5f2b1c0e3a7d9e8f6b4a2c1d0e9f8a7b6c5d4e3f2a1b0c9d8"
		             "e7f6a5b4c3d2e1f");
		find(doc[i], "plans/pa.cfg");
	}
	find(fx->html, "<div class=\"outcome o-failed\">FAILED</div>");
	find(fx->html, "pa-recovery &lt;test&gt; &amp; co");
	find(fx->md, "**Outcome: FAILED**");
	find(fx->md, "pa-recovery \\<test\\> \\& co");
}

static void
test_outcomes(void **state)
{
	const char *st[] = {"succeeded", "interrupted"};
	const char *want[] = {"o-succeeded\">SUCCEEDED<",
	                      "o-interrupted\">INTERRUPTED<"};
	json_t *r = json_object();
	size_t i;

	(void)state;
	for (i = 0; i < 2; i++) {
		char *html, *md;
		json_object_set_new(r, "state", json_string(st[i]));
		html = render(r, DR_RENDER_HTML);
		md = render(r, DR_RENDER_MD);
		find(html, want[i]);
		find(md, i ? "INTERRUPTED" : "SUCCEEDED");
		free(html);
		free(md);
	}
	json_decref(r);
}

static void
test_summary(void **state)
{
	struct fixture *fx = *state;
	const char *s;

	/* 1 met (website brescia), 1 missed (payroll brescia), 3 not
	 * recovered, fence without an RTO. */
	find(fx->md, "**Services against RTO** (6): 1 met, 1 missed, 3 not "
	             "recovered, 1 recovered without an RTO");
	find(fx->md, "**Tasks** (7): 3 succeeded, 2 failed, 1 skipped, 1 "
	             "cancelled");
	s = find(fx->html, "<h2>Summary</h2>");
	find(s, "<div class=\"n\">1</div><div class=\"l\">services met "
	        "their RTO");
	find(s, "<div class=\"n\">1</div><div class=\"l\">missed their RTO");
	find(s, "<div class=\"n\">3</div><div class=\"l\">not recovered");
	find(s, "<div class=\"n\">2</div><div class=\"l\">tasks failed");
	find(s, "3 succeeded");
	find(s, "1 cancelled");
}

static void
test_grid(void **state)
{
	struct fixture *fx = *state;
	const char *doc[] = {fx->md, fx->html};
	const char *g, *ts, *b, *l, *f;
	size_t i;

	for (i = 0; i < 2; i++) {
		const char *rec = find(doc[i], "Recovery by service");
		g = find(rec, "Global services");
		ts = find(rec, "Tenant services");
		b = find(find(rec, "Recovery by tenant"), "comune-brescia");
		l = find(b, "comune-lodi");
		f = find(rec, "Failures");
		assert_true(g < ts && ts < b && b < l && l < f);
	}
	/* the global services: one row each, as before */
	g = find(fx->md, "### Global services");
	find(g, "| Service | Tier | Recovered at | RTO | Met |");
	find(g, "| fence | 0 | +01:00 (10:01:00 UTC) | - | recovered (no "
	        "RTO) |");
	/* the tenant services, each over its tenants */
	ts = find(fx->md, "### Tenant services");
	find(ts, "| Service | Tier | RTO | Tenants | Met | Missed | Not "
	         "recovered | First recovered | Last recovered |");
	find(ts, "| payroll | 1 | 4m | 2 | 0 | 1 | 1 (1 failed) | +05:00 | "
	         "+05:00 |");
	find(ts, "| einvoicing | 2 | 30m | 1 | 0 | 0 | 1 (1 failed) | - | - "
	         "|");
	find(ts, "| website | 2 | 1h | 2 | 1 | 0 | 1 | +10:00 | +10:00 |");
	assert_true(strstr(ts, "| fence |") >
	            find(ts, "## Recovery by tenant"));

	/* the grid: a row per tenant, a column per tenant service, in tier
	 * order; what the tenant tables said, one cell each */
	g = find(fx->md, "## Recovery by tenant");
	find(g, "2 tenants in priority order");
	find(g, "| Tenant | payroll (RTO 4m) | einvoicing (RTO 30m) | website "
	        "(RTO 1h) |");
	find(g, "| comune-brescia | +05:00 MISSED (1m00s late) | FAILED | "
	        "+10:00 met (50m00s to spare) |");
	find(g, "| comune-lodi | FAILED | \xe2\x80\x94 | NOT RECOVERED |");

	g = find(fx->html, "<h2 id=\"by-tenant\">Recovery by tenant</h2>");
	find(g, "<span class=\"sw g-missed\"></span>recovered late");
	b = find(g, "<div class=\"gridblock\">\n<table class=\"grid\">");
	find(b, "<th>Tenant</th><th>payroll (RTO 4m)</th><th>einvoicing "
	        "(RTO 30m)</th><th>website (RTO 1h)</th>");
	find(b, "<tr><td class=\"gt\">comune-brescia</td><td "
	        "class=\"g-missed\">+05:00 late</td><td "
	        "class=\"g-failed\">FAILED</td><td class=\"g-met\">+10:00"
	        "</td></tr>");
	find(b, "<tr><td class=\"gt\">comune-lodi</td><td "
	        "class=\"g-failed\">FAILED</td><td class=\"g-none\">"
	        "\xe2\x80\x94</td><td class=\"g-notrec\">not recovered"
	        "</td></tr>");
	/* two tenants: one table */
	assert_int_equal(count(fx->html, "<table class=\"grid\">"), 1);
	absent(fx->html, "<h3>comune-brescia</h3>");
	ts = find(fx->html, "<table class=\"bysvc\">");
	find(ts, "<td>payroll</td><td>1</td><td>4m</td><td>2</td><td>0</td>"
	         "<td class=\"r-missed\">1</td><td class=\"r-not\">1 (1 "
	         "failed)</td>");
}

static void
test_failures(void **state)
{
	struct fixture *fx = *state;
	const char *f, *p, *k;

	f = find(fx->html, "<h2>Failures</h2>");
	p = find(f, "payroll/comune-lodi/restore@torino/to-db1</h3>");
	find(p, "<td>Host</td><td>torino/to-db1</td>");
	find(p, "<td>Attempts</td><td>2</td>");
	find(p, "<td>Exit</td><td>status 3</td>");
	find(p, "torino/to-db1: restore: exit 3 &lt;script&gt;");
	find(p, "<pre class=\"tail\">tar: payroll.db: &lt;b&gt;No space "
	        "left&lt;/b&gt; &amp; more\nrestore-payroll: giving up\n"
	        "</pre>");
	k = find(f, "einvoicing/comune-brescia/load@torino/to-app1</h3>");
	find(k, "<td>Exit</td><td>signal KILL</td>");
	find(k, "deadline 2m exceeded");
	find(k, "invoice 00042 ok");
	/* cancelled before it started: listed, without a box */
	find(f, "Cancelled before they started (1)");
	find(f, "website/comune-lodi/publish@torino/to-web1");
	/* succeeded and skipped tasks are not failures */
	absent(f, "website/comune-brescia/publish@torino/to-web1</h3>");
	absent(f, "payroll/comune-lodi/healthy</h3>");

	f = find(fx->md, "## Failures");
	p = find(f, "### payroll/comune-lodi/restore@torino/to-db1 "
	            "\xe2\x80\x94 failed");
	find(p, "- **Attempts:** 2");
	find(p, "- **Exit:** status 3");
	find(p, "- **Message:** torino/to-db1: restore: exit 3 "
	        "\\<script\\>alert(1)\\</script\\>");
	find(p, "```text\ntar: payroll.db: <b>No space left</b> & more\n"
	        "restore-payroll: giving up\n```");
	find(f, "- **Exit:** signal KILL");
}

static void
test_escaping(void **state)
{
	struct fixture *fx = *state;

	absent(fx->html, "<script");
	absent(fx->html, "<b>No space");
	absent(fx->html, "<test>");
	find(fx->html, "&lt;script&gt;alert(1)&lt;/script&gt;");
	/* outside code blocks Markdown escapes it too */
	find(fx->md, "\\<script\\>");
}

static void
test_self_contained(void **state)
{
	struct fixture *fx = *state;

	find(fx->html, "<!DOCTYPE html>");
	find(fx->html, "<style>");
	find(fx->html, "@page{size:A4 landscape");
	find(fx->html, "@media print");
	absent(fx->html, " src=");
	absent(fx->html, " href=");
	absent(fx->html, "http://");
	absent(fx->html, "https://");
	absent(fx->html, "url(");
	absent(fx->html, "@import");
	absent(fx->html, "<link");
	absent(fx->html, "<img");
	absent(fx->html, "<script");
	/* per service, then per task */
	assert_int_equal(count(fx->html, "<svg"), 2);
	assert_int_equal(count(fx->html, "</svg>"), 2);
	absent(fx->md, "<svg");
	find(fx->md, "## Timeline");
}

static void
test_timeline_bars(void **state)
{
	struct fixture *fx = *state;
	const char *svg = find(detail(fx->html), "<svg");
	const char *f, *pb, *pl, *wb, *ei, *tick0, *tick5;
	double x0, w1, span_w;

	/* one bar per task */
	assert_int_equal(count(svg, "<rect class=\"bar "), 7);
	f = bar(svg, "fence/cut@milan/mi-db1");
	pb = bar(svg, "payroll/comune-brescia/restore@torino/to-db1");
	pl = bar(svg, "payroll/comune-lodi/restore@torino/to-db1");
	wb = bar(svg, "website/comune-brescia/publish@torino/to-web1");
	ei = bar(svg, "einvoicing/comune-brescia/load@torino/to-app1");

	/* colour by state */
	find(f, "class=\"bar s-succeeded\"");
	find(pl, "class=\"bar s-failed\"");
	find(bar(svg, "website/comune-lodi/publish@torino/to-web1"),
	     "class=\"bar s-cancelled nostart\"");
	find(bar(svg, "payroll/comune-lodi/healthy"), "s-skipped");

	/* positioned by start and end: the fence runs 0-1m from the 00:00
	 * tick, payroll brescia 1m-5m, website brescia 5m-10m */
	tick0 = find(svg, ">00:00</text>");
	while (strncmp(tick0, "<text", 5) != 0)
		tick0--;
	x0 = attr(tick0, "x");
	w1 = attr(f, "width");
	assert_true(w1 > 10.0);
	near(attr(f, "x"), x0, "fence x");
	near(attr(pb, "x"), x0 + w1, "payroll x");
	near(attr(pb, "width"), 4 * w1, "payroll width");
	near(attr(pl, "width"), 2 * w1, "payroll lodi width");
	near(attr(wb, "x"), x0 + 5 * w1, "website x");
	near(attr(wb, "width"), 5 * w1, "website width");
	near(attr(ei, "x"), attr(wb, "x"), "einvoicing x");
	span_w = 10 * w1;
	tick5 = find(svg, ">05:00</text>");
	while (strncmp(tick5, "<text", 5) != 0)
		tick5--;
	near(attr(tick5, "x"), x0 + span_w / 2, "05:00 tick");
	find(svg, ">10:00</text>");

	/* tooltips: key, host, attempts, duration, message */
	find(pl, "<title>payroll/comune-lodi/restore@torino/to-db1\nhost: "
	         "torino/to-db1\nstate: failed, attempts 2\n+01:00 "
	         "\xe2\x86\x92 +03:00, duration 2m00s\nexit status 3\n"
	         "torino/to-db1: restore: exit 3 &lt;script&gt;");
}

/* The first <svg> of html, up to its end, as a string of its own. */
static char *
first_svg(const char *html)
{
	const char *p = find(html, "<svg"), *q = find(p, "</svg>");

	return strndup(p, (size_t)(q - p) + 6);
}

/* Per service: one bar each, from the first task's start to the last
 * one's end, in the colour of the worst, a tick per failed task. */
static void
test_timeline_services(void **state)
{
	struct fixture *fx = *state;
	char *svg = first_svg(find(fx->html, "<section class=\"timeline\">"));
	const char *f, *p, *e, *w, *tick0, *mark;
	double x0, w1;
	char pat[64];

	find(svg, "Timeline of run 20261122T100000Z-pa-recovery-7c1e, per "
	          "service</title>");
	assert_int_equal(count(svg, "<rect class=\"bar "), 4);
	f = find(svg, "<rect class=\"bar s-succeeded\" data-service=\"fence\"");
	p = find(svg, "<rect class=\"bar s-failed\" data-service=\"payroll\"");
	e = find(svg,
	         "<rect class=\"bar s-failed\" data-service=\"einvoicing\"");
	w = find(svg,
	         "<rect class=\"bar s-cancelled\" data-service=\"website\"");
	tick0 = label(svg, ">00:00</text>");
	x0 = attr(tick0, "x");
	w1 = attr(f, "width");
	near(attr(f, "x"), x0, "fence x");
	near(attr(p, "x"), x0 + w1, "payroll x");
	near(attr(p, "width"), 4 * w1, "payroll width");
	near(attr(e, "x"), x0 + 5 * w1, "einvoicing x");
	near(attr(e, "width"), 2 * w1, "einvoicing width");
	near(attr(w, "width"), 5 * w1, "website width");
	/* payroll lodi failed at 3m, einvoicing brescia at 7m */
	assert_int_equal(count(svg, "<line class=\"failm\""), 2);
	mark = find(svg, "<line class=\"failm\"");
	near(attr(mark, "x1"), x0 + 3 * w1, "payroll failure");
	near(attr(find(mark + 1, "<line class=\"failm\""), "x1"), x0 + 7 * w1,
	     "einvoicing failure");
	/* labels and tooltips */
	find(svg, "<text class=\"svcl bad\"");
	find(svg, ">payroll<title>payroll</title>");
	find(svg, ">2 tenants, 3 tasks</text>");
	find(svg, ">global, 1 task</text>");
	find(p, "<title>payroll\ntier 1, RTO 4m\n2 tenants: 1 missed their "
	        "RTO, 1 failed\n3 tasks, 1 failed\n+01:00 \xe2\x86\x92 "
	        "+05:00\nlast recovered +05:00</title>");
	find(svg, ">Tier 2 \xc2\xb7 einvoicing, website<");
	/* the deadlines, as per task */
	assert_int_equal(count(svg, "<g class=\"rtog\""), 3);
	snprintf(pat, sizeof(pat), "%s", "after the run, not to scale");
	find(svg, pat);
	/* a small run: the detail shows all and is open, so it prints */
	find(fx->html, "<details class=\"detail\" open><summary><b>Per "
	               "task</b>: all 7 tasks</summary>");
	find(fx->html, "<details class=\"detail\" open><summary><b>Every "
	               "task</b>: all 7 tasks</summary>");
	free(svg);
}

static void
test_timeline_labels(void **state)
{
	struct fixture *fx = *state;
	const char *svg = find(detail(fx->html), "<svg");
	const char *t0, *t1, *t2, *pb, *pl;

	/* rows grouped by tier, then service and tenant, top to bottom */
	t0 = label(svg, ">Tier 0 \xc2\xb7 fence<");
	t1 = label(svg, ">Tier 1 \xc2\xb7 payroll<");
	t2 = label(svg, ">Tier 2 \xc2\xb7 einvoicing, website<");
	pb = label(svg, ">payroll \xc2\xb7 comune-brescia<");
	pl = label(svg, ">payroll \xc2\xb7 comune-lodi<");
	assert_true(attr(t0, "y") < attr(t1, "y"));
	assert_true(attr(t1, "y") < attr(pb, "y"));
	assert_true(attr(pb, "y") < attr(pl, "y"));
	assert_true(attr(pl, "y") < attr(t2, "y"));
	assert_true(
	    attr(t2, "y") <
	    attr(label(svg, ">einvoicing \xc2\xb7 comune-brescia<"), "y"));
	assert_true(
	    attr(label(svg, ">einvoicing \xc2\xb7 comune-brescia<"), "y") <
	    attr(label(svg, ">website \xc2\xb7 comune-brescia<"), "y"));
	/* each bar on its group's rows */
	assert_true(attr(bar(svg, "payroll/comune-lodi/restore@torino/to-db1"),
	                 "y") > attr(pl, "y") - 13.0);
	assert_true(attr(bar(svg, "payroll/comune-lodi/restore@torino/to-db1"),
	                 "y") < attr(t2, "y"));
	find(svg, ">restore @ to-db1</text>");
	find(svg, ">healthy (probe)</text>");
	/* not met: the label says so in red */
	find(svg, "<text class=\"svcl bad\"");
	/* the fence is global: its label has no tenant */
	find(svg, ">fence<title>");
}

static void
test_rto_markers(void **state)
{
	struct fixture *fx = *state;
	const char *svg = find(detail(fx->html), "<svg");
	const char *p, *f, *tick0, *line;
	double x0, w1;

	/* one deadline per service that has an RTO */
	assert_int_equal(count(svg, "<g class=\"rtog\""), 3);
	p = find(svg, "<g class=\"rtog\" data-service=\"payroll\" "
	              "data-rto-ms=\"240000\">");
	find(p, ">payroll RTO 4m</text>");
	find(svg, "<g class=\"rtog\" data-service=\"einvoicing\" "
	          "data-rto-ms=\"1800000\">");
	find(svg, ">einvoicing RTO 30m</text>");
	find(svg, ">website RTO 1h</text>");
	absent(svg, "data-service=\"fence\"");
	assert_int_equal(count(svg, "<line class=\"rto\""), 3);
	find(fx->html, "stroke-dasharray:5 3");

	/* payroll's deadline is inside the run: run start + 4m */
	f = bar(svg, "fence/cut@milan/mi-db1");
	tick0 = find(svg, ">00:00</text>");
	while (strncmp(tick0, "<text", 5) != 0)
		tick0--;
	x0 = attr(tick0, "x");
	w1 = attr(f, "width");
	line = find(p, "<line class=\"rto\"");
	near(attr(line, "x1"), x0 + 4 * w1, "payroll RTO x");
	near(attr(line, "x2"), x0 + 4 * w1, "payroll RTO x2");
	/* 30m and 1h are past the run's end: drawn after it, in order */
	line = find(find(svg, "data-service=\"einvoicing\""), "<line");
	assert_true(attr(line, "x1") > x0 + 10 * w1);
	assert_true(attr(find(find(svg, "data-service=\"website\""), "<line"),
	                 "x1") > attr(line, "x1"));
	find(svg, "after the run, not to scale");
}

static void
test_md_timeline(void **state)
{
	struct fixture *fx = *state;
	const char *t = find(fx->md, "## Timeline");
	const char *t1 = find(t, "### Tier 1");

	find(t, "### Tier 0");
	find(t, "| Start | End | Duration | Service | Tenant | Step | Host | "
	        "State | Attempts | Message |");
	find(t1, "| 01:00 | 03:00 | 2m00s | payroll | comune-lodi | restore "
	         "| torino/to-db1 | failed | 2 |");
	find(t, "| - | - | - | website | comune-lodi | publish | "
	        "torino/to-web1 | cancelled | 0 | cancelled: the run failed |");
}

static void
test_tail_cut(void **state)
{
	json_t *r = failed_run();
	json_t *t = json_array_get(json_object_get(r, "tasks"), 2);
	size_t n = 20000;
	char *big = malloc(n + 1), *html, *md;

	(void)state;
	memset(big, 'x', n);
	memcpy(big, "FIRST", 5);
	memcpy(big + n - 4, "LAST", 4);
	big[n] = '\0';
	set_str(t, "tail", big);
	html = render(r, DR_RENDER_HTML);
	md = render(r, DR_RENDER_MD);
	find(html, "[earlier output omitted]");
	find(html, "LAST</pre>");
	absent(html, "FIRST");
	find(md, "[earlier output omitted]");
	find(md, "LAST\n```");
	free(big);
	free(html);
	free(md);
	json_decref(r);
}

/* Missing fields, nulls and wrong types render as unknown, not crash. */
static void
test_sparse(void **state)
{
	json_t *r = json_pack("{s:n, s:i, s:[{s:i, s:s}, i, {}], s:[{}, s]}",
	                      "plan", "from", 3, "tasks", "tier", 4, "state",
	                      "running", 7, "services", "x");
	json_t *empty = json_object(), *arr = json_array();
	char *s;
	FILE *f;

	(void)state;
	s = render(r, DR_RENDER_HTML);
	find(s, "</html>");
	find(s, "UNKNOWN");
	free(s);
	s = render(r, DR_RENDER_MD);
	find(s, "UNKNOWN");
	free(s);
	s = render(empty, DR_RENDER_HTML);
	find(s, "No tasks.");
	free(s);
	s = render(empty, DR_RENDER_MD);
	find(s, "No tasks.");
	free(s);

	f = fopen("/dev/null", "w");
	assert_non_null(f);
	assert_int_equal(dr_render_report(arr, DR_RENDER_HTML, f), DR_EINVAL);
	assert_int_equal(dr_render_report(NULL, DR_RENDER_MD, f), DR_EINVAL);
	assert_int_equal(dr_render_report(empty, (enum dr_render_format)42, f),
	                 DR_EINVAL);
	fclose(f);
	/* a stream that refuses writes */
	f = fopen("/dev/null", "r");
	assert_non_null(f);
	assert_int_equal(dr_render_report(empty, DR_RENDER_HTML, f), DR_EIO);
	fclose(f);
	json_decref(r);
	json_decref(empty);
	json_decref(arr);
}

/* A long tier is cut into page-sized parts between service instances. */
static void
test_long_run(void **state)
{
	json_t *r = json_pack("{s:s, s:s, s:I}", "state", "succeeded",
	                      "started_at", "2026-11-22T10:00:00.000Z",
	                      "duration_ms", (json_int_t)(60 * MIN));
	json_t *tasks = json_array(), *svcs = json_array();
	const char *steps[] = {"fetch", "restore", "verify", "healthy"};
	char *html, *md;
	const char *p, *q, *d;
	size_t i, j, parts;

	(void)state;
	for (i = 0; i < 40; i++) {
		char tenant[32], key[96];
		snprintf(tenant, sizeof(tenant), "comune-%02zu", i);
		for (j = 0; j < 4; j++) {
			snprintf(key, sizeof(key), "payroll/%s/%s", tenant,
			         steps[j]);
			json_array_append_new(
			    tasks,
			    task(key, "payroll", tenant, 1, steps[j], "to-db1",
			         "succeeded", 1,
			         (long long)(i * MIN + j * 10 * SEC),
			         (long long)(i * MIN + (j + 1) * 10 * SEC)));
		}
		json_array_append_new(svcs,
		                      svc("payroll", tenant, 1, 8 * MIN, true,
		                          (long long)(i + 1) * MIN));
	}
	json_object_set_new(r, "tasks", tasks);
	json_object_set_new(r, "services", svcs);
	html = render(r, DR_RENDER_HTML);
	/* per service: one bar for the 40 tenants */
	find(html, "data-service=\"payroll\" x=");
	find(html, ">40 tenants, 160 tasks</text>");
	/* per task: 20 of the 40 tenants, those late first (8 to 39, in
	 * priority order), in a section closed by default */
	d = find(html, "<details class=\"detail\"><summary><b>Per task</b>: "
	               "the 80 tasks of the global services and of 20 of the "
	               "40 tenants (failed, not recovered, late, then by "
	               "priority); 20 tenants and 80 tasks left out, all in "
	               "report.md and report.json</summary>");
	find(d, ">payroll \xc2\xb7 comune-08<");
	find(d, ">payroll \xc2\xb7 comune-27<");
	absent(d, ">payroll \xc2\xb7 comune-07<");
	absent(d, ">payroll \xc2\xb7 comune-28<");
	assert_int_equal(count(d, "<rect class=\"bar "), 80);
	parts = count(d, "<svg");
	assert_true(parts >= 2);
	assert_int_equal(count(d, "<g class=\"rtog\""), parts);
	assert_int_equal(count(d, " (continued)<"), parts - 1);
	/* no service instance is split between two parts, and every part
	 * fits an A4 landscape page (1300 wide, at most ~900 high) */
	for (p = strstr(d, "<svg"); p; p = q) {
		const char *vb = strstr(p, "viewBox=\"0 0 1300 ");
		const char *end = strstr(p, "</svg>");
		assert_non_null(vb);
		assert_true(strtod(vb + strlen("viewBox=\"0 0 1300 "), NULL) <
		            900.0);
		q = strstr(end, "<svg");
		if (q) {
			/* the next part starts with a fresh group label */
			const char *lbl = strstr(q, "<text class=\"svcl");
			const char *bar1 = strstr(q, "<rect class=\"bar ");
			assert_true(lbl && bar1 && lbl < bar1);
		}
	}
	/* the HTML task log has the same tenants; the Markdown has all */
	d = find(html, "<section class=\"log\">");
	find(d, "<td>comune-08</td>");
	absent(d, "<td>comune-07</td>");
	md = render(r, DR_RENDER_MD);
	find(find(md, "## Timeline"), "| payroll | comune-07 |");
	assert_int_equal(count(md, "| succeeded | 1 |"), 160);
	free(md);
	free(html);
	json_decref(r);
}

/* A real report.json from a lab failover (80 tasks, 17 services). */
static void
test_lab_fixture(void **state)
{
	json_error_t err;
	json_t *r = json_load_file(
	    DROVER_SOURCE_DIR "/tests/unit/fixtures/report-lab.json", 0, &err);
	char *html, *md;
	const char *svg;

	(void)state;
	if (r == NULL)
		fail_msg("fixture: %d: %s", err.line, err.text);
	html = render(r, DR_RENDER_HTML);
	md = render(r, DR_RENDER_MD);
	find(html, ">SUCCEEDED</div>");
	find(html, "milan, rome \xe2\x86\x92 torino");
	/* per service: 7 bars; per task, open (83 tasks): 80 bars */
	svg = find(html, "<svg");
	assert_int_equal(count(svg, "<rect class=\"bar ") -
	                     count(detail(html), "<rect class=\"bar "),
	                 7);
	svg = find(detail(html), "<svg");
	find(html, "<details class=\"detail\" open>");
	assert_int_equal(count(svg, "<rect class=\"bar "), 80);
	assert_int_equal(count(svg, "<rect class=\"bar s-succeeded\""), 80);
	/* 80 rows print on two pages: one SVG each, cut between service
	 * instances, each with its own axis and the five deadlines
	 * (payroll, anagrafe, einvoicing, preservation, website) */
	assert_int_equal(count(svg, "<svg"), 2);
	assert_int_equal(count(svg, "<g class=\"rtog\""), 2 * 5);
	assert_int_equal(count(svg, ">00:07</text>"), 2 * 2);
	find(svg, "(part 2 of 2)");
	find(svg, ">payroll RTO 10m</text>");
	find(svg, ">Tier 5 \xc2\xb7 website<");
	find(md, "**Services against RTO** (17): 15 met, 0 missed, 0 not "
	         "recovered, 2 recovered without an RTO");
	find(md, "| Tenant | payroll (RTO 10m) | anagrafe (RTO 15m) | "
	         "einvoicing (RTO 20m) | preservation (RTO 30m) | website (RTO "
	         "1h) |");
	find(md, "| comune-bergamo | +00:03.1 met (9m56s to spare) |");
	find(md, "| payroll | 1 | 10m | 3 | 3 | 0 | 0 | +00:02.6 | +00:03.1 "
	         "|");
	find(md, "No task failed or was cancelled.");
	absent(html, " href=");
	absent(html, " src=");
	free(html);
	free(md);
	json_decref(r);
}

/*
 * Restore points and the previous drill: a drill declared for an incident
 * at 09:30; payroll restored from a backup 36h older (RPO 2d: met),
 * anagrafe from one 2d 6h older (RPO 1d: missed), protocollo's copy failed
 * on its restore point (no RPO), website and the fence used none. The
 * previous drill: payroll 1.3s slower, anagrafe 2.0s faster, fence the
 * same, protocollo recovered, einvoicing no longer in the plan, website
 * new.
 */
#define EVIL_RUN "<img src=x onerror=alert(1)>`|x"

static void
restore_point(json_t *s, const char *taken, long long loss, long long rpo)
{
	set_str(s, "backup_taken_at", taken);
	json_object_set_new(s, "data_loss_ms", json_integer(loss));
	json_object_set_new(s, "rpo_ms", rpo ? json_integer(rpo) : json_null());
	json_object_set_new(s, "rpo_met", json_boolean(!rpo || loss <= rpo));
}

static json_t *
prev_svc(const char *service, const char *tenant, long long at)
{
	return json_pack("{s:s, s:s?, s:o, s:b}", "service", service, "tenant",
	                 tenant, "recovery_ms",
	                 at >= 0 ? json_integer(at) : json_null(), "rto_met",
	                 at >= 0);
}

static json_t *
restore_run(const char *mode)
{
	json_t *r = json_pack(
	    "{s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:s, s:s, s:I}", "run_id",
	    "20261122T100000Z-pa-drill-0b1d", "plan", "pa-recovery", "mode",
	    mode, "from", "milan", "to", "torino", "state", "failed",
	    "started_at", "2026-11-22T10:00:00.000Z", "ended_at",
	    "2026-11-22T10:10:00.000Z", "incident_at",
	    "2026-11-22T09:30:00.000Z", "duration_ms", (json_int_t)(10 * MIN));
	json_t *tasks = json_array(), *svcs = json_array(), *prev, *ps, *t, *s;

	json_array_append_new(tasks, task("fence/cut@milan/mi-db1", "fence",
	                                  NULL, 0, "cut", "mi-db1", "succeeded",
	                                  1, 0, 1 * MIN));
	t = task("payroll/comune-brescia/copy@torino/to-db1", "payroll",
	         "comune-brescia", 1, "copy", "to-db1", "succeeded", 1, 1 * MIN,
	         5 * MIN);
	set_str(t, "backup", "/backups/payroll/2026-11-20.tar");
	set_str(t, "backup_taken_at", "2026-11-20T21:30:00.000Z");
	json_array_append_new(tasks, t);
	t = task("anagrafe/comune-brescia/copy@torino/to-db1", "anagrafe",
	         "comune-brescia", 1, "copy", "to-db1", "succeeded", 1, 1 * MIN,
	         3 * MIN);
	set_str(t, "backup", "/backups/anagrafe/2026-11-20.tar");
	set_str(t, "backup_taken_at", "2026-11-20T03:30:00.000Z");
	json_array_append_new(tasks, t);
	t = task("protocollo/comune-lodi/copy@torino/to-db2", "protocollo",
	         "comune-lodi", 1, "copy", "to-db2", "failed", 1, 1 * MIN,
	         2 * MIN);
	json_object_set_new(t, "exit_status", json_integer(2));
	set_str(t, "message", "torino/to-db2: copy: exit 2");
	set_str(t, "backup", "/backups/<i>protocollo</i>/2026-11-21.tar");
	set_str(t, "backup_taken_at", "2026-11-21T02:00:00.000Z");
	json_array_append_new(tasks, t);
	json_array_append_new(
	    tasks, task("website/comune-brescia/publish@torino/to-web1",
	                "website", "comune-brescia", 2, "publish", "to-web1",
	                "succeeded", 1, 3 * MIN, 4 * MIN));
	json_object_set_new(r, "tasks", tasks);

	json_array_append_new(svcs, svc("fence", NULL, 0, 0, true, 1 * MIN));
	s = svc("payroll", "comune-brescia", 1, 8 * MIN, true, 5 * MIN);
	restore_point(s, "2026-11-20T21:30:00.000Z", 129600000, 172800000);
	json_array_append_new(svcs, s);
	s = svc("anagrafe", "comune-brescia", 1, 8 * MIN, true, 3 * MIN);
	restore_point(s, "2026-11-20T03:30:00.000Z", 194400000, 86400000);
	json_array_append_new(svcs, s);
	s = svc("protocollo", "comune-lodi", 1, 8 * MIN, false, 0);
	restore_point(s, "2026-11-21T02:00:00.000Z", 27000000, 0);
	json_array_append_new(svcs, s);
	json_array_append_new(
	    svcs, svc("website", "comune-brescia", 2, 60 * MIN, true, 4 * MIN));
	json_object_set_new(r, "services", svcs);

	ps = json_array();
	json_array_append_new(ps, prev_svc("fence", NULL, 1 * MIN + 50));
	json_array_append_new(
	    ps, prev_svc("payroll", "comune-brescia", 5 * MIN + 1300));
	json_array_append_new(
	    ps, prev_svc("anagrafe", "comune-brescia", 3 * MIN - 2000));
	json_array_append_new(ps,
	                      prev_svc("protocollo", "comune-lodi", 4 * MIN));
	json_array_append_new(
	    ps, prev_svc("einvoicing", "comune-brescia", 7 * MIN));
	prev = json_pack("{s:s, s:s, s:I, s:o}", "run_id", EVIL_RUN, "state",
	                 "succeeded", "duration_ms", (json_int_t)(9 * MIN),
	                 "services", ps);
	json_object_set_new(r, "previous", prev);
	return r;
}

static void
test_restore_points(void **state)
{
	json_t *r = restore_run("drill");
	char *md = render(r, DR_RENDER_MD), *html = render(r, DR_RENDER_HTML);
	const char *g, *f;

	(void)state;
	/* the incident in the header */
	find(md, "**Incident declared / restore points before:** 2026-11-22 "
	         "09:30:00 UTC");
	find(html, "<b>Incident declared / restore points before:</b> "
	           "2026-11-22 09:30:00 UTC");

	/* data lost against the RPO, per tenant and service */
	g = find(md, "## Recovery by tenant");
	find(g, "Data lost to the restore point below it.");
	find(g, "| Tenant | payroll (RTO 8m) | anagrafe (RTO 8m) | protocollo "
	        "(RTO 8m) | website (RTO 1h) |");
	find(g, "| comune-brescia | +05:00 met (3m00s to spare) \xc2\xb7 lost "
	        "1d 12h (backup 2026-11-20 21:30:00 UTC), RPO 2d: met | +03:00 "
	        "met (5m00s to spare) \xc2\xb7 lost 2d 6h (backup 2026-11-20 "
	        "03:30:00 UTC), RPO 1d: MISSED (1d 6h over) | \xe2\x80\x94 | "
	        "+04:00 met (56m00s to spare) |");
	find(g, "| comune-lodi | \xe2\x80\x94 | \xe2\x80\x94 | FAILED "
	        "\xc2\xb7 lost 7h 30m (backup 2026-11-21 02:00:00 UTC), no RPO "
	        "| \xe2\x80\x94 |");
	find(md, "| Service | Tier | RTO | Tenants | Met | Missed | Not "
	         "recovered | First recovered | Last recovered | Missed RPO |");
	find(md, "| anagrafe | 1 | 8m | 1 | 1 | 0 | 0 | +03:00 | +03:00 | 1 |");
	find(find(md, "### Global services"),
	     "| fence | 0 | +01:00 (10:01:00 UTC) | - | recovered (no RTO) | "
	     "\xe2\x80\x94 | \xe2\x80\x94 |");
	find(md, "- **Restored from restore points** (3): 1 missed their RPO");

	find(html, "<table class=\"svc rp\">");
	g = find(html, "<table class=\"grid\">");
	find(g, "<td class=\"g-met\">+05:00<br><span class=\"small\">lost "
	        "1d 12h</span></td><td class=\"g-met\">+03:00<br><span "
	        "class=\"small r-missed\">lost 2d 6h &gt; RPO</span></td>");
	find(g, "<td class=\"g-failed\">FAILED<br><span class=\"small\">lost "
	        "7h 30m</span></td>");
	find(html, "<td>anagrafe</td><td>1</td><td>8m</td><td>1</td><td "
	           "class=\"r-met\">1</td><td>0</td><td>0</td><td>+03:00</td>"
	           "<td>+03:00</td><td class=\"r-missed\">1</td>");
	find(html, "<div class=\"n\">1</div><div class=\"l\">missed their "
	           "RPO");

	/* the backup a copy used: task log, failures, tooltip */
	find(md, "| backup `/backups/payroll/2026-11-20.tar` (2026-11-20 "
	         "21:30:00 UTC) |");
	find(html, "<span class=\"small\">backup "
	           "<code>/backups/payroll/2026-11-20.tar</code> (2026-11-20 "
	           "21:30:00 UTC)</span>");
	f = find(md, "## Failures");
	find(f,
	     "- **Backup:** /backups/\\<i\\>protocollo\\</i\\>/2026-11-21.tar "
	     "(taken 2026-11-21 02:00:00 UTC)");
	f = find(html, "<h2>Failures</h2>");
	find(f, "<td>Backup</td><td>/backups/&lt;i&gt;protocollo&lt;/i&gt;/"
	        "2026-11-21.tar (taken 2026-11-21 02:00:00 UTC)</td>");
	find(html, "\nbackup: /backups/payroll/2026-11-20.tar</title>");
	absent(html, "<i>");
	free(md);
	free(html);
	json_decref(r);
}

static void
test_previous(void **state)
{
	json_t *r = restore_run("drill");
	char *md = render(r, DR_RENDER_MD), *html = render(r, DR_RENDER_HTML);
	const char *p;

	(void)state;
	p = find(md, "## Compared with the previous drill");
	assert_true(p > strstr(md, "## Recovery by tenant"));
	assert_true(p < strstr(md, "## Failures"));
	find(p, "Previous drill: run `` " EVIL_RUN " ``, **SUCCEEDED** in "
	        "9m00s.");
	find(p, "| Service | Tenant | This run | Previous | Change |");
	find(p, "| fence | - | 1m00s | 1m00s | same |");
	find(p, "| payroll | comune-brescia | 5m00s | 5m01s | faster by 1.3s "
	        "|");
	find(p, "| anagrafe | comune-brescia | 3m00s | 2m58s | slower by 2.0s "
	        "|");
	find(p, "| protocollo | comune-lodi | not recovered | 4m00s | not "
	        "recovered now |");
	find(p, "| website | comune-brescia | 4m00s | \xe2\x80\x94 | new |");
	find(p, "| einvoicing | comune-brescia | \xe2\x80\x94 | 7m00s | not in "
	        "this run |");
	find(md, "- **Against the previous drill**: 1 faster than last time, 1 "
	         "slower, 1 same");

	p = find(html, "<h2>Compared with the previous drill</h2>");
	find(p, "<p>Previous drill: run <code>&lt;img src=x "
	        "onerror=alert(1)&gt;`|x</code>, <b>SUCCEEDED</b> in 9m00s.");
	find(p, "<td>payroll</td><td>comune-brescia</td><td>5m00s</td>"
	        "<td>5m01s</td><td class=\"r-met\">faster by 1.3s</td>");
	find(p, "<td class=\"r-missed\">slower by 2.0s</td>");
	find(p, "<td class=\"r-none\">new</td>");
	find(p, "<td class=\"r-not\">not recovered now</td>");
	find(html, "<div class=\"n\">1</div><div class=\"l\">faster than last "
	           "time");
	find(html, "<div class=\"card warn\"><div class=\"n\">1</div><div "
	           "class=\"l\">slower than last time");
	/* the previous run id is text, never markup */
	absent(html, "<img");
	free(md);
	free(html);
	json_decref(r);

	/* a failover compares with the previous run */
	r = restore_run("failover");
	md = render(r, DR_RENDER_MD);
	html = render(r, DR_RENDER_HTML);
	find(md, "## Compared with the previous run");
	find(md, "Previous run: run ");
	find(html, "<h2>Compared with the previous run</h2>");
	absent(html, "previous drill");
	free(md);
	free(html);
	json_decref(r);

	/* no "previous", no section, no cards */
	r = failed_run();
	md = render(r, DR_RENDER_MD);
	html = render(r, DR_RENDER_HTML);
	absent(md, "Compared with");
	absent(html, "Compared with");
	absent(html, "than last time");
	absent(html, "Data lost");
	absent(md, "Incident declared");
	free(md);
	free(html);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_header, setup, teardown),
	    cmocka_unit_test(test_outcomes),
	    cmocka_unit_test_setup_teardown(test_summary, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_grid, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_failures, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_escaping, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_self_contained, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_timeline_bars, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_timeline_services, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_timeline_labels, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_rto_markers, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_md_timeline, setup, teardown),
	    cmocka_unit_test(test_tail_cut),
	    cmocka_unit_test(test_sparse),
	    cmocka_unit_test(test_long_run),
	    cmocka_unit_test(test_lab_fixture),
	    cmocka_unit_test(test_restore_points),
	    cmocka_unit_test(test_previous),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
