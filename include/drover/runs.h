/*
 * runs.h: the state directory and the index of the runs in it.
 *
 * A run lives in STATE/runs/RUN/ (journal, audit, logs/, report.*). Run
 * ids begin with their UTC start time (20261201T210310Z-...), so their
 * order is the order the runs started in. Every command that looks at
 * past runs (status, history, the previous-drill comparison, check's
 * estimate) lists them here.
 */
#ifndef DROVER_RUNS_H
#define DROVER_RUNS_H

#include <stddef.h>
#include <stdint.h>

struct json_t;

/* A team's state directory, used when it exists and is setgid (README
 * "Shared state"). */
#define DR_TEAM_STATE_DIR "/var/lib/drover"

/* The state directory: $DROVER_STATE_DIR, else DR_TEAM_STATE_DIR when it
 * is set up, else $XDG_STATE_HOME/drover or ~/.local/state/drover. Caller
 * frees. */
char *dr_state_dir(void);

/* The runs found, newest first. */
struct dr_runs {
	char **ids;
	size_t n;
};

/* Lists STATE/runs (none: an empty list). Free with dr_runs_free. */
void dr_runs_list(const char *state_dir, struct dr_runs *out);
void dr_runs_free(struct dr_runs *r);

/* "STATE/runs/ID"; caller frees. */
char *dr_runs_dir(const char *state_dir, const char *id);

/* The run's report.json, or NULL when it has none (yet). Caller decrefs. */
struct json_t *dr_runs_report(const char *state_dir, const char *id);

/*
 * The median duration of the last runs (at most 20) of plan in mode that
 * succeeded, from their reports. Sets *nruns to how many were found (0:
 * *median_ms is 0).
 */
void dr_runs_estimate(const char *state_dir, const char *plan, const char *mode,
                      uint64_t *median_ms, size_t *nruns);

#endif
