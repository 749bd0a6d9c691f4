/*
 * ssh-internal.h: what the two halves of the SSH engine share, and nothing
 * else includes. ssh.c is the connection (TCP, handshake, host key, auth,
 * keepalive, teardown, the drive loop); ssh-channel.c is what runs on it
 * (one channel job per command or stream, several at once, plus their kill
 * jobs). Functions named ssh_* are internal to the engine, not API.
 */
#ifndef DROVER_SSH_INTERNAL_H
#define DROVER_SSH_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include <libssh2.h>
#include <uv.h>

#include "drover/guard.h"
#include "drover/ssh.h"

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

/* A channel job (a command, a stream or the kill), defined in
 * ssh-channel.c. */
struct job;

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
	uv_timer_t job_timer;  /* the earliest deadline of the jobs */
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
	bool rx_maybe;         /* the socket may hold unread bytes */
	struct job *out_owner; /* job whose send is partially done */
	struct job *opener;    /* job whose channel open is in flight */
	uint64_t last_rx_ms;
	uint64_t wait_since_ms;
	bool broken; /* a channel was abandoned: no more jobs */
	bool shut;   /* teardown deadline hit: socket shut down */

	struct job *jobs;      /* every job (commands, kills), in start order */
	unsigned long job_seq; /* ids of the jobs */
	unsigned rr;           /* the job stepped first, round robin */
	int ncaller;           /* commands and streams not yet ended */
	int nchan;             /* channels open or opening */
	int cap;               /* channels the server allows (learned) */
	int cmax;              /* commands at once: cap - 1 (kills) */

	dr_ssh_connect_cb connect_cb;
	void *connect_arg;
	dr_ssh_close_cb close_cb;
	void *close_arg;
	bool close_requested;

	char *err;
	unsigned char rbuf[DR_SSH_CHUNK];
};

/* ssh.c */

/* The one place where libssh2 codes become DR_E* codes. */
int ssh_xlate(int rc);
/* libssh2's last error on the session, borrowed; never NULL. */
const char *ssh_session_msg(struct dr_ssh *s);
/* Replaces the connection error with "label: " and the message. */
void ssh_set_err(struct dr_ssh *s, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
/* Drives the session on the next loop turn (never from inside a call). */
void ssh_kick(struct dr_ssh *s);
/* TCP_CORK on (packets sent meanwhile leave in full segments) or off
 * (what is held leaves now). Best effort: a socket that refuses only
 * sends more segments. */
void ssh_cork(struct dr_ssh *s, bool on);
/* The connection is gone ("connection lost: why"): it goes dead and every
 * job ends with DR_EDISCONNECT. */
void ssh_session_lost(struct dr_ssh *s, const char *why);

/* ssh-channel.c */

/* Steps the jobs of a ready session. Returns true when a libssh2 call
 * returned EAGAIN. */
bool ssh_jobs_step(struct dr_ssh *s);
/* Ends the channels of every job with DR_EDISCONNECT after a lost
 * connection; may deliver results. */
void ssh_jobs_lost(struct dr_ssh *s, const char *why);
/* Ends the channels of every job with DR_ECANCELED on close; a job stays
 * in s->jobs until its log is closed. */
void ssh_jobs_close(struct dr_ssh *s);

#endif
