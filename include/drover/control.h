/*
 * control.h: the control channel of a live run, a Unix domain socket
 * STATE/runs/RUN/control.sock served by the run's loop (uv_pipe_t).
 *
 * The socket is mode 0660, group: the run directory's (inherited from a
 * setgid state directory, see README "Shared state"). Who is speaking comes
 * from the kernel (SO_PEERCRED: uid, then the user name with getpwuid_r),
 * never from the environment; a peer that is neither the run's own user,
 * root, nor in the socket's group is refused even if the file mode let it
 * connect.
 *
 * Protocol: one JSON object per line, at most DR_CONTROL_MAX_MSG bytes,
 * sent within 10 s of connecting (else an error reply, and closed).
 *   request: {"v": 1, "op": "approve", "task": "fence/confirm",
 *             "comment": "..."}
 *            ops: approve deny (task = a gate's key), pause, continue,
 *            abort, answer (task, "answer": retry|skip|abort), watch,
 *            status
 *   reply:   {"v": 1, "ok": true, "message": "..."} or
 *            {"v": 1, "ok": false, "error": "..."}
 *   watch:   after the reply, {"v": 1, "line": "..."} per board line, until
 *            the run ends and the server closes the connection.
 * A malformed, oversized or wrong-version message gets an error reply and
 * changes nothing.
 */
#ifndef DROVER_CONTROL_H
#define DROVER_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <uv.h>

#define DR_CONTROL_VERSION 1
#define DR_CONTROL_MAX_MSG 4096
#define DR_CONTROL_SOCK "control.sock"

enum dr_ctl_op {
	DR_CTL_APPROVE,
	DR_CTL_DENY,
	DR_CTL_PAUSE,
	DR_CTL_CONTINUE,
	DR_CTL_ABORT,
	DR_CTL_ANSWER,
	DR_CTL_WATCH,
	DR_CTL_STATUS
};

/* One parsed request; strings owned, free with dr_ctl_msg_free(). */
struct dr_ctl_msg {
	enum dr_ctl_op op;
	char *task;    /* approve, deny, answer */
	char *answer;  /* answer: "retry", "skip" or "abort" */
	char *comment; /* approve, deny: may be NULL */
};

/*
 * Parses one request of len bytes (no newline). Returns 0 and fills *m, or
 * DR_EINVAL with *why (malloc'd) saying what is wrong: not JSON, not an
 * object, too long, no or another version, an unknown op, a missing or
 * wrong field, a control character in a field.
 */
int dr_ctl_parse(const char *buf, size_t len, struct dr_ctl_msg *m, char **why);
void dr_ctl_msg_free(struct dr_ctl_msg *m);

/* The request line for m, newline-terminated; caller frees. */
char *dr_ctl_request(const struct dr_ctl_msg *m);

/* The name of op ("approve"). */
const char *dr_ctl_op_name(enum dr_ctl_op op);

/*
 * Four eyes. What one more approval by uid does to a gate that needs
 * `needed` distinct approvers, `not_by_starter` or not, started by
 * starter_uid, already approved by uids[0..n).
 */
enum dr_vote_result {
	DR_VOTE_PASS,    /* counted: the gate has its approvers */
	DR_VOTE_MORE,    /* counted: more approvers are needed */
	DR_VOTE_STARTER, /* not counted: not_by_starter, and uid started it */
	DR_VOTE_TWICE    /* not counted: uid approved already */
};
enum dr_vote_result dr_ctl_vote(int needed, bool not_by_starter,
                                uid_t starter_uid, const uid_t *uids, size_t n,
                                uid_t uid);

/* A connected peer, as the kernel says. */
struct dr_ctl_peer {
	uid_t uid;
	gid_t gid;
	pid_t pid;
	char user[64]; /* getpwuid_r's name, or the uid in digits */
};

struct dr_control;
struct dr_ctl_conn;

/*
 * The owner's handler of one request from peer. Returns 0 and sets *msg
 * (malloc'd, may stay NULL) for an ok reply, or nonzero with *msg the
 * error. A watch request that succeeds makes the connection a watcher.
 */
typedef int (*dr_ctl_handler)(void *arg, const struct dr_ctl_peer *peer,
                              const struct dr_ctl_msg *m, char **msg);

/*
 * Listens on path (an old socket there is removed first), mode 0660, group
 * gid (-1: as created). Returns 0 and sets *out, or a negative DR_E* code
 * (nothing left open).
 */
int dr_control_open(uv_loop_t *loop, const char *path, gid_t gid,
                    dr_ctl_handler h, void *arg, struct dr_control **out);

/* Sends a board line to every watcher (dropped for a watcher whose
 * writes are more than 1 MiB behind). */
void dr_control_broadcast(struct dr_control *c, const char *line);

/* How many watchers are connected (0 for NULL): board lines are made for
 * them only. */
size_t dr_control_watchers(const struct dr_control *c);

/* The socket's path, or NULL. */
const char *dr_control_path(const struct dr_control *c);

/*
 * Stops listening, removes the socket file, closes every connection
 * (watchers see the end), and frees c once the handles have closed.
 * NULL is a no-op.
 */
void dr_control_close(struct dr_control *c);

/*
 * Client side (the verbs; blocking, not on a loop): connects to the run's
 * socket, sends m, reads the reply. Returns 0 (ok; *text the message) or
 * DR_EREFUSED (the run said no; *text why), DR_ENOTFOUND (no socket: the
 * run is not live), DR_EIO (*text why). With watch, each line after the
 * reply goes to on_line until the server closes.
 */
int dr_ctl_call(const char *run_dir, const struct dr_ctl_msg *m, char **text,
                void (*on_line)(void *arg, const char *line), void *arg);

#endif
