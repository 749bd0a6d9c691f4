/*
 * ssh.h: the SSH engine. One struct dr_ssh is one TCP connection carrying one
 * non-blocking libssh2 session, driven by the caller's libuv loop. All calls
 * and all callbacks happen on the loop thread; no callback is ever called from
 * inside the API function that started the operation.
 *
 * Life cycle: dr_ssh_new -> dr_ssh_connect -> (dr_ssh_exec | stream)* ->
 * dr_ssh_close. The struct is freed by the engine after dr_ssh_close, in the
 * last libuv close callback, just before the close callback runs; a struct
 * that was never connected must still be closed.
 *
 * Channels: a session carries up to opts.channels commands and streams at
 * once, each on its own channel with its own deadline, kill and result
 * (struct dr_ssh_cmd, the handle dr_ssh_exec and dr_ssh_stream_open give),
 * plus one channel kept for the kill jobs. Every channel progresses: none
 * starves another. A server that allows fewer channels (OpenSSH's
 * MaxSessions, default 10) refuses an open; the session then carries one
 * command fewer than the channels open at that moment (dr_ssh_capacity()),
 * and the refused command ends with DR_EBUSY, not started (started =
 * false): run it on another connection. A lost session ends every command
 * on it.
 *
 * Security rules (DESIGN.md "Execution rules"): strict host key checking
 * against known_hosts before authentication (unknown, changed or missing:
 * DR_EHOSTKEY), publickey authentication only (file or agent, never
 * forwarded), algorithms restricted to curve25519/ecdh kex, ed25519/ecdsa
 * host keys, aes-ctr ciphers, hmac-sha2 MACs, no compression (libssh2 1.10
 * has no aes-gcm and no chacha20).
 *
 * Remote commands run under a wrapper that puts them in their own process
 * group (setsid) and records its id in "${TMPDIR:-/tmp}/drover-TAG.pid" on the
 * remote host, so that a deadline or a cancel can kill the whole tree: TERM,
 * two seconds of grace, then KILL, through a channel of its own on the same
 * session (the channel kept for kills). The wrapper needs a POSIX sh and
 * util-linux setsid remotely.
 * Limits of the wrapper: the command's SIGINT and SIGQUIT are ignored (it runs
 * as an asynchronous list), and a command that itself exits with 128+N is
 * reported as killed by signal N.
 *
 * Tracing: DROVER_TRACE=1 in the environment prints every state transition
 * to stderr.
 */
#ifndef DROVER_SSH_H
#define DROVER_SSH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "drover/common.h"
#include "drover/guard.h"

struct dr_ssh;

/* Wraps libssh2_init(): call once in main before any session. Returns 0 or
 * DR_EPROTO. */
int dr_ssh_global_init(void);
/* Wraps libssh2_exit(): call once at the end, after every session closed. */
void dr_ssh_global_cleanup(void);

struct dr_ssh_opts {
	const char *label;       /* "torino/to-db1", prefixes every message */
	const char *address;     /* IP address or host name */
	int port;                /* 0: 22 */
	const char *user;        /* login user */
	const char *identity;    /* private key file; NULL: ssh-agent */
	const char *known_hosts; /* required; a missing file refuses */
	uint64_t connect_timeout_ms; /* per connect phase; 0: 10 s */
	uint64_t keepalive_ms;       /* keepalive interval; 0: 15 s */
	int keepalive_max;           /* silent intervals before dead; 0: 3 */
	/* Addresses never to connect to (drills), borrowed; NULL: none. A
	 * match fails the connect with DR_EREFUSED before any packet. */
	const struct dr_guard *guard;
	/* Commands and streams at once, 1..DR_SSH_MAX_CHANNELS; 0: 1. The
	 * session opens one channel more for kills. */
	int channels;
};

#define DR_SSH_MAX_CHANNELS 64

/* One command or stream on a session, from dr_ssh_exec or
 * dr_ssh_stream_open until its callback returns (then invalid). */
struct dr_ssh_cmd;

/*
 * Connect callback. status is 0 or DR_ECONNECT (unreachable: refused, no
 * route, TCP timeout, name not resolved), DR_EHOSTKEY, DR_EAUTH,
 * DR_ETIMEDOUT (handshake or auth deadline), DR_EPROTO or DR_ECANCELED
 * (closed while connecting). msg is "label: phase: reason", borrowed for the
 * duration of the call.
 */
typedef void (*dr_ssh_connect_cb)(struct dr_ssh *ssh, int status,
                                  const char *msg, void *arg);
/* Close callback: the struct is already freed. */
typedef void (*dr_ssh_close_cb)(void *arg);

/*
 * Creates an unconnected session. Copies every string of opts ("~/" at the
 * start of identity and known_hosts is expanded with $HOME). Returns 0 and
 * sets *out, or DR_EINVAL (missing address, user or known_hosts). The caller
 * must eventually call dr_ssh_close(*out).
 */
int dr_ssh_new(uv_loop_t *loop, const struct dr_ssh_opts *opts,
               struct dr_ssh **out);

/*
 * Starts connecting: known_hosts, name resolution, non-blocking TCP connect,
 * SSH handshake, host key check, publickey authentication, each phase with
 * its own deadline. cb runs exactly once unless this returns an error.
 * Returns 0, or DR_EINVAL when called twice or after close.
 */
int dr_ssh_connect(struct dr_ssh *ssh, dr_ssh_connect_cb cb, void *arg);

/* Result of a remote command or stream; valid only during the callback. */
struct dr_ssh_result {
	int status;           /* 0: the command ran and ended (see exit_code,
	                         exit_signal); else DR_ETIMEDOUT, DR_ECANCELED,
	                         DR_EDISCONNECT, DR_EPROTO, DR_EIO (log not
	                         opened) or DR_EBUSY (the server refused the
	                         channel: not started, try another session) */
	int exit_code;        /* exit status; 0 when killed by a signal */
	char exit_signal[32]; /* "KILL", "TERM"...; "" when none */
	const char *tail;     /* last tail_cap bytes of output, NUL-ended */
	size_t tail_len;
	bool tail_truncated; /* earlier output was dropped */
	uint64_t bytes_out;  /* stdout bytes received */
	uint64_t bytes_err;  /* stderr bytes received */
	uint64_t bytes_in;   /* stdin bytes sent */
	uint64_t elapsed_ms;
	const char *message; /* "label: exit 3 after 1.2s", "label: timed out
	                        after 30m00s", ... */
	bool started; /* the exec request was sent: the command may have run */
	bool ended;   /* its end (exit status or signal) was seen; started and
	                 not ended: its outcome is unknown */
	const char *log_error; /* "log PATH: reason" when the log could not
	                          be written in full, else NULL */
};

typedef void (*dr_ssh_exec_cb)(struct dr_ssh *ssh,
                               const struct dr_ssh_result *res, void *arg);

struct dr_ssh_exec_opts {
	const char *command; /* run by the remote sh, inside the wrapper */
	const void
	    *stdin_data; /* written then EOF; copied; NULL: EOF at once */
	size_t stdin_len;
	const char *log_path; /* stdout+stderr appended (0600), or NULL */
	size_t tail_cap;      /* 0: 4096 */
	uint64_t timeout_ms;  /* 0: no deadline */
	const char *kill_tag; /* [A-Za-z0-9._-], unique per remote host;
	                         NULL: generated */
	/* Values replaced by "<secret:NAME>" in the tail and the log. */
	const char *const *secret_values;
	const char *const *secret_names;
	size_t nsecrets;
};

/*
 * Runs one command, beside the others the session carries. Returns
 * DR_EBUSY when it carries dr_ssh_capacity() already (dr_ssh_slots() is
 * 0), DR_EINVAL when not connected, DR_EDISCONNECT when the session was
 * lost (dr_ssh_error() says why), else 0, sets *out (may be NULL) to the
 * command's handle, and cb runs exactly once. The callback may start the
 * next command or close the session. The stdin copy is wiped before it is
 * freed.
 */
int dr_ssh_exec(struct dr_ssh *ssh, const struct dr_ssh_exec_opts *opts,
                dr_ssh_exec_cb cb, void *arg, struct dr_ssh_cmd **out);

/*
 * Cancels a running command or stream: kills its remote process group and
 * ends it with DR_ECANCELED; the others on the session go on. The callback
 * may run before this returns (a command not started yet). Returns 0, or
 * DR_EINVAL when it ended already.
 */
int dr_ssh_cmd_cancel(struct dr_ssh_cmd *cmd);

enum dr_ssh_stream_mode {
	DR_SSH_STREAM_READ, /* the command's stdout is delivered by on_data */
	DR_SSH_STREAM_WRITE /* the command's stdin is fed by stream_write */
};

/* READ: a chunk of stdout (at most DR_SSH_CHUNK bytes), borrowed. */
typedef void (*dr_ssh_data_cb)(struct dr_ssh_cmd *cmd, const void *data,
                               size_t len, void *arg);
/* WRITE: the buffer given to dr_ssh_stream_write was sent; write more. */
typedef void (*dr_ssh_drain_cb)(struct dr_ssh_cmd *cmd, void *arg);

#define DR_SSH_CHUNK 32768

struct dr_ssh_stream_opts {
	const char *command;
	enum dr_ssh_stream_mode mode;
	uint64_t timeout_ms;  /* 0: none */
	const char *kill_tag; /* as for exec */
	size_t tail_cap;      /* tail of stderr (and of stdout in WRITE) */
	dr_ssh_data_cb on_data;
	dr_ssh_drain_cb on_drain;
	void *arg; /* for on_data and on_drain */
};

/*
 * Starts a streaming command (same wrapper, kill and deadline rules as
 * dr_ssh_exec); done runs once when it ends, with bytes_out or bytes_in
 * counting the streamed bytes. Returns like dr_ssh_exec.
 */
int dr_ssh_stream_open(struct dr_ssh *ssh, const struct dr_ssh_stream_opts *o,
                       dr_ssh_exec_cb done, void *arg, struct dr_ssh_cmd **out);
/* READ: stop / restart delivering on_data (backpressure). Immediate. */
void dr_ssh_stream_pause(struct dr_ssh_cmd *cmd);
void dr_ssh_stream_resume(struct dr_ssh_cmd *cmd);
/*
 * WRITE: queues len bytes at data, which the caller keeps valid and
 * unchanged until on_drain. One buffer at a time. Returns 0, or DR_EINVAL
 * (a write is pending, EOF was requested, or cmd is not a WRITE stream).
 */
int dr_ssh_stream_write(struct dr_ssh_cmd *cmd, const void *data, size_t len);
/* WRITE: sends EOF after the pending buffer; then done follows the exit.
 * Returns 0 or DR_EINVAL. */
int dr_ssh_stream_eof(struct dr_ssh_cmd *cmd);

/*
 * Starts a graceful disconnect (with its own deadline), ends every running
 * command with DR_ECANCELED without killing it remotely (dr_ssh_cmd_cancel
 * each first for that), ends a pending connect with DR_ECANCELED, closes
 * every handle, frees the struct and then calls cb (may be NULL). Calling
 * it twice is a no-op.
 */
void dr_ssh_close(struct dr_ssh *ssh, dr_ssh_close_cb cb, void *arg);

/* True while a command or stream runs. */
bool dr_ssh_busy(const struct dr_ssh *ssh);
/* Commands at once: opts.channels, or less once the server refused a
 * channel. */
int dr_ssh_capacity(const struct dr_ssh *ssh);
/* Commands the session takes now: 0 when it carries dr_ssh_capacity(), or
 * is not ready. */
int dr_ssh_slots(const struct dr_ssh *ssh);
/* True once connected and until the session is lost or closed. */
bool dr_ssh_ready(const struct dr_ssh *ssh);
/* The label given in the options. */
const char *dr_ssh_label(const struct dr_ssh *ssh);
/* The last connection-level error message, "" if none. */
const char *dr_ssh_error(const struct dr_ssh *ssh);

#endif
