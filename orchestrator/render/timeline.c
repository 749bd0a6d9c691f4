/*
 * timeline.c: the report's Gantt timeline in SVG, from the report model
 * (see timeline.h). Geometry in SVG user units (px at 100%).
 */
#include "drover/timeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"

#define SVG_W 1300.0
#define LBL_SVC_X 6.0
#define LBL_STEP_X 200.0
#define CHART_X 392.0
#define RIGHT_PAD 14.0
#define ROW_H 13.0
#define TIER_H 16.0
#define RTO_ROW_H 12.0
#define AXIS_H 16.0
#define ZONE_GAP 24.0
#define ZONE_W 170.0
#define PART_H 660.0 /* rows per SVG: one A4 landscape page */
#define SVC_CHARS 34
#define STEP_CHARS 33

struct axis {
	double chart_w;
	bool zone;       /* RTO deadlines beyond the run, not to scale */
	int64_t max_rto; /* largest RTO */
	double zone_x;
};

struct tl {
	struct dr_doc *d;
	const struct dr_rm *m;
	struct axis a;
	size_t *rto; /* services[] indexes of the deadlines, in label order */
	size_t nrto;
	size_t *sel; /* the tasks shown, in order[] order */
	size_t nsel;
};

static double
xpos(const struct tl *c, const struct axis *a, int64_t ms)
{
	if (ms <= c->m->span || !a->zone)
		return CHART_X + (double)(ms < 0 ? 0 : ms) /
		                     (double)c->m->span * a->chart_w;
	if (a->max_rto <= c->m->span)
		return a->zone_x;
	return a->zone_x + (double)(ms - c->m->span) /
	                       (double)(a->max_rto - c->m->span) * ZONE_W;
}

/* One time axis label: "mm:ss" under an hour, "h:mm" from an hour. */
static void
tick_label(struct tl *c, int64_t ms, int64_t step, char *buf, size_t len)
{
	long long s = (long long)(ms / 1000);

	if (c->m->span >= 3600000)
		snprintf(buf, len, "%lld:%02lld", s / 3600, s / 60 % 60);
	else if (step < 1000)
		snprintf(buf, len, "%02lld:%02lld.%lld", s / 60, s % 60,
		         (long long)(ms % 1000 / 100));
	else
		snprintf(buf, len, "%02lld:%02lld", s / 60, s % 60);
}

static int64_t
tick_step(int64_t span)
{
	static const int64_t steps[] = {
	    100,     200,     500,     1000,     2000,     5000,     10000,
	    15000,   30000,   60000,   120000,   300000,   600000,   900000,
	    1800000, 3600000, 7200000, 10800000, 21600000, 43200000, 86400000};
	size_t i;

	for (i = 0; i < sizeof(steps) / sizeof(steps[0]); i++)
		if (span / steps[i] <= 10)
			return steps[i];
	return span / 10 + 1;
}

/* Index of the first service instance of each RTO service, in order. */
static size_t
rto_services(const struct tl *c, size_t *out)
{
	size_t i, j, n = 0;

	for (i = 0; i < c->m->ns; i++) {
		if (c->m->s[i].rto_ms == 0)
			continue;
		for (j = 0; j < n; j++)
			if (dr_rm_same(c->m->s[out[j]].service,
			               c->m->s[i].service))
				break;
		if (j == n)
			out[n++] = i;
	}
	return n;
}

static const char *
task_label(const struct dr_rm_task *t, char *buf, size_t len)
{
	const char *step = t->step ? t->step : t->key ? t->key : "?";

	if (t->src && t->host)
		snprintf(buf, len, "%s %s\xe2\x86\x92%s", step, t->src,
		         t->host);
	else if (t->host)
		snprintf(buf, len, "%s @ %s", step, t->host);
	else if (t->action)
		snprintf(buf, len, "%s (%s)", step, t->action);
	else
		snprintf(buf, len, "%s", step);
	return buf;
}

static bool
group_bad(const struct tl *c, const struct dr_rm_group *g)
{
	return g->svc != SIZE_MAX && !c->m->s[g->svc].met &&
	       (c->m->s[g->svc].rto_ms || !c->m->s[g->svc].recovered);
}

/* The bar's tooltip: the task's key, host, state, times and message. */
static void
bar_title(struct tl *c, const struct dr_rm_task *t)
{
	char a[32], b[32], d[32];
	struct dr_buf s;

	dr_buf_init(&s, 0);
	dr_buf_printf(&s, "%s\nhost: %s%s%s", t->key ? t->key : "?",
	              t->site ? t->site : "", t->site ? "/" : "",
	              t->host ? t->host : "controller");
	if (t->src)
		dr_buf_printf(&s, " \xe2\x86\x90 %s", t->src);
	dr_buf_printf(&s, "\nstate: %s", t->state ? t->state : "unknown");
	if (t->attempts >= 0)
		dr_buf_printf(&s, ", attempts %lld", t->attempts);
	if (t->t0 < 0)
		dr_buf_puts(&s, "\nnot started");
	else if (t->t1 < 0)
		dr_buf_printf(&s, "\n+%s \xe2\x86\x92 +?, duration ?",
		              dr_rm_elapsed(c->m, t->t0, a, sizeof(a)));
	else
		dr_buf_printf(&s, "\n+%s \xe2\x86\x92 +%s, duration %s",
		              dr_rm_elapsed(c->m, t->t0, a, sizeof(a)),
		              dr_rm_elapsed(c->m, t->t1, b, sizeof(b)),
		              dr_rm_duration(t->t1 - t->t0, d, sizeof(d)));
	if (t->has_exit)
		dr_buf_printf(&s, "\nexit status %lld", t->exit_status);
	if (t->signal)
		dr_buf_printf(&s, "\nsignal %s", t->signal);
	if (t->message)
		dr_buf_printf(&s, "\n%s", t->message);
	if (t->backup)
		dr_buf_printf(&s, "\nbackup: %s", t->backup);
	dr_doc_raw(c->d, "<title>", NULL);
	dr_doc_verbatim(c->d, s.data);
	dr_doc_raw(c->d, "</title>", NULL);
	dr_buf_free(&s);
}

static void
svg_bar(struct tl *c, const struct axis *a, const struct dr_rm_task *t,
        double y)
{
	const char *st = dr_rm_state_class(t->state);
	double x0, x1;
	const char *extra = "";

	if (t->t0 >= 0) {
		x0 = xpos(c, a, t->t0);
		if (t->t1 >= 0) {
			x1 = xpos(c, a, t->t1);
		} else {
			x1 = xpos(c, a, c->m->span);
			extra = " open";
		}
		if (x1 - x0 < 2.0)
			x1 = x0 + 2.0;
	} else {
		/* Never started: a hollow mark where it ended (or the end). */
		x1 = xpos(c, a, t->t1 >= 0 ? t->t1 : c->m->span);
		x0 = x1 - 8.0;
		extra = " nostart";
		dr_doc_htmlf(c->d,
		             "<text class=\"nst\" x=\"%.1f\" y=\"%.1f\" "
		             "text-anchor=\"end\">not started</text>\n",
		             x0 - 3.0, y + ROW_H - 3.5);
	}
	dr_doc_htmlf(c->d, "<rect class=\"bar s-%s%s\" data-key=\"", st, extra);
	dr_doc_text(c->d, t->key);
	dr_doc_htmlf(c->d,
	             "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">",
	             x0, y + 2.0, x1 - x0, ROW_H - 4.0);
	bar_title(c, t);
	dr_doc_raw(c->d, "</rect>\n", NULL);
}

/* " · fence, base": the services of a tier, once each. */
static void
tier_services(struct tl *c, int tier)
{
	size_t i, n = 0;

	for (i = 0; i < c->m->nsv; i++) {
		if (c->m->sv[i].tier != tier || c->m->sv[i].ntasks == 0)
			continue;
		dr_doc_raw(c->d, n++ ? ", " : " \xc2\xb7 ", NULL);
		dr_doc_text(c->d, c->m->sv[i].name ? c->m->sv[i].name : "?");
	}
}

/* A band across the chart naming a tier and its services. */
static void
tier_band(struct tl *c, double y, int tier, bool continued)
{
	dr_doc_htmlf(c->d,
	             "<rect class=\"tierh\" x=\"0\" y=\"%.1f\" "
	             "width=\"%.0f\" height=\"%.1f\"/>\n",
	             y, SVG_W, TIER_H);
	dr_doc_htmlf(c->d,
	             "<text class=\"tiert\" x=\"%.1f\" y=\"%.1f\">"
	             "Tier %d",
	             LBL_SVC_X, y + TIER_H - 4.0, tier);
	tier_services(c, tier);
	if (continued)
		dr_doc_raw(c->d, " (continued)", NULL);
	dr_doc_raw(c->d, "</text>\n", NULL);
}

static bool
rto_right(const struct axis *a, double x)
{
	return x > CHART_X + (SVG_W - RIGHT_PAD - CHART_X) / 2.0;
}

/* Label row order of two RTO services (indexes in services[]). */
static bool
rto_before(const struct tl *c, const struct axis *a, size_t i, size_t j)
{
	double xi = xpos(c, a, c->m->s[i].rto_ms),
	       xj = xpos(c, a, c->m->s[j].rto_ms);
	bool ri = rto_right(a, xi), rj = rto_right(a, xj);

	if (ri != rj)
		return !ri;
	return ri ? xi > xj : xi < xj;
}

/* The tier of the k-th task shown. */
static int
sel_tier(const struct tl *c, size_t k)
{
	return c->m->g[c->m->t[c->sel[k]].group].tier;
}

/* Row heights of the tasks sel[k0..k1) with their tier headers. */
static double
rows_height(const struct tl *c, size_t k0, size_t k1)
{
	double h = 0.0;
	size_t k;

	for (k = k0; k < k1; k++) {
		if (k == k0 || sel_tier(c, k) != sel_tier(c, k - 1))
			h += TIER_H;
		h += ROW_H;
	}
	return h;
}

/* The heights of the rows of services sv[v0..v1) with tier headers. */
static double
svc_rows_height(const struct tl *c, size_t v0, size_t v1)
{
	double h = 0.0;
	size_t v;

	for (v = v0; v < v1; v++) {
		if (v == v0 || c->m->sv[v].tier != c->m->sv[v - 1].tier)
			h += TIER_H;
		h += ROW_H;
	}
	return h;
}

/* <svg> and its <title>: "Timeline of run X, what (part 1 of 2)". */
static void
svg_begin(struct tl *c, double h, const char *what, size_t part, size_t nparts)
{
	dr_doc_htmlf(
	    c->d,
	    "<svg class=\"gantt\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
	    "height=\"%.0f\" role=\"img\" data-span-ms=\"%lld\">\n",
	    SVG_W, h, SVG_W, h, (long long)c->m->span);
	dr_doc_raw(c->d, "<title>", NULL);
	dr_doc_textf(c->d, "Timeline of run %s, %s",
	             c->m->run_id ? c->m->run_id : "", what);
	if (nparts > 1)
		dr_doc_htmlf(c->d, " (part %zu of %zu)", part + 1, nparts);
	dr_doc_raw(c->d, "</title>\n", NULL);
}

/* The zone of the deadlines after the run, behind the rows. */
static void
svg_zone(struct tl *c, double top, double bottom)
{
	if (!c->a.zone)
		return;
	dr_doc_htmlf(c->d,
	             "<rect class=\"zone\" x=\"%.1f\" y=\"%.1f\" "
	             "width=\"%.1f\" height=\"%.1f\"/>\n",
	             c->a.zone_x - 6.0, top, ZONE_W + 12.0, bottom - top);
	dr_doc_htmlf(c->d,
	             "<text class=\"zonet\" x=\"%.1f\" y=\"%.1f\" "
	             "text-anchor=\"middle\">after the run, not to "
	             "scale</text>\n",
	             c->a.zone_x + ZONE_W / 2.0, bottom + 11.0);
}

/* Time axis: ticks, grid, labels above and below. */
static void
svg_axis(struct tl *c, double top, double bottom)
{
	int64_t step = tick_step(c->m->span), ms;
	char lb[64];

	dr_doc_htmlf(c->d,
	             "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
	             "y2=\"%.1f\"/>\n",
	             CHART_X, top, CHART_X + c->a.chart_w, top);
	for (ms = 0; ms <= c->m->span; ms += step) {
		double x = xpos(c, &c->a, ms);
		tick_label(c, ms, step, lb, sizeof(lb));
		dr_doc_htmlf(
		    c->d,
		    "<line class=\"grid\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\"/>\n",
		    x, top - 3.0, x, bottom);
		dr_doc_htmlf(c->d,
		             "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
		             "text-anchor=\"middle\">%s</text>\n",
		             x, top - 5.0, lb);
		dr_doc_htmlf(c->d,
		             "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" "
		             "text-anchor=\"middle\">%s</text>\n",
		             x, bottom + 11.0, lb);
	}
}

/*
 * The end of the run and one dashed deadline per service with an RTO,
 * each labelled on its own row above the chart. Labels right of the
 * middle sit left of their line: those rows go from the latest deadline
 * up, the others from the earliest, so that no line runs through a label
 * below it. Ends the <svg>.
 */
static void
svg_end(struct tl *c, double top, double bottom)
{
	char lb[64];
	size_t j;

	if (c->m->duration_ms >= 0) {
		double x = xpos(c, &c->a, c->m->duration_ms);
		dr_doc_htmlf(
		    c->d,
		    "<line class=\"endl\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\"/>\n",
		    x, top, x, bottom);
		dr_doc_htmlf(
		    c->d,
		    "<text class=\"endt\" x=\"%.1f\" y=\"%.1f\" "
		    "text-anchor=\"middle\">end %s</text>\n",
		    x, bottom + 23.0,
		    dr_rm_elapsed(c->m, c->m->duration_ms, lb, sizeof(lb)));
	}
	for (j = 0; j < c->nrto; j++) {
		const struct dr_rm_svc *s = &c->m->s[c->rto[j]];
		double x = xpos(c, &c->a, s->rto_ms);
		double ly = 6.0 + (double)j * RTO_ROW_H + 9.0;
		bool right = rto_right(&c->a, x);

		dr_doc_raw(c->d, "<g class=\"rtog\" data-service=\"", NULL);
		dr_doc_text(c->d, s->service);
		dr_doc_htmlf(c->d, "\" data-rto-ms=\"%lld\">",
		             (long long)s->rto_ms);
		dr_doc_htmlf(
		    c->d,
		    "<line class=\"rto\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
		    "y2=\"%.1f\"/>",
		    x, ly - 8.0, x, bottom);
		dr_doc_htmlf(c->d,
		             "<text class=\"rtot\" x=\"%.1f\" y=\"%.1f\" "
		             "text-anchor=\"%s\">",
		             right ? x - 3.0 : x + 3.0, ly,
		             right ? "end" : "start");
		dr_doc_text(c->d, s->service);
		dr_doc_raw(c->d, " RTO ", NULL);
		dr_doc_text(c->d, dr_rm_target(s->rto_ms, lb, sizeof(lb)));
		dr_doc_raw(c->d, "</text></g>\n", NULL);
	}
	dr_doc_raw(c->d, "</svg>\n", NULL);
}

/* Where the rows start: below the deadline labels and the axis. */
static double
rows_top(const struct tl *c)
{
	return 6.0 + (double)c->nrto * RTO_ROW_H + AXIS_H;
}

/*
 * One SVG of the per-task timeline for the tasks sel[k0..k1), with its own
 * axis and deadlines, so that each part prints on one page.
 */
static void
write_detail(struct tl *c, size_t k0, size_t k1, size_t part, size_t nparts)
{
	size_t k;
	double top = rows_top(c), y, bottom;
	char buf[128];
	int last_tier = INT32_MIN;
	size_t last_group = SIZE_MAX, ngroup = 0;

	bottom = top + rows_height(c, k0, k1);
	svg_begin(c, bottom + AXIS_H + 16.0, "per task", part, nparts);
	svg_zone(c, top, bottom);

	/* Row backgrounds: tier bands and zebra stripes per group. */
	y = top;
	for (k = k0; k < k1; k++) {
		const struct dr_rm_task *t = &c->m->t[c->sel[k]];
		const struct dr_rm_group *g = &c->m->g[t->group];

		if (g->tier != last_tier) {
			tier_band(c, y, g->tier,
			          k == k0 && k > 0 &&
			              sel_tier(c, k - 1) == g->tier);
			last_tier = g->tier;
			y += TIER_H;
		}
		if (t->group != last_group) {
			if (ngroup++ % 2)
				dr_doc_htmlf(
				    c->d,
				    "<rect class=\"zebra\" x=\"0\" y=\"%.1f\" "
				    "width=\"%.0f\" height=\"%.1f\"/>\n",
				    y, SVG_W, (double)g->ntasks * ROW_H);
			last_group = t->group;
		}
		y += ROW_H;
	}
	svg_axis(c, top, bottom);

	/* Bars, with the group and step labels on the left. */
	y = top;
	last_tier = INT32_MIN;
	last_group = SIZE_MAX;
	for (k = k0; k < k1; k++) {
		const struct dr_rm_task *t = &c->m->t[c->sel[k]];
		const struct dr_rm_group *g = &c->m->g[t->group];

		if (g->tier != last_tier) {
			last_tier = g->tier;
			y += TIER_H;
		}
		if (t->group != last_group) {
			dr_doc_htmlf(
			    c->d,
			    "<text class=\"svcl%s\" x=\"%.1f\" y=\"%.1f\">",
			    group_bad(c, g) ? " bad" : "", LBL_SVC_X,
			    y + ROW_H - 3.0);
			snprintf(buf, sizeof(buf), "%s%s%s",
			         g->service ? g->service : "?",
			         g->tenant ? " \xc2\xb7 " : "",
			         g->tenant ? g->tenant : "");
			dr_doc_text_cut(c->d, buf, SVC_CHARS);
			dr_doc_raw(c->d, "<title>", NULL);
			dr_doc_text(c->d, buf);
			dr_doc_raw(c->d, "</title></text>\n", NULL);
			last_group = t->group;
		}
		dr_doc_htmlf(c->d,
		             "<text class=\"stepl\" x=\"%.1f\" y=\"%.1f\">",
		             LBL_STEP_X, y + ROW_H - 3.0);
		task_label(t, buf, sizeof(buf));
		dr_doc_text_cut(c->d, buf, STEP_CHARS);
		dr_doc_raw(c->d, "</text>\n", NULL);
		svg_bar(c, &c->a, t, y);
		y += ROW_H;
	}
	svg_end(c, top, bottom);
}

/* ---- per service ------------------------------------------------------ */

/* How bad a task state is, for the colour of a service's bar. */
static int
severity(const char *state)
{
	static const char *const worst_last[] = {
	    "succeeded", "skipped",       "other", "refused",
	    "cancelled", "indeterminate", "failed"};
	const char *st = dr_rm_state_class(state);
	size_t i;

	if (!strcmp(st, "pending") || !strcmp(st, "running") ||
	    !strcmp(st, "retry-wait") || !strcmp(st, "interrupted"))
		st = "other";
	for (i = 0; i < sizeof(worst_last) / sizeof(worst_last[0]); i++)
		if (strcmp(st, worst_last[i]) == 0)
			return (int)i;
	return 2;
}

static const char *
severity_class(int sev)
{
	static const char *const cls[] = {
	    "succeeded", "skipped",       "other", "refused",
	    "cancelled", "indeterminate", "failed"};

	return cls[sev];
}

/* What a service's tasks were, for its row. */
struct svc_tasks {
	int worst; /* severity() */
	size_t failed, started;
};

static bool
service_bad(const struct dr_rm_service *v)
{
	return v->verdicts[DR_RM_FAILED] || v->verdicts[DR_RM_NOTREC] ||
	       v->verdicts[DR_RM_MISSED];
}

/* The tooltip of a service's bar: what became of it, and when. */
static void
svc_title(struct tl *c, const struct dr_rm_service *v,
          const struct svc_tasks *st)
{
	static const char *const vname[DR_RM_VERDICTS] = {
	    [DR_RM_MET] = "met their RTO",
	    [DR_RM_NORTO] = "recovered (no RTO)",
	    [DR_RM_MISSED] = "missed their RTO",
	    [DR_RM_NOTREC] = "not recovered",
	    [DR_RM_FAILED] = "failed"};
	char a[32], b[32];
	struct dr_buf s;
	size_t i, n = 0;

	dr_buf_init(&s, 0);
	dr_buf_printf(&s,
	              "%s\ntier %d, RTO %s\n%zu %s:", v->name ? v->name : "?",
	              v->tier, dr_rm_target(v->rto_ms, a, sizeof(a)), v->ninst,
	              v->scoped ? "tenants" : "instance");
	for (i = 0; i < DR_RM_VERDICTS; i++)
		if (v->verdicts[i])
			dr_buf_printf(&s, "%s %zu %s", n++ ? "," : "",
			              v->verdicts[i], vname[i]);
	dr_buf_printf(&s, "\n%zu tasks, %zu failed", v->ntasks, st->failed);
	if (v->first >= 0)
		dr_buf_printf(&s, "\n+%s \xe2\x86\x92 +%s",
		              dr_rm_elapsed(c->m, v->first, a, sizeof(a)),
		              dr_rm_elapsed(c->m, v->last, b, sizeof(b)));
	if (v->rec_max >= 0)
		dr_buf_printf(&s, "\nlast recovered +%s",
		              dr_rm_elapsed(c->m, v->rec_max, a, sizeof(a)));
	dr_doc_raw(c->d, "<title>", NULL);
	dr_doc_verbatim(c->d, s.data);
	dr_doc_raw(c->d, "</title>", NULL);
	dr_buf_free(&s);
}

/*
 * A service's row: one bar from its first task's start to its last task's
 * end, coloured by its worst task, with a red tick where each failed task
 * ended (one per pixel: a thousand failures are a thick mark, not a
 * thousand elements).
 */
static void
svc_row(struct tl *c, size_t vi, const struct svc_tasks *st, double y,
        unsigned char *px)
{
	const struct dr_rm_service *v = &c->m->sv[vi];
	double x0, x1;
	char buf[96];
	size_t i;

	dr_doc_htmlf(c->d, "<text class=\"svcl%s\" x=\"%.1f\" y=\"%.1f\">",
	             service_bad(v) ? " bad" : "", LBL_SVC_X, y + ROW_H - 3.0);
	dr_doc_text_cut(c->d, v->name ? v->name : "?", SVC_CHARS);
	dr_doc_raw(c->d, "<title>", NULL);
	dr_doc_text(c->d, v->name ? v->name : "?");
	dr_doc_raw(c->d, "</title></text>\n", NULL);
	if (v->scoped)
		snprintf(buf, sizeof(buf), "%zu tenants, %zu tasks", v->ninst,
		         v->ntasks);
	else
		snprintf(buf, sizeof(buf), "global, %zu task%s", v->ntasks,
		         v->ntasks == 1 ? "" : "s");
	dr_doc_htmlf(c->d, "<text class=\"stepl\" x=\"%.1f\" y=\"%.1f\">",
	             LBL_STEP_X, y + ROW_H - 3.0);
	dr_doc_text_cut(c->d, buf, STEP_CHARS);
	dr_doc_raw(c->d, "</text>\n", NULL);

	if (v->first >= 0) {
		x0 = xpos(c, &c->a, v->first);
		x1 = xpos(c, &c->a, v->last >= v->first ? v->last : c->m->span);
		if (x1 - x0 < 2.0)
			x1 = x0 + 2.0;
	} else {
		x1 = xpos(c, &c->a, c->m->span);
		x0 = x1 - 8.0;
	}
	dr_doc_htmlf(c->d, "<rect class=\"bar s-%s%s\" data-service=\"",
	             severity_class(st->worst), v->first < 0 ? " nostart" : "");
	dr_doc_text(c->d, v->name);
	dr_doc_htmlf(c->d,
	             "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">",
	             x0, y + 2.0, x1 - x0, ROW_H - 4.0);
	svc_title(c, v, st);
	dr_doc_raw(c->d, "</rect>\n", NULL);

	memset(px, 0, (size_t)SVG_W + 1);
	for (i = 0; i < c->m->nt; i++) {
		const struct dr_rm_task *t = &c->m->t[i];
		int64_t at = t->t1 >= 0 ? t->t1 : t->t0;
		double x;

		if (c->m->g[t->group].sv != vi || severity(t->state) < 5 ||
		    at < 0)
			continue;
		x = xpos(c, &c->a, at);
		if (x < 0 || x > SVG_W || px[(size_t)x])
			continue;
		px[(size_t)x] = 1;
		dr_doc_htmlf(c->d,
		             "<line class=\"failm\" x1=\"%.1f\" y1=\"%.1f\" "
		             "x2=\"%.1f\" y2=\"%.1f\"/>\n",
		             x, y + 0.5, x, y + ROW_H - 0.5);
	}
}

/* One SVG of the per-service timeline: services sv[v0..v1). */
static void
write_services(struct tl *c, const struct svc_tasks *st, size_t v0, size_t v1,
               size_t part, size_t nparts)
{
	double top = rows_top(c), y, bottom;
	unsigned char *px = dr_xcalloc((size_t)SVG_W + 2, 1);
	int last_tier = INT32_MIN;
	size_t v, n = 0;

	bottom = top + svc_rows_height(c, v0, v1);
	svg_begin(c, bottom + AXIS_H + 16.0, "per service", part, nparts);
	svg_zone(c, top, bottom);
	y = top;
	for (v = v0; v < v1; v++) {
		if (c->m->sv[v].tier != last_tier) {
			tier_band(c, y, c->m->sv[v].tier,
			          v == v0 && v > 0 &&
			              c->m->sv[v - 1].tier == c->m->sv[v].tier);
			last_tier = c->m->sv[v].tier;
			y += TIER_H;
		}
		if (n++ % 2)
			dr_doc_htmlf(c->d,
			             "<rect class=\"zebra\" x=\"0\" y=\"%.1f\" "
			             "width=\"%.0f\" height=\"%.1f\"/>\n",
			             y, SVG_W, ROW_H);
		y += ROW_H;
	}
	svg_axis(c, top, bottom);
	y = top;
	last_tier = INT32_MIN;
	for (v = v0; v < v1; v++) {
		if (c->m->sv[v].tier != last_tier) {
			last_tier = c->m->sv[v].tier;
			y += TIER_H;
		}
		svc_row(c, v, &st[v], y, px);
		y += ROW_H;
	}
	svg_end(c, top, bottom);
	free(px);
}

/* ---- both ------------------------------------------------------------- */

/* The deadlines, in label order, and the axis they need. */
static void
tl_init(struct tl *c, struct dr_doc *d, const struct dr_rm *m)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	c->d = d;
	c->m = m;
	c->rto = dr_xcalloc(m->ns + 1, sizeof(*c->rto));
	c->nrto = rto_services(c, c->rto);
	for (i = 0; i < c->nrto; i++)
		if (m->s[c->rto[i]].rto_ms > c->a.max_rto)
			c->a.max_rto = m->s[c->rto[i]].rto_ms;
	c->a.zone = c->a.max_rto > m->span;
	c->a.chart_w =
	    SVG_W - CHART_X - RIGHT_PAD - (c->a.zone ? ZONE_GAP + ZONE_W : 0.0);
	c->a.zone_x = CHART_X + c->a.chart_w + ZONE_GAP;
	/* Row labels follow the deadlines: sort them once for all parts. */
	for (i = 1; i < c->nrto; i++) {
		size_t x = c->rto[i], k = i;
		while (k > 0 && rto_before(c, &c->a, x, c->rto[k - 1])) {
			c->rto[k] = c->rto[k - 1];
			k--;
		}
		c->rto[k] = x;
	}
}

static void
tl_free(struct tl *c)
{
	free(c->rto);
	free(c->sel);
}

/*
 * The per-service timeline, in parts of at most PART_H of rows (a plan of
 * hundreds of services), each part one page on paper.
 */
void
dr_timeline_svg(struct dr_doc *d, const struct dr_rm *m)
{
	struct svc_tasks *st;
	struct tl c;
	size_t i, v, v0, nparts = 0, part, *cut;

	if (!dr_doc_is_html(d) || m->nt == 0)
		return;
	tl_init(&c, d, m);
	st = dr_xcalloc(m->nsv + 1, sizeof(*st));
	for (i = 0; i < m->nt; i++) {
		struct svc_tasks *x = &st[m->g[m->t[i].group].sv];
		int sev = severity(m->t[i].state);

		if (sev > x->worst)
			x->worst = sev;
		if (sev >= 5)
			x->failed++;
	}
	/* services without tasks have no bar: they are last in sv */
	v = 0;
	while (v < m->nsv && m->sv[v].ntasks > 0)
		v++;
	cut = dr_xcalloc(v + 2, sizeof(*cut));
	for (i = 0; i < v;) {
		v0 = i;
		while (i < v &&
		       (i == v0 || svc_rows_height(&c, v0, i + 1) <= PART_H))
			i++;
		cut[nparts++] = v0;
	}
	cut[nparts] = v;
	for (part = 0; part < nparts; part++)
		write_services(&c, st, cut[part], cut[part + 1], part, nparts);
	free(cut);
	free(st);
	tl_free(&c);
}

/*
 * The per-task timeline of the groups shown (show[g], all when NULL), in
 * parts of at most PART_H of rows, cut between service instances.
 */
void
dr_timeline_detail_svg(struct dr_doc *d, const struct dr_rm *m,
                       const bool *show)
{
	struct tl c;
	size_t k, k0, nparts = 0, part, *cut;

	if (!dr_doc_is_html(d) || m->nt == 0)
		return;
	tl_init(&c, d, m);
	c.sel = dr_xcalloc(m->nt + 1, sizeof(*c.sel));
	for (k = 0; k < m->nt; k++)
		if (show == NULL || show[m->t[m->order[k]].group])
			c.sel[c.nsel++] = m->order[k];
	cut = dr_xcalloc(c.nsel + 2, sizeof(*cut));
	for (k = 0; k < c.nsel;) {
		k0 = k;
		while (k < c.nsel) {
			size_t n = m->g[m->t[c.sel[k]].group].ntasks;
			if (k > k0 && rows_height(&c, k0, k + n) > PART_H)
				break;
			k += n;
		}
		cut[nparts++] = k0;
	}
	cut[nparts] = c.nsel;
	for (part = 0; part < nparts; part++)
		write_detail(&c, cut[part], cut[part + 1], part, nparts);
	free(cut);
	tl_free(&c);
}
