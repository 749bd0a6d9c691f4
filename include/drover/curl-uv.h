/*
 * curl-uv.h: a libcurl multi handle driven by a libuv loop.
 *
 * The one place where libcurl's multi interface meets the loop, as in
 * curl's docs/examples/multi-uv.c: curl says which sockets to watch
 * (CURLMOPT_SOCKETFUNCTION, one uv_poll_t per socket) and when to call it
 * back (CURLMOPT_TIMERFUNCTION, one uv_timer_t); the module answers with
 * curl_multi_socket_action and hands each finished transfer to the
 * callback given when it was added. Nothing here blocks the loop.
 *
 * Rules for users (http probes in exec/probe.c, webhooks in
 * engine/notify.c):
 * - The caller owns every easy handle, before, during and after its
 *   transfer: it sets the options (CURLOPT_PRIVATE included, which the
 *   module does not use) and calls curl_easy_cleanup() once the handle is
 *   out of the multi (after its callback, or after dr_curl_uv_remove()).
 * - Deadlines are the caller's: set CURLOPT_TIMEOUT_MS and friends, or run
 *   a uv_timer and dr_curl_uv_remove() the transfer when it fires.
 * - The module's functions must not be called from inside a libcurl
 *   callback (write, open-socket, ...); they may be called from a
 *   completion callback, including dr_curl_uv_add(), dr_curl_uv_remove()
 *   of another transfer and dr_curl_uv_close().
 * - curl_global_init() runs when the first multi is made and
 *   curl_global_cleanup() when the last one is freed; users do neither.
 * All of it runs on the loop's thread.
 */
#ifndef DROVER_CURL_UV_H
#define DROVER_CURL_UV_H

#include <curl/curl.h>
#include <uv.h>

struct dr_curl_uv;

/*
 * A transfer ended with rc (CURLE_OK, or why it failed). easy is already
 * out of the multi and still the caller's: read it with curl_easy_getinfo,
 * then clean it up or add it again.
 */
typedef void (*dr_curl_uv_cb)(CURLcode rc, CURL *easy, void *arg);

/*
 * Makes a multi handle bound to loop. name prefixes the module's own
 * messages on stderr ("drover: NAME: poll on socket 7: ..."). Returns 0 or
 * DR_EIO (libcurl could not be initialised). Free with dr_curl_uv_close().
 */
int dr_curl_uv_new(uv_loop_t *loop, const char *name, struct dr_curl_uv **out);

/*
 * Starts the transfer of easy; cb(rc, easy, arg) is called once when it
 * ends, unless it is removed or the multi is closed first. Returns 0, or
 * DR_EINVAL (closing, or easy already added) or DR_EIO (libcurl refused
 * it); on failure cb is never called and easy is untouched.
 */
int dr_curl_uv_add(struct dr_curl_uv *cu, CURL *easy, dr_curl_uv_cb cb,
                   void *arg);

/*
 * Cancels the transfer of easy: it leaves the multi and its callback is not
 * called. A handle not in the multi (never added, or already finished) is
 * a no-op.
 */
void dr_curl_uv_remove(struct dr_curl_uv *cu, CURL *easy);

/*
 * Removes the transfers left (no callback is called for them; their easy
 * handles stay the caller's), frees the multi and closes the timer and
 * every poll. cu is freed in the last close callback: run the loop before
 * uv_loop_close(). cu must not be used afterwards. NULL is a no-op.
 */
void dr_curl_uv_close(struct dr_curl_uv *cu);

#endif
