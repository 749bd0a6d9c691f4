/*
 * probe.h: health probes from the controller (steps with `probe = {...}`).
 *
 * A probe repeats attempts every interval until one is healthy or `within`
 * expires. Everything runs on the caller's libuv loop; nothing blocks it.
 * An attempt still in flight when `within` expires is abandoned; the run
 * also ends early, with DR_ETIMEDOUT, once the next attempt could not start
 * before `within` expires.
 *
 * TCP: "host:port" ("[v6]:port" for IPv6 literals). The name is resolved
 * with uv_getaddrinfo (thread pool); each address is tried in order with a
 * non-blocking connect. Healthy when a connection is accepted.
 *
 * HTTP: an http:// or https:// URL, fetched with the libcurl multi interface
 * driven by the same loop (uv_poll_t per socket, one uv_timer_t), one CURLM
 * shared by every probe on a loop, created with the first HTTP probe and
 * destroyed when the last one ends. Healthy when the status matches
 * (expect_status, or any 2xx when 0) and the body contains expect_body.
 * Each attempt uses a fresh connection; environment proxies are ignored
 * unless opts.proxy is set; redirects are followed only within the same
 * scheme, host and port (at most 5), any other redirect is reported as the
 * 3xx it is; at most 64 KiB of body is read; only http and https.
 *
 * All probe functions must be called from the loop's thread, and every loop
 * that runs probes from one thread at a time.
 */
#ifndef DROVER_PROBE_H
#define DROVER_PROBE_H

#include <stdint.h>

#include <uv.h>

#include "drover/common.h"
#include "drover/guard.h"

struct dr_probe_run;

/* What a probe asks: a TCP connect, or an HTTP GET. */
enum dr_probe_type { DR_PROBE_CONNECT, DR_PROBE_GET };

struct dr_probe_opts {
	enum dr_probe_type kind;
	const char *target;      /* "host:port" (tcp) or URL (http) */
	int expect_status;       /* http: 0 means any 2xx */
	const char *expect_body; /* http: substring that must appear, or NULL */
	uint64_t within_ms;      /* keep trying until this expires; 0: one
	                            attempt only */
	uint64_t interval_ms;    /* between attempt starts; 0: 2 s */
	uint64_t attempt_timeout_ms; /* per attempt; 0: 5 s */
	const char *proxy; /* http: explicit proxy URL, or NULL for none */
	/* Addresses never to connect to (drills), borrowed; NULL: none. An
	 * address it forbids ends the probe with DR_EREFUSED unconnected. */
	const struct dr_guard *guard;
};

/*
 * Result, passed to the callback. message belongs to the run and is freed
 * after the callback returns; the callback may keep it by taking the pointer
 * and setting the field to NULL (then free() it).
 */
struct dr_probe_result {
	int status;           /* 0 healthy, DR_ETIMEDOUT (not healthy within),
	                         DR_ECANCELED, DR_EREFUSED (guard) */
	int attempts;         /* attempts started */
	int last_http_status; /* 0 when no HTTP answer was received */
	uint64_t elapsed_ms;
	char *message; /* "http://h:8080/x: healthy (200) after 3 attempts in
	                  4.1s", "http://h:8080/x: 503 after 12 attempts in
	                  30.0s", "127.0.3.2:8080: connection refused after 1
	                  attempt in 2ms", "h:22: cancelled after 2 attempts
	                  in 3.0s (last: connection refused)" */
};

/* Called exactly once, after every handle of the run is closed: the run is
 * freed right after it returns. */
typedef void (*dr_probe_cb)(struct dr_probe_result *res, void *arg);

/*
 * Starts a probe; the first attempt starts on the next loop iteration.
 * Copies every string of o. Returns 0 and sets *out (may be NULL) to a
 * handle valid until cb returns; cb then runs exactly once, never from
 * inside this call. Returns DR_EINVAL (bad kind, target or URL) or DR_EIO
 * (libcurl could not be set up) without calling cb.
 */
int dr_probe_start(uv_loop_t *loop, const struct dr_probe_opts *o,
                   dr_probe_cb cb, void *arg, struct dr_probe_run **out);

/*
 * Stops the probe: the attempt in flight is abandoned and cb reports
 * DR_ECANCELED. A no-op when the run is already ending. Must not be called
 * after cb returned.
 */
void dr_probe_cancel(struct dr_probe_run *run);

/*
 * Releases the loop's shared libcurl state now instead of with the last
 * probe. Returns 0 (also when there is none), or DR_EINVAL when probes are
 * still running on the loop. Run the loop afterwards so that its handles
 * close before uv_loop_close().
 */
int dr_probe_global_cleanup(uv_loop_t *loop);

#endif
