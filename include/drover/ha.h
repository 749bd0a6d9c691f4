/*
 * ha.h: controller high availability over etcd (etcd.h): one active
 * controller per plan and target site, standbys that take its run over.
 *
 * Keys, under PREFIX = "/drover/<plan name>/<target site>/":
 *   PREFIX "leader"   the leader key, created only if absent (a txn
 *                     comparing its create_revision with 0) and attached
 *                     to the leader's lease: it goes when the lease
 *                     expires. Its create_revision is the fencing token.
 *   PREFIX "run"      the current run: {"run", "state": "running" |
 *                     "ended", "exit", "plan_sha256", "controller"}; no
 *                     lease: it outlives its leader.
 *   PREFIX "log/RUN/NAME/SEQ.PART"  the journal ("journal") and audit
 *                     trail ("audit") of RUN, one key per group commit
 *                     (SEQ: its first record, 20 digits; PART: 0000, more
 *                     only for a batch over 768 KiB), the batch's bytes
 *                     exactly as in the local file.
 *
 * Every write of a leader is one txn comparing the leader key's
 * create_revision with its token: a controller whose lease expired, or that
 * another one replaced, cannot append (Jepsen, etcd 3.4.3: locks without
 * such a check are unsafe). Before each task start the leader also checks
 * that its lease is still valid on the monotonic clock: the time its last
 * renewal was sent plus the TTL etcd granted, minus a safety margin (a
 * quarter of the TTL, at least 300 ms). Past that deadline, or when etcd
 * says the lease is gone, leadership is lost for good: nothing more starts
 * and the run ends exit 3 saying so.
 *
 * All of it runs on the run's loop; the calls named "drives the loop" run
 * it themselves and must be called outside any of its callbacks.
 */
#ifndef DROVER_HA_H
#define DROVER_HA_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "drover/etcd.h"
#include "drover/journal.h"

struct dr_ha_opts {
	struct dr_etcd_cfg etcd;
	const char *plan_name;
	const char *target; /* the target site */
	unsigned ttl_s;     /* lease TTL; 0: 10 */
	bool quiet;         /* standby: no progress lines on stderr */
};

struct dr_ha;

/* Returns 0 and *out, or DR_EINVAL (no endpoint). */
int dr_ha_new(const struct dr_ha_opts *o, struct dr_ha **out);

/* Detached, or never attached. dr_ha_free(NULL) does nothing. */
void dr_ha_free(struct dr_ha *ha);

/*
 * Parses "URL[,URL...]" into cfg->endpoints (pointers into the string s,
 * which is modified and must outlive cfg). Returns 0, or -1 with *why
 * (caller frees).
 */
int dr_ha_parse_endpoints(char *s, struct dr_etcd_cfg *cfg, char **why);

/*
 * Takes the leadership of run_id: a lease, the leader key if absent, the
 * run key "running". Drives loop. Returns 0; DR_ELOCKED with *why naming
 * the controller that leads; or another DR_E* with *why (etcd could not
 * be reached, no quorum). Caller frees *why.
 */
int dr_ha_lead(struct dr_ha *ha, uv_loop_t *loop, const char *run_id,
               const char *plan_sha256, char **why);

/* Called once, from the loop, when leadership is lost (why: a sentence). */
typedef void (*dr_ha_lost_fn)(void *arg, const char *why);

/*
 * Keeps the lease alive from loop: renews it once now (drives loop), then
 * every quarter TTL from a timer. Returns 0, or DR_ETIMEDOUT / DR_EIO with
 * *why (the lease is gone or could not be renewed: leadership is lost).
 */
int dr_ha_attach(struct dr_ha *ha, uv_loop_t *loop, dr_ha_lost_fn lost,
                 void *arg, char **why);

/*
 * Stops renewing from the attached loop (closes its timers: the loop must
 * run once more), keeping the leadership: it is attached again to the
 * run's loop, within the lease. Nothing may be in flight.
 */
void dr_ha_detach(struct dr_ha *ha);

/*
 * The journal replica (journal.h, dr_journal_replica_fn; arg is the
 * dr_ha): one txn per batch, comparing the leader key's create_revision.
 * A failed compare loses leadership; an unreachable etcd is retried until
 * the lease deadline, then leadership is lost.
 */
void dr_ha_replicate(void *arg, const char *name, uint64_t first_seq,
                     const char *buf, size_t len, dr_journal_replica_done done,
                     void *done_arg);

/*
 * True while a task may start: leader, not lost, and the lease deadline
 * not passed. Otherwise false and *why says why (owned by ha).
 */
bool dr_ha_may_start(struct dr_ha *ha, const char **why);

/* The fencing token (the leader key's create_revision); 0 if not leader. */
int64_t dr_ha_token(const struct dr_ha *ha);

/* True once leadership was lost; *why (owned by ha) says why. */
bool dr_ha_lost(const struct dr_ha *ha, const char **why);

/*
 * The run ended with exit_status: the run key says so and the leader key
 * goes (one txn, compared), then the lease is revoked, then the timer is
 * closed (the loop must run once more to close it). Drives loop. Nothing
 * is written once leadership was lost. Returns 0 or DR_E* with *why.
 */
int dr_ha_end(struct dr_ha *ha, int exit_status, char **why);

/*
 * Gives leadership up without ending the run (a standby whose resume waits
 * for a decision): revokes the lease so another controller can take over
 * at once; closes the timer. Drives loop when attached or given.
 */
void dr_ha_release(struct dr_ha *ha, uv_loop_t *loop);

/*
 * The bytes of run's replicated file name ("journal", "audit") as etcd has
 * them (*out: caller frees; empty when there is none). Drives loop.
 * Returns 0 or DR_E* with *why (caller frees).
 */
int dr_ha_fetch(struct dr_ha *ha, uv_loop_t *loop, const char *run,
                const char *name, char **out, size_t *len, char **why);

/* What a standby took over. */
struct dr_ha_takeover {
	char *run_id;
	char *plan_sha256;
	char *journal, *audit; /* the files' bytes, from etcd */
	size_t journal_len, audit_len;
};
void dr_ha_takeover_free(struct dr_ha_takeover *t);

/*
 * Standby: watches the run key and the leader key on loop (drives it).
 * Returns 1 when the run it saw (one that was running, or that started
 * while it watched) has ended: *exit_status is the run's. Returns 0 once it
 * took the leadership of a running run whose leader's lease had expired: t
 * holds the run and its journal and audit trail; the caller resumes it
 * (dr_ha_attach in the run). Without an etcd quorum it waits, saying so:
 * nothing takes over automatically. Returns DR_E* only on bad arguments.
 */
int dr_ha_standby(struct dr_ha *ha, uv_loop_t *loop, int *exit_status,
                  struct dr_ha_takeover *t);

/*
 * No-quorum check for --no-quorum: 0 when etcd could not answer a
 * linearizable read within the timeout (no quorum: an attested single
 * controller may run); DR_EREFUSED with *why when it answered. Drives loop.
 */
int dr_ha_check_no_quorum(struct dr_ha *ha, uv_loop_t *loop, char **why);

/*
 * Requests made; replication txns sent (retries of an unknown outcome
 * included), group commits handed to the replica (journal and audit
 * trail), retries. Any pointer may be NULL.
 */
void dr_ha_stats(const struct dr_ha *ha, struct dr_etcd_stats *s,
                 uint64_t *repl_txns, uint64_t *batches, uint64_t *retries);

#endif
