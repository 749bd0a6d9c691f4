/*
 * report.h: what a run achieved, per task and per service and tenant against
 * its RTO; written as report.json at the end of every run.
 */
#ifndef DROVER_REPORT_H
#define DROVER_REPORT_H

#include <stdbool.h>
#include <stdint.h>

#include "drover/graph.h"
#include "drover/sched.h"

struct dr_run_info {
	const char *run_id;
	const char *mode; /* "failover" or "drill" */
	const char *user;
	const char *host;
	const char *command_line;
	const char *final_state; /* "succeeded", "failed", "interrupted" */
	uint64_t start_wall_ms;
	uint64_t end_wall_ms;
	uint64_t incident_ms;   /* restore points are older than this */
	uint64_t compromise_ms; /* and older than this (--clean-before, or
	                           the first point an indicator was found
	                           in; scan.h); 0: none */
};

/* One service instance (service, tenant) and its recovery. */
struct dr_recovery {
	const struct dr_service *service;
	const struct dr_tenant *tenant; /* NULL for global services */
	int tier;
	bool recovered;        /* every task succeeded (or was skipped by
	                          design: unreachable = continue, drill) */
	uint64_t recovered_ms; /* since the run started */
	uint64_t recovered_wall_ms;
	bool met;              /* recovered within the RTO (true when no RTO) */
	uint64_t backup_ms;    /* oldest restore point its copies used, or 0 */
	uint64_t data_loss_ms; /* incident - backup_ms: data lost */
	size_t ntasks;
};

/*
 * Computes the recoveries of every service instance that has tasks, in tier
 * and priority order. Caller frees *out with free().
 */
void dr_report_recoveries(const struct dr_graph *g,
                          const struct dr_task_run *runs,
                          uint64_t start_wall_ms, uint64_t incident_ms,
                          struct dr_recovery **out, size_t *n);

/*
 * Builds the report as a jansson object (runs: one per task, by id).
 * Caller owns the result; release with json_decref().
 */
struct json_t;
struct json_t *dr_report_json(const struct dr_graph *g,
                              const struct dr_task_run *runs,
                              const struct dr_run_info *info);

/*
 * Renders a report object as "json", "md" or "html" into path (atomically
 * replaced) or, when path is NULL, to stdout. Returns 0 or DR_EIO.
 */
int dr_report_render_file(const struct json_t *report, const char *format,
                          const char *path);

/*
 * The report's members but its tasks: the run, then "services". The
 * caller may add members after them (previous, attestation,
 * fencing_token) before dr_report_write_run(). Release with json_decref().
 */
struct json_t *dr_report_head(const struct dr_graph *g,
                              const struct dr_task_run *runs,
                              const struct dr_run_info *info);

/*
 * Writes report.json, report.md and report.html into run_dir, in that
 * order, calling done(arg, path, err) after each: err 0 when written, else
 * the errno of the failure. head is dr_report_head()'s (borrowed). The
 * tasks are built from their records one at a time and never held as one
 * JSON tree (at 26,000 tasks that tree was most of the controller's
 * memory); report.json is byte for byte what dr_report_json() would give,
 * and the Markdown and the HTML are rendered from one model of it.
 */
void dr_report_write_run(const struct json_t *head, const struct dr_graph *g,
                         const struct dr_task_run *runs, const char *run_dir,
                         void (*done)(void *arg, const char *path, int err),
                         void *arg);

/*
 * The report of a run rebuilt from its journal (what the journal says of
 * each task, the plan expanded again), or NULL after printing why (the
 * plan cannot be loaded). Caller owns it.
 */
struct dr_rs_run;
struct json_t *dr_report_rebuild(const struct dr_rs_run *rs);

/*
 * The three report files of a run rebuilt from its journal, as
 * dr_report_write_run() writes them. Returns 0, or -1 after printing why
 * the report cannot be rebuilt (done is then never called).
 */
int dr_report_rebuild_write(const struct dr_rs_run *rs, const char *run_dir,
                            void (*done)(void *arg, const char *path, int err),
                            void *arg);

/*
 * The newest earlier run of plan in mode under STATE/runs (older than
 * exclude_run, by run id), summarised for comparison: {run_id, state,
 * duration_ms, services: [{service, tenant, recovery_ms, rto_met}]}, or
 * NULL. Caller owns it.
 */
struct json_t *dr_report_previous(const char *state_dir, const char *plan,
                                  const char *mode, const char *exclude_run);

#endif
