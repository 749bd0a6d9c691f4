/*
 * inventory.c: the hosts a provisioner reports, as an Ansible dynamic
 * inventory (JSON), checked field by field before drover trusts any of
 * them (see provision.h), and their journal form.
 *
 * Every check ends in one message naming the host and the field, because
 * the reader is whoever wrote the provisioning script, mid-failover.
 * jansson does the hashing: its objects keep insertion order (2.8 and
 * later), which is what makes the host order stable, and serve as the sets
 * that find duplicates in linear time.
 */
#include "drover/provision.h"

#include <ctype.h>
#include <jansson.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drover/common.h"
#include "drover/hostkeys.h"

#define MAX_HOST_NAME 63 /* a DNS label */
#define MAX_ROLE_NAME 64 /* as the plan allows */
#define MAX_ADDRESS 255
#define MAX_USER 32
#define MAX_KEY64 8192 /* far more than an ECDSA P-521 key's 232 */
#define SHOWN 160      /* a quoted value in a message */

/* Where the first error goes. */
struct ctx {
	const char *prefix; /* "inventory of site \"fresh\": " */
	char *err;
	const struct dr_inv_rules *r; /* NULL: the journal form */
};

/* Records the first error: the prefix, "host "H": " and the message. */
static int __attribute__((format(printf, 3, 4)))
bad(struct ctx *c, const char *host, const char *fmt, ...)
{
	char *msg;

	if (c->err != NULL)
		return DR_EINVAL;
	DR_VFORMAT(msg, fmt);
	c->err = dr_xasprintf("%s%s%s%s%s", c->prefix, host ? "host \"" : "",
	                      host ? host : "", host ? "\": " : "", msg);
	free(msg);
	return DR_EINVAL;
}

/*
 * s for a message, in buf of SHOWN bytes, cut short, its unprintable bytes
 * as \xNN: a value from the document may be long or hold anything. In
 * quotes, with quotes and backslashes escaped, when quoted.
 */
static const char *
shown(char buf[SHOWN], const char *s, bool quoted)
{
	size_t n = 0, i;

	if (quoted)
		buf[n++] = '"';
	for (i = 0; s[i] && n < SHOWN - 12; i++) {
		unsigned char ch = (unsigned char)s[i];

		if (ch < 0x20 || ch >= 0x7f)
			n +=
			    (size_t)snprintf(buf + n, SHOWN - n, "\\x%02x", ch);
		else if (quoted && (ch == '"' || ch == '\\'))
			n += (size_t)snprintf(buf + n, SHOWN - n, "\\%c", ch);
		else
			buf[n++] = (char)ch;
	}
	if (s[i])
		n += (size_t)snprintf(buf + n, SHOWN - n, "...");
	if (quoted)
		buf[n++] = '"';
	buf[n] = '\0';
	return buf;
}

static const char *
show(char buf[SHOWN], const char *s)
{
	return shown(buf, s, true);
}

static const char *
type_name(const json_t *v)
{
	switch (json_typeof(v)) {
	case JSON_OBJECT:
		return "an object";
	case JSON_ARRAY:
		return "a list";
	case JSON_STRING:
		return "a string";
	case JSON_INTEGER:
	case JSON_REAL:
		return "a number";
	case JSON_TRUE:
	case JSON_FALSE:
		return "a boolean";
	case JSON_NULL:
		break;
	}
	return "null";
}

/* "db, app, web", for messages (caller frees). */
static char *
role_list(const struct dr_inv_rules *r)
{
	struct dr_buf b;
	size_t i;

	dr_buf_init(&b, 0);
	for (i = 0; i < r->nroles; i++)
		dr_buf_printf(&b, "%s%s", i ? ", " : "", r->roles[i]);
	if (r->nroles == 0)
		dr_buf_puts(&b, "none");
	return dr_buf_steal(&b);
}

/* [A-Za-z0-9][A-Za-z0-9._-]*, 1 to max characters. */
static bool
valid_name(const char *s, size_t max)
{
	size_t i;

	if (!isalnum((unsigned char)s[0]))
		return false;
	for (i = 0; s[i]; i++)
		if (i >= max ||
		    (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i])))
			return false;
	return true;
}

static int
check_address(struct ctx *c, const char *host, const char *field,
              const json_t *v, char **out)
{
	const char *s = json_string_value(v);
	char q[SHOWN];
	size_t i;

	if (v == NULL)
		return bad(c, host, "\"%s\" is missing (the host's address)",
		           field);
	if (s == NULL)
		return bad(c, host,
		           "\"%s\" is %s, not a string (the host's address)",
		           field, type_name(v));
	/*
	 * It goes into known_hosts ("[address]:port", names split at commas)
	 * and into the runbook's ssh command lines: no spaces, no commas, no
	 * option-like leading dash.
	 */
	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] <= 0x20 ||
		    (unsigned char)s[i] >= 0x7f || s[i] == ',')
			break;
	if (s[0] == '\0' || s[i] != '\0' || i > MAX_ADDRESS || s[0] == '-')
		return bad(c, host,
		           "\"%s\" %s is not an address (a host name or IP "
		           "address: printable characters without spaces or "
		           "commas, not starting with '-')",
		           field, show(q, s));
	*out = dr_xstrdup(s);
	return 0;
}

/* An integer or a string of digits (Ansible takes both), 1..65535. */
static int
check_port(struct ctx *c, const char *host, const char *field, const json_t *v,
           int *out)
{
	const char *s = json_string_value(v);
	long long n = -1;
	char q[SHOWN];
	size_t i;

	if (json_is_integer(v)) {
		n = json_integer_value(v);
		if (n >= 1 && n <= 65535)
			goto ok;
		return bad(c, host, "\"%s\" %lld is not a port (1 to 65535)",
		           field, n);
	}
	if (s == NULL)
		return bad(c, host,
		           "\"%s\" is %s, not a port (an integer from 1 to "
		           "65535)",
		           field, type_name(v));
	for (i = 0; i < 6 && isdigit((unsigned char)s[i]); i++)
		;
	if (i > 0 && i < 6 && s[i] == '\0')
		n = strtoll(s, NULL, 10);
	if (n >= 1 && n <= 65535)
		goto ok;
	return bad(c, host, "\"%s\" %s is not a port (1 to 65535)", field,
	           show(q, s));
ok:
	*out = (int)n;
	return 0;
}

static int
check_user(struct ctx *c, const char *host, const char *field, const json_t *v,
           char **out)
{
	const char *s = json_string_value(v);
	char q[SHOWN];
	size_t i;

	if (s == NULL)
		return bad(c, host, "\"%s\" is %s, not a string (a user name)",
		           field, type_name(v));
	for (i = 0; s[i]; i++)
		if (!isalnum((unsigned char)s[i]) && !strchr("._-", s[i]))
			break;
	if (s[0] == '\0' || s[0] == '-' || s[i] != '\0' || i > MAX_USER)
		return bad(c, host,
		           "\"%s\" %s is not a user name (letters, digits, "
		           "'.', '_' and '-', not starting with '-', up to %d)",
		           field, show(q, s), MAX_USER);
	*out = dr_xstrdup(s);
	return 0;
}

/* The host key types drover pins, and the shape of their key blobs. */
static const struct {
	const char *type;
	const char *curve; /* ECDSA: the curve name the blob repeats */
	size_t point;      /* the public key's length */
} keytypes[] = {
    {"ssh-ed25519", NULL, 32},
    {"ecdsa-sha2-nistp256", "nistp256", 65},
    {"ecdsa-sha2-nistp384", "nistp384", 97},
    {"ecdsa-sha2-nistp521", "nistp521", 133},
};

/* Strict base64, padded, as OpenSSH writes it; NULL when it is not. */
static unsigned char *
decode64(const char *s, size_t n, size_t *len)
{
	unsigned char *blob;
	size_t i, pad = 0;
	int got;

	if (n == 0 || n % 4 != 0 || n > MAX_KEY64)
		return NULL;
	if (s[n - 1] == '=')
		pad = s[n - 2] == '=' ? 2 : 1;
	for (i = 0; i < n - pad; i++)
		if (!isalnum((unsigned char)s[i]) && s[i] != '+' && s[i] != '/')
			return NULL;
	blob = dr_xmalloc(n / 4 * 3 + 1);
	got = EVP_DecodeBlock(blob, (const unsigned char *)s, (int)n);
	if (got < 0 || (size_t)got < pad) {
		free(blob);
		return NULL;
	}
	*len = (size_t)got - pad; /* EVP_DecodeBlock counts the padding */
	return blob;
}

/* Reads an SSH string at *p of the n bytes left; false past the end. */
static bool
get_str(const unsigned char **p, size_t *n, const unsigned char **s,
        size_t *len)
{
	uint32_t l;

	if (*n < 4)
		return false;
	l = (uint32_t)(*p)[0] << 24 | (uint32_t)(*p)[1] << 16 |
	    (uint32_t)(*p)[2] << 8 | (*p)[3];
	if (l > *n - 4)
		return false;
	*s = *p + 4;
	*len = l;
	*p += 4 + l;
	*n -= 4 + l;
	return true;
}

static bool
str_is(const unsigned char *s, size_t len, const char *want)
{
	return len == strlen(want) && memcmp(s, want, len) == 0;
}

/*
 * Parses "TYPE BASE64 [COMMENT]": returns NULL and sets *key ("TYPE
 * BASE64", the base64 as OpenSSH writes it) and *fp, or why it is not a
 * key drover pins, to follow the field's name (caller frees).
 */
static char *
parse_key(const char *s, char **key, char **fp)
{
	unsigned char *blob = NULL, *canon;
	const unsigned char *p, *f;
	size_t tlen, blen, n, flen, len = 0, k, i;
	const char *type, *b64;
	char q[SHOWN], *t, *why = NULL;
	bool ok;

	for (i = 0; s[i]; i++)
		if ((unsigned char)s[i] < 0x20 && s[i] != '\t')
			return dr_xstrdup("has control characters");
	type = s + strspn(s, " \t");
	tlen = strcspn(type, " \t");
	b64 = type + tlen + strspn(type + tlen, " \t");
	blen = strcspn(b64, " \t");
	if (tlen == 0 || blen == 0)
		return dr_xstrdup("is not \"TYPE BASE64 [COMMENT]\" (a line "
		                  "of a .pub file)");
	t = dr_xstrndup(type, tlen);
	for (k = 0; k < DR_NELEM(keytypes); k++)
		if (strcmp(t, keytypes[k].type) == 0)
			break;
	if (k == DR_NELEM(keytypes)) {
		why = dr_xasprintf("is a %s key: drover pins only ed25519 or "
		                   "ecdsa host keys (ssh-ed25519, "
		                   "ecdsa-sha2-nistp256, -nistp384, -nistp521)",
		                   show(q, t));
		goto out;
	}
	if ((blob = decode64(b64, blen, &len)) == NULL) {
		why = dr_xstrdup("is not valid base64 after the key type");
		goto out;
	}
	p = blob;
	n = len;
	if (!get_str(&p, &n, &f, &flen) || flen == 0 || flen > 64) {
		why =
		    dr_xasprintf("does not hold an SSH public key after %s", t);
		goto out;
	}
	if (!str_is(f, flen, t)) {
		char *inner = dr_xstrndup((const char *)f, flen);

		why =
		    dr_xasprintf("says %s, but the key it holds is of type %s",
		                 t, show(q, inner));
		free(inner);
		goto out;
	}
	/* ECDSA: the curve again; then the point (uncompressed) or key */
	ok = keytypes[k].curve == NULL ||
	     (get_str(&p, &n, &f, &flen) && str_is(f, flen, keytypes[k].curve));
	ok = ok && get_str(&p, &n, &f, &flen) && flen == keytypes[k].point &&
	     (keytypes[k].curve == NULL || f[0] == 0x04) && n == 0;
	if (!ok) {
		why = dr_xasprintf("is not a valid %s key (its key data is "
		                   "malformed)",
		                   t);
		goto out;
	}
	canon = dr_xmalloc(4 * ((len + 2) / 3) + 1);
	EVP_EncodeBlock(canon, blob, (int)len);
	*key = dr_xasprintf("%s %s", t, (char *)canon);
	*fp = dr_hostkeys_fingerprint_blob(blob, len);
	free(canon);
out:
	free(blob);
	free(t);
	return why;
}

static int
check_key(struct ctx *c, const char *host, const char *field, const json_t *v,
          char **key, char **fp)
{
	const char *s = json_string_value(v);
	char *why;

	if (v == NULL)
		return bad(c, host,
		           "\"%s\" is missing (the host's public host key, the "
		           "content of key-N.pub)",
		           field);
	if (s == NULL)
		return bad(c, host,
		           "\"%s\" is %s, not a string (\"TYPE BASE64 "
		           "[COMMENT]\")",
		           field, type_name(v));
	if ((why = parse_key(s, key, fp)) != NULL) {
		bad(c, host, "\"%s\" %s", field, why);
		free(why);
		return DR_EINVAL;
	}
	return 0;
}

static void
host_free(struct dr_inv_host *h)
{
	size_t i;

	free(h->name);
	free(h->address);
	free(h->user);
	for (i = 0; i < h->nroles; i++)
		free(h->roles[i]);
	free(h->roles);
	free(h->key);
	free(h->fingerprint);
}

void
dr_inventory_free(struct dr_inventory *inv)
{
	size_t i;

	if (inv == NULL)
		return;
	for (i = 0; i < inv->nhosts; i++)
		host_free(&inv->hosts[i]);
	free(inv->hosts);
	inv->hosts = NULL;
	inv->nhosts = 0;
}

static void
add_role(struct dr_inv_host *h, const char *role)
{
	h->roles = dr_xrealloc(h->roles, (h->nroles + 1) * sizeof(*h->roles));
	h->roles[h->nroles++] = dr_xstrdup(role);
}

/*
 * If key is in the set already, the index stored with it (the earlier
 * host); otherwise stores i with it and returns -1.
 */
static long long
seen_before(json_t *set, const char *key, size_t i)
{
	json_t *v = json_object_get(set, key);

	if (v != NULL)
		return json_integer_value(v);
	json_object_set_new(set, key, json_integer((json_int_t)i));
	return -1;
}

/*
 * What must hold between hosts, in the document and in the journal alike:
 * names differ even without case (they are DNS names), and so do the
 * addresses and ports, and the keys.
 */
static int
check_distinct(struct ctx *c, const struct dr_inventory *inv)
{
	json_t *names = json_object(), *addrs = json_object(),
	       *keys = json_object();
	size_t i, k;
	long long j;
	int r = 0;

	for (i = 0; i < inv->nhosts && r == 0; i++) {
		const struct dr_inv_host *h = &inv->hosts[i];
		char *lower = dr_xstrdup(h->name), *where;

		for (k = 0; lower[k]; k++)
			lower[k] = (char)tolower((unsigned char)lower[k]);
		if ((j = seen_before(names, lower, i)) >= 0 &&
		    strcmp(inv->hosts[j].name, h->name) == 0)
			r = bad(c, h->name, "is listed twice");
		else if (j >= 0)
			r = bad(c, NULL,
			        "hosts \"%s\" and \"%s\" differ only in case "
			        "(host names are DNS names: give each its own)",
			        inv->hosts[j].name, h->name);
		free(lower);
		if (r != 0)
			break;
		/* an address has no control characters: \n separates */
		where = dr_xasprintf("%s\n%d", h->address, h->port);
		for (k = 0; where[k] != '\n'; k++)
			where[k] = (char)tolower((unsigned char)where[k]);
		if ((j = seen_before(addrs, where, i)) >= 0) {
			char port[32] = "port not given";

			if (h->port)
				snprintf(port, sizeof(port), "port %d",
				         h->port);
			r = bad(c, NULL,
			        "hosts \"%s\" and \"%s\" have the same address "
			        "and port (%s, %s)",
			        inv->hosts[j].name, h->name, h->address, port);
		}
		free(where);
		if (r == 0 && (j = seen_before(keys, h->fingerprint, i)) >= 0)
			r = bad(
			    c, NULL,
			    "hosts \"%s\" and \"%s\" report the same host "
			    "key (%s): each host needs a key pair of its own",
			    inv->hosts[j].name, h->name, h->fingerprint);
	}
	json_decref(names);
	json_decref(addrs);
	json_decref(keys);
	return r;
}

/* The host list of group name: a list, or an object's "hosts" (or none). */
static int
group_hosts(struct ctx *c, const char *name, json_t *g, json_t **list)
{
	char q[SHOWN], q2[SHOWN];
	const char *k;
	json_t *v;

	*list = NULL;
	if (json_is_array(g)) {
		*list = g; /* the old form: a list of names */
		return 0;
	}
	if (!json_is_object(g))
		return bad(c, NULL,
		           "group %s is %s, not an object with \"hosts\" or a "
		           "list of host names",
		           show(q, name), type_name(g));
	json_object_foreach(g, k, v)
	{
		if (strcmp(k, "hosts") == 0 || strcmp(k, "children") == 0 ||
		    strcmp(k, "vars") == 0)
			continue;
		return bad(
		    c, NULL,
		    "group %s: unknown member %s (a group has \"hosts\", "
		    "\"children\" and \"vars\")",
		    show(q, name), show(q2, k));
	}
	v = json_object_get(g, "hosts");
	if (v != NULL && !json_is_array(v))
		return bad(
		    c, NULL,
		    "group %s: \"hosts\" is %s, not a list of host names",
		    show(q, name), type_name(v));
	*list = v;
	return 0;
}

/*
 * Reads the groups in document order into out->hosts, each host once, at
 * its first appearance, with the roles of the groups it is in.
 */
static int
read_groups(struct ctx *c, json_t *doc, json_t *index, struct dr_inventory *out)
{
	const struct dr_inv_rules *r = c->r;
	size_t cap = 0, i;
	const char *gname;
	json_t *g, *list, *h;
	char q[SHOWN];
	int rc;

	json_object_foreach(doc, gname, g)
	{
		bool role = strcmp(gname, "all") != 0 &&
		            strcmp(gname, "ungrouped") != 0;
		json_t *seen;

		if (strcmp(gname, "_meta") == 0)
			continue;
		if (role && !dr_str_in(r->roles, r->nroles, gname)) {
			char *roles = role_list(r);

			bad(c, NULL, "unknown role %s (the site declares %s)",
			    show(q, gname), roles);
			free(roles);
			return DR_EINVAL;
		}
		if ((rc = group_hosts(c, gname, g, &list)) != 0)
			return rc;
		seen = json_object();
		json_array_foreach(list, i, h)
		{
			const char *name = json_string_value(h);
			json_t *at;
			struct dr_inv_host *host;

			if (name == NULL)
				rc =
				    bad(c, NULL,
				        "group \"%s\": hosts[%zu] is %s, not a "
				        "host name",
				        gname, i, type_name(h));
			else if (!valid_name(name, MAX_HOST_NAME))
				rc =
				    bad(c, NULL,
				        "group \"%s\": host name %s is not "
				        "valid (letters, digits, '.', '_' and "
				        "'-', starting with a letter or digit, "
				        "up to %d)",
				        gname, show(q, name), MAX_HOST_NAME);
			else if (seen_before(seen, name, i) >= 0)
				rc = bad(c, NULL,
				         "group \"%s\": host \"%s\" is listed "
				         "twice",
				         gname, name);
			if (rc != 0)
				break;
			if ((at = json_object_get(index, name)) != NULL) {
				host = &out->hosts[json_integer_value(at)];
			} else if (out->nhosts == DR_INV_MAX_HOSTS) {
				rc = bad(c, NULL,
				         "more than %d hosts (the most an "
				         "inventory may hold)",
				         DR_INV_MAX_HOSTS);
				break;
			} else {
				void *p = out->hosts;

				dr_grow(&p, &cap, out->nhosts + 1,
				        sizeof(*out->hosts));
				out->hosts = p;
				host = &out->hosts[out->nhosts];
				memset(host, 0, sizeof(*host));
				host->name = dr_xstrdup(name);
				json_object_set_new(
				    index, name,
				    json_integer((json_int_t)out->nhosts++));
			}
			if (role)
				add_role(host, gname);
		}
		json_decref(seen);
		if (rc != 0)
			return rc;
	}
	return 0;
}

/* The fields of host h from its hostvars entry. */
static int
read_hostvars(struct ctx *c, json_t *hostvars, struct dr_inv_host *h)
{
	json_t *hv = json_object_get(hostvars, h->name), *v;
	int rc;

	if (hv == NULL)
		return bad(c, h->name,
		           "\"ansible_host\" is missing (the host has no entry "
		           "in \"_meta\".\"hostvars\")");
	if (!json_is_object(hv))
		return bad(c, h->name,
		           "its \"_meta\".\"hostvars\" entry is %s, not an "
		           "object",
		           type_name(hv));
	if ((rc = check_address(c, h->name, "ansible_host",
	                        json_object_get(hv, "ansible_host"),
	                        &h->address)) != 0)
		return rc;
	if ((v = json_object_get(hv, "ansible_port")) != NULL &&
	    (rc = check_port(c, h->name, "ansible_port", v, &h->port)) != 0)
		return rc;
	if ((v = json_object_get(hv, "ansible_user")) != NULL &&
	    (rc = check_user(c, h->name, "ansible_user", v, &h->user)) != 0)
		return rc;
	return check_key(c, h->name, "drover_host_key",
	                 json_object_get(hv, "drover_host_key"), &h->key,
	                 &h->fingerprint);
}

/* The fingerprints of the keys drover generated, as a set. */
static json_t *
generated(const struct dr_inv_rules *r)
{
	json_t *set = json_object();
	char *key, *fp, *why;
	size_t i;

	for (i = 0; i < r->nkeys; i++) {
		key = fp = NULL;
		/* drover's own keys: one that does not parse matches none */
		if ((why = parse_key(r->keys[i], &key, &fp)) == NULL)
			json_object_set_new(set, fp, json_true());
		free(why);
		free(key);
		free(fp);
	}
	return set;
}

/* The checks against the site, once every host has read well. */
static int
check_site(struct ctx *c, const struct dr_inventory *inv)
{
	const struct dr_inv_rules *r = c->r;
	json_t *keys;
	size_t i, k, j;
	int rc;

	for (i = 0; i < inv->nhosts; i++)
		for (k = 0; k < r->ntaken; k++)
			if (strcasecmp(inv->hosts[i].name, r->taken[k]) == 0)
				return bad(c, inv->hosts[i].name,
				           "the plan already has a host named "
				           "\"%s\" (a provisioned host needs a "
				           "name of its own)",
				           r->taken[k]);
	if ((rc = check_distinct(c, inv)) != 0)
		return rc;
	if (r->keys != NULL) {
		keys = generated(r);
		for (i = 0; i < inv->nhosts; i++) {
			const struct dr_inv_host *h = &inv->hosts[i];

			if (json_object_get(keys, h->fingerprint) != NULL)
				continue;
			json_decref(keys);
			return bad(
			    c, NULL,
			    "host \"%s\" reports a host key drover did "
			    "not generate for this site: %s (host number "
			    "N must get key-N from $DROVER_KEYS)",
			    h->name, h->fingerprint);
		}
		json_decref(keys);
	}
	for (k = 0; k < r->nroles; k++) {
		for (i = 0; i < inv->nhosts; i++) {
			for (j = 0; j < inv->hosts[i].nroles; j++)
				if (strcmp(inv->hosts[i].roles[j],
				           r->roles[k]) == 0)
					break;
			if (j < inv->hosts[i].nroles)
				break;
		}
		if (i == inv->nhosts) {
			char *roles = role_list(r);

			bad(c, NULL,
			    "role \"%s\" has no host (the site declares %s, "
			    "each needs one at least)",
			    r->roles[k], roles);
			free(roles);
			return DR_EINVAL;
		}
	}
	return 0;
}

static int
parse(struct ctx *c, const char *text, size_t len, struct dr_inventory *out)
{
	json_t *doc = NULL, *meta, *hostvars = NULL, *index = json_object(),
	       *hv;
	const struct dr_inv_rules *r = c->r;
	json_error_t je;
	const char *name;
	char q[SHOWN];
	size_t i;
	int rc;

	if (len > DR_INV_MAX_BYTES) {
		rc = bad(c, NULL,
		         "the document is larger than %zu MiB (the most an "
		         "inventory may be)",
		         DR_INV_MAX_BYTES >> 20);
		goto out;
	}
	if ((doc = json_loadb(text, len, JSON_REJECT_DUPLICATES, &je)) ==
	    NULL) {
		rc = bad(c, NULL,
		         "not JSON: line %d, column %d: %s (the provisioner "
		         "must print an Ansible dynamic inventory)",
		         je.line, je.column, shown(q, je.text, false));
		goto out;
	}
	if (!json_is_object(doc)) {
		rc = bad(c, NULL,
		         "the document is %s, not an object (an Ansible "
		         "dynamic inventory)",
		         type_name(doc));
		goto out;
	}
	if ((meta = json_object_get(doc, "_meta")) != NULL) {
		if (!json_is_object(meta)) {
			rc = bad(c, NULL, "\"_meta\" is %s, not an object",
			         type_name(meta));
			goto out;
		}
		hostvars = json_object_get(meta, "hostvars");
		if (hostvars != NULL && !json_is_object(hostvars)) {
			rc = bad(c, NULL,
			         "\"_meta\".\"hostvars\" is %s, not an object",
			         type_name(hostvars));
			goto out;
		}
	}
	if ((rc = read_groups(c, doc, index, out)) != 0)
		goto out;
	json_object_foreach(hostvars, name, hv)
	{
		if (json_object_get(index, name) != NULL)
			continue;
		if (!valid_name(name, MAX_HOST_NAME))
			rc = bad(c, NULL,
			         "\"_meta\".\"hostvars\": host name %s is not "
			         "valid (letters, digits, '.', '_' and '-', "
			         "starting with a letter or digit, up to %d)",
			         show(q, name), MAX_HOST_NAME);
		else
			rc = bad(c, name,
			         "in \"_meta\".\"hostvars\" but in no group (a "
			         "host needs a role)");
		goto out;
	}
	if (out->nhosts == 0) {
		rc = bad(c, NULL,
		         "no hosts (the document has no group with a "
		         "host)");
		goto out;
	}
	for (i = 0; i < out->nhosts; i++)
		if (out->hosts[i].nroles == 0) {
			char *roles = role_list(r);

			rc = bad(c, out->hosts[i].name,
			         "in no role group, only in \"all\" or "
			         "\"ungrouped\" (the site declares %s)",
			         roles);
			free(roles);
			goto out;
		}
	if (out->nhosts > r->max_hosts) {
		rc = bad(c, NULL,
		         "%zu hosts, more than the site's max_hosts (%zu)",
		         out->nhosts, r->max_hosts);
		goto out;
	}
	for (i = 0; i < out->nhosts; i++)
		if ((rc = read_hostvars(c, hostvars, &out->hosts[i])) != 0)
			goto out;
	rc = check_site(c, out);
out:
	json_decref(index);
	json_decref(doc);
	return rc;
}

int
dr_inventory_parse(const char *text, size_t len, const struct dr_inv_rules *r,
                   struct dr_inventory *out, char **err)
{
	struct ctx c = {.r = r};
	char *prefix;
	int rc;

	memset(out, 0, sizeof(*out));
	*err = NULL;
	if (r->site != NULL)
		prefix = dr_xasprintf("inventory of site \"%s\": ", r->site);
	else
		prefix = dr_xstrdup("inventory: ");
	c.prefix = prefix;
	if ((rc = parse(&c, text, len, out)) != 0) {
		dr_inventory_free(out);
		*err = c.err;
	}
	free(prefix);
	return rc;
}

json_t *
dr_inventory_to_json(const struct dr_inventory *inv)
{
	json_t *hosts = json_array();
	size_t i, k;

	for (i = 0; i < inv->nhosts; i++) {
		const struct dr_inv_host *h = &inv->hosts[i];
		json_t *o = json_object(), *roles = json_array();

		json_object_set_new(o, "name", json_string(h->name));
		json_object_set_new(o, "address", json_string(h->address));
		if (h->port != 0)
			json_object_set_new(o, "port", json_integer(h->port));
		if (h->user != NULL)
			json_object_set_new(o, "user", json_string(h->user));
		for (k = 0; k < h->nroles; k++)
			json_array_append_new(roles, json_string(h->roles[k]));
		json_object_set_new(o, "roles", roles);
		json_object_set_new(o, "key", json_string(h->key));
		json_array_append_new(hosts, o);
	}
	return json_pack("{s:o}", "hosts", hosts);
}

/* One host of the journal form. */
static int
from_json_host(struct ctx *c, size_t i, const json_t *o, struct dr_inv_host *h)
{
	const char *name = json_string_value(json_object_get(o, "name"));
	json_t *v, *roles = json_object_get(o, "roles"), *seen;
	char q[SHOWN], at[32];
	size_t k;
	int rc = 0;

	if (!json_is_object(o))
		return bad(c, NULL, "hosts[%zu] is %s, not an object", i,
		           type_name(o));
	if (name == NULL || !valid_name(name, MAX_HOST_NAME))
		return bad(c, NULL,
		           "hosts[%zu]: \"name\" is missing or not a host name",
		           i);
	h->name = dr_xstrdup(name);
	if ((rc = check_address(c, name, "address",
	                        json_object_get(o, "address"), &h->address)))
		return rc;
	if ((v = json_object_get(o, "port")) != NULL &&
	    (rc = check_port(c, name, "port", v, &h->port)) != 0)
		return rc;
	if ((v = json_object_get(o, "user")) != NULL &&
	    (rc = check_user(c, name, "user", v, &h->user)) != 0)
		return rc;
	if (!json_is_array(roles) || json_array_size(roles) == 0)
		return bad(c, name, "\"roles\" is missing or empty");
	seen = json_object();
	json_array_foreach(roles, k, v)
	{
		const char *role = json_string_value(v);

		snprintf(at, sizeof(at), "\"roles\"[%zu]", k);
		if (role == NULL || !valid_name(role, MAX_ROLE_NAME))
			rc = bad(c, name, "%s is not a role name", at);
		else if (seen_before(seen, role, k) >= 0)
			rc = bad(c, name, "%s: role %s is listed twice", at,
			         show(q, role));
		if (rc != 0)
			break;
		add_role(h, role);
	}
	json_decref(seen);
	if (rc != 0)
		return rc;
	return check_key(c, name, "key", json_object_get(o, "key"), &h->key,
	                 &h->fingerprint);
}

int
dr_inventory_from_json(const json_t *j, struct dr_inventory *out, char **err)
{
	struct ctx c = {.prefix = "inventory in the journal: "};
	const json_t *hosts = json_object_get(j, "hosts");
	size_t i, n;
	int rc = 0;

	memset(out, 0, sizeof(*out));
	*err = NULL;
	if (!json_is_array(hosts) || (n = json_array_size(hosts)) == 0 ||
	    n > DR_INV_MAX_HOSTS) {
		rc = bad(&c, NULL, "\"hosts\" is not a list of 1 to %d hosts",
		         DR_INV_MAX_HOSTS);
		goto out;
	}
	out->hosts = dr_xcalloc(n, sizeof(*out->hosts));
	for (i = 0; i < n && rc == 0; i++) {
		out->nhosts++; /* so that a host half read is freed */
		rc = from_json_host(&c, i, json_array_get(hosts, i),
		                    &out->hosts[i]);
	}
	if (rc == 0)
		rc = check_distinct(&c, out);
out:
	if (rc != 0) {
		dr_inventory_free(out);
		*err = c.err;
	}
	return rc;
}
