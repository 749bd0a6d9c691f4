/*
 * spawn.h: local commands on the controller (steps with `local = "..."`).
 *
 * A command runs as `/bin/sh -c COMMAND` in its own session and process
 * group (UV_PROCESS_DETACHED), so that a deadline or a cancel can kill the
 * whole tree: SIGTERM to the group, then SIGKILL to the group after two
 * seconds of grace (a uv timer, never a sleep). Everything runs on the
 * caller's loop; nothing blocks it.
 *
 * Output: stdout and stderr share one pipe, so the log keeps the order the
 * command wrote in. The bytes are appended to log_path (created 0600) by
 * uv_fs requests on the thread pool, one at a time and in order; when the
 * disk is slower than the command, reading pauses rather than buffering
 * without bound. The last tail_cap bytes are also kept in memory.
 *
 * Secrets go through stdin_data: written to the child's stdin, then the
 * pipe is closed. They never appear on a command line, in the environment
 * or in a log written by this module.
 *
 * The run is done when both the process has exited and its output pipe has
 * closed, in either order (tmux job.c). A grandchild that keeps the pipe
 * open after the command exited gets two seconds to finish writing; then
 * the pipe is closed and the run ends (the grandchild is not killed: a
 * local step may legitimately start a daemon).
 *
 * The first dr_spawn_start() sets SIGPIPE to SIG_IGN if it is SIG_DFL, so
 * that writing stdin to a command that does not read it cannot kill the
 * controller (children get default dispositions back from libuv).
 */
#ifndef DROVER_SPAWN_H
#define DROVER_SPAWN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "drover/common.h"

struct dr_spawn;

struct dr_spawn_opts {
	const char *command;    /* required; run as /bin/sh -c COMMAND */
	const char *cwd;        /* NULL: the controller's directory */
	const void *stdin_data; /* copied; NULL: stdin is /dev/null */
	size_t stdin_len;
	const char *log_path; /* stdout+stderr appended (0600), or NULL */
	size_t tail_cap;      /* bytes of output kept in memory; 0: 4096 */
	uint64_t timeout_ms;  /* 0: no deadline */
	const char *const *env_extra; /* NULL-terminated "NAME=VALUE" list
	                                 added to (or replacing names in)
	                                 the environment; may be NULL */
	bool env_only; /* the environment is env_extra alone, not the
	                  controller's (which holds the secrets' variables) */
	/* Values replaced by "<secret:NAME>" in the tail and the log. */
	const char *const *secret_values;
	const char *const *secret_names;
	size_t nsecrets;
};

/*
 * Result, passed to the callback. The strings belong to the run and are
 * freed after the callback returns; the callback may keep tail or message
 * by taking the pointer and setting the field to NULL (then free() it).
 */
struct dr_spawn_result {
	int status;      /* 0: the command ran and ended (see exit_code
	                    and term_signal); DR_ETIMEDOUT, DR_ECANCELED
	                    (killed by us), or DR_EIO (log not opened or
	                    spawn failed: the command never ran) */
	int exit_code;   /* exit status; 0 when killed by a signal */
	int term_signal; /* signal that ended the command, or 0 */
	int pid;         /* the command's pid = its process group; 0 if
	                    it never ran */
	char *tail;      /* last tail_cap bytes of output, NUL-ended */
	size_t tail_len;
	bool tail_truncated; /* earlier output was dropped from the tail */
	uint64_t bytes_out;  /* output bytes read (stdout + stderr) */
	int log_error;       /* 0, or the uv error of the log file (the
	                        command still ran; see message) */
	uint64_t elapsed_ms;
	char *message; /* "exit 0 after 1.2s", "exit 3 after 4.0s", "killed
	                  by signal 9 after 2.1s", "timed out after 30m00s",
	                  "cancelled after 3.0s", "spawn failed: ...";
	                  "; log: ..." is appended on a log error */
};

/* Called exactly once, when every handle of the run is closed. The run is
 * freed right after it returns. */
typedef void (*dr_spawn_cb)(struct dr_spawn_result *res, void *arg);

/*
 * Starts the command. Returns 0 and sets *out (may be NULL) to a handle that
 * stays valid until cb returns; cb then runs exactly once, never from inside
 * this call. Returns DR_EINVAL (no command, bad env_extra entry) without
 * calling cb. A failure to open the log or to spawn is reported through cb
 * with DR_EIO.
 */
int dr_spawn_start(uv_loop_t *loop, const struct dr_spawn_opts *o,
                   dr_spawn_cb cb, void *arg, struct dr_spawn **out);

/*
 * Cancels the run: SIGTERM to the process group, SIGKILL after two seconds;
 * cb reports DR_ECANCELED. A no-op when the run already timed out or is
 * finishing. Must not be called after cb returned.
 */
void dr_spawn_cancel(struct dr_spawn *s);

#endif
