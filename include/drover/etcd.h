/*
 * etcd.h: etcd's v3 JSON gateway (etcd 3.4: /v3/kv/range, /v3/kv/txn,
 * /v3/lease/grant, /v3/lease/keepalive, /v3/lease/revoke,
 * /v3/auth/authenticate) through libcurl and jansson.
 *
 * Two halves:
 *  - the messages, pure functions (unit-tested): keys and values travel in
 *    base64, 64-bit numbers as JSON strings, fields by their proto names
 *    (create_revision, request_put, mod_revision). proto3 JSON leaves out
 *    false, zero and empty fields: a txn answer without "succeeded" is a
 *    compare that failed, a keepalive answer without "TTL" is a lease that
 *    has expired, a range without "kvs" found nothing.
 *  - the requests, on a libuv loop: each one is a blocking libcurl POST run
 *    on libuv's thread pool (uv_queue_work), the way the journal runs its
 *    fdatasync there, and its answer is delivered on the loop thread. Why the
 *    thread pool rather than curl multi on uv_poll: an etcd request is one
 *    short POST (the keepalive endpoint answers one message and closes the
 *    connection), at most two are in flight at a time (a keepalive and a
 *    txn), and every one is bounded by libcurl's own timeout
 *    (CURLOPT_TIMEOUT_MS, required: without quorum a member holds a request
 *    until the client's deadline), so a worker thread is never held longer
 *    than that bound and the pool keeps threads for the journal. The loop
 *    thread never blocks.
 */
#ifndef DROVER_ETCD_H
#define DROVER_ETCD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#define DR_ETCD_MAX_ENDPOINTS 16

/* How to reach the cluster. Strings are borrowed for the client's life. */
struct dr_etcd_cfg {
	const char *endpoints[DR_ETCD_MAX_ENDPOINTS]; /* http(s)://host:port */
	size_t nendpoints;
	const char *cacert;   /* TLS: CA bundle; NULL: the system's */
	const char *cert;     /* TLS client certificate, or NULL */
	const char *key;      /* its private key, or NULL */
	const char *user;     /* etcd auth user, or NULL: no auth */
	const char *password; /* its password (from the environment) */
};

/* ---- messages ---- */

/* Standard base64 with padding; caller frees. */
char *dr_etcd_b64(const void *p, size_t n);

/*
 * Decodes standard base64 (padding optional). Returns 0 with *out
 * (NUL-terminated, caller frees) and *n, or -1 on a bad character.
 */
int dr_etcd_unb64(const char *s, char **out, size_t *n);

/*
 * A 64-bit number as the gateway writes it: a JSON string of decimal
 * digits, or a JSON integer. Missing (v NULL) is 0 (proto3 omits zero).
 * Returns 0, or -1 if v is something else.
 */
struct json_t;
int dr_etcd_num(const struct json_t *v, int64_t *out);

enum dr_etcd_target { DR_ETCD_CREATE, DR_ETCD_MOD };

/* A compare: the key's create_revision or mod_revision EQUAL value. */
struct dr_etcd_cmp {
	const char *key;
	enum dr_etcd_target target;
	int64_t value;
};

/* A put (value of len bytes, lease 0: none) or, with del, a delete. */
struct dr_etcd_op {
	const char *key;
	const char *value;
	size_t len;
	int64_t lease;
	bool del;
};

/* The body of a /v3/kv/txn; caller frees. */
char *dr_etcd_txn_body(const struct dr_etcd_cmp *cmp, size_t ncmp,
                       const struct dr_etcd_op *ops, size_t nops);

/*
 * The body of a /v3/kv/range for key, or with prefix every key that
 * starts with key (range_end: key with its last byte plus one).
 */
char *dr_etcd_range_body(const char *key, bool prefix);

/* A lease request body: {"TTL": "ttl"} (grant) or {"ID": "id"}. */
char *dr_etcd_grant_body(int64_t ttl_s);
char *dr_etcd_lease_body(int64_t id);

/* One key of a range answer; strings owned by the dr_etcd_kvs. */
struct dr_etcd_kv {
	char *key;
	char *value; /* NUL-terminated; len bytes */
	size_t len;
	int64_t create_revision, mod_revision, lease;
};

struct dr_etcd_kvs {
	struct dr_etcd_kv *kv;
	size_t n;
	int64_t revision; /* the header's: the store's revision */
};

void dr_etcd_kvs_free(struct dr_etcd_kvs *k);

/*
 * Parsers of the answers. Each returns 0, or -1 with *why (caller frees)
 * saying what is wrong: the body is not JSON, is an error answer
 * ({"error": ..., "code": ...}), or a field has the wrong type.
 */
int dr_etcd_parse_txn(const char *body, bool *succeeded, int64_t *revision,
                      char **why);
int dr_etcd_parse_range(const char *body, struct dr_etcd_kvs *out, char **why);
int dr_etcd_parse_grant(const char *body, int64_t *id, int64_t *ttl,
                        char **why);
/* *ttl 0: the lease has expired (or never existed). */
int dr_etcd_parse_keepalive(const char *body, int64_t *ttl, char **why);

/* ---- requests ---- */

struct dr_etcd;

/*
 * Creates a client. Endpoints are tried in order from the last one that
 * answered; a member that refuses the connection or does not answer
 * within the timeout passes the request to the next. Returns 0 and *out,
 * or DR_EINVAL (no endpoint).
 */
int dr_etcd_new(const struct dr_etcd_cfg *cfg, struct dr_etcd **out);

/* No request may be in flight. dr_etcd_free(NULL) does nothing. */
void dr_etcd_free(struct dr_etcd *e);

/*
 * The answer: status 0 and body (the HTTP 200 answer, valid during the
 * call), or a negative DR_E* (DR_ETIMEDOUT: no member answered in time;
 * DR_ECONNECT: none could be reached; DR_EPROTO: an error answer) with why,
 * a sentence naming the endpoint(s). From the loop thread.
 */
typedef void (*dr_etcd_cb)(int status, const char *body, const char *why,
                           void *arg);

/*
 * POSTs body to path (e.g. "/v3/kv/txn") on loop, at most timeout_ms per
 * member tried. Returns 0 (cb is called once, later, from the loop) or
 * DR_E* (cb is never called). The loop stays alive until cb has run.
 */
int dr_etcd_post(struct dr_etcd *e, uv_loop_t *loop, const char *path,
                 const char *body, unsigned timeout_ms, dr_etcd_cb cb,
                 void *arg);

/*
 * The same, driving loop until the answer is in: for use outside any
 * callback of loop (before or after the run's uv_run). Returns the status;
 * *body (caller frees, may be NULL) and *why (caller frees) as for the
 * callback.
 */
int dr_etcd_call(struct dr_etcd *e, uv_loop_t *loop, const char *path,
                 const char *body, unsigned timeout_ms, char **answer,
                 char **why);

/* Requests POSTed since the client was made, by path kind. */
struct dr_etcd_stats {
	uint64_t txn, range, keepalive, grant, revoke;
};
void dr_etcd_stats(const struct dr_etcd *e, struct dr_etcd_stats *out);

#endif
