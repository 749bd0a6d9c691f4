/*
 * notify.h: telling people about a run (the plan's `notify`): run start,
 * a gate waiting (with the approve command), a task failed, the run paused,
 * the run ended.
 *
 * Each event goes to every webhook as an HTTP POST of
 *   {"text": "drover: ...", "event": {"type": "gate-waiting", "run": ...}}
 * (Slack, Mattermost and Matrix bridges read "text"), through libcurl multi
 * on the run's loop (uv_poll_t per socket, one uv_timer_t), and to the
 * command as environment variables DROVER_EVENT (the JSON) and
 * DROVER_EVENT_TEXT, run with /bin/sh -c in the plan's directory. Every
 * attempt has the plan's deadline (notify.timeout); a failed one is retried
 * (notify.retries, 1 s apart, doubling). Text and event pass through the
 * secret scrubber first. Nothing here ever blocks or fails the run: a
 * failure is reported through the failed hook.
 *
 * Environment proxies are ignored (as for probes); redirects are not
 * followed.
 */
#ifndef DROVER_NOTIFY_H
#define DROVER_NOTIFY_H

#include <stddef.h>

#include <uv.h>

#include "drover/plan.h"
#include "drover/secrets.h"

struct dr_notifier;
struct json_t;

struct dr_notify_opts {
	uv_loop_t *loop;
	const struct dr_notify *cfg;           /* borrowed: the plan's */
	const char *cwd;                       /* the command runs here */
	const struct dr_secret_value *secrets; /* scrubbed from every event */
	size_t nsecrets;
	/* A notification could not be delivered (after its retries); msg
	 * is borrowed for the call. */
	void (*failed)(void *arg, const char *msg);
	void *arg;
};

/*
 * Returns 0 and sets *out (NULL when the plan notifies nobody: every call
 * below accepts NULL), or DR_EIO when libcurl cannot be set up.
 */
int dr_notify_new(const struct dr_notify_opts *o, struct dr_notifier **out);

/*
 * Sends event (its "type" names it; taken over) with text to every
 * receiver. Returns at once.
 */
void dr_notify_send(struct dr_notifier *n, struct json_t *event,
                    const char *text);

/* Failures go to failed(arg, msg) from now on (the owner is going away
 * before n: dr_notify_close). */
void dr_notify_rehook(struct dr_notifier *n,
                      void (*failed)(void *arg, const char *msg), void *arg);

/*
 * No more events: what is in flight goes on for at most one deadline
 * (notify.timeout) from now, without further retries; then everything is
 * abandoned, the handles close and n is freed. Run the loop afterwards.
 */
void dr_notify_close(struct dr_notifier *n);

#endif
