/*
 * metrics.h: a run's outcome as a Prometheus textfile-collector file
 * (node_exporter --collector.textfile.directory), one file per plan, replaced
 * at the end of every run.
 *
 * Every family is a gauge named PREFIX_..., PREFIX being drover_drill for a
 * drill and drover_failover for a failover (the report's "mode"):
 *
 *   PREFIX_last_run_timestamp_seconds{plan}       end of the run (Unix time)
 *   PREFIX_last_run_info{plan,run,to,state}       1; names the run
 *   PREFIX_last_success{plan}                     1 succeeded, 0 otherwise
 *   PREFIX_last_success_timestamp_seconds{plan}   end of the last successful
 *                                                 run: this one, or carried
 *                                                 over from the file it
 *                                                 replaces; 0 when none known
 *   PREFIX_duration_seconds{plan}
 *   PREFIX_tasks{plan,state}                      tasks per final state (every
 *                                                 known state, 0 included)
 *   PREFIX_service_recovered{plan,service,tenant} 1/0
 *   PREFIX_service_recovery_seconds{...}          only for recovered services
 *   PREFIX_service_rto_seconds{...}               only for services with an RTO
 *   PREFIX_service_rto_met{...}                   1/0 (1 when no RTO and
 *                                                 recovered)
 *
 * tenant is "" for global services, so every series of a family carries the
 * same label names. HELP texts do not depend on the plan, so the files of
 * several plans merge cleanly in one collector directory. No sample carries
 * a timestamp (the textfile collector refuses them).
 */
#ifndef DROVER_METRICS_H
#define DROVER_METRICS_H

#include <stddef.h>

struct json_t;

/*
 * Renders the metrics of a report (the object of report.json) into *out
 * (malloc'd, ends with a newline). previous is the text of the file being
 * replaced, or NULL: PREFIX_last_success_timestamp_seconds is carried over
 * from it when this run did not succeed. Returns 0, or DR_EINVAL when the
 * report has no plan name or an unknown mode.
 */
int dr_metrics_render(const struct json_t *report, const char *previous,
                      char **out);

/*
 * Writes the metrics of a report to path, atomically (temporary file in the
 * same directory, fsync, rename, directory fsync). Returns 0, DR_EINVAL
 * (see dr_metrics_render) or DR_EIO.
 */
int dr_metrics_write(const struct json_t *report, const char *path);

/*
 * The same for a report whose tasks are not in it (the run's end writes
 * them one at a time, never as one tree): states[] holds each task's final
 * state, in the report's order; report's own "tasks" are not read.
 */
int dr_metrics_write_states(const struct json_t *report,
                            const char *const *states, size_t nstates,
                            const char *path);

#endif
