/*
 * test_control.c: the control channel's message parser (malformed,
 * oversized, wrong version), the four-eyes rule, the plan keys for gates
 * and notify, and the socket itself: a server on a loop in a thread, the
 * verbs' blocking client in the test's.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <cmocka.h>

#include "drover/common.h"
#include "drover/control.h"
#include "drover/diag.h"
#include "drover/notify.h"
#include "drover/plan.h"

#include <jansson.h>

static void
parse_ok(const char *s, struct dr_ctl_msg *m)
{
	char *why = NULL;

	if (dr_ctl_parse(s, strlen(s), m, &why) != 0)
		fail_msg("%s: refused: %s", s, why);
}

static void
parse_bad(const char *s, size_t len, const char *want)
{
	struct dr_ctl_msg m;
	char *why = NULL;

	if (dr_ctl_parse(s, len, &m, &why) == 0)
		fail_msg("%s: accepted", s);
	if (why == NULL || strstr(why, want) == NULL)
		fail_msg("%s: said \"%s\", want \"%s\"", s, why ? why : "",
		         want);
	free(why);
}

static void
test_parse(void **state)
{
	struct dr_ctl_msg m;
	char *big, *line;

	(void)state;
	parse_ok("{\"v\":1,\"op\":\"approve\",\"task\":\"fence/confirm\","
	         "\"comment\":\"ok by netops\"}",
	         &m);
	assert_int_equal(m.op, DR_CTL_APPROVE);
	assert_string_equal(m.task, "fence/confirm");
	assert_string_equal(m.comment, "ok by netops");
	/* What the client writes, the server reads back. */
	line = dr_ctl_request(&m);
	dr_ctl_msg_free(&m);
	assert_true(line[strlen(line) - 1] == '\n');
	parse_ok(line, &m);
	assert_string_equal(m.comment, "ok by netops");
	dr_ctl_msg_free(&m);
	free(line);
	parse_ok("{\"v\":1,\"op\":\"answer\",\"task\":\"a/b\","
	         "\"answer\":\"skip\"}",
	         &m);
	assert_int_equal(m.op, DR_CTL_ANSWER);
	assert_string_equal(m.answer, "skip");
	dr_ctl_msg_free(&m);
	parse_ok("{\"v\":1,\"op\":\"abort\"}", &m);
	assert_int_equal(m.op, DR_CTL_ABORT);
	dr_ctl_msg_free(&m);

	parse_bad("approve fence", 13, "not JSON");
	parse_bad("{\"v\":1,\"op\":\"approve\"", 21, "not JSON");
	parse_bad("[1]", 3, "not a JSON object");
	parse_bad("{\"op\":\"abort\"}", 14, "version");
	parse_bad("{\"v\":2,\"op\":\"abort\"}", 20, "version");
	parse_bad("{\"v\":\"1\",\"op\":\"abort\"}", 22, "version");
	parse_bad("{\"v\":1}", 7, "missing \"op\"");
	parse_bad("{\"v\":1,\"op\":\"rm -rf\"}", 21, "unknown op");
	parse_bad("{\"v\":1,\"op\":\"approve\"}", 22, "missing \"task\"");
	parse_bad("{\"v\":1,\"op\":\"approve\",\"task\":7}", 31,
	          "must be a string");
	parse_bad("{\"v\":1,\"op\":\"approve\",\"task\":\"\"}", 32,
	          "1 to 1024");
	parse_bad("{\"v\":1,\"op\":\"approve\",\"task\":\"a\\nb\"}", 36,
	          "no control");
	parse_bad(
	    "{\"v\":1,\"op\":\"answer\",\"task\":\"a\",\"answer\":\"done\"}",
	    48, "retry, skip or abort");
	parse_bad("{\"v\":1,\"op\":\"abort\",\"task\":\"a\"}", 31,
	          "takes no task");
	parse_bad("{\"v\":1,\"op\":\"abort\",\"user\":\"root\"}", 34,
	          "unknown field");
	parse_bad("{\"v\":1,\"v\":1,\"op\":\"abort\"}", 26, "not JSON");
	/* Oversized: refused before it is parsed. */
	big = dr_xcalloc(1, DR_CONTROL_MAX_MSG + 100);
	memset(big, ' ', DR_CONTROL_MAX_MSG + 50);
	memcpy(big, "{\"v\":1,\"op\":\"abort\"}", 20);
	parse_bad(big, DR_CONTROL_MAX_MSG + 50, "too long");
	free(big);
}

static void
test_four_eyes(void **state)
{
	uid_t one[] = {1001}, two[] = {1001, 1002};

	(void)state;
	/* One approver, anyone. */
	assert_int_equal(dr_ctl_vote(1, false, 0, NULL, 0, 0), DR_VOTE_PASS);
	assert_int_equal(dr_ctl_vote(1, false, 0, NULL, 0, 1001), DR_VOTE_PASS);
	/* not_by_starter: the starter never counts, others do. */
	assert_int_equal(dr_ctl_vote(1, true, 0, NULL, 0, 0), DR_VOTE_STARTER);
	assert_int_equal(dr_ctl_vote(1, true, 0, NULL, 0, 1001), DR_VOTE_PASS);
	/* Two distinct approvers: the same one twice is not two. */
	assert_int_equal(dr_ctl_vote(2, false, 0, NULL, 0, 1001), DR_VOTE_MORE);
	assert_int_equal(dr_ctl_vote(2, false, 0, one, 1, 1001), DR_VOTE_TWICE);
	assert_int_equal(dr_ctl_vote(2, false, 0, one, 1, 1002), DR_VOTE_PASS);
	assert_int_equal(dr_ctl_vote(2, true, 1001, NULL, 0, 1001),
	                 DR_VOTE_STARTER);
	assert_int_equal(dr_ctl_vote(3, false, 0, two, 2, 0), DR_VOTE_PASS);
	assert_int_equal(dr_ctl_vote(3, false, 0, two, 2, 1002), DR_VOTE_TWICE);
}

#define PLAN_HEAD                                                              \
	"version = 1;\nname = \"t\";\n"                                        \
	"sites = ( { name = \"milan\"; role = \"primary\"; hosts = ( { name "  \
	"= "                                                                   \
	"\"m1\"; address = \"10.0.0.1\"; roles = [\"db\"]; } ); },\n"          \
	"  { name = \"torino\"; role = \"standby\"; hosts = ( { name = "       \
	"\"t1\"; address = \"10.0.1.1\"; roles = [\"db\"]; } ); } );\n"

static bool
diags_have(const struct dr_diags *d, const char *sub)
{
	size_t i;

	for (i = 0; i < d->n; i++)
		if (strstr(d->v[i].msg, sub))
			return true;
	return false;
}

static void
plan_error(const char *text, const char *sub)
{
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;
	size_t i;

	if (dr_plan_load_string(text, "mem.cfg", &d, &p) != DR_EPLAN ||
	    !diags_have(&d, sub)) {
		for (i = 0; i < d.n; i++)
			print_message("  %d: %s\n", d.v[i].line, d.v[i].msg);
		fail_msg("want an error with \"%s\"", sub);
	}
	dr_plan_free(p);
	dr_diag_clear(&d);
}

static void
test_plan_keys(void **state)
{
	struct dr_diags d = {0};
	struct dr_plan *p = NULL;
	const struct dr_step *st;

	(void)state;
	assert_int_equal(
	    dr_plan_load_string(
	        PLAN_HEAD
	        "defaults: { approvers = 2; not_by_starter = true; };\n"
	        "notify = { webhooks = [\"https://chat.example/hook\"]; "
	        "timeout = \"3s\"; retries = 1; };\n"
	        "services = ( { name = \"f\"; tier = 0; scope = \"global\"; "
	        "steps = ( { name = \"g\"; approve = \"ok?\"; },\n"
	        "{ name = \"h\"; approve = \"ok?\"; approvers = 1; "
	        "not_by_starter = false; } ); } );\n",
	        "mem.cfg", &d, &p),
	    0);
	st = &p->services[0].steps[0];
	assert_int_equal(st->approvers, 2);
	assert_true(st->not_by_starter);
	st = &p->services[0].steps[1];
	assert_int_equal(st->approvers, 1);
	assert_false(st->not_by_starter);
	assert_int_equal(p->notify.nwebhooks, 1);
	assert_int_equal(p->notify.timeout_ms, 3000);
	assert_int_equal(p->notify.retries, 1);
	dr_plan_free(p);
	dr_diag_clear(&d);

	plan_error(PLAN_HEAD "services = ( { name = \"f\"; tier = 0; scope = "
	                     "\"global\"; steps = ( { name = \"g\"; approve = "
	                     "\"ok?\"; approvers = 0; } ); } );\n",
	           "\"approvers\" is 0, must be 1 to 9");
	plan_error(PLAN_HEAD "services = ( { name = \"f\"; tier = 0; scope = "
	                     "\"global\"; steps = ( { name = \"g\"; on = "
	                     "\"to:db\"; run = \"true\"; approvers = 2; } ); } "
	                     ");\n",
	           "applies to an approve step only");
	plan_error(PLAN_HEAD "services = ( { name = \"f\"; tier = 0; scope = "
	                     "\"global\"; steps = ( { name = \"g\"; approve = "
	                     "\"ok?\"; not_by_starter = \"yes\"; } ); } );\n",
	           "must be true or false");
	plan_error(PLAN_HEAD "notify = { webhooks = [\"ftp://x/y\"]; };\n"
	                     "services = ( { name = \"f\"; tier = 0; scope = "
	                     "\"global\"; steps = ( { name = \"g\"; approve = "
	                     "\"ok?\"; } ); } );\n",
	           "not an http:// or https:// URL");
	plan_error(PLAN_HEAD
	           "notify = { timeout = \"5m\"; command = \"x\"; "
	           "};\nservices = ( { name = \"f\"; tier = 0; scope "
	           "= \"global\"; steps = ( { name = \"g\"; approve = "
	           "\"ok?\"; } ); } );\n",
	           "must be 1ms to 60s");
	plan_error(PLAN_HEAD "notify = { retries = 1; };\n"
	                     "services = ( { name = \"f\"; tier = 0; scope = "
	                     "\"global\"; steps = ( { name = \"g\"; approve = "
	                     "\"ok?\"; } ); } );\n",
	           "give \"webhooks\" or \"command\"");
}

/* --- the socket --------------------------------------------------------- */

struct server {
	uv_loop_t loop;
	uv_async_t stop;
	struct dr_control *ctl;
	char dir[64];
	int calls;
	uid_t last_uid;
	char last_task[64];
};

static int
handler(void *arg, const struct dr_ctl_peer *peer, const struct dr_ctl_msg *m,
        char **msg)
{
	struct server *sv = arg;

	sv->calls++;
	sv->last_uid = peer->uid;
	snprintf(sv->last_task, sizeof(sv->last_task), "%s",
	         m->task ? m->task : "");
	if (m->op == DR_CTL_DENY) {
		*msg = dr_xstrdup("no such gate");
		return DR_ENOTFOUND;
	}
	*msg = dr_xasprintf("%s by %s", dr_ctl_op_name(m->op), peer->user);
	return 0;
}

static void
stop_closed(uv_handle_t *h)
{
	(void)h;
}

static void
on_stop(uv_async_t *a)
{
	struct server *sv = a->data;

	dr_control_close(sv->ctl);
	uv_close((uv_handle_t *)&sv->stop, stop_closed);
}

static void *
serve(void *arg)
{
	struct server *sv = arg;

	uv_run(&sv->loop, UV_RUN_DEFAULT);
	return NULL;
}

/* Sends raw bytes, returns the first reply line (caller frees). */
static char *
raw(const char *dir, const char *data, size_t len)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char buf[8192];
	size_t got = 0;
	ssize_t n;
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);

	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s/%s", dir,
	         DR_CONTROL_SOCK);
	assert_true(fd >= 0);
	assert_int_equal(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	assert_int_equal(dr_write_all(fd, data, len), 0);
	while (got < sizeof(buf) - 1 &&
	       (n = read(fd, buf + got, sizeof(buf) - 1 - got)) > 0)
		got += (size_t)n;
	close(fd);
	buf[got] = '\0';
	return dr_xstrdup(buf);
}

static void
test_socket(void **state)
{
	struct server sv;
	pthread_t th;
	struct dr_ctl_msg m = {0};
	char *path, *text = NULL, *r, *big;
	struct stat st;

	(void)state;
	memset(&sv, 0, sizeof(sv));
	snprintf(sv.dir, sizeof(sv.dir), "/tmp/drover-ctl-XXXXXX");
	assert_non_null(mkdtemp(sv.dir));
	path = dr_xasprintf("%s/%s", sv.dir, DR_CONTROL_SOCK);
	uv_loop_init(&sv.loop);
	uv_async_init(&sv.loop, &sv.stop, on_stop);
	sv.stop.data = &sv;
	assert_int_equal(
	    dr_control_open(&sv.loop, path, (gid_t)-1, handler, &sv, &sv.ctl),
	    0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0660);
	assert_int_equal(pthread_create(&th, NULL, serve, &sv), 0);

	/* A request: the peer is who the kernel says. */
	m.op = DR_CTL_APPROVE;
	m.task = "fence/confirm";
	assert_int_equal(dr_ctl_call(sv.dir, &m, &text, NULL, NULL), 0);
	assert_non_null(strstr(text, "approve by "));
	free(text);
	m.op = DR_CTL_DENY;
	assert_int_equal(dr_ctl_call(sv.dir, &m, &text, NULL, NULL),
	                 DR_EREFUSED);
	assert_string_equal(text, "no such gate");
	free(text);
	/* Malformed, wrong version, oversized: an error, no call. */
	r = raw(sv.dir, "hello\n", 6);
	assert_non_null(strstr(r, "\"ok\":false"));
	assert_non_null(strstr(r, "not JSON"));
	free(r);
	r = raw(sv.dir, "{\"v\":9,\"op\":\"abort\"}\n", 21);
	assert_non_null(strstr(r, "version"));
	free(r);
	big = dr_xcalloc(1, 3 * DR_CONTROL_MAX_MSG);
	memset(big, 'x', 3 * DR_CONTROL_MAX_MSG - 1);
	r = raw(sv.dir, big, 3 * DR_CONTROL_MAX_MSG - 1);
	assert_non_null(strstr(r, "too long"));
	free(r);
	free(big);
	uv_async_send(&sv.stop);
	pthread_join(th, NULL);
	assert_int_equal(sv.calls, 2);
	assert_int_equal(sv.last_uid, geteuid());
	assert_string_equal(sv.last_task, "fence/confirm");
	/* Closed: the socket is gone, a client says the run is not live. */
	assert_int_not_equal(stat(path, &st), 0);
	m.op = DR_CTL_STATUS;
	m.task = NULL;
	assert_int_equal(dr_ctl_call(sv.dir, &m, &text, NULL, NULL),
	                 DR_ENOTFOUND);
	free(text);
	assert_int_equal(uv_loop_close(&sv.loop), 0);
	rmdir(sv.dir);
	free(path);
}

/* A notification carries no secret: the scrubber replaces its value in
 * the text and in the event, and the command gets both. */
static void
test_notify_scrubs(void **state)
{
	char dir[] = "/tmp/drover-notify-XXXXXX", *cmd, *path, *data = NULL;
	struct dr_secret_value sv = {.name = "tok"};
	struct dr_notify cfg = {0};
	struct dr_notify_opts o = {0};
	struct dr_notifier *n = NULL;
	uv_loop_t loop;
	json_t *e;
	size_t len = 0;

	(void)state;
	assert_non_null(mkdtemp(dir));
	path = dr_xasprintf("%s/out", dir);
	cmd = dr_xasprintf("printf '%%s\\n%%s\\n' \"$DROVER_EVENT_TEXT\" "
	                   "\"$DROVER_EVENT\" > %s",
	                   path);
	sv.value = dr_xstrdup("hunter2-xyz");
	cfg.command = cmd;
	cfg.timeout_ms = 10000;
	uv_loop_init(&loop);
	o.loop = &loop;
	o.cfg = &cfg;
	o.cwd = dir;
	o.secrets = &sv;
	o.nsecrets = 1;
	assert_int_equal(dr_notify_new(&o, &n), 0);
	assert_non_null(n);
	e = json_pack("{s:s, s:s}", "type", "task-failed", "message",
	              "login with hunter2-xyz refused");
	dr_notify_send(n, e, "drover: token hunter2-xyz leaked?");
	dr_notify_close(n);
	uv_run(&loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&loop), 0);
	assert_int_equal(dr_read_file(path, 65536, &data, &len), 0);
	assert_null(strstr(data, "hunter2"));
	assert_non_null(strstr(data, "drover: token <secret:tok> leaked?"));
	assert_non_null(strstr(data, "login with <secret:tok> refused"));
	assert_non_null(strstr(data, "\"type\":\"task-failed\""));
	/* Nobody to tell: no notifier. */
	cfg.command = NULL;
	assert_int_equal(dr_notify_new(&o, &n), 0);
	assert_null(n);
	free(data);
	unlink(path);
	rmdir(dir);
	free(path);
	free(cmd);
	free(sv.value);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_four_eyes),
	    cmocka_unit_test(test_plan_keys),
	    cmocka_unit_test(test_socket),
	    cmocka_unit_test(test_notify_scrubs),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
