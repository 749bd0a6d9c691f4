/*
 * test_etcd.c: the etcd v3 gateway messages (etcd.h): base64 both ways,
 * 64-bit numbers as strings, proto field names in the bodies, proto3's
 * omitted fields in the answers (a txn without "succeeded" failed, a
 * keepalive without "TTL" expired, a range without "kvs" found nothing),
 * error answers; and the journal's replica hook (journal.h): a batch's
 * callbacks wait for the replica, and a refused batch fails the journal.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <uv.h>

#include "drover/etcd.h"
#include "drover/journal.h"

static void
b64_round_trip(void **state)
{
	static const char *const cases[][2] = {
	    {"", ""},
	    {"f", "Zg=="},
	    {"fo", "Zm8="},
	    {"foo", "Zm9v"},
	    {"foob", "Zm9vYg=="},
	    {"fooba", "Zm9vYmE="},
	    {"foobar", "Zm9vYmFy"},
	    {"/drover/lab/torino/leader",
	     "L2Ryb3Zlci9sYWIvdG9yaW5vL2xlYWRlcg=="},
	};
	size_t i, n;
	char *e, *d;

	(void)state;
	for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		e = dr_etcd_b64(cases[i][0], strlen(cases[i][0]));
		assert_string_equal(e, cases[i][1]);
		assert_int_equal(dr_etcd_unb64(e, &d, &n), 0);
		assert_int_equal(n, strlen(cases[i][0]));
		assert_string_equal(d, cases[i][0]);
		free(e);
		free(d);
	}
	/* Binary bytes, a NUL and a newline included. */
	{
		unsigned char bin[256];
		for (i = 0; i < 256; i++)
			bin[i] = (unsigned char)i;
		e = dr_etcd_b64(bin, 256);
		assert_int_equal(dr_etcd_unb64(e, &d, &n), 0);
		assert_int_equal(n, 256);
		assert_memory_equal(d, bin, 256);
		free(e);
		free(d);
	}
	assert_int_equal(dr_etcd_unb64("Zm9v!", &d, &n), -1);
	assert_int_equal(dr_etcd_unb64("Z", &d, &n), -1);
	assert_int_equal(dr_etcd_unb64("Zg", &d, &n), 0); /* no padding */
	assert_string_equal(d, "f");
	free(d);
}

static void
numbers_as_strings(void **state)
{
	json_t *v;
	int64_t x;

	(void)state;
	v = json_string("7587869174399025410");
	assert_int_equal(dr_etcd_num(v, &x), 0);
	assert_true(x == INT64_C(7587869174399025410));
	json_decref(v);
	v = json_integer(42);
	assert_int_equal(dr_etcd_num(v, &x), 0);
	assert_int_equal(x, 42);
	json_decref(v);
	assert_int_equal(dr_etcd_num(NULL, &x), 0); /* omitted: zero */
	assert_int_equal(x, 0);
	v = json_string("12x");
	assert_int_equal(dr_etcd_num(v, &x), -1);
	json_decref(v);
	v = json_true();
	assert_int_equal(dr_etcd_num(v, &x), -1);
	json_decref(v);
}

static void
txn_body_fields(void **state)
{
	struct dr_etcd_cmp cmp = {"/k/leader", DR_ETCD_CREATE, 0};
	struct dr_etcd_cmp cmp2 = {"/k/run", DR_ETCD_MOD, 12};
	struct dr_etcd_cmp both[2];
	struct dr_etcd_op ops[2] = {
	    {"/k/leader", "v", 1, INT64_C(7587869174399025410), false},
	    {"/k/old", NULL, 0, 0, true}};
	char *body;
	json_t *o, *c, *p;

	(void)state;
	both[0] = cmp;
	both[1] = cmp2;
	body = dr_etcd_txn_body(both, 2, ops, 2);
	o = json_loads(body, 0, NULL);
	assert_non_null(o);
	c = json_array_get(json_object_get(o, "compare"), 0);
	assert_string_equal(json_string_value(json_object_get(c, "key")),
	                    "L2svbGVhZGVy");
	assert_string_equal(json_string_value(json_object_get(c, "target")),
	                    "CREATE");
	assert_string_equal(json_string_value(json_object_get(c, "result")),
	                    "EQUAL");
	/* A 64-bit number is a string, zero included. */
	assert_string_equal(
	    json_string_value(json_object_get(c, "create_revision")), "0");
	c = json_array_get(json_object_get(o, "compare"), 1);
	assert_string_equal(json_string_value(json_object_get(c, "target")),
	                    "MOD");
	assert_string_equal(
	    json_string_value(json_object_get(c, "mod_revision")), "12");
	p = json_object_get(json_array_get(json_object_get(o, "success"), 0),
	                    "request_put");
	assert_non_null(p);
	assert_string_equal(json_string_value(json_object_get(p, "value")),
	                    "dg==");
	assert_string_equal(json_string_value(json_object_get(p, "lease")),
	                    "7587869174399025410");
	assert_non_null(
	    json_object_get(json_array_get(json_object_get(o, "success"), 1),
	                    "request_delete_range"));
	json_decref(o);
	free(body);

	body = dr_etcd_range_body("/a/", true);
	assert_string_equal(body, "{\"key\":\"L2Ev\",\"range_end\":\"L2Ew\"}");
	free(body);
	body = dr_etcd_range_body("/a", false);
	assert_string_equal(body, "{\"key\":\"L2E=\"}");
	free(body);
	body = dr_etcd_grant_body(3);
	assert_string_equal(body, "{\"TTL\":\"3\"}");
	free(body);
	body = dr_etcd_lease_body(INT64_C(7587869174399025410));
	assert_string_equal(body, "{\"ID\":\"7587869174399025410\"}");
	free(body);
}

static void
txn_answers(void **state)
{
	bool ok = true;
	int64_t rev = 0;
	char *why = NULL;

	(void)state;
	/* What 3.4.23 answers, succeeded and not (no "succeeded" at all). */
	assert_int_equal(
	    dr_etcd_parse_txn("{\"header\":{\"cluster_id\":\"1\",\"member_id\":"
	                      "\"2\",\"revision\":\"17\",\"raft_term\":\"2\"},"
	                      "\"succeeded\":true,\"responses\":[{\"response_"
	                      "put\":{\"header\":{\"revision\":\"17\"}}}]}",
	                      &ok, &rev, &why),
	    0);
	assert_true(ok);
	assert_int_equal(rev, 17);
	ok = true;
	assert_int_equal(dr_etcd_parse_txn("{\"header\":{\"revision\":\"18\"}}",
	                                   &ok, &rev, &why),
	                 0);
	assert_false(ok); /* omitted false: the compare failed */
	assert_int_equal(rev, 18);
	assert_int_equal(
	    dr_etcd_parse_txn("{\"error\":\"etcdserver: request timed out\","
	                      "\"code\":14,\"message\":\"etcdserver: request "
	                      "timed out\"}",
	                      &ok, &rev, &why),
	    -1);
	assert_non_null(strstr(why, "request timed out"));
	free(why);
	why = NULL;
	assert_int_equal(dr_etcd_parse_txn("not json", &ok, &rev, &why), -1);
	free(why);
	why = NULL;
	assert_int_equal(
	    dr_etcd_parse_txn("{\"succeeded\":\"yes\"}", &ok, &rev, &why), -1);
	free(why);
}

static void
range_answers(void **state)
{
	struct dr_etcd_kvs k;
	char *why = NULL;

	(void)state;
	assert_int_equal(
	    dr_etcd_parse_range(
	        "{\"header\":{\"revision\":\"30\"},\"kvs\":[{\"key\":"
	        "\"L2svbGVhZGVy\",\"create_revision\":\"22\",\"mod_revision\":"
	        "\"22\",\"version\":\"1\",\"value\":\"dg==\",\"lease\":"
	        "\"7587869174399025410\"},{\"key\":\"L2svcnVu\",\"create_"
	        "revision\":\"3\",\"mod_revision\":\"29\",\"version\":\"4\"}],"
	        "\"count\":\"2\"}",
	        &k, &why),
	    0);
	assert_int_equal(k.n, 2);
	assert_int_equal(k.revision, 30);
	assert_string_equal(k.kv[0].key, "/k/leader");
	assert_string_equal(k.kv[0].value, "v");
	assert_int_equal(k.kv[0].create_revision, 22);
	assert_true(k.kv[0].lease == INT64_C(7587869174399025410));
	/* No value, no lease: empty and zero. */
	assert_string_equal(k.kv[1].value, "");
	assert_int_equal(k.kv[1].len, 0);
	assert_int_equal(k.kv[1].lease, 0);
	assert_int_equal(k.kv[1].mod_revision, 29);
	dr_etcd_kvs_free(&k);
	/* Nothing found: no "kvs", no "count". */
	assert_int_equal(
	    dr_etcd_parse_range("{\"header\":{\"revision\":\"5\"}}", &k, &why),
	    0);
	assert_int_equal(k.n, 0);
	dr_etcd_kvs_free(&k);
	assert_int_equal(
	    dr_etcd_parse_range("{\"header\":{},\"kvs\":[{\"key\":\"!!\"}]}",
	                        &k, &why),
	    -1);
	free(why);
}

static void
lease_answers(void **state)
{
	int64_t id = 0, ttl = 0;
	char *why = NULL;

	(void)state;
	assert_int_equal(
	    dr_etcd_parse_grant("{\"header\":{\"revision\":\"3\"},\"ID\":"
	                        "\"7587869174399025410\",\"TTL\":\"3\"}",
	                        &id, &ttl, &why),
	    0);
	assert_true(id == INT64_C(7587869174399025410));
	assert_int_equal(ttl, 3);
	assert_int_equal(
	    dr_etcd_parse_grant("{\"header\":{}}", &id, &ttl, &why), -1);
	free(why);
	why = NULL;
	/* keepalive: one stream message, then the connection closes. */
	assert_int_equal(
	    dr_etcd_parse_keepalive("{\"result\":{\"header\":{\"revision\":"
	                            "\"3\"},\"ID\":\"7587869174399025410\","
	                            "\"TTL\":\"3\"}}",
	                            &ttl, &why),
	    0);
	assert_int_equal(ttl, 3);
	/* An expired lease: TTL omitted (zero). */
	ttl = 9;
	assert_int_equal(
	    dr_etcd_parse_keepalive("{\"result\":{\"header\":{\"revision\":"
	                            "\"3\"},\"ID\":\"7587869174399025410\"}}",
	                            &ttl, &why),
	    0);
	assert_int_equal(ttl, 0);
	assert_int_equal(
	    dr_etcd_parse_keepalive("{\"error\":{\"grpc_code\":14,\"message\":"
	                            "\"no leader\"}}",
	                            &ttl, &why),
	    -1);
	free(why);
}

/* ---- the journal's replica hook ---- */

struct rep {
	uv_loop_t loop;
	uv_timer_t timer;
	int refuse;     /* status to answer */
	size_t batches; /* batches seen */
	char got[4096]; /* their bytes, in order */
	size_t got_len;
	uint64_t first_seq[8];
	dr_journal_replica_done done;
	void *done_arg;
	int cb_before_done; /* record callbacks run while a batch waited */
	int cbs, statuses[8];
	bool waiting;
};

static void
answer(uv_timer_t *t)
{
	struct rep *r = t->data;

	r->waiting = false;
	r->done(r->done_arg, r->refuse,
	        r->refuse ? "refused by the test" : NULL);
}

static void
replica(void *arg, const char *name, uint64_t first_seq, const char *buf,
        size_t len, dr_journal_replica_done done, void *done_arg)
{
	struct rep *r = arg;

	assert_string_equal(name, "journal");
	r->first_seq[r->batches++] = first_seq;
	memcpy(r->got + r->got_len, buf, len);
	r->got_len += len;
	r->done = done;
	r->done_arg = done_arg;
	r->waiting = true;
	uv_timer_start(&r->timer, answer, 20, 0); /* later, from the loop */
}

static void
record_cb(int status, uint64_t seq, void *arg)
{
	struct rep *r = arg;

	(void)seq;
	if (r->waiting)
		r->cb_before_done++;
	r->statuses[r->cbs++] = status;
}

static void
closed(uv_handle_t *h)
{
	(void)h;
}

static void
run_replica(struct rep *r, const char *dir)
{
	char path[256], *file = NULL;
	struct dr_journal *j = NULL;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/journal", dir);
	uv_loop_init(&r->loop);
	uv_timer_init(&r->loop, &r->timer);
	r->timer.data = r;
	assert_int_equal(dr_journal_open(&r->loop, path, 1, &j), 0);
	dr_journal_set_replica(j, replica, r);
	assert_int_equal(dr_journal_append(j, "{\"a\":1}", 7, record_cb, r), 0);
	assert_int_equal(dr_journal_append(j, "{\"b\":2}", 7, record_cb, r), 0);
	uv_run(&r->loop, UV_RUN_NOWAIT); /* the first batch goes */
	(void)dr_journal_append(j, "{\"c\":3}", 7, record_cb, r);
	dr_journal_close(j, NULL, NULL);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	uv_close((uv_handle_t *)&r->timer, closed);
	uv_run(&r->loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(&r->loop), 0);
	/* The replica has the file's bytes (what was durable here). */
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	file = calloc(1, (size_t)n + 1);
	assert_int_equal(fread(file, 1, (size_t)n, f), (size_t)n);
	fclose(f);
	assert_true(r->got_len <= (size_t)n);
	assert_memory_equal(r->got, file, r->got_len);
	if (!r->refuse)
		assert_int_equal(r->got_len, (size_t)n);
	free(file);
}

static void
replica_is_the_barrier(void **state)
{
	struct rep *r = calloc(1, sizeof(*r));
	char dir[] = "/tmp/drover-etcd-XXXXXX";
	char path[300];

	(void)state;
	assert_non_null(mkdtemp(dir));
	run_replica(r, dir);
	assert_int_equal(r->cbs, 3);
	assert_int_equal(r->cb_before_done, 0); /* never before the replica */
	assert_int_equal(r->statuses[0] + r->statuses[1] + r->statuses[2], 0);
	assert_int_equal(r->batches, 2); /* one per group commit */
	assert_int_equal(r->first_seq[0], 1);
	assert_int_equal(r->first_seq[1], 3);
	snprintf(path, sizeof(path), "%s/journal", dir);
	unlink(path);
	rmdir(dir);
	free(r);
}

static void
refused_replica_fails_the_journal(void **state)
{
	struct rep *r = calloc(1, sizeof(*r));
	char dir[] = "/tmp/drover-etcd-XXXXXX";
	char path[300];

	(void)state;
	r->refuse = -3; /* DR_EIO */
	assert_non_null(mkdtemp(dir));
	run_replica(r, dir);
	assert_int_equal(r->batches, 1); /* nothing more was sent */
	assert_int_equal(r->cb_before_done, 0);
	assert_true(r->cbs >= 2);
	assert_int_not_equal(r->statuses[0], 0);
	assert_int_not_equal(r->statuses[1], 0);
	snprintf(path, sizeof(path), "%s/journal", dir);
	unlink(path);
	rmdir(dir);
	free(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(b64_round_trip),
	    cmocka_unit_test(numbers_as_strings),
	    cmocka_unit_test(txn_body_fields),
	    cmocka_unit_test(txn_answers),
	    cmocka_unit_test(range_answers),
	    cmocka_unit_test(lease_answers),
	    cmocka_unit_test(replica_is_the_barrier),
	    cmocka_unit_test(refused_replica_fails_the_journal),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
