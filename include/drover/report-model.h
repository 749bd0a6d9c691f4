/*
 * report-model.h: the report JSON read into plain arrays for the writers of
 * the human-readable report (report-doc.c and its timeline, timeline.c).
 *
 * Every field is checked for its type while it is copied, so that the
 * writers never touch jansson and never trust the input: a missing, null or
 * mistyped field is unknown (NULL, -1), never an error. Strings are
 * borrowed from the JSON, which must outlive the model; read task by task
 * (dr_rm_begin), the tasks' strings are copied instead.
 *
 * Times of tasks are milliseconds since the run started. Tasks belong to
 * groups, one per service instance (service, tenant) and tier, sorted by
 * tier and first start; order[] lists the tasks group by group, each
 * group's by start, which is the order every table and the timeline use.
 *
 * For a report of a thousand tenants the model also sums up per service
 * (sv[], in group order: tier, then first start) and lists the tenants
 * (tn[]) in the order of services[], which is tenant priority: the writers
 * show a grid of tenants by service and one timeline bar per service
 * instead of a table and a bar per instance.
 */
#ifndef DROVER_REPORT_MODEL_H
#define DROVER_REPORT_MODEL_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* A restore point passed over, and why. */
struct dr_rm_rej {
	const char *backup, *reason;
};

struct dr_rm_task {
	size_t idx; /* position in the report's tasks */
	const char *key, *service, *tenant, *step, *action, *site, *host;
	const char *src, *state, *message, *tail, *signal;
	const char *backup, *backup_at; /* restore-point copies only */
	bool rp;                        /* a copy from a restore-point set */
	struct dr_rm_rej *rej;          /* rp: the points passed over (nrej) */
	size_t nrej;
	int tier;
	long long attempts; /* -1 unknown */
	long long exit_status;
	bool has_exit;
	bool unreachable;
	int64_t t0, t1; /* ms since the run started; -1 unknown */
	size_t group;   /* index in groups */
};

/* A service instance and its recovery against the RTO (and RPO). */
struct dr_rm_svc {
	const char *service, *tenant, *recovered_at;
	int tier;
	int64_t rto_ms;      /* 0: no RTO */
	int64_t recovery_ms; /* -1 unknown */
	bool recovered;
	bool met;
	/* Restore points: only when the service was restored from one. */
	bool has_rp;
	const char *backup_at;
	int64_t loss_ms; /* data lost: incident - backup; -1 unknown */
	int64_t rpo_ms;  /* 0: no RPO */
	bool rpo_met;
	size_t sv;      /* index in sv */
	size_t tn;      /* index in tn, SIZE_MAX for a global service */
	size_t nfailed; /* its tasks that failed or are indeterminate */
	size_t prev;    /* its instance in p, or SIZE_MAX */
};

/* What became of a service instance, worst last. */
enum dr_rm_verdict {
	DR_RM_MET,     /* recovered within its RTO */
	DR_RM_NORTO,   /* recovered, no RTO */
	DR_RM_MISSED,  /* recovered after its RTO */
	DR_RM_NOTREC,  /* not recovered: cancelled, skipped, interrupted */
	DR_RM_FAILED,  /* not recovered: a task failed or is indeterminate */
	DR_RM_VERDICTS /* how many */
};

/* A service over all of its instances. */
struct dr_rm_service {
	const char *name;
	int tier;
	bool scoped;    /* has tenant instances: a column of the grid */
	int64_t rto_ms; /* 0: no RTO */
	size_t ninst;   /* its instances in services[] */
	size_t verdicts[DR_RM_VERDICTS];
	size_t rpo_missed;
	int64_t rec_min, rec_max; /* first and last recovery; -1 none */
	size_t ntasks;
	int64_t first, last; /* earliest task start, latest end; -1 none */
};

/* A tenant and how its services fared. */
struct dr_rm_tenant {
	const char *name;
	size_t verdicts[DR_RM_VERDICTS];
};

/* A service instance of the previous run of the plan in the same mode. */
struct dr_rm_prev {
	const char *service, *tenant;
	int64_t recovery_ms; /* -1: not recovered */
	bool matched;        /* an instance of this run is the same */
};

/* A group: one service instance (service, tenant) in one tier. */
struct dr_rm_group {
	const char *service, *tenant;
	int tier;
	size_t svc;    /* index in svcs, or SIZE_MAX */
	size_t sv;     /* index in sv */
	size_t tn;     /* index in tn, SIZE_MAX for a global service */
	size_t order;  /* before sorting */
	int64_t first; /* earliest start, INT64_MAX when none started */
	size_t ntasks;
};

struct dr_rm {
	const char *run_id, *plan, *plan_file, *sha, *mode, *to, *state;
	const char *user, *host, *command, *started_at, *ended_at;
	const char *incident_at;   /* restore points from before it */
	const char *compromise_at; /* every point from before it, or NULL */
	const char
	    *attestation; /* --no-quorum --attest: who and why, or NULL */
	const char *fencing_token; /* HA: the leader's, or NULL */
	char *from;                /* "milan, rome" (owned) */
	int64_t start_ms;          /* wall clock of the run start; 0 unknown */
	int64_t duration_ms;       /* -1 unknown */
	int64_t span;              /* time axis: the run, at least 1 ms */
	bool tenths;               /* elapsed times carry tenths of a second */
	struct dr_rm_task *t;
	size_t nt;
	struct dr_rm_svc *s;
	size_t ns;
	struct dr_rm_group *g;
	size_t ng;
	size_t *order; /* nt task indexes, in group order */
	struct dr_rm_service *sv;
	size_t nsv;
	struct dr_rm_tenant *tn; /* in priority order */
	size_t ntn;
	size_t *grid; /* ntn x nsv: grid[t * nsv + v] is the instance (in s)
	                 of tenant t and service v, or SIZE_MAX */
	bool any_rp;  /* a service was restored from a restore point */
	/* "previous": the last run of the plan in the same mode */
	bool has_prev;
	const char *prev_run_id, *prev_state;
	int64_t prev_duration_ms; /* -1 unknown */
	struct dr_rm_prev *p;
	size_t np;
	/* Reading task by task (dr_rm_begin): with own, tasks' strings are
	 * copied into arena (which also holds rej[]), and their times are wall
	 * clock until dr_rm_finish(). */
	const json_t *head; /* the report's members (dr_rm_begin) */
	bool own;
	struct dr_arena *arena;
	size_t tcap;
	int64_t min_start; /* the earliest task start_ms, 0 none */
};

/*
 * Reads the report JSON object rep (borrowed; it must outlive m) into m.
 * Cannot fail: what is missing is unknown. Free with dr_rm_free().
 */
void dr_rm_load(const json_t *rep, struct dr_rm *m);

/*
 * The same, task by task, for a report that is never one JSON tree (the run
 * writes 26,000 tasks one at a time): dr_rm_begin() with the report's other
 * members (head: borrowed, it must outlive m; its "tasks" are ignored), then
 * dr_rm_task() for each task object in order (copied: it may be freed at
 * once), then dr_rm_finish(). Gives the same model as dr_rm_load() of the
 * whole report.
 */
void dr_rm_begin(struct dr_rm *m, const json_t *head, size_t ntasks_hint);
void dr_rm_task(struct dr_rm *m, const json_t *task);
void dr_rm_finish(struct dr_rm *m);

/* Frees what dr_rm_load() allocated; m may be all zeroes. */
void dr_rm_free(struct dr_rm *m);

/* What became of the service instance s. */
enum dr_rm_verdict dr_rm_verdict(const struct dr_rm_svc *s);

/* Whether two strings are equal, NULL equal to NULL only. */
bool dr_rm_same(const char *a, const char *b);

/*
 * An elapsed time since the run start as the report shows it: "07:02.3"
 * (tenths in runs under ten minutes), "07:02", "1:02:03"; "-" when ms < 0.
 * Returns buf.
 */
const char *dr_rm_elapsed(const struct dr_rm *m, int64_t ms, char *buf,
                          size_t len);

/* A duration: dr_duration_fmt(), or "-" when ms < 0. Returns buf. */
const char *dr_rm_duration(int64_t ms, char *buf, size_t len);

/* An RTO or RPO the way plans write it: "8h", "30m", "1h30m", "1d";
 * "-" when ms <= 0. Returns buf. */
const char *dr_rm_target(int64_t ms, char *buf, size_t len);

/*
 * A wall-clock time of the report (RFC 3339) as "2026-11-22 10:43:00 UTC",
 * or with time_only "10:43:00 UTC"; s itself (or "-") when it does not
 * parse. Returns buf or s.
 */
const char *dr_rm_wall(const char *s, bool time_only, char *buf, size_t len);

/* A CSS class suffix for a task state: the state itself when it is one of
 * drover's (letters and dashes), else "other". */
const char *dr_rm_state_class(const char *state);

#endif
