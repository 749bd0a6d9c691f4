/*
 * ssh.c: non-blocking libssh2 sessions on a libuv loop.
 *
 * Two state machines: the connection (enum conn_state) and each channel job
 * (enum job_state). A session carries at most one job for the caller plus,
 * after a deadline or a cancel, one "kill" job that kills the caller's
 * remote process group. drive() steps them after every socket event and
 * then polls in the direction libssh2_session_block_directions() gives.
 * libssh2 codes are translated to DR_E* in xlate() only; EAGAIN never leaves
 * this file.
 */
#include "drover/ssh.h"
#include "drover/guard.h"
#include "drover/scrub.h"
#include "drover/sha256.h"
#include "drover/tasklog.h"
#include "drover/shcmd.h"

#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <libssh2.h>

#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_KEEPALIVE_MS 15000
#define DEFAULT_KEEPALIVE_MAX 3
#define DEFAULT_TAIL 4096
#define DISCONNECT_MS 3000    /* deadline of a graceful disconnect */
#define KILL_MS 15000         /* deadline of the kill job */
#define KILL_GRACE_MS 5000    /* wait for the killed command's channel */
#define LOG_BACKLOG (4 << 20) /* stop reading while the log lags this much */

static const char KEX_PREF[] = "curve25519-sha256,curve25519-sha256@libssh.org,"
                               "ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
                               "ecdh-sha2-nistp521";
static const char CIPHER_PREF[] = "aes256-ctr,aes192-ctr,aes128-ctr";
static const char MAC_PREF[] = "hmac-sha2-256,hmac-sha2-512";

/*
 * The remote wrapper. $1 is the command, $2 the kill tag. The command runs
 * as an asynchronous list (so setsid does not need to fork and $! is the
 * process group id) with the session's stdin passed explicitly; the outer
 * shell waits, removes the pid file and dies with the same signal so that
 * sshd reports exit-signal.
 */
static const char WRAPPER[] =
    "f=\"${TMPDIR:-/tmp}/drover-$2.pid\"; exec 3<&0; "
    "setsid sh -c \"$1\" <&3 3<&- & c=$!; echo $c >\"$f\"; exec 3<&-; "
    "wait $c; r=$?; rm -f \"$f\"; "
    "if [ $r -gt 128 ]; then kill -$((r - 128)) $$; fi; exit $r";

/*
 * The kill job: TERM the group, up to 2 s of grace, then KILL. A kill sent
 * right after the exec can arrive before the wrapper wrote its pid file:
 * wait up to 2 s for it (the caller's channel is still open, so the
 * command has not ended and removed it).
 */
static const char KILLER[] =
    "f=\"${TMPDIR:-/tmp}/drover-$1.pid\"; i=0; "
    "while [ ! -s \"$f\" ] && [ $i -lt 20 ]; do sleep 0.1; i=$((i + 1)); "
    "done; [ -r \"$f\" ] || exit 0; "
    "p=$(cat \"$f\"); case $p in ''|*[!0-9]*) exit 0;; esac; "
    "kill -TERM -$p 2>/dev/null || exit 0; i=0; "
    "while [ $i -lt 20 ] && kill -0 -$p 2>/dev/null; do "
    "sleep 0.1; i=$((i + 1)); done; "
    "kill -KILL -$p 2>/dev/null; rm -f \"$f\"; exit 0";

enum conn_state {
	C_NEW,
	C_START,      /* deferred start: known_hosts, resolve */
	C_RESOLVE,    /* uv_getaddrinfo in flight */
	C_TCP,        /* non-blocking connect in progress */
	C_HANDSHAKE,  /* libssh2_session_handshake */
	C_AUTH_FILE,  /* libssh2_userauth_publickey_fromfile */
	C_AUTH_AGENT, /* libssh2_agent_userauth over the identities */
	C_READY,
	C_DEAD,       /* connection lost or unusable; waits for close */
	C_FAILED,     /* connect failed; waits for close */
	C_CLOSE_JOBS, /* close: waiting for jobs to finish their logs */
	C_DISCONNECT, /* libssh2_session_disconnect */
	C_SFREE,      /* libssh2_session_free */
	C_CLOSING,    /* uv_close on the handles */
	C_LAST
};

static const char *const conn_names[] = {
    "new",        "start",      "resolve",      "tcp",    "handshake",
    "auth-file",  "auth-agent", "ready",        "dead",   "failed",
    "close-jobs", "disconnect", "session-free", "closing"};
_Static_assert(DR_NELEM(conn_names) == C_LAST, "conn_names");

enum job_state {
	J_LOGOPEN,    /* uv_fs_open of the log */
	J_OPEN,       /* libssh2_channel_open_session */
	J_EXEC,       /* libssh2_channel_exec */
	J_IO,         /* write stdin, read stdout and stderr until EOF */
	J_WAITCLOSED, /* libssh2_channel_wait_closed */
	J_FREE,       /* libssh2_channel_free */
	J_DONE,       /* channel finished; waiting for log and kill job */
	J_LAST
};

static const char *const job_names[] = {"log-open",    "open", "exec", "io",
                                        "wait-closed", "free", "done"};
_Static_assert(DR_NELEM(job_names) == J_LAST, "job_names");

enum job_kind { K_EXEC, K_READ, K_WRITE, K_KILL };

struct job {
	struct dr_ssh *s;
	enum job_kind kind;
	enum job_state st;
	LIBSSH2_CHANNEL *ch;
	char *cmd;
	char tag[64];
	uint64_t start_ms;
	uint64_t timeout_ms;

	/* stdin */
	unsigned char *in_copy; /* exec: owned copy, wiped on free */
	const unsigned char *in;
	size_t in_len, in_off;
	bool eof_wanted, eof_sent;
	bool drain_pending; /* WRITE: call on_drain after this step */

	/* output */
	struct dr_buf tail;
	struct dr_scrub scrub; /* secrets out of the tail and the log */
	uint64_t bytes_out, bytes_err, bytes_in;
	bool paused;
	dr_ssh_data_cb on_data;
	dr_ssh_drain_cb on_drain;
	void *sarg;

	/* log */
	struct dr_tasklog *log; /* NULL: no log */

	/* end */
	int status;
	char *reason; /* message for a failed status */
	int exit_code;
	char exit_signal[32];
	int stop; /* 0, DR_ETIMEDOUT or DR_ECANCELED: kill requested */
	bool kill_done;
	bool chan_done;
	bool exec_sent; /* channel exec was called: the command may run */
	bool end_seen;  /* the channel closed with the command's end */

	dr_ssh_exec_cb cb;
	void *arg;
};

struct dr_ssh {
	uv_loop_t *loop;
	char *label, *address, *user, *identity, *known_hosts;
	int port;
	uint64_t connect_ms, keepalive_ms;
	int keepalive_max;
	const struct dr_guard *guard;

	enum conn_state st;
	uv_os_sock_t fd;
	uv_poll_t poll;
	bool poll_init;
	int poll_events;
	uv_timer_t conn_timer; /* phase deadlines, deferred start */
	uv_timer_t ka_timer;   /* keepalives */
	uv_timer_t job_timer;  /* caller job deadline, then kill grace */
	uv_timer_t kill_timer; /* kill job deadline */
	uv_idle_t kick;        /* drive on the next loop turn */
	int open_handles;
	uv_getaddrinfo_t gai;
	bool gai_busy;
	struct addrinfo *ai;

	LIBSSH2_SESSION *session;
	LIBSSH2_KNOWNHOSTS *kh;
	LIBSSH2_AGENT *agent;
	struct libssh2_agent_publickey *agent_id;
	bool handshaken;
	char hostkey_pref[256];

	bool driving, again;
	bool waited_io;        /* the last drive ended on EAGAIN */
	bool idle_rx;          /* idle with unread bytes: stop polling */
	struct job *out_owner; /* job whose send is partially done */
	uint64_t last_rx_ms;
	uint64_t wait_since_ms;
	bool broken; /* a channel was abandoned: no more jobs */
	bool shut;   /* teardown deadline hit: socket shut down */

	struct job *job;  /* the caller's */
	struct job *kjob; /* the kill job */

	dr_ssh_connect_cb connect_cb;
	void *connect_arg;
	dr_ssh_close_cb close_cb;
	void *close_arg;
	bool close_requested;

	char *err;
	unsigned char rbuf[DR_SSH_CHUNK];
};

static void drive(struct dr_ssh *s);
static void update_poll(struct dr_ssh *s);
static void job_try_complete(struct job *j);
static void close_handles(struct dr_ssh *s);
static void start_kill(struct job *j, int why);
static void on_keepalive(uv_timer_t *t);

/* Tracing */

static void
set_state(struct dr_ssh *s, enum conn_state st)
{
	dr_trace_state("ssh", s->label, conn_names[s->st], conn_names[st]);
	s->st = st;
}

static void
job_set_state(struct job *j, enum job_state st)
{
	dr_trace_state(j->kind == K_KILL ? "ssh-kill" : "ssh-channel",
	               j->s->label, job_names[j->st], job_names[st]);
	j->st = st;
}

/* Helpers */

static char *
expand_home(const char *p)
{
	const char *home = getenv("HOME");

	if (p == NULL)
		return NULL;
	if (p[0] == '~' && p[1] == '/' && home != NULL)
		return dr_xasprintf("%s%s", home, p + 1);
	return dr_xstrdup(p);
}

static void
b64_encode(const unsigned char *in, size_t n, struct dr_buf *out, bool pad)
{
	static const char t[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	    "wxyz0123456789+/";
	size_t i;

	for (i = 0; i + 2 < n; i += 3) {
		char q[4] = {t[in[i] >> 2],
		             t[(in[i] & 3) << 4 | in[i + 1] >> 4],
		             t[(in[i + 1] & 15) << 2 | in[i + 2] >> 6],
		             t[in[i + 2] & 63]};
		dr_buf_append(out, q, 4);
	}
	if (n - i == 1) {
		char q[2] = {t[in[i] >> 2], t[(in[i] & 3) << 4]};
		dr_buf_append(out, q, 2);
		if (pad)
			dr_buf_puts(out, "==");
	} else if (n - i == 2) {
		char q[3] = {t[in[i] >> 2],
		             t[(in[i] & 3) << 4 | in[i + 1] >> 4],
		             t[(in[i + 1] & 15) << 2]};
		dr_buf_append(out, q, 3);
		if (pad)
			dr_buf_puts(out, "=");
	}
}

/* Decodes base64 into a malloc'd buffer; stops at '=' or the end. */
static unsigned char *
b64_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s), o = 0;
	unsigned char *out = dr_xmalloc(n * 3 / 4 + 3);
	unsigned v = 0;
	int bits = 0;

	for (; *s && *s != '='; s++) {
		int c = (unsigned char)*s, d;
		if (c >= 'A' && c <= 'Z')
			d = c - 'A';
		else if (c >= 'a' && c <= 'z')
			d = c - 'a' + 26;
		else if (c >= '0' && c <= '9')
			d = c - '0' + 52;
		else if (c == '+')
			d = 62;
		else if (c == '/')
			d = 63;
		else
			continue;
		v = (v << 6) | (unsigned)d;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(v >> bits);
			v &= (1u << bits) - 1;
		}
	}
	*outlen = o;
	return out;
}

/* "SHA256:" + unpadded base64 of a 32-byte digest, like OpenSSH. */
static char *
fingerprint(const unsigned char d[DR_SHA256_LEN])
{
	struct dr_buf b;

	dr_buf_init(&b, 0);
	dr_buf_puts(&b, "SHA256:");
	b64_encode(d, DR_SHA256_LEN, &b, false);
	return dr_buf_steal(&b);
}

static const char *
session_msg(struct dr_ssh *s)
{
	char *msg = NULL;

	if (s->session == NULL)
		return "no session";
	libssh2_session_last_error(s->session, &msg, NULL, 0);
	return msg != NULL && *msg ? msg : "unknown libssh2 error";
}

/* The one place where libssh2 codes become DR_E* codes. */
static int
xlate(int rc)
{
	switch (rc) {
	case 0:
		return 0;
	case LIBSSH2_ERROR_SOCKET_SEND:
	case LIBSSH2_ERROR_SOCKET_RECV:
	case LIBSSH2_ERROR_SOCKET_DISCONNECT:
	case LIBSSH2_ERROR_SOCKET_TIMEOUT:
	case LIBSSH2_ERROR_BAD_SOCKET:
	case LIBSSH2_ERROR_CHANNEL_CLOSED:
	case LIBSSH2_ERROR_CHANNEL_EOF_SENT:
		return DR_EDISCONNECT;
	case LIBSSH2_ERROR_AUTHENTICATION_FAILED:
	case LIBSSH2_ERROR_PUBLICKEY_UNVERIFIED:
	case LIBSSH2_ERROR_FILE:
	case LIBSSH2_ERROR_AGENT_PROTOCOL:
	case LIBSSH2_ERROR_METHOD_NOT_SUPPORTED:
		return DR_EAUTH;
	case LIBSSH2_ERROR_HOSTKEY_INIT:
	case LIBSSH2_ERROR_HOSTKEY_SIGN:
		return DR_EHOSTKEY;
	case LIBSSH2_ERROR_TIMEOUT:
		return DR_ETIMEDOUT;
	case LIBSSH2_ERROR_ALLOC:
		return DR_ENOMEM;
	default:
		return DR_EPROTO;
	}
}

static void set_err(struct dr_ssh *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
set_err(struct dr_ssh *s, const char *fmt, ...)
{
	char *msg;

	DR_VFORMAT(msg, fmt);
	free(s->err);
	s->err = dr_xasprintf("%s: %s", s->label, msg);
	free(msg);
}

static void kick(struct dr_ssh *s);

/* libssh2's recv hook: counts arrival time for dead-peer detection. */
static LIBSSH2_RECV_FUNC(recv_hook)
{
	struct dr_ssh *s = *abstract;
	ssize_t n;

	do
		n = recv(socket, buffer, length, flags);
	while (n < 0 && errno == EINTR);

	if (n < 0)
		return -errno;
	if (n > 0)
		s->last_rx_ms = dr_now_mono_ms();
	return n;
}

/* Connection machine */

static void conn_deadline(struct dr_ssh *s, uint64_t ms);

static void
conn_finish(struct dr_ssh *s, int status)
{
	dr_ssh_connect_cb cb = s->connect_cb;

	uv_timer_stop(&s->conn_timer);
	s->connect_cb = NULL;
	if (status == 0) {
		set_state(s, C_READY);
		s->last_rx_ms = dr_now_mono_ms();
		if (s->keepalive_ms > 0)
			uv_timer_start(&s->ka_timer, on_keepalive,
			               s->keepalive_ms, s->keepalive_ms);
	} else if (s->st != C_CLOSE_JOBS) {
		set_state(s, C_FAILED);
	}
	if (cb != NULL)
		cb(s, status, status ? s->err : "", s->connect_arg);
}

static void conn_fail(struct dr_ssh *s, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
conn_fail(struct dr_ssh *s, int status, const char *fmt, ...)
{
	char *msg;

	DR_VFORMAT(msg, fmt);
	set_err(s, "%s", msg);
	free(msg);
	conn_finish(s, status);
}

static void on_conn_timer(uv_timer_t *t);

static void
conn_deadline(struct dr_ssh *s, uint64_t ms)
{
	uv_timer_start(&s->conn_timer, on_conn_timer, ms, 0);
}

/* Puts the host key types pinned for this host first in the preference. */
static void
hostkey_pref(struct dr_ssh *s)
{
	static const struct {
		int mask;
		const char *name;
	} types[] = {
	    {LIBSSH2_KNOWNHOST_KEY_ED25519, "ssh-ed25519"},
	    {LIBSSH2_KNOWNHOST_KEY_ECDSA_256, "ecdsa-sha2-nistp256"},
	    {LIBSSH2_KNOWNHOST_KEY_ECDSA_384, "ecdsa-sha2-nistp384"},
	    {LIBSSH2_KNOWNHOST_KEY_ECDSA_521, "ecdsa-sha2-nistp521"},
	};
	struct libssh2_knownhost *k = NULL;
	bool pinned[4] = {false, false, false, false};
	char bracket[300];
	struct dr_buf b;
	size_t i;

	snprintf(bracket, sizeof(bracket), "[%s]:%d", s->address, s->port);
	while (libssh2_knownhost_get(s->kh, &k, k) == 0) {
		if (k->name == NULL)
			continue;
		if (strcmp(k->name, s->address) != 0 &&
		    strcmp(k->name, bracket) != 0)
			continue;
		for (i = 0; i < 4; i++)
			if ((k->typemask & LIBSSH2_KNOWNHOST_KEY_MASK) ==
			    types[i].mask)
				pinned[i] = true;
	}
	dr_buf_init(&b, 0);
	for (i = 0; i < 4; i++)
		if (pinned[i])
			dr_buf_printf(&b, "%s%s", b.len ? "," : "",
			              types[i].name);
	for (i = 0; i < 4; i++)
		if (!pinned[i])
			dr_buf_printf(&b, "%s%s", b.len ? "," : "",
			              types[i].name);
	snprintf(s->hostkey_pref, sizeof(s->hostkey_pref), "%s", b.data);
	dr_buf_free(&b);
}

static void start_tcp(struct dr_ssh *s, const struct sockaddr *sa,
                      socklen_t salen);

static void
on_resolved(uv_getaddrinfo_t *req, int status, struct addrinfo *res)
{
	struct dr_ssh *s = req->data;

	s->gai_busy = false;
	s->ai = res;
	if (s->st != C_RESOLVE) { /* closed meanwhile */
		drive(s);
		return;
	}
	if (status != 0 || res == NULL) {
		conn_fail(s, DR_ECONNECT, "resolve %s: %s", s->address,
		          uv_strerror(status));
		return;
	}
	start_tcp(s, res->ai_addr, res->ai_addrlen);
}

static void
step_start(struct dr_ssh *s)
{
	struct stat st;
	struct sockaddr_storage ss;
	struct addrinfo hints;
	int rc;

	if (stat(s->known_hosts, &st) == 0 && !S_ISREG(st.st_mode)) {
		conn_fail(s, DR_EHOSTKEY, "known_hosts %s is %s, not a file",
		          s->known_hosts,
		          S_ISDIR(st.st_mode) ? "a directory" : "special");
		return;
	}
	if (access(s->known_hosts, R_OK) != 0) {
		conn_fail(s, DR_EHOSTKEY,
		          "known_hosts %s: %s; pin the host keys first",
		          s->known_hosts,
		          uv_strerror(uv_translate_sys_error(errno)));
		return;
	}
	/* As OpenSSH: a private key others can read is not used. */
	if (s->identity != NULL && stat(s->identity, &st) == 0 &&
	    (st.st_mode & 0077) != 0) {
		conn_fail(s, DR_EAUTH,
		          "private key %s is readable by group or others (mode "
		          "%04o); chmod 600 %s",
		          s->identity, (unsigned)(st.st_mode & 07777),
		          s->identity);
		return;
	}
	s->session = libssh2_session_init_ex(NULL, NULL, NULL, s);
	if (s->session == NULL) {
		conn_fail(s, DR_EPROTO, "cannot create a libssh2 session");
		return;
	}
	libssh2_session_set_blocking(s->session, 0);
	s->kh = libssh2_knownhost_init(s->session);
	if (s->kh == NULL ||
	    libssh2_knownhost_readfile(s->kh, s->known_hosts,
	                               LIBSSH2_KNOWNHOST_FILE_OPENSSH) < 0) {
		conn_fail(s, DR_EHOSTKEY, "known_hosts %s: %s", s->known_hosts,
		          session_msg(s));
		return;
	}
	hostkey_pref(s);
	if (uv_ip4_addr(s->address, s->port, (struct sockaddr_in *)&ss) == 0) {
		start_tcp(s, (struct sockaddr *)&ss,
		          sizeof(struct sockaddr_in));
		return;
	}
	if (uv_ip6_addr(s->address, s->port, (struct sockaddr_in6 *)&ss) == 0) {
		start_tcp(s, (struct sockaddr *)&ss,
		          sizeof(struct sockaddr_in6));
		return;
	}
	memset(&hints, 0, sizeof(hints));
	hints.ai_family = AF_UNSPEC;
	hints.ai_socktype = SOCK_STREAM;
	s->gai.data = s;
	{
		char port[16];
		snprintf(port, sizeof(port), "%d", s->port);
		rc = uv_getaddrinfo(s->loop, &s->gai, on_resolved, s->address,
		                    port, &hints);
	}
	if (rc != 0) {
		conn_fail(s, DR_ECONNECT, "resolve %s: %s", s->address,
		          uv_strerror(rc));
		return;
	}
	s->gai_busy = true;
	set_state(s, C_RESOLVE);
	conn_deadline(s, s->connect_ms);
}

static void on_poll(uv_poll_t *p, int status, int events);

static void
start_tcp(struct dr_ssh *s, const struct sockaddr *sa, socklen_t salen)
{
	int one = 1, rc;
	const char *forbidden = dr_guard_check(s->guard, s->address, sa);

	if (forbidden != NULL) {
		conn_fail(s, DR_EREFUSED,
		          "refused before connecting: %s is %s, and a drill "
		          "never touches production",
		          s->address, forbidden);
		return;
	}

	s->fd = socket(sa->sa_family,
	               SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (s->fd < 0) {
		conn_fail(s, DR_ECONNECT, "socket: %s",
		          uv_strerror(uv_translate_sys_error(errno)));
		return;
	}
	setsockopt(s->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	setsockopt(s->fd, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof(one));
	rc = uv_poll_init_socket(s->loop, &s->poll, s->fd);
	if (rc != 0) {
		conn_fail(s, DR_ECONNECT, "poll: %s", uv_strerror(rc));
		return;
	}
	s->poll.data = s;
	s->poll_init = true;
	s->open_handles++;
	set_state(s, C_TCP);
	conn_deadline(s, s->connect_ms);
	if (connect(s->fd, sa, salen) != 0 && errno != EINPROGRESS) {
		conn_fail(s, DR_ECONNECT, "connect: %s",
		          uv_strerror(uv_translate_sys_error(errno)));
		return;
	}
	update_poll(s);
}

static void
step_tcp(struct dr_ssh *s)
{
	int err = 0;
	socklen_t len = sizeof(err);

	if (getsockopt(s->fd, SOL_SOCKET, SO_ERROR, &err, &len) != 0)
		err = errno;
	if (err == EINPROGRESS || err == EALREADY)
		return;
	if (err != 0) {
		conn_fail(s, DR_ECONNECT, "connect: %s",
		          uv_strerror(uv_translate_sys_error(err)));
		return;
	}
	libssh2_session_callback_set(s->session, LIBSSH2_CALLBACK_RECV,
	                             (void *)recv_hook);
	if (libssh2_session_method_pref(s->session, LIBSSH2_METHOD_KEX,
	                                KEX_PREF) < 0 ||
	    libssh2_session_method_pref(s->session, LIBSSH2_METHOD_HOSTKEY,
	                                s->hostkey_pref) < 0 ||
	    libssh2_session_method_pref(s->session, LIBSSH2_METHOD_CRYPT_CS,
	                                CIPHER_PREF) < 0 ||
	    libssh2_session_method_pref(s->session, LIBSSH2_METHOD_CRYPT_SC,
	                                CIPHER_PREF) < 0 ||
	    libssh2_session_method_pref(s->session, LIBSSH2_METHOD_MAC_CS,
	                                MAC_PREF) < 0 ||
	    libssh2_session_method_pref(s->session, LIBSSH2_METHOD_MAC_SC,
	                                MAC_PREF) < 0 ||
	    libssh2_session_method_pref(s->session, LIBSSH2_METHOD_COMP_CS,
	                                "none") < 0 ||
	    libssh2_session_method_pref(s->session, LIBSSH2_METHOD_COMP_SC,
	                                "none") < 0) {
		conn_fail(s, DR_EPROTO, "algorithms: %s", session_msg(s));
		return;
	}
	libssh2_keepalive_config(s->session, 1,
	                         (unsigned)(s->keepalive_ms / 1000 < 2
	                                        ? 2
	                                        : s->keepalive_ms / 1000));
	set_state(s, C_HANDSHAKE);
	conn_deadline(s, s->connect_ms);
}

static int
hostkey_mask(int type)
{
	switch (type) {
	case LIBSSH2_HOSTKEY_TYPE_ED25519:
		return LIBSSH2_KNOWNHOST_KEY_ED25519;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_256:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_256;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_384:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_384;
	case LIBSSH2_HOSTKEY_TYPE_ECDSA_521:
		return LIBSSH2_KNOWNHOST_KEY_ECDSA_521;
	default:
		return LIBSSH2_KNOWNHOST_KEY_UNKNOWN;
	}
}

/* Strict check against known_hosts, before any authentication. */
static int
check_hostkey(struct dr_ssh *s)
{
	struct libssh2_knownhost *known = NULL;
	unsigned char d[DR_SHA256_LEN];
	const char *key, *hash;
	size_t len;
	int type, rc;
	char *got, *want;

	key = libssh2_session_hostkey(s->session, &len, &type);
	hash = libssh2_hostkey_hash(s->session, LIBSSH2_HOSTKEY_HASH_SHA256);
	if (key == NULL || hash == NULL) {
		conn_fail(s, DR_EHOSTKEY, "host key: not available");
		return -1;
	}
	memcpy(d, hash, sizeof(d));
	got = fingerprint(d);
	rc = libssh2_knownhost_checkp(s->kh, s->address, s->port, key, len,
	                              LIBSSH2_KNOWNHOST_TYPE_PLAIN |
	                                  LIBSSH2_KNOWNHOST_KEYENC_RAW |
	                                  hostkey_mask(type),
	                              &known);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		free(got);
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH: {
		size_t blen = 0;
		unsigned char *blob =
		    b64_decode(known && known->key ? known->key : "", &blen);
		struct dr_sha256 c;

		dr_sha256_init(&c);
		dr_sha256_update(&c, blob, blen);
		dr_sha256_final(&c, d);
		free(blob);
		want = fingerprint(d);
		conn_fail(s, DR_EHOSTKEY,
		          "host key changed: got %s, expected %s (%s); do not "
		          "connect until the new key is verified",
		          got, want, s->known_hosts);
		free(want);
		break;
	}
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		conn_fail(s, DR_EHOSTKEY,
		          "host key unknown: got %s, not in %s; pin it through "
		          "an audited step first",
		          got, s->known_hosts);
		break;
	default:
		conn_fail(s, DR_EHOSTKEY, "host key check failed: got %s: %s",
		          got, session_msg(s));
		break;
	}
	free(got);
	return -1;
}

/* Returns true when the call is still blocked. */
static bool
step_handshake(struct dr_ssh *s)
{
	int rc = libssh2_session_handshake(s->session, s->fd);

	if (rc == LIBSSH2_ERROR_EAGAIN)
		return true;
	if (rc != 0) {
		int code = xlate(rc);
		conn_fail(s, code == DR_EDISCONNECT ? DR_EPROTO : code,
		          "handshake: %s", session_msg(s));
		return false;
	}
	s->handshaken = true;
	if (check_hostkey(s) != 0)
		return false;
	conn_deadline(s, s->connect_ms);
	if (s->identity != NULL) {
		set_state(s, C_AUTH_FILE);
		return false;
	}
	s->agent = libssh2_agent_init(s->session);
	if (s->agent == NULL || libssh2_agent_connect(s->agent) != 0 ||
	    libssh2_agent_list_identities(s->agent) != 0) {
		conn_fail(s, DR_EAUTH, "ssh-agent: %s", session_msg(s));
		return false;
	}
	s->agent_id = NULL;
	if (libssh2_agent_get_identity(s->agent, &s->agent_id, NULL) != 0) {
		conn_fail(s, DR_EAUTH, "ssh-agent: no identities");
		return false;
	}
	set_state(s, C_AUTH_AGENT);
	return false;
}

static bool
step_auth(struct dr_ssh *s)
{
	int rc;

	if (s->st == C_AUTH_FILE) {
		rc = libssh2_userauth_publickey_fromfile_ex(
		    s->session, s->user, (unsigned)strlen(s->user), NULL,
		    s->identity, NULL);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return true;
		if (rc != 0) {
			int code = xlate(rc);
			conn_fail(s, code == DR_EPROTO ? DR_EAUTH : code,
			          "auth as %s with %s: %s", s->user,
			          s->identity, session_msg(s));
			return false;
		}
	} else {
		rc = libssh2_agent_userauth(s->agent, s->user, s->agent_id);
		if (rc == LIBSSH2_ERROR_EAGAIN)
			return true;
		if (rc != 0) {
			struct libssh2_agent_publickey *prev = s->agent_id;
			if (libssh2_agent_get_identity(s->agent, &s->agent_id,
			                               prev) == 0)
				return false; /* try the next one */
			conn_fail(s, DR_EAUTH,
			          "auth as %s with ssh-agent: no key accepted",
			          s->user);
			return false;
		}
	}
	conn_finish(s, 0);
	return false;
}

static void
on_conn_timer(uv_timer_t *t)
{
	struct dr_ssh *s = t->data;
	char d[32];

	dr_duration_fmt(s->connect_ms, d, sizeof(d));
	switch (s->st) {
	case C_START:
		step_start(s);
		break;
	case C_RESOLVE:
		conn_fail(s, DR_ECONNECT, "resolve %s: timed out after %s",
		          s->address, d);
		break;
	case C_TCP:
		conn_fail(s, DR_ECONNECT, "connect: timed out after %s", d);
		break;
	case C_HANDSHAKE:
		conn_fail(s, DR_ETIMEDOUT, "handshake: timed out after %s", d);
		break;
	case C_AUTH_FILE:
	case C_AUTH_AGENT:
		conn_fail(s, DR_ETIMEDOUT, "auth: timed out after %s", d);
		break;
	case C_DISCONNECT:
	case C_SFREE:
		/* A dead link: make libssh2's I/O fail so teardown ends. */
		if (s->shut) {
			s->session = NULL; /* give up on it: leak, not hang */
			s->kh = NULL;
			s->agent = NULL;
			close_handles(s);
			return;
		}
		if (s->fd >= 0)
			shutdown(s->fd, SHUT_RDWR);
		s->shut = true;
		s->handshaken = false;
		conn_deadline(s, DISCONNECT_MS);
		break;
	default:
		break;
	}
	drive(s);
}

/* Jobs */

/* The log moved on: opened, wrote, closed. */
static void
on_log_event(void *arg)
{
	struct job *j = arg;
	struct dr_ssh *s = j->s;

	if (j->st == J_LOGOPEN && dr_tasklog_opened(j->log)) {
		if (dr_tasklog_error(j->log) != NULL) {
			/* No log, no run: the command never started. */
			j->status = DR_EIO;
			j->reason = dr_xstrdup(dr_tasklog_error(j->log));
			j->chan_done = true;
			job_set_state(j, J_DONE);
			dr_tasklog_close(j->log);
		} else {
			job_set_state(j, J_OPEN);
		}
	}
	kick(s);             /* reading may have waited for the log */
	job_try_complete(j); /* may free j */
}

static void
log_append(struct job *j, const char *p, size_t n)
{
	if (j->log != NULL)
		dr_tasklog_write(j->log, p, n);
}

static size_t
log_backlog(const struct job *j)
{
	return j->log ? dr_tasklog_backlog(j->log) : 0;
}

/* Output of the command: scrubbed of secrets, into the tail and the log. */
static void
job_output(struct job *j, const void *p, size_t n)
{
	struct dr_buf clean;

	if (j->scrub.n == 0) {
		dr_buf_append(&j->tail, p, n);
		log_append(j, p, n);
		return;
	}
	dr_buf_init(&clean, 0);
	dr_scrub_feed(&j->scrub, p, n, &clean);
	if (clean.len) {
		dr_buf_append(&j->tail, clean.data, clean.len);
		log_append(j, clean.data, clean.len);
	}
	dr_buf_free(&clean);
}

static void
job_free(struct job *j)
{
	if (j->in_copy != NULL) {
		volatile unsigned char *p = j->in_copy;
		size_t i;
		for (i = 0; i < j->in_len; i++)
			p[i] = 0;
		free(j->in_copy);
	}
	dr_buf_free(&j->tail);
	dr_scrub_free(&j->scrub);
	free(j->cmd);
	dr_tasklog_free(j->log);
	free(j->reason);
	free(j);
}

static void
job_chan_end(struct job *j, int status, const char *reason)
{
	if (j->chan_done)
		return;
	if (status != 0 && j->status == 0) {
		j->status = status;
		free(j->reason);
		j->reason = dr_xstrdup(reason);
	}
	if (j->scrub.n) { /* release what was held back */
		struct dr_buf rest;
		dr_buf_init(&rest, 0);
		dr_scrub_flush(&j->scrub, &rest);
		if (rest.len) {
			dr_buf_append(&j->tail, rest.data, rest.len);
			log_append(j, rest.data, rest.len);
		}
		dr_buf_free(&rest);
	}
	j->chan_done = true;
	if (j->st != J_DONE)
		job_set_state(j, J_DONE);
	if (j->s->out_owner == j)
		j->s->out_owner = NULL;
	if (j->log != NULL)
		dr_tasklog_close(j->log);
}

static void kill_finished(struct dr_ssh *s);

/*
 * Delivers the result once the channel ended, the log is closed, and no
 * kill job is still running for it.
 */
static void
job_try_complete(struct job *j)
{
	struct dr_ssh *s = j->s;
	struct dr_ssh_result res;
	struct dr_buf msg;
	char d[32];

	if (!j->chan_done || (j->log != NULL && !dr_tasklog_closed(j->log)))
		return;
	if (j->kind != K_KILL && s->kjob != NULL)
		return;
	if (j->kind == K_KILL) {
		s->kjob = NULL;
		uv_timer_stop(&s->kill_timer);
		job_free(j);
		kill_finished(s);
		return;
	}
	memset(&res, 0, sizeof(res));
	res.elapsed_ms = dr_now_mono_ms() - j->start_ms;
	dr_duration_fmt(res.elapsed_ms, d, sizeof(d));
	res.exit_code = j->exit_code;
	memcpy(res.exit_signal, j->exit_signal, sizeof(res.exit_signal));
	res.tail = j->tail.data ? j->tail.data : "";
	res.tail_len = j->tail.len;
	res.tail_truncated = j->tail.truncated;
	res.bytes_out = j->bytes_out;
	res.bytes_err = j->bytes_err;
	res.bytes_in = j->bytes_in;
	res.status = j->status;
	res.started = j->exec_sent;
	res.ended = j->end_seen;
	res.log_error = j->log ? dr_tasklog_error(j->log) : NULL;
	dr_buf_init(&msg, 0);
	dr_buf_printf(&msg, "%s: ", s->label);
	if (j->stop != 0 && (j->status == 0 || j->status == j->stop)) {
		char t[32];
		res.status = j->stop;
		if (j->stop == DR_ETIMEDOUT)
			dr_buf_printf(
			    &msg, "timed out after %s",
			    dr_duration_fmt(j->timeout_ms, t, sizeof(t)));
		else
			dr_buf_printf(&msg, "cancelled after %s", d);
		if (j->exit_signal[0])
			dr_buf_printf(&msg, " (killed by signal %s)",
			              j->exit_signal);
		else if (j->reason)
			dr_buf_printf(&msg, " (%s)", j->reason);
	} else if (j->status != 0) {
		dr_buf_printf(&msg, "%s after %s",
		              j->reason ? j->reason : dr_strerror(j->status),
		              d);
	} else if (j->exit_signal[0]) {
		dr_buf_printf(&msg, "killed by signal %s after %s",
		              j->exit_signal, d);
	} else {
		dr_buf_printf(&msg, "exit %d after %s", j->exit_code, d);
	}
	if (res.log_error != NULL)
		dr_buf_printf(&msg, "; %s", res.log_error);
	res.message = msg.data;
	uv_timer_stop(&s->job_timer);
	s->job = NULL;
	if (j->cb != NULL)
		j->cb(s, &res, j->arg);
	dr_buf_free(&msg);
	job_free(j);
	kick(s);
}

/* Reads one stream until EAGAIN. Returns 1 on EAGAIN, 0 at EOF-or-empty,
 * negative libssh2 code on error. */
static int
read_stream(struct job *j, int stream)
{
	struct dr_ssh *s = j->s;
	ssize_t n;

	for (;;) {
		if (stream == 0 && j->kind == K_READ && j->paused)
			return 0;
		n = libssh2_channel_read_ex(j->ch, stream, (char *)s->rbuf,
		                            sizeof(s->rbuf));
		if (n == LIBSSH2_ERROR_EAGAIN)
			return 1;
		if (n < 0)
			return (int)n;
		if (n == 0)
			return 1; /* not EOF by itself: see libssh2_channel_eof
			           */
		if (stream == 0) {
			j->bytes_out += (uint64_t)n;
			if (j->kind == K_READ) {
				if (j->on_data)
					j->on_data(s, s->rbuf, (size_t)n,
					           j->sarg);
				continue;
			}
		} else {
			j->bytes_err += (uint64_t)n;
		}
		job_output(j, s->rbuf, (size_t)n);
		if (log_backlog(j) > LOG_BACKLOG)
			return 0;
	}
}

static void
job_exit_info(struct job *j)
{
	char *sig = NULL;
	size_t siglen = 0;

	j->exit_code = libssh2_channel_get_exit_status(j->ch);
	if (libssh2_channel_get_exit_signal(j->ch, &sig, &siglen, NULL, NULL,
	                                    NULL, NULL) == 0 &&
	    sig != NULL) {
		snprintf(j->exit_signal, sizeof(j->exit_signal), "%.*s",
		         (int)siglen, sig);
		j->exit_code = 0;
	}
	if (sig != NULL)
		libssh2_free(j->s->session, sig);
}

static void session_lost(struct dr_ssh *s, const char *why);

/*
 * One step of a job: makes the calls its state needs until one blocks.
 * Returns true when a libssh2 call returned EAGAIN.
 */
static bool
job_step(struct job *j)
{
	struct dr_ssh *s = j->s;
	int rc;

	for (;;) {
		switch (j->st) {
		case J_LOGOPEN:
		case J_DONE:
		case J_LAST:
			return false;
		case J_OPEN:
			j->ch = libssh2_channel_open_session(s->session);
			if (j->ch == NULL) {
				rc = libssh2_session_last_errno(s->session);
				if (rc == LIBSSH2_ERROR_EAGAIN)
					return true;
				goto fail;
			}
			job_set_state(j, J_EXEC);
			break;
		case J_EXEC:
			j->exec_sent = true; /* from here it may have run */
			rc = libssh2_channel_exec(j->ch, j->cmd);
			if (rc == LIBSSH2_ERROR_EAGAIN)
				return true;
			if (rc != 0)
				goto fail;
			if (j->kind != K_WRITE && j->in_len == 0)
				j->eof_wanted = true;
			job_set_state(j, J_IO);
			break;
		case J_IO: {
			bool blocked = false;
			int r0, r1;

			while (j->in != NULL && j->in_off < j->in_len) {
				size_t n = j->in_len - j->in_off;
				ssize_t w = libssh2_channel_write(
				    j->ch, (const char *)j->in + j->in_off, n);
				if (w == LIBSSH2_ERROR_EAGAIN) {
					blocked = true;
					break;
				}
				if (w < 0) {
					rc = (int)w;
					goto fail;
				}
				j->in_off += (size_t)w;
				j->bytes_in += (uint64_t)w;
				if (j->in_off == j->in_len) {
					if (j->kind == K_WRITE) {
						j->in = NULL;
						j->in_off = j->in_len = 0;
						j->drain_pending = true;
					} else {
						j->eof_wanted = true;
					}
					break;
				}
			}
			if (!blocked && j->eof_wanted && !j->eof_sent &&
			    (j->in == NULL || j->in_off == j->in_len)) {
				rc = libssh2_channel_send_eof(j->ch);
				if (rc == LIBSSH2_ERROR_EAGAIN)
					blocked = true;
				else if (rc != 0)
					goto fail;
				else
					j->eof_sent = true;
			}
			if (blocked &&
			    (libssh2_session_block_directions(s->session) &
			     LIBSSH2_SESSION_BLOCK_OUTBOUND)) {
				s->out_owner = j;
				return true;
			}
			if (s->out_owner == j)
				s->out_owner = NULL;
			if (log_backlog(j) > LOG_BACKLOG)
				return blocked;
			r0 = read_stream(j, 0);
			if (r0 < 0) {
				rc = r0;
				goto fail;
			}
			if (j->st != J_IO)
				return false; /* ended from a callback */
			r1 = read_stream(j, 1);
			if (r1 < 0) {
				rc = r1;
				goto fail;
			}
			if (j->drain_pending) {
				j->drain_pending = false;
				if (j->on_drain)
					j->on_drain(s, j->sarg);
				if (j->st != J_IO)
					return false;
				if (j->in != NULL ||
				    (j->eof_wanted && !j->eof_sent))
					continue;
			}
			if (libssh2_channel_eof(j->ch)) {
				job_set_state(j, J_WAITCLOSED);
				break;
			}
			return blocked || r0 == 1 || r1 == 1;
		}
		case J_WAITCLOSED:
			/* Keep draining: data can still be queued. */
			rc = libssh2_channel_wait_closed(j->ch);
			if (rc == LIBSSH2_ERROR_EAGAIN)
				return true;
			if (rc != 0)
				goto fail;
			job_exit_info(j);
			j->end_seen = true;
			job_set_state(j, J_FREE);
			break;
		case J_FREE:
			rc = libssh2_channel_free(j->ch);
			if (rc == LIBSSH2_ERROR_EAGAIN)
				return true;
			j->ch = NULL;
			job_chan_end(j, 0, NULL);
			job_try_complete(j);
			return false;
		}
	}
fail : {
	int code = xlate(rc);
	char *why = dr_xasprintf("%s: %s",
	                         j->st == J_OPEN   ? "open channel"
	                         : j->st == J_EXEC ? "exec"
	                                           : "channel",
	                         session_msg(s));
	if (code == DR_EDISCONNECT) {
		session_lost(s, why);
	} else {
		/* Leave the channel to libssh2_session_free. */
		j->ch = NULL;
		if (j->st != J_OPEN)
			s->broken = true;
		job_chan_end(j, code, why);
		job_try_complete(j);
	}
	free(why);
	return false;
}
}

/* The connection is gone: every job ends with DR_EDISCONNECT. */
static void
session_lost(struct dr_ssh *s, const char *why)
{
	struct job *j = s->job, *k = s->kjob;

	if (s->st == C_READY)
		set_state(s, C_DEAD);
	set_err(s, "connection lost: %s", why);
	s->handshaken = false; /* no graceful disconnect */
	uv_timer_stop(&s->ka_timer);
	if (k != NULL) {
		k->ch = NULL;
		job_chan_end(k, DR_EDISCONNECT, why);
	}
	if (j != NULL) {
		j->ch = NULL;
		j->stop = 0;
		job_chan_end(j, DR_EDISCONNECT, s->err + strlen(s->label) + 2);
	}
	if (k != NULL)
		job_try_complete(k);
	if (s->job != NULL)
		job_try_complete(s->job);
}

/* The kill job ended: give the killed command a grace period. */
static void on_job_timer(uv_timer_t *t);

static void
kill_finished(struct dr_ssh *s)
{
	struct job *j = s->job;

	if (j == NULL)
		return;
	j->kill_done = true;
	if (j->chan_done) {
		job_try_complete(j);
		return;
	}
	uv_timer_start(&s->job_timer, on_job_timer, KILL_GRACE_MS, 0);
}

static struct job *
job_new(struct dr_ssh *s, enum job_kind kind, const char *command,
        const char *tag, size_t tail_cap)
{
	struct job *j = dr_xcalloc(1, sizeof(*j));
	struct dr_buf b;
	static unsigned seq;

	j->s = s;
	j->kind = kind;
	j->st = J_OPEN;
	j->start_ms = dr_now_mono_ms();
	dr_buf_init(&j->tail, tail_cap ? tail_cap : DEFAULT_TAIL);
	if (tag != NULL)
		snprintf(j->tag, sizeof(j->tag), "%s", tag);
	else
		snprintf(j->tag, sizeof(j->tag), "%ld-%u-%llu", (long)getpid(),
		         ++seq, (unsigned long long)dr_now_wall_ms());
	dr_buf_init(&b, 0);
	dr_buf_puts(&b, "exec sh -c ");
	if (kind == K_KILL) {
		dr_sh_quote(&b, KILLER);
		dr_buf_puts(&b, " drover ");
	} else {
		dr_sh_quote(&b, WRAPPER);
		dr_buf_puts(&b, " drover ");
		dr_sh_quote(&b, command);
		dr_buf_puts(&b, " ");
	}
	dr_sh_quote(&b, j->tag);
	j->cmd = dr_buf_steal(&b);
	return j;
}

static void
start_kill(struct job *j, int why)
{
	struct dr_ssh *s = j->s;
	struct job *k;

	if (j->stop == 0)
		j->stop = why;
	if (s->kjob != NULL || j->kill_done || j->chan_done)
		return;
	if (j->st == J_LOGOPEN || j->st == J_OPEN) {
		/*
		 * Nothing runs yet. A channel open may be half done, and
		 * libssh2 allows one open at a time: the session is spent.
		 */
		s->broken = s->broken || j->st == J_OPEN;
		j->kill_done = true;
		job_chan_end(j, why, "before the command started");
		job_try_complete(j);
		return;
	}
	k = job_new(s, K_KILL, NULL, j->tag, 1024);
	s->kjob = k;
	uv_timer_start(&s->kill_timer, on_job_timer, KILL_MS, 0);
	kick(s);
}

static void
on_job_timer(uv_timer_t *t)
{
	struct dr_ssh *s = t->data;
	struct job *j = s->job;

	if (t == &s->kill_timer) {
		/* The kill job itself hung. */
		if (s->kjob != NULL) {
			s->broken = true;
			s->kjob->ch = NULL;
			job_chan_end(s->kjob, DR_ETIMEDOUT, "kill timed out");
			job_try_complete(s->kjob);
		}
		return;
	}
	if (j == NULL)
		return;
	if (!j->kill_done) {
		start_kill(j, DR_ETIMEDOUT);
		return;
	}
	/* Grace after the kill expired: abandon the channel. */
	if (!j->chan_done) {
		s->broken = true;
		j->ch = NULL;
		if (s->out_owner == j)
			s->out_owner = NULL;
		job_chan_end(j, j->stop ? j->stop : DR_ETIMEDOUT,
		             "the remote command did not end after the kill");
		job_try_complete(j);
	}
}

/* Driving */

static void
on_kick(uv_idle_t *h)
{
	struct dr_ssh *s = h->data;

	uv_idle_stop(h);
	drive(s);
}

static void
kick(struct dr_ssh *s)
{
	if (s->st != C_CLOSING)
		uv_idle_start(&s->kick, on_kick);
}

static void
on_poll(uv_poll_t *p, int status, int events)
{
	struct dr_ssh *s = p->data;

	if (status < 0)
		s->poll_events = 0; /* libuv stopped the handle */
	if (s->st == C_READY && s->job == NULL && s->kjob == NULL) {
		/* Idle: only look for a peer that hung up. */
		char c;
		ssize_t n = recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR)) {
			set_state(s, C_DEAD);
			set_err(s, "connection lost: closed by the peer");
			uv_timer_stop(&s->ka_timer);
			s->handshaken = false;
		} else if (n > 0) {
			s->idle_rx = true;
		}
		update_poll(s);
		return;
	}
	drive(s);
}

static void
update_poll(struct dr_ssh *s)
{
	int ev = 0;

	if (!s->poll_init || s->st == C_CLOSING)
		return;
	switch (s->st) {
	case C_TCP:
		ev = UV_WRITABLE;
		break;
	case C_HANDSHAKE:
	case C_AUTH_FILE:
	case C_AUTH_AGENT:
	case C_DISCONNECT:
	case C_SFREE:
	case C_READY: {
		int dir = s->session
		              ? libssh2_session_block_directions(s->session)
		              : 0;
		if (s->st == C_READY && s->job == NULL && s->kjob == NULL) {
			ev = s->idle_rx ? 0 : UV_READABLE;
			break;
		}
		if (!s->waited_io)
			break;
		if (dir & LIBSSH2_SESSION_BLOCK_OUTBOUND)
			ev |= UV_WRITABLE;
		/*
		 * Readable unless only a send blocks during setup/teardown;
		 * with a channel open incoming data must always be consumed
		 * (a 0-byte read leaves the direction unset).
		 */
		if (s->st == C_READY || (dir & LIBSSH2_SESSION_BLOCK_INBOUND) ||
		    !(dir & LIBSSH2_SESSION_BLOCK_OUTBOUND))
			ev |= UV_READABLE;
		break;
	}
	default:
		break;
	}
	if (ev == s->poll_events)
		return;
	s->poll_events = ev;
	if (ev == 0)
		uv_poll_stop(&s->poll);
	else
		uv_poll_start(&s->poll, ev, on_poll);
}

static bool
step_jobs(struct dr_ssh *s)
{
	bool w = false;

	if (s->out_owner != NULL) {
		struct job *o = s->out_owner;
		w = job_step(o);
		if (s->out_owner == o && w)
			return true;
	}
	if (s->kjob != NULL && s->kjob != s->out_owner)
		w |= job_step(s->kjob);
	if (s->out_owner != NULL && s->out_owner != s->job)
		return w;
	if (s->job != NULL && s->job != s->out_owner) {
		/* Never open a channel while the kill job opens one. */
		if (!(s->job->st == J_OPEN && s->kjob != NULL &&
		      s->kjob->st == J_OPEN))
			w |= job_step(s->job);
	}
	return w;
}

static void start_close(struct dr_ssh *s);

static void
drive(struct dr_ssh *s)
{
	bool waited = false;

	if (s->driving) {
		s->again = true;
		return;
	}
	s->driving = true;
	do {
		s->again = false;
		waited = false;
		switch (s->st) {
		case C_TCP:
			step_tcp(s);
			if (s->st == C_HANDSHAKE)
				s->again = true;
			break;
		case C_HANDSHAKE:
			waited = step_handshake(s);
			if (!waited &&
			    (s->st == C_AUTH_FILE || s->st == C_AUTH_AGENT))
				s->again = true;
			break;
		case C_AUTH_FILE:
		case C_AUTH_AGENT:
			waited = step_auth(s);
			if (!waited && s->st == C_AUTH_AGENT)
				s->again = true;
			break;
		case C_READY:
			waited = step_jobs(s);
			break;
		case C_CLOSE_JOBS:
		case C_DISCONNECT:
		case C_SFREE:
			start_close(s);
			waited = s->st == C_DISCONNECT || s->st == C_SFREE;
			break;
		default:
			break;
		}
	} while (s->again && s->st != C_CLOSING);
	s->driving = false;
	if (s->st == C_CLOSING)
		return;
	if (waited && !s->waited_io)
		s->wait_since_ms = dr_now_mono_ms();
	s->waited_io = waited;
	update_poll(s);
}

static void
on_keepalive(uv_timer_t *t)
{
	struct dr_ssh *s = t->data;
	uint64_t now = dr_now_mono_ms(), quiet;
	int next = 0;

	if (s->st != C_READY || s->session == NULL)
		return;
	if ((s->job != NULL || s->kjob != NULL) && s->waited_io) {
		uint64_t since = s->last_rx_ms > s->wait_since_ms
		                     ? s->last_rx_ms
		                     : s->wait_since_ms;
		quiet = now - since;
		if (quiet >= s->keepalive_ms * (uint64_t)s->keepalive_max) {
			char d[32], *why;
			dr_duration_fmt(quiet, d, sizeof(d));
			why = dr_xasprintf("no reply from the peer for %s (%d "
			                   "keepalives)",
			                   d, s->keepalive_max);
			session_lost(s, why);
			free(why);
			update_poll(s);
			return;
		}
	}
	/*
	 * Idle sessions rely on TCP keepalive. Send only when the socket has
	 * room: a half-sent keepalive would make libssh2 reject the next
	 * packet of any other call with LIBSSH2_ERROR_BAD_USE.
	 */
	if (s->job == NULL || s->out_owner != NULL || s->driving)
		return;
	{
		struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};
		if (poll(&pfd, 1, 0) != 1 || !(pfd.revents & POLLOUT))
			return;
	}
	if (libssh2_keepalive_send(s->session, &next) != 0)
		return; /* a dead link shows up as silence */
	update_poll(s);
}

/* Close */

static void
on_handle_closed(uv_handle_t *h)
{
	struct dr_ssh *s = h->data;
	dr_ssh_close_cb cb;
	void *arg;

	if (--s->open_handles > 0 || s->gai_busy)
		return;
	cb = s->close_cb;
	arg = s->close_arg;
	if (s->fd >= 0)
		close(s->fd);
	if (s->ai != NULL)
		uv_freeaddrinfo(s->ai);
	free(s->label);
	free(s->address);
	free(s->user);
	free(s->identity);
	free(s->known_hosts);
	free(s->err);
	free(s);
	if (cb != NULL)
		cb(arg);
}

static void
close_handles(struct dr_ssh *s)
{
	set_state(s, C_CLOSING);
	if (s->poll_init)
		uv_close((uv_handle_t *)&s->poll, on_handle_closed);
	uv_close((uv_handle_t *)&s->conn_timer, on_handle_closed);
	uv_close((uv_handle_t *)&s->ka_timer, on_handle_closed);
	uv_close((uv_handle_t *)&s->job_timer, on_handle_closed);
	uv_close((uv_handle_t *)&s->kill_timer, on_handle_closed);
	uv_close((uv_handle_t *)&s->kick, on_handle_closed);
}

/* Close machine: jobs, disconnect, session free, handles. */
static void
start_close(struct dr_ssh *s)
{
	int rc;

	if (s->st == C_CLOSE_JOBS) {
		struct job *j = s->job, *k = s->kjob;

		if (s->connect_cb != NULL) {
			set_err(s, "connect: cancelled by close");
			conn_finish(s, DR_ECANCELED);
		}
		if (k != NULL && !k->chan_done) {
			k->ch = NULL;
			job_chan_end(k, DR_ECANCELED, "session closed");
			job_try_complete(k);
		}
		if (j != NULL && !j->chan_done) {
			j->ch = NULL;
			j->stop = 0;
			job_chan_end(j, DR_ECANCELED, "session closed");
			job_try_complete(j);
		}
		if (s->job != NULL || s->kjob != NULL)
			return; /* logs still flushing */
		if (s->gai_busy) {
			uv_cancel((uv_req_t *)&s->gai);
			return; /* on_resolved drives again */
		}
		uv_timer_stop(&s->ka_timer);
		uv_timer_stop(&s->job_timer);
		uv_timer_stop(&s->kill_timer);
		set_state(s, s->handshaken ? C_DISCONNECT : C_SFREE);
		conn_deadline(s, DISCONNECT_MS);
	}
	if (s->st == C_DISCONNECT) {
		if (s->handshaken) {
			rc = libssh2_session_disconnect(s->session,
			                                "drover: closing");
			if (rc == LIBSSH2_ERROR_EAGAIN)
				return;
		}
		set_state(s, C_SFREE);
	}
	if (s->st == C_SFREE) {
		if (s->agent != NULL) {
			libssh2_agent_disconnect(s->agent);
			libssh2_agent_free(s->agent);
			s->agent = NULL;
		}
		if (s->kh != NULL) {
			libssh2_knownhost_free(s->kh);
			s->kh = NULL;
		}
		if (s->session != NULL) {
			rc = libssh2_session_free(s->session);
			if (rc == LIBSSH2_ERROR_EAGAIN)
				return;
			s->session = NULL;
		}
		close_handles(s);
	}
}

/* API */

int
dr_ssh_global_init(void)
{
	return libssh2_init(0) == 0 ? 0 : DR_EPROTO;
}

void
dr_ssh_global_cleanup(void)
{
	libssh2_exit();
}

int
dr_ssh_new(uv_loop_t *loop, const struct dr_ssh_opts *o, struct dr_ssh **out)
{
	struct dr_ssh *s;

	if (loop == NULL || o == NULL || out == NULL || o->address == NULL ||
	    o->user == NULL || o->known_hosts == NULL)
		return DR_EINVAL;
	s = dr_xcalloc(1, sizeof(*s));
	s->loop = loop;
	s->label = dr_xstrdup(o->label ? o->label : o->address);
	s->address = dr_xstrdup(o->address);
	s->user = dr_xstrdup(o->user);
	s->identity = expand_home(o->identity);
	s->known_hosts = expand_home(o->known_hosts);
	s->port = o->port > 0 ? o->port : 22;
	s->connect_ms =
	    o->connect_timeout_ms ? o->connect_timeout_ms : DEFAULT_CONNECT_MS;
	s->keepalive_ms =
	    o->keepalive_ms ? o->keepalive_ms : DEFAULT_KEEPALIVE_MS;
	s->keepalive_max =
	    o->keepalive_max > 0 ? o->keepalive_max : DEFAULT_KEEPALIVE_MAX;
	s->guard = o->guard;
	s->fd = -1;
	s->err = dr_xstrdup("");
	uv_timer_init(loop, &s->conn_timer);
	uv_timer_init(loop, &s->ka_timer);
	uv_timer_init(loop, &s->job_timer);
	uv_timer_init(loop, &s->kill_timer);
	uv_idle_init(loop, &s->kick);
	s->conn_timer.data = s->ka_timer.data = s->job_timer.data = s;
	s->kill_timer.data = s->kick.data = s;
	s->open_handles = 5;
	*out = s;
	return 0;
}

int
dr_ssh_connect(struct dr_ssh *s, dr_ssh_connect_cb cb, void *arg)
{
	if (s == NULL || s->st != C_NEW || s->close_requested)
		return DR_EINVAL;
	s->connect_cb = cb;
	s->connect_arg = arg;
	set_state(s, C_START);
	conn_deadline(s, 0);
	return 0;
}

static int
job_check(struct dr_ssh *s, const char *command, const char *tag)
{
	const char *p;

	if (s == NULL || command == NULL || s->close_requested)
		return DR_EINVAL;
	if (s->st == C_DEAD)
		return DR_EDISCONNECT;
	if (s->st != C_READY || s->job != NULL || s->kjob != NULL)
		return DR_EINVAL;
	if (s->broken) {
		set_err(s, "session unusable after an abandoned channel");
		return DR_EDISCONNECT;
	}
	if (tag != NULL) {
		if (*tag == '\0' || strlen(tag) >= 64)
			return DR_EINVAL;
		for (p = tag; *p; p++)
			if (!(*p == '.' || *p == '_' || *p == '-' ||
			      (*p >= '0' && *p <= '9') ||
			      (*p >= 'a' && *p <= 'z') ||
			      (*p >= 'A' && *p <= 'Z')))
				return DR_EINVAL;
	}
	return 0;
}

static void
job_start(struct dr_ssh *s, struct job *j, uint64_t timeout_ms)
{
	s->job = j;
	s->idle_rx = false;
	s->last_rx_ms = dr_now_mono_ms();
	j->timeout_ms = timeout_ms;
	if (timeout_ms > 0)
		uv_timer_start(&s->job_timer, on_job_timer, timeout_ms, 0);
	kick(s);
}

int
dr_ssh_exec(struct dr_ssh *s, const struct dr_ssh_exec_opts *o,
            dr_ssh_exec_cb cb, void *arg)
{
	struct job *j;
	int rc;

	if (o == NULL)
		return DR_EINVAL;
	if ((rc = job_check(s, o->command, o->kill_tag)) != 0)
		return rc;
	j = job_new(s, K_EXEC, o->command, o->kill_tag, o->tail_cap);
	dr_scrub_init(&j->scrub, o->secret_values, o->secret_names,
	              o->nsecrets);
	j->cb = cb;
	j->arg = arg;
	if (o->stdin_data != NULL && o->stdin_len > 0) {
		j->in_copy = dr_xmalloc(o->stdin_len);
		memcpy(j->in_copy, o->stdin_data, o->stdin_len);
		j->in = j->in_copy;
		j->in_len = o->stdin_len;
	}
	if (o->log_path != NULL) {
		j->st = J_LOGOPEN;
		j->log = dr_tasklog_open(s->loop, o->log_path, on_log_event, j);
	}
	job_start(s, j, o->timeout_ms);
	return 0;
}

int
dr_ssh_stream_open(struct dr_ssh *s, const struct dr_ssh_stream_opts *o,
                   dr_ssh_exec_cb done, void *arg)
{
	struct job *j;
	int rc;

	if (o == NULL)
		return DR_EINVAL;
	if ((rc = job_check(s, o->command, o->kill_tag)) != 0)
		return rc;
	j = job_new(s, o->mode == DR_SSH_STREAM_READ ? K_READ : K_WRITE,
	            o->command, o->kill_tag, o->tail_cap);
	j->cb = done;
	j->arg = arg;
	j->on_data = o->on_data;
	j->on_drain = o->on_drain;
	j->sarg = o->arg;
	job_start(s, j, o->timeout_ms);
	return 0;
}

void
dr_ssh_stream_pause(struct dr_ssh *s)
{
	if (s != NULL && s->job != NULL && s->job->kind == K_READ)
		s->job->paused = true;
}

void
dr_ssh_stream_resume(struct dr_ssh *s)
{
	if (s != NULL && s->job != NULL && s->job->kind == K_READ &&
	    s->job->paused) {
		s->job->paused = false;
		kick(s);
	}
}

int
dr_ssh_stream_write(struct dr_ssh *s, const void *data, size_t len)
{
	struct job *j = s ? s->job : NULL;

	if (j == NULL || j->kind != K_WRITE || j->in != NULL || j->eof_wanted ||
	    j->chan_done || data == NULL || len == 0)
		return DR_EINVAL;
	j->in = data;
	j->in_len = len;
	j->in_off = 0;
	kick(s);
	return 0;
}

int
dr_ssh_stream_eof(struct dr_ssh *s)
{
	struct job *j = s ? s->job : NULL;

	if (j == NULL || j->kind != K_WRITE || j->eof_wanted)
		return DR_EINVAL;
	j->eof_wanted = true;
	kick(s);
	return 0;
}

int
dr_ssh_cancel(struct dr_ssh *s)
{
	if (s == NULL || s->job == NULL || s->job->chan_done ||
	    s->st != C_READY)
		return DR_EINVAL;
	start_kill(s->job, DR_ECANCELED);
	return 0;
}

void
dr_ssh_close(struct dr_ssh *s, dr_ssh_close_cb cb, void *arg)
{
	if (s == NULL || s->close_requested)
		return;
	s->close_requested = true;
	s->close_cb = cb;
	s->close_arg = arg;
	set_state(s, C_CLOSE_JOBS);
	uv_timer_stop(&s->conn_timer);
	kick(s);
}

bool
dr_ssh_busy(const struct dr_ssh *s)
{
	return s != NULL && s->job != NULL;
}

bool
dr_ssh_ready(const struct dr_ssh *s)
{
	return s != NULL && s->st == C_READY && !s->broken;
}

const char *
dr_ssh_label(const struct dr_ssh *s)
{
	return s->label;
}

const char *
dr_ssh_error(const struct dr_ssh *s)
{
	return s->err ? s->err : "";
}
