/*
 * test_curl_uv.c: the curl multi on the loop (curl-uv.h) against a listener
 * on 127.0.0.1 that accepts and never answers, and a port where nothing
 * listens. Every case ends with uv_loop_close() == 0: no handle is left.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "test_loop.h"
#include "drover/common.h"
#include "drover/curl-uv.h"

/* --- a listener that accepts and stays silent ----------------------------- */

struct mute {
	uv_tcp_t listener;
	uv_tcp_t conn[4];
	int nconn;
	int port;
};

static void
mute_on_conn(uv_stream_t *l, int status)
{
	struct mute *m = l->data;

	assert_int_equal(status, 0);
	assert_true(m->nconn < 4);
	uv_tcp_init(l->loop, &m->conn[m->nconn]);
	assert_int_equal(uv_accept(l, (uv_stream_t *)&m->conn[m->nconn]), 0);
	m->nconn++;
}

static void
mute_start(uv_loop_t *loop, struct mute *m)
{
	struct sockaddr_in sa;
	struct sockaddr_storage ss;
	int len = sizeof(ss);

	memset(m, 0, sizeof(*m));
	uv_ip4_addr("127.0.0.1", 0, &sa);
	uv_tcp_init(loop, &m->listener);
	m->listener.data = m;
	assert_int_equal(uv_tcp_bind(&m->listener, (struct sockaddr *)&sa, 0),
	                 0);
	assert_int_equal(
	    uv_listen((uv_stream_t *)&m->listener, 8, mute_on_conn), 0);
	uv_tcp_getsockname(&m->listener, (struct sockaddr *)&ss, &len);
	m->port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
}

static void
mute_stop(struct mute *m)
{
	int i;

	for (i = 0; i < m->nconn; i++)
		uv_close((uv_handle_t *)&m->conn[i], NULL);
	uv_close((uv_handle_t *)&m->listener, NULL);
}

/* A port on 127.0.0.1 where nothing listens. */
static int
closed_port(uv_loop_t *loop)
{
	struct mute m;

	mute_start(loop, &m);
	mute_stop(&m);
	uv_run(loop, UV_RUN_DEFAULT);
	return m.port;
}

/* --- plumbing ------------------------------------------------------------- */

struct seen {
	struct dr_curl_uv *cu;
	int calls;
	CURLcode rc;
	CURL *easy;
	int readd;       /* add the handle again this many times */
	bool close_last; /* close cu from the last callback */
};

static void
done(CURLcode rc, CURL *easy, void *arg)
{
	struct seen *s = arg;

	s->calls++;
	s->rc = rc;
	s->easy = easy;
	if (s->readd > 0) {
		s->readd--;
		/* The handle is out of the multi: adding it again works. */
		assert_int_equal(dr_curl_uv_add(s->cu, easy, done, s), 0);
		return;
	}
	if (s->close_last) {
		dr_curl_uv_close(s->cu);
		s->cu = NULL;
	}
}

static CURL *
easy_to(int port, long timeout_ms)
{
	CURL *e = curl_easy_init();
	char *u = dr_xasprintf("http://127.0.0.1:%d/", port);

	assert_non_null(e);
	curl_easy_setopt(e, CURLOPT_URL, u);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_PROXY, "");
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, timeout_ms);
	free(u);
	return e;
}

/* Runs the loop until the transfer has been removed or cu closed. */
static void
run_until(uv_loop_t *loop, const int *flag)
{
	while (*flag == 0)
		uv_run(loop, UV_RUN_ONCE);
}

/* --- tests ---------------------------------------------------------------- */

/* A refused connection ends in one callback; re-adding from inside it works,
 * and so does closing the multi from inside the last one. */
static void
test_done_readd_close_in_callback(void **state)
{
	uv_loop_t *loop = new_loop();
	int port = closed_port(loop);
	struct seen s;
	CURL *e = easy_to(port, 10000);

	(void)state;
	memset(&s, 0, sizeof(s));
	assert_int_equal(dr_curl_uv_new(loop, "test", &s.cu), 0);
	s.readd = 1;
	s.close_last = true;
	assert_int_equal(dr_curl_uv_add(s.cu, e, done, &s), 0);
	assert_int_equal(s.calls, 0); /* never from inside add */
	while (s.cu != NULL)
		uv_run(loop, UV_RUN_ONCE);
	assert_int_equal(s.calls, 2);
	assert_int_equal(s.rc, CURLE_COULDNT_CONNECT);
	assert_ptr_equal(s.easy, e);
	curl_easy_cleanup(e); /* still the caller's */
	end_loop(loop);
}

/* Adding a handle twice is refused, and the refusal calls nothing. */
static void
test_add_twice_refused(void **state)
{
	uv_loop_t *loop = new_loop();
	struct mute m;
	struct seen s;
	CURL *e;

	(void)state;
	mute_start(loop, &m);
	e = easy_to(m.port, 10000);
	memset(&s, 0, sizeof(s));
	assert_int_equal(dr_curl_uv_new(loop, "test", &s.cu), 0);
	assert_int_equal(dr_curl_uv_add(s.cu, e, done, &s), 0);
	assert_int_equal(dr_curl_uv_add(s.cu, e, done, &s), DR_EINVAL);
	assert_int_equal(dr_curl_uv_add(s.cu, NULL, done, &s), DR_EINVAL);
	dr_curl_uv_close(s.cu);
	curl_easy_cleanup(e);
	mute_stop(&m);
	end_loop(loop);
	assert_int_equal(s.calls, 0);
}

static void
on_remove(uv_timer_t *t)
{
	struct seen *s = t->data;

	assert_int_equal(s->calls, 0);
	dr_curl_uv_remove(s->cu, s->easy);
	dr_curl_uv_remove(s->cu, s->easy); /* again: a no-op */
	s->readd = 1;                      /* marks the removal */
}

static void
on_later(uv_timer_t *t)
{
	*(int *)t->data = 1;
}

/* A transfer removed while it waits for an answer never calls back, not
 * even when the server then hangs up (which would end it with
 * CURLE_GOT_NOTHING); its sockets are closed when the multi closes. */
static void
test_remove_in_flight(void **state)
{
	uv_loop_t *loop = new_loop();
	struct mute m;
	struct seen s;
	uv_timer_t t;
	int later;

	(void)state;
	mute_start(loop, &m);
	memset(&s, 0, sizeof(s));
	s.easy = easy_to(m.port, 20000);
	assert_int_equal(dr_curl_uv_new(loop, "test", &s.cu), 0);
	assert_int_equal(dr_curl_uv_add(s.cu, s.easy, done, &s), 0);
	while (m.nconn == 0)
		uv_run(loop, UV_RUN_ONCE); /* the request is on the wire */
	uv_timer_init(loop, &t);
	t.data = &s;
	uv_timer_start(&t, on_remove, 0, 0);
	run_until(loop, &s.readd);
	mute_stop(&m); /* the server hangs up */
	later = 0;
	t.data = &later;
	uv_timer_start(&t, on_later, 500, 0);
	run_until(loop, &later);
	uv_close((uv_handle_t *)&t, NULL);
	dr_curl_uv_close(s.cu);
	curl_easy_cleanup(s.easy);
	end_loop(loop);
	assert_int_equal(s.calls, 0);
}

/* Closing with transfers in flight calls nothing and leaks no handle; two
 * multis on one loop share libcurl's global state. */
static void
test_close_in_flight_two_multis(void **state)
{
	uv_loop_t *loop = new_loop();
	struct mute m;
	struct seen s1, s2;
	CURL *e1, *e2;

	(void)state;
	mute_start(loop, &m);
	e1 = easy_to(m.port, 20000);
	e2 = easy_to(m.port, 20000);
	memset(&s1, 0, sizeof(s1));
	memset(&s2, 0, sizeof(s2));
	assert_int_equal(dr_curl_uv_new(loop, "one", &s1.cu), 0);
	assert_int_equal(dr_curl_uv_new(loop, "two", &s2.cu), 0);
	assert_int_equal(dr_curl_uv_add(s1.cu, e1, done, &s1), 0);
	assert_int_equal(dr_curl_uv_add(s2.cu, e2, done, &s2), 0);
	while (m.nconn < 2)
		uv_run(loop, UV_RUN_ONCE);
	dr_curl_uv_close(s1.cu);
	dr_curl_uv_close(s2.cu);
	dr_curl_uv_close(NULL); /* a no-op */
	curl_easy_cleanup(e1);
	curl_easy_cleanup(e2);
	mute_stop(&m);
	end_loop(loop);
	assert_int_equal(s1.calls + s2.calls, 0);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_done_readd_close_in_callback),
	    cmocka_unit_test(test_add_twice_refused),
	    cmocka_unit_test(test_remove_in_flight),
	    cmocka_unit_test(test_close_in_flight_two_multis),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
