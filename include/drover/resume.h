/*
 * resume.h: a run read back from its journal, turned into a graph again,
 * and the resume policy: which tasks run again.
 *
 * Succeeded and refused tasks never run again; a task skipped because its
 * host was unreachable (unreachable = continue) stays skipped. A task whose
 * outcome is unknown (it was running when the controller stopped, or it is
 * indeterminate) runs again when its step is idempotent or readonly, or
 * when the operator decided "rerun"; it counts as done when the operator
 * decided "done"; otherwise it stays indeterminate and the operator must
 * decide. Every other task (failed, cancelled, skipped, never started)
 * runs again.
 */
#ifndef DROVER_RESUME_H
#define DROVER_RESUME_H

#include <stdbool.h>
#include <stddef.h>

#include "drover/graph.h"
#include "drover/plan.h"
#include "drover/records.h"
#include "drover/sched.h"

/*
 * Gives plan the hosts the run's provision step created (its last
 * inventory record), so that expansion finds them, and writes their pinned
 * keys to known_hosts (the run's own file, fsynced; NULL: not written, for
 * reading a run back). Returns 0 (also when there is no inventory), or
 * DR_EPLAN / DR_EIO with *why (caller frees).
 */
int dr_resume_provide(struct dr_plan *plan, const struct dr_rs_run *rs,
                      const char *known_hosts, char **why);

/*
 * Expands plan as the run rs did (its direction, mode and --only).
 * Returns 0 and sets *g, or DR_EPLAN with diagnostics in d.
 */
int dr_resume_expand(const struct dr_plan *plan, const struct dr_rs_run *rs,
                     struct dr_diags *d, struct dr_graph **g);

/*
 * Loads the run's plan (rs->plan_file) and expands it as the run did; fills
 * one run record per task from the journal (tasks never started stay
 * pending). Returns 0, or DR_EPLAN with *why (malloc'd); *changed says
 * whether the plan file changed since the run started. Caller frees with
 * dr_plan_free, dr_graph_free, free(*runs); the records' strings are
 * borrowed from rs.
 */
int dr_resume_rebuild(const struct dr_rs_run *rs, struct dr_plan **plan,
                      struct dr_graph **g, struct dr_task_run **runs,
                      bool *changed, char **why);

/* True when the state the journal last saw leaves the outcome unknown. */
bool dr_resume_unknown(enum dr_task_state st);

/*
 * Fills presets (g->ntasks entries) with the state each task starts from
 * on resume, by the policy above (the journal's decisions included).
 * Strings are borrowed from rs. Returns the number of tasks left
 * indeterminate (the operator must decide before anything runs); fn, when
 * not NULL, is told of each task run again because it is safe to.
 */
size_t dr_resume_presets(const struct dr_graph *g, const struct dr_rs_run *rs,
                         struct dr_task_run *presets,
                         void (*fn)(const struct dr_task *t, void *arg),
                         void *arg);

#endif
