/*
 * test_spawn.c: local commands through /bin/sh: exit codes, log and tail,
 * stdin, environment, deadlines that kill the whole process group, cancel.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <errno.h>
#include <signal.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "test_loop.h"
#include "drover/spawn.h"
#include "drover/tasklog.h"

struct outcome {
	int calls;
	int status;
	int exit_code;
	int term_signal;
	int pid;
	char *tail;
	size_t tail_len;
	bool tail_truncated;
	uint64_t bytes_out;
	int log_error;
	uint64_t elapsed_ms;
	char *message;
};

static void
spawn_done(struct dr_spawn_result *res, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->status = res->status;
	o->exit_code = res->exit_code;
	o->term_signal = res->term_signal;
	o->pid = res->pid;
	o->tail = res->tail; /* keep both strings */
	res->tail = NULL;
	o->tail_len = res->tail_len;
	o->tail_truncated = res->tail_truncated;
	o->bytes_out = res->bytes_out;
	o->log_error = res->log_error;
	o->elapsed_ms = res->elapsed_ms;
	o->message = res->message;
	res->message = NULL;
	printf("# pid %d: %s\n", o->pid, o->message);
}

static void
outcome_free(struct outcome *o)
{
	free(o->tail);
	free(o->message);
}

/* Starts o, runs the loop until idle, checks cb ran exactly once. */
static void
run_cmd(const struct dr_spawn_opts *o, struct outcome *out)
{
	uv_loop_t *loop = new_loop();

	assert_int_equal(dr_spawn_start(loop, o, spawn_done, out, NULL), 0);
	assert_int_equal(out->calls, 0); /* never from inside start */
	end_loop(loop);
	assert_int_equal(out->calls, 1);
}

/*
 * Number of live (not zombie) processes in process group pgid, waiting up
 * to one second for dying ones to finish (they close their files before
 * they turn into zombies).
 */
static int
group_alive(int pgid)
{
	int tries, alive = 0;

	for (tries = 0; tries < 100; tries++) {
		DIR *d = opendir("/proc");
		struct dirent *e;

		assert_non_null(d);
		alive = 0;
		while ((e = readdir(d)) != NULL) {
			char path[300], buf[512], *rp, st;
			int ppid, pgrp;
			FILE *f;
			size_t n;

			if (e->d_name[0] < '0' || e->d_name[0] > '9')
				continue;
			snprintf(path, sizeof(path), "/proc/%s/stat",
			         e->d_name);
			if ((f = fopen(path, "r")) == NULL)
				continue;
			n = fread(buf, 1, sizeof(buf) - 1, f);
			fclose(f);
			buf[n] = '\0';
			if ((rp = strrchr(buf, ')')) == NULL ||
			    sscanf(rp + 1, " %c %d %d", &st, &ppid, &pgrp) != 3)
				continue;
			if (pgrp == pgid && st != 'Z' && st != 'X')
				alive++;
		}
		closedir(d);
		if (alive == 0)
			break;
		usleep(10000);
	}
	return alive;
}

static char *
tmp_path(const char *name)
{
	const char *dir = getenv("TMPDIR");
	char *d = dr_xasprintf("%s/drover-test-spawn-%d",
	                       dir != NULL ? dir : "/tmp", (int)getpid());
	char *p = dr_xasprintf("%s/%s", d, name);

	/* The logs of one directory share its output file (tasklog.h). */
	(void)mkdir(d, 0700);
	free(d);
	return p;
}

struct logdata {
	const char *name;
	struct dr_buf b;
	int frames;
};

static void
log_frame(void *arg, const char *name, const char *data, size_t n)
{
	struct logdata *ld = arg;

	if (strcmp(name, ld->name) != 0)
		return;
	dr_buf_append(&ld->b, data, n);
	ld->frames++;
}

/* What a log at path holds: its frames in its directory's output file. */
static char *
log_data(const char *path, size_t *len)
{
	const char *slash = strrchr(path, '/');
	char *dir = dr_xstrndup(path, (size_t)(slash - path));
	char *name = dr_xstrdup(slash + 1);
	size_t n = strlen(name);
	struct logdata ld = {0};
	uint64_t pos = 0;
	int r;

	if (n > 4 && strcmp(name + n - 4, ".log") == 0)
		name[n - 4] = '\0';
	ld.name = name;
	dr_buf_init(&ld.b, 0);
	r = dr_tasklog_read(dir, &pos, log_frame, &ld);
	assert_int_equal(r, 0);
	*len = ld.b.len;
	free(dir);
	free(name);
	if (ld.b.data == NULL)
		return dr_xstrdup("");
	return dr_buf_steal(&ld.b);
}

static void
test_exit_code(void **state)
{
	struct dr_spawn_opts o = {.command = "echo hello; exit 3"};
	struct outcome out = {0};

	run_cmd(&o, &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.exit_code, 3);
	assert_int_equal(out.term_signal, 0);
	assert_true(out.pid > 0);
	assert_string_equal(out.tail, "hello\n");
	assert_int_equal(out.bytes_out, 6);
	assert_true(strncmp(out.message, "exit 3 after ", 13) == 0);
	outcome_free(&out);
}

static void
test_log_and_tail(void **state)
{
	char *log = tmp_path("log");
	struct dr_spawn_opts o = {0};
	struct outcome out = {0};
	char *data;
	size_t len;

	/* The log is appended to, never truncated. */
	o.command = "echo old";
	o.log_path = log;
	run_cmd(&o, &out);
	assert_int_equal(out.status, 0);
	outcome_free(&out);
	memset(&out, 0, sizeof(out));
	o.command = "head -c 3000000 /dev/zero | tr '\\0' a; "
	            "head -c 1000000 /dev/zero | tr '\\0' b >&2; printf END";
	o.log_path = log;
	o.tail_cap = 100;
	run_cmd(&o, &out);

	assert_int_equal(out.status, 0);
	assert_int_equal(out.exit_code, 0);
	assert_int_equal(out.log_error, 0);
	assert_int_equal(out.bytes_out, 4000003);
	data = log_data(log, &len);
	assert_int_equal(len, 4 + 4000003);
	assert_int_equal(out.tail_len, 100);
	assert_int_equal(strlen(out.tail), 100);
	assert_true(out.tail_truncated);
	assert_string_equal(out.tail + 97, "END");
	assert_int_equal(out.tail[0], 'b');

	/* In order: old, then all a's, then all b's, then END. */
	assert_memory_equal(data, "old\n", 4);
	assert_memory_equal(data + 4 + 2999999, "ab", 2);
	assert_memory_equal(data + len - 3, "END", 3);
	free(data);
	free(log);
	outcome_free(&out);
}

static void
test_new_log_is_private(void **state)
{
	char *log = tmp_path("new.log");
	struct dr_spawn_opts o = {.command = "echo x"};
	struct outcome out = {0};
	struct stat sb;
	char *data;
	size_t len;

	o.log_path = log;
	run_cmd(&o, &out);
	assert_int_equal(out.status, 0);
	data = log_data(log, &len);
	assert_int_equal(len, 2);
	assert_memory_equal(data, "x\n", 2);
	free(data);
	/* The run's one output file is private. */
	{
		char *f =
		    dr_xasprintf("%.*s/%s", (int)(strrchr(log, '/') - log), log,
		                 DR_TASKLOG_FILE);
		assert_int_equal(stat(f, &sb), 0);
		assert_int_equal(sb.st_mode & 0777, 0600);
		free(f);
	}
	free(log);
	outcome_free(&out);
}

static void
test_stdin_secret(void **state)
{
	static const char secret[] = "s3cr3t-Zq9-value";
	struct dr_spawn_opts o = {0};
	struct outcome out = {0};
	const char *p;
	int count = 0;

	/* cat echoes stdin; then the shell prints its own command line and
	 * its environment: the secret must appear once, from cat. */
	o.command = "cat; echo; tr '\\0' ' ' </proc/$$/cmdline; echo; env";
	o.stdin_data = secret;
	o.stdin_len = strlen(secret);
	o.tail_cap = 1 << 20;
	run_cmd(&o, &out);

	assert_int_equal(out.status, 0);
	assert_int_equal(out.exit_code, 0);
	assert_true(strncmp(out.tail, secret, strlen(secret)) == 0);
	assert_non_null(strstr(out.tail, "/bin/sh -c cat;"));
	for (p = out.tail; (p = strstr(p, secret)) != NULL; p++)
		count++;
	assert_int_equal(count, 1);
	assert_null(strstr(o.command, secret));
	outcome_free(&out);
}

static void
test_big_stdin_unread(void **state)
{
	/* The command never reads 4 MB of stdin: no SIGPIPE, no hang. */
	size_t n = 4 << 20;
	char *data = malloc(n);
	struct dr_spawn_opts o = {.command = "exit 0"};
	struct outcome out = {0};

	assert_non_null(data);
	memset(data, 'x', n);
	o.stdin_data = data;
	o.stdin_len = n;
	run_cmd(&o, &out);
	free(data);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.exit_code, 0);
	outcome_free(&out);
}

static void
test_env_and_cwd(void **state)
{
	static const char *const env[] = {"DR_TEST_FOO=bar baz", "HOME=/nope",
	                                  NULL};
	struct dr_spawn_opts o = {0};
	struct outcome out = {0};

	o.command = "echo \"$DR_TEST_FOO\"; echo \"$HOME\"; pwd";
	o.env_extra = env;
	o.cwd = "/";
	run_cmd(&o, &out);
	assert_int_equal(out.status, 0);
	assert_string_equal(out.tail, "bar baz\n/nope\n/\n");
	outcome_free(&out);
}

static void
test_timeout_kills_tree(void **state)
{
	struct dr_spawn_opts o = {0};
	struct outcome out = {0};

	o.command = "sleep 300 & sleep 300; wait";
	o.timeout_ms = 300;
	run_cmd(&o, &out);
	assert_int_equal(out.status, DR_ETIMEDOUT);
	assert_int_equal(out.term_signal, SIGTERM);
	assert_string_equal(out.message, "timed out after 300ms");
	assert_true(out.elapsed_ms >= 300 && out.elapsed_ms < 2000);
	assert_int_equal(group_alive(out.pid), 0);
	outcome_free(&out);
}

static void
test_timeout_term_ignored(void **state)
{
	struct dr_spawn_opts o = {0};
	struct outcome out = {0};

	/* TERM is ignored by the shell and, inherited, by both sleeps: the
	 * group dies from the KILL after two seconds of grace. */
	o.command = "trap '' TERM; sleep 300 & sleep 300; wait";
	o.timeout_ms = 200;
	run_cmd(&o, &out);
	assert_int_equal(out.status, DR_ETIMEDOUT);
	assert_int_equal(out.term_signal, SIGKILL);
	assert_true(out.elapsed_ms >= 2200 && out.elapsed_ms < 5000);
	assert_int_equal(group_alive(out.pid), 0);
	outcome_free(&out);
}

static void
cancel_cb(uv_timer_t *t)
{
	dr_spawn_cancel(t->data);
	dr_spawn_cancel(t->data); /* no-op */
	uv_close((uv_handle_t *)t, NULL);
}

static void
test_cancel(void **state)
{
	uv_loop_t *loop = new_loop();
	struct dr_spawn_opts o = {.command = "sleep 300 & sleep 300"};
	struct outcome out = {0};
	struct dr_spawn *s;
	uv_timer_t t;

	assert_int_equal(dr_spawn_start(loop, &o, spawn_done, &out, &s), 0);
	uv_timer_init(loop, &t);
	t.data = s;
	uv_timer_start(&t, cancel_cb, 100, 0);
	end_loop(loop);
	assert_int_equal(out.calls, 1);
	assert_int_equal(out.status, DR_ECANCELED);
	assert_int_equal(out.term_signal, SIGTERM);
	assert_true(strncmp(out.message, "cancelled after ", 16) == 0);
	assert_int_equal(group_alive(out.pid), 0);
	outcome_free(&out);
}

static void
test_killed_by_signal(void **state)
{
	struct dr_spawn_opts o = {.command = "kill -9 $$"};
	struct outcome out = {0};

	run_cmd(&o, &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.term_signal, 9);
	assert_int_equal(out.exit_code, 0);
	assert_true(strncmp(out.message, "killed by signal 9 after ", 25) == 0);
	outcome_free(&out);
}

static void
test_grandchild_holds_pipe(void **state)
{
	struct dr_spawn_opts o = {0};
	struct outcome out = {0};

	/* The shell exits at once; its background sleep keeps stdout open.
	 * The run ends after the bounded drain, not after 300 s. */
	o.command = "echo started; sleep 300 & exit 0";
	run_cmd(&o, &out);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.exit_code, 0);
	assert_string_equal(out.tail, "started\n");
	assert_true(out.elapsed_ms >= 1900 && out.elapsed_ms < 5000);
	assert_int_equal(group_alive(out.pid), 1); /* left alone */
	kill(-out.pid, SIGKILL);
	assert_int_equal(group_alive(out.pid), 0);
	outcome_free(&out);
}

static void
test_spawn_failure(void **state)
{
	struct dr_spawn_opts o = {.command = "true", .cwd = "/nonexistent/x"};
	struct outcome out = {0};

	run_cmd(&o, &out);
	assert_int_equal(out.status, DR_EIO);
	assert_int_equal(out.pid, 0);
	assert_string_equal(out.message,
	                    "spawn failed: no such file or directory");
	outcome_free(&out);
}

static void
test_log_open_failure(void **state)
{
	char *marker = tmp_path("never");
	char *cmd = dr_xasprintf("touch %s", marker);
	struct dr_spawn_opts o = {.log_path = "/nonexistent/dir/log"};
	struct outcome out = {0};

	/* Without its log the command does not run at all. */
	o.command = cmd;
	run_cmd(&o, &out);
	assert_int_equal(out.status, DR_EIO);
	assert_int_equal(out.pid, 0);
	assert_string_equal(out.message, "log /nonexistent/dir/log: open: no "
	                                 "such file or directory");
	assert_int_equal(access(marker, F_OK), -1);
	free(cmd);
	free(marker);
	outcome_free(&out);
}

static void
test_cancel_while_opening_log(void **state)
{
	uv_loop_t *loop = new_loop();
	char *log = tmp_path("cancel.log");
	struct dr_spawn_opts o = {.command = "echo should-not-run"};
	struct outcome out = {0};
	struct dr_spawn *s;
	struct stat sb;
	char *data;
	size_t len;

	unlink(log);
	o.log_path = log;
	assert_int_equal(dr_spawn_start(loop, &o, spawn_done, &out, &s), 0);
	dr_spawn_cancel(s);
	end_loop(loop);
	assert_int_equal(out.calls, 1);
	assert_int_equal(out.status, DR_ECANCELED);
	assert_int_equal(out.pid, 0);
	data = log_data(log, &len);
	assert_int_equal(len, 0);
	(void)sb;
	free(data);
	free(log);
	outcome_free(&out);
}

static void
test_invalid(void **state)
{
	uv_loop_t *loop = new_loop();
	static const char *const bad_env[] = {"NOEQUALS", NULL};
	static const char *const bad_env2[] = {"=x", NULL};
	struct dr_spawn_opts o = {0};
	struct outcome out = {0};
	struct dr_spawn *s = (struct dr_spawn *)&o;

	assert_int_equal(dr_spawn_start(loop, &o, spawn_done, &out, &s),
	                 DR_EINVAL);
	assert_null(s);
	o.command = "true";
	o.env_extra = bad_env;
	assert_int_equal(dr_spawn_start(loop, &o, spawn_done, &out, NULL),
	                 DR_EINVAL);
	o.env_extra = bad_env2;
	assert_int_equal(dr_spawn_start(loop, &o, spawn_done, &out, NULL),
	                 DR_EINVAL);
	end_loop(loop);
	assert_int_equal(out.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_exit_code),
	    cmocka_unit_test(test_log_and_tail),
	    cmocka_unit_test(test_new_log_is_private),
	    cmocka_unit_test(test_stdin_secret),
	    cmocka_unit_test(test_big_stdin_unread),
	    cmocka_unit_test(test_env_and_cwd),
	    cmocka_unit_test(test_timeout_kills_tree),
	    cmocka_unit_test(test_timeout_term_ignored),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_killed_by_signal),
	    cmocka_unit_test(test_grandchild_holds_pipe),
	    cmocka_unit_test(test_spawn_failure),
	    cmocka_unit_test(test_log_open_failure),
	    cmocka_unit_test(test_cancel_while_opening_log),
	    cmocka_unit_test(test_invalid),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
