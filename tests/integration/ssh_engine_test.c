/*
 * ssh_engine_test.c: the SSH engine and the relay against two real sshd
 * started by sshd-fixture.sh (argv[1] is the fixture directory).
 *
 * Each case runs on its own loop; afterwards the loop must run dry and
 * uv_loop_close() must return 0 (no leaked handles or requests).
 * DROVER_TEST_FILTER=NAME runs only the cases whose name matches (cmocka's
 * test filter, '*' and '?' as wildcards), against a fixture started by hand
 * with an absolute directory: sh sshd-fixture.sh start "$PWD/fx".
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "drover/sha256.h"
#include "drover/ssh.h"
#include "drover/tasklog.h"
#include "drover/transfer.h"

static char fixdir[512];
static char key[600], known[600], known_bad[600];
static const char *host1 = "127.0.9.1", *host2 = "127.0.9.2";
static const char *host3 = "127.0.9.3"; /* forks: no group leader */
static const char *host4 = "127.0.9.4"; /* MaxSessions 2 */
static const char *host5 = "127.0.9.5"; /* tcsh reads the commands */
static const char *host6 = "127.0.9.6"; /* fish reads the commands */
static const char *host7 = "127.0.9.7"; /* sh, a greeting on stdout */
static const char *host8 = "127.0.9.8"; /* sh, a complaint on stderr */
static int conn_channels; /* channels of the next conn_open; 0: 1 */
static int ends;          /* results delivered so far, for their order */

/* Per-case state */
struct conn {
	struct dr_ssh *ssh;
	struct dr_ssh_cmd *cmd; /* the last command started */
	int status;             /* 1: pending */
	char msg[1024];
	struct dr_ssh_result res;
	char *tail;
	char *rmsg;
	int done;
	int order; /* ends when it ended */
	int closed;
};

static void
on_connect(struct dr_ssh *ssh, int status, const char *msg, void *arg)
{
	struct conn *c = arg;

	c->status = status;
	snprintf(c->msg, sizeof(c->msg), "%s", msg);
}

static void
on_exec(struct dr_ssh *ssh, const struct dr_ssh_result *r, void *arg)
{
	struct conn *c = arg;

	c->res = *r;
	free(c->tail);
	free(c->rmsg);
	c->tail = strdup(r->tail);
	c->rmsg = strdup(r->message);
	c->res.tail = c->tail;
	c->res.message = c->rmsg;
	c->done = 1;
	c->order = ++ends;
}

static void res_free(struct conn *k, int n);

static void
on_close(void *arg)
{
	struct conn *c = arg;

	c->closed = 1;
}

static uv_loop_t *
loop_new(void)
{
	uv_loop_t *l = malloc(sizeof(*l));

	assert_non_null(l);
	assert_int_equal(uv_loop_init(l), 0);
	return l;
}

static void
walk_cb(uv_handle_t *h, void *arg)
{
	fprintf(stderr, "leaked handle type %s\n",
	        uv_handle_type_name(h->type));
}

static void
loop_done(uv_loop_t *l)
{
	int rc;

	uv_run(l, UV_RUN_DEFAULT);
	rc = uv_loop_close(l);
	if (rc != 0)
		uv_walk(l, walk_cb, NULL);
	assert_int_equal(rc, 0);
	free(l);
}

static void
run_until(uv_loop_t *l, int *flag)
{
	while (!*flag)
		assert_int_not_equal(uv_run(l, UV_RUN_ONCE), -1);
}

static void
conn_open(uv_loop_t *l, struct conn *c, const char *host, const char *kh,
          int port)
{
	struct dr_ssh_opts o;

	memset(c, 0, sizeof(*c));
	memset(&o, 0, sizeof(o));
	o.label = host == host1 ? "lab/one" : "lab/two";
	o.channels = conn_channels;
	o.address = host;
	o.port = port;
	o.user = "drtest";
	o.identity = key;
	o.known_hosts = kh;
	o.connect_timeout_ms = 5000;
	o.keepalive_ms = 2000;
	o.keepalive_max = 3;
	c->status = 1;
	assert_int_equal(dr_ssh_new(l, &o, &c->ssh), 0);
	assert_int_equal(dr_ssh_connect(c->ssh, on_connect, c), 0);
	while (c->status == 1)
		uv_run(l, UV_RUN_ONCE);
}

static void
conn_close(uv_loop_t *l, struct conn *c)
{
	dr_ssh_close(c->ssh, on_close, c);
	run_until(l, &c->closed);
	free(c->tail);
	free(c->rmsg);
	c->tail = c->rmsg = NULL;
}

static void
run_cmd(uv_loop_t *l, struct conn *c, const char *cmd, const char *log,
        size_t tail_cap, uint64_t timeout_ms)
{
	struct dr_ssh_exec_opts o;

	memset(&o, 0, sizeof(o));
	o.command = cmd;
	o.log_path = log;
	o.tail_cap = tail_cap;
	o.timeout_ms = timeout_ms;
	c->done = 0;
	{
		int r = dr_ssh_exec(c->ssh, &o, on_exec, c, &c->cmd);
		if (r != 0)
			fail_msg("exec \"%s\": %s: %s", cmd, dr_strerror(r),
			         dr_ssh_error(c->ssh));
	}
	run_until(l, &c->done);
}

static void
test_echo(void **state)
{
	uv_loop_t *l = loop_new();
	struct conn c;

	conn_open(l, &c, host1, known, 2222);
	if (c.status != 0)
		fail_msg("connect: %s", c.msg);
	run_cmd(l, &c, "echo hi", NULL, 0, 10000);
	assert_int_equal(c.res.status, 0);
	assert_int_equal(c.res.exit_code, 0);
	assert_string_equal(c.res.exit_signal, "");
	assert_string_equal(c.res.tail, "hi\n");
	/* The same session runs the next command; stdin reaches it. */
	{
		struct dr_ssh_exec_opts o;
		memset(&o, 0, sizeof(o));
		o.command = "read v; echo \"got $v\"";
		o.stdin_data = "s3cret\n";
		o.stdin_len = 7;
		c.done = 0;
		assert_int_equal(dr_ssh_exec(c.ssh, &o, on_exec, &c, &c.cmd),
		                 0);
		assert_int_equal(dr_ssh_exec(c.ssh, &o, on_exec, &c, NULL),
		                 DR_EBUSY); /* one channel: busy */
		assert_int_equal(dr_ssh_slots(c.ssh), 0);
		run_until(l, &c.done);
		assert_string_equal(c.res.tail, "got s3cret\n");
	}
	/* Quoting: a command full of shell metacharacters stays intact. */
	run_cmd(l, &c, "printf '%s\\n' \"it's\" '$(x)' '`y`'", NULL, 0, 10000);
	assert_string_equal(c.res.tail, "it's\n$(x)\n`y`\n");
	/*
	 * The wrapper's shell runs the command itself (eval): the command
	 * sees no arguments and none of the wrapper's variables, and a
	 * here-document, set -u and the exit status work as in a shell of
	 * its own.
	 */
	run_cmd(l, &c,
	        "set -u; echo \"$# ${_dr_g-unset} ${_dr_x-unset}\"; "
	        "cat <<EOF\nheredoc $#\nEOF\nfalse",
	        NULL, 0, 10000);
	assert_int_equal(c.res.exit_code, 1);
	assert_string_equal(c.res.tail, "0 unset unset\nheredoc 0\n");
	conn_close(l, &c);
	loop_done(l);
}

static void
test_exit_code_and_signal(void **state)
{
	uv_loop_t *l = loop_new();
	struct conn c;

	conn_open(l, &c, host1, known, 2222);
	assert_int_equal(c.status, 0);
	run_cmd(l, &c, "echo out; echo err >&2; exit 3", NULL, 0, 10000);
	assert_int_equal(c.res.status, 0);
	assert_int_equal(c.res.exit_code, 3);
	assert_non_null(strstr(c.res.message, "exit 3 after"));
	assert_int_equal(c.res.bytes_out, 4);
	assert_int_equal(c.res.bytes_err, 4);
	run_cmd(l, &c, "kill -KILL $$", NULL, 0, 10000);
	assert_int_equal(c.res.status, 0);
	assert_string_equal(c.res.exit_signal, "KILL");
	conn_close(l, &c);
	loop_done(l);
}

/* Bytes the frames named name hold in dir's output file (tasklog.h). */
struct mb_count {
	const char *name;
	size_t bytes;
};

static void
count_frame(void *arg, const char *name, const char *data, size_t n)
{
	struct mb_count *mc = arg;

	(void)data;
	if (strcmp(name, mc->name) == 0)
		mc->bytes += n;
}

static void
test_megabytes(void **state)
{
	uv_loop_t *l = loop_new();
	struct conn c;
	char log[700];
	struct stat st;

	snprintf(log, sizeof(log), "%s/mb-%d.log", fixdir, (int)getpid());
	conn_open(l, &c, host1, known, 2222);
	assert_int_equal(c.status, 0);
	run_cmd(l, &c,
	        "head -c 8000000 /dev/zero | tr '\\0' a; "
	        "head -c 8000000 /dev/zero | tr '\\0' b >&2; echo end",
	        log, 1000, 60000);
	assert_int_equal(c.res.status, 0);
	assert_int_equal(c.res.exit_code, 0);
	assert_int_equal(c.res.bytes_out, 8000004);
	assert_int_equal(c.res.bytes_err, 8000000);
	assert_true(c.res.tail_len <= 1000);
	assert_true(c.res.tail_truncated);
	{
		/* Every byte in the log, in the run's one output file. */
		char name[64], out[800];
		struct mb_count mc = {name, 0};
		uint64_t pos = 0;
		snprintf(name, sizeof(name), "mb-%d", (int)getpid());
		assert_int_equal(
		    dr_tasklog_read(fixdir, &pos, count_frame, &mc), 0);
		assert_int_equal(mc.bytes, 16000004);
		snprintf(out, sizeof(out), "%s/%s", fixdir, DR_TASKLOG_FILE);
		assert_int_equal(stat(out, &st), 0);
		assert_int_equal(st.st_mode & 0777, 0600);
	}
	conn_close(l, &c);
	loop_done(l);
}

static void
test_timeout_kills(void **state)
{
	uv_loop_t *l = loop_new();
	struct conn c;
	struct dr_ssh_exec_opts o;
	uint64_t t0;

	conn_open(l, &c, host1, known, 2222);
	assert_int_equal(c.status, 0);
	memset(&o, 0, sizeof(o));
	o.command = "sleep 301 & sleep 300; echo never";
	o.timeout_ms = 2000;
	o.kill_tag = "engine-test-hang";
	t0 = dr_now_mono_ms();
	c.done = 0;
	assert_int_equal(dr_ssh_exec(c.ssh, &o, on_exec, &c, &c.cmd), 0);
	run_until(l, &c.done);
	assert_int_equal(c.res.status, DR_ETIMEDOUT);
	assert_non_null(strstr(c.res.message, "timed out after 2.0s"));
	assert_true(dr_now_mono_ms() - t0 < 10000);
	/* Both sleeps (the tree) are gone and the pid file removed. */
	run_cmd(l, &c,
	        "pgrep -u drtest -f 'sleep 30[01]' || echo none; "
	        "ls ${TMPDIR:-/tmp}/drover-engine-test-hang.pid 2>/dev/null "
	        "|| echo nopid",
	        NULL, 0, 10000);
	assert_string_equal(c.res.tail, "none\nnopid\n");
	conn_close(l, &c);
	loop_done(l);
}

/*
 * Where the wrapper does not lead a process group (server 3 forks a
 * subshell for every command), it runs the command under setsid with a pid
 * file: output, exit codes and the kill work the same.
 */
static void
test_not_group_leader(void **state)
{
	uv_loop_t *l = loop_new();
	struct conn c;
	struct dr_ssh_exec_opts o;

	conn_open(l, &c, host3, known, 2222);
	assert_int_equal(c.status, 0);
	run_cmd(l, &c, "echo out; echo err >&2; exit 3", NULL, 0, 10000);
	assert_int_equal(c.res.status, 0);
	assert_int_equal(c.res.exit_code, 3);
	assert_int_equal(c.res.bytes_out, 4);
	assert_int_equal(c.res.bytes_err, 4);
	memset(&o, 0, sizeof(o));
	o.command = "sleep 305 & sleep 304; echo never";
	o.timeout_ms = 2000;
	o.kill_tag = "engine-test-forked";
	c.done = 0;
	assert_int_equal(dr_ssh_exec(c.ssh, &o, on_exec, &c, &c.cmd), 0);
	run_until(l, &c.done);
	assert_int_equal(c.res.status, DR_ETIMEDOUT);
	assert_null(strstr(c.res.tail, "never"));
	run_cmd(l, &c,
	        "pgrep -u drtest -f 'sleep 30[45]' || echo none; "
	        "ls ${TMPDIR:-/tmp}/drover-engine-test-forked.pid 2>/dev/null "
	        "|| echo nopid",
	        NULL, 0, 10000);
	assert_string_equal(c.res.tail, "none\nnopid\n");
	conn_close(l, &c);
	loop_done(l);
}

static void
test_cancel(void **state)
{
	uv_loop_t *l = loop_new();
	struct conn c;
	struct dr_ssh_exec_opts o;

	conn_open(l, &c, host1, known, 2222);
	assert_int_equal(c.status, 0);
	memset(&o, 0, sizeof(o));
	o.command = "sleep 302";
	o.kill_tag = "engine-test-cancel";
	c.done = 0;
	assert_int_equal(dr_ssh_exec(c.ssh, &o, on_exec, &c, &c.cmd), 0);
	/* Let it start, then cancel. */
	{
		uint64_t until = dr_now_mono_ms() + 500;
		while (dr_now_mono_ms() < until)
			uv_run(l, UV_RUN_NOWAIT);
	}
	assert_int_equal(dr_ssh_cmd_cancel(c.cmd), 0);
	run_until(l, &c.done);
	assert_int_equal(c.res.status, DR_ECANCELED);
	run_cmd(l, &c, "pgrep -u drtest -f 'slee[p] 302' || echo none", NULL, 0,
	        10000);
	assert_string_equal(c.res.tail, "none\n");
	conn_close(l, &c);
	loop_done(l);
}

static int
count_in_file(const char *path, const char *needle)
{
	FILE *f = fopen(path, "r");
	char line[2048];
	int n = 0;

	if (f == NULL)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, needle))
			n++;
	fclose(f);
	return n;
}

/* The fingerprint ssh-keygen -l gives the public key in file pub. */
static void
keygen_fingerprint(const char *pub, char *out, size_t n)
{
	char cmd[800], line[512];
	FILE *f;

	snprintf(cmd, sizeof(cmd), "ssh-keygen -lf '%s'", pub);
	f = popen(cmd, "r");
	assert_non_null(f);
	assert_non_null(fgets(line, sizeof(line), f));
	pclose(f);
	assert_int_equal(sscanf(line, "%*d %255s", out), 1);
	(void)n;
}

static void
test_hostkey_mismatch(void **state)
{
	uv_loop_t *l = loop_new();
	struct conn c;
	char log[700], missing[700];
	int acc, fail, post;

	snprintf(log, sizeof(log), "%s/sshd2.log", fixdir);
	acc = count_in_file(log, "Accepted publickey");
	fail = count_in_file(log, "Failed publickey");
	post = count_in_file(log, "Postponed publickey");
	conn_open(l, &c, host2, known_bad, 2222);
	assert_int_equal(c.status, DR_EHOSTKEY);
	{
		/* The two keys named as OpenSSH names them: what the server
		 * showed (host2's key) and what the file pins (host1's). */
		char got[256], want[256], pub[700], text[700];
		snprintf(pub, sizeof(pub), "%s/host2.pub", fixdir);
		keygen_fingerprint(pub, got, sizeof(got));
		snprintf(pub, sizeof(pub), "%s/host1.pub", fixdir);
		keygen_fingerprint(pub, want, sizeof(want));
		assert_string_not_equal(got, want);
		snprintf(text, sizeof(text),
		         "host key changed: got %s, expected %s (", got, want);
		assert_non_null(strstr(c.msg, text));
	}
	conn_close(l, &c);
	usleep(300000);
	/* sshd saw no authentication attempt at all. */
	assert_int_equal(count_in_file(log, "Accepted publickey"), acc);
	assert_int_equal(count_in_file(log, "Failed publickey"), fail);
	assert_int_equal(count_in_file(log, "Postponed publickey"), post);

	/* No known_hosts at all: refused as well. */
	snprintf(missing, sizeof(missing), "%s/nonexistent", fixdir);
	conn_open(l, &c, host1, missing, 2222);
	assert_int_equal(c.status, DR_EHOSTKEY);
	conn_close(l, &c);
	loop_done(l);
}

/*
 * A login shell that does not read sh quoting (tcsh: a newline ends a
 * quoted word and "!" is history; fish: \\' and \\\\ are escapes in single
 * quotes) would run part of a value as its own code: the connection is
 * refused after auth, before any command of the caller's, saying why.
 */
static void
test_login_shell(void **state)
{
	static const struct {
		const char **host, *answer;
	} shells[] = {{&host5, "Event not found"},
	              {&host6, "quotes are not balanced"}};
	uv_loop_t *l = loop_new();
	struct dr_ssh_exec_opts o = {.command = "true"};
	struct conn c;
	size_t i;

	(void)state;
	for (i = 0; i < DR_NELEM(shells); i++) {
		conn_open(l, &c, *shells[i].host, known, 2222);
		assert_int_equal(c.status, DR_EPROTO);
		assert_non_null(strstr(c.msg, "the login shell of drtest does "
		                              "not read sh quoting"));
		assert_non_null(strstr(c.msg, "chsh -s /bin/sh drtest"));
		if (strstr(c.msg, shells[i].answer) == NULL)
			fail_msg("%s: no \"%s\" in: %s", *shells[i].host,
			         shells[i].answer, c.msg);
		/* Nothing can be sent on it. */
		assert_int_not_equal(dr_ssh_exec(c.ssh, &o, on_exec, &c, NULL),
		                     0);
		conn_close(l, &c);
	}
	/* sh behind ForceCommand (server 3) reads it: connected. */
	conn_open(l, &c, host3, known, 2222);
	assert_int_equal(c.status, 0);
	conn_close(l, &c);
	/* A startup file that prints to stdout would prefix every command's
	 * output and every copy's data: refused, with what it printed. */
	conn_open(l, &c, host7, known, 2222);
	assert_int_equal(c.status, DR_EPROTO);
	if (strstr(c.msg, "writes text of its own to stdout") == NULL ||
	    strstr(c.msg, "It printed: Welcome to the jump host") == NULL)
		fail_msg("server 7: %s", c.msg);
	assert_int_not_equal(dr_ssh_exec(c.ssh, &o, on_exec, &c, NULL), 0);
	conn_close(l, &c);
	/* The same on stderr changes no output: connected. */
	conn_open(l, &c, host8, known, 2222);
	if (c.status != 0)
		fail_msg("server 8: %s", c.msg);
	conn_close(l, &c);
	loop_done(l);
}

static void
test_unreachable(void **state)
{
	uv_loop_t *l = loop_new();
	struct conn c;
	uint64_t t0 = dr_now_mono_ms();

	conn_open(l, &c, host1, known, 2299);
	assert_int_equal(c.status, DR_ECONNECT);
	assert_non_null(strstr(c.msg, "lab/one: connect: connection refused"));
	assert_true(dr_now_mono_ms() - t0 < 1000);
	conn_close(l, &c);
	loop_done(l);
}

struct xres {
	int done;
	int status;
	char msg[2048];
	char sha[65];
	uint64_t bytes;
};

static void
on_xfer(const struct dr_transfer_result *r, void *arg)
{
	struct xres *x = arg;

	x->done = 1;
	x->status = r->status;
	x->bytes = r->bytes;
	snprintf(x->msg, sizeof(x->msg), "%s", r->message);
	memcpy(x->sha, r->sha256, 65);
}

static void
test_relay(void **state)
{
	uv_loop_t *l = loop_new();
	struct conn a, b;
	struct dr_transfer_opts o;
	struct xres x;
	char want[65];

	conn_open(l, &a, host1, known, 2222);
	assert_int_equal(a.status, 0);
	conn_open(l, &b, host2, known, 2222);
	assert_int_equal(b.status, 0);
	/* A 5 MB source with a manifest. */
	run_cmd(l, &a,
	        "mkdir -p ~/src && head -c 5000000 /dev/urandom > ~/src/f.bin "
	        "&& cd ~/src && sha256sum f.bin > f.bin.sha256 && "
	        "cut -c1-64 f.bin.sha256; rm -rf ~/dst",
	        NULL, 0, 30000);
	assert_int_equal(a.res.exit_code, 0);
	snprintf(want, sizeof(want), "%.64s", a.res.tail);
	run_cmd(l, &b, "rm -rf ~/dst", NULL, 0, 10000);

	memset(&o, 0, sizeof(o));
	o.label = "copy";
	o.src = a.ssh;
	o.src_path = "/home/drtest/src/f.bin";
	o.dst = b.ssh;
	o.dst_path = "/home/drtest/dst/sub/";
	o.sha256 = "manifest";
	o.mode = "0640";
	o.timeout_ms = 60000;
	memset(&x, 0, sizeof(x));
	assert_int_equal(dr_transfer_start(l, &o, on_xfer, &x, NULL), 0);
	run_until(l, &x.done);
	if (x.status != 0)
		fail_msg("transfer: %s", x.msg);
	assert_int_equal(x.bytes, 5000000);
	assert_string_equal(x.sha, want);
	run_cmd(l, &b,
	        "cd ~/dst/sub && sha256sum f.bin | cut -c1-64; "
	        "stat -c %a f.bin; ls -A | wc -l",
	        NULL, 0, 10000);
	{
		char expect[200];
		snprintf(expect, sizeof(expect), "%s\n640\n1\n", want);
		assert_string_equal(b.res.tail, expect);
	}

	/* A wrong digest: refused, nothing left behind. */
	o.sha256 = "0000000000000000000000000000000000000000000000000000000000"
	           "000000";
	o.dst_path = "/home/drtest/dst/bad.bin";
	memset(&x, 0, sizeof(x));
	assert_int_equal(dr_transfer_start(l, &o, on_xfer, &x, NULL), 0);
	run_until(l, &x.done);
	assert_int_equal(x.status, DR_ECHECKSUM);
	assert_non_null(strstr(x.msg, want));
	assert_non_null(strstr(x.msg, o.sha256));
	run_cmd(l, &b, "ls -A ~/dst", NULL, 0, 10000);
	assert_string_equal(b.res.tail, "sub\n");

	/* A missing source file. */
	o.sha256 = NULL;
	o.src_path = "/home/drtest/src/none";
	memset(&x, 0, sizeof(x));
	assert_int_equal(dr_transfer_start(l, &o, on_xfer, &x, NULL), 0);
	run_until(l, &x.done);
	assert_int_equal(x.status, DR_EEXIT);
	/* The failing side, its path, the command's result and its output. */
	assert_true(strncmp(x.msg, "copy: read /home/drtest/src/none: ", 34) ==
	            0);
	assert_non_null(strstr(x.msg, ": exit 1 after "));
	assert_non_null(strstr(x.msg, ": cat: "));
	run_cmd(l, &b, "ls -A ~/dst", NULL, 0, 10000);
	assert_string_equal(b.res.tail, "sub\n");

	/* Local source to a remote host. */
	{
		char local[700];
		FILE *f;
		size_t i;
		snprintf(local, sizeof(local), "%s/local.bin", fixdir);
		f = fopen(local, "w");
		assert_non_null(f);
		for (i = 0; i < 300000; i++)
			fputc((int)(i * 31 % 251), f);
		fclose(f);
		o.src = NULL;
		o.src_path = local;
		o.dst_path = "/home/drtest/dst/";
		o.mode = NULL;
		memset(&x, 0, sizeof(x));
		assert_int_equal(dr_transfer_start(l, &o, on_xfer, &x, NULL),
		                 0);
		run_until(l, &x.done);
		if (x.status != 0)
			fail_msg("local transfer: %s", x.msg);
		assert_int_equal(x.bytes, 300000);
		run_cmd(l, &b, "sha256sum < ~/dst/local.bin | cut -c1-64", NULL,
		        0, 10000);
		assert_memory_equal(b.res.tail, x.sha, 64);
		unlink(local);
	}

	/* The destination's one channel is taken before the relay starts:
	 * the transfer fails with the command it could not start, not
	 * started (DR_EBUSY: the caller runs it again elsewhere). */
	{
		struct dr_ssh_exec_opts e;
		const char *want_msg =
		    "copy: write /home/drtest/dst/.busy.bin.drover-part.";
		memset(&e, 0, sizeof(e));
		e.command = "true";
		o.src = a.ssh;
		o.src_path = "/home/drtest/src/f.bin";
		o.dst_path = "/home/drtest/dst/busy.bin";
		memset(&x, 0, sizeof(x));
		assert_int_equal(dr_transfer_start(l, &o, on_xfer, &x, NULL),
		                 0);
		b.done = 0;
		assert_int_equal(dr_ssh_exec(b.ssh, &e, on_exec, &b, &b.cmd),
		                 0);
		run_until(l, &x.done);
		run_until(l, &b.done);
		assert_int_equal(x.status, DR_EBUSY);
		assert_true(strncmp(x.msg, want_msg, strlen(want_msg)) == 0);
		assert_non_null(strstr(x.msg, dr_strerror(DR_EBUSY)));
	}
	conn_close(l, &a);
	conn_close(l, &b);
	loop_done(l);
}

/*
 * The writer at the destination dies midway: the copy fails with the
 * write's status and the temporary file is removed. The source is a FIFO
 * fed 1 MB, then held open, so that the copy is still running when the
 * writer (the cat whose stdout is the temporary file) is killed.
 */
static void
test_relay_writer_dies(void **state)
{
	uv_loop_t *l = loop_new();
	static struct conn a, b, f, k;
	struct dr_ssh_exec_opts e;
	struct dr_transfer_opts o;
	struct xres x;

	conn_open(l, &a, host1, known, 2222);
	assert_int_equal(a.status, 0);
	conn_open(l, &b, host2, known, 2222);
	assert_int_equal(b.status, 0);
	conn_open(l, &f, host1, known, 2222); /* feeds the FIFO */
	assert_int_equal(f.status, 0);
	conn_open(l, &k, host2, known, 2222); /* watches and kills */
	assert_int_equal(k.status, 0);
	run_cmd(l, &a,
	        "rm -rf ~/wd && mkdir -p ~/wd/out && mkfifo ~/wd/slow && "
	        "head -c 1000000 /dev/urandom > ~/wd/part",
	        NULL, 0, 10000);
	assert_int_equal(a.res.exit_code, 0);
	memset(&e, 0, sizeof(e));
	e.command = "{ cat ~/wd/part; sleep 60; } > ~/wd/slow";
	e.timeout_ms = 90000;
	assert_int_equal(dr_ssh_exec(f.ssh, &e, on_exec, &f, &f.cmd), 0);

	memset(&o, 0, sizeof(o));
	o.label = "copy";
	o.src = a.ssh;
	o.src_path = "/home/drtest/wd/slow";
	o.dst = b.ssh;
	o.dst_path = "/home/drtest/wd/out/";
	o.timeout_ms = 60000;
	memset(&x, 0, sizeof(x));
	assert_int_equal(dr_transfer_start(l, &o, on_xfer, &x, NULL), 0);
	run_cmd(l, &k,
	        "i=0; until [ \"$(stat -c %s ~/wd/out/.slow.drover-part.* "
	        "2>/dev/null)\" = 1000000 ]; do [ $i -lt 200 ] || exit 9; "
	        "sleep 0.05; i=$((i + 1)); done; n=0; "
	        "for p in $(pgrep -u drtest -x cat); do "
	        "case $(readlink /proc/$p/fd/1) in "
	        "*/wd/out/.slow.drover-part.*) kill -TERM $p && n=$((n + 1));; "
	        "esac; done; echo killed $n",
	        NULL, 0, 30000);
	assert_int_equal(k.res.exit_code, 0);
	assert_string_equal(k.res.tail, "killed 1\n");
	run_until(l, &x.done);
	assert_int_equal(x.status, DR_EEXIT);
	assert_true(
	    strncmp(x.msg, "copy: write /home/drtest/wd/out/.slow.", 38) == 0);
	assert_non_null(strstr(x.msg, "signal TERM"));
	/* Nothing left behind. */
	run_cmd(l, &k, "ls -A ~/wd/out", NULL, 0, 10000);
	assert_string_equal(k.res.tail, "");
	assert_int_equal(dr_ssh_cmd_cancel(f.cmd), 0);
	run_until(l, &f.done);
	run_cmd(l, &a, "rm -rf ~/wd", NULL, 0, 10000);
	conn_close(l, &a);
	conn_close(l, &b);
	conn_close(l, &f);
	conn_close(l, &k);
	loop_done(l);
}

#define NCONC 20

static void
test_concurrent(void **state)
{
	uv_loop_t *l = loop_new();
	static struct conn c[NCONC];
	struct dr_ssh_opts o;
	struct dr_ssh_exec_opts e;
	int i, pending;

	memset(&o, 0, sizeof(o));
	o.user = "drtest";
	o.identity = key;
	o.known_hosts = known;
	o.port = 2222;
	o.connect_timeout_ms = 10000;
	for (i = 0; i < NCONC; i++) {
		memset(&c[i], 0, sizeof(c[i]));
		o.label = i % 2 ? "lab/two" : "lab/one";
		o.address = i % 2 ? host2 : host1;
		c[i].status = 1;
		assert_int_equal(dr_ssh_new(l, &o, &c[i].ssh), 0);
		assert_int_equal(dr_ssh_connect(c[i].ssh, on_connect, &c[i]),
		                 0);
	}
	do {
		uv_run(l, UV_RUN_ONCE);
		for (pending = 0, i = 0; i < NCONC; i++)
			pending += c[i].status == 1;
	} while (pending);
	for (i = 0; i < NCONC; i++) {
		if (c[i].status != 0)
			fail_msg("session %d: %s", i, c[i].msg);
		memset(&e, 0, sizeof(e));
		e.command = "sleep 1; echo $((6 * 7))";
		e.timeout_ms = 20000;
		assert_int_equal(
		    dr_ssh_exec(c[i].ssh, &e, on_exec, &c[i], &c[i].cmd), 0);
	}
	{
		uint64_t t0 = dr_now_mono_ms();
		do {
			uv_run(l, UV_RUN_ONCE);
			for (pending = 0, i = 0; i < NCONC; i++)
				pending += !c[i].done;
		} while (pending);
		/* They ran in parallel, not one after the other. */
		assert_true(dr_now_mono_ms() - t0 < 8000);
	}
	for (i = 0; i < NCONC; i++) {
		assert_int_equal(c[i].res.status, 0);
		assert_string_equal(c[i].res.tail, "42\n");
		dr_ssh_close(c[i].ssh, on_close, &c[i]);
	}
	do {
		uv_run(l, UV_RUN_ONCE);
		for (pending = 0, i = 0; i < NCONC; i++)
			pending += !c[i].closed;
	} while (pending);
	for (i = 0; i < NCONC; i++) {
		free(c[i].tail);
		free(c[i].rmsg);
	}
	loop_done(l);
}

/* Closing in the middle of a connect and of a command frees everything. */
static void
test_close_midway(void **state)
{
	uv_loop_t *l = loop_new();
	struct conn c;
	struct dr_ssh_opts o;
	struct dr_ssh_exec_opts e;

	memset(&c, 0, sizeof(c));
	memset(&o, 0, sizeof(o));
	o.address = host1;
	o.port = 2222;
	o.user = "drtest";
	o.identity = key;
	o.known_hosts = known;
	c.status = 1;
	assert_int_equal(dr_ssh_new(l, &o, &c.ssh), 0);
	assert_int_equal(dr_ssh_connect(c.ssh, on_connect, &c), 0);
	uv_run(l, UV_RUN_NOWAIT);
	dr_ssh_close(c.ssh, on_close, &c);
	run_until(l, &c.closed);
	assert_int_equal(c.status, DR_ECANCELED);

	conn_open(l, &c, host1, known, 2222);
	assert_int_equal(c.status, 0);
	memset(&e, 0, sizeof(e));
	e.command = "sleep 2";
	assert_int_equal(dr_ssh_exec(c.ssh, &e, on_exec, &c, &c.cmd), 0);
	uv_run(l, UV_RUN_NOWAIT);
	dr_ssh_close(c.ssh, on_close, &c);
	run_until(l, &c.closed);
	assert_int_equal(c.done, 1);
	assert_int_equal(c.res.status, DR_ECANCELED);
	free(c.tail);
	free(c.rmsg);
	loop_done(l);
}

/* A peer that stops answering (sshd stopped) is found dead by keepalives. */
static void
test_dead_peer(void **state)
{
	uv_loop_t *l = loop_new();
	struct conn c, k2;
	char cmd[64];
	uint64_t t0;
	long pid;

	conn_channels = 2; /* two commands on it: the loss ends both */
	conn_open(l, &c, host2, known, 2222); /* keepalive 2s x 3 */
	conn_channels = 0;
	assert_int_equal(c.status, 0);
	run_cmd(l, &c, "rm -f ~/dp-1 ~/dp-2", NULL, 0, 10000);
	/* This session's sshd process: the command shell's parent, or the
	 * wrapper's when the wrapper forked. */
	run_cmd(l, &c,
	        "p=$PPID; [ \"$(ps -o comm= -p $p)\" = sshd ] || "
	        "p=$(ps -o ppid= -p $p); echo $p",
	        NULL, 0, 10000);
	pid = strtol(c.res.tail, NULL, 10);
	assert_true(pid > 1);
	{
		struct dr_ssh_exec_opts o;
		memset(&o, 0, sizeof(o));
		o.command = "touch ~/dp-1; sleep 20";
		o.timeout_ms = 60000;
		c.done = 0;
		assert_int_equal(dr_ssh_exec(c.ssh, &o, on_exec, &c, &c.cmd),
		                 0);
		memset(&k2, 0, sizeof(k2));
		o.command = "touch ~/dp-2; sleep 20";
		assert_int_equal(dr_ssh_exec(c.ssh, &o, on_exec, &k2, &k2.cmd),
		                 0);
		/* Both run (their files are there), then the peer stops. */
		while (access("/home/drtest/dp-1", F_OK) != 0 ||
		       access("/home/drtest/dp-2", F_OK) != 0)
			assert_int_not_equal(uv_run(l, UV_RUN_NOWAIT), -1);
		snprintf(cmd, sizeof(cmd), "kill -STOP %ld", pid);
		assert_int_equal(system(cmd), 0);
		t0 = dr_now_mono_ms();
		run_until(l, &c.done);
		run_until(l, &k2.done);
	}
	snprintf(cmd, sizeof(cmd), "kill -CONT %ld", pid);
	assert_int_equal(system(cmd), 0);
	unlink("/home/drtest/dp-1");
	unlink("/home/drtest/dp-2");
	assert_int_equal(c.res.status, DR_EDISCONNECT);
	assert_non_null(strstr(c.res.message, "no reply from the peer"));
	assert_true(dr_now_mono_ms() - t0 < 12000);
	/* Both started and their end was not seen: outcome unknown. */
	assert_true(c.res.started && !c.res.ended);
	assert_int_equal(k2.res.status, DR_EDISCONNECT);
	assert_true(k2.res.started && !k2.res.ended);
	assert_false(dr_ssh_ready(c.ssh));
	res_free(&k2, 1);
	conn_close(l, &c);
	loop_done(l);
}

/* Results of commands run beside each other on one session. */
static void
res_free(struct conn *k, int n)
{
	int i;

	for (i = 0; i < n; i++) {
		free(k[i].tail);
		free(k[i].rmsg);
		k[i].tail = k[i].rmsg = NULL;
	}
}

static void
run_all(uv_loop_t *l, struct conn *k, int n)
{
	int i, pending;

	do {
		assert_int_not_equal(uv_run(l, UV_RUN_ONCE), -1);
		for (pending = 0, i = 0; i < n; i++)
			pending += !k[i].done;
	} while (pending);
}

static bool
all_bytes(const char *p, size_t n, char c)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (p[i] != c)
			return false;
	return true;
}

/*
 * Four commands at once on one session: each its own exit code and output
 * (not mixed between channels), one killed by its deadline (on a channel
 * of its own, the one kept for kills) while another goes on and succeeds,
 * and the session serves the next command meanwhile.
 */
static void
test_channels(void **state)
{
	uv_loop_t *l = loop_new();
	static struct conn c, k[4], x;
	static const char *const cmds[4] = {
	    "sleep 1; echo a >&2; exit 3",
	    "head -c 150000 /dev/zero | tr '\\0' b",
	    "sleep 301; echo never",
	    "while [ ! -e ~/chan-go ]; do sleep 0.1; done; "
	    "head -c 150000 /dev/zero | tr '\\0' d",
	};
	struct dr_ssh_exec_opts e;
	int i;

	conn_channels = 4;
	conn_open(l, &c, host1, known, 2222);
	conn_channels = 0;
	if (c.status != 0)
		fail_msg("connect: %s", c.msg);
	assert_int_equal(dr_ssh_capacity(c.ssh), 4);
	run_cmd(l, &c, "rm -f ~/chan-go", NULL, 0, 10000);
	for (i = 0; i < 4; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		memset(&e, 0, sizeof(e));
		e.command = cmds[i];
		e.tail_cap = 200000;
		e.timeout_ms = i == 2 ? 1000 : 60000;
		e.kill_tag = i == 2 ? "engine-test-channels" : NULL;
		assert_int_equal(
		    dr_ssh_exec(c.ssh, &e, on_exec, &k[i], &k[i].cmd), 0);
	}
	/* Four is what it carries. */
	assert_int_equal(dr_ssh_slots(c.ssh), 0);
	assert_int_equal(dr_ssh_exec(c.ssh, &e, on_exec, &x, NULL), DR_EBUSY);
	while (!(k[0].done && k[1].done && k[2].done))
		assert_int_not_equal(uv_run(l, UV_RUN_ONCE), -1);
	assert_false(k[3].done); /* it waits for ~/chan-go */
	assert_int_equal(k[0].res.status, 0);
	assert_int_equal(k[0].res.exit_code, 3);
	assert_string_equal(k[0].res.tail, "a\n");
	assert_int_equal(k[1].res.status, 0);
	assert_int_equal(k[1].res.exit_code, 0);
	assert_int_equal(k[1].res.tail_len, 150000);
	assert_int_equal(k[1].res.bytes_out, 150000);
	assert_true(all_bytes(k[1].res.tail, 150000, 'b'));
	assert_int_equal(k[2].res.status, DR_ETIMEDOUT);
	assert_true(k[2].res.started);
	assert_non_null(strstr(k[2].res.message, "timed out after"));
	/* The same session runs another command beside the waiting one. */
	assert_true(dr_ssh_ready(c.ssh));
	run_cmd(l, &c, "touch ~/chan-go", NULL, 0, 10000);
	assert_int_equal(c.res.status, 0);
	run_until(l, &k[3].done);
	assert_true(k[3].order > k[2].order);
	assert_int_equal(k[3].res.status, 0);
	assert_int_equal(k[3].res.exit_code, 0);
	assert_int_equal(k[3].res.tail_len, 150000);
	assert_true(all_bytes(k[3].res.tail, 150000, 'd'));
	/* The killed one is gone from the host. */
	run_cmd(l, &c,
	        "pgrep -u drtest -f 'slee[p] 301' || echo none; "
	        "rm -f ~/chan-go",
	        NULL, 0, 10000);
	assert_string_equal(c.res.tail, "none\n");
	res_free(k, 4);
	conn_close(l, &c);
	loop_done(l);
}

/* A copy whose two streams run on one session, beside a command. */
static void
test_channels_streams(void **state)
{
	uv_loop_t *l = loop_new();
	static struct conn c, k;
	struct dr_transfer_opts o;
	struct dr_ssh_exec_opts e;
	struct xres x;
	char want[65];

	conn_channels = 3;
	conn_open(l, &c, host1, known, 2222);
	conn_channels = 0;
	assert_int_equal(c.status, 0);
	run_cmd(l, &c,
	        "rm -rf ~/cs && mkdir -p ~/cs && "
	        "head -c 3000000 /dev/urandom > ~/cs/f.bin && "
	        "sha256sum < ~/cs/f.bin | cut -c1-64",
	        NULL, 0, 30000);
	assert_int_equal(c.res.exit_code, 0);
	snprintf(want, sizeof(want), "%.64s", c.res.tail);
	memset(&o, 0, sizeof(o));
	o.label = "copy";
	o.src = c.ssh;
	o.src_path = "/home/drtest/cs/f.bin";
	o.dst = c.ssh;
	o.dst_path = "/home/drtest/cs/out/";
	o.sha256 = want;
	o.timeout_ms = 60000;
	memset(&x, 0, sizeof(x));
	assert_int_equal(dr_transfer_start(l, &o, on_xfer, &x, NULL), 0);
	memset(&k, 0, sizeof(k));
	memset(&e, 0, sizeof(e));
	e.command = "sleep 1; echo x";
	e.timeout_ms = 30000;
	assert_int_equal(dr_ssh_exec(c.ssh, &e, on_exec, &k, &k.cmd), 0);
	run_until(l, &x.done);
	run_until(l, &k.done);
	if (x.status != 0)
		fail_msg("transfer: %s", x.msg);
	assert_int_equal(x.bytes, 3000000);
	assert_string_equal(x.sha, want);
	assert_int_equal(k.res.status, 0);
	assert_string_equal(k.res.tail, "x\n");
	run_cmd(l, &c, "sha256sum < ~/cs/out/f.bin | cut -c1-64; rm -rf ~/cs",
	        NULL, 0, 10000);
	assert_memory_equal(c.res.tail, want, 64);
	res_free(&k, 1);
	conn_close(l, &c);
	loop_done(l);
}

/*
 * A server that allows two channels (MaxSessions 2) refuses the third:
 * the commands beyond it end with DR_EBUSY, not started; the session
 * carries one command from then on, and keeps a channel to kill it.
 */
static void
test_maxsessions(void **state)
{
	uv_loop_t *l = loop_new();
	static struct conn c, g, k[4];
	struct dr_ssh_exec_opts e;
	int i, busy = 0, ok = 0;

	conn_channels = 8;
	conn_open(l, &c, host4, known, 2222);
	conn_channels = 0;
	if (c.status != 0)
		fail_msg("connect: %s", c.msg);
	run_cmd(l, &c, "rm -f ~/ms-go", NULL, 0, 10000);
	assert_int_equal(dr_ssh_capacity(c.ssh), 8);
	for (i = 0; i < 4; i++) {
		memset(&k[i], 0, sizeof(k[i]));
		memset(&e, 0, sizeof(e));
		e.command = "while [ ! -e ~/ms-go ]; do sleep 0.1; done; "
		            "echo ran";
		e.timeout_ms = 60000;
		assert_int_equal(
		    dr_ssh_exec(c.ssh, &e, on_exec, &k[i], &k[i].cmd), 0);
	}
	/* Two refused before they started; two wait for ~/ms-go. */
	while (k[0].done + k[1].done + k[2].done + k[3].done < 2)
		assert_int_not_equal(uv_run(l, UV_RUN_ONCE), -1);
	for (i = 0; i < 4; i++) {
		if (!k[i].done)
			continue;
		assert_int_equal(k[i].res.status, DR_EBUSY);
		assert_false(k[i].res.started);
		assert_non_null(strstr(k[i].res.message, "not started"));
		busy++;
	}
	assert_int_equal(busy, 2);
	assert_int_equal(dr_ssh_capacity(c.ssh), 1);
	assert_int_equal(dr_ssh_slots(c.ssh), 0);
	assert_true(dr_ssh_ready(c.ssh));
	/* Let the two go, from another connection. */
	conn_open(l, &g, host4, known, 2222);
	assert_int_equal(g.status, 0);
	run_cmd(l, &g, "touch ~/ms-go", NULL, 0, 10000);
	run_all(l, k, 4);
	for (i = 0; i < 4; i++)
		if (k[i].res.status == 0 && strcmp(k[i].res.tail, "ran\n") == 0)
			ok++;
	assert_int_equal(ok, 2);
	/* One command now, and the channel kept for the kill works. */
	assert_int_equal(dr_ssh_slots(c.ssh), 1);
	run_cmd(l, &c, "sleep 302", NULL, 0, 1000);
	if (c.res.status != DR_ETIMEDOUT)
		fail_msg("sleep 302: status %d: %s", c.res.status,
		         c.res.message);
	run_cmd(l, &g,
	        "pgrep -u drtest -f 'slee[p] 302' || echo none; "
	        "rm -f ~/ms-go",
	        NULL, 0, 10000);
	assert_string_equal(g.res.tail, "none\n");
	res_free(k, 4);
	conn_close(l, &g);
	conn_close(l, &c);
	loop_done(l);
}

/*
 * Channels that just closed count on the server until its next turn: a
 * session whose two channels (MaxSessions 2) end together and that opens
 * the next one at once can be refused with no channel of its own open.
 * That refusal is retried, not reported as a protocol error, and the
 * command runs: every round, two at once, then one.
 */
static void
test_maxsessions_reopen(void **state)
{
	uv_loop_t *l = loop_new();
	static struct conn c, k[2];
	struct dr_ssh_exec_opts e;
	int round, i;

	conn_channels = 2;
	conn_open(l, &c, host4, known, 2222);
	conn_channels = 0;
	if (c.status != 0)
		fail_msg("connect: %s", c.msg);
	for (round = 0; round < 40; round++) {
		for (i = 0; i < 2; i++) {
			memset(&k[i], 0, sizeof(k[i]));
			memset(&e, 0, sizeof(e));
			e.command = "echo two";
			e.timeout_ms = 10000;
			assert_int_equal(
			    dr_ssh_exec(c.ssh, &e, on_exec, &k[i], &k[i].cmd),
			    0);
		}
		run_all(l, k, 2);
		for (i = 0; i < 2; i++)
			if (k[i].res.status != 0)
				fail_msg("round %d, command %d: %s", round, i,
				         k[i].res.message);
		run_cmd(l, &c, "echo one", NULL, 0, 10000);
		if (c.res.status != 0 || strcmp(c.res.tail, "one\n") != 0)
			fail_msg("round %d, the one after: status %d: %s",
			         round, c.res.status, c.res.message);
		res_free(k, 2);
	}
	conn_close(l, &c);
	loop_done(l);
}

int
main(int argc, char **argv)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_echo),
	    cmocka_unit_test(test_exit_code_and_signal),
	    cmocka_unit_test(test_megabytes),
	    cmocka_unit_test(test_timeout_kills),
	    cmocka_unit_test(test_not_group_leader),
	    cmocka_unit_test(test_cancel),
	    cmocka_unit_test(test_hostkey_mismatch),
	    cmocka_unit_test(test_unreachable),
	    cmocka_unit_test(test_login_shell),
	    cmocka_unit_test(test_relay),
	    cmocka_unit_test(test_relay_writer_dies),
	    cmocka_unit_test(test_concurrent),
	    cmocka_unit_test(test_close_midway),
	    cmocka_unit_test(test_dead_peer),
	    cmocka_unit_test(test_channels),
	    cmocka_unit_test(test_channels_streams),
	    cmocka_unit_test(test_maxsessions),
	    cmocka_unit_test(test_maxsessions_reopen),
	};
	const char *filter = getenv("DROVER_TEST_FILTER");
	int rc;

	if (argc < 2) {
		fprintf(stderr, "usage: %s FIXTURE_DIR (see sshd-fixture.sh)\n",
		        argv[0]);
		return 2;
	}
	snprintf(fixdir, sizeof(fixdir), "%s", argv[1]);
	snprintf(key, sizeof(key), "%s/id_ed25519", fixdir);
	snprintf(known, sizeof(known), "%s/known_hosts", fixdir);
	snprintf(known_bad, sizeof(known_bad), "%s/known_hosts_bad", fixdir);
	if (access(key, R_OK) != 0) {
		fprintf(stderr,
		        "%s: no fixture in %s (run sshd-fixture.sh "
		        "start %s)\n",
		        argv[0], fixdir, fixdir);
		return 2;
	}
	if (filter != NULL) /* the cases by name */
		cmocka_set_test_filter(filter);
	assert_int_equal(dr_ssh_global_init(), 0);
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	dr_ssh_global_cleanup();
	return rc;
}
