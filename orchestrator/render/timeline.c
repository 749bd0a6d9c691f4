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

struct tl {
	struct dr_doc *d;
	const struct dr_rm *m;
};

struct axis {
	double chart_w;
	bool zone;       /* RTO deadlines beyond the run, not to scale */
	int64_t max_rto; /* largest RTO */
	double zone_x;
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
	size_t i, j, n = 0;

	for (i = 0; i < c->m->ng; i++) {
		if (c->m->g[i].tier != tier)
			continue;
		for (j = 0; j < i; j++)
			if (c->m->g[j].tier == tier &&
			    dr_rm_same(c->m->g[j].service, c->m->g[i].service))
				break;
		if (j < i)
			continue;
		dr_doc_raw(c->d, n++ ? ", " : " \xc2\xb7 ", NULL);
		dr_doc_text(c->d,
		            c->m->g[i].service ? c->m->g[i].service : "?");
	}
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

/* Row heights of tasks order[k0..k1) with their tier headers. */
static double
rows_height(const struct tl *c, size_t k0, size_t k1)
{
	double h = 0.0;
	size_t k;

	for (k = k0; k < k1; k++) {
		const struct dr_rm_task *t = &c->m->t[c->m->order[k]];
		if (k == k0 ||
		    c->m->g[t->group].tier !=
		        c->m->g[c->m->t[c->m->order[k - 1]].group].tier)
			h += TIER_H;
		h += ROW_H;
	}
	return h;
}

/*
 * One SVG of the timeline for the tasks order[k0..k1), with its own axis
 * and deadlines, so that each part prints on one page.
 */
static void
write_svg(struct tl *c, const struct axis *ap, size_t *rto, size_t nrto,
          size_t k0, size_t k1, size_t part, size_t nparts)
{
	const struct axis a = *ap;
	size_t j, k;
	double top, y, bottom, h;
	int64_t step, ms;
	char buf[128], lb[64];
	int last_tier = INT32_MIN;
	size_t last_group = SIZE_MAX, ngroup = 0;

	top = 6.0 + (double)nrto * RTO_ROW_H + AXIS_H;
	bottom = top + rows_height(c, k0, k1);
	h = bottom + AXIS_H + 16.0;

	dr_doc_htmlf(
	    c->d,
	    "<svg class=\"gantt\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
	    "height=\"%.0f\" role=\"img\" data-span-ms=\"%lld\">\n",
	    SVG_W, h, SVG_W, h, (long long)c->m->span);
	dr_doc_raw(c->d, "<title>", NULL);
	dr_doc_textf(c->d, "Timeline of run %s",
	             c->m->run_id ? c->m->run_id : "");
	if (nparts > 1)
		dr_doc_htmlf(c->d, " (part %zu of %zu)", part + 1, nparts);
	dr_doc_raw(c->d, "</title>\n", NULL);

	/* The deadlines after the run, then row backgrounds: tier bands
	 * and zebra stripes per group. */
	if (a.zone) {
		dr_doc_htmlf(
		    c->d,
		    "<rect class=\"zone\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
		    "height=\"%.1f\"/>\n",
		    a.zone_x - 6.0, top, ZONE_W + 12.0, bottom - top);
		dr_doc_htmlf(c->d,
		             "<text class=\"zonet\" x=\"%.1f\" y=\"%.1f\" "
		             "text-anchor=\"middle\">after the run, not to "
		             "scale</text>\n",
		             a.zone_x + ZONE_W / 2.0, bottom + 11.0);
	}

	y = top;
	for (k = k0; k < k1; k++) {
		const struct dr_rm_task *t = &c->m->t[c->m->order[k]];
		const struct dr_rm_group *g = &c->m->g[t->group];

		if (g->tier != last_tier) {
			dr_doc_htmlf(c->d,
			             "<rect class=\"tierh\" x=\"0\" y=\"%.1f\" "
			             "width=\"%.0f\" height=\"%.1f\"/>\n",
			             y, SVG_W, TIER_H);
			dr_doc_htmlf(
			    c->d,
			    "<text class=\"tiert\" x=\"%.1f\" y=\"%.1f\">"
			    "Tier %d",
			    LBL_SVC_X, y + TIER_H - 4.0, g->tier);
			tier_services(c, g->tier);
			if (k == k0 && k > 0 &&
			    c->m->g[c->m->t[c->m->order[k - 1]].group].tier ==
			        g->tier)
				dr_doc_raw(c->d, " (continued)", NULL);
			dr_doc_raw(c->d, "</text>\n", NULL);
			last_tier = g->tier;
			y += TIER_H;
		}
		if (t->group != last_group) {
			size_t rows = g->ntasks;
			if (ngroup++ % 2)
				dr_doc_htmlf(
				    c->d,
				    "<rect class=\"zebra\" x=\"0\" y=\"%.1f\" "
				    "width=\"%.0f\" height=\"%.1f\"/>\n",
				    y, SVG_W, (double)rows * ROW_H);
			last_group = t->group;
		}
		y += ROW_H;
	}

	/* Time axis: ticks, grid, labels above and below. */
	step = tick_step(c->m->span);
	dr_doc_htmlf(c->d,
	             "<line class=\"axis\" x1=\"%.1f\" y1=\"%.1f\" x2=\"%.1f\" "
	             "y2=\"%.1f\"/>\n",
	             CHART_X, top, CHART_X + a.chart_w, top);
	for (ms = 0; ms <= c->m->span; ms += step) {
		double x = xpos(c, &a, ms);
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
	/* Bars, with the group and step labels on the left. */
	y = top;
	last_tier = INT32_MIN;
	last_group = SIZE_MAX;
	for (k = k0; k < k1; k++) {
		const struct dr_rm_task *t = &c->m->t[c->m->order[k]];
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
		svg_bar(c, &a, t, y);
		y += ROW_H;
	}

	/* End of the run. */
	if (c->m->duration_ms >= 0) {
		double x = xpos(c, &a, c->m->duration_ms);
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

	/*
	 * One dashed deadline per service with an RTO, each labelled on its
	 * own row above the chart. Labels right of the middle sit left of
	 * their line: those rows go from the latest deadline up, the others
	 * from the earliest, so that no line runs through a label below it.
	 */
	for (j = 0; j < nrto; j++) {
		const struct dr_rm_svc *s = &c->m->s[rto[j]];
		double x = xpos(c, &a, s->rto_ms);
		double ly = 6.0 + (double)j * RTO_ROW_H + 9.0;
		bool right = rto_right(&a, x);

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

/*
 * The timeline in parts of at most PART_H of rows, cut between service
 * instances, each part one page on paper.
 */
static void
write_svgs(struct tl *c)
{
	size_t *rto = dr_xcalloc(c->m->ns + 1, sizeof(*rto));
	size_t nrto = rto_services(c, rto), i, k, k0, nparts = 0, part = 0;
	size_t *cut = dr_xcalloc(c->m->nt + 2, sizeof(*cut));
	struct axis a = {0};

	for (i = 0; i < nrto; i++)
		if (c->m->s[rto[i]].rto_ms > a.max_rto)
			a.max_rto = c->m->s[rto[i]].rto_ms;
	a.zone = a.max_rto > c->m->span;
	a.chart_w =
	    SVG_W - CHART_X - RIGHT_PAD - (a.zone ? ZONE_GAP + ZONE_W : 0.0);
	a.zone_x = CHART_X + a.chart_w + ZONE_GAP;
	/* Row labels follow the deadlines: sort them once for all parts. */
	for (i = 1; i < nrto; i++) {
		size_t x = rto[i], m = i;
		while (m > 0 && rto_before(c, &a, x, rto[m - 1])) {
			rto[m] = rto[m - 1];
			m--;
		}
		rto[m] = x;
	}

	for (k = 0; k < c->m->nt;) {
		k0 = k;
		while (k < c->m->nt) {
			size_t n =
			    c->m->g[c->m->t[c->m->order[k]].group].ntasks;
			if (k > k0 && rows_height(c, k0, k + n) > PART_H)
				break;
			k += n;
		}
		cut[nparts++] = k0;
	}
	cut[nparts] = c->m->nt;
	for (part = 0; part < nparts; part++)
		write_svg(c, &a, rto, nrto, cut[part], cut[part + 1], part,
		          nparts);
	free(cut);
	free(rto);
}

void
dr_timeline_svg(struct dr_doc *d, const struct dr_rm *m)
{
	struct tl c = {d, m};

	if (dr_doc_is_html(d) && m->nt > 0)
		write_svgs(&c);
}
