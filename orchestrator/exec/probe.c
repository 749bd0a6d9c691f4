/*
 * probe.c: tcp and http health probes from the controller.
 *
 * One state machine per run (set_state() is the only writer):
 *
 *   WAIT     the step timer runs until the next attempt
 *   RESOLVE  tcp: uv_getaddrinfo in flight (step timer = attempt timeout)
 *   CONNECT  tcp: uv_tcp_connect in flight on one resolved address
 *   HTTP     http: an easy handle is in the loop's shared CURLM
 *   ENDING   a final status is set; waiting for the attempt's requests and
 *            handles to come back
 *   CLOSING  the run's timers are closing; the last close callback calls
 *            the user's callback and frees the run
 *
 * The http probes of one loop share one curl multi on that loop
 * (util/curl-uv.c); it is closed when the last run that holds it ends.
 */
#include "drover/probe.h"

#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <curl/curl.h>

#include "drover/curl-uv.h"

#define BODY_CAP (64 * 1024)
#define MAX_REDIRS 5
#define DEF_INTERVAL_MS 2000
#define DEF_ATTEMPT_MS 5000

/* The curl multi shared by the http probes of one loop. */
struct curl_loop {
	struct curl_loop *next;
	uv_loop_t *loop;
	struct dr_curl_uv *cu;
	int nruns; /* probe runs holding a reference */
};

/* Loops with probes; all on one thread (see probe.h). */
static struct curl_loop *curl_loops;

enum probe_state {
	PS_WAIT,
	PS_RESOLVE,
	PS_CONNECT,
	PS_HTTP,
	PS_ENDING,
	PS_CLOSING,
	PS_LAST
};

static const char *const probe_state_names[] = {"wait", "resolve", "connect",
                                                "http", "ending",  "closing"};
_Static_assert(DR_NELEM(probe_state_names) == PS_LAST, "probe_state_names");

struct dr_probe_run {
	uv_loop_t *loop;
	dr_probe_cb cb;
	void *arg;
	enum probe_state state;

	enum dr_probe_type kind;
	char *target;
	char *expect_body;
	char *proxy;
	int expect_status;
	uint64_t within_ms;
	uint64_t interval_ms;
	uint64_t attempt_ms;

	uv_timer_t deadline;
	uv_timer_t step; /* next attempt, or tcp attempt timeout */
	int nhandles;    /* the two timers */

	/* tcp */
	char *host;
	char port[8];
	uv_getaddrinfo_t gai;
	bool gai_busy;
	struct addrinfo *ai_list;
	struct addrinfo *ai_next;
	uv_tcp_t tcp;
	uv_connect_t conn;
	bool tcp_open;
	bool connected;
	int conn_status;
	bool attempt_timed_out;

	/* http */
	struct curl_loop *cl;
	CURL *easy;
	char errbuf[CURL_ERROR_SIZE];
	struct dr_buf body;
	bool body_capped;
	int redirects;

	const struct dr_guard *guard;
	const char *forbidden; /* the guard refused this address */

	bool ending;
	int status;
	int attempts;
	int last_http_status;
	char *last_reason;
	uint64_t t0;
	uint64_t attempt_t0;
};

static void start_attempt(struct dr_probe_run *run);
static void finish(struct dr_probe_run *run, int status);
static void try_connect(struct dr_probe_run *run);
static int http_start(struct dr_probe_run *run, const char *url);

/* --- tracing and small helpers ------------------------------------------ */

static void
set_state(struct dr_probe_run *run, enum probe_state st)
{
	dr_trace_state("probe", run->target, probe_state_names[run->state],
	               probe_state_names[st]);
	run->state = st;
}

static void set_reason(struct dr_probe_run *run, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_reason(struct dr_probe_run *run, const char *fmt, ...)
{
	free(run->last_reason);
	DR_VFORMAT(run->last_reason, fmt);
}

/* Splits "host:port" or "[v6]:port". Returns 0 or DR_EINVAL. */
static int
parse_hostport(const char *t, char **host, char port[8])
{
	const char *colon, *h = t;
	size_t hlen;
	char *end;
	long p;

	if (t[0] == '[') {
		const char *rb = strchr(t, ']');
		if (rb == NULL || rb[1] != ':')
			return DR_EINVAL;
		h = t + 1;
		hlen = (size_t)(rb - h);
		colon = rb + 1;
	} else {
		colon = strchr(t, ':');
		if (colon == NULL || strchr(colon + 1, ':') != NULL)
			return DR_EINVAL;
		hlen = (size_t)(colon - t);
	}
	if (hlen == 0 || colon[1] < '0' || colon[1] > '9')
		return DR_EINVAL;
	p = strtol(colon + 1, &end, 10);
	if (*end != '\0' || p < 1 || p > 65535)
		return DR_EINVAL;
	*host = dr_xstrndup(h, hlen);
	snprintf(port, 8, "%ld", p);
	return 0;
}

/* --- the shared libcurl multi handle of a loop --------------------------- */

static struct curl_loop *
cl_get(uv_loop_t *loop)
{
	struct curl_loop *cl;

	for (cl = curl_loops; cl != NULL; cl = cl->next)
		if (cl->loop == loop)
			return cl;
	cl = dr_xcalloc(1, sizeof(*cl));
	if (dr_curl_uv_new(loop, "probe", &cl->cu) != 0) {
		free(cl);
		return NULL;
	}
	cl->loop = loop;
	cl->next = curl_loops;
	curl_loops = cl;
	return cl;
}

/* Called from close callbacks only, never from inside libcurl. */
static void
cl_destroy(struct curl_loop *cl)
{
	struct curl_loop **pp;

	for (pp = &curl_loops; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == cl) {
			*pp = cl->next;
			break;
		}
	}
	dr_curl_uv_close(cl->cu); /* its handles close on the loop */
	free(cl);
}

static void
cl_release(struct curl_loop *cl)
{
	if (cl != NULL && --cl->nruns == 0)
		cl_destroy(cl);
}

int
dr_probe_global_cleanup(uv_loop_t *loop)
{
	struct curl_loop *cl;

	for (cl = curl_loops; cl != NULL; cl = cl->next) {
		if (cl->loop != loop)
			continue;
		if (cl->nruns > 0)
			return DR_EINVAL;
		cl_destroy(cl);
		return 0;
	}
	return 0;
}

/* --- the end of a run ----------------------------------------------------- */

static void
deliver(struct dr_probe_run *run)
{
	struct dr_probe_result res;
	struct dr_buf msg;
	uint64_t elapsed = dr_now_mono_ms() - run->t0;
	const char *s = run->attempts == 1 ? "" : "s";
	char d[32];

	dr_duration_fmt(elapsed, d, sizeof(d));
	dr_buf_init(&msg, 0);
	dr_buf_printf(&msg, "%s: ", run->target);
	switch (run->status) {
	case 0:
		if (run->kind == DR_PROBE_GET)
			dr_buf_printf(&msg, "healthy (%d)",
			              run->last_http_status);
		else
			dr_buf_puts(&msg, "healthy");
		dr_buf_printf(&msg, " after %d attempt%s in %s", run->attempts,
		              s, d);
		break;
	case DR_ECANCELED:
		dr_buf_printf(&msg, "cancelled after %d attempt%s in %s",
		              run->attempts, s, d);
		if (run->last_reason != NULL)
			dr_buf_printf(&msg, " (last: %s)", run->last_reason);
		break;
	default:
		dr_buf_printf(&msg, "%s after %d attempt%s in %s",
		              run->last_reason != NULL ? run->last_reason
		                                       : "not healthy",
		              run->attempts, s, d);
		break;
	}

	memset(&res, 0, sizeof(res));
	res.status = run->status;
	res.attempts = run->attempts;
	res.last_http_status = run->last_http_status;
	res.elapsed_ms = elapsed;
	res.message = dr_buf_steal(&msg);
	run->cb(&res, run->arg);
	free(res.message);

	cl_release(run->cl);
	dr_buf_free(&run->body);
	free(run->last_reason);
	free(run->target);
	free(run->expect_body);
	free(run->proxy);
	free(run->host);
	free(run);
}

static void
on_timer_close(uv_handle_t *h)
{
	struct dr_probe_run *run = h->data;

	if (--run->nhandles == 0)
		deliver(run);
}

/* Closes the timers once nothing of the attempt is outstanding. */
static void
maybe_close(struct dr_probe_run *run)
{
	if (!run->ending || run->state == PS_CLOSING)
		return;
	if (run->gai_busy || run->tcp_open)
		return;
	set_state(run, PS_CLOSING);
	uv_close((uv_handle_t *)&run->deadline, on_timer_close);
	uv_close((uv_handle_t *)&run->step, on_timer_close);
}

static void
http_abort(struct dr_probe_run *run)
{
	if (run->easy == NULL)
		return;
	dr_curl_uv_remove(run->cl->cu, run->easy);
	curl_easy_cleanup(run->easy);
	run->easy = NULL;
}

static void close_tcp(struct dr_probe_run *run);

static void
finish(struct dr_probe_run *run, int status)
{
	if (run->ending)
		return;
	run->ending = true;
	run->status = status;
	uv_timer_stop(&run->deadline);
	uv_timer_stop(&run->step);
	if (run->gai_busy)
		uv_cancel((uv_req_t *)&run->gai); /* its callback still runs */
	close_tcp(run);
	http_abort(run);
	if (run->ai_list != NULL) {
		uv_freeaddrinfo(run->ai_list);
		run->ai_list = run->ai_next = NULL;
	}
	set_state(run, PS_ENDING);
	maybe_close(run);
}

static void
on_next(uv_timer_t *t)
{
	start_attempt(t->data);
}

/* The attempt is over: healthy, or reason already set. */
static void
attempt_end(struct dr_probe_run *run, bool healthy)
{
	uint64_t now = dr_now_mono_ms(), next;

	uv_timer_stop(&run->step);
	if (run->ai_list != NULL) {
		uv_freeaddrinfo(run->ai_list);
		run->ai_list = run->ai_next = NULL;
	}
	if (healthy) {
		finish(run, 0);
		return;
	}
	next = run->attempt_t0 + run->interval_ms;
	if (run->within_ms == 0 || next - run->t0 >= run->within_ms) {
		finish(run, DR_ETIMEDOUT);
		return;
	}
	set_state(run, PS_WAIT);
	uv_timer_start(&run->step, on_next, next > now ? next - now : 0, 0);
}

static void
on_deadline(uv_timer_t *t)
{
	struct dr_probe_run *run = t->data;
	char d[32];

	/* An attempt cut short by the deadline says nothing new when an
	 * earlier one gave a reason; keep that one. */
	if (run->last_reason == NULL &&
	    (run->state == PS_RESOLVE || run->state == PS_CONNECT ||
	     run->state == PS_HTTP))
		set_reason(run, "no answer within %s",
		           dr_duration_fmt(dr_now_mono_ms() - run->attempt_t0,
		                           d, sizeof(d)));
	finish(run, DR_ETIMEDOUT);
}

/* --- tcp ---------------------------------------------------------------- */

static void
on_tcp_close(uv_handle_t *h)
{
	struct dr_probe_run *run = h->data;
	char d[32];

	run->tcp_open = false;
	if (run->ending) {
		maybe_close(run);
	} else if (run->connected) {
		attempt_end(run, true);
	} else if (run->attempt_timed_out) {
		set_reason(run, "no answer within %s",
		           dr_duration_fmt(run->attempt_ms, d, sizeof(d)));
		attempt_end(run, false);
	} else if (run->ai_next != NULL) {
		try_connect(run);
	} else {
		set_reason(run, "%s", uv_strerror(run->conn_status));
		attempt_end(run, false);
	}
}

static void
close_tcp(struct dr_probe_run *run)
{
	if (run->tcp_open && !uv_is_closing((uv_handle_t *)&run->tcp))
		uv_close((uv_handle_t *)&run->tcp, on_tcp_close);
}

static void
on_connect(uv_connect_t *req, int status)
{
	struct dr_probe_run *run = req->data;

	if (status == UV_ECANCELED)
		return; /* we are closing the handle */
	run->conn_status = status;
	run->connected = status == 0;
	close_tcp(run);
}

static void
try_connect(struct dr_probe_run *run)
{
	struct addrinfo *a = run->ai_next;
	int r;

	run->ai_next = a->ai_next;
	if ((run->forbidden =
	         dr_guard_check(run->guard, run->host, a->ai_addr)) != NULL) {
		set_reason(run,
		           "refused before connecting: %s is %s, and a drill "
		           "never touches production",
		           run->host, run->forbidden);
		finish(run, DR_EREFUSED);
		return;
	}
	set_state(run, PS_CONNECT);
	uv_tcp_init(run->loop, &run->tcp);
	run->tcp.data = run;
	run->tcp_open = true;
	run->connected = false;
	run->conn.data = run;
	r = uv_tcp_connect(&run->conn, &run->tcp, a->ai_addr, on_connect);
	if (r != 0) {
		run->conn_status = r;
		close_tcp(run);
	}
}

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct dr_probe_run *run = req->data;
	char d[32];

	run->gai_busy = false;
	if (run->ending) {
		if (res != NULL)
			uv_freeaddrinfo(res);
		maybe_close(run);
		return;
	}
	if (run->attempt_timed_out) {
		if (res != NULL)
			uv_freeaddrinfo(res);
		set_reason(run, "name not resolved within %s",
		           dr_duration_fmt(run->attempt_ms, d, sizeof(d)));
		attempt_end(run, false);
		return;
	}
	if (status < 0 || res == NULL) {
		if (res != NULL)
			uv_freeaddrinfo(res);
		set_reason(run, "name not resolved: %s",
		           status < 0 ? uv_strerror(status) : "no address");
		attempt_end(run, false);
		return;
	}
	run->ai_list = run->ai_next = res;
	try_connect(run);
}

static void
on_attempt_timeout(uv_timer_t *t)
{
	struct dr_probe_run *run = t->data;

	run->attempt_timed_out = true;
	if (run->gai_busy)
		uv_cancel((uv_req_t *)&run->gai);
	close_tcp(run);
}

static void
tcp_start(struct dr_probe_run *run)
{
	struct addrinfo hints;
	int r;

	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	hints.ai_protocol = IPPROTO_TCP;
	run->attempt_timed_out = false;
	set_state(run, PS_RESOLVE);
	run->gai.data = run;
	r = uv_getaddrinfo(run->loop, &run->gai, on_resolved, run->host,
	                   run->port, &hints);
	if (r != 0) {
		set_reason(run, "name not resolved: %s", uv_strerror(r));
		attempt_end(run, false);
		return;
	}
	run->gai_busy = true;
	uv_timer_start(&run->step, on_attempt_timeout, run->attempt_ms, 0);
}

/* --- http ----------------------------------------------------------------- */

static size_t
write_cb(char *p, size_t size, size_t nmemb, void *userdata)
{
	struct dr_probe_run *run = userdata;
	size_t n = size * nmemb, room = BODY_CAP - run->body.len;

	if (n > room) {
		dr_buf_append(&run->body, p, room);
		run->body_capped = true;
		return 0; /* stop reading: CURLE_WRITE_ERROR, handled */
	}
	dr_buf_append(&run->body, p, n);
	return n;
}

/* Whether the n bytes at p (may hold NULs) contain the string needle. */
static bool
contains(const char *p, size_t n, const char *needle)
{
	size_t k = strlen(needle), i;

	if (k == 0)
		return true;
	for (i = 0; p != NULL && i + k <= n; i++)
		if (p[i] == needle[0] && memcmp(p + i, needle, k) == 0)
			return true;
	return false;
}

/* Same scheme, host and port. */
static bool
same_origin(const char *a, const char *b)
{
	static const CURLUPart parts[] = {CURLUPART_SCHEME, CURLUPART_HOST,
	                                  CURLUPART_PORT};
	CURLU *ua = curl_url(), *ub = curl_url();
	bool same = ua != NULL && ub != NULL &&
	            curl_url_set(ua, CURLUPART_URL, a, 0) == CURLUE_OK &&
	            curl_url_set(ub, CURLUPART_URL, b, 0) == CURLUE_OK;
	size_t i;

	for (i = 0; same && i < sizeof(parts) / sizeof(parts[0]); i++) {
		char *pa = NULL, *pb = NULL;
		same = curl_url_get(ua, parts[i], &pa, CURLU_DEFAULT_PORT) ==
		           CURLUE_OK &&
		       curl_url_get(ub, parts[i], &pb, CURLU_DEFAULT_PORT) ==
		           CURLUE_OK &&
		       strcasecmp(pa, pb) == 0;
		curl_free(pa);
		curl_free(pb);
	}
	curl_url_cleanup(ua);
	curl_url_cleanup(ub);
	return same;
}

static void
set_curl_reason(struct dr_probe_run *run, CURL *easy, CURLcode rc)
{
	long oserr = 0;
	char d[32];

	switch (rc) {
	case CURLE_COULDNT_CONNECT:
		curl_easy_getinfo(easy, CURLINFO_OS_ERRNO, &oserr);
		if (oserr > 0)
			set_reason(run, "%s", uv_strerror((int)-oserr));
		else
			set_reason(run, "could not connect");
		break;
	case CURLE_OPERATION_TIMEDOUT:
		set_reason(run, "no answer within %s",
		           dr_duration_fmt(run->attempt_ms, d, sizeof(d)));
		break;
	case CURLE_COULDNT_RESOLVE_HOST:
		set_reason(run, "name not resolved");
		break;
	default:
		set_reason(run, "%s",
		           run->errbuf[0] ? run->errbuf
		                          : curl_easy_strerror(rc));
		if (run->last_reason[0] >= 'A' && run->last_reason[0] <= 'Z')
			run->last_reason[0] =
			    (char)(run->last_reason[0] - 'A' + 'a');
		break;
	}
}

/* A transfer of this run ended (dr_curl_uv_cb); easy is out of the multi. */
static void
http_done(CURLcode rc, CURL *easy, void *arg)
{
	struct dr_probe_run *run = arg;
	long code = 0;
	char *loc = NULL, *eff = NULL;
	bool status_ok, body_ok;

	if (rc == CURLE_WRITE_ERROR && run->body_capped)
		rc = CURLE_OK; /* we stopped reading at the cap */
	if (rc != CURLE_OK && run->forbidden != NULL) {
		char *u = NULL;
		curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &u);
		set_reason(run,
		           "refused before connecting: %s reaches %s, and a "
		           "drill never touches production",
		           u ? u : run->target, run->forbidden);
		curl_easy_cleanup(easy);
		run->easy = NULL;
		finish(run, DR_EREFUSED);
		return;
	}
	if (rc != CURLE_OK) {
		set_curl_reason(run, easy, rc);
		goto fail;
	}
	curl_easy_getinfo(easy, CURLINFO_RESPONSE_CODE, &code);
	run->last_http_status = (int)code;
	if (code >= 300 && code < 400 && code != run->expect_status) {
		curl_easy_getinfo(easy, CURLINFO_REDIRECT_URL, &loc);
		curl_easy_getinfo(easy, CURLINFO_EFFECTIVE_URL, &eff);
		if (loc != NULL && eff != NULL && same_origin(eff, loc) &&
		    run->redirects < MAX_REDIRS) {
			char *next = dr_xstrdup(loc);
			int r;

			run->redirects++;
			curl_easy_cleanup(easy);
			run->easy = NULL;
			r = http_start(run, next);
			free(next);
			if (r != 0)
				attempt_end(run, false);
			return;
		}
		if (loc != NULL)
			set_reason(run, "%ld redirect to %s not followed", code,
			           loc);
		else
			set_reason(run, "%ld", code);
		goto fail;
	}
	status_ok = run->expect_status != 0 ? code == run->expect_status
	                                    : code >= 200 && code < 300;
	body_ok = run->expect_body == NULL ||
	          contains(run->body.data, run->body.len, run->expect_body);
	curl_easy_cleanup(easy);
	run->easy = NULL;
	if (status_ok && body_ok) {
		attempt_end(run, true);
		return;
	}
	if (!status_ok && run->expect_status != 0)
		set_reason(run, "%ld (expected %d)", code, run->expect_status);
	else if (!status_ok)
		set_reason(run, "%ld", code);
	else
		set_reason(run, "%ld but the body%s lacks \"%s\"", code,
		           run->body_capped ? " (first 64 KiB)" : "",
		           run->expect_body);
	attempt_end(run, false);
	return;
fail:
	curl_easy_cleanup(easy);
	run->easy = NULL;
	attempt_end(run, false);
}

/* libcurl's socket hook: the guard sees every address before connect. */
static curl_socket_t
open_socket(void *arg, curlsocktype purpose, struct curl_sockaddr *a)
{
	struct dr_probe_run *run = arg;

	(void)purpose;
	if ((run->forbidden = dr_guard_check(run->guard, NULL, &a->addr)) !=
	    NULL)
		return CURL_SOCKET_BAD;
	return socket(a->family, a->socktype | SOCK_CLOEXEC, a->protocol);
}

/* Adds a transfer of url to the loop's multi. Returns 0, or -1 with the
 * reason set. */
static int
http_start(struct dr_probe_run *run, const char *url)
{
	CURL *e = curl_easy_init();

	if (e == NULL) {
		set_reason(run, "curl_easy_init failed");
		return -1;
	}
	dr_buf_free(&run->body);
	dr_buf_init(&run->body, 0);
	run->body_capped = false;
	run->errbuf[0] = '\0';
	curl_easy_setopt(e, CURLOPT_URL, url);
	curl_easy_setopt(e, CURLOPT_ERRORBUFFER, run->errbuf);
	curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, write_cb);
	curl_easy_setopt(e, CURLOPT_WRITEDATA, run);
	curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
	curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
	curl_easy_setopt(e, CURLOPT_TIMEOUT_MS, (long)run->attempt_ms);
	curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS, (long)run->attempt_ms);
	curl_easy_setopt(e, CURLOPT_USERAGENT, "drover-probe/" DROVER_VERSION);
	if (run->guard != NULL) {
		curl_easy_setopt(e, CURLOPT_OPENSOCKETFUNCTION, open_socket);
		curl_easy_setopt(e, CURLOPT_OPENSOCKETDATA, run);
	}
	if (run->proxy != NULL) {
		curl_easy_setopt(e, CURLOPT_PROXY, run->proxy);
	} else {
		curl_easy_setopt(e, CURLOPT_PROXY, "");
		curl_easy_setopt(e, CURLOPT_NOPROXY, "*");
	}
	run->easy = e;
	if (dr_curl_uv_add(run->cl->cu, e, http_done, run) != 0) {
		run->easy = NULL;
		curl_easy_cleanup(e);
		set_reason(run, "curl: cannot add the transfer");
		return -1;
	}
	return 0;
}

/* --- attempts and the public API -------------------------------------------
 */

static void
start_attempt(struct dr_probe_run *run)
{
	run->attempts++;
	run->attempt_t0 = dr_now_mono_ms();
	if (run->kind == DR_PROBE_CONNECT) {
		tcp_start(run);
		return;
	}
	set_state(run, PS_HTTP);
	run->redirects = 0;
	if (http_start(run, run->target) != 0)
		attempt_end(run, false);
}

static int
check_url(const char *url)
{
	CURLU *u = curl_url();
	char *scheme = NULL;
	int r = DR_EINVAL;

	if (u != NULL && curl_url_set(u, CURLUPART_URL, url, 0) == CURLUE_OK &&
	    curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
	    (strcasecmp(scheme, "http") == 0 ||
	     strcasecmp(scheme, "https") == 0))
		r = 0;
	curl_free(scheme);
	curl_url_cleanup(u);
	return r;
}

int
dr_probe_start(uv_loop_t *loop, const struct dr_probe_opts *o, dr_probe_cb cb,
               void *arg, struct dr_probe_run **out)
{
	struct dr_probe_run *run;
	char *host = NULL;
	char port[8] = "";

	if (out != NULL)
		*out = NULL;
	if (loop == NULL || o == NULL || cb == NULL || o->target == NULL)
		return DR_EINVAL;
	if (o->kind == DR_PROBE_CONNECT) {
		if (parse_hostport(o->target, &host, port) != 0)
			return DR_EINVAL;
	} else if (o->kind == DR_PROBE_GET) {
		if (check_url(o->target) != 0)
			return DR_EINVAL;
	} else {
		return DR_EINVAL;
	}

	run = dr_xcalloc(1, sizeof(*run));
	if (o->kind == DR_PROBE_GET) {
		run->cl = cl_get(loop);
		if (run->cl == NULL) {
			free(run);
			return DR_EIO;
		}
		run->cl->nruns++;
	}
	run->loop = loop;
	run->cb = cb;
	run->arg = arg;
	run->state = PS_WAIT;
	run->kind = o->kind;
	run->target = dr_xstrdup(o->target);
	run->expect_body =
	    o->expect_body != NULL ? dr_xstrdup(o->expect_body) : NULL;
	run->proxy = o->proxy != NULL ? dr_xstrdup(o->proxy) : NULL;
	run->guard = o->guard;
	run->expect_status = o->expect_status;
	run->within_ms = o->within_ms;
	run->interval_ms = o->interval_ms ? o->interval_ms : DEF_INTERVAL_MS;
	run->attempt_ms =
	    o->attempt_timeout_ms ? o->attempt_timeout_ms : DEF_ATTEMPT_MS;
	run->host = host;
	memcpy(run->port, port, sizeof(port));
	dr_buf_init(&run->body, 0);
	run->t0 = dr_now_mono_ms();

	uv_timer_init(loop, &run->deadline);
	uv_timer_init(loop, &run->step);
	run->deadline.data = run->step.data = run;
	run->nhandles = 2;
	if (run->within_ms > 0)
		uv_timer_start(&run->deadline, on_deadline, run->within_ms, 0);
	uv_timer_start(&run->step, on_next, 0, 0);
	if (out != NULL)
		*out = run;
	return 0;
}

void
dr_probe_cancel(struct dr_probe_run *run)
{
	if (run != NULL && !run->ending)
		finish(run, DR_ECANCELED);
}
