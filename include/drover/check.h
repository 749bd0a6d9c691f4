/*
 * check.h: readiness checks for one direction of a plan (drover check).
 *
 * From an expanded graph, every host a task needs (the task's host, a copy's
 * source host) is connected to with the plan's defaults (strict host key,
 * publickey authentication); then, read-only, over that session: each
 * command a step requires on that host exists (`command -v`), and each copy
 * source whose sha256 is set exists and is readable, has its PATH.sha256
 * manifest (sha256 = "manifest"), and is younger than its service's RPO.
 * A copy from the controller's own disk is checked locally, in the thread
 * pool. Probes and gates need no session; tasks a drill refuses are not
 * connected to.
 *
 * Everything runs on the caller's libuv loop. The checks of one host are
 * grouped into as few remote commands as possible (a sh script on stdin,
 * one exec at a time on one session per host); hosts are checked in
 * parallel up to the plan's limits (sessions in all, per_site). Nothing is
 * written on any host except the SSH engine's transient pid file.
 *
 * Tracing: DROVER_TRACE=1 prints every host's state transition to stderr.
 */
#ifndef DROVER_CHECK_H
#define DROVER_CHECK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "drover/graph.h"
#include "drover/guard.h"

struct dr_check;

enum dr_check_kind {
	DR_CHECK_SSH,     /* reach the host, pinned host key, auth */
	DR_CHECK_COMMAND, /* a required command exists on the host */
	DR_CHECK_BACKUP   /* a copy source, its manifest and its age */
};

enum dr_check_status {
	DR_CHECK_PENDING, /* not finished (only seen before the end) */
	DR_CHECK_OK,
	DR_CHECK_FAILED,
	DR_CHECK_WARNING, /* unreachable, but every step on the host has
	                     unreachable = "continue": the run goes on */
	DR_CHECK_SKIPPED  /* not checked: the host's session failed */
};

/* One row of the result: one check on one host. */
struct dr_check_row {
	const struct dr_site *site; /* NULL: the controller */
	const struct dr_host *host; /* NULL: the controller */
	enum dr_check_kind kind;
	const char *name; /* "ssh", "command pg_restore",
	                     "backup payroll/comune-brescia" */
	const char *path; /* backup: the source path; else NULL */
	enum dr_check_status status;
	const char *detail; /* "ok ..." or the reason; never NULL once done */
	int64_t age_ms;     /* backup: now - mtime, -1 when unknown */
	uint64_t rpo_ms;    /* backup: the service's RPO, 0 when none */
};

struct dr_check_opts {
	uv_loop_t *loop;
	const struct dr_graph *graph; /* must outlive the check */
	uint64_t check_timeout_ms;    /* per remote command; 0: 30 s */
	uint64_t now_wall_ms;         /* clock for backup ages; 0: now */
	const struct dr_guard *guard; /* addresses never to connect to (drill:
	                                 production); NULL: none */
};

/* Runs once, after every check ended and every handle was closed. */
typedef void (*dr_check_done_cb)(struct dr_check *c, void *arg);

/*
 * Plans the checks of o->graph (rows are known at once, all pending) and
 * starts them. done runs exactly once, never from inside this call.
 * Returns 0 and sets *out, or DR_EINVAL (no loop or graph). Caller owns
 * *out; free with dr_check_free() after done has run.
 */
int dr_check_start(const struct dr_check_opts *o, dr_check_done_cb done,
                   void *arg, struct dr_check **out);

/*
 * Stops early: sessions are closed, pending rows end as failed
 * ("cancelled"); done still runs once. A no-op after the end.
 */
void dr_check_cancel(struct dr_check *c);

/*
 * The rows, grouped by site (in plan order, the controller last) and host
 * (in plan order); per host: ssh, then commands by name, then backups in
 * task order. Borrowed from c.
 */
const struct dr_check_row *dr_check_rows(const struct dr_check *c, size_t *n);

/*
 * The vault-side look at a restore-point set PATH (a glob) as a POSIX sh
 * fragment appended to b, its output lines tagged "@K": its points newest
 * first, at most max_fallback + 1, each checked where it is (checksum, the
 * names and extensions of a tar file's members, YARA on the raw file when
 * yara is installed there). drover check stops at the first clean point;
 * the hunt (hunt = true: the run's look for the compromise time before any
 * choice, see graph.h) skips points taken at or after $before (seconds;
 * unset or 0: none), goes on past clean points and prints "@K infected
 * MTIME PATH" then "@K finding WHAT" per point an indicator is in, "@K ok
 * MTIME PATH" per clean one, "@K rej ..." per checksum that fails, and
 * "@K done N" at the end. Values are quoted, never code.
 */
struct dr_buf;
void dr_check_set_script(struct dr_buf *b, const struct dr_plan *p,
                         const char *path, int max_fallback, size_t k,
                         bool hunt);

/* Frees c; only after done ran (or before the loop ever ran it: never).
 * dr_check_free(NULL) is a no-op. */
void dr_check_free(struct dr_check *c);

/*
 * Formats a duration compactly for ages and RPOs: "350ms", "41.2s",
 * "4m12s", "4h12m", "24h", "3d", "3d02h" into buf.
 */
const char *dr_check_age_fmt(uint64_t ms, char *buf, size_t len);

#endif
