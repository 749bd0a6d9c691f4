/*
 * tasklog.h: the one writer of a task's output log.
 *
 * The logs of one directory (a run's logs/) are frames in one append-only
 * file, DR_TASKLOG_FILE, named by the log's file name without ".log": a run
 * of 26,000 tasks writes one file, not 26,000. dr_tasklog_read() gives them
 * back (drover logs).
 *
 * Output is appended to the log file in the order it came, from the loop,
 * by uv_fs requests on the thread pool, one at a time; nothing blocks the
 * loop. What waits to be written is bounded by its owner: dr_tasklog_backlog
 * says how much is queued, and the owner stops reading its source while it
 * is over its limit (the event callback tells it when to look again). The
 * first error (open, write, close) is kept with its errno; after it, output
 * is dropped and the log says so through dr_tasklog_error(). Used by the
 * SSH engine (remote commands) and the local command runner.
 */
#ifndef DROVER_TASKLOG_H
#define DROVER_TASKLOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <uv.h>

#define DR_TASKLOG_FILE "output.log"

struct dr_tasklog;

/*
 * Called on the loop after every step of the log: opened (or failed to),
 * a write done, closed. The owner looks at the accessors below; it may
 * call any dr_tasklog function from it, dr_tasklog_free included once
 * dr_tasklog_closed() is true.
 */
typedef void (*dr_tasklog_event_cb)(void *arg);

/*
 * Starts opening path for appending (created 0600). Never fails at once: an
 * error is kept and shown by dr_tasklog_error(), and the event callback
 * runs. Caller owns *out: dr_tasklog_close, then dr_tasklog_free once
 * closed.
 */
struct dr_tasklog *dr_tasklog_open(uv_loop_t *loop, const char *path,
                                   dr_tasklog_event_cb ev, void *arg);

/* Queues n bytes (copied); dropped once the log has an error. */
void dr_tasklog_write(struct dr_tasklog *l, const void *p, size_t n);

/* Bytes queued and not yet written. */
size_t dr_tasklog_backlog(const struct dr_tasklog *l);

/* The open finished (successfully or not). */
bool dr_tasklog_opened(const struct dr_tasklog *l);

/*
 * Asks to close once everything queued is written. dr_tasklog_closed() then
 * becomes true (through the event callback, never from inside this call).
 */
void dr_tasklog_close(struct dr_tasklog *l);

/* Closed, nothing in flight: the owner may free it. */
bool dr_tasklog_closed(const struct dr_tasklog *l);

/* "log PATH: write: No space left on device", or NULL when none. */
const char *dr_tasklog_error(const struct dr_tasklog *l);

/* The first error as a libuv code (negative), or 0. */
int dr_tasklog_errno(const struct dr_tasklog *l);

/* Frees a closed log. NULL is a no-op. */
void dr_tasklog_free(struct dr_tasklog *l);

/* The name a task's log has in the file: its key with '/' and '@' as '_'.
 * Caller frees. */
char *dr_tasklog_name(const char *key);

/*
 * Reads dir's output file from byte *pos on: fn gets every complete frame
 * in order (its name and data). Stops at the end, or before a frame not
 * yet complete (one being written); *pos is then where to go on from.
 * Blocks (a command, not the run's loop). Returns 0, DR_ENOTFOUND (no
 * file), or DR_EIO (unreadable, or not a log: errno, or EINVAL).
 */
int dr_tasklog_read(const char *dir, uint64_t *pos,
                    void (*fn)(void *arg, const char *name, const char *data,
                               size_t n),
                    void *arg);

#endif
