/*
 * common.h: error codes, allocation, growable buffers, durations and clocks
 * shared by every drover module.
 *
 * Convention: functions that can fail return int, 0 on success or a negative
 * DR_E* code; dr_strerror() names the code. Allocation failure aborts with
 * context (dr_xmalloc and friends), except in the journal write path.
 */
#ifndef DROVER_COMMON_H
#define DROVER_COMMON_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/time.h" /* durations, clocks, RFC 3339 */

enum dr_err {
	DR_OK = 0,
	DR_EINVAL = -1,       /* bad argument or bad input */
	DR_ENOMEM = -2,       /* out of memory (journal path only) */
	DR_EIO = -3,          /* local I/O error */
	DR_EPLAN = -4,        /* plan did not load or validate */
	DR_ENOTFOUND = -5,    /* a named thing does not exist */
	DR_ECONNECT = -6,     /* could not reach the host */
	DR_EHOSTKEY = -7,     /* host key unknown or changed */
	DR_EAUTH = -8,        /* authentication refused */
	DR_ETIMEDOUT = -9,    /* a deadline expired */
	DR_EPROTO = -10,      /* SSH protocol or library error */
	DR_ECANCELED = -11,   /* cancelled by the operator or the scheduler */
	DR_ECHECKSUM = -12,   /* checksum mismatch */
	DR_EEXIT = -13,       /* remote or local command failed */
	DR_ELOCKED = -14,     /* another run holds the lock */
	DR_EREFUSED = -15,    /* refused by policy (drill interlock, gate) */
	DR_EDISCONNECT = -16, /* the peer went away */
	DR_EBUSY = -17        /* no channel free: not started, try another
	                         connection */
};

/* Returns a static lower-case description of a DR_E* code. */
const char *dr_strerror(int err);

/* Allocation that aborts with a message on failure; never returns NULL. */
void *dr_xmalloc(size_t n);
void *dr_xcalloc(size_t n, size_t size);
void *dr_xrealloc(void *p, size_t n);
char *dr_xstrdup(const char *s);
char *dr_xstrndup(const char *s, size_t n);
char *dr_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Whether s ends with suffix. */
bool dr_ends_with(const char *s, const char *suffix);
char *dr_xvasprintf(const char *fmt, va_list ap);

/* Whether s is one of the n strings of v. */
bool dr_str_in(const char *const *v, size_t n, const char *s);

/* Whether s holds a control character (below 0x20, or DEL). */
bool dr_str_has_control(const char *s);

/*
 * In a function taking (..., const char *fmt, ...): sets the char *out to
 * the formatted arguments (caller frees). The one place printf-like
 * functions turn their arguments into a string.
 */
#define DR_VFORMAT(out, fmt)                                                   \
	do {                                                                   \
		va_list dr_ap_;                                                \
		va_start(dr_ap_, fmt);                                         \
		(out) = dr_xvasprintf((fmt), dr_ap_);                          \
		va_end(dr_ap_);                                                \
	} while (0)

/*
 * Growable array helper: ensures *arr has room for need elements of size
 * elem, doubling *cap. Aborts on overflow or allocation failure.
 */
void dr_grow(void **arr, size_t *cap, size_t need, size_t elem);

/*
 * Growable byte buffer, always NUL-terminated. cap_limit 0 means unbounded;
 * otherwise dr_buf_append keeps only the last cap_limit bytes (a tail).
 */
struct dr_buf {
	char *data;
	size_t len;
	size_t cap;
	size_t limit;
	bool truncated; /* bytes were dropped from the front */
};

void dr_buf_init(struct dr_buf *b, size_t limit);
void dr_buf_append(struct dr_buf *b, const void *p, size_t n);
void dr_buf_puts(struct dr_buf *b, const char *s);
void dr_buf_printf(struct dr_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void dr_buf_vprintf(struct dr_buf *b, const char *fmt, va_list ap);
/* Takes ownership of the data; the buffer is left empty. */
char *dr_buf_steal(struct dr_buf *b);
void dr_buf_free(struct dr_buf *b);

/*
 * Arena: many small allocations released at once (the plan lives in one).
 * dr_arena_free(NULL) is a no-op.
 */
struct dr_arena;
struct dr_arena *dr_arena_new(void);
void *dr_arena_alloc(struct dr_arena *a, size_t n); /* zeroed, aligned */
char *dr_arena_strdup(struct dr_arena *a, const char *s);
char *dr_arena_strndup(struct dr_arena *a, const char *s, size_t n);
void dr_arena_free(struct dr_arena *a);

/* Writes all len bytes to fd, again after EINTR and short writes. Returns
 * 0, or -1 (errno says why; a write of 0 bytes is EIO). Blocks. */
int dr_write_all(int fd, const void *data, size_t len);

/*
 * Replaces the file at path with len bytes of data, durably: a temporary
 * file beside it (mode), fsync, rename, fsync of the directory. A symbolic
 * link stays: the file it names is replaced. A path that is not a regular
 * file (a device such as /dev/stdout, a FIFO) is written through, never
 * replaced; a directory is refused (EISDIR). Blocks: never call it on the
 * loop thread while a run is live. Returns 0 or DR_EIO (errno says why).
 */
int dr_write_file_atomic(const char *path, const void *data, size_t len,
                         unsigned mode);

/*
 * Reads the file at path whole (at most limit bytes; 0: no limit). Returns
 * 0 with *data (NUL-terminated, caller frees) and *len (may be NULL), or
 * DR_EIO (errno says why), or DR_EINVAL when it is larger than limit.
 * Blocks, like dr_write_file_atomic.
 */
int dr_read_file(const char *path, size_t limit, char **data, size_t *len);

/* Creates dir and its missing parents, mode 0700. Returns 0 or -1 (errno
 * says why). */
int dr_mkdirs(const char *dir);

/* True when DROVER_TRACE is set (not "0"): every state transition is
 * printed to stderr. Read once. */
bool dr_trace_on(void);

/*
 * Prints one state transition, the same format for every machine:
 * "trace: MODULE: ID: FROM -> TO", when tracing is on.
 */
void dr_trace_state(const char *module, const char *id, const char *from,
                    const char *to);

/* The number of elements of a static array. */
#define DR_NELEM(a) (sizeof(a) / sizeof((a)[0]))

#endif
