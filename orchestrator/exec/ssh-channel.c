/*
 * ssh-channel.c: what runs on an SSH connection. One channel job per
 * command (dr_ssh_exec) or stream (dr_ssh_stream_open), several at once on
 * one session: the wrapper and its preamble, stdin, stdout and stderr
 * relays into the tail and the task log, the exit status or signal, the
 * deadline; and the kill job that a deadline or a cancel starts on a
 * channel of its own to kill the command's remote process group. The job
 * state machine is enum job_state; the connection it runs on is in ssh.c,
 * which steps the jobs through ssh_jobs_step().
 *
 * Sharing one session (libssh2 1.10, non-blocking):
 * - one channel open at a time (libssh2 keeps its state in the session):
 *   s->opener; kill jobs go first;
 * - a packet half sent belongs to the call that sent it, and libssh2
 *   refuses any other packet until it is out: the job that blocked on
 *   output (s->out_owner) is stepped first and alone;
 * - every other job is stepped in turn, starting one further each drive,
 *   and reads at most STEP_BYTES per step, so that no channel starves
 *   another;
 * - the server's limit on channels (OpenSSH's MaxSessions) shows as an open
 *   refused: the session learns it (s->cap: the channels open then) and
 *   the command ends with DR_EBUSY, not started. One channel is kept for
 *   the kill jobs: s->cmax = s->cap - 1 commands at once.
 */
#include "ssh-internal.h"

#include "drover/scrub.h"
#include "drover/shcmd.h"
#include "drover/tasklog.h"

#include <assert.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#define DEFAULT_TAIL 4096
#define KILL_MS 15000           /* deadline of the kill job */
#define KILL_GRACE_MS 5000      /* wait for the killed command's channel */
#define LOG_BACKLOG (4 << 20)   /* stop reading while the log lags this much */
#define STEP_BYTES (256 * 1024) /* read per job and step: the others' turn */
#define MAX_REFS 160            /* jobs on a session: 64 + 64 kills + 1 */

/*
 * The remote wrapper. $1 is the command, $2 the kill tag. Its first bytes
 * on stderr, before the command starts, are a marker that job_output never
 * passes on: PID_MARK, then the process group to kill, or '-'.
 *
 * When the wrapper leads its own process group (OpenSSH's session child
 * calls setsid(); the check reads /proc with builtins only), the wrapper's
 * shell runs the command itself (eval, with no arguments and without the
 * variables the check read; _dr_c, the command, stays set, in the prefix
 * templates may not use): no fork, no second shell, no file, and the group the
 * controller kills is the marker's pid. Otherwise ('-') the command runs
 * as an asynchronous list (so setsid does not need to fork and $! is the
 * process group id) with the session's stdin passed explicitly; the outer
 * shell writes the pid file that KILLER reads, waits, removes the file and
 * dies with the same signal so that sshd reports exit-signal.
 *
 * The wrapper and the kill jobs hold no single quote, so that quoting one
 * for the login shell is only the quotes around it (see quoted_const).
 */
#define PID_MARK "\036drover-pgid="
static const char WRAPPER[] =
    "if read -r _dr_x _dr_x _dr_x _dr_x _dr_g _dr_x 2>/dev/null "
    "</proc/$$/stat && [ \"$_dr_g\" = $$ ]; "
    "then printf \"\\036drover-pgid=%s\\036\" $$ >&2; "
    "_dr_c=$1; set --; unset _dr_x _dr_g; eval \"$_dr_c\"; exit; fi; "
    "printf \"\\036drover-pgid=-\\036\" >&2; "
    "f=\"${TMPDIR:-/tmp}/drover-$2.pid\"; exec 3<&0; "
    "setsid sh -c \"$1\" <&3 3<&- & c=$!; echo $c >\"$f\"; exec 3<&-; "
    "wait $c; r=$?; rm -f \"$f\"; "
    "if [ $r -gt 128 ]; then kill -$((r - 128)) $$; fi; exit $r";

/* The kill job for a group the marker named: $1 is its id. */
static const char KILL_GROUP[] =
    "p=$1; kill -TERM -$p 2>/dev/null || exit 0; i=0; "
    "while [ $i -lt 20 ] && kill -0 -$p 2>/dev/null; do "
    "sleep 0.1; i=$((i + 1)); done; "
    "kill -KILL -$p 2>/dev/null; exit 0";

/*
 * The kill job without a marked group: TERM the group, up to 2 s of grace,
 * then KILL. A kill sent
 * right after the exec can arrive before the wrapper wrote its pid file:
 * wait up to 2 s for it (the caller's channel is still open, so the
 * command has not ended and removed it).
 */
static const char KILLER[] =
    "f=\"${TMPDIR:-/tmp}/drover-$1.pid\"; i=0; "
    "while [ ! -s \"$f\" ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); "
    "done; [ -r \"$f\" ] || exit 0; "
    "p=$(cat \"$f\"); case $p in \"\"|*[!0-9]*) exit 0;; esac; "
    "kill -TERM -$p 2>/dev/null || exit 0; i=0; "
    "while [ $i -lt 20 ] && kill -0 -$p 2>/dev/null; do "
    "sleep 0.1; i=$((i + 1)); done; "
    "kill -KILL -$p 2>/dev/null; rm -f \"$f\"; exit 0";

enum job_state {
	J_LOGOPEN, /* uv_fs_open of the log */
	J_OPEN,    /* libssh2_channel_open_session (queued until s->opener) */
	J_EXEC,    /* libssh2_channel_exec */
	J_IO,      /* write stdin, read stdout and stderr until EOF */
	J_WAITCLOSED, /* libssh2_channel_wait_closed */
	J_FREE,       /* libssh2_channel_free */
	J_DONE,       /* channel finished; waiting for log and kill job */
	J_LAST
};

static const char *const job_names[] = {"log-open",    "open", "exec", "io",
                                        "wait-closed", "free", "done"};
_Static_assert(DR_NELEM(job_names) == J_LAST, "job_names");

enum job_kind { K_EXEC, K_READ, K_WRITE, K_KILL };

struct job {
	struct dr_ssh *s;
	struct job *next; /* s->jobs, in start order */
	unsigned long id; /* unique on the session */
	enum job_kind kind;
	enum job_state st;
	LIBSSH2_CHANNEL *ch;
	bool has_chan; /* counted in s->nchan: opening or open */
	char *cmd;
	char tag[64];
	uint64_t start_ms;
	uint64_t timeout_ms;
	/* Deadlines on the monotonic clock, 0: none; s->job_timer fires at
	 * the earliest of every job's. */
	uint64_t deadline_ms;  /* the command's deadline, then the kill's
	                          grace */
	uint64_t kdeadline_ms; /* waiting for the marker, then the kill job */

	/* stdin */
	unsigned char *in_copy; /* exec: owned copy, wiped on free */
	const unsigned char *in;
	size_t in_len, in_off;
	bool eof_wanted, eof_sent;
	bool drain_pending; /* WRITE: call on_drain after this step */

	/* output */
	struct dr_buf tail;
	struct dr_scrub scrub; /* secrets out of the tail and the log */
	uint64_t bytes_out, bytes_err, bytes_in;
	bool paused;
	dr_ssh_data_cb on_data;
	dr_ssh_drain_cb on_drain;
	void *sarg;

	/* log */
	struct dr_tasklog *log; /* NULL: no log */

	/* end */
	int status;
	char *reason; /* message for a failed status */
	int exit_code;
	char exit_signal[32];
	int stop; /* 0, DR_ETIMEDOUT or DR_ECANCELED: kill requested */
	bool kill_done;
	bool chan_done;
	bool exec_sent; /* channel exec was called: the command may run */
	/* The wrapper's marker on stderr (not for the kill job). */
	enum { M_WAIT, M_GROUP, M_FILE, M_NONE } mark;
	char mbuf[40];
	size_t mlen;
	long pgid;          /* M_GROUP: the process group to kill */
	bool kill_waiting;  /* a kill waits for the marker */
	bool end_seen;      /* the channel closed with the command's end */
	struct job *kjob;   /* the kill job running for this one */
	struct job *target; /* K_KILL: the job it kills */
	/* Ended while its channel open was in flight: the result is out,
	 * the open goes on and the channel is freed, then the job. */
	bool orphan;
	bool delivered; /* the callback ran (or the kill was reported) */
	int refusals;   /* channel opens the server refused */

	dr_ssh_exec_cb cb;
	void *arg;
};

static void job_try_complete(struct job *j);
static void start_kill(struct job *j, int why);
static void mark_none(struct job *j);
static void kill_finished(struct job *j);
static void jobs_arm(struct dr_ssh *s);

static void
job_set_state(struct job *j, enum job_state st)
{
	dr_trace_state(j->kind == K_KILL ? "ssh-kill" : "ssh-channel",
	               j->s->label, job_names[j->st], job_names[st]);
	j->st = st;
}

/* The jobs of a session as they are now, for a walk during which any of
 * them may end (a callback can cancel another, or start new ones). */
struct jrefs {
	struct job *j[MAX_REFS];
	unsigned long id[MAX_REFS];
	size_t n;
};

static void
jrefs_take(struct dr_ssh *s, struct jrefs *r)
{
	struct job *j;

	r->n = 0;
	for (j = s->jobs; j != NULL && r->n < MAX_REFS; j = j->next) {
		r->j[r->n] = j;
		r->id[r->n++] = j->id;
	}
}

/* The i-th job taken, or NULL when it was freed since. */
static struct job *
jrefs_get(struct dr_ssh *s, const struct jrefs *r, size_t i)
{
	struct job *j;

	for (j = s->jobs; j != NULL; j = j->next)
		if (j == r->j[i] && j->id == r->id[i])
			return j;
	return NULL;
}

static void
job_unlink(struct job *j)
{
	struct job **pp;

	for (pp = &j->s->jobs; *pp; pp = &(*pp)->next) {
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	}
	j->next = NULL;
	if (j->s->out_owner == j)
		j->s->out_owner = NULL;
	if (j->s->opener == j)
		j->s->opener = NULL;
}

/* The log moved on: opened, wrote, closed. */
static void
on_log_event(void *arg)
{
	struct job *j = arg;
	struct dr_ssh *s = j->s;

	if (j->st == J_LOGOPEN && dr_tasklog_opened(j->log)) {
		if (dr_tasklog_error(j->log) != NULL) {
			/* No log, no run: the command never started. */
			j->status = DR_EIO;
			j->reason = dr_xstrdup(dr_tasklog_error(j->log));
			j->chan_done = true;
			job_set_state(j, J_DONE);
			dr_tasklog_close(j->log);
		} else {
			job_set_state(j, J_OPEN);
		}
	}
	ssh_kick(s);         /* reading may have waited for the log */
	job_try_complete(j); /* may free j */
}

static void
log_append(struct job *j, const char *p, size_t n)
{
	if (j->log != NULL)
		dr_tasklog_write(j->log, p, n);
}

static size_t
log_backlog(const struct job *j)
{
	return j->log ? dr_tasklog_backlog(j->log) : 0;
}

/* Output of the command: scrubbed of secrets, into the tail and the log. */
static void
job_output(struct job *j, const void *p, size_t n)
{
	struct dr_buf clean;

	if (j->scrub.n == 0) {
		dr_buf_append(&j->tail, p, n);
		log_append(j, p, n);
		return;
	}
	dr_buf_init(&clean, 0);
	dr_scrub_feed(&j->scrub, p, n, &clean);
	if (clean.len) {
		dr_buf_append(&j->tail, clean.data, clean.len);
		log_append(j, clean.data, clean.len);
	}
	dr_buf_free(&clean);
}

static void
job_free(struct job *j)
{
	if (j->in_copy != NULL) {
		volatile unsigned char *p = j->in_copy;
		size_t i;
		for (i = 0; i < j->in_len; i++)
			p[i] = 0;
		free(j->in_copy);
	}
	dr_buf_free(&j->tail);
	dr_scrub_free(&j->scrub);
	free(j->cmd);
	dr_tasklog_free(j->log);
	free(j->reason);
	free(j);
}

/* The channel is gone from the server too (freed, or never opened). */
static void
chan_released(struct job *j)
{
	if (j->has_chan) {
		j->has_chan = false;
		j->s->nchan--;
	}
}

static void
job_chan_end(struct job *j, int status, const char *reason)
{
	if (j->chan_done)
		return;
	if (j->kill_waiting) {
		j->kill_waiting = false;
		j->kdeadline_ms = 0;
	}
	if (j->mark == M_WAIT)
		mark_none(j);
	if (status != 0 && j->status == 0) {
		j->status = status;
		free(j->reason);
		j->reason = dr_xstrdup(reason);
	}
	if (j->scrub.n) { /* release what was held back */
		struct dr_buf rest;
		dr_buf_init(&rest, 0);
		dr_scrub_flush(&j->scrub, &rest);
		if (rest.len) {
			dr_buf_append(&j->tail, rest.data, rest.len);
			log_append(j, rest.data, rest.len);
		}
		dr_buf_free(&rest);
	}
	j->chan_done = true;
	if (j->st != J_DONE && !j->orphan)
		job_set_state(j, J_DONE);
	if (j->s->out_owner == j && !j->orphan)
		j->s->out_owner = NULL;
	if (j->log != NULL)
		dr_tasklog_close(j->log);
}

/* The result of a finished caller job, into res (message in *msg). */
static void
job_result(struct job *j, struct dr_ssh_result *res, struct dr_buf *msg)
{
	char d[32];

	memset(res, 0, sizeof(*res));
	res->elapsed_ms = dr_now_mono_ms() - j->start_ms;
	dr_duration_fmt(res->elapsed_ms, d, sizeof(d));
	res->exit_code = j->exit_code;
	memcpy(res->exit_signal, j->exit_signal, sizeof(res->exit_signal));
	res->tail = j->tail.data ? j->tail.data : "";
	res->tail_len = j->tail.len;
	res->tail_truncated = j->tail.truncated;
	res->bytes_out = j->bytes_out;
	res->bytes_err = j->bytes_err;
	res->bytes_in = j->bytes_in;
	res->status = j->status;
	res->started = j->exec_sent;
	res->ended = j->end_seen;
	res->log_error = j->log ? dr_tasklog_error(j->log) : NULL;
	dr_buf_init(msg, 0);
	dr_buf_printf(msg, "%s: ", j->s->label);
	if (j->stop != 0 && (j->status == 0 || j->status == j->stop)) {
		char t[32];
		res->status = j->stop;
		if (j->stop == DR_ETIMEDOUT)
			dr_buf_printf(
			    msg, "timed out after %s",
			    dr_duration_fmt(j->timeout_ms, t, sizeof(t)));
		else
			dr_buf_printf(msg, "cancelled after %s", d);
		if (j->exit_signal[0])
			dr_buf_printf(msg, " (killed by signal %s)",
			              j->exit_signal);
		else if (j->reason)
			dr_buf_printf(msg, " (%s)", j->reason);
	} else if (j->status != 0) {
		dr_buf_printf(msg, "%s after %s",
		              j->reason ? j->reason : dr_strerror(j->status),
		              d);
	} else if (j->exit_signal[0]) {
		dr_buf_printf(msg, "killed by signal %s after %s",
		              j->exit_signal, d);
	} else {
		dr_buf_printf(msg, "exit %d after %s", j->exit_code, d);
	}
	if (res->log_error != NULL)
		dr_buf_printf(msg, "; %s", res->log_error);
	res->message = msg->data;
}

/*
 * Delivers the result once the channel ended, the log is closed, and no
 * kill job is still running for it; frees the job, or leaves an orphan to
 * finish its channel open.
 */
static void
job_try_complete(struct job *j)
{
	struct dr_ssh *s = j->s;
	struct dr_ssh_result res;
	struct dr_buf msg;

	if (!j->chan_done || (j->log != NULL && !dr_tasklog_closed(j->log)))
		return;
	if (j->delivered) { /* an orphan whose channel is done */
		if (j->st == J_DONE) {
			job_unlink(j);
			job_free(j);
			ssh_kick(s);
		}
		return;
	}
	if (j->kind == K_KILL) {
		struct job *t = j->target;
		j->delivered = true;
		j->target = NULL;
		if (t != NULL) {
			t->kjob = NULL;
			t->kdeadline_ms = 0;
		}
		if (!j->orphan || j->st == J_DONE) {
			job_unlink(j);
			job_free(j);
		}
		if (t != NULL)
			kill_finished(t);
		jobs_arm(s);
		ssh_kick(s);
		return;
	}
	if (j->kjob != NULL)
		return;
	job_result(j, &res, &msg);
	j->delivered = true;
	s->ncaller--;
	j->deadline_ms = j->kdeadline_ms = 0;
	if (!j->orphan || j->st == J_DONE) {
		/* Out of the list before the callback: nothing it does can
		 * reach this job again. */
		job_unlink(j);
		if (j->cb != NULL)
			j->cb(s, &res, j->arg);
		dr_buf_free(&msg);
		job_free(j);
	} else {
		if (j->cb != NULL)
			j->cb(s, &res, j->arg);
		dr_buf_free(&msg);
	}
	jobs_arm(s);
	ssh_kick(s);
}

/* No marker after all: what was held back is the command's output. */
static void
mark_none(struct job *j)
{
	size_t n = j->mlen;

	j->mark = M_NONE;
	j->mlen = 0;
	if (n > 0)
		job_output(j, j->mbuf, n);
	if (j->kill_waiting) { /* kill by the pid file, if there is one */
		j->kill_waiting = false;
		j->kdeadline_ms = 0;
		start_kill(j, j->stop);
	}
}

/*
 * Takes the wrapper's marker (PID_MARK, a group id or '-', then \036) off
 * the front of stderr, across reads. Returns how many of the n bytes it
 * took; the rest is the command's output.
 */
static size_t
take_mark(struct job *j, const char *p, size_t n)
{
	static const char pre[] = PID_MARK;
	const size_t plen = sizeof(pre) - 1;
	size_t used = 0;

	while (used < n && j->mark == M_WAIT) {
		char c = p[used];

		if (j->mlen < plen ? c != pre[j->mlen]
		                   : !(c == '\036' || c == '-' ||
		                       (c >= '0' && c <= '9')) ||
		                         j->mlen + 1 >= sizeof(j->mbuf)) {
			mark_none(j);
			break;
		}
		used++;
		if (j->mlen < plen || c != '\036') {
			j->mbuf[j->mlen++] = c;
			continue;
		}
		j->mbuf[j->mlen] = '\0';
		if (strcmp(j->mbuf + plen, "-") == 0) {
			j->mark = M_FILE;
		} else {
			char *end;
			long g = strtol(j->mbuf + plen, &end, 10);
			if (*end != '\0' || g <= 1 || end == j->mbuf + plen) {
				mark_none(j);
				break;
			}
			j->mark = M_GROUP;
			j->pgid = g;
		}
		j->mlen = 0;
		if (j->kill_waiting) {
			j->kill_waiting = false;
			j->kdeadline_ms = 0;
			start_kill(j, j->stop);
		}
	}
	return used;
}

/* Reads one stream until EAGAIN. Returns 1 on EAGAIN, 0 at EOF-or-empty
 * or when the log lags, 2 when *budget is spent (the other jobs' turn),
 * negative libssh2 code on error. */
static int
read_stream(struct job *j, int stream, size_t *budget)
{
	struct dr_ssh *s = j->s;
	ssize_t n;

	for (;;) {
		if (stream == 0 && j->kind == K_READ && j->paused)
			return 0;
		if (*budget == 0)
			return 2;
		n = libssh2_channel_read_ex(j->ch, stream, (char *)s->rbuf,
		                            sizeof(s->rbuf));
		if (n == LIBSSH2_ERROR_EAGAIN)
			return 1;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return 1; /* not EOF by itself: see libssh2_channel_eof
			           */
		*budget = (size_t)n >= *budget ? 0 : *budget - (size_t)n;
		if (stream == 0) {
			j->bytes_out += (uint64_t)n;
			if (j->kind == K_READ) {
				if (j->on_data)
					j->on_data((struct dr_ssh_cmd *)j,
					           s->rbuf, (size_t)n, j->sarg);
				if (j->chan_done)
					return 0; /* ended from the callback */
				continue;
			}
		} else if (j->mark == M_WAIT) {
			size_t m =
			    take_mark(j, (const char *)s->rbuf, (size_t)n);
			j->bytes_err += (uint64_t)n - m;
			if (m > 0 && (size_t)n > m)
				job_output(j, s->rbuf + m, (size_t)n - m);
			else if (m == 0)
				job_output(j, s->rbuf, (size_t)n);
			if (log_backlog(j) > LOG_BACKLOG)
				return 0;
			continue;
		} else {
			j->bytes_err += (uint64_t)n;
		}
		job_output(j, s->rbuf, (size_t)n);
		if (log_backlog(j) > LOG_BACKLOG)
			return 0;
	}
}

static void
job_exit_info(struct job *j)
{
	char *sig = NULL;
	size_t siglen = 0;

	j->exit_code = libssh2_channel_get_exit_status(j->ch);
	if (libssh2_channel_get_exit_signal(j->ch, &sig, &siglen, NULL, NULL,
	                                    NULL, NULL) == 0 &&
	    sig != NULL) {
		snprintf(j->exit_signal, sizeof(j->exit_signal), "%.*s",
		         (int)siglen, sig);
		j->exit_code = 0;
	}
	if (sig != NULL)
		libssh2_free(j->s->session, sig);
}

/* Channels open or opening for commands (not kills). */
static int
caller_chans(const struct dr_ssh *s)
{
	const struct job *j;
	int n = 0;

	for (j = s->jobs; j != NULL; j = j->next)
		if (j->has_chan && j->kind != K_KILL && !j->orphan)
			n++;
	return n;
}

/*
 * The server refused a channel while n were open: that is its limit
 * (OpenSSH's MaxSessions), less one kept for kills. A first channel
 * refused is no limit: an error.
 */
static void
learn_cap(struct dr_ssh *s)
{
	char from[16], to[16];

	if (s->nchan >= s->cap)
		return;
	snprintf(from, sizeof(from), "%d", s->cmax);
	s->cap = s->nchan;
	s->cmax = s->cap > 1 ? s->cap - 1 : 1;
	snprintf(to, sizeof(to), "%d", s->cmax);
	/* "trace: ssh-commands: LABEL: 8 -> 1": commands at once */
	dr_trace_state("ssh-commands", s->label, from, to);
}

/*
 * One step of a job: makes the calls its state needs until one blocks.
 * Returns true when a libssh2 call returned EAGAIN.
 */
static bool
job_step(struct job *j)
{
	struct dr_ssh *s = j->s;
	size_t budget = STEP_BYTES;
	int rc, idle_pass = 0;

	for (;;) {
		switch (j->st) {
		case J_LOGOPEN:
		case J_DONE:
		case J_LAST:
			return false;
		case J_OPEN:
			if (s->opener != j)
				return false; /* queued */
			j->ch = libssh2_channel_open_session(s->session);
			if (j->ch == NULL) {
				rc = libssh2_session_last_errno(s->session);
				if (rc == LIBSSH2_ERROR_EAGAIN) {
					if (libssh2_session_block_directions(
					        s->session) &
					    LIBSSH2_SESSION_BLOCK_OUTBOUND)
						s->out_owner = j;
					return true;
				}
				s->opener = NULL;
				chan_released(j);
				if (rc == LIBSSH2_ERROR_CHANNEL_FAILURE)
					goto refused;
				goto fail;
			}
			s->opener = NULL;
			if (s->out_owner == j)
				s->out_owner = NULL;
			if (j->orphan) { /* ended meanwhile: free it */
				job_set_state(j, J_FREE);
				break;
			}
			job_set_state(j, J_EXEC);
			break;
		case J_EXEC:
			j->exec_sent = true; /* from here it may have run */
			rc = libssh2_channel_exec(j->ch, j->cmd);
			if (rc == LIBSSH2_ERROR_EAGAIN)
				goto again;
			if (rc != 0)
				goto fail;
			job_set_state(j, J_IO);
			break;
		case J_IO: {
			bool blocked = false;
			unsigned long wwin = 1, queued = 0;
			uint64_t got = j->bytes_out + j->bytes_err;
			int r0, r1;

			while (j->in != NULL && j->in_off < j->in_len) {
				size_t n = j->in_len - j->in_off;
				ssize_t w = libssh2_channel_write(
				    j->ch, (const char *)j->in + j->in_off, n);
				if (w == LIBSSH2_ERROR_EAGAIN) {
					blocked = true;
					break;
				}
				if (w < 0) {
					rc = (int)w;
					goto fail;
				}
				j->in_off += (size_t)w;
				j->bytes_in += (uint64_t)w;
				if (j->in_off == j->in_len) {
					if (j->kind == K_WRITE) {
						j->in = NULL;
						j->in_off = j->in_len = 0;
						j->drain_pending = true;
					} else {
						j->eof_wanted = true;
					}
					break;
				}
			}
			if (!blocked && j->eof_wanted && !j->eof_sent &&
			    (j->in == NULL || j->in_off == j->in_len)) {
				rc = libssh2_channel_send_eof(j->ch);
				if (rc == LIBSSH2_ERROR_EAGAIN)
					blocked = true;
				else if (rc != 0)
					goto fail;
				else
					j->eof_sent = true;
			}
			if (blocked &&
			    (libssh2_session_block_directions(s->session) &
			     LIBSSH2_SESSION_BLOCK_OUTBOUND)) {
				s->out_owner = j;
				return true;
			}
			if (s->out_owner == j)
				s->out_owner = NULL;
			if (blocked && j->in != NULL)
				wwin = libssh2_channel_window_write(j->ch);
			if (log_backlog(j) > LOG_BACKLOG)
				return blocked;
			r0 = read_stream(j, 0, &budget);
			if (r0 < 0) {
				rc = r0;
				goto fail;
			}
			if (j->st != J_IO)
				return false; /* ended from a callback */
			r1 = read_stream(j, 1, &budget);
			if (r1 < 0) {
				rc = r1;
				goto fail;
			}
			if ((r0 == 1 || r1 == 1) &&
			    (libssh2_session_block_directions(s->session) &
			     LIBSSH2_SESSION_BLOCK_OUTBOUND)) {
				/* A window adjustment half sent. */
				s->out_owner = j;
				return true;
			}
			if (j->drain_pending) {
				j->drain_pending = false;
				if (j->on_drain)
					j->on_drain((struct dr_ssh_cmd *)j,
					            j->sarg);
				if (j->st != J_IO)
					return false;
				if (j->in != NULL ||
				    (j->eof_wanted && !j->eof_sent))
					continue;
			}
			if (r0 == 2 || r1 == 2) {
				/* More to read: after the others. */
				ssh_kick(s);
				return blocked;
			}
			if (libssh2_channel_eof(j->ch)) {
				job_set_state(j, J_WAITCLOSED);
				break;
			}
			/*
			 * Every read drains the socket into libssh2's queue,
			 * for both streams, and takes in window adjustments:
			 * the stderr read can leave stdout queued, a read can
			 * reopen the window the write gave up on. A peer out
			 * of window, or waiting for our data, sends nothing
			 * more to wake us (a stall until the next keepalive
			 * reply, seconds): go again while that is so, but not
			 * twice in a row without reading anything.
			 */
			if (wwin == 0 &&
			    libssh2_channel_window_write(j->ch) > 0)
				continue;
			if (!(j->kind == K_READ && j->paused))
				libssh2_channel_window_read_ex(j->ch, &queued,
				                               NULL);
			if (queued > 0) {
				if (j->bytes_out + j->bytes_err != got)
					idle_pass = 0;
				if (idle_pass++ == 0)
					continue;
			}
			return blocked || r0 == 1 || r1 == 1;
		}
		case J_WAITCLOSED:
			/* Keep draining: data can still be queued. */
			rc = libssh2_channel_wait_closed(j->ch);
			if (rc == LIBSSH2_ERROR_EAGAIN)
				goto again;
			if (rc != 0)
				goto fail;
			job_exit_info(j);
			j->end_seen = true;
			job_set_state(j, J_FREE);
			break;
		case J_FREE:
			/* The EOF not sent yet and the close: one segment. */
			if (!j->eof_sent)
				ssh_cork(s, true);
			rc = libssh2_channel_free(j->ch);
			if (!j->eof_sent)
				ssh_cork(s, false);
			if (rc == LIBSSH2_ERROR_EAGAIN)
				goto again;
			j->ch = NULL;
			chan_released(j);
			if (s->out_owner == j)
				s->out_owner = NULL;
			if (j->orphan) {
				job_set_state(j, J_DONE);
				job_try_complete(j); /* frees it */
				return false;
			}
			job_chan_end(j, 0, NULL);
			job_try_complete(j);
			return false;
		}
	}
again:
	if (libssh2_session_block_directions(s->session) &
	    LIBSSH2_SESSION_BLOCK_OUTBOUND)
		s->out_owner = j;
	else if (s->out_owner == j)
		s->out_owner = NULL;
	return true;
refused:
	if (j->orphan) { /* ended meanwhile: nothing to open again */
		job_set_state(j, J_DONE);
		job_try_complete(j);
		return false;
	}
	/*
	 * Once more first: a channel we closed just before counts on the
	 * server until its next turn (OpenSSH frees a session after reading
	 * the packets that came with the close), and this retry reaches it
	 * after that. So even with none of ours open: the ones that ended
	 * together just before can fill the server's MaxSessions. Refused
	 * again with some open, it is the server's limit: not started, and
	 * the session knows it now; with none open, the server takes no
	 * session at all.
	 */
	if (++j->refusals < 2) {
		ssh_kick(s);
		return false;
	}
	if (s->nchan == 0)
		goto fail;
	learn_cap(s);
	if (j->kind == K_KILL) {
		/* Queued again: a channel frees when a command ends, and the
		 * kill's own deadline bounds the wait. */
		return false;
	}
	{
		char *why = dr_xasprintf(
		    "open channel: refused by the server with %d open (its "
		    "MaxSessions?): not started",
		    s->nchan);
		job_chan_end(j, DR_EBUSY, why);
		free(why);
		job_try_complete(j);
	}
	return false;
fail : {
	int code = ssh_xlate(rc);
	char *why = dr_xasprintf("%s: %s",
	                         j->st == J_OPEN   ? "open channel"
	                         : j->st == J_EXEC ? "exec"
	                                           : "channel",
	                         ssh_session_msg(s));
	if (s->out_owner == j)
		s->out_owner = NULL;
	if (code == DR_EDISCONNECT) {
		ssh_session_lost(s, why);
	} else if (j->orphan) {
		/* Leave the channel to libssh2_session_free. */
		j->ch = NULL;
		if (j->st != J_OPEN)
			s->broken = true;
		j->st = J_DONE;
		job_try_complete(j);
	} else {
		/* Leave the channel to libssh2_session_free. */
		j->ch = NULL;
		if (j->st != J_OPEN)
			s->broken = true;
		job_chan_end(j, code, why);
		job_try_complete(j);
	}
	free(why);
	return false;
}
}

/* Every job ends with status after a lost connection or on close; the
 * channels are left to libssh2_session_free. */
static void
jobs_end_all(struct dr_ssh *s, int status, const char *why)
{
	struct jrefs r;
	struct job *j;
	size_t i;

	s->opener = NULL;
	s->out_owner = NULL;
	jrefs_take(s, &r);
	for (i = 0; i < r.n; i++) { /* kills first: their targets wait */
		j = r.j[i];
		if (j->kind != K_KILL || j->chan_done)
			continue;
		j->ch = NULL;
		job_chan_end(j, status, why);
	}
	for (i = 0; i < r.n; i++) {
		j = r.j[i];
		j->ch = NULL;
		j->has_chan = false;
		if (j->orphan) {
			j->st = J_DONE;
			continue;
		}
		if (j->kind == K_KILL || j->chan_done)
			continue;
		j->stop = 0;
		job_chan_end(j, status, why);
	}
	s->nchan = 0;
	for (i = 0; i < r.n; i++) {
		j = jrefs_get(s, &r, i);
		if (j != NULL && j->kind == K_KILL)
			job_try_complete(j);
	}
	for (i = 0; i < r.n; i++) {
		j = jrefs_get(s, &r, i);
		if (j != NULL)
			job_try_complete(j);
	}
}

void
ssh_jobs_lost(struct dr_ssh *s, const char *why)
{
	char *m = dr_xstrdup(s->err + strlen(s->label) + 2);

	(void)why;
	jobs_end_all(s, DR_EDISCONNECT, m);
	free(m);
}

void
ssh_jobs_close(struct dr_ssh *s)
{
	jobs_end_all(s, DR_ECANCELED, "session closed");
}

/* The kill job ended: give the killed command a grace period. */
static void
kill_finished(struct job *j)
{
	j->kill_done = true;
	if (j->chan_done) {
		job_try_complete(j);
		return;
	}
	j->deadline_ms = dr_now_mono_ms() + KILL_GRACE_MS;
	jobs_arm(j->s);
}

/* A constant shell text without single quotes, as one quoted word. */
static void
quoted_const(struct dr_buf *b, const char *text)
{
	assert(strchr(text, '\'') == NULL);
	dr_buf_puts(b, "'");
	dr_buf_puts(b, text);
	dr_buf_puts(b, "'");
}

/*
 * A job without stdin (with_stdin false) reads it from /dev/null, so that
 * it needs no EOF from us right after the exec: a command that reads stdin
 * gets end-of-file at once, as it did after our EOF, and the EOF libssh2
 * sends with the close goes in the close's segment (see J_FREE).
 */
static struct job *
job_new(struct dr_ssh *s, enum job_kind kind, const char *command,
        const char *tag, size_t tail_cap, bool with_stdin)
{
	struct job *j = dr_xcalloc(1, sizeof(*j));
	struct job **pp;
	struct dr_buf b;
	static unsigned seq;

	j->s = s;
	j->id = ++s->job_seq;
	j->kind = kind;
	j->st = J_OPEN;
	j->mark = kind == K_KILL ? M_NONE : M_WAIT;
	j->start_ms = dr_now_mono_ms();
	dr_buf_init(&j->tail, tail_cap ? tail_cap : DEFAULT_TAIL);
	if (tag != NULL)
		snprintf(j->tag, sizeof(j->tag), "%s", tag);
	else
		snprintf(j->tag, sizeof(j->tag), "%ld-%u-%llu", (long)getpid(),
		         ++seq, (unsigned long long)dr_now_wall_ms());
	dr_buf_init(&b, 0);
	dr_buf_puts(&b, "exec sh -c ");
	if (kind == K_KILL && command != NULL) { /* command: the group */
		quoted_const(&b, KILL_GROUP);
		dr_buf_puts(&b, " drover ");
		dr_sh_quote(&b, command);
		dr_buf_puts(&b, " ");
	} else if (kind == K_KILL) {
		quoted_const(&b, KILLER);
		dr_buf_puts(&b, " drover ");
	} else {
		quoted_const(&b, WRAPPER);
		dr_buf_puts(&b, " drover ");
		dr_sh_quote(&b, command);
		dr_buf_puts(&b, " ");
	}
	dr_sh_quote(&b, j->tag);
	if (!with_stdin)
		dr_buf_puts(&b, " </dev/null");
	j->cmd = dr_buf_steal(&b);
	for (pp = &s->jobs; *pp; pp = &(*pp)->next)
		;
	*pp = j;
	return j;
}

static void
start_kill(struct job *j, int why)
{
	struct dr_ssh *s = j->s;
	struct job *k;

	if (j->stop == 0)
		j->stop = why;
	if (j->kjob != NULL || j->kill_done || j->chan_done)
		return;
	if (j->st == J_LOGOPEN || j->st == J_OPEN) {
		/*
		 * Nothing runs yet. A channel open in flight goes on (libssh2
		 * has one open at a time per session, and the next one would
		 * take its answer): the job ends now, its channel is freed
		 * when it comes.
		 */
		if (j->st == J_OPEN && s->opener == j)
			j->orphan = true;
		j->kill_done = true;
		job_chan_end(j, why, "before the command started");
		job_try_complete(j);
		return;
	}
	if (j->mark == M_WAIT) {
		/* Executed, but which group to kill is not known yet: the
		 * marker comes before the command runs, or the kill timer
		 * gives the channel up. */
		if (!j->kill_waiting) {
			j->kill_waiting = true;
			j->kdeadline_ms = dr_now_mono_ms() + KILL_MS;
			jobs_arm(s);
		}
		return;
	}
	if (j->mark == M_GROUP) {
		char g[24];
		snprintf(g, sizeof(g), "%ld", j->pgid);
		k = job_new(s, K_KILL, g, j->tag, 1024, false);
	} else {
		k = job_new(s, K_KILL, NULL, j->tag, 1024, false);
	}
	k->target = j;
	j->kjob = k;
	j->kdeadline_ms = dr_now_mono_ms() + KILL_MS;
	jobs_arm(s);
	ssh_kick(s);
}

/* A channel given up (no kill possible, or no end after it): left to
 * libssh2_session_free, and the session takes no new command. */
static void
abandon(struct job *j, int status, const char *why)
{
	struct dr_ssh *s = j->s;

	s->broken = true;
	j->ch = NULL;
	if (s->out_owner == j)
		s->out_owner = NULL;
	if (s->opener == j) { /* its open goes on: see start_kill */
		j->orphan = true;
	}
	job_chan_end(j, status, why);
	job_try_complete(j);
}

/* A job's deadlines that passed. */
static void
job_timers(struct job *j, uint64_t now)
{
	if (j->kdeadline_ms != 0 && now >= j->kdeadline_ms) {
		j->kdeadline_ms = 0;
		if (j->kill_waiting && !j->chan_done) {
			/* No marker to kill by: give the channel up. */
			j->kill_waiting = false;
			j->kill_done = true;
			abandon(j, j->stop ? j->stop : DR_ETIMEDOUT,
			        "the remote wrapper never started the command; "
			        "not killed");
			return;
		}
		if (j->kjob != NULL) { /* the kill job itself hung */
			struct job *k = j->kjob;
			if (k->st == J_OPEN && k->s->opener != k) {
				k->chan_done = true; /* never opened */
				k->st = J_DONE;
				free(k->reason);
				k->reason = dr_xstrdup("kill timed out");
				job_try_complete(k);
			} else {
				abandon(k, DR_ETIMEDOUT, "kill timed out");
			}
			return;
		}
	}
	if (j->deadline_ms != 0 && now >= j->deadline_ms) {
		j->deadline_ms = 0;
		if (!j->kill_done) {
			start_kill(j, DR_ETIMEDOUT);
			return;
		}
		/* Grace after the kill expired: abandon the channel. */
		if (!j->chan_done)
			abandon(j, j->stop ? j->stop : DR_ETIMEDOUT,
			        "the remote command did not end after the "
			        "kill");
	}
}

static void
on_job_timer(uv_timer_t *t)
{
	struct dr_ssh *s = t->data;
	uint64_t now = dr_now_mono_ms();
	struct jrefs r;
	size_t i;

	jrefs_take(s, &r);
	for (i = 0; i < r.n; i++) {
		struct job *j = jrefs_get(s, &r, i);
		if (j != NULL && j->kind != K_KILL)
			job_timers(j, now);
	}
	jobs_arm(s);
}

/* Starts the session's job timer for the earliest deadline of its jobs. */
static void
jobs_arm(struct dr_ssh *s)
{
	const struct job *j;
	uint64_t first = 0, now;

	if (s->st == C_CLOSING)
		return;
	for (j = s->jobs; j != NULL; j = j->next) {
		if (j->deadline_ms && (first == 0 || j->deadline_ms < first))
			first = j->deadline_ms;
		if (j->kdeadline_ms && (first == 0 || j->kdeadline_ms < first))
			first = j->kdeadline_ms;
	}
	if (first == 0) {
		uv_timer_stop(&s->job_timer);
		return;
	}
	now = dr_now_mono_ms();
	uv_timer_start(&s->job_timer, on_job_timer,
	               first > now ? first - now : 0, 0);
}

/*
 * Chooses the job whose channel opens next, one at a time: a kill first,
 * then the commands in start order, while the server has room. Returns a
 * command to end with DR_EBUSY (more than the session now carries), or
 * NULL.
 */
static struct job *
pick_opener(struct dr_ssh *s)
{
	struct job *j, *cand = NULL;

	if (s->opener != NULL)
		return NULL;
	for (j = s->jobs; j != NULL; j = j->next) {
		if (j->st != J_OPEN || j->orphan || j->chan_done)
			continue;
		if (j->kind == K_KILL) {
			if (s->nchan < s->cap) {
				s->opener = j;
				j->has_chan = true;
				s->nchan++;
			}
			return NULL;
		}
		if (cand == NULL)
			cand = j;
	}
	if (cand == NULL)
		return NULL;
	if (caller_chans(s) >= s->cmax)
		return cand;
	if (s->nchan < s->cap) {
		s->opener = cand;
		cand->has_chan = true;
		s->nchan++;
	}
	return NULL;
}

bool
ssh_jobs_step(struct dr_ssh *s)
{
	struct jrefs r;
	struct job *j;
	bool w = false;
	size_t i, k;

	if (s->out_owner != NULL) {
		struct job *o = s->out_owner;
		w = job_step(o);
		if (s->out_owner == o && w)
			return true;
		if (s->out_owner != NULL || s->st != C_READY)
			return w;
	}
	while ((j = pick_opener(s)) != NULL) {
		j->kill_done = true;
		job_chan_end(j, DR_EBUSY,
		             "open channel: the session carries as many "
		             "commands as the server allows: not started");
		job_try_complete(j);
		if (s->st != C_READY)
			return w;
	}
	jrefs_take(s, &r);
	for (k = 0; k < r.n; k++) {
		i = (k + s->rr) % r.n;
		j = jrefs_get(s, &r, i);
		if (j == NULL || j->st == J_DONE || j->st == J_LOGOPEN)
			continue;
		w |= job_step(j);
		if (s->st != C_READY || s->out_owner != NULL)
			break;           /* lost, or a packet half sent */
		if (s->opener == NULL) { /* an open done: the next may go */
			pick_opener(s);
			if (s->opener != NULL)
				ssh_kick(s);
		}
	}
	s->rr++;
	return w;
}

/* API */

static int
job_check(struct dr_ssh *s, const char *command, const char *tag)
{
	const char *p;

	if (s == NULL || command == NULL || s->close_requested)
		return DR_EINVAL;
	if (s->st == C_DEAD)
		return DR_EDISCONNECT;
	if (s->st != C_READY)
		return DR_EINVAL;
	if (s->broken) {
		ssh_set_err(s, "session unusable after an abandoned channel");
		return DR_EDISCONNECT;
	}
	if (s->ncaller >= s->cmax)
		return DR_EBUSY;
	if (tag != NULL) {
		if (*tag == '\0' || strlen(tag) >= 64)
			return DR_EINVAL;
		for (p = tag; *p; p++)
			if (!(*p == '.' || *p == '_' || *p == '-' ||
			      (*p >= '0' && *p <= '9') ||
			      (*p >= 'a' && *p <= 'z') ||
			      (*p >= 'A' && *p <= 'Z')))
				return DR_EINVAL;
	}
	return 0;
}

/*
 * Admits (job_check) and starts the caller's job: the command under its
 * wrapper, the deadline, the first drive on the next turn. The caller adds
 * what its kind needs before it returns to the loop. Returns 0 and sets
 * *out, or the DR_E* code of job_check.
 */
static int
job_begin(struct dr_ssh *s, enum job_kind kind, const char *command,
          const char *tag, size_t tail_cap, bool with_stdin,
          uint64_t timeout_ms, dr_ssh_exec_cb cb, void *arg, struct job **out)
{
	struct job *j;
	int rc = job_check(s, command, tag);

	if (rc != 0)
		return rc;
	j = job_new(s, kind, command, tag, tail_cap, with_stdin);
	j->cb = cb;
	j->arg = arg;
	j->timeout_ms = timeout_ms;
	s->ncaller++;
	s->idle_rx = false;
	if (s->jobs == j) /* the first: silence counts from now */
		s->last_rx_ms = dr_now_mono_ms();
	if (timeout_ms > 0) {
		j->deadline_ms = j->start_ms + timeout_ms;
		jobs_arm(s);
	}
	ssh_kick(s);
	*out = j;
	return 0;
}

int
dr_ssh_exec(struct dr_ssh *s, const struct dr_ssh_exec_opts *o,
            dr_ssh_exec_cb cb, void *arg, struct dr_ssh_cmd **out)
{
	struct job *j;
	int rc;

	if (o == NULL)
		return DR_EINVAL;
	rc = job_begin(s, K_EXEC, o->command, o->kill_tag, o->tail_cap,
	               o->stdin_data != NULL && o->stdin_len > 0, o->timeout_ms,
	               cb, arg, &j);
	if (rc != 0)
		return rc;
	dr_scrub_init(&j->scrub, o->secret_values, o->secret_names,
	              o->nsecrets);
	if (o->stdin_data != NULL && o->stdin_len > 0) {
		j->in_copy = dr_xmalloc(o->stdin_len);
		memcpy(j->in_copy, o->stdin_data, o->stdin_len);
		j->in = j->in_copy;
		j->in_len = o->stdin_len;
	}
	if (o->log_path != NULL) {
		j->st = J_LOGOPEN;
		j->log = dr_tasklog_open(s->loop, o->log_path, on_log_event, j);
	}
	if (out != NULL)
		*out = (struct dr_ssh_cmd *)j;
	return 0;
}

int
dr_ssh_stream_open(struct dr_ssh *s, const struct dr_ssh_stream_opts *o,
                   dr_ssh_exec_cb done, void *arg, struct dr_ssh_cmd **out)
{
	struct job *j;
	int rc;

	if (o == NULL)
		return DR_EINVAL;
	rc = job_begin(s, o->mode == DR_SSH_STREAM_READ ? K_READ : K_WRITE,
	               o->command, o->kill_tag, o->tail_cap,
	               o->mode != DR_SSH_STREAM_READ, o->timeout_ms, done, arg,
	               &j);
	if (rc != 0)
		return rc;
	j->on_data = o->on_data;
	j->on_drain = o->on_drain;
	j->sarg = o->arg;
	if (out != NULL)
		*out = (struct dr_ssh_cmd *)j;
	return 0;
}

void
dr_ssh_stream_pause(struct dr_ssh_cmd *c)
{
	struct job *j = (struct job *)c;

	if (j != NULL && j->kind == K_READ)
		j->paused = true;
}

void
dr_ssh_stream_resume(struct dr_ssh_cmd *c)
{
	struct job *j = (struct job *)c;

	if (j != NULL && j->kind == K_READ && j->paused) {
		j->paused = false;
		ssh_kick(j->s);
	}
}

int
dr_ssh_stream_write(struct dr_ssh_cmd *c, const void *data, size_t len)
{
	struct job *j = (struct job *)c;

	if (j == NULL || j->kind != K_WRITE || j->in != NULL || j->eof_wanted ||
	    j->chan_done || data == NULL || len == 0)
		return DR_EINVAL;
	j->in = data;
	j->in_len = len;
	j->in_off = 0;
	ssh_kick(j->s);
	return 0;
}

int
dr_ssh_stream_eof(struct dr_ssh_cmd *c)
{
	struct job *j = (struct job *)c;

	if (j == NULL || j->kind != K_WRITE || j->eof_wanted)
		return DR_EINVAL;
	j->eof_wanted = true;
	ssh_kick(j->s);
	return 0;
}

int
dr_ssh_cmd_cancel(struct dr_ssh_cmd *c)
{
	struct job *j = (struct job *)c;

	if (j == NULL || j->chan_done || j->s->st != C_READY)
		return DR_EINVAL;
	start_kill(j, DR_ECANCELED);
	return 0;
}
