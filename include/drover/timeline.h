/*
 * timeline.h: the run report's timeline, a Gantt chart in SVG: one bar per
 * task, coloured by its state and placed by its start and end, in rows
 * grouped by tier, service and tenant, with a dashed deadline per service
 * RTO (deadlines after the run's end in a zone "not to scale").
 *
 * A long run is cut between service instances into parts of one A4
 * landscape page each, every part with its own axis and deadlines. The
 * bars' classes ("bar s-STATE") and the chart's ("svg.gantt ...") are the
 * report stylesheet's; each bar has a <title> tooltip with its details.
 */
#ifndef DROVER_TIMELINE_H
#define DROVER_TIMELINE_H

#include "drover/doc.h"
#include "drover/report-model.h"

/*
 * Writes the timeline of the report m (borrowed) to the HTML document d,
 * one <svg> per part; nothing when m has no tasks or d is Markdown (which
 * shows the timeline as tables). Write errors are d's (dr_doc_end()).
 */
void dr_timeline_svg(struct dr_doc *d, const struct dr_rm *m);

#endif
