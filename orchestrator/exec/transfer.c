/*
 * transfer.c: host-to-host copy relayed through the controller.
 *
 * Phases (enum xfer_state): read the manifest, relay (a READ stream on the
 * source or local uv_fs reads, a WRITE stream on the destination), verify
 * and rename at the destination, clean up after a failure.
 *
 * The relay holds its bytes in one ring, at stream offsets: the source
 * appends at t->bytes, the destination is handed what follows t->written
 * and a worker thread hashes what follows t->hashed, each up to a
 * contiguous piece at a time; a byte is released when both have had it.
 * Source, destination and digest overlap: the source pauses only when less
 * than a chunk of the ring is free. The loop thread does both sessions'
 * crypto (libssh2), which bounds the relay, so the controller's SHA-256
 * runs off it. Small buffers that wait for each other starve both sshd
 * servers on a busy machine (0.38 of scp -3's throughput with two 128 KiB
 * buffers in lock step).
 *
 * The controller hashes only when no digest is known beforehand: it is then
 * what the destination's file must match. With sha256 given or read from
 * the manifest, the destination's check against it is the proof, and a
 * second SHA-256 pass here would only cost CPU that the two sessions'
 * crypto needs (0.16 s of SHA-NI per 300 MB, a tenth of the controller's
 * CPU in a big copy).
 *
 * Three ways to go faster were built and measured (lab on 2 cores,
 * tests/bench/copy-throughput.sh), and not kept:
 * - Hashing at the destination while it writes (tee into the file and
 *   through openssl), to save the verify's second pass (0.27 s of 2.6 s):
 *   tee moves 8 KiB at a time through one more pipe, the destination's CPU
 *   rose from 1.21 to 1.68 s, and drover fell from 0.75 to 0.62 of scp -3's
 *   throughput (one bench run of 3 rounds each, one after the other).
 * - Hashing the file as it lands, beside the writer: cat in the
 *   background, and a follower (GNU tail -c +1 --pid=CAT -f | openssl dgst)
 *   whose digest, when it matched, spared the read-back. The follower
 *   costs more CPU than the read-back it saves: tail's 8 KiB reads and the
 *   pipe to openssl are 0.53 s per 300 MB against the read-back's 0.23 s,
 *   and with one machine for client and servers the copy is CPU-bound. In
 *   an A/B run one after the other, drover fell from 0.95 to 0.89 of
 *   scp -3's throughput at 3 GB (the destination's CPU 17.7 -> 23.1 s) and
 *   from 0.87 to 0.81 at 300 MB.
 * - The source's READ stream on a thread of its own, with its own loop
 *   and connection (a side branch, not merged), so that the two sessions'
 *   crypto runs on two cores: 0.68-0.75 of scp -3 against 0.70-0.72
 *   without it, and 80 ms more per small copy for the second connection.
 *   In the lab the machine's CPU, shared with both sshd servers, is the
 *   bound, not the loop thread. Against remote servers the thread may pay;
 *   that is not measured.
 * What bounds the relay is libssh2's own cost per byte, which it pays
 * twice. With the same algorithms a libssh2 client spent about 1.7 times
 * OpenSSH's CPU per byte (the bench's one-direction part: curl's scp://
 * 0.96 s per 300 MB, scp 0.58 s), most of it one EVP_Cipher call per
 * 16-byte block (libssh2 1.10 and 1.11.1 alike; 1.11.1's aes128-gcm and
 * chacha20-poly1305 were no cheaper). aesctr.c makes that call an XOR
 * with keystream made ahead: the relay's CPU per 300 MB fell from 1.9-2.0 s
 * to 1.5 s. What is left is libssh2's copies of each block and the HMAC.
 */
#include "drover/transfer.h"
#include "drover/shcmd.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

/*
 * XRING bounds the controller's memory per transfer (plus the source
 * channel's receive window, 2 MiB, which libssh2 may hold while the source
 * is paused). XWRITE is the most handed to the destination at once: small
 * enough that the source always has room while a write drains, large
 * enough that a busy loop turn moves a lot.
 */
#define XRING (1024 * 1024)
#define XWRITE (256 * 1024)
#define XHASH (512 * 1024) /* bytes per hashing job */
#define XREAD (256 * 1024) /* local source: bytes per uv_fs_read */
#define CLEANUP_MS 30000

enum xfer_state {
	X_MANIFEST, /* reading SRC.sha256 */
	X_RELAY,    /* streams running */
	X_VERIFY,   /* digest, chmod, mv at the destination */
	X_CLEANUP,  /* rm -f the temporary file */
	X_CLOSING,  /* closing the timer */
	X_LAST
};

static const char *const xfer_names[] = {"manifest", "relay", "verify",
                                         "cleanup", "closing"};
_Static_assert(DR_NELEM(xfer_names) == X_LAST, "xfer_names");

struct dr_transfer {
	uv_loop_t *loop;
	enum xfer_state st;
	char *label;
	struct dr_ssh *src, *dst;   /* may be one session */
	struct dr_ssh_cmd *src_cmd; /* manifest or READ stream */
	struct dr_ssh_cmd *dst_cmd; /* WRITE stream, verify or cleanup */
	char *src_path, *final, *dir, *tmp, *mode;
	char want[DR_SHA256_HEX]; /* expected digest, "" if none */
	bool manifest;
	uint64_t timeout_ms, start_ms;
	uv_timer_t timer;

	struct dr_sha256 sha; /* the worker's while hashing */
	bool local_digest;    /* no digest known: the controller's is it */
	char got[DR_SHA256_HEX];
	char *ring;       /* XRING bytes; stream offset o is at o % XRING */
	uint64_t bytes;   /* relayed: the source's bytes so far */
	uint64_t written; /* taken by the destination */
	uint64_t hashed;  /* in the digest */
	size_t wlen;      /* the write in flight, from written; 0: none */
	uv_work_t hwork;
	size_t hlen; /* the hashing job in flight, from hashed */
	bool hashing;
	bool src_paused, src_eof, eof_sent;
	bool src_running, dst_running, exec_running;

	/* local source */
	uv_fs_t fs;
	uv_file lfd;
	bool fs_busy;
	uint64_t loff;
	uv_buf_t lbuf;

	int status;
	char *err;
	bool tmp_created;

	dr_transfer_cb cb;
	void *arg;
};

static void xfer_step(struct dr_transfer *t);
static void pump(struct dr_transfer *t);
static void local_read(struct dr_transfer *t);
static void on_src_data(struct dr_ssh_cmd *c, const void *data, size_t len,
                        void *arg);
static void on_dst_drain(struct dr_ssh_cmd *c, void *arg);

static void
set_state(struct dr_transfer *t, enum xfer_state st)
{
	dr_trace_state("transfer", t->label, xfer_names[t->st], xfer_names[st]);
	t->st = st;
}

static bool
is_hex64(const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		if (!((s[i] >= '0' && s[i] <= '9') ||
		      (s[i] >= 'a' && s[i] <= 'f') ||
		      (s[i] >= 'A' && s[i] <= 'F')))
			return false;
	return true;
}

static void
lower_hex(char *dst, const char *s)
{
	size_t i;

	for (i = 0; i < 64; i++)
		dst[i] =
		    (s[i] >= 'A' && s[i] <= 'F') ? (char)(s[i] + 32) : s[i];
	dst[64] = '\0';
}

/* Records the first failure; later ones are consequences. */
static void fail(struct dr_transfer *t, int status, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
fail(struct dr_transfer *t, int status, const char *fmt, ...)
{
	if (t->status != 0)
		return;
	t->status = status;
	DR_VFORMAT(t->err, fmt);
	if (t->src_running && t->src_cmd != NULL) {
		struct dr_ssh_cmd *c = t->src_cmd;
		/* Drop what it still sends: a paused stream never sees its
		 * end and would hold the session until the kill's grace. */
		if (t->src_paused) {
			t->src_paused = false;
			dr_ssh_stream_resume(c);
		}
		dr_ssh_cmd_cancel(c); /* may end it at once */
	}
	if ((t->dst_running || t->exec_running) && t->dst_cmd != NULL)
		dr_ssh_cmd_cancel(t->dst_cmd);
}

static void
on_closed(uv_handle_t *h)
{
	struct dr_transfer *t = h->data;
	struct dr_transfer_result r;
	struct dr_buf msg;
	char d[32];

	memset(&r, 0, sizeof(r));
	r.status = t->status;
	r.bytes = t->bytes;
	memcpy(r.sha256, t->got, sizeof(r.sha256));
	r.dst_path = t->final;
	r.elapsed_ms = dr_now_mono_ms() - t->start_ms;
	dr_buf_init(&msg, 0);
	dr_buf_printf(&msg, "%s: ", t->label);
	if (t->status == 0)
		dr_buf_printf(&msg,
		              "copied %llu bytes to %s in %s, sha256 %s "
		              "verified at the destination",
		              (unsigned long long)t->bytes, t->final,
		              dr_duration_fmt(r.elapsed_ms, d, sizeof(d)),
		              t->got);
	else
		dr_buf_puts(&msg, t->err);
	r.message = msg.data;
	if (t->cb)
		t->cb(&r, t->arg);
	dr_buf_free(&msg);
	dr_sha256_discard(&t->sha); /* a relay that stopped midway */
	free(t->label);
	free(t->src_path);
	free(t->final);
	free(t->dir);
	free(t->tmp);
	free(t->mode);
	free(t->err);
	free(t->ring);
	free(t);
}

static void
finish(struct dr_transfer *t)
{
	if (t->st == X_CLOSING)
		return;
	set_state(t, X_CLOSING);
	uv_close((uv_handle_t *)&t->timer, on_closed);
}

/* Remote result handling */

static int
remote_status(const struct dr_ssh_result *r)
{
	if (r->status != 0)
		return r->status;
	return r->exit_code != 0 || r->exit_signal[0] ? DR_EEXIT : 0;
}

/*
 * Runs cmd (freed here) on s, its handle in *h; cb gets the last tail_cap
 * bytes of its output. Returns what dr_ssh_exec returns.
 */
static int
run_exec(struct dr_transfer *t, struct dr_ssh *s, struct dr_ssh_cmd **h,
         struct dr_buf *cmd, size_t tail_cap, uint64_t timeout_ms,
         dr_ssh_exec_cb cb)
{
	struct dr_ssh_exec_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.command = cmd->data;
	o.tail_cap = tail_cap;
	o.timeout_ms = timeout_ms;
	rc = dr_ssh_exec(s, &o, cb, t, h);
	dr_buf_free(cmd);
	return rc;
}

/*
 * Starts cmd (freed here) on s as one side of the relay: READ feeds
 * on_src_data, WRITE drains through on_dst_drain; the transfer's own timer
 * is its deadline. Returns what dr_ssh_stream_open returns.
 */
static int
run_stream(struct dr_transfer *t, struct dr_ssh *s, struct dr_ssh_cmd **h,
           struct dr_buf *cmd, enum dr_ssh_stream_mode mode,
           dr_ssh_exec_cb done)
{
	struct dr_ssh_stream_opts o;
	int rc;

	memset(&o, 0, sizeof(o));
	o.command = cmd->data;
	o.mode = mode;
	o.tail_cap = 2048;
	o.on_data = on_src_data;
	o.on_drain = on_dst_drain;
	o.arg = t;
	rc = dr_ssh_stream_open(s, &o, done, t, h);
	dr_buf_free(cmd);
	return rc;
}

static void after_failure(struct dr_transfer *t);

/*
 * rc is the answer to starting a remote command: marks it running in
 * *running, or fails the transfer with "WHAT: reason" and moves on.
 * Returns rc.
 */
static int remote_started(struct dr_transfer *t, int rc, bool *running,
                          const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static int
remote_started(struct dr_transfer *t, int rc, bool *running, const char *fmt,
               ...)
{
	char *what;

	if (rc == 0) {
		*running = true;
		return 0;
	}
	DR_VFORMAT(what, fmt);
	fail(t, rc, "%s: %s", what, dr_strerror(rc));
	free(what);
	after_failure(t);
	return rc;
}

static void
on_cleanup_done(struct dr_ssh *s, const struct dr_ssh_result *r, void *arg)
{
	struct dr_transfer *t = arg;

	t->dst_cmd = NULL;
	t->exec_running = false;
	finish(t);
}

/* Called whenever a remote command or local read ends: moves on. */
static void
after_failure(struct dr_transfer *t)
{
	struct dr_buf cmd;

	if (t->st == X_CLOSING || t->src_running || t->dst_running ||
	    t->exec_running || t->fs_busy || t->hashing)
		return;
	if (t->tmp_created && dr_ssh_ready(t->dst)) {
		dr_buf_init(&cmd, 0);
		dr_buf_puts(&cmd, "rm -f -- ");
		dr_sh_quote(&cmd, t->tmp);
		set_state(t, X_CLEANUP);
		if (run_exec(t, t->dst, &t->dst_cmd, &cmd, 0, CLEANUP_MS,
		             on_cleanup_done) == 0) {
			t->exec_running = true;
			return;
		}
	}
	finish(t);
}

static void
on_verify_done(struct dr_ssh *s, const struct dr_ssh_result *r, void *arg)
{
	struct dr_transfer *t = arg;
	char dd[DR_SHA256_HEX] = "";

	t->dst_cmd = NULL;
	t->exec_running = false;
	if (r->tail_len >= 64 && is_hex64(r->tail))
		lower_hex(dd, r->tail);
	if (r->status != 0) {
		fail(t, r->status, "verify at destination: %s", r->message);
	} else if (r->exit_code == 3) {
		t->tmp_created = false; /* removed by the command */
		if (t->want[0])
			fail(t, DR_ECHECKSUM,
			     "checksum mismatch for %s: expected %s, the copy "
			     "at the destination has %s; temporary file "
			     "removed, check the source and its manifest",
			     t->src_path, t->want, dd[0] ? dd : "none");
		else
			fail(t, DR_ECHECKSUM,
			     "checksum mismatch at the destination: expected "
			     "%s, destination computed %s; temporary file "
			     "removed",
			     t->want[0] ? t->want : t->got, dd);
	} else if (remote_status(r) != 0) {
		fail(t, DR_EEXIT, "verify at destination: %s: %s", r->message,
		     r->tail);
	} else {
		t->tmp_created = false;
		if (!t->local_digest) /* the destination's, equal to want */
			memcpy(t->got, t->want, sizeof(t->got));
		finish(t);
		return;
	}
	after_failure(t);
}

static void
start_verify(struct dr_transfer *t)
{
	struct dr_buf c;
	int rc;

	/*
	 * openssl first: it has SHA-NI and hashes several times faster than
	 * coreutils (300 MB: 0.3 s against 1 s), and the verify runs after the
	 * relay, so its time adds to the copy's. A host without it, or whose
	 * openssl prints no digest, uses sha256sum.
	 */
	dr_buf_init(&c, 0);
	dr_buf_puts(&c, "d=$(openssl dgst -sha256 -r < ");
	dr_sh_quote(&c, t->tmp);
	dr_buf_puts(&c,
	            " 2>/dev/null) && [ ${#d} -ge 64 ] || d=$(sha256sum < ");
	dr_sh_quote(&c, t->tmp);
	dr_buf_puts(&c, ") || exit 4; d=${d%% *}; echo \"$d\"; if [ \"$d\" = ");
	dr_sh_quote(&c, t->want[0] ? t->want : t->got);
	dr_buf_puts(&c, " ]; then ");
	if (t->mode != NULL) {
		dr_buf_printf(&c, "chmod %s ", t->mode);
		dr_sh_quote(&c, t->tmp);
		dr_buf_puts(&c, " && ");
	}
	dr_buf_puts(&c, "mv -f -- ");
	dr_sh_quote(&c, t->tmp);
	dr_buf_puts(&c, " ");
	dr_sh_quote(&c, t->final);
	dr_buf_puts(&c, " || exit 5; else rm -f -- ");
	dr_sh_quote(&c, t->tmp);
	dr_buf_puts(&c, "; exit 3; fi");
	set_state(t, X_VERIFY);
	rc = run_exec(t, t->dst, &t->dst_cmd, &c, 4096, t->timeout_ms,
	              on_verify_done);
	remote_started(t, rc, &t->exec_running, "verify at destination");
}

/* Relay */

static void
relay_check_end(struct dr_transfer *t)
{
	unsigned char d[DR_SHA256_LEN];

	if (t->status != 0) {
		after_failure(t);
		return;
	}
	if (t->src_running || t->dst_running || t->fs_busy || t->hashing ||
	    t->hashed != t->bytes)
		return;
	if (t->local_digest) {
		dr_sha256_final(&t->sha, d);
		dr_sha256_tohex(d, t->got);
	}
	start_verify(t);
}

/* Bytes held: not yet both written and hashed. */
static size_t
ring_held(const struct dr_transfer *t)
{
	return (size_t)(t->bytes -
	                (t->written < t->hashed ? t->written : t->hashed));
}

/* Free bytes at the source's offset before the ring wraps or fills. */
static size_t
ring_room(const struct dr_transfer *t)
{
	size_t room = XRING - ring_held(t), end = XRING - t->bytes % XRING;

	return room < end ? room : end;
}

/* At most max bytes from stream offset off up to `to`, before the wrap. */
static size_t
ring_piece(uint64_t off, uint64_t to, size_t max)
{
	uint64_t n = to - off;

	if (n > XRING - off % XRING)
		n = XRING - off % XRING;
	return n > max ? max : (size_t)n;
}

static void hash_more(struct dr_transfer *t);

static void
pump(struct dr_transfer *t)
{
	size_t n;

	if (t->status != 0 || !t->dst_running)
		return;
	if (t->wlen == 0 && t->written < t->bytes) {
		n = ring_piece(t->written, t->bytes, XWRITE);
		if (dr_ssh_stream_write(t->dst_cmd,
		                        t->ring + t->written % XRING, n) != 0) {
			fail(t, DR_EPROTO, "relay: destination refused data");
			return;
		}
		t->wlen = n;
	}
	if (XRING - ring_held(t) >= DR_SSH_CHUNK) {
		if (t->src != NULL && t->src_paused) {
			t->src_paused = false;
			dr_ssh_stream_resume(t->src_cmd);
		} else if (t->src == NULL && !t->src_eof) {
			local_read(t);
		}
	}
	if (t->wlen == 0 && t->written == t->bytes && t->src_eof &&
	    !t->eof_sent) {
		t->eof_sent = true;
		dr_ssh_stream_eof(t->dst_cmd);
	}
}

/* Worker thread: the ring's piece is not released while it is hashed. */
static void
on_hash_work(uv_work_t *w)
{
	struct dr_transfer *t = w->data;

	dr_sha256_update(&t->sha, t->ring + t->hashed % XRING, t->hlen);
}

static void
on_hash_done(uv_work_t *w, int status)
{
	struct dr_transfer *t = w->data;

	(void)status; /* never cancelled */
	t->hashing = false;
	t->hashed += t->hlen;
	if (t->status != 0) {
		after_failure(t);
		return;
	}
	hash_more(t);
	pump(t);
	relay_check_end(t);
}

/* Hands the next piece of unhashed bytes to a worker thread. */
static void
hash_more(struct dr_transfer *t)
{
	if (!t->local_digest) {
		t->hashed = t->bytes; /* the destination checks t->want */
		return;
	}
	if (t->hashing || t->status != 0 || t->hashed == t->bytes)
		return;
	t->hlen = ring_piece(t->hashed, t->bytes, XHASH);
	t->hwork.data = t;
	if (uv_queue_work(t->loop, &t->hwork, on_hash_work, on_hash_done) ==
	    0) {
		t->hashing = true;
		return;
	}
	/* No worker: hash it here. */
	dr_sha256_update(&t->sha, t->ring + t->hashed % XRING, t->hlen);
	t->hashed += t->hlen;
}

/* Appends len source bytes (at most the free space) at the source's
 * offset. */
static void
take(struct dr_transfer *t, const void *data, size_t len)
{
	size_t n = ring_room(t);

	if (n > len)
		n = len;
	memcpy(t->ring + t->bytes % XRING, data, n);
	/* The rest wraps to the start (room ended at the ring's end). */
	memcpy(t->ring, (const char *)data + n, len - n);
	t->bytes += len;
	hash_more(t);
}

static void
on_src_data(struct dr_ssh_cmd *s, const void *data, size_t len, void *arg)
{
	struct dr_transfer *t = arg;

	if (t->status != 0)
		return;
	take(t, data, len);
	/* Stop before a chunk could overrun the bytes still held. */
	if (XRING - ring_held(t) < DR_SSH_CHUNK) {
		t->src_paused = true;
		dr_ssh_stream_pause(s);
	}
	pump(t);
}

static void
on_dst_drain(struct dr_ssh_cmd *s, void *arg)
{
	struct dr_transfer *t = arg;

	t->written += t->wlen;
	t->wlen = 0;
	pump(t);
}

/*
 * One side of the relay ended: clears *running; a failure ("read PATH:
 * message: tail") is the transfer's. Returns its status.
 */
static int
side_ended(struct dr_transfer *t, const struct dr_ssh_result *r, bool *running,
           const char *what, const char *path)
{
	int rc = remote_status(r);

	*running = false;
	if (rc != 0)
		fail(t, rc, "%s %s: %s%s%s", what, path, r->message,
		     r->tail_len ? ": " : "", r->tail);
	return rc;
}

static void
on_src_done(struct dr_ssh *s, const struct dr_ssh_result *r, void *arg)
{
	struct dr_transfer *t = arg;

	t->src_cmd = NULL;
	side_ended(t, r, &t->src_running, "read", t->src_path);
	t->src_eof = true;
	pump(t);
	relay_check_end(t);
}

static void
on_dst_done(struct dr_ssh *s, const struct dr_ssh_result *r, void *arg)
{
	struct dr_transfer *t = arg;

	t->dst_cmd = NULL;
	if (side_ended(t, r, &t->dst_running, "write", t->tmp) == 0 &&
	    (!t->src_eof || !t->eof_sent))
		fail(t, DR_EPROTO, "write %s: destination ended early", t->tmp);
	relay_check_end(t);
}

/* Local source */

static void
on_local_fs(uv_fs_t *req)
{
	struct dr_transfer *t = req->data;
	ssize_t r = req->result;
	uv_fs_type type = req->fs_type;

	uv_fs_req_cleanup(req);
	t->fs_busy = false;
	if (type == UV_FS_OPEN) {
		if (r < 0) {
			fail(t, DR_EIO, "read %s: %s", t->src_path,
			     uv_strerror((int)r));
			t->src_eof = true;
		} else {
			t->lfd = (uv_file)r;
		}
	} else if (type == UV_FS_READ) {
		if (r < 0) {
			fail(t, DR_EIO, "read %s: %s", t->src_path,
			     uv_strerror((int)r));
			t->src_eof = true;
		} else if (r == 0) {
			t->src_eof = true;
		} else if (t->status == 0) {
			/* The bytes landed at the source's offset. */
			t->bytes += (uint64_t)r;
			t->loff += (uint64_t)r;
			hash_more(t);
		}
	} else if (type == UV_FS_CLOSE) {
		t->lfd = -1;
	}
	if (t->src_eof && t->lfd >= 0) {
		t->fs.data = t;
		if (uv_fs_close(t->loop, &t->fs, t->lfd, on_local_fs) == 0) {
			t->fs_busy = true;
			return;
		}
		t->lfd = -1;
	}
	if (t->status != 0) {
		after_failure(t);
		return;
	}
	pump(t);
	relay_check_end(t);
}

static void
local_read(struct dr_transfer *t)
{
	size_t room = ring_room(t);

	if (t->fs_busy || t->src_eof || t->lfd < 0 || room == 0 ||
	    t->status != 0)
		return;
	if (room > XREAD)
		room = XREAD;
	t->lbuf = uv_buf_init(t->ring + t->bytes % XRING, (unsigned)room);
	t->fs.data = t;
	if (uv_fs_read(t->loop, &t->fs, t->lfd, &t->lbuf, 1, (int64_t)t->loff,
	               on_local_fs) != 0) {
		fail(t, DR_EIO, "read %s: cannot queue the read", t->src_path);
		t->src_eof = true;
		return;
	}
	t->fs_busy = true;
}

/*
 * A local read lands in the free part of the ring, never in the bytes
 * held, so writes go on while it is in flight.
 */
static void
start_relay(struct dr_transfer *t)
{
	struct dr_buf c;
	int rc;

	set_state(t, X_RELAY);
	t->local_digest = t->want[0] == '\0';
	if (t->local_digest)
		dr_sha256_init(&t->sha);
	dr_buf_init(&c, 0);
	dr_buf_puts(&c, "umask 077; mkdir -p -- ");
	dr_sh_quote(&c, t->dir);
	dr_buf_puts(&c, " && exec cat > ");
	dr_sh_quote(&c, t->tmp);
	rc = run_stream(t, t->dst, &t->dst_cmd, &c, DR_SSH_STREAM_WRITE,
	                on_dst_done);
	if (remote_started(t, rc, &t->dst_running, "write %s", t->tmp) != 0)
		return;
	t->tmp_created = true;
	if (t->src == NULL) {
		t->fs.data = t;
		rc = uv_fs_open(t->loop, &t->fs, t->src_path,
		                O_RDONLY | O_CLOEXEC, 0, on_local_fs);
		if (rc != 0) {
			fail(t, DR_EIO, "read %s: %s", t->src_path,
			     uv_strerror(rc));
			return;
		}
		t->fs_busy = true;
		return;
	}
	dr_buf_init(&c, 0);
	dr_buf_puts(&c, "exec cat -- ");
	dr_sh_quote(&c, t->src_path);
	rc = run_stream(t, t->src, &t->src_cmd, &c, DR_SSH_STREAM_READ,
	                on_src_done);
	remote_started(t, rc, &t->src_running, "read %s", t->src_path);
}

/* Manifest */

static int
parse_manifest(struct dr_transfer *t, const char *text)
{
	while (*text == ' ' || *text == '\t' || *text == '\\')
		text++;
	if (strlen(text) < 64 || !is_hex64(text) ||
	    (text[64] != '\0' && text[64] != ' ' && text[64] != '\t' &&
	     text[64] != '\n')) {
		fail(t, DR_EINVAL,
		     "manifest %s.sha256: no sha256 digest on its first line",
		     t->src_path);
		return -1;
	}
	lower_hex(t->want, text);
	return 0;
}

static void
on_manifest_done(struct dr_ssh *s, const struct dr_ssh_result *r, void *arg)
{
	struct dr_transfer *t = arg;
	int rc = remote_status(r);

	t->src_cmd = NULL;
	t->src_running = false;
	if (t->status != 0) {
		after_failure(t);
		return;
	}
	if (rc != 0) {
		fail(t, rc, "manifest %s.sha256: %s: %s", t->src_path,
		     r->message, r->tail);
		after_failure(t);
		return;
	}
	if (parse_manifest(t, r->tail) != 0) {
		after_failure(t);
		return;
	}
	start_relay(t);
}

/* Local manifest: open, read up to 4 KiB, close. */
struct lman {
	uv_fs_t req;
	struct dr_transfer *t;
	uv_file fd;
	char buf[4097];
	uv_buf_t ub;
	int err;
};

static void
on_lman(uv_fs_t *req)
{
	struct lman *m = req->data;
	struct dr_transfer *t = m->t;
	ssize_t r = req->result;
	uv_fs_type type = req->fs_type;

	uv_fs_req_cleanup(req);
	if (type == UV_FS_OPEN && r >= 0) {
		m->fd = (uv_file)r;
		m->ub = uv_buf_init(m->buf, sizeof(m->buf) - 1);
		if (uv_fs_read(t->loop, &m->req, m->fd, &m->ub, 1, 0,
		               on_lman) == 0)
			return;
		r = UV_EIO;
	}
	if (type == UV_FS_READ) {
		m->buf[r > 0 ? r : 0] = '\0';
		m->err = r < 0 ? (int)r : 0;
		if (uv_fs_close(t->loop, &m->req, m->fd, on_lman) == 0)
			return;
		type = UV_FS_CLOSE;
	}
	if (type == UV_FS_OPEN)
		m->err = (int)r;
	t->fs_busy = false;
	if (m->err != 0)
		fail(t, DR_EIO, "manifest %s.sha256: %s", t->src_path,
		     uv_strerror(m->err));
	else if (parse_manifest(t, m->buf) == 0 && t->status == 0) {
		free(m);
		start_relay(t);
		return;
	}
	free(m);
	after_failure(t);
}

static void
xfer_step(struct dr_transfer *t)
{
	struct dr_buf c;
	int rc;

	if (!t->manifest) {
		start_relay(t);
		return;
	}
	set_state(t, X_MANIFEST);
	if (t->src == NULL) {
		struct lman *m = dr_xcalloc(1, sizeof(*m));
		char *p = dr_xasprintf("%s.sha256", t->src_path);
		m->t = t;
		m->req.data = m;
		rc = uv_fs_open(t->loop, &m->req, p, O_RDONLY | O_CLOEXEC, 0,
		                on_lman);
		free(p);
		if (rc != 0) {
			free(m);
			fail(t, DR_EIO, "manifest: %s", uv_strerror(rc));
			after_failure(t);
			return;
		}
		t->fs_busy = true;
		return;
	}
	dr_buf_init(&c, 0);
	dr_buf_puts(&c, "exec head -c 4096 -- ");
	{
		char *p = dr_xasprintf("%s.sha256", t->src_path);
		dr_sh_quote(&c, p);
		free(p);
	}
	rc = run_exec(t, t->src, &t->src_cmd, &c, 4096, t->timeout_ms,
	              on_manifest_done);
	remote_started(t, rc, &t->src_running, "manifest");
}

static void
on_timeout(uv_timer_t *h)
{
	struct dr_transfer *t = h->data;
	char d[32];

	fail(t, DR_ETIMEDOUT, "timed out after %s",
	     dr_duration_fmt(t->timeout_ms, d, sizeof(d)));
	after_failure(t);
}

static void
on_start(uv_timer_t *h)
{
	struct dr_transfer *t = h->data;

	if (t->timeout_ms > 0)
		uv_timer_start(&t->timer, on_timeout, t->timeout_ms, 0);
	xfer_step(t);
}

int
dr_transfer_start(uv_loop_t *loop, const struct dr_transfer_opts *o,
                  dr_transfer_cb cb, void *arg, struct dr_transfer **out)
{
	struct dr_transfer *t;
	const char *base, *slash;
	size_t n;

	if (loop == NULL || o == NULL || o->src_path == NULL ||
	    o->dst == NULL || o->dst_path == NULL || *o->src_path == '\0' ||
	    *o->dst_path == '\0')
		return DR_EINVAL;
	if (!dr_ssh_ready(o->dst) || (o->src && !dr_ssh_ready(o->src)))
		return DR_EINVAL;
	if (o->mode != NULL) {
		const char *p;
		if (*o->mode == '\0' || strlen(o->mode) > 4)
			return DR_EINVAL;
		for (p = o->mode; *p; p++)
			if (*p < '0' || *p > '7')
				return DR_EINVAL;
	}
	if (o->sha256 != NULL && strcmp(o->sha256, "manifest") != 0 &&
	    (strlen(o->sha256) != 64 || !is_hex64(o->sha256)))
		return DR_EINVAL;
	n = strlen(o->src_path);
	if (o->src_path[n - 1] == '/')
		return DR_EINVAL;
	slash = strrchr(o->src_path, '/');
	base = slash ? slash + 1 : o->src_path;

	t = dr_xcalloc(1, sizeof(*t));
	t->loop = loop;
	t->label = dr_xstrdup(o->label ? o->label : "transfer");
	t->src = o->src;
	t->dst = o->dst;
	t->src_path = dr_xstrdup(o->src_path);
	n = strlen(o->dst_path);
	if (o->dst_path[n - 1] == '/')
		t->final = dr_xasprintf("%s%s", o->dst_path, base);
	else
		t->final = dr_xstrdup(o->dst_path);
	slash = strrchr(t->final, '/');
	if (slash == NULL)
		t->dir = dr_xstrdup(".");
	else if (slash == t->final)
		t->dir = dr_xstrdup("/");
	else
		t->dir = dr_xstrndup(t->final, (size_t)(slash - t->final));
	{
		static unsigned seq;
		const char *fb = slash ? slash + 1 : t->final;
		t->tmp = dr_xasprintf("%s/.%s.drover-part.%ld-%u", t->dir, fb,
		                      (long)getpid(), ++seq);
	}
	t->mode = o->mode ? dr_xstrdup(o->mode) : NULL;
	if (o->sha256 != NULL && strcmp(o->sha256, "manifest") == 0)
		t->manifest = true;
	else if (o->sha256 != NULL)
		lower_hex(t->want, o->sha256);
	t->timeout_ms = o->timeout_ms;
	t->start_ms = dr_now_mono_ms();
	t->ring = dr_xmalloc(XRING);
	t->lfd = -1;
	t->cb = cb;
	t->arg = arg;
	uv_timer_init(loop, &t->timer);
	t->timer.data = t;
	/* Start on the next turn: no callback from inside this call. */
	uv_timer_start(&t->timer, on_start, 0, 0);
	if (out != NULL)
		*out = t;
	return 0;
}

int
dr_transfer_cancel(struct dr_transfer *t)
{
	if (t == NULL || t->st == X_CLOSING || t->status != 0)
		return DR_EINVAL;
	fail(t, DR_ECANCELED, "cancelled");
	after_failure(t);
	return 0;
}
