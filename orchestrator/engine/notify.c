/*
 * notify.c: the run's notifications (notify.h).
 *
 * One job per receiver and event: a webhook POST (an easy handle in the
 * notifier's own curl multi on the loop, util/curl-uv.c) or a command
 * (exec/spawn.c: its own process group, killed whole at the deadline). A
 * job ends delivered, or failed after its retries, or
 * abandoned when the notifier's last deadline expires after
 * dr_notify_close(). The notifier is freed in the last close callback of
 * its handles; the multi closes its own.
 */
#include "drover/notify.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>
#include <jansson.h>

#include "drover/common.h"
#include "drover/curl-uv.h"
#include "drover/scrub.h"
#include "drover/spawn.h"

#define RETRY_MS 1000

struct job {
	struct dr_notifier *n;
	struct job *next;
	char *target; /* URL, or "command" */
	char *body;   /* the JSON */
	char *text;
	int attempt;
	bool command;
	CURL *easy;
	struct curl_slist *hdr;
	char err[CURL_ERROR_SIZE];
	struct dr_spawn *sp; /* the command, until its callback */
	uv_timer_t timer;    /* retry wait */
	bool timer_open;
	bool done;
};

struct dr_notifier {
	struct dr_notify_opts o;
	struct dr_curl_uv *cu;
	uv_timer_t last_timer;
	struct job *jobs;
	int nhandles;
	bool closing, dead;
	char **svals;
	const char **snames;
};

static void check_done(struct dr_notifier *n);
static void job_start(struct job *j);

static void
release(struct dr_notifier *n)
{
	if (--n->nhandles == 0 && n->dead) {
		free(n->svals);
		free(n->snames);
		free(n);
	}
}

static void
handle_closed(uv_handle_t *h)
{
	release(h->data);
}

/* --- webhooks ---------------------------------------------------------- */

static size_t
discard(char *p, size_t size, size_t nmemb, void *arg)
{
	(void)p;
	(void)arg;
	return size * nmemb;
}

/* --- jobs --------------------------------------------------------------- */

static void
job_free(struct job *j)
{
	free(j->target);
	free(j->body);
	free(j->text);
	curl_slist_free_all(j->hdr);
	free(j);
}

static void
job_timer_closed(uv_handle_t *h)
{
	struct job *j = h->data;
	struct dr_notifier *n = j->n;

	j->timer_open = false;
	if (j->sp == NULL)
		job_free(j);
	release(n);
}

/* The job is over: unlinked, its handles closed (it is freed with them). */
static void
job_end(struct job *j, const char *failure)
{
	struct dr_notifier *n = j->n;
	struct job **pp;

	if (j->done)
		return;
	j->done = true;
	if (failure && n->o.failed) {
		char *m = dr_xasprintf("notification to %s failed: %s",
		                       j->target, failure);
		n->o.failed(n->o.arg, m);
		free(m);
	}
	for (pp = &n->jobs; *pp; pp = &(*pp)->next)
		if (*pp == j) {
			*pp = j->next;
			break;
		}
	if (j->easy) {
		dr_curl_uv_remove(n->cu, j->easy);
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
	}
	if (j->sp != NULL)
		dr_spawn_cancel(j->sp); /* its callback follows */
	uv_timer_stop(&j->timer);
	uv_close((uv_handle_t *)&j->timer, job_timer_closed);
	check_done(n);
}

static void
retry_fire(uv_timer_t *t)
{
	job_start(t->data);
}

/* An attempt failed: again later, or the end. */
static void
attempt_failed(struct job *j, const char *why)
{
	struct dr_notifier *n = j->n;

	if (j->attempt <= n->o.cfg->retries && !n->closing) {
		uv_timer_start(&j->timer, retry_fire,
		               (uint64_t)RETRY_MS << (j->attempt - 1), 0);
		return;
	}
	job_end(j, why);
}

/* A webhook transfer ended (dr_curl_uv_cb); easy is out of the multi. */
static void
post_done(CURLcode rc, CURL *e, void *arg)
{
	struct job *j = arg;
	long code = 0;
	char why[CURL_ERROR_SIZE + 64];

	curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &code);
	if (rc == CURLE_OK && code >= 200 && code < 300) {
		job_end(j, NULL);
		return;
	}
	if (rc != CURLE_OK)
		snprintf(why, sizeof(why), "%s",
		         j->err[0] ? j->err : curl_easy_strerror(rc));
	else
		snprintf(why, sizeof(why), "HTTP %ld", code);
	curl_easy_cleanup(e);
	j->easy = NULL;
	attempt_failed(j, why);
}

/* The command ended (dr_spawn_cb): every handle of it is closed. */
static void
cmd_done(struct dr_spawn_result *res, void *arg)
{
	struct job *j = arg;
	struct dr_notifier *n = j->n;

	j->sp = NULL;
	if (j->done) { /* ended meanwhile: cancelled */
		if (!j->timer_open)
			job_free(j);
	} else if (res->status == 0 && res->exit_code == 0 &&
	           res->term_signal == 0) {
		job_end(j, NULL);
	} else {
		attempt_failed(j, res->message);
	}
	release(n);
}

static void
job_start(struct job *j)
{
	struct dr_notifier *n = j->n;

	j->attempt++;
	j->err[0] = '\0';
	if (j->command) {
		/* Its environment is the event alone: the controller's holds
		 * the secrets' variables. */
		char *ev = dr_xasprintf("DROVER_EVENT=%s", j->body);
		char *tx = dr_xasprintf("DROVER_EVENT_TEXT=%s", j->text);
		const char *env[] = {ev, tx,
		                     "PATH=/usr/local/bin:/usr/bin:/bin", NULL};
		struct dr_spawn_opts so = {0};
		int r;

		so.command = n->o.cfg->command;
		so.cwd = n->o.cwd;
		so.env_extra = env;
		so.env_only = true;
		so.timeout_ms = n->o.cfg->timeout_ms;
		so.tail_cap = 512;
		r = dr_spawn_start(n->o.loop, &so, cmd_done, j, &j->sp);
		free(ev);
		free(tx);
		if (r != 0) {
			j->sp = NULL;
			attempt_failed(j, dr_strerror(r));
			return;
		}
		n->nhandles++; /* released in cmd_done */
		return;
	}
	j->easy = curl_easy_init();
	if (j->easy == NULL) {
		attempt_failed(j, "libcurl: no handle");
		return;
	}
	curl_easy_setopt(j->easy, CURLOPT_URL, j->target);
	curl_easy_setopt(j->easy, CURLOPT_POSTFIELDS, j->body);
	curl_easy_setopt(j->easy, CURLOPT_HTTPHEADER, j->hdr);
	curl_easy_setopt(j->easy, CURLOPT_TIMEOUT_MS,
	                 (long)n->o.cfg->timeout_ms);
	curl_easy_setopt(j->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(j->easy, CURLOPT_PROXY, "");
	curl_easy_setopt(j->easy, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(j->easy, CURLOPT_WRITEFUNCTION, discard);
	curl_easy_setopt(j->easy, CURLOPT_ERRORBUFFER, j->err);
#if LIBCURL_VERSION_NUM >= 0x075500
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS_STR, "http,https");
#else
	curl_easy_setopt(j->easy, CURLOPT_PROTOCOLS,
	                 (long)(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
	if (dr_curl_uv_add(n->cu, j->easy, post_done, j) != 0) {
		curl_easy_cleanup(j->easy);
		j->easy = NULL;
		attempt_failed(j, "libcurl: cannot add the transfer");
	}
}

static void
add_job(struct dr_notifier *n, const char *target, bool command,
        const char *body, const char *text)
{
	struct job *j = dr_xcalloc(1, sizeof(*j));

	j->n = n;
	j->target = dr_xstrdup(target);
	j->command = command;
	j->body = dr_xstrdup(body);
	j->text = dr_xstrdup(text);
	j->hdr = curl_slist_append(NULL, "Content-Type: application/json");
	uv_timer_init(n->o.loop, &j->timer);
	j->timer.data = j;
	j->timer_open = true;
	n->nhandles++;
	j->next = n->jobs;
	n->jobs = j;
	job_start(j);
}

/* --- the notifier ------------------------------------------------------- */

int
dr_notify_new(const struct dr_notify_opts *o, struct dr_notifier **out)
{
	struct dr_notifier *n;
	size_t i;

	*out = NULL;
	if (o->cfg == NULL || (o->cfg->nwebhooks == 0 && !o->cfg->command))
		return 0;
	n = dr_xcalloc(1, sizeof(*n));
	n->o = *o;
	if (dr_curl_uv_new(o->loop, "notify", &n->cu) != 0) {
		free(n);
		return DR_EIO;
	}
	uv_timer_init(o->loop, &n->last_timer);
	n->last_timer.data = n;
	n->nhandles = 1;
	n->svals = dr_xcalloc(o->nsecrets + 1, sizeof(char *));
	n->snames = dr_xcalloc(o->nsecrets + 1, sizeof(char *));
	for (i = 0; i < o->nsecrets; i++) {
		n->svals[i] = o->secrets[i].value;
		n->snames[i] = o->secrets[i].name;
	}
	*out = n;
	return 0;
}

static char *
scrubbed(struct dr_notifier *n, const char *s)
{
	struct dr_scrub sc;
	struct dr_buf b;

	dr_scrub_init(&sc, (const char *const *)n->svals, n->snames,
	              n->o.nsecrets);
	dr_buf_init(&b, 0);
	dr_scrub_feed(&sc, s, strlen(s), &b);
	dr_scrub_flush(&sc, &b);
	dr_scrub_free(&sc);
	if (b.data == NULL)
		return dr_xstrdup("");
	return dr_buf_steal(&b);
}

void
dr_notify_send(struct dr_notifier *n, json_t *event, const char *text)
{
	json_t *o;
	char *body, *clean_body, *clean_text;
	size_t i;

	if (n == NULL || n->closing) {
		json_decref(event);
		return;
	}
	o = json_object();
	json_object_set_new(o, "text", json_string(text));
	json_object_set_new(o, "event", event);
	body = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (body == NULL)
		return;
	/* A secret's value is replaced wherever it appears; the JSON stays
	 * JSON (the replacement is plain text). */
	clean_body = scrubbed(n, body);
	clean_text = scrubbed(n, text);
	for (i = 0; i < n->o.cfg->nwebhooks; i++)
		add_job(n, n->o.cfg->webhooks[i], false, clean_body,
		        clean_text);
	if (n->o.cfg->command)
		add_job(n, "command", true, clean_body, clean_text);
	free(body);
	free(clean_body);
	free(clean_text);
}

/* Once closing and no job is left: the handles close, n is freed. */
static void
check_done(struct dr_notifier *n)
{
	if (!n->closing || n->jobs != NULL || n->dead)
		return;
	n->dead = true;
	dr_curl_uv_close(n->cu); /* its handles close on their own */
	n->cu = NULL;
	uv_timer_stop(&n->last_timer);
	uv_close((uv_handle_t *)&n->last_timer, handle_closed);
}

static void
last_fire(uv_timer_t *t)
{
	struct dr_notifier *n = t->data;

	while (n->jobs)
		job_end(n->jobs, "no answer before the run ended (deadline)");
}

void
dr_notify_rehook(struct dr_notifier *n,
                 void (*failed)(void *arg, const char *msg), void *arg)
{
	if (n == NULL)
		return;
	n->o.failed = failed;
	n->o.arg = arg;
}

void
dr_notify_close(struct dr_notifier *n)
{
	struct job *j, *next;

	if (n == NULL || n->closing)
		return;
	n->closing = true;
	/* Jobs waiting to retry end now; those in flight get one deadline. */
	for (j = n->jobs; j; j = next) {
		next = j->next;
		if (j->easy == NULL && j->sp == NULL)
			job_end(j, "not retried: the run ended");
	}
	if (n->jobs)
		uv_timer_start(&n->last_timer, last_fire, n->o.cfg->timeout_ms,
		               0);
	check_done(n);
}
