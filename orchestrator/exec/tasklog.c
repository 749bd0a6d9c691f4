/* tasklog.c: a task's output appended to its log, in order, off the loop. */
#include "drover/tasklog.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"

struct chunk {
	struct chunk *next;
	size_t len, off;
	char data[];
};

enum lstate {
	L_OPENING, /* uv_fs_open in flight */
	L_OPEN,    /* writing what is queued */
	L_CLOSING, /* uv_fs_close in flight */
	L_CLOSED,
	L_LAST
};

static const char *const lstate_names[] = {"opening", "open", "closing",
                                           "closed"};
_Static_assert(DR_NELEM(lstate_names) == L_LAST, "lstate_names");

struct dr_tasklog {
	uv_loop_t *loop;
	char *path;
	enum lstate st;
	uv_file fd;
	uv_fs_t req;
	bool busy; /* a request is in flight */
	bool close_wanted;
	struct chunk *head, *tail;
	size_t queued;
	uv_buf_t buf;
	int err;
	char *errmsg;
	uv_timer_t kick; /* callbacks never from inside the API */
	bool kick_open;
	dr_tasklog_event_cb ev;
	void *arg;
};

static void pump(struct dr_tasklog *l);

static void
set_state(struct dr_tasklog *l, enum lstate st)
{
	dr_trace_state("tasklog", l->path, lstate_names[l->st],
	               lstate_names[st]);
	l->st = st;
}

static void
fail(struct dr_tasklog *l, const char *op, int err)
{
	struct chunk *c;

	if (l->err == 0) {
		l->err = err;
		l->errmsg = dr_xasprintf("log %s: %s: %s", l->path, op,
		                         uv_strerror(err));
	}
	while ((c = l->head) != NULL) {
		l->head = c->next;
		free(c);
	}
	l->tail = NULL;
	l->queued = 0;
}

static void
on_kick_closed(uv_handle_t *h)
{
	struct dr_tasklog *l = h->data;

	l->kick_open = false;
	set_state(l, L_CLOSED);
	l->ev(l->arg);
}

static void
on_fs(uv_fs_t *req)
{
	struct dr_tasklog *l = req->data;
	ssize_t r = req->result;
	uv_fs_type type = req->fs_type;

	uv_fs_req_cleanup(req);
	l->busy = false;
	switch (type) {
	case UV_FS_OPEN:
		if (r < 0) {
			fail(l, "open", (int)r);
		} else {
			l->fd = (uv_file)r;
		}
		set_state(l, L_OPEN);
		break;
	case UV_FS_WRITE:
		if (r < 0) {
			fail(l, "write", (int)r);
		} else if (l->head != NULL) {
			struct chunk *c = l->head;
			c->off += (size_t)r;
			l->queued -= (size_t)r;
			if (c->off == c->len) { /* else: a short write, go on */
				l->head = c->next;
				if (l->head == NULL)
					l->tail = NULL;
				free(c);
			}
		}
		break;
	case UV_FS_CLOSE:
		if (r < 0)
			fail(l, "close", (int)r);
		l->fd = -1;
		uv_close((uv_handle_t *)&l->kick, on_kick_closed);
		return;
	default:
		break;
	}
	pump(l);
	l->ev(l->arg);
}

/* Starts the next request: a write, or the close once drained. */
static void
pump(struct dr_tasklog *l)
{
	int rc;

	if (l->busy || l->st != L_OPEN)
		return;
	if (l->head != NULL && l->fd >= 0 && l->err == 0) {
		struct chunk *c = l->head;
		l->buf =
		    uv_buf_init(c->data + c->off, (unsigned)(c->len - c->off));
		l->req.data = l;
		rc =
		    uv_fs_write(l->loop, &l->req, l->fd, &l->buf, 1, -1, on_fs);
		if (rc == 0) {
			l->busy = true;
			return;
		}
		fail(l, "write", rc);
	}
	if (!l->close_wanted || l->head != NULL)
		return;
	set_state(l, L_CLOSING);
	if (l->fd >= 0) {
		l->req.data = l;
		rc = uv_fs_close(l->loop, &l->req, l->fd, on_fs);
		if (rc == 0) {
			l->busy = true;
			return;
		}
		fail(l, "close", rc);
		l->fd = -1;
	}
	uv_close((uv_handle_t *)&l->kick, on_kick_closed);
}

static void
on_kick(uv_timer_t *t)
{
	struct dr_tasklog *l = t->data;

	pump(l);
	l->ev(l->arg);
}

struct dr_tasklog *
dr_tasklog_open(uv_loop_t *loop, const char *path, dr_tasklog_event_cb ev,
                void *arg)
{
	struct dr_tasklog *l = dr_xcalloc(1, sizeof(*l));
	int rc;

	l->loop = loop;
	l->path = dr_xstrdup(path);
	l->fd = -1;
	l->ev = ev;
	l->arg = arg;
	l->st = L_OPENING;
	uv_timer_init(loop, &l->kick);
	l->kick.data = l;
	l->kick_open = true;
	dr_trace_state("tasklog", l->path, "new", lstate_names[L_OPENING]);
	l->req.data = l;
	rc = uv_fs_open(loop, &l->req, l->path,
	                O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600, on_fs);
	if (rc == 0) {
		l->busy = true;
	} else {
		fail(l, "open", rc);
		set_state(l, L_OPEN);
		uv_timer_start(&l->kick, on_kick, 0, 0);
	}
	return l;
}

void
dr_tasklog_write(struct dr_tasklog *l, const void *p, size_t n)
{
	struct chunk *c;

	if (n == 0 || l->err != 0 || l->close_wanted)
		return;
	c = dr_xmalloc(sizeof(*c) + n);
	c->next = NULL;
	c->len = n;
	c->off = 0;
	memcpy(c->data, p, n);
	if (l->tail)
		l->tail->next = c;
	else
		l->head = c;
	l->tail = c;
	l->queued += n;
	pump(l);
}

size_t
dr_tasklog_backlog(const struct dr_tasklog *l)
{
	return l->queued;
}

bool
dr_tasklog_opened(const struct dr_tasklog *l)
{
	return l->st != L_OPENING;
}

void
dr_tasklog_close(struct dr_tasklog *l)
{
	if (l->close_wanted)
		return;
	l->close_wanted = true;
	if (l->st == L_OPEN && !l->busy)
		uv_timer_start(&l->kick, on_kick, 0, 0);
}

bool
dr_tasklog_closed(const struct dr_tasklog *l)
{
	return l->st == L_CLOSED;
}

const char *
dr_tasklog_error(const struct dr_tasklog *l)
{
	return l->errmsg;
}

int
dr_tasklog_errno(const struct dr_tasklog *l)
{
	return l->err;
}

void
dr_tasklog_free(struct dr_tasklog *l)
{
	if (l == NULL)
		return;
	free(l->path);
	free(l->errmsg);
	free(l);
}
