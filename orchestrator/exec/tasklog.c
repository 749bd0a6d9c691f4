/*
 * tasklog.c: every task's output appended to its run's one output file, in
 * order, off the loop (tasklog.h).
 *
 * The logs of one directory share a store: one file descriptor, one queue
 * of frames from all of them, one uv_fs_write in flight at a time. A frame
 * is a header ("DRL1", the name's length in 2 bytes and the data's in 4,
 * little-endian), the name, the data. A reader skips from header to header
 * (dr_tasklog_read), so one file serves 26,000 tasks without 26,000 inodes.
 */
#include "drover/tasklog.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/common.h"

#define MAGIC "DRL1"
#define HDR 10
#define FRAME_MAX (256 * 1024) /* a write is split above this */

struct frame {
	struct frame *next;
	struct dr_tasklog *owner;
	size_t len, off;
	size_t payload; /* the owner's bytes in it */
	char data[];
};

enum sstate { S_OPENING, S_OPEN, S_CLOSING };

struct store {
	struct store *next;
	uv_loop_t *loop;
	char *dir, *path;
	int refs; /* logs attached */
	enum sstate st;
	uv_file fd;
	uv_fs_t req;
	bool busy;
	struct frame *head, *tail;
	int err;
	struct dr_tasklog *logs; /* attached, for open and error events */
};

static struct store *stores; /* one per loop and directory */

enum lstate {
	L_OPENING, /* the store is being opened */
	L_OPEN,
	L_CLOSING, /* close asked: waiting for its frames */
	L_CLOSED,
	L_LAST
};

static const char *const lstate_names[] = {"opening", "open", "closing",
                                           "closed"};
_Static_assert(DR_NELEM(lstate_names) == L_LAST, "lstate_names");

struct dr_tasklog {
	struct store *s;
	struct dr_tasklog *next_in_store;
	char *path; /* as given, for messages */
	char *name; /* in the frames */
	enum lstate st;
	size_t queued;  /* bytes not yet written */
	size_t pending; /* frames not yet written */
	int err;
	char *errmsg;
	uv_timer_t kick; /* callbacks never from inside the API */
	bool kick_open;
	dr_tasklog_event_cb ev;
	void *arg;
};

static void store_pump(struct store *s);

static void
set_state(struct dr_tasklog *l, enum lstate st)
{
	dr_trace_state("tasklog", l->path, lstate_names[l->st],
	               lstate_names[st]);
	l->st = st;
}

static void maybe_closed(struct dr_tasklog *l);

/* Notifies the owner from the loop, soon; or ends a close asked for. */
static void
on_kick(uv_timer_t *t)
{
	struct dr_tasklog *l = t->data;
	struct store *s = l->s;

	if (l->st == L_CLOSING && l->pending == 0 && s != NULL) {
		maybe_closed(l);
		store_pump(s); /* the last one out closes the file */
		return;
	}
	l->ev(l->arg);
}

static void
kick(struct dr_tasklog *l)
{
	if (l->kick_open)
		uv_timer_start(&l->kick, on_kick, 0, 0);
}

static void
log_fail(struct dr_tasklog *l, const char *op, int err)
{
	if (l->err != 0)
		return;
	l->err = err;
	l->errmsg =
	    dr_xasprintf("log %s: %s: %s", l->path, op, uv_strerror(err));
}

static void
detach(struct dr_tasklog *l)
{
	struct store *s = l->s;
	struct dr_tasklog **pp;

	for (pp = &s->logs; *pp; pp = &(*pp)->next_in_store)
		if (*pp == l) {
			*pp = l->next_in_store;
			break;
		}
	l->s = NULL;
	s->refs--; /* the caller pumps the store: it may close */
}

static void
on_kick_closed(uv_handle_t *h)
{
	struct dr_tasklog *l = h->data;

	l->kick_open = false;
	set_state(l, L_CLOSED);
	l->ev(l->arg);
}

/* A closing log whose frames are all written is closed. */
static void
maybe_closed(struct dr_tasklog *l)
{
	if (l->st != L_CLOSING || l->pending > 0 || l->s == NULL)
		return;
	detach(l);
	uv_close((uv_handle_t *)&l->kick, on_kick_closed);
}

/* The store failed: every log attached keeps the error, queues go. */
static void
store_fail(struct store *s, const char *op, int err)
{
	struct frame *f;
	struct dr_tasklog *l, *next;

	if (s->err == 0)
		s->err = err;
	while ((f = s->head) != NULL) {
		s->head = f->next;
		f->owner->queued -= f->payload;
		f->owner->pending--;
		free(f);
	}
	s->tail = NULL;
	for (l = s->logs; l; l = next) {
		next = l->next_in_store;
		log_fail(l, op, err);
		kick(l);
		maybe_closed(l);
	}
}

static void
store_free(struct store *s)
{
	struct store **pp;

	for (pp = &stores; *pp; pp = &(*pp)->next)
		if (*pp == s) {
			*pp = s->next;
			break;
		}
	free(s->dir);
	free(s->path);
	free(s);
}

static void
on_store_fs(uv_fs_t *req)
{
	struct store *s = req->data;
	ssize_t r = req->result;
	uv_fs_type type = req->fs_type;
	struct dr_tasklog *l, *next;

	uv_fs_req_cleanup(req);
	s->busy = false;
	switch (type) {
	case UV_FS_OPEN:
		s->st = S_OPEN;
		if (r < 0) {
			store_fail(s, "open", (int)r);
		} else {
			s->fd = (uv_file)r;
		}
		for (l = s->logs; l; l = next) {
			next = l->next_in_store;
			if (l->st == L_OPENING)
				set_state(l, L_OPEN);
			kick(l);
		}
		break;
	case UV_FS_WRITE:
		if (r < 0) {
			store_fail(s, "write", (int)r);
		} else if (s->head != NULL) {
			struct frame *f = s->head;
			f->off += (size_t)r;
			if (f->off == f->len) { /* else: a short write, go on */
				s->head = f->next;
				if (s->head == NULL)
					s->tail = NULL;
				l = f->owner;
				l->queued -= f->payload;
				l->pending--;
				free(f);
				kick(l);
				maybe_closed(l);
			}
		}
		break;
	case UV_FS_CLOSE:
		store_free(s);
		return;
	default:
		break;
	}
	store_pump(s);
}

/* The next request: a write, or the close once nobody is attached. */
static void
store_pump(struct store *s)
{
	uv_buf_t buf;
	int rc;

	if (s->busy || s->st == S_OPENING)
		return;
	if (s->head != NULL && s->fd >= 0 && s->err == 0) {
		struct frame *f = s->head;
		buf =
		    uv_buf_init(f->data + f->off, (unsigned)(f->len - f->off));
		s->req.data = s;
		rc = uv_fs_write(s->loop, &s->req, s->fd, &buf, 1, -1,
		                 on_store_fs);
		if (rc == 0) {
			s->busy = true;
			return;
		}
		store_fail(s, "write", rc);
	}
	if (s->refs > 0 || s->head != NULL || s->st == S_CLOSING)
		return;
	s->st = S_CLOSING;
	if (s->fd >= 0) {
		s->req.data = s;
		if (uv_fs_close(s->loop, &s->req, s->fd, on_store_fs) == 0) {
			s->busy = true;
			return;
		}
	}
	store_free(s);
}

/* The store of dir on loop, opened the first time. */
static struct store *
store_get(uv_loop_t *loop, const char *dir)
{
	struct store *s;
	int rc;

	for (s = stores; s; s = s->next)
		if (s->loop == loop && strcmp(s->dir, dir) == 0 &&
		    s->st != S_CLOSING)
			return s;
	s = dr_xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->dir = dr_xstrdup(dir);
	s->path = dr_xasprintf("%s/%s", dir, DR_TASKLOG_FILE);
	s->fd = -1;
	s->st = S_OPENING;
	s->next = stores;
	stores = s;
	s->req.data = s;
	rc = uv_fs_open(loop, &s->req, s->path,
	                O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600,
	                on_store_fs);
	if (rc == 0) {
		s->busy = true;
	} else {
		s->st = S_OPEN;
		s->err = rc;
	}
	return s;
}

struct dr_tasklog *
dr_tasklog_open(uv_loop_t *loop, const char *path, dr_tasklog_event_cb ev,
                void *arg)
{
	struct dr_tasklog *l = dr_xcalloc(1, sizeof(*l));
	const char *slash = strrchr(path, '/');
	char *dir =
	    slash ? dr_xstrndup(path, (size_t)(slash - path)) : dr_xstrdup(".");
	const char *base = slash ? slash + 1 : path;
	size_t n = strlen(base);

	if (n > 4 && strcmp(base + n - 4, ".log") == 0)
		n -= 4;
	l->path = dr_xstrdup(path);
	l->name = dr_xstrndup(base, n < 65535 ? n : 65535);
	l->ev = ev;
	l->arg = arg;
	l->st = L_OPENING;
	uv_timer_init(loop, &l->kick);
	l->kick.data = l;
	l->kick_open = true;
	dr_trace_state("tasklog", l->path, "new", lstate_names[L_OPENING]);
	l->s = store_get(loop, dir);
	free(dir);
	l->s->refs++;
	l->next_in_store = l->s->logs;
	l->s->logs = l;
	if (l->s->st != S_OPENING) {
		set_state(l, L_OPEN);
		if (l->s->err != 0)
			log_fail(l, "open", l->s->err);
		kick(l);
	}
	return l;
}

static void
put_frame(struct dr_tasklog *l, const char *p, size_t n)
{
	struct store *s = l->s;
	size_t nl = strlen(l->name);
	struct frame *f = dr_xmalloc(sizeof(*f) + HDR + nl + n);
	unsigned char *h = (unsigned char *)f->data;

	memcpy(h, MAGIC, 4);
	h[4] = (unsigned char)(nl & 0xff);
	h[5] = (unsigned char)(nl >> 8);
	h[6] = (unsigned char)(n & 0xff);
	h[7] = (unsigned char)((n >> 8) & 0xff);
	h[8] = (unsigned char)((n >> 16) & 0xff);
	h[9] = (unsigned char)((n >> 24) & 0xff);
	memcpy(f->data + HDR, l->name, nl);
	memcpy(f->data + HDR + nl, p, n);
	f->next = NULL;
	f->owner = l;
	f->len = HDR + nl + n;
	f->off = 0;
	f->payload = n;
	if (s->tail)
		s->tail->next = f;
	else
		s->head = f;
	s->tail = f;
	l->queued += n;
	l->pending++;
}

void
dr_tasklog_write(struct dr_tasklog *l, const void *p, size_t n)
{
	const char *c = p;

	if (n == 0 || l->err != 0 || l->st >= L_CLOSING || l->s == NULL)
		return;
	while (n > 0) {
		size_t k = n < FRAME_MAX ? n : FRAME_MAX;
		put_frame(l, c, k);
		c += k;
		n -= k;
	}
	store_pump(l->s);
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
	if (l->st >= L_CLOSING)
		return;
	if (l->st == L_OPENING) {
		/* closes once the store is open and its frames written */
		l->st = L_CLOSING;
		return;
	}
	set_state(l, L_CLOSING);
	if (l->pending == 0)
		kick(l); /* never from inside the call: the next loop turn */
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
	free(l->name);
	free(l->errmsg);
	free(l);
}

char *
dr_tasklog_name(const char *key)
{
	char *n = dr_xstrdup(key), *p;

	for (p = n; *p; p++)
		if (*p == '/' || *p == '@')
			*p = '_';
	return n;
}

int
dr_tasklog_read(const char *dir, uint64_t *pos,
                void (*fn)(void *arg, const char *name, const char *data,
                           size_t n),
                void *arg)
{
	char *path = dr_xasprintf("%s/%s", dir, DR_TASKLOG_FILE);
	FILE *f = fopen(path, "rb");
	unsigned char h[HDR];
	char *buf = NULL;
	size_t cap = 0;
	int rc = 0;

	free(path);
	if (f == NULL)
		return errno == ENOENT ? DR_ENOTFOUND : DR_EIO;
	if (fseeko(f, (off_t)*pos, SEEK_SET) != 0) {
		fclose(f);
		return DR_EIO;
	}
	for (;;) {
		size_t nl, nd;
		if (fread(h, 1, HDR, f) != HDR)
			break; /* the end, or a header being written */
		if (memcmp(h, MAGIC, 4) != 0) {
			errno = EINVAL;
			rc = DR_EIO;
			break;
		}
		nl = (size_t)h[4] | (size_t)h[5] << 8;
		nd = (size_t)h[6] | (size_t)h[7] << 8 | (size_t)h[8] << 16 |
		     (size_t)h[9] << 24;
		if (nl + nd + 1 > cap) {
			cap = nl + nd + 1;
			buf = dr_xrealloc(buf, cap);
		}
		if (fread(buf, 1, nl + nd, f) != nl + nd)
			break; /* not complete yet */
		{
			char *name = dr_xstrndup(buf, nl);
			fn(arg, name, buf + nl, nd);
			free(name);
		}
		*pos += HDR + nl + nd;
	}
	if (ferror(f))
		rc = DR_EIO;
	fclose(f);
	free(buf);
	return rc;
}
