/*
 * ssh.c: non-blocking libssh2 sessions on a libuv loop: the connection.
 *
 * The connection state machine (enum conn_state): known_hosts, name
 * resolution, non-blocking TCP connect, handshake, strict host key check,
 * publickey authentication, each phase with its deadline; then keepalives
 * and dead-peer detection while ready, and the teardown (jobs, disconnect,
 * session free, handles), which has deadlines too. drive() steps the
 * machine after every socket event, and the channel jobs of ssh-channel.c
 * while ready, then polls in the direction libssh2_session_block_directions()
 * gives. libssh2 codes are translated to DR_E* in ssh_xlate() only; EAGAIN
 * never leaves the engine.
 */
#include "ssh-internal.h"

#include "drover/aesctr.h"
#include "drover/guard.h"
#include "drover/hostkeys.h"

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

#define DEFAULT_CONNECT_MS 10000
#define DEFAULT_KEEPALIVE_MS 15000
#define DEFAULT_KEEPALIVE_MAX 3
#define DISCONNECT_MS 3000 /* deadline of a graceful disconnect */

static const char KEX_PREF[] = "curve25519-sha256,curve25519-sha256@libssh.org,"
                               "ecdh-sha2-nistp256,ecdh-sha2-nistp384,"
                               "ecdh-sha2-nistp521";
/* AES-128 first: the fewest rounds per block. libssh2 calls EVP_Cipher once
 * per 16-byte block; aesctr.c makes that call cheap. */
static const char CIPHER_PREF[] = "aes128-ctr,aes192-ctr,aes256-ctr";
static const char MAC_PREF[] = "hmac-sha2-256,hmac-sha2-512";

static const char *const conn_names[] = {
    "new",        "start",      "resolve",      "tcp",    "handshake",
    "auth-file",  "auth-agent", "ready",        "dead",   "failed",
    "close-jobs", "disconnect", "session-free", "closing"};
_Static_assert(DR_NELEM(conn_names) == C_LAST, "conn_names");

static void drive(struct dr_ssh *s);
static void update_poll(struct dr_ssh *s);
static void close_handles(struct dr_ssh *s);
static void idle_peek(struct dr_ssh *s);
static void on_keepalive(uv_timer_t *t);

/* Tracing */

static void
set_state(struct dr_ssh *s, enum conn_state st)
{
	dr_trace_state("ssh", s->label, conn_names[s->st], conn_names[st]);
	s->st = st;
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

const char *
ssh_session_msg(struct dr_ssh *s)
{
	char *msg = NULL;

	if (s->session == NULL)
		return "no session";
	libssh2_session_last_error(s->session, &msg, NULL, 0);
	return msg != NULL && *msg ? msg : "unknown libssh2 error";
}

/* The one place where libssh2 codes become DR_E* codes. */
int
ssh_xlate(int rc)
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

void
ssh_set_err(struct dr_ssh *s, const char *fmt, ...)
{
	char *msg;

	DR_VFORMAT(msg, fmt);
	free(s->err);
	s->err = dr_xasprintf("%s: %s", s->label, msg);
	free(msg);
}

/*
 * libssh2's recv hook: counts arrival time for dead-peer detection, and
 * skips the recv that could only say EAGAIN. libssh2 reads until EAGAIN in
 * every channel call (eight such recvs per command, more than the reads that
 * get data); after a short read or an EAGAIN the socket is taken as empty
 * until the poll reports it readable again. The poll is level-triggered and
 * stays armed whenever a drive ends waiting, so bytes that came after the
 * short read wake the next loop turn: nothing is left unread.
 */
static LIBSSH2_RECV_FUNC(recv_hook)
{
	struct dr_ssh *s = *abstract;
	ssize_t n;

	if (!s->rx_maybe)
		return -EAGAIN;
	do
		n = recv(socket, buffer, length, flags);
	while (n < 0 && errno == EINTR);

	if (n < 0) {
		if (errno == EAGAIN || errno == EWOULDBLOCK)
			s->rx_maybe = false;
		return -errno;
	}
	if (n > 0)
		s->last_rx_ms = dr_now_mono_ms();
	if ((size_t)n < length)
		s->rx_maybe = false;
	return n;
}

/* Connection machine */

static void conn_deadline(struct dr_ssh *s, uint64_t ms);

/* "trace: ssh: LABEL: cipher aes128-ctr, keystream made ahead": which
 * AES-CTR libssh2 is using (orchestrator/exec/aesctr.c). */
static void
trace_cipher(const struct dr_ssh *s)
{
	const char *c =
	    libssh2_session_methods(s->session, LIBSSH2_METHOD_CRYPT_CS);
	bool ctr = c != NULL && strstr(c, "-ctr") != NULL;

	fprintf(stderr, "trace: ssh: %s: cipher %s%s\n", s->label,
	        c ? c : "(none)",
	        !ctr                ? ""
	        : dr_aesctr_bound() ? ", keystream made ahead"
	                            : ", one provider call per block");
}

static void
conn_finish(struct dr_ssh *s, int status)
{
	dr_ssh_connect_cb cb = s->connect_cb;

	uv_timer_stop(&s->conn_timer);
	s->connect_cb = NULL;
	if (status == 0) {
		set_state(s, C_READY);
		if (dr_trace_on())
			trace_cipher(s);
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
	ssh_set_err(s, "%s", msg);
	free(msg);
	conn_finish(s, status);
}

static void on_conn_timer(uv_timer_t *t);

static void
conn_deadline(struct dr_ssh *s, uint64_t ms)
{
	uv_timer_start(&s->conn_timer, on_conn_timer, ms, 0);
}

/* Host keys: known_hosts pins, SHA256 fingerprints as OpenSSH shows them */

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
	const char *key;
	size_t len;
	int type, rc;
	char *got, *want = NULL;

	key = libssh2_session_hostkey(s->session, &len, &type);
	if (key == NULL) {
		conn_fail(s, DR_EHOSTKEY, "host key: not available");
		return -1;
	}
	got = dr_hostkeys_fingerprint_blob(key, len);
	rc = libssh2_knownhost_checkp(s->kh, s->address, s->port, key, len,
	                              LIBSSH2_KNOWNHOST_TYPE_PLAIN |
	                                  LIBSSH2_KNOWNHOST_KEYENC_RAW |
	                                  hostkey_mask(type),
	                              &known);
	switch (rc) {
	case LIBSSH2_KNOWNHOST_CHECK_MATCH:
		free(got);
		return 0;
	case LIBSSH2_KNOWNHOST_CHECK_MISMATCH:
		if (known == NULL || known->key == NULL ||
		    dr_hostkeys_fingerprint(known->key, &want) != 0)
			want = dr_xstrdup("a key drover cannot read");
		conn_fail(s, DR_EHOSTKEY,
		          "host key changed: got %s, expected %s (%s); do not "
		          "connect until the new key is verified",
		          got, want, s->known_hosts);
		free(want);
		break;
	case LIBSSH2_KNOWNHOST_CHECK_NOTFOUND:
		conn_fail(s, DR_EHOSTKEY,
		          "host key unknown: got %s, not in %s; pin it through "
		          "an audited step first",
		          got, s->known_hosts);
		break;
	default:
		conn_fail(s, DR_EHOSTKEY, "host key check failed: got %s: %s",
		          got, ssh_session_msg(s));
		break;
	}
	free(got);
	return -1;
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
		          ssh_session_msg(s));
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
	s->rx_maybe = true;
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
		conn_fail(s, DR_EPROTO, "algorithms: %s", ssh_session_msg(s));
		return;
	}
	libssh2_keepalive_config(s->session, 1,
	                         (unsigned)(s->keepalive_ms / 1000 < 2
	                                        ? 2
	                                        : s->keepalive_ms / 1000));
	set_state(s, C_HANDSHAKE);
	conn_deadline(s, s->connect_ms);
}

/* Returns true when the call is still blocked. */
static bool
step_handshake(struct dr_ssh *s)
{
	int rc = libssh2_session_handshake(s->session, s->fd);

	if (rc == LIBSSH2_ERROR_EAGAIN)
		return true;
	if (rc != 0) {
		int code = ssh_xlate(rc);
		conn_fail(s, code == DR_EDISCONNECT ? DR_EPROTO : code,
		          "handshake: %s", ssh_session_msg(s));
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
		conn_fail(s, DR_EAUTH, "ssh-agent: %s", ssh_session_msg(s));
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

/*
 * The login shell. sshd hands each command to the account's login shell,
 * and drover's commands are sh words (values single-quoted, lines joined
 * by newlines). A csh or tcsh login shell ends a quoted word at a newline
 * and runs the next line as its own command; fish reads \' and \\ inside
 * single quotes as escapes. Either way a value's text could run as code.
 * So before a connection carries any task, one command with a newline, a
 * "!", a quoted backslash and a backslash before a quote must come back
 * exactly as sh would print it; a shell that reads it otherwise refuses
 * the host, and no task command is sent to it. The answer must also be all
 * the command's stdout: a startup file that prints (bash reads ~/.bashrc
 * for every ssh command) would put its text before every command's output,
 * and before the bytes a copy reads from the source. stderr may carry
 * anything ("stty: not a tty").
 */
#define SHELL_PROBE                                                            \
	"printf '<drover-sh:%s|%s|%s' 'a\\' '!x' \"b\\\\c\"\n"                 \
	"printf '|%s>\\n' end"
#define SHELL_OK "<drover-sh:a\\|!x|b\\c|end>"

static void
shell_checked(struct dr_ssh *s, const struct dr_ssh_result *res, void *arg)
{
	(void)arg;
	if (s->connect_cb == NULL)
		return; /* closed meanwhile: the caller heard already */
	if (res->status != 0) {
		conn_fail(
		    s, res->status == DR_ETIMEDOUT ? DR_ETIMEDOUT : DR_EPROTO,
		    "login shell check: %s", res->message);
		return;
	}
	if (res->exit_code != 0 || res->tail == NULL ||
	    strstr(res->tail, SHELL_OK) == NULL) {
		const char *tail = res->tail ? res->tail : "";
		char first[160];

		/* Its first line, cut to fit. */
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(tail, "\n"),
		         tail);
		conn_fail(s, DR_EPROTO,
		          "the login shell of %s does not read sh quoting (a "
		          "csh, tcsh or fish login shell?): drover sends every "
		          "command through it, so no command is sent; give the "
		          "account a POSIX shell (chsh -s /bin/sh %s). It "
		          "answered: %s",
		          s->user, s->user, first[0] ? first : "nothing");
		return;
	}
	if (res->bytes_out != sizeof(SHELL_OK)) { /* the text and its '\n' */
		const char *tail = res->tail;
		char first[160];

		if (strncmp(tail, SHELL_OK, strlen(SHELL_OK)) == 0)
			tail = ""; /* the extra text came after it */
		snprintf(first, sizeof(first), "%.*s", (int)strcspn(tail, "\n"),
		         tail);
		conn_fail(s, DR_EPROTO,
		          "the login shell of %s writes text of its own to "
		          "stdout around each command (a startup file such as "
		          "~/.bashrc, which bash reads for every ssh command): "
		          "it would mix with every command's output and with "
		          "the data a copy reads, so no command is sent; make "
		          "that file print nothing when the shell is not "
		          "interactive (or only to stderr). It printed: %s",
		          s->user, first[0] ? first : "(text after the check)");
		return;
	}
	conn_finish(s, 0);
}

/* After auth: the login shell is checked before the connection is up. */
static void
shell_check(struct dr_ssh *s)
{
	struct dr_ssh_exec_opts o = {.command = SHELL_PROBE,
	                             .timeout_ms = s->connect_ms};
	int r;

	uv_timer_stop(&s->conn_timer); /* the command has its own deadline */
	set_state(s, C_READY);
	if ((r = dr_ssh_exec(s, &o, shell_checked, NULL, NULL)) != 0)
		conn_fail(s, r, "login shell check: %s", dr_strerror(r));
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
			int code = ssh_xlate(rc);
			conn_fail(s, code == DR_EPROTO ? DR_EAUTH : code,
			          "auth as %s with %s: %s", s->user,
			          s->identity, ssh_session_msg(s));
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
	shell_check(s);
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

/* Driving */

static void
on_kick(uv_idle_t *h)
{
	struct dr_ssh *s = h->data;

	uv_idle_stop(h);
	drive(s);
}

void
ssh_cork(struct dr_ssh *s, bool on)
{
	int v = on;

	if (s->fd >= 0)
		(void)setsockopt(s->fd, IPPROTO_TCP, TCP_CORK, &v, sizeof(v));
}

void
ssh_kick(struct dr_ssh *s)
{
	if (s->st != C_CLOSING)
		uv_idle_start(&s->kick, on_kick);
}

static void
on_poll(uv_poll_t *p, int status, int events)
{
	struct dr_ssh *s = p->data;

	(void)events;
	s->rx_maybe = true;
	if (status < 0)
		s->poll_events = 0; /* libuv stopped the handle */
	if (s->st == C_READY && s->jobs == NULL)
		idle_peek(s);
	else
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
		if (s->st == C_READY && s->jobs == NULL) {
			ev = s->idle_rx ? 0 : UV_READABLE;
			break;
		}
		/* Not waiting: the kick drives it. A readable poll stays
		 * (data wakes the same drive): stopping and starting it for
		 * every command costs two epoll_ctl calls. */
		if (!s->waited_io) {
			ev = s->poll_events & UV_READABLE;
			break;
		}
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
			waited = ssh_jobs_step(s);
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

/*
 * Dead-peer detection: an idle peer that hung up (idle_peek), a busy one
 * that went silent (on_keepalive), a channel call that failed on the
 * socket (ssh-channel.c).
 */
void
ssh_session_lost(struct dr_ssh *s, const char *why)
{
	if (s->st == C_READY)
		set_state(s, C_DEAD);
	ssh_set_err(s, "connection lost: %s", why);
	s->handshaken = false; /* no graceful disconnect */
	uv_timer_stop(&s->ka_timer);
	ssh_jobs_lost(s, why);
}

/* Idle: no channel reads the socket, so only look for a peer that hung
 * up. */
static void
idle_peek(struct dr_ssh *s)
{
	char c;
	ssize_t n = recv(s->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);

	if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
		ssh_session_lost(s, "closed by the peer");
	else if (n > 0)
		s->idle_rx = true;
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
	if (s->jobs != NULL && s->waited_io) {
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
			ssh_session_lost(s, why);
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
	if (s->jobs == NULL || s->out_owner != NULL || s->driving)
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
	uv_close((uv_handle_t *)&s->kick, on_handle_closed);
}

/* Close machine: jobs, disconnect, session free, handles. */
static void
start_close(struct dr_ssh *s)
{
	int rc;

	if (s->st == C_CLOSE_JOBS) {
		if (s->connect_cb != NULL) {
			ssh_set_err(s, "connect: cancelled by close");
			conn_finish(s, DR_ECANCELED);
		}
		ssh_jobs_close(s);
		if (s->jobs != NULL)
			return; /* logs still flushing */
		if (s->gai_busy) {
			uv_cancel((uv_req_t *)&s->gai);
			return; /* on_resolved drives again */
		}
		uv_timer_stop(&s->ka_timer);
		uv_timer_stop(&s->job_timer);
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
	s->cmax = o->channels > 0 ? o->channels : 1;
	if (s->cmax > DR_SSH_MAX_CHANNELS)
		s->cmax = DR_SSH_MAX_CHANNELS;
	s->cap = s->cmax + 1; /* one more for the kills */
	uv_timer_init(loop, &s->job_timer);
	uv_idle_init(loop, &s->kick);
	s->conn_timer.data = s->ka_timer.data = s->job_timer.data = s;
	s->kick.data = s;
	s->open_handles = 4;
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
	ssh_kick(s);
}

bool
dr_ssh_busy(const struct dr_ssh *s)
{
	return s != NULL && s->ncaller > 0;
}

int
dr_ssh_capacity(const struct dr_ssh *s)
{
	return s != NULL ? s->cmax : 0;
}

int
dr_ssh_slots(const struct dr_ssh *s)
{
	if (!dr_ssh_ready(s) || s->close_requested || s->ncaller >= s->cmax)
		return 0;
	return s->cmax - s->ncaller;
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
