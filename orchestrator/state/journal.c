/*
 * journal.c: the append-only journal of a run: framed, checksummed records,
 * group commit on the loop (one write + one fdatasync per batch, in one job
 * on libuv's thread pool), and a synchronous replay that tells a torn tail from
 * corruption.
 *
 * Memory: everything here uses malloc/realloc and reports DR_ENOMEM (the
 * journal write path must report exactly, never abort).
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/journal.h"

#define MAGIC "J1 "
#define MAGIC_LEN 3
#define CRC_HEX 8

/* ---- CRC-32C (Castagnoli, reflected polynomial 0x82f63b78) ---- */

static uint32_t crc_table[256];
static int crc_ready;

static void
crc_init(void)
{
	for (uint32_t i = 0; i < 256; i++) {
		uint32_t c = i;
		for (int k = 0; k < 8; k++)
			c = (c & 1) ? (c >> 1) ^ 0x82f63b78u : c >> 1;
		crc_table[i] = c;
	}
	crc_ready = 1;
}

/* Continues crc (0 to start) over n bytes, zlib style. */
static uint32_t
crc32c(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;

	if (!crc_ready)
		crc_init();
	crc = ~crc;
	while (n--)
		crc = crc_table[(crc ^ *s++) & 0xff] ^ (crc >> 8);
	return ~crc;
}

/* ---- record parsing (replay) ---- */

struct rec {
	uint64_t seq;
	size_t payload; /* offset of the payload */
	size_t len;
	size_t end; /* offset just after the '\n' */
};

/* Parses a decimal without leading zeros at buf[*p], followed by ' '. */
static int
parse_dec(const char *buf, size_t size, size_t *p, uint64_t *v)
{
	size_t i = *p, start = *p;
	uint64_t x = 0;

	while (i < size && buf[i] >= '0' && buf[i] <= '9') {
		unsigned d = (unsigned)(buf[i] - '0');
		if (x > (UINT64_MAX - d) / 10)
			return -1;
		x = x * 10 + d;
		i++;
	}
	if (i == start || (buf[start] == '0' && i - start > 1))
		return -1;
	if (i >= size || buf[i] != ' ')
		return -1;
	*p = i + 1;
	*v = x;
	return 0;
}

static int
hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/*
 * Parses the record at buf[off]. Returns 0 and fills *r, or -1 and sets
 * *why to what is wrong with it.
 */
static int
parse_record(const char *buf, size_t size, size_t off, bool check_crc,
             struct rec *r, const char **why)
{
	size_t p = off, crc_at;
	uint64_t seq, len;
	uint32_t want = 0;

	if (size - off < MAGIC_LEN || memcmp(buf + off, MAGIC, MAGIC_LEN)) {
		*why = "bad header";
		return -1;
	}
	p += MAGIC_LEN;
	if (parse_dec(buf, size, &p, &seq) < 0 || seq == 0) {
		*why = "bad sequence number field";
		return -1;
	}
	if (parse_dec(buf, size, &p, &len) < 0 ||
	    len > DR_JOURNAL_MAX_PAYLOAD) {
		*why = "bad length field";
		return -1;
	}
	crc_at = p;
	if (size - p < CRC_HEX + 1 || buf[p + CRC_HEX] != ' ') {
		*why = "bad checksum field";
		return -1;
	}
	for (int i = 0; i < CRC_HEX; i++) {
		int h = hexval(buf[p + (size_t)i]);
		if (h < 0) {
			*why = "bad checksum field";
			return -1;
		}
		want = want << 4 | (uint32_t)h;
	}
	p += CRC_HEX + 1;
	if (size - p < len + 1) {
		*why = "record runs past the end of the file";
		return -1;
	}
	if (buf[p + len] != '\n') {
		*why = "no end of line after the payload";
		return -1;
	}
	if (check_crc &&
	    crc32c(crc32c(0, buf + off, crc_at - off), buf + p, len) != want) {
		*why = "checksum mismatch";
		return -1;
	}
	r->seq = seq;
	r->payload = p;
	r->len = len;
	r->end = p + len + 1;
	return 0;
}

/* True if a record with a good checksum starts anywhere after off. */
static bool
valid_record_after(const char *buf, size_t size, size_t off)
{
	const char *q;
	struct rec r;
	const char *why;

	for (size_t p = off + 1; p < size; p = (size_t)(q - buf) + 1) {
		q = memchr(buf + p, 'J', size - p);
		if (q == NULL)
			return false;
		if (parse_record(buf, size, (size_t)(q - buf), true, &r,
		                 &why) == 0)
			return true;
	}
	return false;
}

/*
 * Says what is wrong and where; what to do about it depends on the file (a
 * run journal, an audit trail), so the callers say that.
 */
static void
set_corrupt(struct dr_journal_info *info, const char *path, uint64_t recno,
            uint64_t off, const char *why)
{
	snprintf(info->error, sizeof(info->error),
	         "%s: record %" PRIu64 " at byte %" PRIu64
	         " is corrupt (%s); the records after it cannot be trusted",
	         path, recno, off, why);
	info->bad_offset = off;
}

/* Reads the whole file; *size is what was read. */
static int
read_all(const char *path, char **out, size_t *size,
         struct dr_journal_info *info)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd, r;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = errno == ENOENT ? DR_ENOTFOUND : DR_EIO;
		snprintf(info->error, sizeof(info->error), "journal %s: %s",
		         path, strerror(errno));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(info->error, sizeof(info->error),
		         "journal %s: fstat: %s", path, strerror(errno));
		r = DR_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		snprintf(info->error, sizeof(info->error),
		         "journal %s: not a regular file", path);
		r = DR_EIO;
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (buf == NULL) {
		snprintf(info->error, sizeof(info->error),
		         "journal %s: out of memory reading %lld bytes", path,
		         (long long)st.st_size);
		r = DR_ENOMEM;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t n = read(fd, buf + got, (size_t)st.st_size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			snprintf(info->error, sizeof(info->error),
			         "journal %s: read at byte %zu: %s", path, got,
			         strerror(errno));
			r = DR_EIO;
			goto out;
		}
		if (n == 0)
			break; /* shrank while reading: take what is there */
		got += (size_t)n;
	}
	buf[got] = '\0';
	*out = buf;
	*size = got;
	buf = NULL;
	r = 0;
out:
	free(buf);
	close(fd);
	return r;
}

int
dr_journal_replay(const char *path, dr_journal_record_fn fn, void *arg,
                  struct dr_journal_info *info)
{
	struct dr_journal_info local;
	char *buf = NULL;
	size_t size = 0, off = 0;
	uint64_t expect = 1;
	struct rec rec;
	const char *why;
	char why_buf[128];
	int r, status = 0;

	if (info == NULL)
		info = &local;
	memset(info, 0, sizeof(*info));
	if (path == NULL)
		return DR_EINVAL;
	if ((r = read_all(path, &buf, &size, info)) != 0)
		return r;
	info->file_bytes = size;

	/* Check everything first, so info is complete before fn runs. */
	while (off < size) {
		if (parse_record(buf, size, off, true, &rec, &why) < 0) {
			const char *nl = memchr(buf + off, '\n', size - off);
			bool last_line = nl == NULL || nl == buf + size - 1;

			if (last_line && !valid_record_after(buf, size, off)) {
				info->torn_bytes = size - off;
				break;
			}
			if (last_line) {
				snprintf(why_buf, sizeof(why_buf),
				         "%s, and a valid record follows it",
				         why);
				why = why_buf;
			}
			set_corrupt(info, path, expect, off, why);
			status = DR_EIO;
			break;
		}
		if (rec.seq != expect) {
			char why_seq[96];
			snprintf(why_seq, sizeof(why_seq),
			         "sequence number %" PRIu64 " where %" PRIu64
			         " was expected: a %s",
			         rec.seq, expect,
			         rec.seq > expect ? "gap" : "repeat");
			set_corrupt(info, path, expect, off, why_seq);
			status = DR_EIO;
			break;
		}
		off = rec.end;
		expect++;
	}
	info->valid_bytes = off;
	info->nrecords = expect - 1;
	info->last_seq = expect - 1;

	/* Deliver the valid prefix. */
	for (size_t p = 0; fn != NULL && p < info->valid_bytes; p = rec.end) {
		int stop;

		parse_record(buf, size, p, false, &rec, &why);
		buf[rec.payload + rec.len] = '\0'; /* was the '\n' */
		stop = fn(rec.seq, buf + rec.payload, rec.len, arg);
		if (stop != 0) {
			status = stop;
			break;
		}
	}
	free(buf);
	return status;
}

int
dr_journal_truncate_torn(const char *path, struct dr_journal_info *info)
{
	struct stat st;
	int fd, r = 0;

	if (path == NULL || info == NULL)
		return DR_EINVAL;
	info->error[0] = '\0';
	if (info->torn_bytes == 0)
		return 0;
	fd = open(path, O_WRONLY | O_CLOEXEC);
	if (fd < 0) {
		snprintf(info->error, sizeof(info->error), "journal %s: %s",
		         path, strerror(errno));
		return errno == ENOENT ? DR_ENOTFOUND : DR_EIO;
	}
	if (fstat(fd, &st) < 0) {
		snprintf(info->error, sizeof(info->error),
		         "journal %s: fstat: %s", path, strerror(errno));
		r = DR_EIO;
		goto out;
	}
	if ((uint64_t)st.st_size != info->file_bytes ||
	    info->valid_bytes + info->torn_bytes != info->file_bytes) {
		snprintf(info->error, sizeof(info->error),
		         "journal %s: changed since it was read (%lld bytes, "
		         "was %" PRIu64 "); read it again before truncating",
		         path, (long long)st.st_size, info->file_bytes);
		r = DR_EINVAL;
		goto out;
	}
	if (ftruncate(fd, (off_t)info->valid_bytes) < 0 || fsync(fd) < 0) {
		snprintf(info->error, sizeof(info->error),
		         "journal %s: truncate at byte %" PRIu64 ": %s", path,
		         info->valid_bytes, strerror(errno));
		r = DR_EIO;
		goto out;
	}
	info->file_bytes = info->valid_bytes;
	info->torn_bytes = 0;
out:
	close(fd);
	return r;
}

/* ---- writing ---- */

struct pend {
	uint64_t seq;
	dr_journal_sync_cb cb;
	void *arg;
};

/* Framed records waiting for (or in) one write + sync. */
struct batch {
	char *buf;
	size_t len, cap;
	struct pend *recs;
	size_t n, ncap;
};

enum jstate {
	J_IDLE,        /* nothing in flight */
	J_WRITING,     /* the inflight batch's write and fdatasync (one job) */
	J_REPLICATING, /* synced here, the replica not done yet */
	J_CLOSING,     /* uv_fs_close of the file */
	J_CLOSED,      /* handles closing; freed in the last close callback */
	J_LAST
};

static const char *const jstate_names[] = {"idle", "writing", "replicating",
                                           "closing", "closed"};
_Static_assert(DR_NELEM(jstate_names) == J_LAST, "jstate_names");

struct dr_journal {
	uv_loop_t *loop;
	uv_idle_t idle; /* keeps poll from blocking while a flush is due */
	/* Flushes at the end of the loop turn, with no wait: a timer that held
	 * a batch 5 ms after the last one cut the fdatasyncs of a 26,000-task
	 * run by 40% (14,550 to 8,730) but not its CPU (7.95 s against 7.98 s,
	 * mean of two), and cost about 3.5 s of its 47 s of wall time. */
	uv_check_t check;
	uv_fs_t req;      /* the close */
	uv_work_t work;   /* the one write + fdatasync in flight */
	int w_err, s_err; /* their errors (-errno), 0: none */
	size_t w_done;    /* bytes the write took */
	uv_file fd;
	char *path;
	char *message; /* why it failed; sized at open */
	size_t message_cap;
	enum jstate state;
	bool armed;
	bool failed;
	bool closing;
	uint64_t next_seq;
	struct batch pending;  /* appended, not yet written */
	struct batch inflight; /* being written and synced */
	uint64_t ops;          /* writes + syncs issued */
	uint64_t fail_after;   /* DROVER_JOURNAL_FAIL_AFTER, 0: off */
	uint64_t allocs;       /* allocations attempted by append */
	uint64_t fail_alloc;   /* DROVER_JOURNAL_FAIL_ALLOC, 0: off */
	uint64_t nrecords, nsyncs;
	int handles_open;
	void (*close_cb)(void *);
	void *close_arg;
	dr_journal_replica_fn replica; /* NULL: the local file only */
	void *replica_arg;
	const char *name; /* the file's base name, for the replica */
	bool rep_pending; /* the inflight batch is with the replica */
	int rep_status;   /* what the replica said of it */
	char rep_why[256];
};

static void kick(struct dr_journal *j);

/* The only way to change state (one place to trace or assert from). */
static void
set_state(struct dr_journal *j, enum jstate s)
{
	dr_trace_state("journal", j->path, jstate_names[j->state],
	               jstate_names[s]);
	j->state = s;
}

#ifdef DROVER_TEST_HOOKS
static uint64_t
env_count(const char *name)
{
	const char *v = getenv(name);
	char *end;
	unsigned long long n;

	if (v == NULL || *v < '0' || *v > '9')
		return 0;
	errno = 0;
	n = strtoull(v, &end, 10);
	if (errno || *end)
		return 0;
	return n;
}
#endif

static void *
jrealloc(struct dr_journal *j, void *p, size_t n)
{
	if (j->fail_alloc && ++j->allocs == j->fail_alloc)
		return NULL;
	return realloc(p, n);
}

/* Makes room for one more record of extra bytes, or returns DR_ENOMEM. */
static int
reserve(struct dr_journal *j, struct batch *b, size_t extra)
{
	if (b->cap - b->len < extra) {
		size_t cap = b->cap ? b->cap : 4096;
		char *p;
		while (cap - b->len < extra) {
			if (cap > SIZE_MAX / 2)
				return DR_ENOMEM;
			cap *= 2;
		}
		if ((p = jrealloc(j, b->buf, cap)) == NULL)
			return DR_ENOMEM;
		b->buf = p;
		b->cap = cap;
	}
	if (b->n == b->ncap) {
		size_t ncap = b->ncap ? b->ncap * 2 : 64;
		struct pend *p;
		if (ncap > SIZE_MAX / sizeof(*p))
			return DR_ENOMEM;
		if ((p = jrealloc(j, b->recs, ncap * sizeof(*p))) == NULL)
			return DR_ENOMEM;
		b->recs = p;
		b->ncap = ncap;
	}
	return 0;
}

static void
batch_free(struct batch *b)
{
	free(b->buf);
	free(b->recs);
}

/* Runs the callbacks of b in seq order, then empties it. */
static void
deliver(struct batch *b, int status)
{
	size_t n = b->n;

	for (size_t i = 0; i < n; i++)
		if (b->recs[i].cb != NULL)
			b->recs[i].cb(status, b->recs[i].seq, b->recs[i].arg);
	b->n = 0;
	b->len = 0;
}

static void
noop_idle(uv_idle_t *h)
{
	(void)h;
}

static void check_cb(uv_check_t *h);

static void
arm(struct dr_journal *j)
{
	if (j->armed)
		return;
	uv_idle_start(&j->idle, noop_idle);
	uv_check_start(&j->check, check_cb);
	j->armed = true;
}

static void
disarm(struct dr_journal *j)
{
	if (!j->armed)
		return;
	uv_idle_stop(&j->idle);
	uv_check_stop(&j->check);
	j->armed = false;
}

/*
 * Fails the journal for good: the batch in flight and everything queued get
 * DR_EIO, in seq order; later appends return DR_EIO.
 */
static void
fail(struct dr_journal *j, const char *op, const char *reason)
{
	j->failed = true;
	snprintf(j->message, j->message_cap,
	         "journal %s: %s: %s; stopping: no new task may start", j->path,
	         op, reason);
	disarm(j);
	set_state(j, J_IDLE);
	deliver(&j->inflight, DR_EIO);
	deliver(&j->pending, DR_EIO);
	kick(j);
}

static void
fail_uv(struct dr_journal *j, const char *op, ssize_t err, bool injected)
{
	char reason[160];

	if (injected)
		snprintf(reason, sizeof(reason),
		         "%s (injected by DROVER_JOURNAL_FAIL_AFTER=%" PRIu64
		         ")",
		         strerror(EIO), j->fail_after);
	else
		snprintf(reason, sizeof(reason), "%s", strerror((int)-err));
	fail(j, op, reason);
}

static bool
injected(const struct dr_journal *j)
{
	return j->fail_after != 0 && j->ops == j->fail_after;
}

/* The batch is durable here (and in the replica, if there is one). */
static void
batch_durable(struct dr_journal *j)
{
	j->nrecords += j->inflight.n;
	set_state(j, J_IDLE);
	deliver(&j->inflight, 0);
	kick(j);
}

/* Both ends of a batch are in: the file's fdatasync and the replica's. */
static void
finish_batch(struct dr_journal *j)
{
	if (j->rep_status != 0) {
		fail(j, "replicate",
		     j->rep_why[0] ? j->rep_why : dr_strerror(j->rep_status));
		return;
	}
	batch_durable(j);
}

/*
 * The replica's answer; it may come before or after the local fdatasync
 * (both were started together), or after the journal failed.
 */
static void
replica_done(void *arg, int status, const char *why)
{
	struct dr_journal *j = arg;

	j->rep_pending = false;
	if (status != 0) {
		j->rep_status = status;
		snprintf(j->rep_why, sizeof(j->rep_why), "%s", why ? why : "");
	}
	if (j->state == J_REPLICATING)
		finish_batch(j);
	else if (j->state == J_IDLE)
		kick(j); /* failed meanwhile: a close may wait for this */
}

/* On the thread pool: the whole batch written, then fdatasync. */
static void
flush_work(uv_work_t *w)
{
	struct dr_journal *j = w->data;
	const char *p = j->inflight.buf;
	size_t len = j->inflight.len;

	j->w_err = j->s_err = 0;
	j->w_done = 0;
	while (j->w_done < len) {
		ssize_t n = write(j->fd, p + j->w_done, len - j->w_done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			j->w_err = -errno;
		if (n <= 0)
			return;
		j->w_done += (size_t)n;
	}
	if (fdatasync(j->fd) != 0)
		j->s_err = -errno;
}

/* Back on the loop: the write's outcome, then the sync's. */
static void
flush_done(uv_work_t *w, int status)
{
	struct dr_journal *j = w->data;

	if (status != 0) { /* cancelled: never happens while it runs */
		fail_uv(j, "write", status, false);
		return;
	}
	if (j->w_err != 0 || injected(j)) {
		fail_uv(j, "write", j->w_err, j->w_err == 0);
		return;
	}
	if (j->w_done != j->inflight.len) {
		char reason[96];
		snprintf(reason, sizeof(reason),
		         "short write (%zu of %zu bytes)", j->w_done,
		         j->inflight.len);
		fail(j, "write", reason);
		return;
	}
	j->ops++; /* the sync, for DROVER_JOURNAL_FAIL_AFTER */
	if (j->s_err != 0 || injected(j)) {
		fail_uv(j, "fdatasync", j->s_err, j->s_err == 0);
		return;
	}
	j->nsyncs++;
	if (j->rep_pending) { /* the same barrier waits for the replica */
		set_state(j, J_REPLICATING);
		return;
	}
	finish_batch(j);
}

/* Writes the pending batch and syncs it: one job on the thread pool. */
static void
start_write(struct dr_journal *j)
{
	struct batch t = j->inflight;
	int r;

	j->inflight = j->pending; /* inflight is empty: swap the buffers */
	j->pending = t;
	set_state(j, J_WRITING);
	if (j->replica != NULL) {
		/* The replica gets the batch as the file does, at once: one
		 * wait for both (it copies what it keeps). */
		j->rep_pending = true;
		j->rep_status = 0;
		j->rep_why[0] = '\0';
		j->replica(j->replica_arg, j->name, j->inflight.recs[0].seq,
		           j->inflight.buf, j->inflight.len, replica_done, j);
	}
	j->ops++;
	j->work.data = j;
	r = uv_queue_work(j->loop, &j->work, flush_work, flush_done);
	if (r < 0)
		fail_uv(j, "write", r, false);
}

static void
handle_closed(uv_handle_t *h)
{
	struct dr_journal *j = h->data;
	void (*cb)(void *) = j->close_cb;
	void *arg = j->close_arg;

	if (--j->handles_open > 0)
		return;
	batch_free(&j->pending);
	batch_free(&j->inflight);
	free(j->message);
	free(j->path);
	free(j);
	if (cb != NULL)
		cb(arg);
}

static void
close_handles(struct dr_journal *j)
{
	set_state(j, J_CLOSED);
	disarm(j);
	uv_close((uv_handle_t *)&j->idle, handle_closed);
	uv_close((uv_handle_t *)&j->check, handle_closed);
}

static void
fd_closed(uv_fs_t *req)
{
	struct dr_journal *j = req->data;

	/* Everything was synced already; a close error changes nothing. */
	uv_fs_req_cleanup(req);
	close_handles(j);
}

static void
start_close(struct dr_journal *j)
{
	set_state(j, J_CLOSING);
	if (uv_fs_close(j->loop, &j->req, j->fd, fd_closed) < 0) {
		close(j->fd);
		close_handles(j);
	}
}

/* Decides what happens next once nothing is in flight. */
static void
kick(struct dr_journal *j)
{
	if (j->state != J_IDLE || j->rep_pending)
		return;
	if (!j->failed && j->pending.n > 0)
		arm(j);
	else if (j->closing) {
		disarm(j);
		start_close(j);
	}
}

static void
check_cb(uv_check_t *h)
{
	struct dr_journal *j = h->data;

	disarm(j);
	if (j->state == J_IDLE && !j->failed && j->pending.n > 0)
		start_write(j);
	else
		kick(j);
}

int
dr_journal_append(struct dr_journal *j, const char *payload, size_t len,
                  dr_journal_sync_cb cb, void *arg)
{
	struct batch *b;
	char hdr[64];
	int hl, r;
	uint32_t crc;
	char *w;

	if (j == NULL || (payload == NULL && len > 0))
		return DR_EINVAL;
	if (j->failed)
		return DR_EIO;
	if (j->closing || len > DR_JOURNAL_MAX_PAYLOAD ||
	    (len > 0 && memchr(payload, '\n', len) != NULL))
		return DR_EINVAL;
	hl = snprintf(hdr, sizeof(hdr), MAGIC "%" PRIu64 " %zu ", j->next_seq,
	              len);
	b = &j->pending;
	if ((r = reserve(j, b, (size_t)hl + CRC_HEX + 1 + len + 1)) != 0)
		return r;
	crc = crc32c(crc32c(0, hdr, (size_t)hl), payload, len);
	w = b->buf + b->len;
	memcpy(w, hdr, (size_t)hl);
	w += hl;
	for (int i = CRC_HEX - 1; i >= 0; i--) {
		w[i] = "0123456789abcdef"[crc & 0xf];
		crc >>= 4;
	}
	w += CRC_HEX;
	*w++ = ' ';
	if (len > 0)
		memcpy(w, payload, len);
	w += len;
	*w++ = '\n';
	b->len = (size_t)(w - b->buf);
	b->recs[b->n].seq = j->next_seq++;
	b->recs[b->n].cb = cb;
	b->recs[b->n].arg = arg;
	b->n++;
	kick(j);
	return 0;
}

/* fsyncs the directory holding path, so that a new entry survives. */
static int
fsync_dir(const char *path)
{
	char *copy = strdup(path);
	int fd, r = 0;

	if (copy == NULL)
		return DR_ENOMEM;
	fd = open(dirname(copy), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (fd < 0)
		r = DR_EIO;
	else {
		if (fsync(fd) < 0 && errno != EINVAL)
			r = DR_EIO;
		close(fd);
	}
	free(copy);
	return r;
}

int
dr_journal_open(uv_loop_t *loop, const char *path, uint64_t next_seq,
                struct dr_journal **out)
{
	struct dr_journal *j = NULL;
	struct stat st;
	bool created = false;
	int fd = -1, r;

	if (out != NULL)
		*out = NULL;
	if (loop == NULL || path == NULL || *path == '\0' || out == NULL ||
	    next_seq == 0)
		return DR_EINVAL;
	for (int tries = 0; fd < 0 && tries < 2; tries++) {
		fd = open(path, O_RDWR | O_APPEND | O_CLOEXEC);
		if (fd >= 0 || errno != ENOENT)
			break;
		fd =
		    open(path, O_RDWR | O_APPEND | O_CREAT | O_EXCL | O_CLOEXEC,
		         0600);
		if (fd >= 0)
			created = true;
		else if (errno != EEXIST)
			break;
	}
	if (fd < 0)
		return DR_EIO;
	if (fstat(fd, &st) < 0) {
		r = DR_EIO;
		goto out;
	}
	if (!S_ISREG(st.st_mode) || (st.st_size == 0) != (next_seq == 1)) {
		r = DR_EINVAL;
		goto out;
	}
	if (st.st_size > 0) {
		char last;
		if (pread(fd, &last, 1, st.st_size - 1) != 1) {
			r = DR_EIO;
			goto out;
		}
		if (last != '\n') {
			r = DR_EINVAL; /* a torn tail: truncate it first */
			goto out;
		}
	}
	if (created && (fsync(fd) < 0 || fsync_dir(path) != 0)) {
		r = DR_EIO;
		goto out;
	}
	if ((j = calloc(1, sizeof(*j))) == NULL ||
	    (j->path = strdup(path)) == NULL) {
		r = DR_ENOMEM;
		goto out;
	}
	j->message_cap = strlen(path) + 256;
	if ((j->message = calloc(1, j->message_cap)) == NULL) {
		r = DR_ENOMEM;
		goto out;
	}
	j->loop = loop;
	j->fd = fd;
	j->next_seq = next_seq;
#ifdef DROVER_TEST_HOOKS /* test builds only (CMake DROVER_TEST_HOOKS) */
	j->fail_after = env_count("DROVER_JOURNAL_FAIL_AFTER");
	j->fail_alloc = env_count("DROVER_JOURNAL_FAIL_ALLOC");
#endif
	set_state(j, J_IDLE);
	uv_idle_init(loop, &j->idle);
	uv_check_init(loop, &j->check);
	j->idle.data = j;
	j->check.data = j;
	j->req.data = j;
	j->handles_open = 2;
	*out = j;
	return 0;
out:
	if (j != NULL) {
		free(j->path);
		free(j);
	}
	close(fd);
	return r;
}

bool
dr_journal_failed(const struct dr_journal *j, const char **message)
{
	bool failed = j != NULL && j->failed;

	if (message != NULL)
		*message = failed ? j->message : NULL;
	return failed;
}

void
dr_journal_stats(const struct dr_journal *j, uint64_t *records, uint64_t *syncs)
{
	if (records != NULL)
		*records = j ? j->nrecords : 0;
	if (syncs != NULL)
		*syncs = j ? j->nsyncs : 0;
}

void
dr_journal_set_replica(struct dr_journal *j, dr_journal_replica_fn fn,
                       void *arg)
{
	const char *slash;

	if (j == NULL)
		return;
	slash = strrchr(j->path, '/');
	j->name = slash ? slash + 1 : j->path;
	j->replica = fn;
	j->replica_arg = arg;
}

void
dr_journal_close(struct dr_journal *j, void (*cb)(void *), void *arg)
{
	if (j == NULL || j->closing)
		return;
	j->closing = true;
	j->close_cb = cb;
	j->close_arg = arg;
	kick(j);
}
