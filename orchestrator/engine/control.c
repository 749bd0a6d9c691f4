/*
 * control.c: the control channel of a live run (control.h): the message
 * parser, the four-eyes rule, the socket server on the run's loop and the
 * verbs' blocking client.
 *
 * A connection: accepted, its peer's credentials read from the kernel
 * (SO_PEERCRED), the user name and groups looked up on the thread pool
 * (NSS may be slow: never on the loop), then one request line read (at
 * most DR_CONTROL_MAX_MSG bytes), answered, and the connection closed, or
 * kept as a watcher that receives board lines until the run ends.
 */
#define _GNU_SOURCE /* struct ucred, SO_PEERCRED */
#include "drover/control.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <jansson.h>

#include "drover/common.h"

#define WATCH_BACKLOG (1024 * 1024)
#define GRACE_MS 2000
#define REQUEST_MS 10000 /* a connection that says nothing is closed */

static const char *const op_names[] = {"approve", "deny",   "pause", "continue",
                                       "abort",   "answer", "watch", "status"};
_Static_assert(sizeof(op_names) / sizeof(op_names[0]) == DR_CTL_STATUS + 1,
               "op names");

const char *
dr_ctl_op_name(enum dr_ctl_op op)
{
	return (unsigned)op <= DR_CTL_STATUS ? op_names[op] : "?";
}

void
dr_ctl_msg_free(struct dr_ctl_msg *m)
{
	if (m == NULL)
		return;
	free(m->task);
	free(m->answer);
	free(m->comment);
	memset(m, 0, sizeof(*m));
}

/* A string field: 0 and *out (NULL when absent and optional), or an error. */
static int
str_field(json_t *o, const char *key, bool required, size_t max, char **out,
          char **why)
{
	json_t *v = json_object_get(o, key);

	*out = NULL;
	if (v == NULL) {
		if (!required)
			return 0;
		*why = dr_xasprintf("missing \"%s\"", key);
		return DR_EINVAL;
	}
	if (!json_is_string(v)) {
		*why = dr_xasprintf("\"%s\" must be a string", key);
		return DR_EINVAL;
	}
	if (json_string_length(v) == 0 || json_string_length(v) > max ||
	    strlen(json_string_value(v)) != json_string_length(v) ||
	    dr_str_has_control(json_string_value(v))) {
		*why = dr_xasprintf("\"%s\": 1 to %zu characters, no control "
		                    "characters",
		                    key, max);
		return DR_EINVAL;
	}
	*out = dr_xstrdup(json_string_value(v));
	return 0;
}

int
dr_ctl_parse(const char *buf, size_t len, struct dr_ctl_msg *m, char **why)
{
	json_error_t jerr;
	json_t *o = NULL, *v;
	const char *key;
	size_t i;
	int r = DR_EINVAL;

	memset(m, 0, sizeof(*m));
	*why = NULL;
	if (len > DR_CONTROL_MAX_MSG) {
		*why = dr_xasprintf("message too long (%zu bytes, at most %d)",
		                    len, DR_CONTROL_MAX_MSG);
		return DR_EINVAL;
	}
	o = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &jerr);
	if (o == NULL) {
		*why = dr_xasprintf("not JSON: %s", jerr.text);
		return DR_EINVAL;
	}
	if (!json_is_object(o)) {
		*why = dr_xstrdup("not a JSON object");
		goto out;
	}
	v = json_object_get(o, "v");
	if (!json_is_integer(v) ||
	    json_integer_value(v) != DR_CONTROL_VERSION) {
		*why = dr_xasprintf("protocol version: this run speaks "
		                    "\"v\": %d",
		                    DR_CONTROL_VERSION);
		goto out;
	}
	json_object_foreach(o, key, v)
	{
		if (strcmp(key, "v") != 0 && strcmp(key, "op") != 0 &&
		    strcmp(key, "task") != 0 && strcmp(key, "answer") != 0 &&
		    strcmp(key, "comment") != 0) {
			*why = dr_xasprintf("unknown field \"%.40s\"", key);
			goto out;
		}
	}
	v = json_object_get(o, "op");
	if (!json_is_string(v)) {
		*why = dr_xstrdup("missing \"op\"");
		goto out;
	}
	for (i = 0; i <= DR_CTL_STATUS; i++)
		if (strcmp(json_string_value(v), op_names[i]) == 0)
			break;
	if (i > DR_CTL_STATUS) {
		*why =
		    dr_xasprintf("unknown op \"%.40s\"", json_string_value(v));
		goto out;
	}
	m->op = (enum dr_ctl_op)i;
	switch (m->op) {
	case DR_CTL_APPROVE:
	case DR_CTL_DENY:
		if (str_field(o, "task", true, 1024, &m->task, why) != 0 ||
		    str_field(o, "comment", false, 1024, &m->comment, why) != 0)
			goto out;
		break;
	case DR_CTL_ANSWER:
		if (str_field(o, "task", true, 1024, &m->task, why) != 0 ||
		    str_field(o, "answer", true, 16, &m->answer, why) != 0)
			goto out;
		if (strcmp(m->answer, "retry") != 0 &&
		    strcmp(m->answer, "skip") != 0 &&
		    strcmp(m->answer, "abort") != 0) {
			*why = dr_xstrdup("answer: retry, skip or abort");
			goto out;
		}
		break;
	default:
		if (json_object_get(o, "task") ||
		    json_object_get(o, "answer") ||
		    json_object_get(o, "comment")) {
			*why = dr_xasprintf("%s takes no task, answer or "
			                    "comment",
			                    op_names[m->op]);
			goto out;
		}
		break;
	}
	r = 0;
out:
	json_decref(o);
	if (r != 0)
		dr_ctl_msg_free(m);
	return r;
}

char *
dr_ctl_request(const struct dr_ctl_msg *m)
{
	json_t *o = json_object();
	char *s, *line;

	json_object_set_new(o, "v", json_integer(DR_CONTROL_VERSION));
	json_object_set_new(o, "op", json_string(dr_ctl_op_name(m->op)));
	if (m->task)
		json_object_set_new(o, "task", json_string(m->task));
	if (m->answer)
		json_object_set_new(o, "answer", json_string(m->answer));
	if (m->comment)
		json_object_set_new(o, "comment", json_string(m->comment));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL) {
		fprintf(stderr, "drover: control: cannot encode a request\n");
		abort();
	}
	line = dr_xasprintf("%s\n", s);
	free(s);
	return line;
}

enum dr_vote_result
dr_ctl_vote(int needed, bool not_by_starter, uid_t starter_uid,
            const uid_t *uids, size_t n, uid_t uid)
{
	size_t i;

	if (not_by_starter && uid == starter_uid)
		return DR_VOTE_STARTER;
	for (i = 0; i < n; i++)
		if (uids[i] == uid)
			return DR_VOTE_TWICE;
	return (int)n + 1 >= (needed < 1 ? 1 : needed) ? DR_VOTE_PASS
	                                               : DR_VOTE_MORE;
}

/*
 * A socket's path as bind() and connect() can take it: path itself, or,
 * when it is longer than sun_path holds (a deep state directory), the same
 * file through its directory's descriptor (*dfd, caller closes):
 * /proc/self/fd/N/control.sock. Caller frees; NULL when neither works.
 */
static char *
short_path(const char *path, int *dfd)
{
	const size_t max = sizeof(((struct sockaddr_un *)0)->sun_path);
	const char *slash = strrchr(path, '/');
	char *dir, *p;

	*dfd = -1;
	if (strlen(path) < max)
		return dr_xstrdup(path);
	if (slash == NULL)
		return NULL;
	dir = dr_xstrndup(path, (size_t)(slash - path));
	*dfd = open(dir, O_PATH | O_DIRECTORY | O_CLOEXEC);
	free(dir);
	if (*dfd < 0)
		return NULL;
	p = dr_xasprintf("/proc/self/fd/%d/%s", *dfd, slash + 1);
	if (strlen(p) >= max) {
		free(p);
		close(*dfd);
		*dfd = -1;
		return NULL;
	}
	return p;
}

/* --- the server ------------------------------------------------------- */

struct dr_ctl_conn {
	uv_pipe_t pipe;
	uv_work_t work; /* who is it: getpwuid_r, groups */
	struct dr_control *c;
	struct dr_ctl_peer peer;
	bool allowed, watcher, closing, working, replied;
	char *why; /* refused: why */
	struct dr_buf in;
	uv_shutdown_t shut; /* closing: after the queued lines */
	uint64_t t0;        /* accepted, on the loop's clock */
	struct dr_ctl_conn *next;
};

struct dr_control {
	uv_loop_t *loop;
	uv_pipe_t server;
	char *path;
	gid_t gid; /* the socket's group */
	uid_t owner;
	dr_ctl_handler h;
	void *arg;
	struct dr_ctl_conn *conns;
	size_t nwatchers;
	int nhandles;     /* the server, the connections, the grace timer */
	uv_timer_t grace; /* closing: watchers get their last lines */
	uv_timer_t sweep; /* closes connections that never ask */
	bool grace_open;
	bool closing;
};

static void
maybe_free(struct dr_control *c)
{
	if (c->closing && c->nhandles == 0) {
		free(c->path);
		free(c);
	}
}

static void grace_closed(uv_handle_t *h);

static void
conn_closed(uv_handle_t *h)
{
	struct dr_ctl_conn *k = h->data;
	struct dr_control *c = k->c;
	struct dr_ctl_conn **pp;

	for (pp = &c->conns; *pp; pp = &(*pp)->next)
		if (*pp == k) {
			*pp = k->next;
			break;
		}
	if (k->watcher)
		c->nwatchers--;
	dr_buf_free(&k->in);
	free(k->why);
	free(k);
	if (c->conns == NULL && c->grace_open) { /* nobody left to wait for */
		c->grace_open = false;
		uv_close((uv_handle_t *)&c->grace, grace_closed);
	}
	c->nhandles--;
	maybe_free(c);
}

static void
conn_close(struct dr_ctl_conn *k)
{
	if (k->closing)
		return;
	k->closing = true;
	if (k->working)
		return; /* after_identify closes it */
	uv_close((uv_handle_t *)&k->pipe, conn_closed);
}

struct wreq {
	uv_write_t w;
	char *data;
	bool close_after;
};

static void
written(uv_write_t *w, int status)
{
	struct wreq *r = (struct wreq *)w;
	struct dr_ctl_conn *k = w->handle->data;

	if ((status != 0 || r->close_after) && !k->closing)
		conn_close(k);
	free(r->data);
	free(r);
}

static void
send_json(struct dr_ctl_conn *k, json_t *o, bool close_after)
{
	struct wreq *r;
	uv_buf_t b;
	char *s;

	json_object_set_new(o, "v", json_integer(DR_CONTROL_VERSION));
	s = json_dumps(o, JSON_COMPACT);
	json_decref(o);
	if (s == NULL || k->closing) {
		free(s);
		if (!k->closing)
			conn_close(k);
		return;
	}
	r = dr_xcalloc(1, sizeof(*r));
	r->data = dr_xasprintf("%s\n", s);
	r->close_after = close_after;
	free(s);
	b = uv_buf_init(r->data, (unsigned)strlen(r->data));
	if (uv_write(&r->w, (uv_stream_t *)&k->pipe, &b, 1, written) != 0) {
		free(r->data);
		free(r);
		conn_close(k);
	}
}

static void
reply(struct dr_ctl_conn *k, bool ok, const char *text, bool close_after)
{
	json_t *o = json_object();

	k->replied = true;
	json_object_set_new(o, "ok", json_boolean(ok));
	if (text)
		json_object_set_new(o, ok ? "message" : "error",
		                    json_string(text));
	send_json(k, o, close_after);
}

static void
on_alloc(uv_handle_t *h, size_t hint, uv_buf_t *buf)
{
	static char mem[DR_CONTROL_MAX_MSG + 2];

	(void)h;
	(void)hint;
	buf->base = mem;
	buf->len = sizeof(mem);
}

static void
handle_line(struct dr_ctl_conn *k, const char *line, size_t len)
{
	struct dr_control *c = k->c;
	struct dr_ctl_msg m;
	char *why = NULL, *msg = NULL;
	int r;

	uv_read_stop((uv_stream_t *)&k->pipe);
	if (!k->allowed || k->why) {
		reply(k, false, k->why ? k->why : "refused", true);
		return;
	}
	if (dr_ctl_parse(line, len, &m, &why) != 0) {
		reply(k, false, why, true);
		free(why);
		return;
	}
	r = c->h(c->arg, &k->peer, &m, &msg);
	if (r == 0 && m.op == DR_CTL_WATCH) {
		k->watcher = true;
		c->nwatchers++;
		reply(k, true, msg, false);
	} else {
		reply(k, r == 0, msg, true);
	}
	free(msg);
	dr_ctl_msg_free(&m);
}

static void
on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct dr_ctl_conn *k = s->data;
	const char *nl;

	if (n < 0) {
		conn_close(k);
		return;
	}
	if (k->watcher || k->closing)
		return; /* a watcher says nothing more */
	nl = memchr(buf->base, '\n', (size_t)n);
	dr_buf_append(&k->in, buf->base,
	              nl ? (size_t)(nl - buf->base) : (size_t)n);
	if (k->in.len > DR_CONTROL_MAX_MSG) {
		char *why = dr_xasprintf("message too long (more than %d "
		                         "bytes)",
		                         DR_CONTROL_MAX_MSG);
		uv_read_stop(s);
		reply(k, false, why, true);
		free(why);
		return;
	}
	if (nl)
		handle_line(k, k->in.data ? k->in.data : "", k->in.len);
}

/* On the thread pool: the peer's name and whether it is in the group. */
static void
identify(uv_work_t *w)
{
	struct dr_ctl_conn *k = w->data;
	struct dr_control *c = k->c;
	struct passwd pw, *res = NULL;
	char buf[4096];
	gid_t groups[256];
	int n = 256, i;

	snprintf(k->peer.user, sizeof(k->peer.user), "%u",
	         (unsigned)k->peer.uid);
	if (getpwuid_r(k->peer.uid, &pw, buf, sizeof(buf), &res) == 0 && res)
		snprintf(k->peer.user, sizeof(k->peer.user), "%s", pw.pw_name);
	if (k->peer.uid == c->owner || k->peer.uid == 0 ||
	    k->peer.gid == c->gid) {
		k->allowed = true;
		return;
	}
	if (res) {
		gid_t *g = groups;
		if (getgrouplist(pw.pw_name, pw.pw_gid, g, &n) < 0 && n > 256) {
			g = dr_xcalloc((size_t)n,
			               sizeof(gid_t)); /* a big one */
			if (getgrouplist(pw.pw_name, pw.pw_gid, g, &n) < 0)
				n = 0;
		}
		for (i = 0; i < n; i++)
			if (g[i] == c->gid)
				k->allowed = true;
		if (g != groups)
			free(g);
	}
	if (!k->allowed) {
		struct group gr, *gres = NULL;
		char gbuf[4096];
		char gname[64];
		snprintf(gname, sizeof(gname), "%u", (unsigned)c->gid);
		if (getgrgid_r(c->gid, &gr, gbuf, sizeof(gbuf), &gres) == 0 &&
		    gres)
			snprintf(gname, sizeof(gname), "%s", gr.gr_name);
		k->why =
		    dr_xasprintf("user %s (uid %u) is not in the run's "
		                 "group %s",
		                 k->peer.user, (unsigned)k->peer.uid, gname);
	}
}

static void
after_identify(uv_work_t *w, int status)
{
	struct dr_ctl_conn *k = w->data;

	k->working = false;
	if (k->closing) {
		uv_close((uv_handle_t *)&k->pipe, conn_closed);
		return;
	}
	if (status != 0 && k->why == NULL)
		k->why = dr_xstrdup("refused: the peer's identity is unknown");
	/* Refused or not, its request is read first (a reply to a peer
	 * still writing would reset it); handle_line decides. */
	uv_read_start((uv_stream_t *)&k->pipe, on_alloc, on_read);
}

static void
on_connection(uv_stream_t *server, int status)
{
	struct dr_control *c = server->data;
	struct dr_ctl_conn *k;
	struct ucred cr;
	socklen_t len = sizeof(cr);
	uv_os_fd_t fd;

	if (status != 0 || c->closing)
		return;
	k = dr_xcalloc(1, sizeof(*k));
	k->c = c;
	k->t0 = uv_now(c->loop);
	dr_buf_init(&k->in, 0);
	uv_pipe_init(c->loop, &k->pipe, 0);
	k->pipe.data = k;
	k->next = c->conns;
	c->conns = k;
	c->nhandles++;
	if (uv_accept(server, (uv_stream_t *)&k->pipe) != 0 ||
	    uv_fileno((uv_handle_t *)&k->pipe, &fd) != 0 ||
	    getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) != 0) {
		conn_close(k);
		return;
	}
	k->peer.uid = cr.uid;
	k->peer.gid = cr.gid;
	k->peer.pid = cr.pid;
	k->work.data = k;
	k->working = true;
	if (uv_queue_work(c->loop, &k->work, identify, after_identify) != 0) {
		k->working = false;
		conn_close(k);
	}
}

static void
on_sweep(uv_timer_t *t)
{
	struct dr_control *c = t->data;
	struct dr_ctl_conn *k;
	uint64_t now = uv_now(c->loop);

	for (k = c->conns; k; k = k->next)
		if (!k->watcher && !k->closing && !k->working && !k->replied &&
		    now - k->t0 > REQUEST_MS)
			reply(k, false, "no request within 10s", true);
}

static void
server_closed(uv_handle_t *h)
{
	struct dr_control *c = h->data;

	c->nhandles--;
	maybe_free(c);
}

int
dr_control_open(uv_loop_t *loop, const char *path, gid_t gid, dr_ctl_handler h,
                void *arg, struct dr_control **out)
{
	struct dr_control *c;
	struct stat st;
	int r;

	*out = NULL;
	c = dr_xcalloc(1, sizeof(*c));
	c->loop = loop;
	c->path = dr_xstrdup(path);
	c->h = h;
	c->arg = arg;
	c->owner = geteuid();
	unlink(path);
	uv_pipe_init(loop, &c->server, 0);
	c->server.data = c;
	c->nhandles = 1;
	{
		int dfd = -1;
		char *bindp = short_path(path, &dfd);
		r = bindp ? uv_pipe_bind(&c->server, bindp) : -ENAMETOOLONG;
		if (dfd >= 0)
			close(dfd);
		free(bindp);
	}
	if (r == 0 && gid != (gid_t)-1 && chown(path, (uid_t)-1, gid) != 0)
		r = -errno;
	if (r == 0 && chmod(path, 0660) != 0)
		r = -errno;
	if (r == 0 && stat(path, &st) != 0)
		r = -errno;
	if (r == 0)
		r = uv_listen((uv_stream_t *)&c->server, 16, on_connection);
	if (r != 0) {
		unlink(path);
		c->closing = true;
		uv_close((uv_handle_t *)&c->server, server_closed);
		errno = r < 0 ? -r : r;
		return DR_EIO;
	}
	c->gid = st.st_gid;
	uv_timer_init(loop, &c->sweep);
	c->sweep.data = c;
	c->nhandles++;
	uv_timer_start(&c->sweep, on_sweep, REQUEST_MS / 2, REQUEST_MS / 2);
	*out = c;
	return 0;
}

size_t
dr_control_watchers(const struct dr_control *c)
{
	return c ? c->nwatchers : 0;
}

const char *
dr_control_path(const struct dr_control *c)
{
	return c ? c->path : NULL;
}

void
dr_control_broadcast(struct dr_control *c, const char *line)
{
	struct dr_ctl_conn *k;

	if (c == NULL || c->closing)
		return;
	for (k = c->conns; k; k = k->next) {
		json_t *o;
		if (!k->watcher || k->closing ||
		    uv_stream_get_write_queue_size((uv_stream_t *)&k->pipe) >
		        WATCH_BACKLOG)
			continue;
		o = json_object();
		json_object_set_new(o, "line", json_string(line));
		send_json(k, o, false);
	}
}

static void
shut_done(uv_shutdown_t *req, int status)
{
	(void)status;
	conn_close(req->handle->data);
}

static void
grace_closed(uv_handle_t *h)
{
	struct dr_control *c = h->data;

	c->nhandles--;
	maybe_free(c);
}

/* The grace is over: whoever still has lines queued loses them. */
static void
grace_fire(uv_timer_t *t)
{
	struct dr_control *c = t->data;
	struct dr_ctl_conn *k, *next;

	for (k = c->conns; k; k = next) {
		next = k->next;
		conn_close(k);
	}
	if (c->grace_open) {
		c->grace_open = false;
		uv_close((uv_handle_t *)&c->grace, grace_closed);
	}
}

void
dr_control_close(struct dr_control *c)
{
	struct dr_ctl_conn *k, *next;
	bool waiting = false;

	if (c == NULL)
		return;
	c->closing = true;
	unlink(c->path);
	/* Watchers see their last lines (the run's end), then EOF; a
	 * watcher that reads nothing holds the run for GRACE_MS at most. */
	for (k = c->conns; k; k = next) {
		next = k->next;
		if (k->watcher && !k->closing &&
		    uv_shutdown(&k->shut, (uv_stream_t *)&k->pipe, shut_done) ==
		        0)
			waiting = true;
		else
			conn_close(k);
	}
	uv_close((uv_handle_t *)&c->server, server_closed);
	uv_timer_stop(&c->sweep);
	uv_close((uv_handle_t *)&c->sweep, server_closed);
	uv_timer_init(c->loop, &c->grace);
	c->grace.data = c;
	c->nhandles++;
	c->grace_open = true;
	if (waiting && c->conns != NULL) {
		uv_timer_start(&c->grace, grace_fire, GRACE_MS, 0);
	} else {
		c->grace_open = false;
		uv_close((uv_handle_t *)&c->grace, grace_closed);
	}
}

/* --- the client --------------------------------------------------------- */

int
dr_ctl_call(const char *run_dir, const struct dr_ctl_msg *m, char **text,
            void (*on_line)(void *arg, const char *line), void *arg)
{
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	char *path = dr_xasprintf("%s/%s", run_dir, DR_CONTROL_SOCK);
	char *req = NULL;
	struct dr_buf in;
	char chunk[4096];
	bool replied = false;
	int fd = -1, dfd = -1, r = DR_EIO;
	ssize_t n;

	*text = NULL;
	dr_buf_init(&in, 0);
	{
		char *p = short_path(path, &dfd);
		if (p == NULL) {
			*text = dr_xasprintf("%s: path too long for a socket",
			                     path);
			goto out;
		}
		memcpy(sa.sun_path, p, strlen(p) + 1);
		free(p);
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		*text = dr_xasprintf("socket: %s", strerror(errno));
		goto out;
	}
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) != 0) {
		if (errno == ENOENT || errno == ECONNREFUSED) {
			r = DR_ENOTFOUND;
			*text = dr_xasprintf("the run is not live (no control "
			                     "socket %s)",
			                     path);
		} else if (errno == EACCES || errno == EPERM) {
			r = DR_EREFUSED;
			*text = dr_xasprintf("%s: %s (the run's group may "
			                     "answer it)",
			                     path, strerror(errno));
		} else {
			*text = dr_xasprintf("%s: %s", path, strerror(errno));
		}
		goto out;
	}
	req = dr_ctl_request(m);
	{
		/* No SIGPIPE: a run that refuses says why before it closes. */
		size_t off = 0, len = strlen(req);
		while (off < len) {
			ssize_t w =
			    send(fd, req + off, len - off, MSG_NOSIGNAL);
			if (w < 0 && errno == EINTR)
				continue;
			if (w < 0) {
				if (errno == EPIPE || errno == ECONNRESET)
					break; /* read what it said */
				*text = dr_xasprintf("%s: write: %s", path,
				                     strerror(errno));
				goto out;
			}
			off += (size_t)w;
		}
	}
	for (;;) {
		char *nl;
		n = read(fd, chunk, sizeof(chunk));
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		dr_buf_append(&in, chunk, (size_t)n);
		while (in.len > 0 && (nl = memchr(in.data, '\n', in.len))) {
			json_t *o = json_loadb(in.data, (size_t)(nl - in.data),
			                       0, NULL);
			size_t used = (size_t)(nl - in.data) + 1;
			json_t *v;
			if (o && !replied) {
				bool ok =
				    json_is_true(json_object_get(o, "ok"));
				v = json_object_get(o,
				                    ok ? "message" : "error");
				free(*text);
				*text = json_is_string(v)
				            ? dr_xstrdup(json_string_value(v))
				            : NULL;
				replied = true;
				r = ok ? 0 : DR_EREFUSED;
				if (ok && on_line && m->op == DR_CTL_WATCH &&
				    *text) { /* the board's head, first */
					on_line(arg, *text);
					free(*text);
					*text = NULL;
				}
			} else if (o && on_line &&
			           json_is_string(
			               v = json_object_get(o, "line"))) {
				on_line(arg, json_string_value(v));
			}
			json_decref(o);
			memmove(in.data, in.data + used, in.len - used);
			in.len -= used;
		}
		if (replied && (r != 0 || m->op != DR_CTL_WATCH))
			break;
	}
	if (!replied && *text == NULL)
		*text = dr_xstrdup("the run closed the connection without "
		                   "an answer");
out:
	if (fd >= 0)
		close(fd);
	if (dfd >= 0)
		close(dfd);
	dr_buf_free(&in);
	free(req);
	free(path);
	return r;
}
