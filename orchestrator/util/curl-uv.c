/*
 * curl-uv.c: a libcurl multi handle driven by a libuv loop (curl-uv.h).
 *
 * The multi, its timer and its polls live in struct dr_curl_uv; a poll is
 * one struct sock, known to curl through curl_multi_assign. Every open uv
 * handle is counted in nhandles; the struct is freed in the close callback
 * that takes the count to zero after dr_curl_uv_close(), never from inside
 * a libcurl call.
 */
#include "drover/curl-uv.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>

#include "drover/common.h"

/* One socket curl asked us to watch. */
struct sock {
	uv_poll_t poll;
	curl_socket_t fd;
	struct dr_curl_uv *cu;
	struct sock *next; /* in cu->socks while the poll is open */
};

/* One transfer in the multi. */
struct xfer {
	CURL *easy;
	dr_curl_uv_cb cb;
	void *arg;
	struct xfer *next;
};

struct dr_curl_uv {
	uv_loop_t *loop;
	char *name;
	CURLM *multi;
	uv_timer_t timer;
	struct sock *socks;
	struct xfer *xfers;
	int nhandles; /* open uv handles: the timer and the polls */
	bool dying;
};

/* Multis alive, for curl_global_init/cleanup; all on one thread. */
static int nmultis;

static void
handle_closed(struct dr_curl_uv *cu)
{
	if (--cu->nhandles == 0 && cu->dying) {
		free(cu->name);
		free(cu);
		if (--nmultis == 0)
			curl_global_cleanup();
	}
}

static void
on_timer_close(uv_handle_t *h)
{
	handle_closed(h->data);
}

static void
on_sock_close(uv_handle_t *h)
{
	struct sock *s = h->data;
	struct dr_curl_uv *cu = s->cu;

	free(s);
	handle_closed(cu);
}

static void
sock_close(struct sock *s)
{
	struct sock **pp;

	for (pp = &s->cu->socks; *pp != NULL; pp = &(*pp)->next) {
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	}
	uv_poll_stop(&s->poll);
	uv_close((uv_handle_t *)&s->poll, on_sock_close);
}

/* Unlinks the transfer of easy. Returns it (caller frees), or NULL. */
static struct xfer *
xfer_take(struct dr_curl_uv *cu, CURL *easy)
{
	struct xfer **pp, *x;

	for (pp = &cu->xfers; *pp != NULL; pp = &(*pp)->next) {
		if ((*pp)->easy == easy) {
			x = *pp;
			*pp = x->next;
			return x;
		}
	}
	return NULL;
}

/* Hands finished transfers to their callbacks; a callback may close cu. */
static void
info_read(struct dr_curl_uv *cu)
{
	CURLMsg *m;
	int left;

	while (!cu->dying &&
	       (m = curl_multi_info_read(cu->multi, &left)) != NULL) {
		CURL *easy = m->easy_handle;
		CURLcode rc = m->data.result;
		struct xfer *x;

		if (m->msg != CURLMSG_DONE)
			continue;
		x = xfer_take(cu, easy);
		curl_multi_remove_handle(cu->multi, easy);
		if (x != NULL) {
			dr_curl_uv_cb cb = x->cb;
			void *arg = x->arg;

			free(x);
			cb(rc, easy, arg);
		}
	}
}

static void
on_poll(uv_poll_t *h, int status, int events)
{
	struct sock *s = h->data;
	struct dr_curl_uv *cu = s->cu;
	int flags = 0, running;

	if (cu->dying)
		return;
	if (status < 0)
		flags = CURL_CSELECT_ERR;
	if (events & UV_READABLE)
		flags |= CURL_CSELECT_IN;
	if (events & UV_WRITABLE)
		flags |= CURL_CSELECT_OUT;
	curl_multi_socket_action(cu->multi, s->fd, flags, &running);
	info_read(cu);
}

static void
on_timer(uv_timer_t *t)
{
	struct dr_curl_uv *cu = t->data;
	int running;

	if (cu->dying)
		return;
	curl_multi_socket_action(cu->multi, CURL_SOCKET_TIMEOUT, 0, &running);
	info_read(cu);
}

/* CURLMOPT_SOCKETFUNCTION: watch fd for what, or stop watching it. */
static int
socket_cb(CURL *easy, curl_socket_t fd, int what, void *userp, void *sockp)
{
	struct dr_curl_uv *cu = userp;
	struct sock *s = sockp;
	int events = 0, r;

	(void)easy;
	if (what == CURL_POLL_REMOVE) {
		if (s != NULL) {
			sock_close(s);
			if (!cu->dying)
				curl_multi_assign(cu->multi, fd, NULL);
		}
		return 0;
	}
	if (cu->dying)
		return 0;
	if (s == NULL) {
		s = dr_xcalloc(1, sizeof(*s));
		r = uv_poll_init_socket(cu->loop, &s->poll, fd);
		if (r != 0) {
			/* The transfer times out on its own. */
			fprintf(stderr, "drover: %s: poll on socket %d: %s\n",
			        cu->name, (int)fd, uv_strerror(r));
			free(s);
			return 0;
		}
		s->poll.data = s;
		s->fd = fd;
		s->cu = cu;
		s->next = cu->socks;
		cu->socks = s;
		cu->nhandles++;
		curl_multi_assign(cu->multi, fd, s);
	}
	if (what & CURL_POLL_IN)
		events |= UV_READABLE;
	if (what & CURL_POLL_OUT)
		events |= UV_WRITABLE;
	uv_poll_start(&s->poll, events, on_poll);
	return 0;
}

/* CURLMOPT_TIMERFUNCTION: call curl back in timeout_ms, or never (-1). */
static int
timer_cb(CURLM *multi, long timeout_ms, void *userp)
{
	struct dr_curl_uv *cu = userp;

	(void)multi;
	if (timeout_ms < 0)
		uv_timer_stop(&cu->timer);
	else if (!cu->dying)
		uv_timer_start(&cu->timer, on_timer, (uint64_t)timeout_ms, 0);
	return 0;
}

int
dr_curl_uv_new(uv_loop_t *loop, const char *name, struct dr_curl_uv **out)
{
	struct dr_curl_uv *cu;

	*out = NULL;
	if (nmultis == 0 && curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return DR_EIO;
	cu = dr_xcalloc(1, sizeof(*cu));
	cu->multi = curl_multi_init();
	if (cu->multi == NULL) {
		free(cu);
		if (nmultis == 0)
			curl_global_cleanup();
		return DR_EIO;
	}
	nmultis++;
	cu->loop = loop;
	cu->name = dr_xstrdup(name != NULL ? name : "curl");
	curl_multi_setopt(cu->multi, CURLMOPT_SOCKETFUNCTION, socket_cb);
	curl_multi_setopt(cu->multi, CURLMOPT_SOCKETDATA, cu);
	curl_multi_setopt(cu->multi, CURLMOPT_TIMERFUNCTION, timer_cb);
	curl_multi_setopt(cu->multi, CURLMOPT_TIMERDATA, cu);
	uv_timer_init(loop, &cu->timer);
	cu->timer.data = cu;
	cu->nhandles = 1;
	*out = cu;
	return 0;
}

int
dr_curl_uv_add(struct dr_curl_uv *cu, CURL *easy, dr_curl_uv_cb cb, void *arg)
{
	struct xfer *x, *p;
	CURLMcode mc;

	if (cu == NULL || cu->dying || easy == NULL || cb == NULL)
		return DR_EINVAL;
	for (p = cu->xfers; p != NULL; p = p->next)
		if (p->easy == easy)
			return DR_EINVAL;
	x = dr_xcalloc(1, sizeof(*x));
	x->easy = easy;
	x->cb = cb;
	x->arg = arg;
	mc = curl_multi_add_handle(cu->multi, easy);
	if (mc != CURLM_OK) {
		free(x);
		return DR_EIO;
	}
	x->next = cu->xfers;
	cu->xfers = x;
	return 0;
}

void
dr_curl_uv_remove(struct dr_curl_uv *cu, CURL *easy)
{
	struct xfer *x;

	if (cu == NULL || cu->dying || easy == NULL)
		return;
	x = xfer_take(cu, easy);
	if (x == NULL)
		return;
	curl_multi_remove_handle(cu->multi, easy);
	free(x);
}

void
dr_curl_uv_close(struct dr_curl_uv *cu)
{
	struct xfer *x;

	if (cu == NULL || cu->dying)
		return;
	while ((x = cu->xfers) != NULL) {
		cu->xfers = x->next;
		curl_multi_remove_handle(cu->multi, x->easy);
		free(x);
	}
	cu->dying = true;
	curl_multi_cleanup(cu->multi); /* may remove sockets (socket_cb) */
	cu->multi = NULL;
	/* Whatever curl did not remove is closed here: no handle leaks. */
	while (cu->socks != NULL)
		sock_close(cu->socks);
	uv_timer_stop(&cu->timer);
	uv_close((uv_handle_t *)&cu->timer, on_timer_close);
}
