/*
 * records.h: what a run writes to its journal and audit chain, and how it
 * is read back (resume, status, report, audit verify).
 *
 * A run lives in STATE/runs/RUN/: "journal" (every task state change, one
 * JSON record each, durable before the scheduler goes on), "audit" (who did
 * what: start, approvals, overrides, resume, end; each record carries the
 * SHA-256 of the previous one), "logs/", "report.json".
 *
 * Journal records (JSON objects, "type" first):
 *   run     {run, plan, plan_file, plan_sha256, mode, from[], to, only[],
 *            auto_approve, tasks, user, host, pid, command, t}
 *   task    {id, key, tier, state, attempt, exit, signal, unreachable,
 *            message, tail, t0, t}  (t0: first start, t: this change, ms)
 *   decision {key, decision: "done"|"rerun", user, host, pid, t}: the
 *            operator's answer for a task whose outcome is unknown,
 *            written the moment it is given
 *   inventory {site, task, inventory: {hosts: [...]}, user, host, pid, t}:
 *            the hosts a provision step created and their pinned keys,
 *            written before the step's own record says it succeeded
 *   verdict {task, host, backup, backup_t, scan, verdict: "clean"|"infected",
 *            indicator, finding, t}: a restore point judged (scan.h),
 *            written the moment it is known
 *   clean_before {clean_before_t, t}: --clean-before, after the run record
 *   resume  {tasks, user, host, pid, command, t}: tasks in the graph now
 *   finish  {state, audit_head, t}
 * Secrets never reach a record: messages and tails are scrubbed.
 */
#ifndef DROVER_RUNSTATE_H
#define DROVER_RUNSTATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/runs.h"
#include "drover/secrets.h"
#include "drover/graph.h"
#include "drover/provision.h"
#include "drover/sched.h"

/* Builds the JSON payload of a record; caller frees. */
char *dr_rs_run_record(const struct dr_graph *g, const char *run_id,
                       const char *mode, const char *const *only, size_t nonly,
                       bool auto_approve, const char *command_line,
                       uint64_t incident_ms);
char *dr_rs_task_record(const struct dr_task *t, const struct dr_task_run *r,
                        const struct dr_secret_value *secrets, size_t nsecrets);
char *dr_rs_resume_record(const char *command_line, size_t ntasks);
char *dr_rs_inventory_record(const char *site, const char *task_key,
                             const struct dr_inventory *inv);
char *dr_rs_decision_record(const char *key, const char *decision);
char *dr_rs_finish_record(const char *state, const char *audit_head);

/* Replaces every occurrence of a secret value in s by <secret:NAME>. */
char *dr_rs_scrub(const char *s, const struct dr_secret_value *secrets,
                  size_t nsecrets);

enum dr_rs_decision { DR_RS_NONE, DR_RS_DONE, DR_RS_RERUN };

/* One task as the journal last saw it. */
struct dr_rs_task {
	char *key;
	int tier;
	enum dr_task_state state; /* the last recorded state */
	int attempts;
	int exit_code;
	char signal[32];
	bool unreachable;
	char *message;
	char *tail;
	char *backup; /* restore point a copy used */
	uint64_t backup_ms;
	char *rejected; /* points passed over: JSON array text, or NULL */
	uint64_t start_ms, end_ms;
	/* The operator's decision recorded since the last state change of a
	 * task whose outcome is unknown, and who gave it. */
	enum dr_rs_decision decision;
	char *decided_by;
};

/* A run read back from its journal. */
struct dr_rs_run {
	char *run_id;
	char *plan_name;
	char *plan_file;
	char *plan_sha256;
	char *mode;
	char **from;
	size_t nfrom;
	char *to;
	char **only;
	size_t nonly;
	bool auto_approve;
	size_t ntasks_planned;
	char *user, *host, *command;
	long pid;
	uint64_t start_ms;
	uint64_t incident_ms; /* --incident-at, or 0 */
	uint64_t last_ms;     /* time of the last record */
	char *final_state;    /* "succeeded", "failed", "interrupted", or NULL
	                         when the run did not finish */
	char *audit_head;     /* from the finish record */
	int resumes;
	/* The last inventory record: the provisioned site and its hosts (the
	 * journal form of provision.h), or NULL. */
	char *inventory_site;
	struct json_t *inventory;
	/* Judged restore points ("verdict" records, scan.h), or NULL; and
	 * --clean-before ("clean_before" record), or 0. */
	struct json_t *verdicts;
	uint64_t clean_before_ms;
	struct dr_rs_task *tasks; /* in first-seen order */
	size_t ntasks;
	size_t *index; /* tasks by key: open addressing, index + 1; 0 empty */
	size_t index_cap;
	uint64_t last_seq;
	uint64_t torn_bytes; /* a torn tail was found (not yet cut) */
};

/*
 * Reads STATE/runs/RUN/journal. Returns 0 and fills *out (free with
 * dr_rs_run_free), DR_ENOTFOUND (no such run), or DR_EIO with *why
 * (malloc'd) saying where the journal is corrupt and what to do; on DR_EIO
 * *out still holds what came before the corruption.
 */
int dr_rs_load(const char *run_dir, struct dr_rs_run *out, char **why);
void dr_rs_run_free(struct dr_rs_run *r);

/* Finds a task by key; NULL when absent. */
const struct dr_rs_task *dr_rs_find(const struct dr_rs_run *r, const char *key);

/* Maps a state name back; returns -1 when unknown. */
int dr_task_state_parse(const char *name);

/* Audit chain: a record's payload with "prev" = hash of the previous one. */
char *dr_audit_record(const char *prev_hash, const char *event,
                      const char *detail);
/* The same for a decision another person made through the control socket
 * (control.h): "by" {user, uid} as the kernel named them, and the comment
 * they gave (may be NULL). */
char *dr_audit_record_by(const char *prev_hash, const char *event,
                         const char *detail, const char *by_user,
                         unsigned long by_uid, const char *comment);

/* The same, carrying the HA leader's fencing token ("fencing_token", a
 * decimal string; ha.h); token 0: exactly dr_audit_record. */
char *dr_audit_record_fenced(const char *prev_hash, const char *event,
                             const char *detail, int64_t token);
/* (audit.h verifies the chain and hashes its records.) */

#endif
