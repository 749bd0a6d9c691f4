/*
 * etcd.c: etcd's v3 JSON gateway: the messages (base64 keys and values,
 * 64-bit numbers as strings, proto3's omitted fields) and the requests,
 * blocking libcurl POSTs on libuv's thread pool with their answers on the
 * loop (see etcd.h for why the thread pool).
 */
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <jansson.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "drover/common.h"
#include "drover/etcd.h"

#define ANSWER_MAX (64u * 1024 * 1024) /* bytes of one answer */

/* ---- base64 (libcrypto's, as hostkeys.c and keys.c use) ---- */

char *
dr_etcd_b64(const void *p, size_t n)
{
	char *out = dr_xmalloc((n + 2) / 3 * 4 + 1);

	EVP_EncodeBlock((unsigned char *)out, p, (int)n);
	return out;
}

int
dr_etcd_unb64(const char *s, char **out, size_t *n)
{
	static const char alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	                               "abcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t len = strlen(s), data = strspn(s, alphabet), pad;
	unsigned char *in, *buf;
	int got;

	/* Padding is optional; nothing but the alphabet before it. */
	if (len - data > 2 || strspn(s + data, "=") != len - data ||
	    data % 4 == 1)
		return -1;
	pad = (4 - data % 4) % 4;
	in = dr_xmalloc(data + pad + 1);
	memcpy(in, s, data);
	memset(in + data, '=', pad);
	buf = dr_xmalloc((data + pad) / 4 * 3 + 1);
	got = EVP_DecodeBlock(buf, in, (int)(data + pad));
	free(in);
	if (got < 0) {
		free(buf);
		return -1;
	}
	got -= (int)pad; /* DecodeBlock counts the padding's zero bytes */
	buf[got] = '\0';
	*out = (char *)buf;
	*n = (size_t)got;
	return 0;
}

/* ---- numbers ---- */

int
dr_etcd_num(const struct json_t *cv, int64_t *out)
{
	json_t *v = (json_t *)cv;
	const char *s;
	char *end;
	long long x;

	*out = 0;
	if (v == NULL)
		return 0;
	if (json_is_integer(v)) {
		*out = (int64_t)json_integer_value(v);
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	s = json_string_value(v);
	if (*s == '\0')
		return -1;
	errno = 0;
	x = strtoll(s, &end, 10);
	if (errno || *end)
		return -1;
	*out = (int64_t)x;
	return 0;
}

static json_t *
num_str(int64_t v)
{
	char b[32];

	snprintf(b, sizeof(b), "%" PRId64, v);
	return json_string(b);
}

static json_t *
b64_json(const void *p, size_t n)
{
	char *s = dr_etcd_b64(p, n);
	json_t *j = json_string(s);

	free(s);
	return j;
}

static char *
dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT);

	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}

/* ---- bodies ---- */

char *
dr_etcd_txn_body(const struct dr_etcd_cmp *cmp, size_t ncmp,
                 const struct dr_etcd_op *ops, size_t nops)
{
	json_t *o = json_object(), *ca = json_array(), *sa = json_array();
	size_t i;

	for (i = 0; i < ncmp; i++) {
		json_t *c = json_object();
		const char *field = cmp[i].target == DR_ETCD_CREATE
		                        ? "create_revision"
		                        : "mod_revision";
		json_object_set_new(c, "key",
		                    b64_json(cmp[i].key, strlen(cmp[i].key)));
		json_object_set_new(c, "target",
		                    json_string(cmp[i].target == DR_ETCD_CREATE
		                                    ? "CREATE"
		                                    : "MOD"));
		json_object_set_new(c, "result", json_string("EQUAL"));
		json_object_set_new(c, field, num_str(cmp[i].value));
		json_array_append_new(ca, c);
	}
	for (i = 0; i < nops; i++) {
		json_t *r = json_object(), *op = json_object();
		json_object_set_new(r, "key",
		                    b64_json(ops[i].key, strlen(ops[i].key)));
		if (ops[i].del) {
			json_object_set_new(op, "request_delete_range", r);
		} else {
			json_object_set_new(r, "value",
			                    b64_json(ops[i].value, ops[i].len));
			if (ops[i].lease)
				json_object_set_new(r, "lease",
				                    num_str(ops[i].lease));
			json_object_set_new(op, "request_put", r);
		}
		json_array_append_new(sa, op);
	}
	json_object_set_new(o, "compare", ca);
	json_object_set_new(o, "success", sa);
	return dump(o);
}

char *
dr_etcd_range_body(const char *key, bool prefix)
{
	json_t *o = json_object();
	size_t n = strlen(key);

	json_object_set_new(o, "key", b64_json(key, n));
	if (prefix && n > 0) {
		char *end = dr_xstrdup(key);
		end[n - 1]++;
		json_object_set_new(o, "range_end", b64_json(end, n));
		free(end);
	}
	return dump(o);
}

char *
dr_etcd_grant_body(int64_t ttl_s)
{
	json_t *o = json_object();

	json_object_set_new(o, "TTL", num_str(ttl_s));
	return dump(o);
}

char *
dr_etcd_lease_body(int64_t id)
{
	json_t *o = json_object();

	json_object_set_new(o, "ID", num_str(id));
	return dump(o);
}

/* ---- answers ---- */

/* Loads body; an error answer or bad JSON is -1 with *why. */
static json_t *
load(const char *body, char **why)
{
	json_error_t err;
	json_t *o = json_loads(body ? body : "", 0, &err), *e;

	if (o == NULL || !json_is_object(o)) {
		*why = dr_xasprintf("etcd answer is not a JSON object: %s",
		                    o ? "another JSON value" : err.text);
		json_decref(o);
		return NULL;
	}
	if ((e = json_object_get(o, "error")) != NULL) {
		json_t *m = json_object_get(o, "message");
		*why = dr_xasprintf("etcd: %s",
		                    json_is_string(m)   ? json_string_value(m)
		                    : json_is_string(e) ? json_string_value(e)
		                                        : "error");
		json_decref(o);
		return NULL;
	}
	return o;
}

static int
bad(json_t *o, char **why, const char *what)
{
	*why = dr_xasprintf("etcd answer: %s", what);
	json_decref(o);
	return -1;
}

static int
header_revision(json_t *o, int64_t *rev)
{
	return dr_etcd_num(
	    json_object_get(json_object_get(o, "header"), "revision"), rev);
}

int
dr_etcd_parse_txn(const char *body, bool *succeeded, int64_t *revision,
                  char **why)
{
	json_t *o = load(body, why), *s;
	int64_t rev;

	if (o == NULL)
		return -1;
	s = json_object_get(o, "succeeded");
	if (s != NULL && !json_is_boolean(s))
		return bad(o, why, "\"succeeded\" is not a boolean");
	if (header_revision(o, &rev) != 0)
		return bad(o, why, "header.revision is not a number");
	*succeeded = s != NULL && json_is_true(s); /* missing: false */
	if (revision)
		*revision = rev;
	json_decref(o);
	return 0;
}

static int
kv_string(json_t *kv, const char *name, char **out, size_t *n)
{
	json_t *v = json_object_get(kv, name);
	size_t dummy;

	if (v == NULL) { /* proto3: empty */
		*out = dr_xstrdup("");
		if (n)
			*n = 0;
		return 0;
	}
	if (!json_is_string(v))
		return -1;
	return dr_etcd_unb64(json_string_value(v), out, n ? n : &dummy);
}

int
dr_etcd_parse_range(const char *body, struct dr_etcd_kvs *out, char **why)
{
	json_t *o = load(body, why), *kvs, *kv;
	size_t i;

	memset(out, 0, sizeof(*out));
	if (o == NULL)
		return -1;
	if (header_revision(o, &out->revision) != 0)
		return bad(o, why, "header.revision is not a number");
	kvs = json_object_get(o, "kvs");
	if (kvs == NULL) { /* nothing found */
		json_decref(o);
		return 0;
	}
	if (!json_is_array(kvs))
		return bad(o, why, "\"kvs\" is not an array");
	out->kv = dr_xcalloc(json_array_size(kvs) + 1, sizeof(*out->kv));
	json_array_foreach(kvs, i, kv)
	{
		struct dr_etcd_kv *k = &out->kv[out->n];
		if (!json_is_object(kv) ||
		    kv_string(kv, "key", &k->key, NULL) != 0 || (out->n++, 0) ||
		    kv_string(kv, "value", &k->value, &k->len) != 0 ||
		    dr_etcd_num(json_object_get(kv, "create_revision"),
		                &k->create_revision) != 0 ||
		    dr_etcd_num(json_object_get(kv, "mod_revision"),
		                &k->mod_revision) != 0 ||
		    dr_etcd_num(json_object_get(kv, "lease"), &k->lease) != 0) {
			dr_etcd_kvs_free(out);
			return bad(o, why, "a key-value is malformed");
		}
	}
	json_decref(o);
	return 0;
}

void
dr_etcd_kvs_free(struct dr_etcd_kvs *k)
{
	size_t i;

	if (k == NULL)
		return;
	for (i = 0; i < k->n; i++) {
		free(k->kv[i].key);
		free(k->kv[i].value);
	}
	free(k->kv);
	memset(k, 0, sizeof(*k));
}

int
dr_etcd_parse_grant(const char *body, int64_t *id, int64_t *ttl, char **why)
{
	json_t *o = load(body, why);

	if (o == NULL)
		return -1;
	if (dr_etcd_num(json_object_get(o, "ID"), id) != 0 ||
	    dr_etcd_num(json_object_get(o, "TTL"), ttl) != 0)
		return bad(o, why, "ID or TTL is not a number");
	if (*id == 0 || *ttl <= 0)
		return bad(o, why, "no lease was granted");
	json_decref(o);
	return 0;
}

int
dr_etcd_parse_keepalive(const char *body, int64_t *ttl, char **why)
{
	json_t *o = load(body, why), *r;
	int64_t id;

	if (o == NULL)
		return -1;
	/* One message of the stream: {"result": {...}}; or the message. */
	r = json_object_get(o, "result");
	if (r == NULL)
		r = o;
	if (!json_is_object(r))
		return bad(o, why, "\"result\" is not an object");
	if (json_object_get(r, "error") != NULL)
		return bad(o, why, "the keepalive stream failed");
	if (dr_etcd_num(json_object_get(r, "TTL"), ttl) != 0 ||
	    dr_etcd_num(json_object_get(r, "ID"), &id) != 0)
		return bad(o, why, "ID or TTL is not a number");
	if (*ttl < 0)
		*ttl = 0;
	json_decref(o);
	return 0;
}

/* ---- requests ---- */

struct dr_etcd {
	char *endpoints[DR_ETCD_MAX_ENDPOINTS];
	size_t n;
	char *cacert, *cert, *key, *user, *password;
	pthread_mutex_t mu; /* preferred and token: workers share them */
	size_t preferred;
	char *token;
	struct dr_etcd_stats stats;
};

struct req {
	uv_work_t work;
	struct dr_etcd *e;
	char *path, *body;
	unsigned timeout_ms;
	dr_etcd_cb cb;
	void *arg;
	int status;
	struct dr_buf answer;
	char *why;
};

static char *
opt_dup(const char *s)
{
	return s ? dr_xstrdup(s) : NULL;
}

int
dr_etcd_new(const struct dr_etcd_cfg *cfg, struct dr_etcd **out)
{
	struct dr_etcd *e;
	size_t i;

	*out = NULL;
	if (cfg == NULL || cfg->nendpoints == 0 ||
	    cfg->nendpoints > DR_ETCD_MAX_ENDPOINTS)
		return DR_EINVAL;
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return DR_EIO;
	e = dr_xcalloc(1, sizeof(*e));
	for (i = 0; i < cfg->nendpoints; i++) {
		size_t l = strlen(cfg->endpoints[i]);
		e->endpoints[i] = dr_xstrdup(cfg->endpoints[i]);
		if (l > 0 && e->endpoints[i][l - 1] == '/')
			e->endpoints[i][l - 1] = '\0';
	}
	e->n = cfg->nendpoints;
	e->cacert = opt_dup(cfg->cacert);
	e->cert = opt_dup(cfg->cert);
	e->key = opt_dup(cfg->key);
	e->user = opt_dup(cfg->user);
	e->password = opt_dup(cfg->password);
	pthread_mutex_init(&e->mu, NULL);
	*out = e;
	return 0;
}

void
dr_etcd_free(struct dr_etcd *e)
{
	size_t i;

	if (e == NULL)
		return;
	for (i = 0; i < e->n; i++)
		free(e->endpoints[i]);
	free(e->cacert);
	free(e->cert);
	free(e->key);
	free(e->user);
	if (e->password) /* not left in freed memory */
		memset(e->password, 0, strlen(e->password));
	free(e->password);
	free(e->token);
	pthread_mutex_destroy(&e->mu);
	free(e);
	curl_global_cleanup();
}

static size_t
on_data(char *p, size_t size, size_t nmemb, void *arg)
{
	struct dr_buf *b = arg;
	size_t n = size * nmemb;

	if (b->len + n > ANSWER_MAX)
		return 0; /* too big: the transfer fails */
	dr_buf_append(b, p, n);
	return n;
}

/*
 * One POST to one endpoint (worker thread). Returns 0 with the answer in
 * *b, or a DR_E* with *why.
 */
static int
post_one(struct dr_etcd *e, const char *base, const char *path,
         const char *body, const char *token, unsigned timeout_ms,
         struct dr_buf *b, long *http, char **why)
{
	CURL *c = curl_easy_init();
	struct curl_slist *h = NULL;
	char errbuf[CURL_ERROR_SIZE] = "";
	char *url = dr_xasprintf("%s%s", base, path), *auth = NULL;
	CURLcode cc;
	int r = 0;

	if (c == NULL) {
		*why = dr_xstrdup("libcurl: cannot create a handle");
		free(url);
		return DR_EIO;
	}
	h = curl_slist_append(h, "Content-Type: application/json");
	if (token) {
		auth = dr_xasprintf("Authorization: %s", token);
		h = curl_slist_append(h, auth);
	}
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L); /* threads: no alarm() */
	curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, (long)timeout_ms);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, on_data);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, b);
	curl_easy_setopt(c, CURLOPT_ERRORBUFFER, errbuf);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
	curl_easy_setopt(c, CURLOPT_NOPROXY, "*"); /* the cluster directly */
	if (e->cacert)
		curl_easy_setopt(c, CURLOPT_CAINFO, e->cacert);
	if (e->cert)
		curl_easy_setopt(c, CURLOPT_SSLCERT, e->cert);
	if (e->key)
		curl_easy_setopt(c, CURLOPT_SSLKEY, e->key);
	cc = curl_easy_perform(c);
	*http = 0;
	if (cc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, http);
	if (cc == CURLE_OPERATION_TIMEDOUT) {
		r = DR_ETIMEDOUT;
		*why = dr_xasprintf("%s: no answer within %u ms", base,
		                    timeout_ms);
	} else if (cc != CURLE_OK) {
		r = DR_ECONNECT;
		*why = dr_xasprintf("%s: %s", base,
		                    *errbuf ? errbuf : curl_easy_strerror(cc));
	}
	curl_slist_free_all(h);
	free(auth);
	free(url);
	curl_easy_cleanup(c);
	return r;
}

/* Logs in (etcd auth) if the cluster wants it; the token is cached. */
static char *
get_token(struct dr_etcd *e, const char *base, unsigned timeout_ms, char **why)
{
	struct dr_buf b;
	json_t *o;
	char *tok = NULL, *body;
	long http;

	pthread_mutex_lock(&e->mu);
	if (e->token)
		tok = dr_xstrdup(e->token);
	pthread_mutex_unlock(&e->mu);
	if (tok || e->user == NULL)
		return tok;
	dr_buf_init(&b, 0);
	o = json_pack("{s:s, s:s}", "name", e->user, "password",
	              e->password ? e->password : "");
	body = dump(o);
	if (post_one(e, base, "/v3/auth/authenticate", body, NULL, timeout_ms,
	             &b, &http, why) == 0) {
		json_t *a = load(b.data, why);
		json_t *t = a ? json_object_get(a, "token") : NULL;
		if (json_is_string(t))
			tok = dr_xstrdup(json_string_value(t));
		else if (a != NULL)
			*why = dr_xasprintf("%s: etcd auth: no token", base);
		json_decref(a);
	}
	memset(body, 0, strlen(body)); /* it held the password */
	free(body);
	dr_buf_free(&b);
	if (tok) {
		pthread_mutex_lock(&e->mu);
		free(e->token);
		e->token = dr_xstrdup(tok);
		pthread_mutex_unlock(&e->mu);
	}
	return tok;
}

static void
work_cb(uv_work_t *w)
{
	struct req *q = w->data;
	struct dr_etcd *e = q->e;
	struct dr_buf why;
	size_t first, i;

	dr_buf_init(&why, 0);
	pthread_mutex_lock(&e->mu);
	first = e->preferred;
	pthread_mutex_unlock(&e->mu);
	q->status = DR_ECONNECT;
	for (i = 0; i < e->n; i++) {
		size_t k = (first + i) % e->n;
		char *one = NULL, *tok = NULL;
		long http = 0;
		int r;
		if (e->user && (tok = get_token(e, e->endpoints[k],
		                                q->timeout_ms, &one)) == NULL) {
			r = DR_EAUTH;
		} else {
			dr_buf_free(&q->answer);
			dr_buf_init(&q->answer, 0);
			r = post_one(e, e->endpoints[k], q->path, q->body, tok,
			             q->timeout_ms, &q->answer, &http, &one);
		}
		free(tok);
		if (r == 0 && http == 200) {
			q->status = 0;
			pthread_mutex_lock(&e->mu);
			e->preferred = k;
			pthread_mutex_unlock(&e->mu);
			break;
		}
		if (r == 0) { /* an error answer: the member is up */
			char *m = NULL;
			json_t *a = load(q->answer.data, &m);
			json_decref(a);
			one = dr_xasprintf("%s: HTTP %ld: %s", e->endpoints[k],
			                   http, m ? m : "no error message");
			free(m);
			r = DR_EPROTO;
			if (e->user && http == 401) { /* token expired */
				pthread_mutex_lock(&e->mu);
				free(e->token);
				e->token = NULL;
				pthread_mutex_unlock(&e->mu);
			}
		}
		if (q->status != DR_ETIMEDOUT)
			q->status = r;
		dr_buf_printf(&why, "%s%s", why.len ? "; " : "",
		              one ? one : "?");
		free(one);
	}
	if (q->status != 0)
		q->why = dr_buf_steal(&why);
	dr_buf_free(&why);
}

static void
after_cb(uv_work_t *w, int status)
{
	struct req *q = w->data;

	if (status == UV_ECANCELED && q->status == 0) {
		q->status = DR_ECANCELED;
		q->why = dr_xstrdup("cancelled");
	}
	q->cb(q->status, q->status == 0 ? q->answer.data : NULL, q->why,
	      q->arg);
	dr_buf_free(&q->answer);
	free(q->why);
	free(q->path);
	free(q->body);
	free(q);
}

int
dr_etcd_post(struct dr_etcd *e, uv_loop_t *loop, const char *path,
             const char *body, unsigned timeout_ms, dr_etcd_cb cb, void *arg)
{
	struct req *q;
	int r;

	if (e == NULL || loop == NULL || path == NULL || cb == NULL)
		return DR_EINVAL;
	q = dr_xcalloc(1, sizeof(*q));
	q->e = e;
	q->path = dr_xstrdup(path);
	q->body = dr_xstrdup(body ? body : "{}");
	q->timeout_ms = timeout_ms ? timeout_ms : 1000;
	q->cb = cb;
	q->arg = arg;
	q->work.data = q;
	dr_buf_init(&q->answer, 0);
	if (strstr(path, "/txn"))
		e->stats.txn++;
	else if (strstr(path, "/range"))
		e->stats.range++;
	else if (strstr(path, "keepalive"))
		e->stats.keepalive++;
	else if (strstr(path, "grant"))
		e->stats.grant++;
	else if (strstr(path, "revoke"))
		e->stats.revoke++;
	if ((r = uv_queue_work(loop, &q->work, work_cb, after_cb)) != 0) {
		free(q->path);
		free(q->body);
		free(q);
		return DR_EIO;
	}
	return 0;
}

struct sync_call {
	bool done;
	int status;
	char *answer, *why;
};

static void
sync_cb(int status, const char *body, const char *why, void *arg)
{
	struct sync_call *s = arg;

	s->done = true;
	s->status = status;
	s->answer = body ? dr_xstrdup(body) : NULL;
	s->why = why ? dr_xstrdup(why) : NULL;
}

int
dr_etcd_call(struct dr_etcd *e, uv_loop_t *loop, const char *path,
             const char *body, unsigned timeout_ms, char **answer, char **why)
{
	struct sync_call s = {0};
	int r;

	*answer = NULL;
	*why = NULL;
	r = dr_etcd_post(e, loop, path, body, timeout_ms, sync_cb, &s);
	if (r != 0) {
		*why = dr_xasprintf("etcd: cannot queue the request: %s",
		                    dr_strerror(r));
		return r;
	}
	while (!s.done)
		uv_run(loop, UV_RUN_ONCE);
	*answer = s.answer;
	*why = s.why;
	return s.status;
}

void
dr_etcd_stats(const struct dr_etcd *e, struct dr_etcd_stats *out)
{
	memset(out, 0, sizeof(*out));
	if (e)
		*out = e->stats;
}
