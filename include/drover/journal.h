/*
 * journal.h: the append-only journal of a run (`runs/RUN/journal`).
 *
 * Records are opaque payloads (the caller writes one JSON object per record)
 * made durable before the caller acts on them: intent before a task starts,
 * its result before anything that depends on it.
 *
 * Format: one record per line, text, greppable:
 *
 *     J1 <seq> <len> <crc> <payload>\n
 *
 * seq and len are decimal without leading zeros; seq starts at 1 and grows
 * by one; len is the payload's length in bytes (at most
 * DR_JOURNAL_MAX_PAYLOAD); crc is the CRC-32C (Castagnoli) of the bytes
 * "J1 <seq> <len> " followed by the payload, as 8 lower-case hex digits. The
 * payload may hold any byte except '\n'. The length and the checksum tell a
 * torn tail (a crash during the last write) from corruption elsewhere.
 *
 * Writing: records appended during one loop turn, and while a write is in
 * flight, are written with one uv_fs_write and made durable with one
 * uv_fs_fdatasync (group commit); only then do their callbacks run, in seq
 * order. At most one write+sync is in flight; records are never reordered.
 * Nothing blocks the loop: the I/O runs on libuv's thread pool.
 *
 * A failed write, a short write or a failed fdatasync puts the journal in a
 * failed state for good: after an fsync error the state of the page cache is
 * unknown, so nothing is retried and nothing more is written.
 *
 * Failure injection for tests (both read once, at dr_journal_open):
 *   DROVER_JOURNAL_FAIL_AFTER=N  the Nth I/O operation of this journal fails
 *       with EIO. Writes and syncs are counted together in the order they are
 *       issued: 1 is the first write, 2 its fdatasync, 3 the second write...
 *       The operation itself is carried out, then reported as failed (as a
 *       real EIO leaves the disk in an unknown state).
 *   DROVER_JOURNAL_FAIL_ALLOC=N  the Nth allocation made by
 *       dr_journal_append fails (DR_ENOMEM).
 */
#ifndef DROVER_JOURNAL_H
#define DROVER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "drover/common.h"

#define DR_JOURNAL_MAX_PAYLOAD (64u * 1024 * 1024) /* bytes per record */
#define DR_JOURNAL_ERROR_MAX 1024 /* size of dr_journal_info.error */

struct dr_journal;

/* ---- reading (synchronous: before the loop runs) ---- */

/* What dr_journal_replay found. */
struct dr_journal_info {
	uint64_t nrecords;    /* valid records, all delivered in order */
	uint64_t last_seq;    /* seq of the last valid record, 0 if none;
	                         append from last_seq + 1 */
	uint64_t valid_bytes; /* offset where the valid records end */
	uint64_t torn_bytes;  /* bytes of a torn last record after
	                         valid_bytes (0: clean end) */
	uint64_t file_bytes;  /* size of the file when it was read */
	uint64_t bad_offset;  /* corruption: where the bad record starts */
	char error[DR_JOURNAL_ERROR_MAX]; /* empty, or why the call failed */
};

/*
 * Called once per valid record, in order. payload is NUL-terminated (the
 * NUL is not counted in len) and valid only during the call. Return 0 to go
 * on, or non-zero to stop: dr_journal_replay then returns that value.
 */
typedef int (*dr_journal_record_fn)(uint64_t seq, const char *payload,
                                    size_t len, void *arg);

/*
 * Reads the journal at path, checks all of it, then calls fn (may be NULL)
 * for each valid record in order. Synchronous; never call it from the loop
 * of a running journal.
 *
 * A torn last record - an incomplete last line, or a final line whose
 * framing or checksum is bad, with no valid record anywhere after its start
 * - is not an error: it is described by info->torn_bytes and
 * info->valid_bytes, and dr_journal_truncate_torn() removes it. An empty
 * file is a valid journal with no records.
 *
 * Returns 0; the first non-zero value fn returned; DR_ENOTFOUND if there is
 * no file at path; DR_EIO if the file could not be read or is corrupt (a bad
 * record followed by more data, a sequence gap or repeat, a first record
 * whose seq is not 1); DR_ENOMEM. On DR_EIO the records before the corrupt
 * one have been delivered to fn (so that status and report can show them; a
 * resume must stop), info->valid_bytes is the offset of the corrupt record,
 * and info->error names the file, the record number and the byte offset and
 * says what to do. info may be NULL; it is always filled otherwise.
 */
int dr_journal_replay(const char *path, dr_journal_record_fn fn, void *arg,
                      struct dr_journal_info *info);

/*
 * Cuts the torn tail that dr_journal_replay reported in info: truncates the
 * file to info->valid_bytes and fsyncs it. Does nothing if
 * info->torn_bytes is 0. Refuses (DR_EINVAL) if the file's size is no longer
 * info->file_bytes (it changed since it was read). On success info
 * describes the file as it now is (torn_bytes 0). Returns 0, or a negative
 * DR_E* code with info->error set. Synchronous.
 */
int dr_journal_truncate_torn(const char *path, struct dr_journal_info *info);

/* ---- writing (on the loop) ---- */

/*
 * Called once the record is durable (status 0: written and fdatasync'd) or
 * when it cannot be (status DR_EIO: see dr_journal_failed()). Callbacks of
 * one journal run in seq order, from the loop. The callback may append,
 * and may close the journal.
 */
typedef void (*dr_journal_sync_cb)(int status, uint64_t seq, void *arg);

/*
 * Opens the journal at path for appending on loop (O_APPEND; created 0600
 * if missing, and then the file and its directory are fsynced). The first
 * record appended gets seq next_seq: 1 for a new run, info.last_seq + 1
 * after dr_journal_replay (and dr_journal_truncate_torn if the tail was
 * torn). Synchronous: call it before the run starts.
 *
 * Returns 0 and sets *out (release with dr_journal_close), or DR_EINVAL (bad
 * argument; next_seq is 1 but the file is not empty or the reverse; the file
 * does not end with a complete line: truncate the torn tail first),
 * DR_EIO (open, fstat or fsync failed; errno is kept), DR_ENOMEM.
 */
int dr_journal_open(uv_loop_t *loop, const char *path, uint64_t next_seq,
                    struct dr_journal **out);

/*
 * Queues one record; the payload is copied. cb (may be NULL) runs once the
 * record is durable or has failed; it is never called from inside
 * dr_journal_append.
 *
 * Returns 0 (the record has the next seq and cb will be called), or, and
 * then cb is never called and no seq is used: DR_EINVAL (payload holds a
 * '\n', is longer than DR_JOURNAL_MAX_PAYLOAD, or the journal is closing),
 * DR_ENOMEM (the record could not be queued; the journal still works),
 * DR_EIO (the journal has failed: no new task may start).
 */
int dr_journal_append(struct dr_journal *j, const char *payload, size_t len,
                      dr_journal_sync_cb cb, void *arg);

/*
 * True once a write or sync has failed; then *message (if message is not
 * NULL) is set to a sentence for the operator, owned by the journal
 * ("journal PATH: fdatasync: Input/output error; stopping: no new task may
 * start"). False and *message NULL otherwise.
 */
bool dr_journal_failed(const struct dr_journal *j, const char **message);

/*
 * Counters since open: records made durable, and fdatasync calls that
 * completed. Either pointer may be NULL.
 */
void dr_journal_stats(const struct dr_journal *j, uint64_t *records,
                      uint64_t *syncs);

/*
 * A replica (HA, ha.h): each batch is handed to fn when its write starts,
 * with the journal's file base name ("journal", "audit"), the seq of its
 * first record and its bytes (framed records, exactly as in the file; valid
 * during the call only: fn copies what it keeps). The batch's callbacks run
 * only once both its fdatasync here and the replica are done: fn calls
 * done(done_arg, 0, NULL) from the loop, or from inside fn. done with a
 * non-zero status fails the journal for good (why, when given, goes in its
 * message: "journal PATH: replicate: WHY; ..."). One batch at a time, in
 * seq order; a close waits for the replica's answer. Set it before the
 * first append; fn NULL removes it.
 */
typedef void (*dr_journal_replica_done)(void *done_arg, int status,
                                        const char *why);
typedef void (*dr_journal_replica_fn)(void *arg, const char *name,
                                      uint64_t first_seq, const char *buf,
                                      size_t len, dr_journal_replica_done done,
                                      void *done_arg);
void dr_journal_set_replica(struct dr_journal *j, dr_journal_replica_fn fn,
                            void *arg);

/*
 * Writes and syncs what is queued (the callbacks of those records run
 * first), closes the file, closes the journal's handles, frees it, then
 * calls cb(arg) (cb may be NULL) from the loop. The journal must not be used
 * once this is called, except that dr_journal_append returns DR_EINVAL until
 * cb has run. Afterwards the journal holds no handle or request, so
 * uv_loop_close() can succeed. dr_journal_close(NULL, ...) does nothing.
 */
void dr_journal_close(struct dr_journal *j, void (*cb)(void *), void *arg);

#endif
