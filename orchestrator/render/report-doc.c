/*
 * report-doc.c: the run report in Markdown or one self-contained HTML file,
 * from the report model (report-model.h), through the document writer
 * (doc.h); the HTML timeline is timeline.c's.
 *
 * Restore points: the header shows "incident_at", the global services'
 * table gains "Data lost" and "RPO" columns and the grid's cells the data
 * lost when a service was restored from one, and copies name the backup
 * they used. "previous" (the last run of the plan
 * in the same mode) adds a comparison of recovery times per service.
 */
#include "drover/report-doc.h"
#include "drover/report-points.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"
#include "drover/doc.h"
#include "drover/report-model.h"
#include "drover/timeline.h"

/* Longest tail shown per task; the end of the output is what matters. */
#define TAIL_MAX 8192

/* Recovery times closer than this are the same (times show tenths). */
#define SAME_MS 100

/* This run's recovery time against the previous run's. */
enum cmp {
	CMP_NEW,     /* not in the previous run */
	CMP_SAME,    /* within SAME_MS, or shown as the same time */
	CMP_FASTER,  /* recovered sooner */
	CMP_SLOWER,  /* recovered later */
	CMP_NOTREC,  /* not recovered in this run */
	CMP_RECNOW,  /* recovered now, not in the previous run */
	CMP_UNKNOWN, /* recovered, but a time is missing */
	CMP_N
};

/*
 * At scale. The HTML shows every task (timeline and task log) of the
 * global services and of at most DETAIL_TENANTS tenants, the worst first;
 * the Markdown, the text to keep, shows every task. The detail is a
 * collapsible section, open (and so printed) only when it shows every
 * tenant and at most DETAIL_OPEN_TASKS tasks.
 */
#define DETAIL_TENANTS 20
#define DETAIL_OPEN_TASKS 200
/* Tenant rows of a block of the HTML grid: one A4 landscape page. */
#define GRID_ROWS 50
/* Tasks cancelled before they started listed one by one, up to. */
#define QUIET_MAX 40
/* Rows of the HTML comparison with the previous run, up to. */
#define PREV_ROWS_MAX 100

struct ctx {
	struct dr_doc *d;
	const struct dr_rm *m;
	bool html;
	bool *tshow;   /* per tenant: its tasks are in the HTML detail */
	bool *gshow;   /* per group: the same */
	size_t nshown; /* tenants shown */
	size_t nshown_tasks;
};

#define DASH "\xe2\x80\x94" /* em dash: nothing to show */

/* ---- interpreting values ---------------------------------------------- */

/* A long span, for data lost: "1d 12h", "5h 30m", "12m 05s", "4.2s". */
static const char *
fmt_span(int64_t ms, char *buf, size_t len)
{
	long long v = ms, d = v / 86400000, h = v / 3600000 % 24,
	          m = v / 60000 % 60, s = v / 1000 % 60;

	if (v < 0)
		snprintf(buf, len, "-");
	else if (d && m)
		snprintf(buf, len, "%lldd %lldh %02lldm", d, h, m);
	else if (d && h)
		snprintf(buf, len, "%lldd %lldh", d, h);
	else if (d)
		snprintf(buf, len, "%lldd", d);
	else if (h && m)
		snprintf(buf, len, "%lldh %02lldm", h, m);
	else if (h)
		snprintf(buf, len, "%lldh", h);
	else if (m && s)
		snprintf(buf, len, "%lldm %02llds", m, s);
	else if (m)
		snprintf(buf, len, "%lldm", m);
	else
		dr_duration_fmt((uint64_t)v, buf, len);
	return buf;
}

/* A state in capitals ("FAILED"); "UNKNOWN" for none. */
static const char *
upper(const char *state, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "%s", state ? state : "unknown");
	for (i = 0; buf[i]; i++)
		buf[i] = (char)toupper((unsigned char)buf[i]);
	return buf;
}

static bool
is_failure(const struct dr_rm_task *t)
{
	return dr_rm_same(t->state, "failed") ||
	       dr_rm_same(t->state, "cancelled") ||
	       dr_rm_same(t->state, "indeterminate");
}

/* The previous run's instance of s, or NULL. */
static const struct dr_rm_prev *
prev_of(const struct dr_rm *m, const struct dr_rm_svc *s)
{
	return s->prev < m->np ? &m->p[s->prev] : NULL;
}

static enum cmp
compare(const struct dr_rm *m, const struct dr_rm_svc *s, int64_t *delta)
{
	const struct dr_rm_prev *p = prev_of(m, s);
	char a[32], b[32];

	*delta = 0;
	if (p == NULL)
		return CMP_NEW;
	if (!s->recovered)
		return CMP_NOTREC;
	if (p->recovery_ms < 0)
		return CMP_RECNOW;
	if (s->recovery_ms < 0)
		return CMP_UNKNOWN;
	/*
	 * Same within SAME_MS, or when both show as the same time: "slower
	 * by 50ms" is noise, and so is "faster by 0.4s" between two "1m00s".
	 */
	*delta = s->recovery_ms - p->recovery_ms;
	if ((*delta > -SAME_MS && *delta < SAME_MS) ||
	    strcmp(dr_rm_duration(s->recovery_ms, a, sizeof(a)),
	           dr_rm_duration(p->recovery_ms, b, sizeof(b))) == 0)
		return CMP_SAME;
	return *delta < 0 ? CMP_FASTER : CMP_SLOWER;
}

static void
count_cmp(const struct dr_rm *m, size_t k[CMP_N])
{
	size_t i;
	int64_t d;

	memset(k, 0, CMP_N * sizeof(*k));
	for (i = 0; i < m->ns; i++)
		k[compare(m, &m->s[i], &d)]++;
}

/* "drill" or "run": what the previous report is called. */
static const char *
prev_word(const struct dr_rm *m)
{
	return dr_rm_same(m->mode, "failover") ? "run" : "drill";
}

/* ---- small pieces ----------------------------------------------------- */

/* A cell of text; "-" when there is none. */
static void
cell(struct ctx *c, const char *cls, const char *s)
{
	dr_doc_cell(c->d, cls, s && *s ? s : "-");
}

/* Inline code: a value to copy (run id, command line, sha256); "-". */
static void
code(struct ctx *c, const char *s)
{
	if (s == NULL)
		dr_doc_text(c->d, "-");
	else
		dr_doc_code(c->d, s);
}

/* A remark after a value: HTML, small text after lead; Markdown, in
 * parentheses after md_lead ("<br><span ...>backup X</span>", " (backup
 * X)"). */
static void
aside(struct ctx *c, const char *lead, const char *md_lead, const char *s)
{
	dr_doc_raw(c->d, lead, md_lead);
	dr_doc_text(c->d, s);
	dr_doc_raw(c->d, "</span>", ")");
}

/* The last TAIL_MAX bytes of s, cut on a character boundary. */
static const char *
tail_of(const char *s, bool *cut)
{
	size_t len = strlen(s);

	*cut = len > TAIL_MAX;
	if (!*cut)
		return s;
	s += len - TAIL_MAX;
	while ((*s & 0xc0) == 0x80)
		s++;
	return s;
}

/* A block of program output, verbatim but escaped. */
static void
output(struct ctx *c, const char *s)
{
	bool cut;

	s = tail_of(s, &cut);
	if (cut)
		dr_doc_raw(c->d, NULL, "[earlier output omitted]\n\n");
	dr_doc_pre_begin(c->d, "tail", "text", s, 0);
	if (cut)
		dr_doc_raw(
		    c->d,
		    "<span class=\"cut\">[earlier output omitted]</span>\n",
		    NULL);
	dr_doc_verbatim(c->d, s);
	dr_doc_pre_end(c->d);
}

/* ---- document --------------------------------------------------------- */

static const char css[] =
    "@page{size:A4 landscape;margin:10mm}\n"
    "*{-webkit-print-color-adjust:exact;print-color-adjust:exact;"
    "box-sizing:border-box}\n"
    "body{font-family:\"DejaVu Sans\",\"Liberation Sans\",Arial,"
    "sans-serif;font-size:10.5pt;line-height:1.4;color:#111;"
    "max-width:1340px;margin:0 auto;padding:16px 20px}\n"
    "h1{font-size:18pt;margin:0}\n"
    "h2{font-size:13.5pt;border-bottom:2px solid #111;"
    "padding-bottom:.1em;margin:1.3em 0 .5em;break-after:avoid;"
    "page-break-after:avoid}\n"
    "h3{font-size:11.5pt;margin:1em 0 .3em;break-after:avoid;"
    "page-break-after:avoid}\n"
    ".top{display:flex;gap:18px;align-items:stretch;margin-bottom:.6em}\n"
    ".top .title{flex:1}\n"
    ".top .sub{font-size:12pt;margin:.2em 0 0}\n"
    ".outcome{font-size:26pt;font-weight:bold;letter-spacing:.06em;"
    "padding:.15em .6em;border-radius:4px;color:#fff;display:flex;"
    "align-items:center}\n"
    ".o-succeeded{background:#1f7a36}\n"
    ".o-failed{background:#b3191b}\n"
    ".o-interrupted,.o-other{background:#c27c00}\n"
    "table{border-collapse:collapse;width:100%;margin:.3em 0 .8em;"
    "font-size:9pt}\n"
    "th,td{border:1px solid #999;padding:.15em .4em;text-align:left;"
    "vertical-align:top;overflow-wrap:anywhere}\n"
    "th{background:#e6e6e6}\n"
    "tr{break-inside:avoid;page-break-inside:avoid}\n"
    "table.meta td:first-child{width:9em;font-weight:bold;"
    "white-space:nowrap}\n"
    "table.svc td:nth-child(2),table.svc td:nth-child(3),"
    "table.svc td:nth-child(4){white-space:nowrap}\n"
    "table.log{table-layout:fixed;font-size:8.3pt}\n"
    "table.log th{white-space:nowrap}"
    "table.log th:nth-child(-n+2){width:5.6em}"
    "table.log th:nth-child(3){width:5.8em}"
    "table.log th:nth-child(4){width:8em}"
    "table.log th:nth-child(5){width:10em}"
    "table.log th:nth-child(6){width:9.5em}"
    "table.log th:nth-child(7){width:11.5em}"
    "table.log th:nth-child(8){width:9.5em}"
    "table.log th:nth-child(9){width:5.8em}\n"
    "table.log td:nth-child(8){white-space:nowrap}\n"
    "table.log td{overflow-wrap:break-word}\n"
    "table.svc{table-layout:fixed}\n"
    "table.svc th:nth-child(1){width:28%}"
    "table.svc th:nth-child(2){width:7%}"
    "table.svc th:nth-child(3){width:27%}"
    "table.svc th:nth-child(4){width:10%}\n"
    "table.svc.rp th:nth-child(1){width:15%}"
    "table.svc.rp th:nth-child(2){width:5%}"
    "table.svc.rp th:nth-child(3){width:17%}"
    "table.svc.rp th:nth-child(4){width:6%}"
    "table.svc.rp th:nth-child(5){width:17%}"
    "table.svc.rp th:nth-child(6){width:21%}\n"
    "table.cmp{table-layout:fixed}\n"
    "table.cmp th:nth-child(1){width:24%}"
    "table.cmp th:nth-child(2){width:24%}"
    "table.cmp th:nth-child(3),table.cmp th:nth-child(4){width:14%}\n"
    ".gridblock{display:flex;gap:14px;align-items:flex-start;"
    "break-inside:avoid;page-break-inside:avoid}\n"
    ".gridblock table.grid{flex:1 1 0;min-width:0}\n"
    "table.grid{table-layout:fixed;font-size:7.5pt;margin:0 0 .5em}\n"
    "table.grid th{font-size:7pt;padding:.1em .3em;vertical-align:bottom}\n"
    "table.grid th:first-child{width:11em}\n"
    "table.grid td{padding:0 .3em;line-height:1.25;white-space:nowrap;"
    "overflow:hidden;text-overflow:ellipsis}\n"
    ".g-met{background:#dcf0e0;color:#14532a}\n"
    ".g-norto{background:#eceff3}\n"
    ".g-missed{background:#fbd49a;color:#6b3600}\n"
    ".g-failed{background:#f2a9a9;color:#7d0b0d;font-weight:bold}\n"
    ".g-notrec{background:repeating-linear-gradient(135deg,#f6d4d4 0 "
    "4px,#fff 4px 7px);color:#7d0b0d}\n"
    ".g-none{color:#888}\n"
    "table.bysvc td:nth-child(n+2){white-space:nowrap}\n"
    ".incident{margin:.2em 0 .5em;padding:.2em .6em;"
    "border-left:6px solid #c27c00;background:#fdf3e0}\n"
    "code,pre{font-family:\"DejaVu Sans Mono\",\"Liberation Mono\","
    "monospace}\n"
    "code{font-size:.92em;background:#f0f0f0;padding:0 .2em}\n"
    ".cards{display:flex;gap:14px;flex-wrap:wrap;margin:.3em 0}\n"
    ".card{border:1px solid #999;border-radius:4px;padding:.3em .7em;"
    "min-width:7.5em}\n"
    ".card .n{font-size:20pt;font-weight:bold;line-height:1.1}\n"
    ".card .l{font-size:9pt;color:#333}\n"
    ".card.bad{border-color:#b3191b;background:#fbeaea}\n"
    ".card.good{border-color:#1f7a36;background:#eaf6ec}\n"
    ".card.warn{border-color:#c27c00;background:#fdf3e0}\n"
    ".counts span{display:inline-block;margin-right:1.2em}\n"
    ".r-met{color:#1f7a36;font-weight:bold}\n"
    ".r-missed,.r-not{color:#b3191b;font-weight:bold}\n"
    ".r-none{color:#555}\n"
    ".small{font-size:8.5pt;color:#444}\n"
    ".legend{font-size:9pt;margin:.2em 0 .4em}\n"
    ".legend span{display:inline-block;margin-right:1.1em}\n"
    ".sw{display:inline-block;width:1.6em;height:.8em;margin-right:.3em;"
    "vertical-align:middle;border:1px solid #555}\n"
    ".dash{display:inline-block;width:1.8em;margin-right:.3em;"
    "vertical-align:middle;border-top:2px dashed #c2185b}\n"
    ".fail{border:1px solid #999;border-left:6px solid #b3191b;"
    "padding:.3em .7em .4em;margin:.6em 0;break-inside:avoid;"
    "page-break-inside:avoid}\n"
    ".fail.st-cancelled{border-left-color:#e8a200}\n"
    ".fail.st-indeterminate{border-left-color:#3b6fb6}\n"
    ".fail h3{margin:.1em 0 .3em;font-size:10.5pt}\n"
    ".fail table{width:auto;margin:.2em 0}\n"
    ".fail td:first-child{font-weight:bold;white-space:nowrap}\n"
    ".tag{display:inline-block;color:#fff;font-size:8.5pt;"
    "padding:0 .4em;border-radius:3px;margin-right:.4em;"
    "vertical-align:middle}\n"
    "pre.tail{font-size:8.3pt;line-height:1.3;white-space:pre-wrap;"
    "overflow-wrap:anywhere;background:#f4f4f4;border:1px solid #bbb;"
    "padding:.35em .55em;margin:.25em 0;max-height:none}\n"
    ".cut{color:#777;font-style:italic}\n"
    "svg.gantt{width:100%;height:auto;display:block;"
    "font-family:\"DejaVu Sans\",\"Liberation Sans\",Arial,sans-serif}\n"
    "svg.gantt text{font-size:10px;fill:#111}\n"
    "svg.gantt .svcl{font-weight:bold}\n"
    "svg.gantt .svcl.bad{fill:#b3191b}\n"
    "svg.gantt .tierh{fill:#2b3440}\n"
    "svg.gantt text.tiert{fill:#fff;font-weight:bold}\n"
    "svg.gantt .zebra{fill:#eef1f5}\n"
    "svg.gantt .grid{stroke:#d0d0d0;stroke-width:1}\n"
    "svg.gantt .axis{stroke:#333;stroke-width:1}\n"
    "svg.gantt text.tick{font-size:9px;fill:#333}\n"
    "svg.gantt .zone{fill:#f7f7f7;stroke:#bbb;stroke-dasharray:2 2}\n"
    "svg.gantt text.zonet{font-size:9px;fill:#555;font-style:italic}\n"
    "svg.gantt .rto{stroke:#c2185b;stroke-width:1.2;"
    "stroke-dasharray:5 3}\n"
    "svg.gantt text.rtot{font-size:9px;fill:#c2185b;font-weight:bold;"
    "paint-order:stroke;stroke:#fff;stroke-width:3px;"
    "stroke-linejoin:round}\n"
    "svg.gantt .endl{stroke:#111;stroke-width:1.5}\n"
    "svg.gantt text.endt{font-size:9px;font-weight:bold}\n"
    "svg.gantt .bar{stroke:#222;stroke-width:.4}\n"
    "svg.gantt .failm{stroke:#8b0d0f;stroke-width:1.6}\n"
    "span.failm{display:inline-block;width:3px;height:1em;"
    "margin-right:.4em;vertical-align:middle;background:#8b0d0f}\n"
    "details.detail{margin:.6em 0}\n"
    "details.detail>summary{cursor:pointer;margin:.3em 0}\n"
    "svg.gantt .bar.open{stroke-dasharray:3 2}\n"
    "svg.gantt .bar.nostart{fill-opacity:.35;stroke:#555;"
    "stroke-dasharray:2 1}\n"
    "svg.gantt text.nst{font-size:8.5px;fill:#666;font-style:italic}\n"
    ".s-succeeded{fill:#2e9d4a;background:#2e9d4a}\n"
    ".s-failed{fill:#d62728;background:#d62728}\n"
    ".s-skipped{fill:#a3a3a3;background:#a3a3a3}\n"
    ".s-cancelled{fill:#f0a500;background:#f0a500}\n"
    ".s-refused{fill:#7b4fb3;background:#7b4fb3}\n"
    ".s-indeterminate{fill:#3b6fb6;background:#3b6fb6}\n"
    ".s-pending,.s-running,.s-retry-wait,.s-interrupted,.s-other"
    "{fill:#ffffff;background:#ffffff}\n"
    "@media print{body{max-width:none;padding:0;font-size:9.5pt}"
    ".timeline{break-before:page;page-break-before:always}"
    "svg.gantt{break-inside:auto}}\n";

static void
meta_row(struct ctx *c, const char *label, const char *value, bool as_code)
{
	dr_doc_row_begin(c->d);
	cell(c, NULL, label);
	dr_doc_cell_begin(c->d, NULL);
	if (as_code)
		code(c, value);
	else
		dr_doc_text(c->d, value && *value ? value : "-");
	dr_doc_cell_end(c->d);
	dr_doc_row_end(c->d);
}

static void
write_header(struct ctx *c)
{
	const struct dr_rm *m = c->m;
	struct dr_doc *d = c->d;
	char out[64], a[64], b[64], dur[32];
	char *dir =
	    dr_xasprintf("%s \xe2\x86\x92 %s", m->from[0] ? m->from : "?",
	                 m->to ? m->to : "?");
	char *by = dr_xasprintf("%s@%s", m->user ? m->user : "?",
	                        m->host ? m->host : "?");
	char *title = dr_xasprintf("Run report: %s",
	                           m->plan ? m->plan : "(unnamed plan)");
	const char *mode = m->mode ? m->mode : "run";

	upper(m->state, out, sizeof(out));
	if (c->html) {
		dr_doc_raw(d, "<div class=\"top\"><div class=\"title\">", NULL);
		dr_doc_heading(d, 1, NULL, NULL, title);
		dr_doc_p_begin(d, "sub");
		dr_doc_bold(d, mode);
		dr_doc_raw(d, " &middot; ", NULL);
		dr_doc_text(d, dir);
		dr_doc_raw(d, " &middot; run ", NULL);
		code(c, m->run_id);
		dr_doc_htmlf(d, "</p></div><div class=\"outcome o-%s\">",
		             dr_rm_same(m->state, "succeeded") ||
		                     dr_rm_same(m->state, "failed") ||
		                     dr_rm_same(m->state, "interrupted")
		                 ? dr_rm_state_class(m->state)
		                 : "other");
		dr_doc_text(d, out);
		dr_doc_raw(d, "</div></div>\n", NULL);
	} else {
		dr_doc_heading(d, 1, NULL, NULL, title);
		dr_doc_p_begin(d, NULL);
		dr_doc_bold_begin(d);
		dr_doc_text(d, "Outcome: ");
		dr_doc_text(d, out);
		dr_doc_bold_end(d);
		dr_doc_text(d, " \xc2\xb7 ");
		dr_doc_text(d, mode);
		dr_doc_text(d, " \xc2\xb7 ");
		dr_doc_text(d, dir);
		dr_doc_p_end(d);
	}
	if (m->incident_at) {
		dr_doc_p_begin(d, "incident");
		dr_doc_bold(d, "Incident declared / restore points before:");
		dr_doc_text(d, " ");
		dr_doc_text(d, dr_rm_wall(m->incident_at, false, a, sizeof(a)));
		dr_doc_p_end(d);
	}
	dr_doc_table_begin(d, "meta", 2, 0);
	meta_row(c, "Run", m->run_id, true);
	meta_row(c, "Plan", m->plan, false);
	meta_row(c, "Plan file", m->plan_file, true);
	meta_row(c, "Plan sha256", m->sha, true);
	meta_row(c, "Mode", mode, false);
	meta_row(c, "Direction", dir, false);
	meta_row(c, "Outcome", out, false);
	meta_row(c, "Started", dr_rm_wall(m->started_at, false, a, sizeof(a)),
	         false);
	meta_row(c, "Ended", dr_rm_wall(m->ended_at, false, b, sizeof(b)),
	         false);
	meta_row(c, "Duration",
	         dr_rm_duration(m->duration_ms, dur, sizeof(dur)), false);
	meta_row(c, "Run by", by, false);
	meta_row(c, "Command", m->command, true);
	if (m->fencing_token) /* HA over etcd */
		meta_row(c, "Leader's fencing token", m->fencing_token, true);
	if (m->attestation) /* --no-quorum: one controller, attested */
		meta_row(c, "Single controller (no etcd quorum), attested",
		         m->attestation, false);
	dr_doc_table_end(d);
	free(dir);
	free(by);
	free(title);
}

struct svc_counts {
	size_t met, missed, notrec, norto, total;
	size_t rp, rpo_missed; /* restored from a restore point; over RPO */
};

static struct svc_counts
count_services(const struct dr_rm *m)
{
	struct svc_counts k = {0};
	size_t i;

	for (i = 0; i < m->ns; i++) {
		const struct dr_rm_svc *s = &m->s[i];
		k.total++;
		if (!s->recovered)
			k.notrec++;
		else if (s->rto_ms == 0)
			k.norto++;
		else if (s->met)
			k.met++;
		else
			k.missed++;
		if (s->has_rp) {
			k.rp++;
			if (s->rpo_ms && !s->rpo_met)
				k.rpo_missed++;
		}
	}
	return k;
}

static void
card(struct ctx *c, const char *cls, size_t n, const char *label)
{
	dr_doc_htmlf(c->d,
	             "<div class=\"card %s\"><div class=\"n\">%zu</div>"
	             "<div class=\"l\">",
	             cls, n);
	dr_doc_text(c->d, label);
	dr_doc_raw(c->d, "</div></div>", NULL);
}

/* HTML: the services and tasks as cards. */
static void
summary_cards(struct ctx *c, const struct svc_counts *k, size_t failed)
{
	size_t cmp[CMP_N];

	count_cmp(c->m, cmp);
	dr_doc_raw(c->d, "<div class=\"cards\">", NULL);
	card(c, k->met == k->total - k->norto ? "good" : "", k->met,
	     "services met their RTO");
	card(c, k->missed ? "bad" : "", k->missed, "missed their RTO");
	card(c, k->notrec ? "bad" : "", k->notrec, "not recovered");
	if (k->norto)
		card(c, "", k->norto, "recovered, no RTO");
	if (k->rp)
		card(c, k->rpo_missed ? "bad" : "good", k->rpo_missed,
		     "missed their RPO");
	card(c, failed ? "bad" : "", failed, "tasks failed");
	if (c->m->has_prev) {
		card(c, cmp[CMP_FASTER] ? "good" : "", cmp[CMP_FASTER],
		     "faster than last time");
		card(c, cmp[CMP_SLOWER] ? "warn" : "", cmp[CMP_SLOWER],
		     "slower than last time");
	}
	dr_doc_raw(c->d, "</div>\n", NULL);
	dr_doc_p_begin(c->d, "counts");
	dr_doc_bold_begin(c->d);
	dr_doc_textf(c->d, "%zu tasks:", c->m->nt);
	dr_doc_bold_end(c->d);
	dr_doc_text(c->d, " ");
}

/* Markdown: the services as a list; the item of the tasks is left open. */
static void
summary_list(struct ctx *c, const struct svc_counts *k)
{
	const struct dr_rm *m = c->m;
	struct dr_doc *d = c->d;
	size_t cmp[CMP_N];

	count_cmp(m, cmp);
	dr_doc_list_begin(d, false);
	dr_doc_item_begin(d);
	dr_doc_bold(d, "Services against RTO");
	dr_doc_textf(d, " (%zu): %zu met, %zu missed, %zu not recovered",
	             k->total, k->met, k->missed, k->notrec);
	if (k->norto)
		dr_doc_textf(d, ", %zu recovered without an RTO", k->norto);
	dr_doc_item_end(d);
	if (k->rp) {
		dr_doc_item_begin(d);
		dr_doc_bold(d, "Restored from restore points");
		dr_doc_textf(d, " (%zu): %zu missed their RPO", k->rp,
		             k->rpo_missed);
		dr_doc_item_end(d);
	}
	if (m->has_prev) {
		dr_doc_item_begin(d);
		dr_doc_bold_begin(d);
		dr_doc_textf(d, "Against the previous %s", prev_word(m));
		dr_doc_bold_end(d);
		dr_doc_textf(d,
		             ": %zu faster than last time, %zu slower, %zu "
		             "same",
		             cmp[CMP_FASTER], cmp[CMP_SLOWER], cmp[CMP_SAME]);
		dr_doc_item_end(d);
	}
	dr_doc_item_begin(d);
	dr_doc_bold(d, "Tasks");
	dr_doc_textf(d, " (%zu): ", m->nt);
}

static void
write_summary(struct ctx *c)
{
	static const char *const states[] = {
	    "succeeded",     "failed",  "skipped", "cancelled", "refused",
	    "indeterminate", "pending", "running", "retry-wait"};
	size_t nstates = sizeof(states) / sizeof(states[0]);
	size_t counts[sizeof(states) / sizeof(states[0]) + 1] = {0};
	struct svc_counts k = count_services(c->m);
	struct dr_doc *d = c->d;
	size_t i, j;
	bool first = true;

	for (i = 0; i < c->m->nt; i++) {
		for (j = 0; j < nstates; j++)
			if (dr_rm_same(c->m->t[i].state, states[j]))
				break;
		counts[j]++;
	}
	dr_doc_heading(d, 2, NULL, NULL, "Summary");
	if (c->html)
		summary_cards(c, &k, counts[1]);
	else
		summary_list(c, &k);
	for (j = 0; j <= nstates; j++) {
		const char *name = j < nstates ? states[j] : "other";
		char sw[48];

		if (counts[j] == 0 && j != 0 && j != 1)
			continue;
		snprintf(sw, sizeof(sw), "sw s-%s", name);
		if (!first && !c->html)
			dr_doc_text(d, ", ");
		dr_doc_span_begin(d, NULL);
		dr_doc_span(d, sw, NULL);
		dr_doc_textf(d, "%zu %s", counts[j], name);
		dr_doc_span_end(d);
		first = false;
	}
	if (c->html) {
		dr_doc_p_end(d);
	} else {
		dr_doc_item_end(d);
		dr_doc_list_end(d);
	}
}

/* ---- the detail at scale --------------------------------------------- */

/*
 * The tenants whose every task the HTML shows: all of them up to
 * DETAIL_TENANTS, else those with a failed service first, then those with
 * one not recovered, then late, then the rest, each in priority order.
 */
static void
pick_detail(struct ctx *c)
{
	static const int first[] = {DR_RM_FAILED, DR_RM_NOTREC, DR_RM_MISSED,
	                            -1};
	const struct dr_rm *m = c->m;
	size_t i, pass;

	c->tshow = dr_xcalloc(m->ntn + 1, sizeof(*c->tshow));
	c->gshow = dr_xcalloc(m->ng + 1, sizeof(*c->gshow));
	for (pass = 0; pass < sizeof(first) / sizeof(first[0]); pass++) {
		for (i = 0; i < m->ntn && c->nshown < DETAIL_TENANTS; i++) {
			if (c->tshow[i] ||
			    (first[pass] >= 0 &&
			     m->tn[i].verdicts[first[pass]] == 0))
				continue;
			c->tshow[i] = true;
			c->nshown++;
		}
	}
	for (i = 0; i < m->ng; i++) {
		c->gshow[i] = m->g[i].tn == SIZE_MAX || c->tshow[m->g[i].tn];
		if (c->gshow[i])
			c->nshown_tasks += m->g[i].ntasks;
	}
}

/* Whether the HTML detail shows everything and is small: then open. */
static bool
detail_open(const struct ctx *c)
{
	return c->nshown == c->m->ntn && c->nshown_tasks <= DETAIL_OPEN_TASKS;
}

/* The <summary> of a detail section: what it shows, what it leaves out. */
static void
detail_summary(struct ctx *c, const char *what)
{
	const struct dr_rm *m = c->m;

	dr_doc_htmlf(c->d, "<details class=\"detail\"%s><summary>",
	             detail_open(c) ? " open" : "");
	dr_doc_bold(c->d, what);
	if (c->nshown == m->ntn) {
		dr_doc_textf(c->d, ": all %zu tasks", m->nt);
	} else {
		dr_doc_textf(c->d,
		             ": the %zu tasks of the global services and of "
		             "%zu of the %zu tenants (failed, not recovered, "
		             "late, then by priority); %zu tenants and %zu "
		             "tasks left out, all in report.md and report.json",
		             c->nshown_tasks, c->nshown, m->ntn,
		             m->ntn - c->nshown, m->nt - c->nshown_tasks);
	}
	dr_doc_raw(c->d, "</summary>\n", NULL);
}

/* HTML: the timeline, its legend and its parts (timeline.c). */
static void
write_timeline(struct ctx *c)
{
	static const char *const states[] = {"succeeded", "failed",
	                                     "skipped",   "cancelled",
	                                     "refused",   "indeterminate"};
	struct dr_doc *d = c->d;
	size_t i;

	dr_doc_raw(d, "<section class=\"timeline\">\n", NULL);
	dr_doc_heading(d, 2, NULL, NULL, "Timeline");
	dr_doc_raw(d, "<div class=\"legend\">", NULL);
	for (i = 0; i < sizeof(states) / sizeof(states[0]); i++)
		dr_doc_htmlf(d,
		             "<span><span class=\"sw s-%s\"></span>%s</span>",
		             states[i], states[i]);
	dr_doc_raw(
	    d,
	    "<span><span class=\"sw s-pending\"></span>not started</span>"
	    "<span><span class=\"dash\"></span>RTO deadline (run start + "
	    "RTO)</span><span><span class=\"failm\"></span>a task "
	    "failed</span><span class=\"small\">times are elapsed since "
	    "the run started; hover a bar for details</span></div>\n",
	    NULL);
	if (c->m->nt == 0) {
		dr_doc_p(d, NULL, "No tasks.");
	} else {
		dr_doc_p(
		    d, "small",
		    "One bar per service, from the start of its first task "
		    "to the end of its last, in the colour of its worst "
		    "task.");
		dr_timeline_svg(d, c->m);
		detail_summary(c, "Per task");
		dr_timeline_detail_svg(d, c->m, c->gshow);
		dr_doc_raw(d, "</details>\n", NULL);
	}
	dr_doc_raw(d, "</section>\n", NULL);
}

/* ---- recovery per tenant ---------------------------------------------- */

static void
result_cell(struct ctx *c, const struct dr_rm_svc *s)
{
	char a[32], b[64];

	if (!s->recovered) {
		cell(c, "r-not", "NOT RECOVERED");
	} else if (s->rto_ms == 0) {
		cell(c, "r-none", "recovered (no RTO)");
	} else {
		/* time to spare, or time late */
		int64_t off = s->met ? s->rto_ms - s->recovery_ms
		                     : s->recovery_ms - s->rto_ms;

		snprintf(b, sizeof(b),
		         s->met ? "met (%s to spare)" : "MISSED (%s late)",
		         s->recovery_ms >= 0 ? dr_rm_duration(off, a, sizeof(a))
		                             : "?");
		cell(c, s->met ? "r-met" : "r-missed",
		     s->recovery_ms >= 0 ? b
		     : s->met            ? "met"
		                         : "MISSED");
	}
}

/* Data lost to the restore point, and when the backup was taken. */
static void
loss_cell(struct ctx *c, const struct dr_rm_svc *s)
{
	char a[32], b[64];

	if (!s->has_rp) {
		cell(c, "r-none", DASH);
		return;
	}
	dr_doc_cell_begin(c->d, NULL);
	dr_doc_text(c->d,
	            s->loss_ms >= 0 ? fmt_span(s->loss_ms, a, sizeof(a)) : "?");
	if (s->backup_at)
		aside(c, "<br><span class=\"small\">backup ", " (backup ",
		      dr_rm_wall(s->backup_at, false, b, sizeof(b)));
	dr_doc_cell_end(c->d);
}

static void
rpo_cell(struct ctx *c, const struct dr_rm_svc *s)
{
	char a[32], b[32], d[96];

	if (!s->has_rp) {
		cell(c, "r-none", DASH);
	} else if (s->rpo_ms == 0) {
		cell(c, "r-none", "no RPO");
	} else if (s->rpo_met) {
		snprintf(d, sizeof(d), "%s: met",
		         dr_rm_target(s->rpo_ms, a, sizeof(a)));
		cell(c, "r-met", d);
	} else if (s->loss_ms > s->rpo_ms) {
		snprintf(d, sizeof(d), "%s: MISSED (%s over)",
		         dr_rm_target(s->rpo_ms, a, sizeof(a)),
		         fmt_span(s->loss_ms - s->rpo_ms, b, sizeof(b)));
		cell(c, "r-missed", d);
	} else {
		snprintf(d, sizeof(d), "%s: MISSED",
		         dr_rm_target(s->rpo_ms, a, sizeof(a)));
		cell(c, "r-missed", d);
	}
}

/*
 * One tenant's services against their RTO and, when the report used
 * restore points, the data lost against the RPO.
 */
static void
svc_table(struct ctx *c, const char *tenant)
{
	static const char *const head[] = {"Service", "Tier", "Recovered at",
	                                   "RTO",     "Met",  "Data lost",
	                                   "RPO"};
	const struct dr_rm *m = c->m;
	struct dr_doc *d = c->d;
	char a[32], b[48], dur[32];
	size_t i;

	dr_doc_table_begin(d, m->any_rp ? "svc rp" : "svc", m->any_rp ? 7 : 5,
	                   DR_DOC_THEAD);
	dr_doc_table_head(d, head);
	for (i = 0; i < m->ns; i++) {
		const struct dr_rm_svc *s = &m->s[i];

		if (!dr_rm_same(s->tenant, tenant))
			continue;
		dr_doc_row_begin(d);
		cell(c, NULL, s->service);
		snprintf(a, sizeof(a), "%d", s->tier);
		cell(c, NULL, a);
		dr_doc_cell_begin(d, NULL);
		if (s->recovered && s->recovery_ms >= 0) {
			dr_doc_textf(
			    d, "+%s",
			    dr_rm_elapsed(m, s->recovery_ms, a, sizeof(a)));
			if (s->recovered_at)
				aside(c, " <span class=\"small\">", " (",
				      dr_rm_wall(s->recovered_at, true, b,
				                 sizeof(b)));
		} else {
			dr_doc_text(d, "-");
		}
		dr_doc_cell_end(d);
		cell(c, NULL, dr_rm_target(s->rto_ms, dur, sizeof(dur)));
		result_cell(c, s);
		if (m->any_rp) {
			loss_cell(c, s);
			rpo_cell(c, s);
		}
		dr_doc_row_end(d);
	}
	dr_doc_table_end(d);
}

/* The result of an instance for the Markdown grid: what its table row
 * said, in one cell. */
static void
md_grid_cell(struct ctx *c, const struct dr_rm_svc *s)
{
	const struct dr_rm *m = c->m;
	char a[32], b[64], r[96];
	int64_t off;

	dr_doc_cell_begin(c->d, NULL);
	if (s->recovered && s->recovery_ms >= 0)
		dr_doc_textf(c->d, "+%s ",
		             dr_rm_elapsed(m, s->recovery_ms, a, sizeof(a)));
	if (!s->recovered) {
		dr_doc_text(c->d, s->nfailed ? "FAILED" : "NOT RECOVERED");
	} else if (s->rto_ms == 0) {
		dr_doc_text(c->d, "recovered (no RTO)");
	} else if (s->recovery_ms < 0) {
		dr_doc_text(c->d, s->met ? "met" : "MISSED");
	} else {
		off = s->met ? s->rto_ms - s->recovery_ms
		             : s->recovery_ms - s->rto_ms;
		snprintf(r, sizeof(r),
		         s->met ? "met (%s to spare)" : "MISSED (%s late)",
		         dr_rm_duration(off, a, sizeof(a)));
		dr_doc_text(c->d, r);
	}
	if (s->has_rp) {
		dr_doc_textf(
		    c->d, " \xc2\xb7 lost %s",
		    s->loss_ms >= 0 ? fmt_span(s->loss_ms, a, sizeof(a)) : "?");
		if (s->backup_at)
			dr_doc_textf(
			    c->d, " (backup %s)",
			    dr_rm_wall(s->backup_at, false, b, sizeof(b)));
		if (s->rpo_ms == 0)
			dr_doc_text(c->d, ", no RPO");
		else
			dr_doc_textf(c->d, ", RPO %s: %s",
			             dr_rm_target(s->rpo_ms, a, sizeof(a)),
			             s->rpo_met ? "met" : "MISSED");
		if (s->rpo_ms && !s->rpo_met && s->loss_ms > s->rpo_ms)
			dr_doc_textf(
			    c->d, " (%s over)",
			    fmt_span(s->loss_ms - s->rpo_ms, a, sizeof(a)));
	}
	dr_doc_cell_end(c->d);
}

/*
 * The result of an instance for the HTML grid, short enough for a narrow
 * column: the recovery time, coloured by the verdict, which words say
 * too for paper in black and white ("late", "FAILED").
 */
static void
html_grid_cell(struct ctx *c, const struct dr_rm_svc *s)
{
	static const char *const cls[DR_RM_VERDICTS] = {
	    [DR_RM_MET] = "g-met",
	    [DR_RM_NORTO] = "g-norto",
	    [DR_RM_MISSED] = "g-missed",
	    [DR_RM_NOTREC] = "g-notrec",
	    [DR_RM_FAILED] = "g-failed"};
	enum dr_rm_verdict v = dr_rm_verdict(s);
	char a[32];

	dr_doc_cell_begin(c->d, cls[v]);
	if (v == DR_RM_FAILED)
		dr_doc_text(c->d, "FAILED");
	else if (v == DR_RM_NOTREC)
		dr_doc_text(c->d, "not recovered");
	else if (s->recovery_ms >= 0)
		dr_doc_textf(c->d, "+%s%s",
		             dr_rm_elapsed(c->m, s->recovery_ms, a, sizeof(a)),
		             v == DR_RM_MISSED ? " late" : "");
	else
		dr_doc_text(c->d, v == DR_RM_MISSED ? "late" : "recovered");
	if (s->has_rp && s->loss_ms >= 0) {
		dr_doc_raw(c->d,
		           s->rpo_ms && !s->rpo_met
		               ? "<br><span class=\"small r-missed\">lost "
		               : "<br><span class=\"small\">lost ",
		           NULL);
		dr_doc_text(c->d, fmt_span(s->loss_ms, a, sizeof(a)));
		if (s->rpo_ms && !s->rpo_met)
			dr_doc_text(c->d, " > RPO");
		dr_doc_raw(c->d, "</span>", NULL);
	}
	dr_doc_cell_end(c->d);
}

/* The grid's columns: the services with tenant instances. Returns n. */
static size_t
grid_columns(const struct dr_rm *m, size_t *col)
{
	size_t v, n = 0;

	for (v = 0; v < m->nsv; v++)
		if (m->sv[v].scoped)
			col[n++] = v;
	return n;
}

/* One table of the grid: tenants tn[t0..t1). */
static void
grid_table(struct ctx *c, const size_t *col, size_t ncol, const char **head,
           size_t t0, size_t t1)
{
	const struct dr_rm *m = c->m;
	size_t t, j;

	dr_doc_table_begin(c->d, "grid", ncol + 1, DR_DOC_THEAD);
	dr_doc_table_head(c->d, head);
	for (t = t0; t < t1; t++) {
		dr_doc_row_begin(c->d);
		cell(c, "gt", m->tn[t].name);
		for (j = 0; j < ncol; j++) {
			size_t i = m->grid[t * m->nsv + col[j]];

			if (i == SIZE_MAX)
				cell(c, "g-none", DASH);
			else if (c->html)
				html_grid_cell(c, &m->s[i]);
			else
				md_grid_cell(c, &m->s[i]);
		}
		dr_doc_row_end(c->d);
	}
	dr_doc_table_end(c->d);
}

/*
 * Every tenant's services: a row per tenant, in priority order, a column
 * per tenant service. HTML: in blocks of one page, each of as many tables
 * side by side as the page is wide enough for, filled column by column.
 */
static void
write_grid(struct ctx *c)
{
	const struct dr_rm *m = c->m;
	size_t *col = dr_xcalloc(m->nsv + 1, sizeof(*col));
	size_t ncol = grid_columns(m, col), j, t, ways, per, w, n;
	const char **head = dr_xcalloc(ncol + 2, sizeof(*head));
	char **own = dr_xcalloc(ncol + 1, sizeof(*own));
	char a[32];

	head[0] = "Tenant";
	for (j = 0; j < ncol; j++) {
		const struct dr_rm_service *v = &m->sv[col[j]];
		own[j] =
		    v->rto_ms
		        ? dr_xasprintf("%s (RTO %s)", v->name ? v->name : "?",
		                       dr_rm_target(v->rto_ms, a, sizeof(a)))
		        : dr_xstrdup(v->name ? v->name : "?");
		head[j + 1] = own[j];
	}
	if (!c->html) {
		grid_table(c, col, ncol, head, 0, m->ntn);
		goto out;
	}
	/* A tenant column of 11em and 7em a service, at 7.5pt (1em is
	 * 10px), on a 1,080px page: two tables of five services side by
	 * side, three of up to four. */
	ways = 1080 / (110 + 70 * ncol + 14);
	ways = ways < 1 ? 1 : ways > 3 ? 3 : ways;
	for (t = 0; t < m->ntn; t += n) {
		n = m->ntn - t < ways * GRID_ROWS ? m->ntn - t
		                                  : ways * GRID_ROWS;
		/* a page's worth side by side; what fits one table, one */
		per = n <= GRID_ROWS ? n : (n + ways - 1) / ways;
		dr_doc_raw(c->d, "<div class=\"gridblock\">\n", NULL);
		for (w = 0; w < ways && w * per < n; w++)
			grid_table(c, col, ncol, head, t + w * per,
			           t + (w + 1) * per < t + n ? t + (w + 1) * per
			                                     : t + n);
		dr_doc_raw(c->d, "</div>\n", NULL);
	}
out:
	for (j = 0; j < ncol; j++)
		free(own[j]);
	free(own);
	free(head);
	free(col);
}

/* A count, in a cell coloured when it is not zero. */
static void
count_cell(struct ctx *c, const char *cls, size_t n)
{
	char b[32];

	snprintf(b, sizeof(b), "%zu", n);
	cell(c, n ? cls : NULL, b);
}

/* The tenant services, each over all of its tenants. */
static void
write_services(struct ctx *c)
{
	static const char *const head[] = {"Service",
	                                   "Tier",
	                                   "RTO",
	                                   "Tenants",
	                                   "Met",
	                                   "Missed",
	                                   "Not recovered",
	                                   "First recovered",
	                                   "Last recovered",
	                                   "Missed RPO"};
	const struct dr_rm *m = c->m;
	struct dr_doc *d = c->d;
	char a[32], b[64];
	size_t v;

	dr_doc_table_begin(d, "bysvc", m->any_rp ? 10 : 9, DR_DOC_THEAD);
	dr_doc_table_head(d, head);
	for (v = 0; v < m->nsv; v++) {
		const struct dr_rm_service *x = &m->sv[v];
		size_t notrec =
		    x->verdicts[DR_RM_NOTREC] + x->verdicts[DR_RM_FAILED];

		if (!x->scoped)
			continue;
		dr_doc_row_begin(d);
		cell(c, NULL, x->name);
		snprintf(a, sizeof(a), "%d", x->tier);
		cell(c, NULL, a);
		cell(c, NULL, dr_rm_target(x->rto_ms, a, sizeof(a)));
		count_cell(c, NULL, x->ninst);
		if (x->verdicts[DR_RM_NORTO]) {
			snprintf(b, sizeof(b), "%zu (%zu without an RTO)",
			         x->verdicts[DR_RM_MET] +
			             x->verdicts[DR_RM_NORTO],
			         x->verdicts[DR_RM_NORTO]);
			cell(c, NULL, b);
		} else {
			count_cell(c, "r-met", x->verdicts[DR_RM_MET]);
		}
		count_cell(c, "r-missed", x->verdicts[DR_RM_MISSED]);
		if (x->verdicts[DR_RM_FAILED]) {
			snprintf(b, sizeof(b), "%zu (%zu failed)", notrec,
			         x->verdicts[DR_RM_FAILED]);
			cell(c, "r-not", b);
		} else {
			count_cell(c, "r-not", notrec);
		}
		snprintf(b, sizeof(b), "+%s",
		         dr_rm_elapsed(m, x->rec_min, a, sizeof(a)));
		cell(c, NULL, x->rec_min >= 0 ? b : "-");
		snprintf(b, sizeof(b), "+%s",
		         dr_rm_elapsed(m, x->rec_max, a, sizeof(a)));
		cell(c, NULL, x->rec_max >= 0 ? b : "-");
		if (m->any_rp)
			count_cell(c, "r-missed", x->rpo_missed);
		dr_doc_row_end(d);
	}
	dr_doc_table_end(d);
}

/* The colours of the grid, HTML only. */
static void
grid_legend(struct ctx *c)
{
	dr_doc_raw(c->d,
	           "<div class=\"legend\"><span><span class=\"sw g-met\">"
	           "</span>met its RTO</span><span><span class=\"sw "
	           "g-norto\"></span>recovered, no RTO</span><span><span "
	           "class=\"sw g-missed\"></span>recovered late</span><span>"
	           "<span class=\"sw g-failed\"></span>failed</span><span>"
	           "<span class=\"sw g-notrec\"></span>not recovered (not "
	           "run to the end)</span></div>\n",
	           NULL);
}

static void
write_recovery(struct ctx *c)
{
	const struct dr_rm *m = c->m;
	size_t i, nscoped = 0;
	bool global = false;

	dr_doc_heading(c->d, 2, NULL, NULL, "Recovery by service");
	if (m->ns == 0) {
		dr_doc_p(c->d, NULL, "No services in the report.");
		return;
	}
	for (i = 0; i < m->ns; i++)
		if (m->s[i].tenant == NULL)
			global = true;
	for (i = 0; i < m->nsv; i++)
		if (m->sv[i].scoped)
			nscoped++;
	if (global) {
		dr_doc_heading(c->d, 3, NULL, NULL, "Global services");
		svc_table(c, NULL);
	}
	if (nscoped == 0)
		return;
	dr_doc_heading(c->d, 3, NULL, NULL, "Tenant services");
	write_services(c);

	dr_doc_heading(c->d, 2, "by-tenant", NULL, "Recovery by tenant");
	dr_doc_p_begin(c->d, NULL);
	dr_doc_textf(c->d,
	             "%zu tenant%s in priority order, one column per service: "
	             "when it was recovered, elapsed since the run started, "
	             "against its RTO.",
	             m->ntn, m->ntn == 1 ? "" : "s");
	if (m->any_rp)
		dr_doc_text(c->d, " Data lost to the restore point below it.");
	dr_doc_p_end(c->d);
	if (c->html)
		grid_legend(c);
	write_grid(c);
}

/* ---- against the previous run ---------------------------------------- */

static void
cmp_cell(struct ctx *c, enum cmp k, int64_t delta)
{
	static const struct {
		const char *cls, *text;
		bool by; /* followed by the difference */
	} v[CMP_N] = {
	    [CMP_NEW] = {"r-none", "new", false},
	    [CMP_SAME] = {"r-none", "same", false},
	    [CMP_FASTER] = {"r-met", "faster by ", true},
	    [CMP_SLOWER] = {"r-missed", "slower by ", true},
	    [CMP_NOTREC] = {"r-not", "not recovered now", false},
	    [CMP_RECNOW] = {"r-met", "recovered now, not before", false},
	    [CMP_UNKNOWN] = {"r-none", "?", false},
	};
	char a[32], b[64];

	if (k >= CMP_N)
		k = CMP_UNKNOWN;
	snprintf(b, sizeof(b), "%s%s", v[k].text,
	         v[k].by
	             ? dr_rm_duration(delta < 0 ? -delta : delta, a, sizeof(a))
	             : "");
	cell(c, v[k].cls, b);
}

static void
recovery_cell(struct ctx *c, bool recovered, int64_t ms)
{
	char a[32];

	if (!recovered)
		cell(c, NULL, "not recovered");
	else
		cell(c, NULL, ms >= 0 ? dr_rm_duration(ms, a, sizeof(a)) : "?");
}

/* A row of the comparison: an instance now, and before. */
static void
cmp_row(struct ctx *c, const struct dr_rm_svc *s)
{
	const struct dr_rm_prev *p = prev_of(c->m, s);
	int64_t delta;
	enum cmp k = compare(c->m, s, &delta);

	dr_doc_row_begin(c->d);
	cell(c, NULL, s->service);
	cell(c, NULL, s->tenant);
	recovery_cell(c, s->recovered, s->recovery_ms);
	if (p)
		recovery_cell(c, p->recovery_ms >= 0, p->recovery_ms);
	else
		cell(c, "r-none", DASH);
	cmp_cell(c, k, delta);
	dr_doc_row_end(c->d);
}

/*
 * HTML, at scale: the comparison per service, then only the instances
 * recovered before and not now, up to PREV_ROWS_MAX; report.md has them
 * all.
 */
static void
previous_by_service(struct ctx *c)
{
	static const char *const head[] = {
	    "Service",           "Faster",       "Slower", "Same", "New",
	    "Not recovered now", "Recovered now"};
	static const char *const rhead[] = {"Service", "Tenant", "This run",
	                                    "Previous", "Change"};
	const struct dr_rm *m = c->m;
	size_t(*k)[CMP_N] = dr_xcalloc(m->nsv + 1, sizeof(*k));
	size_t i, v, gone = 0, lost = 0, shown = 0;
	int64_t delta;

	for (i = 0; i < m->ns; i++) {
		enum cmp x = compare(m, &m->s[i], &delta);
		k[m->s[i].sv][x]++;
		if (x == CMP_NOTREC && prev_of(m, &m->s[i])->recovery_ms >= 0)
			lost++;
	}
	for (i = 0; i < m->np; i++)
		if (m->p[i].service && !m->p[i].matched)
			gone++;
	dr_doc_table_begin(c->d, "cmpsvc", 7, DR_DOC_THEAD);
	dr_doc_table_head(c->d, head);
	for (v = 0; v < m->nsv; v++) {
		if (m->sv[v].ninst == 0)
			continue;
		dr_doc_row_begin(c->d);
		cell(c, NULL, m->sv[v].name);
		count_cell(c, "r-met", k[v][CMP_FASTER]);
		count_cell(c, "r-missed", k[v][CMP_SLOWER]);
		count_cell(c, NULL, k[v][CMP_SAME]);
		count_cell(c, NULL, k[v][CMP_NEW]);
		count_cell(c, "r-not", k[v][CMP_NOTREC]);
		count_cell(c, "r-met", k[v][CMP_RECNOW]);
		dr_doc_row_end(c->d);
	}
	dr_doc_table_end(c->d);
	if (gone) {
		dr_doc_p_begin(c->d, NULL);
		dr_doc_textf(c->d,
		             "%zu service instances of the previous %s are not "
		             "in this one (listed in report.md).",
		             gone, prev_word(m));
		dr_doc_p_end(c->d);
	}
	if (lost) {
		dr_doc_heading_begin(c->d, 3, NULL, NULL);
		dr_doc_textf(c->d,
		             "Recovered in the previous %s, not now (%zu)",
		             prev_word(m), lost);
		dr_doc_heading_end(c->d);
		dr_doc_table_begin(c->d, "cmp", 5, DR_DOC_THEAD);
		dr_doc_table_head(c->d, rhead);
		for (i = 0; i < m->ns && shown < PREV_ROWS_MAX; i++) {
			if (compare(m, &m->s[i], &delta) != CMP_NOTREC ||
			    prev_of(m, &m->s[i])->recovery_ms < 0)
				continue;
			cmp_row(c, &m->s[i]);
			shown++;
		}
		dr_doc_table_end(c->d);
		if (shown < lost) {
			dr_doc_p_begin(c->d, "small");
			dr_doc_textf(c->d,
			             "%zu more in report.md and report.json.",
			             lost - shown);
			dr_doc_p_end(c->d);
		}
	}
	free(k);
}

static void
write_previous(struct ctx *c)
{
	static const char *const head[] = {"Service", "Tenant", "This run",
	                                   "Previous", "Change"};
	const struct dr_rm *m = c->m;
	struct dr_doc *d = c->d;
	char out[64], dur[32], *title;
	size_t i;

	if (!m->has_prev)
		return;
	title = dr_xasprintf("Compared with the previous %s", prev_word(m));
	dr_doc_heading(d, 2, NULL, NULL, title);
	free(title);
	dr_doc_p_begin(d, NULL);
	dr_doc_textf(d, "Previous %s: run ", prev_word(m));
	code(c, m->prev_run_id);
	dr_doc_text(d, ", ");
	dr_doc_bold(d, upper(m->prev_state, out, sizeof(out)));
	if (m->prev_duration_ms >= 0)
		dr_doc_textf(
		    d, " in %s",
		    dr_rm_duration(m->prev_duration_ms, dur, sizeof(dur)));
	dr_doc_text(d, ". Recovery times are since the run started.");
	dr_doc_p_end(d);
	if (m->ns == 0 && m->np == 0)
		return;
	if (c->html && m->ns + m->np > PREV_ROWS_MAX) {
		previous_by_service(c);
		return;
	}
	dr_doc_table_begin(d, "cmp", 5, DR_DOC_THEAD);
	dr_doc_table_head(d, head);
	for (i = 0; i < m->ns; i++)
		cmp_row(c, &m->s[i]);
	for (i = 0; i < m->np; i++) {
		const struct dr_rm_prev *p = &m->p[i];

		if (p->service == NULL || p->matched)
			continue;
		dr_doc_row_begin(d);
		cell(c, NULL, p->service);
		cell(c, NULL, p->tenant);
		cell(c, "r-none", DASH);
		recovery_cell(c, p->recovery_ms >= 0, p->recovery_ms);
		cell(c, "r-none", "not in this run");
		dr_doc_row_end(d);
	}
	dr_doc_table_end(d);
}

/* ---- failures --------------------------------------------------------- */

/* The restore point a copy used: "path (taken 2026-11-20 22:00:00 UTC)". */
static char *
backup_text(const struct dr_rm_task *t)
{
	char b[64];

	if (t->backup_at)
		return dr_xasprintf(
		    "%s (taken %s)", t->backup,
		    dr_rm_wall(t->backup_at, false, b, sizeof(b)));
	return dr_xstrdup(t->backup);
}

static char *
host_text(const struct dr_rm_task *t)
{
	return dr_xasprintf("%s%s%s%s%s", t->site ? t->site : "",
	                    t->site ? "/" : "",
	                    t->host ? t->host : "controller",
	                    t->src ? " from " : "", t->src ? t->src : "");
}

static char *
exit_text(const struct dr_rm_task *t)
{
	if (t->has_exit && t->signal)
		return dr_xasprintf("status %lld, signal %s", t->exit_status,
		                    t->signal);
	if (t->has_exit)
		return dr_xasprintf("status %lld", t->exit_status);
	if (t->signal)
		return dr_xasprintf("signal %s", t->signal);
	return dr_xstrdup("none");
}

/* A fact of a failure: HTML, a row of its table; Markdown, an item. */
static void
kv(struct ctx *c, const char *k, const char *v)
{
	if (c->html) {
		dr_doc_row_begin(c->d);
		cell(c, NULL, k);
		cell(c, NULL, v);
		dr_doc_row_end(c->d);
		return;
	}
	dr_doc_item_begin(c->d);
	dr_doc_bold_begin(c->d);
	dr_doc_text(c->d, k);
	dr_doc_text(c->d, ":");
	dr_doc_bold_end(c->d);
	dr_doc_text(c->d, " ");
	dr_doc_text(c->d, v && *v ? v : "-");
	dr_doc_item_end(c->d);
}

static void
failure(struct ctx *c, const struct dr_rm_task *t)
{
	const char *st = dr_rm_state_class(t->state);
	struct dr_doc *d = c->d;
	char *host = host_text(t), *ex = exit_text(t);
	char a[32], b[32], dur[32], att[32], cls[48];
	char *when;

	if (t->attempts >= 0)
		snprintf(att, sizeof(att), "%lld", t->attempts);
	else
		snprintf(att, sizeof(att), "-");
	if (t->t0 >= 0)
		when = dr_xasprintf(
		    "+%s \xe2\x86\x92 +%s (%s)",
		    dr_rm_elapsed(c->m, t->t0, a, 32),
		    t->t1 >= 0 ? dr_rm_elapsed(c->m, t->t1, b, 32) : "?",
		    t->t1 >= 0 ? dr_rm_duration(t->t1 - t->t0, dur, 32) : "?");
	else
		when = dr_xstrdup("not started");
	dr_doc_htmlf(d, "<div class=\"fail st-%s\">\n", st);
	dr_doc_heading_begin(d, 3, NULL, NULL);
	if (c->html) {
		snprintf(cls, sizeof(cls), "tag s-%s", st);
		dr_doc_span(d, cls, t->state);
		dr_doc_text(d, t->key ? t->key : "?");
	} else {
		dr_doc_text(d, t->key ? t->key : "?");
		dr_doc_text(d, " \xe2\x80\x94 ");
		dr_doc_text(d, t->state);
	}
	dr_doc_heading_end(d);
	if (c->html)
		dr_doc_table_begin(d, NULL, 2, 0);
	else
		dr_doc_list_begin(d, false);
	kv(c, "Host", host);
	kv(c, "Attempts", att);
	kv(c, "Exit", ex);
	kv(c, "When", when);
	kv(c, "Message", t->message);
	if (t->backup) {
		char *bk = backup_text(t);
		kv(c, "Backup", bk);
		free(bk);
	}
	if (c->html)
		dr_doc_table_end(d);
	else
		dr_doc_list_end(d);
	if (t->tail && *t->tail) {
		if (!c->html)
			dr_doc_p(d, NULL, "Output tail:");
		output(c, t->tail);
	}
	dr_doc_raw(d, "</div>\n", NULL);
	free(host);
	free(ex);
	free(when);
}

/* A cancelled task that never ran and has nothing more to say. */
static bool
quiet_cancel(const struct dr_rm_task *t)
{
	return dr_rm_same(t->state, "cancelled") && t->t0 < 0 &&
	       (t->tail == NULL || *t->tail == '\0') && t->attempts <= 0;
}

/*
 * Many tasks cancelled before they started (a run stopped early, with a
 * thousand tenants still to go): one row per service rather than per task;
 * each is in the task log.
 */
static void
quiet_by_service(struct ctx *c)
{
	static const char *const head[] = {"Service", "Tasks", "Tenants",
	                                   "Message"};
	const struct dr_rm *m = c->m;
	size_t *n = dr_xcalloc(m->nsv + 1, sizeof(*n));
	size_t *ntn = dr_xcalloc(m->nsv + 1, sizeof(*ntn));
	const char **msg = dr_xcalloc(m->nsv + 1, sizeof(*msg));
	size_t last = SIZE_MAX, k, v;
	char a[32], b[32];

	for (k = 0; k < m->nt; k++) {
		const struct dr_rm_task *t = &m->t[m->order[k]];
		const struct dr_rm_group *g = &m->g[t->group];

		if (!is_failure(t) || !quiet_cancel(t))
			continue;
		if (n[g->sv]++ == 0)
			msg[g->sv] = t->message;
		if (t->group != last && g->tenant)
			ntn[g->sv]++;
		last = t->group;
	}
	dr_doc_p(c->d, NULL,
	         c->html ? "By service; every task is in the task log."
	                 : "By service; every task is in the timeline.");
	dr_doc_table_begin(c->d, "cancelled", 4, DR_DOC_THEAD);
	dr_doc_table_head(c->d, head);
	for (v = 0; v < m->nsv; v++) {
		if (n[v] == 0)
			continue;
		snprintf(a, sizeof(a), "%zu", n[v]);
		snprintf(b, sizeof(b), "%zu", ntn[v]);
		dr_doc_row_begin(c->d);
		cell(c, NULL, m->sv[v].name);
		cell(c, NULL, a);
		cell(c, NULL, m->sv[v].scoped ? b : "global");
		cell(c, NULL, msg[v]);
		dr_doc_row_end(c->d);
	}
	dr_doc_table_end(c->d);
	free(n);
	free(ntn);
	free(msg);
}

static void
write_failures(struct ctx *c)
{
	static const char *const head[] = {"Task", "Host", "Message"};
	const struct dr_rm *m = c->m;
	struct dr_doc *d = c->d;
	size_t k, nfail = 0, nquiet = 0;

	dr_doc_heading(d, 2, NULL, NULL, "Failures");
	for (k = 0; k < m->nt; k++) {
		const struct dr_rm_task *t = &m->t[m->order[k]];
		if (!is_failure(t))
			continue;
		if (quiet_cancel(t))
			nquiet++;
		else
			nfail++;
	}
	if (nfail + nquiet == 0) {
		dr_doc_p(d, NULL, "No task failed or was cancelled.");
		return;
	}
	for (k = 0; k < m->nt; k++) {
		const struct dr_rm_task *t = &m->t[m->order[k]];
		if (is_failure(t) && !quiet_cancel(t))
			failure(c, t);
	}
	if (nquiet == 0)
		return;
	dr_doc_heading_begin(d, 3, NULL, NULL);
	dr_doc_textf(d, "Cancelled before they started (%zu)", nquiet);
	dr_doc_heading_end(d);
	if (nquiet > QUIET_MAX) {
		quiet_by_service(c);
		return;
	}
	dr_doc_table_begin(d, "cancelled", 3, DR_DOC_THEAD);
	dr_doc_table_head(d, head);
	for (k = 0; k < m->nt; k++) {
		const struct dr_rm_task *t = &m->t[m->order[k]];
		char *host;

		if (!is_failure(t) || !quiet_cancel(t))
			continue;
		host = host_text(t);
		dr_doc_row_begin(d);
		cell(c, NULL, t->key);
		cell(c, NULL, host);
		cell(c, NULL, t->message);
		dr_doc_row_end(d);
		free(host);
	}
	dr_doc_table_end(d);
}

/* ---- task log (the Markdown timeline, the HTML appendix) -------------- */

/* The message, and the restore point a copy used. */
static void
message_cell(struct ctx *c, const struct dr_rm_task *t)
{
	struct dr_doc *d = c->d;
	char b[64];

	if (t->backup == NULL) {
		cell(c, NULL, t->message);
		return;
	}
	dr_doc_cell_begin(d, NULL);
	if (t->message && *t->message) {
		dr_doc_text(d, t->message);
		dr_doc_raw(d, "<br>", " \xc2\xb7 ");
	}
	dr_doc_raw(d, "<span class=\"small\">backup ", "backup ");
	dr_doc_code(d, t->backup);
	if (t->backup_at) {
		dr_doc_text(d, " (");
		dr_doc_text(d, dr_rm_wall(t->backup_at, false, b, sizeof(b)));
		dr_doc_text(d, ")");
	}
	dr_doc_raw(d, "</span>", NULL);
	dr_doc_cell_end(d);
}

/* A row of the task log. */
static void
log_row(struct ctx *c, const struct dr_rm_task *t)
{
	const struct dr_rm *m = c->m;
	struct dr_doc *d = c->d;
	char a[32], b[32], dur[32], n[32], sw[48];
	char *host = host_text(t);

	dr_doc_row_begin(d);
	cell(c, NULL, t->t0 >= 0 ? dr_rm_elapsed(m, t->t0, a, sizeof(a)) : "-");
	cell(c, NULL, t->t1 >= 0 ? dr_rm_elapsed(m, t->t1, b, sizeof(b)) : "-");
	cell(c, NULL,
	     t->t0 >= 0 && t->t1 >= 0
	         ? dr_rm_duration(t->t1 - t->t0, dur, sizeof(dur))
	         : "-");
	cell(c, NULL, t->service);
	cell(c, NULL, t->tenant);
	cell(c, NULL, t->step);
	cell(c, NULL, host);
	snprintf(sw, sizeof(sw), "sw s-%s", dr_rm_state_class(t->state));
	dr_doc_cell_begin(d, NULL);
	dr_doc_span(d, sw, NULL);
	dr_doc_text(d, t->state && *t->state ? t->state : "-");
	dr_doc_cell_end(d);
	if (t->attempts >= 0)
		snprintf(n, sizeof(n), "%lld", t->attempts);
	else
		snprintf(n, sizeof(n), "-");
	cell(c, NULL, n);
	message_cell(c, t);
	dr_doc_row_end(d);
	free(host);
}

static void
write_task_log(struct ctx *c)
{
	static const char *const head[] = {
	    "Start", "End",  "Duration", "Service",  "Tenant",
	    "Step",  "Host", "State",    "Attempts", "Message"};
	const struct dr_rm *m = c->m;
	struct dr_doc *d = c->d;
	char tier[32];
	int last_tier = INT32_MIN;
	size_t k;

	dr_doc_raw(d, "<section class=\"log\">\n", NULL);
	dr_doc_heading(d, 2, NULL, NULL, c->html ? "Task log" : "Timeline");
	if (!c->html)
		dr_doc_p(d, NULL, "Times are elapsed since the run started.");
	if (m->nt == 0)
		dr_doc_p(d, NULL, "No tasks.");
	else if (c->html)
		detail_summary(c, "Every task");
	for (k = 0; k < m->nt; k++) {
		const struct dr_rm_task *t = &m->t[m->order[k]];
		const struct dr_rm_group *g = &m->g[t->group];

		if (c->html && !c->gshow[t->group])
			continue;
		if (g->tier != last_tier) {
			if (last_tier != INT32_MIN)
				dr_doc_table_end(d);
			snprintf(tier, sizeof(tier), "Tier %d", g->tier);
			dr_doc_heading(d, 3, NULL, NULL, tier);
			dr_doc_table_begin(d, "log", 10, DR_DOC_THEAD);
			dr_doc_table_head(d, head);
			last_tier = g->tier;
		}
		log_row(c, t);
	}
	if (last_tier != INT32_MIN)
		dr_doc_table_end(d);
	if (m->nt > 0)
		dr_doc_raw(d, "</details>\n", NULL);
	dr_doc_raw(d, "</section>\n", NULL);
}

/* ---- decisions: who approved or denied each gate (team.h) -------------- */

static void
write_decisions(struct ctx *c)
{
	static const char *const head[] = {"gate", "state", "decision"};
	const struct dr_rm *m = c->m;
	struct dr_doc *d = c->d;
	size_t k, n = 0;

	for (k = 0; k < m->nt; k++)
		if (m->t[k].action && strcmp(m->t[k].action, "approve") == 0)
			n++;
	if (n == 0)
		return;
	dr_doc_heading(d, 2, "decisions", NULL, "Decisions at gates");
	dr_doc_p(d, NULL,
	         "Who approved or denied each gate, as the kernel named them "
	         "(drover audit show RUN has each record with its time and "
	         "comment).");
	dr_doc_table_begin(d, "decisions", 3, DR_DOC_THEAD);
	dr_doc_table_head(d, head);
	for (k = 0; k < m->nt; k++) {
		const struct dr_rm_task *t = &m->t[m->order[k]];

		if (t->action == NULL || strcmp(t->action, "approve") != 0)
			continue;
		dr_doc_row_begin(d);
		cell(c, NULL, t->key);
		cell(c, NULL, t->state);
		cell(c, NULL, t->message);
		dr_doc_row_end(d);
	}
	dr_doc_table_end(d);
}

int
dr_render_report_model(const struct dr_rm *m, enum dr_render_format fmt,
                       FILE *out)
{
	struct ctx c;
	char *title;
	int r;

	if (out == NULL || (fmt != DR_RENDER_MD && fmt != DR_RENDER_HTML))
		return DR_EINVAL;
	memset(&c, 0, sizeof(c));
	c.m = m;
	c.html = fmt == DR_RENDER_HTML;
	pick_detail(&c);
	c.d = dr_doc_new(out, c.html ? DR_DOC_HTML : DR_DOC_MD);
	title = dr_xasprintf("Run report: %s %s", m->plan ? m->plan : "plan",
	                     m->run_id ? m->run_id : "");
	dr_doc_begin(c.d, title, NULL, css);
	write_header(&c);
	write_summary(&c);
	if (c.html)
		write_timeline(&c);
	write_recovery(&c);
	dr_report_points(c.d, m);
	write_previous(&c);
	write_failures(&c);
	write_decisions(&c);
	write_task_log(&c);
	r = dr_doc_end(c.d);
	dr_doc_free(c.d);
	free(title);
	free(c.tshow);
	free(c.gshow);
	return r;
}

int
dr_render_report(const json_t *report, enum dr_render_format fmt, FILE *out)
{
	struct dr_rm m;
	int r;

	if (!json_is_object(report) || out == NULL ||
	    (fmt != DR_RENDER_MD && fmt != DR_RENDER_HTML))
		return DR_EINVAL;
	dr_rm_load(report, &m);
	r = dr_render_report_model(&m, fmt, out);
	dr_rm_free(&m);
	return r;
}
