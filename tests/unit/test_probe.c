/*
 * test_probe.c: tcp and http probes against tiny servers on the same loop
 * (127.0.0.1, kernel-chosen ports).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "test_loop.h"
#include "drover/probe.h"

/* --- a tiny HTTP responder ------------------------------------------------ */

enum srv_mode { SRV_ANSWER, SRV_HANG };

struct srv_conn;

struct srv {
	uv_tcp_t listener;
	int port;
	enum srv_mode mode;
	int n503;         /* answer 503 to this many requests first */
	const char *body; /* body of the 200 */
	int requests;
	int accepted;
	struct srv_conn *conns;
};

struct srv_conn {
	uv_tcp_t tcp;
	uv_write_t wreq;
	struct srv *srv;
	struct srv_conn *next, **prevp;
	char req[4096];
	size_t len;
	char *resp;
	bool answered;
};

static void
conn_closed(uv_handle_t *h)
{
	struct srv_conn *c = h->data;

	if (c->prevp != NULL) {
		*c->prevp = c->next;
		if (c->next != NULL)
			c->next->prevp = c->prevp;
	}
	free(c->resp);
	free(c);
}

static void
conn_close(struct srv_conn *c)
{
	if (!uv_is_closing((uv_handle_t *)&c->tcp))
		uv_close((uv_handle_t *)&c->tcp, conn_closed);
}

static void
conn_written(uv_write_t *w, int status)
{
	(void)status;
	conn_close(w->data);
}

static void
conn_alloc(uv_handle_t *h, size_t sz, uv_buf_t *b)
{
	struct srv_conn *c = h->data;

	(void)sz;
	b->base = c->req + c->len;
	b->len = sizeof(c->req) - 1 - c->len;
}

static void
conn_answer(struct srv_conn *c)
{
	struct srv *s = c->srv;
	const char *path = c->req + 4; /* after "GET " */
	uv_buf_t b;

	c->answered = true;
	s->requests++;
	if (s->mode == SRV_HANG)
		return;
	if (strncmp(path, "/moved ", 7) == 0)
		c->resp =
		    strdup("HTTP/1.1 302 Found\r\nLocation: /health\r\n"
		           "Content-Length: 0\r\nConnection: close\r\n\r\n");
	else if (strncmp(path, "/away ", 6) == 0)
		c->resp =
		    strdup("HTTP/1.1 302 Found\r\nLocation: "
		           "http://other.invalid/health\r\n"
		           "Content-Length: 0\r\nConnection: close\r\n\r\n");
	else if (s->requests <= s->n503)
		c->resp = strdup("HTTP/1.1 503 Service Unavailable\r\n"
		                 "Content-Length: 9\r\nConnection: close\r\n"
		                 "\r\nstarting\n");
	else
		c->resp = dr_xasprintf("HTTP/1.1 200 OK\r\nContent-Length: "
		                       "%zu\r\nConnection: close\r\n\r\n%s",
		                       strlen(s->body), s->body);
	assert_non_null(c->resp);
	b = uv_buf_init(c->resp, strlen(c->resp));
	c->wreq.data = c;
	assert_int_equal(
	    uv_write(&c->wreq, (uv_stream_t *)&c->tcp, &b, 1, conn_written), 0);
}

static void
conn_read(uv_stream_t *st, ssize_t n, const uv_buf_t *b)
{
	struct srv_conn *c = st->data;

	(void)b;
	if (n < 0) {
		conn_close(c);
		return;
	}
	c->len += (size_t)n;
	c->req[c->len] = '\0';
	if (!c->answered && strstr(c->req, "\r\n\r\n") != NULL)
		conn_answer(c);
}

static void
srv_on_conn(uv_stream_t *l, int status)
{
	struct srv *s = l->data;
	struct srv_conn *c;

	assert_int_equal(status, 0);
	c = calloc(1, sizeof(*c));
	assert_non_null(c);
	c->srv = s;
	uv_tcp_init(l->loop, &c->tcp);
	c->tcp.data = c;
	assert_int_equal(uv_accept(l, (uv_stream_t *)&c->tcp), 0);
	s->accepted++;
	c->next = s->conns;
	if (c->next != NULL)
		c->next->prevp = &c->next;
	c->prevp = &s->conns;
	s->conns = c;
	uv_read_start((uv_stream_t *)&c->tcp, conn_alloc, conn_read);
}

static void
srv_start(uv_loop_t *loop, struct srv *s)
{
	struct sockaddr_in sa;
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	uv_ip4_addr("127.0.0.1", 0, &sa);
	uv_tcp_init(loop, &s->listener);
	s->listener.data = s;
	assert_int_equal(uv_tcp_bind(&s->listener, (struct sockaddr *)&sa, 0),
	                 0);
	assert_int_equal(
	    uv_listen((uv_stream_t *)&s->listener, 64, srv_on_conn), 0);
	uv_tcp_getsockname(&s->listener, (struct sockaddr *)&ss, &len);
	s->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void
srv_stop(struct srv *s)
{
	struct srv_conn *c;

	for (c = s->conns; c != NULL; c = c->next)
		conn_close(c);
	uv_close((uv_handle_t *)&s->listener, NULL);
}

/* A port on 127.0.0.1 where nothing listens. */
static int
closed_port(uv_loop_t *loop)
{
	struct srv s;

	memset(&s, 0, sizeof(s));
	srv_start(loop, &s);
	uv_close((uv_handle_t *)&s.listener, NULL);
	uv_run(loop, UV_RUN_DEFAULT);
	return s.port;
}

/* --- probe plumbing ------------------------------------------------------- */

struct outcome {
	int calls;
	int status;
	int attempts;
	int last_http_status;
	uint64_t elapsed_ms;
	char *message;
};

static void
probe_done(struct dr_probe_result *res, void *arg)
{
	struct outcome *o = arg;

	o->calls++;
	o->status = res->status;
	o->attempts = res->attempts;
	o->last_http_status = res->last_http_status;
	o->elapsed_ms = res->elapsed_ms;
	o->message = res->message; /* keep it */
	res->message = NULL;
	printf("# %s\n", o->message);
}

static char *
url(struct srv *s, const char *path)
{
	return dr_xasprintf("http://127.0.0.1:%d%s", s->port, path);
}

/* Runs the loop until the probe's callback ran, then stops the server. */
static void
run_probe(uv_loop_t *loop, struct dr_probe_opts *po, struct outcome *out,
          struct srv *s)
{
	assert_int_equal(dr_probe_start(loop, po, probe_done, out, NULL), 0);
	assert_int_equal(out->calls, 0); /* never from inside start */
	while (out->calls == 0)
		uv_run(loop, UV_RUN_ONCE);
	if (s != NULL)
		srv_stop(s);
}

/* --- tests ---------------------------------------------------------------- */

static void
test_http_healthy_after_503s(void **state)
{
	uv_loop_t *loop = new_loop();
	struct srv s = {.n503 = 3, .body = "status: ready\n"};
	struct outcome out = {0};
	struct dr_probe_opts po = {0};

	srv_start(loop, &s);
	po.kind = DR_PROBE_GET;
	po.target = url(&s, "/health");
	po.expect_body = "ready";
	po.within_ms = 10000;
	po.interval_ms = 50;
	run_probe(loop, &po, &out, &s);
	end_loop(loop);

	assert_int_equal(out.calls, 1);
	assert_int_equal(out.status, 0);
	assert_int_equal(out.attempts, 4);
	assert_int_equal(s.requests, 4);
	assert_int_equal(out.last_http_status, 200);
	assert_non_null(strstr(out.message, "healthy (200) after 4 attempts"));
	assert_true(strncmp(out.message, po.target, strlen(po.target)) == 0);
	free((char *)po.target);
	free(out.message);
}

static void
test_http_body_mismatch_keeps_failing(void **state)
{
	uv_loop_t *loop = new_loop();
	struct srv s = {.body = "status: starting\n"};
	struct outcome out = {0};
	struct dr_probe_opts po = {0};

	srv_start(loop, &s);
	po.kind = DR_PROBE_GET;
	po.target = url(&s, "/health");
	po.expect_body = "ready";
	po.within_ms = 500;
	po.interval_ms = 50;
	run_probe(loop, &po, &out, &s);
	end_loop(loop);

	assert_int_equal(out.status, DR_ETIMEDOUT);
	assert_true(out.attempts >= 3);
	assert_int_equal(out.last_http_status, 200);
	assert_non_null(
	    strstr(out.message, "200 but the body lacks \"ready\""));
	free((char *)po.target);
	free(out.message);
}

static void
test_http_within_expires(void **state)
{
	uv_loop_t *loop = new_loop();
	struct srv s = {.n503 = 1000000, .body = ""};
	struct outcome out = {0};
	struct dr_probe_opts po = {0};
	char want[64];

	srv_start(loop, &s);
	po.kind = DR_PROBE_GET;
	po.target = url(&s, "/x");
	po.within_ms = 400;
	po.interval_ms = 100;
	run_probe(loop, &po, &out, &s);
	end_loop(loop);

	assert_int_equal(out.status, DR_ETIMEDOUT);
	assert_true(out.attempts >= 3 && out.attempts <= 5);
	/* The last attempt may be cut off by the deadline before it sent. */
	assert_true(s.requests == out.attempts ||
	            s.requests == out.attempts - 1);
	assert_int_equal(out.last_http_status, 503);
	snprintf(want, sizeof(want), ": 503 after %d attempts in ",
	         out.attempts);
	assert_non_null(strstr(out.message, want));
	assert_true(out.elapsed_ms < 2000);
	free((char *)po.target);
	free(out.message);
}

static void
test_http_expect_status(void **state)
{
	uv_loop_t *loop = new_loop();
	struct srv s = {.body = "ok"};
	struct outcome out = {0};
	struct dr_probe_opts po = {0};

	srv_start(loop, &s);
	po.kind = DR_PROBE_GET;
	po.target = url(&s, "/");
	po.expect_status = 204;
	po.within_ms = 0; /* one attempt */
	run_probe(loop, &po, &out, &s);
	end_loop(loop);

	assert_int_equal(out.status, DR_ETIMEDOUT);
	assert_int_equal(out.attempts, 1);
	assert_non_null(strstr(out.message, "200 (expected 204) after 1 "
	                                    "attempt in "));
	free((char *)po.target);
	free(out.message);
}

static void
test_http_attempt_timeout(void **state)
{
	uv_loop_t *loop = new_loop();
	struct srv s = {.mode = SRV_HANG};
	struct outcome out = {0};
	struct dr_probe_opts po = {0};

	srv_start(loop, &s);
	po.kind = DR_PROBE_GET;
	po.target = url(&s, "/slow");
	po.within_ms = 1000;
	po.interval_ms = 50;
	po.attempt_timeout_ms = 200;
	run_probe(loop, &po, &out, &s);
	end_loop(loop);

	assert_int_equal(out.status, DR_ETIMEDOUT);
	assert_true(out.attempts >= 3 && out.attempts <= 6);
	assert_true(s.accepted >= out.attempts - 1); /* fresh connections */
	assert_int_equal(out.last_http_status, 0);
	assert_non_null(strstr(out.message, "no answer within"));
	free((char *)po.target);
	free(out.message);
}

static void
test_http_refused(void **state)
{
	uv_loop_t *loop = new_loop();
	struct outcome out = {0};
	struct dr_probe_opts po = {0};
	char *u;

	u = dr_xasprintf("http://127.0.0.1:%d/health", closed_port(loop));
	po.kind = DR_PROBE_GET;
	po.target = u;
	po.within_ms = 300;
	po.interval_ms = 100;
	run_probe(loop, &po, &out, NULL);
	end_loop(loop);

	assert_int_equal(out.status, DR_ETIMEDOUT);
	assert_true(out.attempts >= 2);
	assert_non_null(strstr(out.message, ": connection refused after "));
	free(u);
	free(out.message);
}

static void
test_http_redirects(void **state)
{
	uv_loop_t *loop = new_loop();
	struct srv s = {.body = "ready"};
	struct outcome out = {0}, out2 = {0};
	struct dr_probe_opts po = {0}, po2 = {0};

	srv_start(loop, &s);
	/* Same origin: followed. Other host: reported, not followed. Both
	 * at once on the shared multi handle. */
	po.kind = po2.kind = DR_PROBE_GET;
	po.target = url(&s, "/moved");
	po2.target = url(&s, "/away");
	assert_int_equal(dr_probe_start(loop, &po, probe_done, &out, NULL), 0);
	assert_int_equal(dr_probe_start(loop, &po2, probe_done, &out2, NULL),
	                 0);
	while (out.calls == 0 || out2.calls == 0)
		uv_run(loop, UV_RUN_ONCE);
	srv_stop(&s);
	end_loop(loop);

	assert_int_equal(out.status, 0);
	assert_int_equal(out.attempts, 1);
	assert_int_equal(out.last_http_status, 200);
	assert_int_equal(out2.status, DR_ETIMEDOUT);
	assert_int_equal(out2.last_http_status, 302);
	assert_non_null(strstr(out2.message, "302 redirect to "
	                                     "http://other.invalid/health not "
	                                     "followed"));
	assert_int_equal(s.requests, 3);
	free((char *)po.target);
	free((char *)po2.target);
	free(out.message);
	free(out2.message);
}

static void
test_http_body_cap(void **state)
{
	uv_loop_t *loop = new_loop();
	size_t n = 100 * 1024;
	char *big = malloc(n + 1);
	struct srv s = {0};
	struct outcome out = {0}, out2 = {0};
	struct dr_probe_opts po = {0};

	/* 100 KiB: "ready" at the start is found, "late" at the end is past
	 * the 64 KiB read cap. */
	assert_non_null(big);
	memset(big, '.', n);
	memcpy(big, "ready", 5);
	memcpy(big + n - 4, "late", 4);
	big[n] = '\0';
	s.body = big;
	srv_start(loop, &s);
	po.kind = DR_PROBE_GET;
	po.target = url(&s, "/big");
	po.expect_body = "ready";
	run_probe(loop, &po, &out, NULL);
	po.expect_body = "late";
	run_probe(loop, &po, &out2, &s);
	end_loop(loop);

	assert_int_equal(out.status, 0);
	assert_int_equal(out2.status, DR_ETIMEDOUT);
	assert_int_equal(out2.last_http_status, 200);
	assert_non_null(strstr(out2.message, "200 but the body (first 64 KiB) "
	                                     "lacks \"late\""));
	free((char *)po.target);
	free(big);
	free(out.message);
	free(out2.message);
}

static void
cancel_cb(uv_timer_t *t)
{
	dr_probe_cancel(t->data);
	uv_close((uv_handle_t *)t, NULL);
}

static void
test_http_cancel(void **state)
{
	uv_loop_t *loop = new_loop();
	struct srv s = {.mode = SRV_HANG};
	struct outcome out = {0};
	struct dr_probe_opts po = {0};
	struct dr_probe_run *run;
	uv_timer_t t;

	srv_start(loop, &s);
	po.kind = DR_PROBE_GET;
	po.target = url(&s, "/slow");
	po.within_ms = 60000;
	po.attempt_timeout_ms = 30000;
	assert_int_equal(dr_probe_start(loop, &po, probe_done, &out, &run), 0);
	uv_timer_init(loop, &t);
	t.data = run;
	uv_timer_start(&t, cancel_cb, 150, 0);
	while (out.calls == 0)
		uv_run(loop, UV_RUN_ONCE);
	srv_stop(&s);
	end_loop(loop);

	assert_int_equal(out.status, DR_ECANCELED);
	assert_int_equal(out.attempts, 1);
	assert_true(out.elapsed_ms < 5000);
	assert_non_null(strstr(out.message, "cancelled after 1 attempt in"));
	free((char *)po.target);
	free(out.message);
}

static void
test_tcp_ok(void **state)
{
	uv_loop_t *loop = new_loop();
	struct srv s = {.mode = SRV_HANG};
	struct outcome out = {0};
	struct dr_probe_opts po = {0};
	char target[64];

	srv_start(loop, &s);
	snprintf(target, sizeof(target), "127.0.0.1:%d", s.port);
	po.kind = DR_PROBE_CONNECT;
	po.target = target;
	po.within_ms = 2000;
	run_probe(loop, &po, &out, NULL);
	/* Let the server see the connection before stopping it. */
	while (s.accepted == 0)
		uv_run(loop, UV_RUN_ONCE);
	srv_stop(&s);
	end_loop(loop);

	assert_int_equal(out.status, 0);
	assert_int_equal(out.attempts, 1);
	assert_int_equal(out.last_http_status, 0);
	assert_non_null(strstr(out.message, ": healthy after 1 attempt in"));
	free(out.message);
}

/* The drill guard: a forbidden address is refused before any connect,
 * over http (by the address curl resolved) and tcp (by name and address). */
static void
test_guard_refuses_before_connecting(void **state)
{
	uv_loop_t *loop = new_loop();
	struct srv s = {.body = "ok"};
	struct outcome out = {0};
	struct dr_probe_opts po = {0};
	struct dr_guard *g = dr_guard_new();
	char target[64];

	dr_guard_add(g, "127.0.0.1", "milan/mi-db1, a production host");
	srv_start(loop, &s);
	po.kind = DR_PROBE_GET;
	po.target = url(&s, "/health");
	po.within_ms = 5000;
	po.interval_ms = 50;
	po.guard = g;
	run_probe(loop, &po, &out, NULL);
	assert_int_equal(out.status, DR_EREFUSED);
	assert_int_equal(out.attempts, 1);
	assert_non_null(strstr(out.message, "refused before connecting"));
	assert_non_null(strstr(out.message, "milan/mi-db1"));
	free(out.message);
	free((char *)po.target);
	memset(&out, 0, sizeof(out));
	snprintf(target, sizeof(target), "localhost:%d", s.port);
	po.kind = DR_PROBE_CONNECT;
	po.target = target; /* a name that resolves to the address */
	run_probe(loop, &po, &out, NULL);
	assert_int_equal(out.status, DR_EREFUSED);
	free(out.message);
	/* Nothing reached the server. */
	srv_stop(&s);
	end_loop(loop);
	assert_int_equal(s.accepted, 0);
	assert_int_equal(s.requests, 0);
	dr_guard_free(g);
}

static void
test_tcp_refused(void **state)
{
	uv_loop_t *loop = new_loop();
	struct outcome out = {0};
	struct dr_probe_opts po = {0};
	char target[64], want[160];

	snprintf(target, sizeof(target), "127.0.0.1:%d", closed_port(loop));
	po.kind = DR_PROBE_CONNECT;
	po.target = target;
	po.within_ms = 350;
	po.interval_ms = 100;
	run_probe(loop, &po, &out, NULL);
	end_loop(loop);

	assert_int_equal(out.status, DR_ETIMEDOUT);
	assert_true(out.attempts >= 3 && out.attempts <= 5);
	snprintf(want, sizeof(want), "%s: connection refused after %d attempts",
	         target, out.attempts);
	assert_non_null(strstr(out.message, want));
	free(out.message);
}

static void
test_tcp_cancel(void **state)
{
	uv_loop_t *loop = new_loop();
	struct outcome out = {0};
	struct dr_probe_opts po = {0};
	struct dr_probe_run *run;
	char target[64];

	snprintf(target, sizeof(target), "127.0.0.1:%d", closed_port(loop));
	po.kind = DR_PROBE_CONNECT;
	po.target = target;
	po.within_ms = 60000;
	po.interval_ms = 10000;
	assert_int_equal(dr_probe_start(loop, &po, probe_done, &out, &run), 0);
	/* Cancelled before the first attempt even started. */
	dr_probe_cancel(run);
	dr_probe_cancel(run); /* no-op */
	assert_int_equal(out.calls, 0);
	end_loop(loop);

	assert_int_equal(out.calls, 1);
	assert_int_equal(out.status, DR_ECANCELED);
	assert_int_equal(out.attempts, 0);
	free(out.message);
}

static void
test_bad_targets(void **state)
{
	uv_loop_t *loop = new_loop();
	struct outcome out = {0};
	struct dr_probe_opts po = {0};
	static const char *const bad_tcp[] = {
	    "nohost",  ":80",  "h:",     "h:0",
	    "h:65536", "h:8x", "::1:80", "[::1]80"};
	size_t i;

	po.kind = DR_PROBE_CONNECT;
	for (i = 0; i < sizeof(bad_tcp) / sizeof(bad_tcp[0]); i++) {
		po.target = bad_tcp[i];
		assert_int_equal(
		    dr_probe_start(loop, &po, probe_done, &out, NULL),
		    DR_EINVAL);
	}
	po.kind = DR_PROBE_GET;
	po.target = "ftp://127.0.0.1/";
	assert_int_equal(dr_probe_start(loop, &po, probe_done, &out, NULL),
	                 DR_EINVAL);
	po.target = "not a url";
	assert_int_equal(dr_probe_start(loop, &po, probe_done, &out, NULL),
	                 DR_EINVAL);
	po.target = NULL;
	assert_int_equal(dr_probe_start(loop, &po, probe_done, &out, NULL),
	                 DR_EINVAL);
	assert_int_equal(dr_probe_global_cleanup(loop), 0);
	end_loop(loop);
	assert_int_equal(out.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_http_healthy_after_503s),
	    cmocka_unit_test(test_http_body_mismatch_keeps_failing),
	    cmocka_unit_test(test_http_within_expires),
	    cmocka_unit_test(test_http_expect_status),
	    cmocka_unit_test(test_http_attempt_timeout),
	    cmocka_unit_test(test_http_refused),
	    cmocka_unit_test(test_http_redirects),
	    cmocka_unit_test(test_http_body_cap),
	    cmocka_unit_test(test_http_cancel),
	    cmocka_unit_test(test_tcp_ok),
	    cmocka_unit_test(test_tcp_refused),
	    cmocka_unit_test(test_guard_refuses_before_connecting),
	    cmocka_unit_test(test_tcp_cancel),
	    cmocka_unit_test(test_bad_targets),
	};

	signal(SIGPIPE, SIG_IGN); /* as drover does; the server writes to
	                             clients that stop reading */
	/* A proxy in the environment must not be used. */
	setenv("http_proxy", "http://127.0.0.1:9", 1);
	setenv("HTTP_PROXY", "http://127.0.0.1:9", 1);
	setenv("all_proxy", "http://127.0.0.1:9", 1);
	return cmocka_run_group_tests(tests, NULL, NULL);
}
