/*
 * spawn.c: local commands on the controller, in their own process group,
 * with output to a log written on the thread pool and a bounded tail.
 *
 * Life of a run (one state machine, set_state() is the only writer):
 *
 *   OPENING  the log file is being opened (skipped without log_path)
 *   RUNNING  the command runs; done when it exited AND the output pipe
 *            closed, in either order
 *   FLUSHING queued output is written, then the log file is closed
 *   CLOSING  every handle is being closed; the last close callback calls
 *            the user's callback and frees the run
 */
#include "drover/spawn.h"
#include "drover/scrub.h"
#include "drover/tasklog.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

extern char **environ;

#define KILL_GRACE_MS 2000
#define DRAIN_MS 2000
#define READ_CHUNK 65536
#define LOG_HIGH (4u << 20) /* pause reading above this much queued */
#define LOG_LOW (1u << 20)  /* resume below this */
#define TAIL_DEFAULT 4096

enum spawn_state { ST_OPENING, ST_RUNNING, ST_FLUSHING, ST_CLOSING, ST_LAST };

struct dr_spawn {
	uv_loop_t *loop;
	dr_spawn_cb cb;
	void *arg;
	enum spawn_state state;

	char *command;
	char *cwd;
	char *log_path;
	char **env;
	char *stdin_data;
	size_t stdin_len;
	uint64_t timeout_ms;

	uv_process_t proc;
	uv_pipe_t in;
	uv_pipe_t out;
	uv_timer_t deadline;
	uv_timer_t grace;
	uv_timer_t drain;
	uv_write_t wreq;
	int nhandles; /* initialized and not yet closed */

	bool proc_init, in_open, out_open, reading;
	bool spawned, exited, killing, killed_hard;

	struct dr_tasklog *log; /* NULL: no log */

	int status;
	int spawn_error;
	int exit_code;
	int term_signal;
	int pid;
	struct dr_buf tail;
	struct dr_scrub scrub; /* secrets out of the tail and the log */
	uint64_t bytes_out;
	uint64_t t0;
};

static void check_done(struct dr_spawn *s);
static void flush_log(struct dr_spawn *s);
static void do_spawn(struct dr_spawn *s);

static const char *const state_names[] = {"opening", "running", "flushing",
                                          "closing"};
_Static_assert(DR_NELEM(state_names) == ST_LAST, "state_names");

static void
set_state(struct dr_spawn *s, enum spawn_state st)
{
	char id[32];

	snprintf(id, sizeof(id), "pid %d", s->pid);
	dr_trace_state("spawn", id, state_names[s->state], state_names[st]);
	s->state = st;
}

static void
ignore_sigpipe(void)
{
	struct sigaction old, sa;

	if (sigaction(SIGPIPE, NULL, &old) == 0 && old.sa_handler == SIG_DFL &&
	    !(old.sa_flags & SA_SIGINFO)) {
		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = SIG_IGN;
		sigemptyset(&sa.sa_mask);
		sigaction(SIGPIPE, &sa, NULL);
	}
}

static bool
env_name_eq(const char *a, const char *b)
{
	size_t n = strcspn(a, "=");

	return strncmp(a, b, n) == 0 && b[n] == '=';
}

/* Builds environ minus the names env_extra sets, plus env_extra; with
 * only, env_extra alone. */
static int
build_env(const char *const *extra, bool only, char ***out)
{
	size_t nenv = 0, nextra = 0, i, j, k = 0;
	char **env;

	for (i = 0; extra != NULL && extra[i] != NULL; i++) {
		const char *eq = strchr(extra[i], '=');
		if (eq == NULL || eq == extra[i])
			return DR_EINVAL;
		nextra++;
	}
	for (i = 0; !only && environ != NULL && environ[i] != NULL; i++)
		nenv++;
	env = dr_xcalloc(nenv + nextra + 1, sizeof(*env));
	for (i = 0; i < nenv; i++) {
		bool replaced = false;
		for (j = 0; j < nextra && !replaced; j++)
			replaced = env_name_eq(extra[j], environ[i]);
		if (!replaced)
			env[k++] = dr_xstrdup(environ[i]);
	}
	for (j = 0; j < nextra; j++)
		env[k++] = dr_xstrdup(extra[j]);
	env[k] = NULL;
	*out = env;
	return 0;
}

static void
free_run(struct dr_spawn *s)
{
	size_t i;

	dr_tasklog_free(s->log);
	for (i = 0; s->env != NULL && s->env[i] != NULL; i++)
		free(s->env[i]);
	free(s->env);
	if (s->stdin_data != NULL) {
		/* It may be a secret: do not leave it in freed memory. */
		volatile char *p = s->stdin_data;
		for (i = 0; i < s->stdin_len; i++)
			p[i] = 0;
	}
	free(s->stdin_data);
	free(s->command);
	free(s->cwd);
	free(s->log_path);
	dr_buf_free(&s->tail);
	dr_scrub_free(&s->scrub);
	free(s);
}

static void
deliver(struct dr_spawn *s)
{
	struct dr_spawn_result res;
	struct dr_buf msg;
	char d[32];

	memset(&res, 0, sizeof(res));
	res.status = s->status;
	res.exit_code = s->exit_code;
	res.term_signal = s->term_signal;
	res.pid = s->pid;
	res.tail_len = s->tail.len;
	res.tail_truncated = s->tail.truncated;
	res.tail = dr_buf_steal(&s->tail);
	res.bytes_out = s->bytes_out;
	res.log_error = s->log ? dr_tasklog_errno(s->log) : 0;
	res.elapsed_ms = dr_now_mono_ms() - s->t0;

	dr_buf_init(&msg, 0);
	dr_duration_fmt(res.elapsed_ms, d, sizeof(d));
	switch (s->status) {
	case DR_EIO:
		if (s->spawn_error != 0)
			dr_buf_printf(&msg, "spawn failed: %s",
			              uv_strerror(s->spawn_error));
		else
			dr_buf_printf(&msg, "%s", dr_tasklog_error(s->log));
		break;
	case DR_ETIMEDOUT:
		dr_buf_printf(&msg, "timed out after %s",
		              dr_duration_fmt(s->timeout_ms, d, sizeof(d)));
		break;
	case DR_ECANCELED:
		dr_buf_printf(&msg, "cancelled after %s", d);
		break;
	default:
		if (s->term_signal != 0)
			dr_buf_printf(&msg, "killed by signal %d after %s",
			              s->term_signal, d);
		else
			dr_buf_printf(&msg, "exit %d after %s", s->exit_code,
			              d);
		break;
	}
	if (s->log && dr_tasklog_error(s->log) && s->status != DR_EIO)
		dr_buf_printf(&msg, "; %s", dr_tasklog_error(s->log));
	res.message = dr_buf_steal(&msg);

	s->cb(&res, s->arg);
	free(res.tail);
	free(res.message);
	free_run(s);
}

static void
on_close(uv_handle_t *h)
{
	struct dr_spawn *s = h->data;

	if (--s->nhandles == 0 && s->state == ST_CLOSING)
		deliver(s);
}

static void
close_handle(struct dr_spawn *s, uv_handle_t *h)
{
	(void)s;
	if (!uv_is_closing(h))
		uv_close(h, on_close);
}

static void
close_all(struct dr_spawn *s)
{
	set_state(s, ST_CLOSING);
	close_handle(s, (uv_handle_t *)&s->deadline);
	close_handle(s, (uv_handle_t *)&s->grace);
	close_handle(s, (uv_handle_t *)&s->drain);
	if (s->proc_init)
		close_handle(s, (uv_handle_t *)&s->proc);
	if (s->in_open) {
		s->in_open = false;
		close_handle(s, (uv_handle_t *)&s->in);
	}
	if (s->out_open) {
		s->out_open = false;
		close_handle(s, (uv_handle_t *)&s->out);
	}
}

static void
kill_group(struct dr_spawn *s, int sig)
{
	if (s->pid > 0 && kill(-s->pid, sig) != 0 && errno != ESRCH)
		fprintf(stderr, "drover: spawn: kill -%d -%d: %s\n", sig,
		        s->pid, strerror(errno));
}

static void
on_grace(uv_timer_t *t)
{
	struct dr_spawn *s = t->data;

	s->killed_hard = true;
	kill_group(s, SIGKILL);
}

static void
kill_start(struct dr_spawn *s)
{
	if (s->killing || !s->spawned)
		return;
	s->killing = true;
	kill_group(s, SIGTERM);
	uv_timer_start(&s->grace, on_grace, KILL_GRACE_MS, 0);
}

static void
on_deadline(uv_timer_t *t)
{
	struct dr_spawn *s = t->data;

	if (s->status == 0)
		s->status = DR_ETIMEDOUT;
	kill_start(s);
}

/* Enters FLUSHING: nothing more is read; the log is drained and closed. */
static void
enter_flush(struct dr_spawn *s)
{
	set_state(s, ST_FLUSHING);
	uv_timer_stop(&s->deadline);
	uv_timer_stop(&s->grace);
	uv_timer_stop(&s->drain);
	if (s->in_open) {
		/* A grandchild may hold stdin without reading: cancel. */
		s->in_open = false;
		close_handle(s, (uv_handle_t *)&s->in);
	}
	flush_log(s);
}

static void start_reading(struct dr_spawn *s);

/* The log moved on: opened, wrote, closed. */
static void
on_log_event(void *arg)
{
	struct dr_spawn *s = arg;

	if (s->state == ST_OPENING && dr_tasklog_opened(s->log)) {
		if (dr_tasklog_error(s->log) != NULL) {
			s->status = DR_EIO; /* no log, no run */
			enter_flush(s);
		} else if (s->status == DR_ECANCELED) {
			enter_flush(s);
		} else {
			do_spawn(s);
		}
		return;
	}
	if (s->state == ST_RUNNING && !s->reading &&
	    dr_tasklog_backlog(s->log) < LOG_LOW)
		start_reading(s);
	if (s->state == ST_FLUSHING && dr_tasklog_closed(s->log))
		close_all(s);
}

/* FLUSHING: the log is drained and closed, then the handles. */
static void
flush_log(struct dr_spawn *s)
{
	if (s->log == NULL) {
		close_all(s);
		return;
	}
	dr_tasklog_close(s->log);
}

static void
close_out(struct dr_spawn *s)
{
	if (!s->out_open)
		return;
	s->out_open = false;
	s->reading = false;
	uv_read_stop((uv_stream_t *)&s->out);
	close_handle(s, (uv_handle_t *)&s->out);
	check_done(s);
}

static void
on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	buf->base = dr_xmalloc(READ_CHUNK);
	buf->len = READ_CHUNK;
}

static void output(struct dr_spawn *s, struct dr_buf *clean);

static void
on_read(uv_stream_t *st, ssize_t n, const uv_buf_t *buf)
{
	struct dr_spawn *s = st->data;

	struct dr_buf clean;

	if (n <= 0) {
		free(buf->base);
		if (n < 0) {
			/* Release what the scrubber held back. */
			dr_buf_init(&clean, 0);
			dr_scrub_flush(&s->scrub, &clean);
			if (clean.len)
				output(s, &clean);
			dr_buf_free(&clean);
			close_out(s); /* EOF or error: the pipe is done */
		}
		return;
	}
	s->bytes_out += (uint64_t)n;
	dr_buf_init(&clean, 0);
	dr_scrub_feed(&s->scrub, buf->base, (size_t)n, &clean);
	free(buf->base);
	if (clean.len)
		output(s, &clean);
	dr_buf_free(&clean);
	(void)st;
}

/* Scrubbed output: into the tail, and queued for the log. */
static void
output(struct dr_spawn *s, struct dr_buf *clean)
{
	dr_buf_append(&s->tail, clean->data, clean->len);
	if (s->log == NULL)
		return;
	dr_tasklog_write(s->log, clean->data, clean->len);
	if (dr_tasklog_backlog(s->log) > LOG_HIGH) {
		uv_read_stop((uv_stream_t *)&s->out);
		s->reading = false;
	}
}

static void
start_reading(struct dr_spawn *s)
{
	if (s->out_open && !s->reading &&
	    uv_read_start((uv_stream_t *)&s->out, on_alloc, on_read) == 0)
		s->reading = true;
}

static void
on_drain(uv_timer_t *t)
{
	struct dr_spawn *s = t->data;

	/* Reading paused for a slow log disk: the output is ours to read,
	 * not a grandchild holding the pipe; wait again. */
	if (s->out_open && !s->reading) {
		uv_timer_start(&s->drain, on_drain, DRAIN_MS, 0);
		return;
	}
	/* The command exited but something still holds the pipe. */
	close_out(s);
}

static void
check_done(struct dr_spawn *s)
{
	if (s->state != ST_RUNNING || !s->exited || s->out_open)
		return;
	/* The leader is gone; make sure nothing of a killed group stays. */
	if (s->killing && !s->killed_hard)
		kill_group(s, SIGKILL);
	enter_flush(s);
}

static void
on_proc_exit(uv_process_t *p, int64_t status, int sig)
{
	struct dr_spawn *s = p->data;

	s->exited = true;
	s->exit_code = (int)status;
	s->term_signal = sig;
	if (s->out_open)
		uv_timer_start(&s->drain, on_drain, DRAIN_MS, 0);
	check_done(s);
}

static void
on_written(uv_write_t *req, int status)
{
	struct dr_spawn *s = req->data;

	(void)status; /* EPIPE: the command did not read its stdin */
	if (s->in_open) {
		s->in_open = false;
		close_handle(s, (uv_handle_t *)&s->in);
	}
}

static void
do_spawn(struct dr_spawn *s)
{
	uv_process_options_t po;
	uv_stdio_container_t stdio[3];
	char *args[4];
	uv_file fds[2];
	int r;

	set_state(s, ST_RUNNING);
	r = uv_pipe(fds, 0, 0);
	if (r != 0) {
		s->spawn_error = r;
		s->status = DR_EIO;
		enter_flush(s);
		return;
	}
	uv_pipe_init(s->loop, &s->out, 0);
	s->out.data = s;
	s->nhandles++;
	s->out_open = true;
	r = uv_pipe_open(&s->out, fds[0]);
	if (r != 0) {
		close(fds[0]);
		close(fds[1]);
		s->spawn_error = r;
		s->status = DR_EIO;
		close_out(s);
		enter_flush(s);
		return;
	}
	memset(stdio, 0, sizeof(stdio));
	if (s->stdin_data != NULL) {
		uv_pipe_init(s->loop, &s->in, 0);
		s->in.data = s;
		s->nhandles++;
		s->in_open = true;
		stdio[0].flags = UV_CREATE_PIPE | UV_READABLE_PIPE;
		stdio[0].data.stream = (uv_stream_t *)&s->in;
	} else {
		stdio[0].flags = UV_IGNORE;
	}
	stdio[1].flags = UV_INHERIT_FD;
	stdio[1].data.fd = fds[1];
	stdio[2].flags = UV_INHERIT_FD;
	stdio[2].data.fd = fds[1];

	args[0] = "/bin/sh";
	args[1] = "-c";
	args[2] = s->command;
	args[3] = NULL;
	memset(&po, 0, sizeof(po));
	po.exit_cb = on_proc_exit;
	po.file = args[0];
	po.args = args;
	po.env = s->env;
	po.cwd = s->cwd;
	po.flags = UV_PROCESS_DETACHED;
	po.stdio_count = 3;
	po.stdio = stdio;

	s->proc.data = s;
	r = uv_spawn(s->loop, &s->proc, &po);
	s->proc_init = true; /* initialized even when uv_spawn fails */
	s->nhandles++;
	close(fds[1]);
	if (r != 0) {
		s->spawn_error = r;
		s->status = DR_EIO;
		close_out(s);
		enter_flush(s);
		return;
	}
	s->spawned = true;
	s->pid = s->proc.pid;
	start_reading(s);
	if (s->stdin_data != NULL) {
		uv_buf_t b = uv_buf_init(s->stdin_data, s->stdin_len);
		s->wreq.data = s;
		if (uv_write(&s->wreq, (uv_stream_t *)&s->in, &b, 1,
		             on_written) != 0) {
			s->in_open = false;
			close_handle(s, (uv_handle_t *)&s->in);
		}
	}
	if (s->timeout_ms > 0)
		uv_timer_start(&s->deadline, on_deadline, s->timeout_ms, 0);
	if (s->status == DR_ECANCELED)
		kill_start(s);
}

int
dr_spawn_start(uv_loop_t *loop, const struct dr_spawn_opts *o, dr_spawn_cb cb,
               void *arg, struct dr_spawn **out)
{
	struct dr_spawn *s;
	char **env = NULL;
	int r;

	if (out != NULL)
		*out = NULL;
	if (loop == NULL || o == NULL || cb == NULL || o->command == NULL ||
	    (o->stdin_data == NULL && o->stdin_len != 0))
		return DR_EINVAL;
	if ((r = build_env(o->env_extra, o->env_only, &env)) != 0)
		return r;
	ignore_sigpipe();

	s = dr_xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->cb = cb;
	s->arg = arg;
	s->state = ST_OPENING;
	s->command = dr_xstrdup(o->command);
	s->cwd = o->cwd != NULL ? dr_xstrdup(o->cwd) : NULL;
	s->log_path = o->log_path != NULL ? dr_xstrdup(o->log_path) : NULL;
	s->env = env;
	if (o->stdin_data != NULL) {
		s->stdin_data = dr_xmalloc(o->stdin_len ? o->stdin_len : 1);
		memcpy(s->stdin_data, o->stdin_data, o->stdin_len);
		s->stdin_len = o->stdin_len;
	}
	s->timeout_ms = o->timeout_ms;
	dr_buf_init(&s->tail, o->tail_cap ? o->tail_cap : TAIL_DEFAULT);
	dr_scrub_init(&s->scrub, o->secret_values, o->secret_names,
	              o->nsecrets);
	s->t0 = dr_now_mono_ms();

	uv_timer_init(loop, &s->deadline);
	uv_timer_init(loop, &s->grace);
	uv_timer_init(loop, &s->drain);
	s->deadline.data = s->grace.data = s->drain.data = s;
	s->nhandles = 3;

	if (s->log_path != NULL)
		s->log = dr_tasklog_open(loop, s->log_path, on_log_event, s);
	else
		do_spawn(s);
	if (out != NULL)
		*out = s;
	return 0;
}

void
dr_spawn_cancel(struct dr_spawn *s)
{
	if (s == NULL || s->status != 0)
		return;
	switch (s->state) {
	case ST_OPENING:
		s->status = DR_ECANCELED; /* seen when the open completes */
		break;
	case ST_RUNNING:
		s->status = DR_ECANCELED;
		kill_start(s);
		break;
	default:
		break;
	}
}
