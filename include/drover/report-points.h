/*
 * report-points.h: the "Restore points" section of the run report: per
 * tenant and service (each copy task from a restore-point set), the point
 * used and when it was taken, every point passed over and why (checksum,
 * infected with the finding, after the compromise time), and the data-loss
 * window. Read from the report model (report-model.h), like the rest.
 */
#ifndef DROVER_REPORT_POINTS_H
#define DROVER_REPORT_POINTS_H

#include "drover/doc.h"
#include "drover/report-model.h"

/* Writes the section when a task of the report m is a set copy; else
 * nothing. A task's service instance (its data-loss window) is found
 * through the model's groups, not by a search of the services per task. */
void dr_report_points(struct dr_doc *d, const struct dr_rm *m);

#endif
