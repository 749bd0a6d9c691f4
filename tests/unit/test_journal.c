/*
 * test_journal.c: the run journal on real files with real fsync: format,
 * group commit, replay, torn tails against corruption, failure injection,
 * close without leaks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <uv.h>

#include "drover/journal.h"

#define MAXCB 4096

struct t {
	uv_loop_t loop;
	struct dr_journal *j;
	char dir[128];
	char path[256];
	int closed;
	/* callbacks seen, in the order they ran */
	size_t ncb;
	uint64_t seq[MAXCB];
	int status[MAXCB];
	uint64_t syncs_at[MAXCB];
	/* optional hook run from the callback of record hook_seq */
	uint64_t hook_seq;
	void (*hook)(struct t *);
	/* driver state for idle-driven tests */
	uv_idle_t driver;
	int turns;
	size_t appended;
	size_t target;
	int last_append_rc;
};

/* ---- helpers ---- */

/* Bitwise CRC-32C, independent of the table-driven one under test. */
static uint32_t
ref_crc32c(uint32_t crc, const void *p, size_t n)
{
	const unsigned char *s = p;

	crc = ~crc;
	while (n--) {
		crc ^= *s++;
		for (int k = 0; k < 8; k++)
			crc = (crc >> 1) ^ (0x82f63b78u & (0u - (crc & 1)));
	}
	return ~crc;
}

/* Writes one record the way the format says, seq chosen by the caller. */
static void
put_record(FILE *f, uint64_t seq, const char *payload)
{
	char hdr[64];
	size_t len = strlen(payload);
	int hl = snprintf(hdr, sizeof(hdr), "J1 %" PRIu64 " %zu ", seq, len);
	uint32_t crc = ref_crc32c(ref_crc32c(0, hdr, (size_t)hl), payload, len);

	fprintf(f, "%s%08x %s\n", hdr, crc, payload);
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	fseek(f, 0, SEEK_SET);
	buf = malloc((size_t)n + 1);
	assert_non_null(buf);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	*len = (size_t)n;
	return buf;
}

static void
spit(const char *path, const char *buf, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(buf, 1, len, f), len);
	assert_int_equal(fclose(f), 0);
}

static void
on_sync(int status, uint64_t seq, void *arg)
{
	struct t *t = arg;
	uint64_t syncs;

	assert_true(t->ncb < MAXCB);
	dr_journal_stats(t->j, NULL, &syncs);
	t->seq[t->ncb] = seq;
	t->status[t->ncb] = status;
	t->syncs_at[t->ncb] = syncs;
	t->ncb++;
	if (t->hook != NULL && seq == t->hook_seq)
		t->hook(t);
}

static void
on_closed(void *arg)
{
	struct t *t = arg;

	t->closed++;
	t->j = NULL;
}

/* Closes the journal, runs the loop dry and checks nothing leaked. */
static void
close_and_check(struct t *t)
{
	if (t->j != NULL)
		dr_journal_close(t->j, on_closed, t);
	assert_int_equal(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(t->closed, 1);
	assert_int_equal(uv_loop_close(&t->loop), 0);
}

static void
open_journal(struct t *t, uint64_t next_seq)
{
	t->closed = 0;
	t->ncb = 0;
	t->hook = NULL;
	assert_int_equal(uv_loop_init(&t->loop), 0);
	assert_int_equal(dr_journal_open(&t->loop, t->path, next_seq, &t->j),
	                 0);
}

static void
payload_for(size_t i, char *buf, size_t cap)
{
	/* vary the length so that records straddle pages */
	snprintf(buf, cap, "{\"i\":%zu,\"pad\":\"%.*s\"}", i, (int)(i % 83),
	         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx"
	         "xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx");
}

/* Writes n records 1..n with payload_for(i) through the journal. */
static void
write_records(struct t *t, size_t n)
{
	char p[160];

	open_journal(t, 1);
	for (size_t i = 1; i <= n; i++) {
		payload_for(i, p, sizeof(p));
		assert_int_equal(
		    dr_journal_append(t->j, p, strlen(p), on_sync, t), 0);
	}
	close_and_check(t);
	assert_int_equal(t->ncb, n);
}

struct seen {
	size_t n;
	uint64_t seq[MAXCB];
	char *payload[MAXCB];
	size_t len[MAXCB];
	size_t stop_after; /* 0: never stop */
};

static int
collect(uint64_t seq, const char *payload, size_t len, void *arg)
{
	struct seen *s = arg;

	assert_true(s->n < MAXCB);
	assert_int_equal(payload[len], '\0');
	s->seq[s->n] = seq;
	s->payload[s->n] = strndup(payload, len);
	s->len[s->n] = len;
	s->n++;
	if (s->stop_after && s->n == s->stop_after)
		return 42;
	return 0;
}

static void
seen_free(struct seen *s)
{
	for (size_t i = 0; i < s->n; i++)
		free(s->payload[i]);
	s->n = 0;
}

static void
check_seen(struct seen *s, size_t n)
{
	char p[160];

	assert_int_equal(s->n, n);
	for (size_t i = 0; i < n; i++) {
		payload_for(i + 1, p, sizeof(p));
		assert_int_equal(s->seq[i], i + 1);
		assert_string_equal(s->payload[i], p);
	}
}

/* Offset of the start of record number k (1-based) in buf. */
static size_t
record_offset(const char *buf, size_t len, size_t k)
{
	size_t off = 0;

	for (size_t i = 1; i < k; i++) {
		const char *nl = memchr(buf + off, '\n', len - off);
		assert_non_null(nl);
		off = (size_t)(nl - buf) + 1;
	}
	return off;
}

/* ---- setup ---- */

static int
setup(void **state)
{
	struct t *t = calloc(1, sizeof(*t));

	if (t == NULL)
		return -1;
	snprintf(t->dir, sizeof(t->dir), "/tmp/drover-journal-XXXXXX");
	if (mkdtemp(t->dir) == NULL)
		return -1;
	snprintf(t->path, sizeof(t->path), "%s/journal", t->dir);
	*state = t;
	return 0;
}

static int
teardown(void **state)
{
	struct t *t = *state;
	DIR *d = opendir(t->dir);
	struct dirent *e;
	char p[512];

	while (d != NULL && (e = readdir(d)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		snprintf(p, sizeof(p), "%s/%s", t->dir, e->d_name);
		unlink(p);
	}
	if (d != NULL)
		closedir(d);
	rmdir(t->dir);
	free(t);
	return 0;
}

/* ---- tests ---- */

static void
test_format(void **state)
{
	struct t *t = *state;
	char want[128];
	uint32_t crc;
	struct stat st;
	size_t len;
	char *got;

	assert_int_equal(ref_crc32c(0, "123456789", 9), 0xe3069283u);
	open_journal(t, 1);
	assert_int_equal(dr_journal_append(t->j, "hello", 5, on_sync, t), 0);
	assert_int_equal(dr_journal_append(t->j, "", 0, on_sync, t), 0);
	close_and_check(t);
	assert_int_equal(t->ncb, 2);
	assert_int_equal(t->status[0], 0);
	assert_int_equal(t->seq[0], 1);
	assert_int_equal(t->seq[1], 2);

	crc = ref_crc32c(ref_crc32c(0, "J1 1 5 ", 7), "hello", 5);
	len = (size_t)snprintf(want, sizeof(want), "J1 1 5 %08x hello\n", crc);
	crc = ref_crc32c(0, "J1 2 0 ", 7);
	snprintf(want + len, sizeof(want) - len, "J1 2 0 %08x \n", crc);
	got = slurp(t->path, &len);
	assert_string_equal(got, want);
	free(got);
	assert_int_equal(stat(t->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
}

static void
drive_thousand(uv_idle_t *h)
{
	struct t *t = h->data;
	size_t k = (size_t)(t->turns * 37 % 97) + 1;
	char p[160];

	t->turns++;
	for (size_t i = 0; i < k && t->appended < t->target; i++) {
		payload_for(++t->appended, p, sizeof(p));
		assert_int_equal(
		    dr_journal_append(t->j, p, strlen(p), on_sync, t), 0);
	}
	if (t->appended == t->target) {
		uv_idle_stop(h);
		uv_close((uv_handle_t *)h, NULL);
		dr_journal_close(t->j, on_closed, t);
	}
}

static void
test_thousand_records(void **state)
{
	struct t *t = *state;
	struct dr_journal_info info;
	struct seen *s = calloc(1, sizeof(*s));
	size_t len;
	char *buf;

	open_journal(t, 1);
	t->target = 1000;
	uv_idle_init(&t->loop, &t->driver);
	t->driver.data = t;
	uv_idle_start(&t->driver, drive_thousand);
	assert_int_equal(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(t->closed, 1);
	assert_int_equal(uv_loop_close(&t->loop), 0);
	assert_true(t->turns > 5);

	assert_int_equal(t->ncb, 1000);
	for (size_t i = 0; i < 1000; i++) {
		assert_int_equal(t->seq[i], i + 1);
		assert_int_equal(t->status[i], 0);
	}
	/* several batches, far fewer syncs than records */
	assert_true(t->syncs_at[999] > 1);
	assert_true(t->syncs_at[999] < 1000);
	printf("# 1000 records over %d turns: %" PRIu64 " syncs\n", t->turns,
	       t->syncs_at[999]);

	assert_int_equal(dr_journal_replay(t->path, collect, s, &info), 0);
	check_seen(s, 1000);
	buf = slurp(t->path, &len);
	free(buf);
	assert_int_equal(info.nrecords, 1000);
	assert_int_equal(info.last_seq, 1000);
	assert_int_equal(info.torn_bytes, 0);
	assert_int_equal(info.valid_bytes, len);
	assert_int_equal(info.file_bytes, len);
	assert_string_equal(info.error, "");
	seen_free(s);
	free(s);
}

static void
append_three_more(struct t *t)
{
	uint64_t records, syncs;

	/* inside a sync callback of the first batch */
	dr_journal_stats(t->j, &records, &syncs);
	assert_int_equal(records, 100);
	assert_int_equal(syncs, 1);
	for (int i = 0; i < 3; i++)
		assert_int_equal(
		    dr_journal_append(t->j, "{\"more\":true}", 13, on_sync, t),
		    0);
	t->hook_seq = 103;
}

static void
stats_and_close(struct t *t)
{
	uint64_t records, syncs;

	dr_journal_stats(t->j, &records, &syncs);
	assert_int_equal(records, 103);
	assert_int_equal(syncs, 2);
	dr_journal_close(t->j, on_closed, t);
	/* closing: no more appends */
	assert_int_equal(dr_journal_append(t->j, "x", 1, on_sync, t),
	                 DR_EINVAL);
}

static void
hook_dispatch(struct t *t)
{
	if (t->hook_seq == 50)
		append_three_more(t);
	else
		stats_and_close(t);
}

static void
test_group_commit(void **state)
{
	struct t *t = *state;
	char p[160];

	open_journal(t, 1);
	for (size_t i = 1; i <= 100; i++) {
		payload_for(i, p, sizeof(p));
		assert_int_equal(
		    dr_journal_append(t->j, p, strlen(p), on_sync, t), 0);
	}
	t->hook_seq = 50;
	t->hook = hook_dispatch;
	assert_int_equal(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(t->closed, 1);
	assert_int_equal(uv_loop_close(&t->loop), 0);

	assert_int_equal(t->ncb, 103);
	for (size_t i = 0; i < 103; i++) {
		assert_int_equal(t->seq[i], i + 1);
		assert_int_equal(t->status[i], 0);
		/* one sync for the 100, the next one for the 3 */
		assert_int_equal(t->syncs_at[i], i < 100 ? 1 : 2);
	}
}

static void
drive_one_per_turn(uv_idle_t *h)
{
	struct t *t = h->data;
	char p[160];

	payload_for(++t->appended, p, sizeof(p));
	assert_int_equal(dr_journal_append(t->j, p, strlen(p), on_sync, t), 0);
	if (t->appended == t->target) {
		uv_idle_stop(h);
		uv_close((uv_handle_t *)h, NULL);
		dr_journal_close(t->j, on_closed, t);
	}
}

/* One append per loop turn: records queued while a write+sync is in flight
 * share the next batch, so a batch spans at least two turns. */
static void
test_batches_while_in_flight(void **state)
{
	struct t *t = *state;
	struct seen *s = calloc(1, sizeof(*s));

	open_journal(t, 1);
	t->target = 300;
	uv_idle_init(&t->loop, &t->driver);
	t->driver.data = t;
	uv_idle_start(&t->driver, drive_one_per_turn);
	assert_int_equal(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&t->loop), 0);
	assert_int_equal(t->ncb, 300);
	for (size_t i = 0; i < 300; i++)
		assert_int_equal(t->seq[i], i + 1);
	printf("# 300 turns, one record each: %" PRIu64 " syncs\n",
	       t->syncs_at[299]);
	assert_true(t->syncs_at[299] <= 151);
	assert_int_equal(dr_journal_replay(t->path, collect, s, NULL), 0);
	check_seen(s, 300);
	seen_free(s);
	free(s);
}

static void
test_torn_tail(void **state)
{
	struct t *t = *state;
	struct dr_journal_info info;
	struct seen *s = calloc(1, sizeof(*s));
	size_t len, last, prev, cut[6];
	char *orig;

	write_records(t, 20);
	orig = slurp(t->path, &len);
	last = record_offset(orig, len, 20);
	prev = record_offset(orig, len, 19);
	cut[0] = 1; /* only the '\n' */
	cut[1] = 2;
	cut[2] = 7;
	cut[3] = (len - last) / 2;
	cut[4] = len - last - 1; /* only "J" left */
	cut[5] = len - prev - 3; /* into record 19, record 20 gone */

	for (size_t c = 0; c < 6; c++) {
		size_t k = cut[c];
		bool two = c == 5;
		size_t good = two ? prev : last;
		char p[64];

		spit(t->path, orig, len - k);
		assert_int_equal(dr_journal_replay(t->path, collect, s, &info),
		                 0);
		check_seen(s, two ? 18 : 19);
		seen_free(s);
		assert_int_equal(info.nrecords, two ? 18 : 19);
		assert_int_equal(info.last_seq, two ? 18 : 19);
		assert_int_equal(info.valid_bytes, good);
		assert_int_equal(info.torn_bytes, len - k - good);
		assert_int_equal(info.file_bytes, len - k);

		/* not truncated: appending would bury the torn record */
		assert_int_equal(uv_loop_init(&t->loop), 0);
		assert_int_equal(dr_journal_open(&t->loop, t->path,
		                                 info.last_seq + 1, &t->j),
		                 DR_EINVAL);
		assert_null(t->j);
		assert_int_equal(uv_loop_close(&t->loop), 0);

		assert_int_equal(dr_journal_truncate_torn(t->path, &info), 0);
		assert_int_equal(info.torn_bytes, 0);
		assert_int_equal(info.file_bytes, good);
		assert_int_equal(dr_journal_replay(t->path, NULL, NULL, &info),
		                 0);
		assert_int_equal(info.torn_bytes, 0);
		assert_int_equal(info.valid_bytes, good);

		/* appends continue with the right seq */
		open_journal(t, info.last_seq + 1);
		snprintf(p, sizeof(p), "{\"after\":%zu}", k);
		assert_int_equal(
		    dr_journal_append(t->j, p, strlen(p), on_sync, t), 0);
		close_and_check(t);
		assert_int_equal(t->ncb, 1);
		assert_int_equal(t->status[0], 0);
		assert_int_equal(t->seq[0], info.last_seq + 1);
		assert_int_equal(dr_journal_replay(t->path, collect, s, &info),
		                 0);
		assert_int_equal(info.nrecords, two ? 19 : 20);
		assert_int_equal(info.torn_bytes, 0);
		assert_string_equal(s->payload[s->n - 1], p);
		assert_int_equal(s->seq[s->n - 1], s->n);
		seen_free(s);
	}
	free(orig);
	free(s);
}

/* Flips byte at (record k start + delta) and expects corruption there. */
static void
expect_corrupt(struct t *t, const char *orig, size_t len, size_t k, long delta,
               const char *reason)
{
	struct dr_journal_info info;
	struct seen *s = calloc(1, sizeof(*s));
	char *buf = malloc(len);
	size_t off = record_offset(orig, len, k);
	size_t at = delta < 0 ? record_offset(orig, len, k + 1) - 1
	                      : off + (size_t)delta;
	char want[320];

	memcpy(buf, orig, len);
	buf[at] ^= 0x01;
	spit(t->path, buf, len);
	assert_int_equal(dr_journal_replay(t->path, collect, s, &info), DR_EIO);
	printf("# %s\n", info.error);
	snprintf(want, sizeof(want), "record %zu at byte %zu is corrupt", k,
	         off);
	assert_non_null(strstr(info.error, want));
	assert_non_null(strstr(info.error, t->path));
	/* what to do is the caller's to say (a journal may be cut, an
	 * audit trail is evidence): only where the bad record starts */
	assert_null(strstr(info.error, "truncate"));
	assert_int_equal(info.bad_offset, off);
	assert_non_null(strstr(info.error, reason));
	assert_int_equal(info.nrecords, k - 1);
	assert_int_equal(info.valid_bytes, off);
	assert_int_equal(info.torn_bytes, 0);
	/* the good prefix was delivered */
	check_seen(s, k - 1);
	/* and the file is refused for appending (its end is fine, the seq
	 * is not): truncation is the operator's call, not ours */
	seen_free(s);
	free(s);
	free(buf);
}

static void
test_corrupt_middle(void **state)
{
	struct t *t = *state;
	size_t len;
	char *orig;

	write_records(t, 20);
	orig = slurp(t->path, &len);
	/* a payload byte of record 7 */
	expect_corrupt(t, orig, len, 7, 30, "checksum mismatch");
	/* its seq digit */
	expect_corrupt(t, orig, len, 7, 3, "checksum mismatch");
	/* its magic */
	expect_corrupt(t, orig, len, 7, 0, "bad header");
	/* its newline: the line runs into record 8 */
	expect_corrupt(t, orig, len, 7, -1, "no end of line");
	/* the first record */
	expect_corrupt(t, orig, len, 1, 25, "checksum mismatch");
	/* the newline of record 19: the final line holds a valid record 20,
	 * so this is not a torn tail */
	expect_corrupt(t, orig, len, 19, -1, "a valid record follows it");
	free(orig);
}

static void
test_corrupt_last_is_torn(void **state)
{
	struct t *t = *state;
	struct dr_journal_info info;
	struct seen *s = calloc(1, sizeof(*s));
	size_t len, last;
	char *orig, *buf;
	long deltas[] = {30, 3, 0, 12, -1};

	write_records(t, 20);
	orig = slurp(t->path, &len);
	last = record_offset(orig, len, 20);
	buf = malloc(len);
	for (size_t d = 0; d < sizeof(deltas) / sizeof(deltas[0]); d++) {
		size_t at = deltas[d] < 0 ? len - 1 : last + (size_t)deltas[d];
		memcpy(buf, orig, len);
		buf[at] ^= 0x01;
		spit(t->path, buf, len);
		assert_int_equal(dr_journal_replay(t->path, collect, s, &info),
		                 0);
		check_seen(s, 19);
		seen_free(s);
		assert_int_equal(info.valid_bytes, last);
		assert_int_equal(info.torn_bytes, len - last);
		assert_string_equal(info.error, "");
	}
	free(buf);
	free(orig);
	free(s);
}

static void
write_seqs(const char *path, const uint64_t *seqs, size_t n)
{
	FILE *f = fopen(path, "wb");
	char p[64];

	assert_non_null(f);
	for (size_t i = 0; i < n; i++) {
		snprintf(p, sizeof(p), "{\"n\":%zu}", i);
		put_record(f, seqs[i], p);
	}
	assert_int_equal(fclose(f), 0);
}

static void
test_seq_gap_and_repeat(void **state)
{
	struct t *t = *state;
	struct dr_journal_info info;
	uint64_t ok[] = {1, 2, 3, 4};
	uint64_t gap[] = {1, 2, 4, 5};
	uint64_t rep[] = {1, 2, 2, 3};
	uint64_t gap_last[] = {1, 2, 3, 5};
	uint64_t first[] = {2, 3};

	write_seqs(t->path, ok, 4);
	assert_int_equal(dr_journal_replay(t->path, NULL, NULL, &info), 0);
	assert_int_equal(info.nrecords, 4);

	write_seqs(t->path, gap, 4);
	assert_int_equal(dr_journal_replay(t->path, NULL, NULL, &info), DR_EIO);
	printf("# %s\n", info.error);
	assert_non_null(strstr(info.error, "record 3 at byte"));
	assert_non_null(strstr(info.error, "gap"));
	assert_int_equal(info.nrecords, 2);

	write_seqs(t->path, rep, 4);
	assert_int_equal(dr_journal_replay(t->path, NULL, NULL, &info), DR_EIO);
	assert_non_null(strstr(info.error, "record 3 at byte"));
	assert_non_null(strstr(info.error, "repeat"));

	/* a whole, checksummed last record out of sequence is not torn */
	write_seqs(t->path, gap_last, 4);
	assert_int_equal(dr_journal_replay(t->path, NULL, NULL, &info), DR_EIO);
	assert_non_null(strstr(info.error, "record 4 at byte"));
	assert_int_equal(info.torn_bytes, 0);

	write_seqs(t->path, first, 2);
	assert_int_equal(dr_journal_replay(t->path, NULL, NULL, &info), DR_EIO);
	assert_non_null(strstr(info.error, "record 1 at byte 0"));
}

static void
check_failed_message(struct t *t, const char *op)
{
	const char *msg = NULL;
	char want[64];

	assert_true(dr_journal_failed(t->j, &msg));
	assert_non_null(msg);
	printf("# %s\n", msg);
	snprintf(want, sizeof(want), ": %s: ", op);
	assert_non_null(strstr(msg, want));
	assert_non_null(strstr(msg, t->path));
	assert_non_null(strstr(msg, "Input/output error"));
	assert_non_null(strstr(msg, "stopping: no new task may start"));
}

static void
after_failure(struct t *t)
{
	/* from inside the failed batch's callbacks */
	assert_int_equal(t->status[t->ncb - 1], DR_EIO);
	assert_int_equal(dr_journal_append(t->j, "x", 1, on_sync, t), DR_EIO);
}

static void
test_fail_sync(void **state)
{
	struct t *t = *state;
	uint64_t records, syncs;
#ifndef DROVER_TEST_HOOKS
	skip(); /* fault injection is compiled in test builds only */
	return;
#endif

	setenv("DROVER_JOURNAL_FAIL_AFTER", "2", 1); /* the first sync */
	open_journal(t, 1);
	unsetenv("DROVER_JOURNAL_FAIL_AFTER");
	assert_false(dr_journal_failed(t->j, NULL));
	for (int i = 0; i < 3; i++)
		assert_int_equal(dr_journal_append(t->j, "{}", 2, on_sync, t),
		                 0);
	t->hook_seq = 1;
	t->hook = after_failure;
	assert_int_equal(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(t->ncb, 3);
	for (size_t i = 0; i < 3; i++) {
		assert_int_equal(t->seq[i], i + 1);
		assert_int_equal(t->status[i], DR_EIO);
	}
	check_failed_message(t, "fdatasync");
	dr_journal_stats(t->j, &records, &syncs);
	assert_int_equal(records, 0);
	assert_int_equal(syncs, 0);
	assert_int_equal(dr_journal_append(t->j, "{}", 2, on_sync, t), DR_EIO);
	close_and_check(t);
	assert_int_equal(t->ncb, 3);
}

static void
second_batch(struct t *t)
{
	assert_int_equal(t->status[t->ncb - 1], 0);
	assert_int_equal(dr_journal_append(t->j, "{\"b\":1}", 7, on_sync, t),
	                 0);
	assert_int_equal(dr_journal_append(t->j, "{\"b\":2}", 7, on_sync, t),
	                 0);
	t->hook_seq = 3;
	t->hook = after_failure;
}

static void
test_fail_write(void **state)
{
	struct t *t = *state;
#ifndef DROVER_TEST_HOOKS
	skip(); /* fault injection is compiled in test builds only */
	return;
#endif

	setenv("DROVER_JOURNAL_FAIL_AFTER", "3", 1); /* the second write */
	open_journal(t, 1);
	unsetenv("DROVER_JOURNAL_FAIL_AFTER");
	assert_int_equal(dr_journal_append(t->j, "{\"a\":1}", 7, on_sync, t),
	                 0);
	assert_int_equal(dr_journal_append(t->j, "{\"a\":2}", 7, on_sync, t),
	                 0);
	t->hook_seq = 2;
	t->hook = second_batch;
	assert_int_equal(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(t->ncb, 4);
	assert_int_equal(t->status[0], 0);
	assert_int_equal(t->status[1], 0);
	assert_int_equal(t->status[2], DR_EIO);
	assert_int_equal(t->status[3], DR_EIO);
	check_failed_message(t, "write");
	close_and_check(t);
}

/*
 * Turn 1 appends record 2 (same batch as record 1), turn 2 appends record 3
 * while that batch is in flight (a write+sync takes at least two turns);
 * then wait for the failure and check that appends are refused.
 */
static void
drive_until_refused(uv_idle_t *h)
{
	struct t *t = h->data;

	if (t->appended < 3) {
		assert_false(dr_journal_failed(t->j, NULL));
		assert_int_equal(dr_journal_append(t->j, "{}", 2, on_sync, t),
		                 0);
		t->appended++;
		return;
	}
	if (!dr_journal_failed(t->j, NULL))
		return;
	t->last_append_rc = dr_journal_append(t->j, "{}", 2, on_sync, t);
	uv_idle_stop(h);
	uv_close((uv_handle_t *)h, NULL);
	dr_journal_close(t->j, on_closed, t);
}

/* Records queued while the failing batch is in flight fail too. */
static void
test_fail_pending(void **state)
{
	struct t *t = *state;
#ifndef DROVER_TEST_HOOKS
	skip(); /* fault injection is compiled in test builds only */
	return;
#endif

	setenv("DROVER_JOURNAL_FAIL_AFTER", "2", 1);
	open_journal(t, 1);
	unsetenv("DROVER_JOURNAL_FAIL_AFTER");
	assert_int_equal(dr_journal_append(t->j, "{}", 2, on_sync, t), 0);
	t->appended = 1;
	uv_idle_init(&t->loop, &t->driver);
	t->driver.data = t;
	uv_idle_start(&t->driver, drive_until_refused);
	assert_int_equal(uv_run(&t->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&t->loop), 0);
	assert_int_equal(t->closed, 1);
	assert_int_equal(t->last_append_rc, DR_EIO);
	assert_int_equal(t->ncb, 3);
	for (size_t i = 0; i < t->ncb; i++) {
		assert_int_equal(t->seq[i], i + 1);
		assert_int_equal(t->status[i], DR_EIO);
	}
}

static void
test_alloc_failure(void **state)
{
	struct t *t = *state;
	struct seen *s = calloc(1, sizeof(*s));
#ifndef DROVER_TEST_HOOKS
	skip(); /* fault injection is compiled in test builds only */
	return;
#endif

	for (int n = 1; n <= 4; n++) {
		char env[8], p[160];
		size_t ok = 0, refused = 0;

		snprintf(env, sizeof(env), "%d", n);
		setenv("DROVER_JOURNAL_FAIL_ALLOC", env, 1);
		unlink(t->path);
		open_journal(t, 1);
		unsetenv("DROVER_JOURNAL_FAIL_ALLOC");
		for (size_t i = 0; i < 100; i++) {
			int r;
			payload_for(ok + 1, p, sizeof(p));
			r = dr_journal_append(t->j, p, strlen(p), on_sync, t);
			if (r == DR_ENOMEM) {
				refused++;
			} else {
				assert_int_equal(r, 0);
				ok++;
			}
		}
		assert_int_equal(refused, 1);
		assert_false(dr_journal_failed(t->j, NULL));
		close_and_check(t);
		assert_int_equal(t->ncb, ok);
		/* the refused record used no seq: the file has no gap */
		assert_int_equal(dr_journal_replay(t->path, collect, s, NULL),
		                 0);
		check_seen(s, ok);
		seen_free(s);
	}
	free(s);
}

static void
test_utf8_and_quotes(void **state)
{
	struct t *t = *state;
	struct seen *s = calloc(1, sizeof(*s));
	const char *payloads[] = {
	    "{\"tenant\":\"Città di Brescia\",\"note\":\"«anagrafe» – ok\"}",
	    "{\"q\":\"\\\"quoted\\\" 'single' \\\\ back\\/slash\\t\"}",
	    "{\"emoji\":\"\xf0\x9f\x9b\x9f\",\"jp\":\"給与\"}",
	    "J1 1 5 00000000 not a header",
	    "",
	};
	size_t n = sizeof(payloads) / sizeof(payloads[0]);

	open_journal(t, 1);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(dr_journal_append(t->j, payloads[i],
		                                   strlen(payloads[i]), on_sync,
		                                   t),
		                 0);
	assert_int_equal(dr_journal_append(t->j, "a\nb", 3, on_sync, t),
	                 DR_EINVAL);
	close_and_check(t);
	assert_int_equal(dr_journal_replay(t->path, collect, s, NULL), 0);
	assert_int_equal(s->n, n);
	for (size_t i = 0; i < n; i++) {
		assert_int_equal(s->len[i], strlen(payloads[i]));
		assert_memory_equal(s->payload[i], payloads[i], s->len[i]);
	}
	seen_free(s);
	free(s);
}

static void
test_replay_edges(void **state)
{
	struct t *t = *state;
	struct dr_journal_info info;
	struct seen *s = calloc(1, sizeof(*s));
	char odd[300];
	FILE *f;

	assert_int_equal(dr_journal_replay(t->path, NULL, NULL, &info),
	                 DR_ENOTFOUND);
	assert_non_null(strstr(info.error, t->path));

	/* opening creates an empty journal: no records, clean */
	open_journal(t, 1);
	close_and_check(t);
	assert_int_equal(dr_journal_replay(t->path, NULL, NULL, &info), 0);
	assert_int_equal(info.nrecords, 0);
	assert_int_equal(info.last_seq, 0);
	assert_int_equal(info.file_bytes, 0);

	/* next_seq must match an empty or a non-empty file */
	assert_int_equal(uv_loop_init(&t->loop), 0);
	assert_int_equal(dr_journal_open(&t->loop, t->path, 5, &t->j),
	                 DR_EINVAL);
	assert_int_equal(uv_loop_close(&t->loop), 0);
	write_records(t, 5);
	assert_int_equal(uv_loop_init(&t->loop), 0);
	assert_int_equal(dr_journal_open(&t->loop, t->path, 1, &t->j),
	                 DR_EINVAL);
	assert_int_equal(dr_journal_open(&t->loop, t->path, 0, &t->j),
	                 DR_EINVAL);
	assert_int_equal(uv_loop_close(&t->loop), 0);

	/* fn stops the replay; its value comes back */
	s->stop_after = 3;
	assert_int_equal(dr_journal_replay(t->path, collect, s, &info), 42);
	assert_int_equal(s->n, 3);
	assert_int_equal(info.nrecords, 5);
	seen_free(s);

	/* garbage only: a single torn line */
	f = fopen(t->path, "wb");
	fputs("garbage", f);
	fclose(f);
	assert_int_equal(dr_journal_replay(t->path, NULL, NULL, &info), 0);
	assert_int_equal(info.torn_bytes, 7);
	assert_int_equal(info.valid_bytes, 0);
	/* the file changed since: truncate_torn refuses */
	f = fopen(t->path, "ab");
	fputs("more", f);
	fclose(f);
	assert_int_equal(dr_journal_truncate_torn(t->path, &info), DR_EINVAL);
	assert_non_null(strstr(info.error, "changed since it was read"));

	/* garbage lines followed by more data: corruption, not torn */
	f = fopen(t->path, "wb");
	put_record(f, 1, "{}");
	fputs("garbage\nmore garbage\n", f);
	fclose(f);
	assert_int_equal(dr_journal_replay(t->path, NULL, NULL, &info), DR_EIO);
	assert_non_null(strstr(info.error, "record 2 at byte 19"));

	/* a path that needs quoting is named as it is */
	snprintf(odd, sizeof(odd), "%s/it's a journal", t->dir);
	f = fopen(odd, "wb");
	put_record(f, 1, "{}");
	fputs("x\n", f);
	put_record(f, 2, "{}");
	fclose(f);
	assert_int_equal(dr_journal_replay(odd, NULL, NULL, &info), DR_EIO);
	printf("# %s\n", info.error);
	assert_non_null(
	    strstr(info.error, "/it's a journal: record 2 at byte"));
	assert_int_equal(info.bad_offset, 19);
	free(s);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test_setup_teardown(test_format, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_thousand_records, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_group_commit, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_batches_while_in_flight, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_torn_tail, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_middle, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_corrupt_last_is_torn, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_seq_gap_and_repeat, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_fail_sync, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fail_write, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_fail_pending, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_alloc_failure, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_utf8_and_quotes, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_replay_edges, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
