/*
 * timeline.h: the run report's timeline, Gantt charts in SVG.
 *
 * Per service, the default: one row per service, its bar from its first
 * task's start to its last task's end, coloured by its worst task state,
 * with a red tick where a task failed; legible at a thousand tenants.
 * Per task, the detail: one bar per task, coloured by its state and placed
 * by its start and end, in rows grouped by tier, service and tenant, for
 * the service instances the caller picks. Both have a dashed deadline per
 * service RTO (deadlines after the run's end in a zone "not to scale").
 *
 * A long chart is cut (between service instances) into parts of one A4
 * landscape page each, every part with its own axis and deadlines. The
 * bars' classes ("bar s-STATE") and the chart's ("svg.gantt ...") are the
 * report stylesheet's; each bar has a <title> tooltip with its details.
 */
#ifndef DROVER_TIMELINE_H
#define DROVER_TIMELINE_H

#include <stdbool.h>

#include "drover/doc.h"
#include "drover/report-model.h"

/*
 * Writes the per-service timeline of the report m (borrowed) to the HTML
 * document d, one <svg> per part; nothing when m has no tasks or d is
 * Markdown (which shows the timeline as tables). Write errors are d's
 * (dr_doc_end()).
 */
void dr_timeline_svg(struct dr_doc *d, const struct dr_rm *m);

/*
 * Writes the per-task timeline of the groups g of m for which show[g] is
 * true (show: m->ng entries, borrowed; NULL shows every group), the same
 * way.
 */
void dr_timeline_detail_svg(struct dr_doc *d, const struct dr_rm *m,
                            const bool *show);

#endif
