/*
 * test_live.c: the live board against a small expanded plan and synthetic
 * task state changes, on a fake clock, its frames written to a memory
 * stream: counts, bars, running tasks, failures, notes, the estimate, RTOs,
 * the questions that hold the redraw, the frame kept to the terminal's
 * size, presets, and a redraw whose count and size do not follow the
 * number of changes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <uv.h>

#include "drover/common.h"
#include "drover/graph.h"
#include "drover/live.h"
#include "drover/plan.h"
#include "drover/sched.h"

#define SITES                                                                  \
	"sites = (\n"                                                          \
	" { name = \"milan\"; role = \"primary\"; hosts = (\n"                 \
	"   { name = \"mi-db1\"; address = \"10.1.0.1\"; roles = [\"db\"]; "   \
	"} ); },\n"                                                            \
	" { name = \"torino\"; role = \"standby\"; hosts = (\n"                \
	"   { name = \"to-db1\"; address = \"10.3.0.1\"; roles = [\"db\"]; "   \
	"},\n"                                                                 \
	"   { name = \"to-app1\"; address = \"10.3.1.1\"; roles = [\"app\"]; " \
	"},\n"                                                                 \
	"   { name = \"to-app2\"; address = \"10.3.1.2\"; roles = [\"app\"]; " \
	"} ); }\n"                                                             \
	");\n"

/*
 * Per --from milan --to torino:
 *   fence  tier 0 global: cut x1 (mi-db1)
 *   db     tier 1 tenant: restore x1 (to-db1)            x3 tenants, rto 10m
 *   web    tier 1 tenant: publish x2 (to-app1, to-app2)  x3
 *   gate   tier 2 global: go x1 (approve)
 * = 1 + 3 + 6 + 1 = 11 tasks.
 */
static const char plan_text[] =
    "version = 1;\nname = \"live\";\n" SITES "tenants = (\n"
    " { name = \"a\"; priority = 1; },\n"
    " { name = \"b\"; priority = 2; },\n"
    " { name = \"c\"; priority = 3; }\n"
    ");\n"
    "services = (\n"
    " { name = \"fence\"; tier = 0; scope = \"global\"; steps = (\n"
    "   { name = \"cut\"; on = \"from:db\"; run = \"cut\"; } ); },\n"
    " { name = \"db\"; tier = 1; rto = \"10m\"; scope = \"tenant\"; "
    "steps = (\n"
    "   { name = \"restore\"; on = \"to:db\"; run = \"restore\"; } ); },\n"
    " { name = \"web\"; tier = 1; scope = \"tenant\"; steps = (\n"
    "   { name = \"publish\"; on = \"to:app\"; run = \"publish\"; } ); },\n"
    " { name = \"gate\"; tier = 2; scope = \"global\"; steps = (\n"
    "   { name = \"go\"; approve = \"open the routes?\"; } ); }\n"
    ");\n";

/* The fixture: a plan, its graph, every task's run record, the board. */
struct fx {
	struct dr_plan *plan;
	struct dr_graph *g;
	struct dr_task_run *runs;
	struct dr_live *live;
	char *out;
	size_t outlen;
	FILE *f;
};

static uint64_t fake_now; /* ms since the run started */

static uint64_t
clock_now(void *arg)
{
	(void)arg;
	return fake_now;
}

static struct dr_plan *
load(const char *text)
{
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;
	size_t i;

	if (dr_plan_load_string(text, "live.cfg", &d, &p) != 0) {
		for (i = 0; i < d.n; i++)
			print_message("%s:%d: %s\n", d.v[i].file, d.v[i].line,
			              d.v[i].msg);
		fail_msg("fixture plan did not load");
	}
	dr_diag_clear(&d);
	return p;
}

static struct dr_graph *
expand(const struct dr_plan *p)
{
	struct dr_expand_opts o = {0};
	const char *from[] = {"milan"};
	struct dr_diags d = {0};
	struct dr_graph *g = NULL;
	size_t i;

	o.from = from;
	o.nfrom = 1;
	o.to = "torino";
	o.mode = DR_MODE_FAILOVER;
	if (dr_graph_expand(p, &o, &d, &g) != 0) {
		for (i = 0; i < d.n; i++)
			print_message("%s\n", d.v[i].msg);
		fail_msg("expansion failed");
	}
	dr_diag_clear(&d);
	return g;
}

/* text's graph, every task pending, a memory stream, the clock at 0. */
static struct fx *
fx_new(const char *text)
{
	struct fx *x = dr_xcalloc(1, sizeof(*x));

	x->plan = load(text);
	x->g = expand(x->plan);
	x->runs = dr_xcalloc(x->g->ntasks, sizeof(*x->runs));
	x->f = open_memstream(&x->out, &x->outlen);
	assert_non_null(x->f);
	fake_now = 0;
	return x;
}

/* The board on a 120 x 60 terminal; presets: x->runs as the run starts. */
static void
fx_open(struct fx *x, bool presets)
{
	struct dr_live_opts o = {0};

	o.out = x->f;
	o.g = x->g;
	o.runs = presets ? x->runs : NULL;
	o.now = clock_now;
	o.cols = 120;
	o.rows = 60;
	assert_int_equal(dr_live_new(&o, &x->live), 0);
}

static void
fx_free(struct fx *x)
{
	size_t i;

	dr_live_close(x->live);
	fclose(x->f);
	free(x->out);
	for (i = 0; i < x->g->ntasks; i++) {
		free(x->runs[i].message);
		free(x->runs[i].tail);
	}
	free(x->runs);
	dr_graph_free(x->g);
	dr_plan_free(x->plan);
	free(x);
}

static const struct dr_task *
find(const struct dr_graph *g, const char *key)
{
	size_t i;

	for (i = 0; i < g->ntasks; i++)
		if (strcmp(g->tasks[i].key, key) == 0)
			return &g->tasks[i];
	for (i = 0; i < g->ntasks; i++)
		print_message("  %s\n", g->tasks[i].key);
	fail_msg("no task %s", key);
	return NULL;
}

/* Task key enters st now, as the scheduler would say it. */
static void
change(struct fx *x, const char *key, enum dr_task_state st, const char *msg)
{
	const struct dr_task *t = find(x->g, key);
	struct dr_task_run *r = &x->runs[t->id];

	r->state = st;
	if (st == DR_TS_RUNNING) {
		r->attempts++;
		r->start_mono_ms = fake_now;
	} else {
		r->end_mono_ms = fake_now;
	}
	free(r->message);
	r->message = msg ? dr_xstrdup(msg) : NULL;
	dr_live_change(x->live, t, r);
}

/* Frames so far: each ends with "erase below" (ESC [ J). */
static size_t
frames(struct fx *x)
{
	const char *p;
	size_t n = 0;

	fflush(x->f);
	for (p = x->out; p && (p = strstr(p, "\033[J")) != NULL; p += 3)
		n++;
	return n;
}

/*
 * The last frame as plain text: from the end of the frame before it, the
 * cursor movement and the line erasures taken out. Caller frees.
 */
static char *
last_frame(struct fx *x)
{
	const char *end, *start = NULL, *p;
	struct dr_buf b;

	fflush(x->f);
	assert_non_null(x->out);
	end = x->out + x->outlen;
	assert_true(x->outlen >= 3 && strcmp(end - 3, "\033[J") == 0);
	end -= 3;
	for (p = x->out; (p = strstr(p, "\033[J")) != NULL && p < end; p += 3)
		start = p + 3;
	if (start == NULL)
		start = x->out;
	dr_buf_init(&b, 0);
	for (p = start; p < end; p++) {
		if (*p == '\r')
			continue;
		if (*p == '\033') { /* CSI n A / CSI K */
			p++;
			if (*p == '[')
				p++;
			while (*p >= '0' && *p <= '9')
				p++;
			continue;
		}
		dr_buf_append(&b, p, 1);
	}
	return dr_buf_steal(&b);
}

/* The line of frame that starts with prefix; fails showing the frame. */
static const char *
line_of(const char *frame, const char *prefix)
{
	const char *p = frame;
	size_t n = strlen(prefix);

	while (p && *p) {
		if (strncmp(p, prefix, n) == 0)
			return p;
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	print_message("--- frame ---\n%s-------------\n", frame);
	fail_msg("no line starting \"%s\"", prefix);
	return NULL;
}

/* The five counts of a table row: done, run, fail, skip, pend. */
static void
row_counts(const char *frame, const char *label, size_t v[5], char *barbuf)
{
	const char *l = line_of(frame, label), *b = strchr(l, '['),
	           *e = strchr(l, ']');
	unsigned long a[5];

	assert_non_null(b);
	assert_non_null(e);
	memcpy(barbuf, b, (size_t)(e - b + 1));
	barbuf[e - b + 1] = '\0';
	assert_int_equal(sscanf(e + 1, "%lu %lu %lu %lu %lu", &a[0], &a[1],
	                        &a[2], &a[3], &a[4]),
	                 5);
	for (int i = 0; i < 5; i++)
		v[i] = a[i];
}

static void
expect_row(const char *frame, const char *label, size_t done, size_t run,
           size_t fail, size_t skip, size_t pend, const char *bar)
{
	size_t v[5];
	char b[64];

	row_counts(frame, label, v, b);
	if (v[0] != done || v[1] != run || v[2] != fail || v[3] != skip ||
	    v[4] != pend || (bar && strcmp(b, bar) != 0)) {
		print_message("--- frame ---\n%s-------------\n", frame);
		fail_msg("row \"%s\": got %zu %zu %zu %zu %zu %s, want %zu %zu "
		         "%zu %zu %zu %s",
		         label, v[0], v[1], v[2], v[3], v[4], b, done, run,
		         fail, skip, pend, bar ? bar : "(any)");
	}
}

static void
expect_in(const char *frame, const char *sub)
{
	if (strstr(frame, sub) == NULL) {
		print_message("--- frame ---\n%s-------------\n", frame);
		fail_msg("no \"%s\" in the frame", sub);
	}
}

static void
expect_not_in(const char *frame, const char *sub)
{
	if (strstr(frame, sub) != NULL) {
		print_message("--- frame ---\n%s-------------\n", frame);
		fail_msg("\"%s\" in the frame", sub);
	}
}

static void
test_counts_bars_failures(void **state)
{
	struct fx *x = fx_new(plan_text);
	char *fr;

	(void)state;
	fx_open(x, false);
	assert_int_equal(x->g->ntasks, 11);
	change(x, "fence/cut@milan/mi-db1", DR_TS_RUNNING, NULL);
	fake_now = 400;
	change(x, "fence/cut@milan/mi-db1", DR_TS_SUCCEEDED, "exit 0");
	change(x, "db/a/restore@torino/to-db1", DR_TS_RUNNING, NULL);
	change(x, "db/b/restore@torino/to-db1", DR_TS_RUNNING, NULL);
	change(x, "db/c/restore@torino/to-db1", DR_TS_RUNNING, NULL);
	fake_now = 1500;
	change(x, "db/b/restore@torino/to-db1", DR_TS_SUCCEEDED, NULL);
	change(x, "db/c/restore@torino/to-db1", DR_TS_FAILED,
	       "torino/to-db1: exit 3");
	fake_now = 2500;
	assert_true(dr_live_tick(x->live));
	assert_int_equal(frames(x), 1);
	fr = last_frame(x);
	/* One task of three of each kind: a column or more each. */
	expect_row(fr, "  db ", 1, 1, 1, 0, 0, NULL);
	expect_in(line_of(fr, "  db "), "[######");
	expect_in(line_of(fr, "  db "), ">>>>>>");
	expect_in(line_of(fr, "  db "), "XXXXXX");
	expect_row(fr, "  web ", 0, 0, 0, 0, 6, "[....................]");
	expect_row(fr, "tier 0 fence ", 1, 0, 0, 0, 0,
	           "[####################]");
	expect_row(fr, "tier 1 ", 1, 1, 1, 0, 6, NULL);
	expect_row(fr, "tier 2 gate ", 0, 0, 0, 0, 1, NULL);
	expect_row(fr, "all ", 2, 1, 1, 0, 7, NULL);
	expect_in(fr, "3 of 11 tasks ended");
	expect_in(fr, "finish: estimating");
	/* The service with an RTO: its elapsed time against it. */
	expect_in(line_of(fr, "  db "), "2.5s of 10m00s");
	expect_in(fr, "rto: closest db, 2.5s of 10m00s");
	expect_in(fr, "running 1:\n");
	expect_in(fr, "     2.1s  db/a restore torino/to-db1\n");
	expect_in(fr,
	          "latest failures:\n  [00:00:01] db/c restore "
	          "torino/to-db1: FAILED after 1.1s: torino/to-db1: exit 3");
	expect_not_in(fr, "waiting for the operator");
	free(fr);
	fx_free(x);
}

/* The frame is redrawn in place: up over the last one, then erased below. */
static void
test_redraw_in_place(void **state)
{
	struct fx *x = fx_new(plan_text);
	char up[32];
	const char *second;
	size_t first_len, lines = 0;
	const char *p;

	(void)state;
	fx_open(x, false);
	assert_true(dr_live_tick(x->live));
	fflush(x->f);
	first_len = x->outlen;
	for (p = x->out; p < x->out + first_len; p++)
		lines += *p == '\n';
	/* Nothing changed, the clock did not move on a second: no frame. */
	fake_now = 900;
	assert_false(dr_live_tick(x->live));
	/* The clock moved on: the elapsed time and durations change. */
	fake_now = 1000;
	assert_true(dr_live_tick(x->live));
	fflush(x->f);
	second = x->out + first_len;
	snprintf(up, sizeof(up), "\r\033[%zuA", lines);
	assert_memory_equal(second, up, strlen(up));
	assert_int_equal(frames(x), 2);
	fx_free(x);
}

/*
 * A thousand changes between two ticks make one frame, and the frame's
 * size does not follow the number of tasks (500 tenants, 1,000 tasks).
 */
static void
test_redraw_bounded(void **state)
{
	struct dr_buf text;
	struct fx *x;
	size_t i, before, after, len0, len1;
	char key[64], *fr;

	(void)state;
	dr_buf_init(&text, 0);
	dr_buf_puts(&text,
	            "version = 1;\nname = \"live\";\n" SITES "tenants = (\n");
	for (i = 0; i < 500; i++)
		dr_buf_printf(&text,
		              " { name = \"t%03zu\"; priority = %zu; }%s\n", i,
		              i + 1, i + 1 < 500 ? "," : "");
	dr_buf_puts(
	    &text,
	    ");\nservices = (\n"
	    " { name = \"db\"; tier = 1; scope = \"tenant\"; steps = (\n"
	    "   { name = \"restore\"; on = \"to:db\"; run = \"r\"; },\n"
	    "   { name = \"check\"; on = \"to:db\"; run = \"c\"; } ); }\n"
	    ");\n");
	x = fx_new(text.data);
	dr_buf_free(&text);
	fx_open(x, false);
	assert_int_equal(x->g->ntasks, 1000);
	assert_true(dr_live_tick(x->live));
	fflush(x->f);
	len0 = x->outlen;
	before = frames(x);
	for (i = 0; i < 500; i++) {
		snprintf(key, sizeof(key), "db/t%03zu/restore@torino/to-db1",
		         i);
		change(x, key, DR_TS_RUNNING, NULL);
		change(x, key, DR_TS_SUCCEEDED, NULL);
	}
	after = frames(x);
	assert_int_equal(after, before); /* changes never draw */
	fake_now = 100;
	assert_true(dr_live_tick(x->live));
	assert_false(dr_live_tick(x->live));
	assert_int_equal(frames(x), before + 1);
	len1 = x->outlen - len0;
	fr = last_frame(x);
	expect_row(fr, "tier 1 db ", 500, 0, 0, 0, 500,
	           "[##########..........]");
	expect_in(fr, "500 of 1000 tasks ended");
	/* No bigger than the first frame, bar a few digits. */
	assert_true(len1 < len0 + 64);
	free(fr);
	fx_free(x);
}

/* A question on the terminal holds the frames until it is answered. */
static void
test_wait_holds_frames(void **state)
{
	struct fx *x = fx_new(plan_text);
	const struct dr_task *gate;
	size_t n, len;
	char *fr;

	(void)state;
	fx_open(x, false);
	assert_true(dr_live_tick(x->live));
	gate = find(x->g, "gate/go");
	change(x, "gate/go", DR_TS_RUNNING, NULL);
	dr_live_wait(x->live, gate, NULL);
	/* One frame at once, showing the question, before it is asked. */
	assert_int_equal(frames(x), 2);
	fr = last_frame(x);
	expect_in(fr, "waiting for the operator:\n  gate gate/go: open the "
	              "routes?\n");
	free(fr);
	/* The question is printed below it; nothing draws over it. */
	fputs("\n=== approval gate: gate/go\n  approve? (yes/no): yes\n", x->f);
	fflush(x->f);
	len = x->outlen;
	change(x, "db/a/restore@torino/to-db1", DR_TS_RUNNING, NULL);
	fake_now = 5000;
	assert_false(dr_live_tick(x->live));
	assert_false(dr_live_tick(x->live));
	assert_int_equal(frames(x), 2);
	/* Answered: the gate ends, and the next frame goes below the
	 * answer, without moving up over it. */
	change(x, "gate/go", DR_TS_SUCCEEDED, "approved");
	assert_true(dr_live_tick(x->live));
	n = frames(x);
	assert_int_equal(n, 3);
	assert_int_not_equal(x->out[len], '\r');
	assert_true(strncmp(x->out + len, "elapsed", 7) == 0);
	fr = last_frame(x);
	expect_not_in(fr, "waiting for the operator");
	expect_row(fr, "tier 2 gate ", 1, 0, 0, 0, 0, NULL);
	free(fr);
	fx_free(x);
}

/* A pause waits too; what is printed aside moves the next frame below. */
static void
test_pause_and_detach(void **state)
{
	struct fx *x = fx_new(plan_text);
	const struct dr_task *t;
	size_t len;
	char *fr;

	(void)state;
	fx_open(x, false);
	t = find(x->g, "db/b/restore@torino/to-db1");
	change(x, "db/b/restore@torino/to-db1", DR_TS_RUNNING, NULL);
	fake_now = 2000;
	change(x, "db/b/restore@torino/to-db1", DR_TS_RETRY_WAIT,
	       "torino/to-db1: exit 1");
	dr_live_wait(x->live, t, &x->runs[t->id]);
	fr = last_frame(x);
	expect_in(fr, "  paused db/b/restore@torino/to-db1: torino/to-db1: "
	              "exit 1\n");
	expect_in(fr, "db/b restore torino/to-db1: attempt 1 failed: "
	              "torino/to-db1: exit 1");
	expect_row(fr, "  db ", 0, 1, 0, 0, 2, NULL);
	free(fr);
	assert_false(dr_live_tick(x->live));
	change(x, "db/b/restore@torino/to-db1", DR_TS_PENDING, NULL);
	assert_true(dr_live_tick(x->live));
	/* Printed aside: the frame on screen stays, the next goes below. */
	dr_live_detach(x->live);
	fflush(x->f);
	len = x->outlen;
	assert_true(dr_live_tick(x->live)); /* detached: it redraws */
	fflush(x->f);
	assert_true(strncmp(x->out + len, "elapsed", 7) == 0);
	fx_free(x);
}

static void
test_notes_estimate_rto(void **state)
{
	struct fx *x = fx_new(plan_text);
	static const char *const tenants[] = {"a", "b", "c"};
	char key[64], *fr;
	size_t i;

	(void)state;
	fx_open(x, false);
	/* Five tasks of a second each: the estimate starts. */
	change(x, "fence/cut@milan/mi-db1", DR_TS_RUNNING, NULL);
	fake_now = 1000;
	change(x, "fence/cut@milan/mi-db1", DR_TS_SUCCEEDED, NULL);
	for (i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "db/%s/restore@torino/to-db1",
		         tenants[i]);
		change(x, key, DR_TS_RUNNING, NULL);
	}
	fake_now = 2000;
	for (i = 0; i < 3; i++) {
		snprintf(key, sizeof(key), "db/%s/restore@torino/to-db1",
		         tenants[i]);
		change(x, key, DR_TS_SUCCEEDED, NULL);
	}
	dr_live_tick(x->live);
	fr = last_frame(x);
	expect_in(fr, "finish: estimating");
	/* The service ended within its RTO. */
	expect_in(line_of(fr, "  db "), "met in 2.0s of 10m00s");
	free(fr);
	change(x, "web/a/publish@torino/to-app1", DR_TS_RUNNING, NULL);
	change(x, "web/a/publish@torino/to-app2", DR_TS_RUNNING, NULL);
	fake_now = 3000;
	change(x, "web/a/publish@torino/to-app1", DR_TS_SUCCEEDED, NULL);
	change(x, "web/b/publish@torino/to-app1", DR_TS_RUNNING, NULL);
	dr_live_note(x->live, find(x->g, "web/a/publish@torino/to-app2"),
	             "ended after the cancel: exit 0");
	fake_now = 3500;
	dr_live_tick(x->live);
	fr = last_frame(x);
	/* Mean 1s; 4 pending and 2 running over 2: (4 + 1) x 1s / 2. */
	expect_in(fr, "finish in ~2.5s (1.0s a task, 2 at once)");
	expect_in(fr, "running 2:\n     1.5s  web/a publish torino/to-app2\n"
	              "    500ms  web/b publish torino/to-app1\n");
	expect_in(fr, "latest notes:\n  [00:00:03] "
	              "web/a/publish@torino/to-app2: ended after the cancel: "
	              "exit 0\n");
	free(fr);
	fx_free(x);
}

/* Past its RTO, still open: OVER; a failure in it: not recovered. */
static void
test_rto_over(void **state)
{
	struct fx *x = fx_new(plan_text);
	char *fr;

	(void)state;
	fx_open(x, false);
	change(x, "db/a/restore@torino/to-db1", DR_TS_RUNNING, NULL);
	fake_now = 11 * 60 * 1000;
	dr_live_tick(x->live);
	fr = last_frame(x);
	expect_in(line_of(fr, "  db "), "11m00s of 10m00s OVER");
	expect_in(fr, "rto: closest db, 11m00s of 10m00s (110%)");
	free(fr);
	change(x, "db/a/restore@torino/to-db1", DR_TS_FAILED, "exit 2");
	change(x, "db/b/restore@torino/to-db1", DR_TS_CANCELLED, NULL);
	change(x, "db/c/restore@torino/to-db1", DR_TS_SKIPPED, NULL);
	dr_live_tick(x->live);
	fr = last_frame(x);
	expect_row(fr, "  db ", 0, 0, 1, 2, 0, NULL);
	expect_in(line_of(fr, "  db "), "NOT RECOVERED");
	expect_in(fr, "rto: 0 of 1 services met theirs");
	free(fr);
	fx_free(x);
}

/* A resumed run: the tasks ended before count as they ended. */
static void
test_presets(void **state)
{
	struct fx *x = fx_new(plan_text);
	char *fr;

	(void)state;
	x->runs[find(x->g, "fence/cut@milan/mi-db1")->id].state =
	    DR_TS_SUCCEEDED;
	x->runs[find(x->g, "db/a/restore@torino/to-db1")->id].state =
	    DR_TS_FAILED;
	fx_open(x, true);
	dr_live_tick(x->live);
	fr = last_frame(x);
	expect_row(fr, "all ", 1, 0, 1, 0, 9, NULL);
	expect_row(fr, "tier 0 fence ", 1, 0, 0, 0, 0, NULL);
	free(fr);
	change(x, "db/a/restore@torino/to-db1", DR_TS_PENDING, NULL);
	fake_now = 1;
	dr_live_tick(x->live);
	fr = last_frame(x);
	expect_row(fr, "  db ", 0, 0, 0, 0, 3, NULL);
	free(fr);
	fx_free(x);
}

/* Every line within the width, the frame within the height. */
static void
test_fits_terminal(void **state)
{
	struct dr_buf text;
	struct fx *x;
	struct dr_live_opts o = {0};
	char *fr, *line, *save = NULL, key[64];
	size_t i, n = 0;

	(void)state;
	dr_buf_init(&text, 0);
	dr_buf_puts(&text, "version = 1;\nname = \"live\";\n" SITES
	                   "tenants = (\n { name = \"a\"; priority = 1; }\n);\n"
	                   "services = (\n");
	for (i = 0; i < 30; i++)
		dr_buf_printf(
		    &text,
		    " { name = \"service-with-a-long-name-%02zu\"; "
		    "tier = %zu; scope = \"tenant\"; steps = (\n"
		    "   { name = \"s\"; on = \"to:app\"; run = \"r\"; "
		    "} ); }%s\n",
		    i, i / 10, i + 1 < 30 ? "," : "");
	dr_buf_puts(&text, ");\n");
	x = fx_new(text.data);
	dr_buf_free(&text);
	o.out = x->f;
	o.g = x->g;
	o.now = clock_now;
	o.cols = 40;
	o.rows = 12;
	assert_int_equal(dr_live_new(&o, &x->live), 0);
	for (i = 0; i < 12; i++) {
		snprintf(key, sizeof(key),
		         "service-with-a-long-name-%02zu/a/s@torino/to-app1",
		         i);
		change(x, key, DR_TS_RUNNING, NULL);
	}
	change(x, "service-with-a-long-name-00/a/s@torino/to-app1",
	       DR_TS_FAILED,
	       "a message much longer than forty columns "
	       "\033[2J with an escape in it");
	dr_live_tick(x->live);
	fflush(x->f);
	assert_null(strstr(x->out, "\033[2J")); /* remote text moves nothing */
	fr = last_frame(x);
	for (line = strtok_r(fr, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		assert_true(strlen(line) < 40);
		assert_null(strchr(line, '\033'));
		n++;
	}
	assert_true(n >= 5);
	assert_true(n <= 11);
	free(fr);
	fx_free(x);
}

/* On a loop: the timer draws, the close releases it, the loop closes. */
static void
test_timer_on_loop(void **state)
{
	struct fx *x = fx_new(plan_text);
	uv_loop_t loop;

	(void)state;
	fx_open(x, false);
	uv_loop_init(&loop);
	assert_int_equal(dr_live_start(x->live, &loop), 0);
	assert_int_equal(dr_live_start(x->live, &loop), DR_EINVAL);
	/* Unreferenced: it does not keep the loop alive. */
	assert_int_equal(uv_run(&loop, UV_RUN_DEFAULT), 0);
	dr_live_close(x->live);
	x->live = NULL;
	assert_int_equal(frames(x), 1); /* the final frame */
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	fx_free(x);
}

static void
test_bad_opts(void **state)
{
	struct dr_live_opts o = {0};
	struct dr_live *l = NULL;

	(void)state;
	assert_int_equal(dr_live_new(&o, &l), DR_EINVAL);
	assert_null(l);
	dr_live_close(NULL);
}

#define T(f) cmocka_unit_test(f)

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    T(test_counts_bars_failures),
	    T(test_redraw_in_place),
	    T(test_redraw_bounded),
	    T(test_wait_holds_frames),
	    T(test_pause_and_detach),
	    T(test_notes_estimate_rto),
	    T(test_rto_over),
	    T(test_presets),
	    T(test_fits_terminal),
	    T(test_timer_on_loop),
	    T(test_bad_opts),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
