/*
 * report-doc.h: the human-readable run report, in Markdown or one
 * self-contained HTML file, for the incident commander after the run and for
 * the post-incident review.
 *
 * It reads the report only (report.json loaded with json_load_file(), a
 * json_t built in memory, or the model the run's end reads task by task;
 * see report-model.h), never the live loop, the plan or the journal: a
 * report renders the same years later. Missing or null fields are shown as
 * unknown rather than rejected, so that the report of an interrupted or
 * older run still renders. It is written through the document writer
 * (doc.h), so every string from the report goes through the one escaping
 * policy; the HTML has no script and loads nothing (inline CSS and SVG only)
 * and prints on A4 landscape.
 *
 * Content, in order: header (plan, run id, mode, direction, outcome, times,
 * user@host, command line, plan sha256); summary (tasks by state, services
 * against their RTO: met, missed, not recovered); timeline (HTML: a Gantt
 * SVG with one bar per service and a dashed deadline per service RTO, then
 * in a collapsible section one bar per task of the global services and of
 * at most 20 tenants, the worst first, see timeline.h; Markdown: one table
 * per tier); recovery by service (global services one row each, tenant
 * services each over its tenants); recovery by tenant (a grid: a row per
 * tenant in priority order, a column per tenant service, each cell the
 * recovery time and verdict, coloured in HTML); the previous run (per
 * instance; HTML at scale, per service); failures (failed, indeterminate
 * and cancelled tasks with host, attempts, exit status or signal, message
 * and the output "tail" when the task has one; tasks cancelled before they
 * started, per service when they are many); the task log (HTML: the tasks
 * of the timeline's detail; Markdown, as the timeline: every task).
 *
 * At a thousand tenants the HTML stays a document to read and print (about
 * a page per hundred tenants), and the Markdown keeps every row.
 */
#ifndef DROVER_RENDER_H
#define DROVER_RENDER_H

#include <jansson.h>
#include <stdio.h>

enum dr_render_format {
	DR_RENDER_MD,  /* GitHub-flavoured Markdown */
	DR_RENDER_HTML /* one self-contained file, no script, A4 landscape */
};

/*
 * Writes the report to out in fmt. The report is borrowed and not modified.
 * Returns 0, DR_EINVAL (report is not a JSON object, or fmt is unknown) or
 * DR_EIO (a write to out failed; out may hold a partial document).
 */
int dr_render_report(const json_t *report, enum dr_render_format fmt,
                     FILE *out);

struct dr_rm;

/* The same from a report already read into a model (report-model.h): the
 * run's end writes the Markdown and the HTML from one. */
int dr_render_report_model(const struct dr_rm *m, enum dr_render_format fmt,
                           FILE *out);

#endif
