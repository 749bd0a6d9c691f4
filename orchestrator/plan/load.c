/*
 * load.c: the libconfig text of a plan read into the plan's structs.
 *
 * Refuses @include, parses the text with libconfig and reads every section
 * (defaults, limits, vars, secrets, contacts, sites, tenants, services and
 * their steps) into the plan's arena, checking each value's type, range and
 * spelling where it stands. Each problem becomes a "FILE:LINE: message"
 * diagnostic and reading goes on; the checks that need every name known
 * (duplicates, selectors, references, the service graph) are validate.c's.
 */
#include <ctype.h>
#include <libconfig.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"
#include "drover/plan.h"
#include "plan-internal.h"

static int
line_of(const config_setting_t *s)
{
	int line = s ? (int)config_setting_source_line(s) : 0;

	return line > 0 ? line : 1; /* the root group has no line */
}

/* Levenshtein distance, for "did you mean" on unknown keys. */
static size_t
edit_distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t row[64];

	if (lb >= 63 || la >= 63)
		return 99;
	for (j = 0; j <= lb; j++)
		row[j] = j;
	for (i = 1; i <= la; i++) {
		size_t prev = row[0];
		row[0] = i;
		for (j = 1; j <= lb; j++) {
			size_t cur = row[j];
			size_t best = prev + (a[i - 1] != b[j - 1]);
			if (row[j] + 1 < best)
				best = row[j] + 1;
			if (row[j - 1] + 1 < best)
				best = row[j - 1] + 1;
			row[j] = best;
			prev = cur;
		}
	}
	return row[lb];
}

/* Reports every member of group s whose name is not in allowed. */
static void
check_keys(struct loader *ld, const config_setting_t *s, const char *what,
           const char *const *allowed)
{
	int i, n = config_setting_length(s);

	for (i = 0; i < n; i++) {
		const config_setting_t *c = config_setting_get_elem(s, i);
		const char *name = config_setting_name(c);
		const char *best = NULL;
		size_t k, bestd = 3;

		if (name == NULL)
			continue;
		for (k = 0; allowed[k]; k++) {
			size_t d;
			if (strcmp(allowed[k], name) == 0)
				break;
			d = edit_distance(name, allowed[k]);
			if (d < bestd) {
				bestd = d;
				best = allowed[k];
			}
		}
		if (allowed[k])
			continue;
		if (best)
			ERR(ld, line_of(c),
			    "unknown key \"%s\" in %s (did you mean \"%s\"?)",
			    name, what, best);
		else
			ERR(ld, line_of(c), "unknown key \"%s\" in %s", name,
			    what);
	}
}

static const char *
type_name(int t)
{
	switch (t) {
	case CONFIG_TYPE_GROUP:
		return "a group";
	case CONFIG_TYPE_INT:
	case CONFIG_TYPE_INT64:
		return "an integer";
	case CONFIG_TYPE_FLOAT:
		return "a number";
	case CONFIG_TYPE_STRING:
		return "a string";
	case CONFIG_TYPE_BOOL:
		return "a boolean";
	case CONFIG_TYPE_ARRAY:
		return "an array";
	case CONFIG_TYPE_LIST:
		return "a list";
	}
	return "a value";
}

/* A bit for each libconfig type, for member(). */
#define TYPE(t) (1u << (t))

/*
 * Returns the member key of g when its type is one of types (TYPE() bits),
 * or NULL when it is absent (reported when required) or of another type
 * (reported: "WHAT: "KEY" must be MUST, not a TYPE").
 */
static const config_setting_t *
member(struct loader *ld, const config_setting_t *g, const char *key,
       const char *what, bool required, unsigned types, const char *must)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL) {
		if (required)
			ERR(ld, line_of(g), "%s: missing required \"%s\"", what,
			    key);
		return NULL;
	}
	if ((types & TYPE(config_setting_type(s))) == 0) {
		ERR(ld, line_of(s), "%s: \"%s\" must be %s, not %s", what, key,
		    must, type_name(config_setting_type(s)));
		return NULL;
	}
	return s;
}

/*
 * Reads a string member. Returns the arena copy, or NULL when it is absent
 * (reported if required) or of the wrong type (reported).
 */
static const char *
get_str(struct loader *ld, const config_setting_t *g, const char *key,
        const char *what, bool required)
{
	const config_setting_t *s = member(
	    ld, g, key, what, required, TYPE(CONFIG_TYPE_STRING), "a string");

	return s ? dr_arena_strdup(ld->a, config_setting_get_string(s)) : NULL;
}

/* Reads an integer member from lo to hi into *out; returns whether it did. */
static bool
get_int(struct loader *ld, const config_setting_t *g, const char *key,
        const char *what, bool required, long long lo, long long hi, int *out)
{
	const config_setting_t *s = member(
	    ld, g, key, what, required,
	    TYPE(CONFIG_TYPE_INT) | TYPE(CONFIG_TYPE_INT64), "an integer");
	long long v;

	if (s == NULL)
		return false;
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		ERR(ld, line_of(s), "%s: \"%s\" is %lld, must be %lld to %lld",
		    what, key, v, lo, hi);
		return false;
	}
	*out = (int)v;
	return true;
}

/* Reads an optional boolean member into *out; returns whether it did. */
static bool
get_bool(struct loader *ld, const config_setting_t *g, const char *key,
         const char *what, bool *out)
{
	const config_setting_t *s = member(
	    ld, g, key, what, false, TYPE(CONFIG_TYPE_BOOL), "true or false");

	if (s == NULL)
		return false;
	*out = config_setting_get_bool(s) != 0;
	return true;
}

/* Reads an optional duration ("90s") into *out; returns whether it did. */
static bool
get_dur(struct loader *ld, const config_setting_t *g, const char *key,
        const char *what, uint64_t *out)
{
	const config_setting_t *s =
	    member(ld, g, key, what, false, TYPE(CONFIG_TYPE_STRING),
	           "a duration string like \"30s\", \"10m\" or \"8h\"");
	const char *v, *why;

	if (s == NULL)
		return false;
	v = config_setting_get_string(s);
	if (dr_duration_check(v, out, &why) != 0) {
		if (strcmp(why, "malformed") == 0)
			ERR(ld, line_of(s),
			    "%s: malformed duration \"%s\" for \"%s\" (use a "
			    "number and ms, s, m, h or d, e.g. \"90s\"; at "
			    "most 3650d)",
			    what, v, key);
		else
			ERR(ld, line_of(s),
			    "%s: duration \"%s\" for \"%s\" is %s (it must "
			    "be more than 0 and at most 3650d)",
			    what, v, key, why);
		return false;
	}
	return true;
}

/* Reads an array of strings; a single string is accepted as one element. */
static const char *const *
get_str_list(struct loader *ld, const config_setting_t *g, const char *key,
             const char *what, size_t *n)
{
	const config_setting_t *s =
	    member(ld, g, key, what, false,
	           TYPE(CONFIG_TYPE_STRING) | TYPE(CONFIG_TYPE_ARRAY) |
	               TYPE(CONFIG_TYPE_LIST),
	           "an array of strings");
	const char **v;
	int i, len;

	*n = 0;
	if (s == NULL)
		return NULL;
	if (config_setting_type(s) == CONFIG_TYPE_STRING) {
		v = dr_arena_alloc(ld->a, sizeof(char *));
		v[0] = dr_arena_strdup(ld->a, config_setting_get_string(s));
		*n = 1;
		return v;
	}
	len = config_setting_length(s);
	v = dr_arena_alloc(ld->a, sizeof(char *) * (size_t)(len ? len : 1));
	for (i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(s, i);
		if (config_setting_type(e) != CONFIG_TYPE_STRING) {
			ERR(ld, line_of(s), "%s: \"%s\" must hold only strings",
			    what, key);
			return NULL;
		}
		v[(*n)++] =
		    dr_arena_strdup(ld->a, config_setting_get_string(e));
	}
	return v;
}

/* Returns the group member key, or NULL (reported when of the wrong type). */
static const config_setting_t *
get_group(struct loader *ld, const config_setting_t *g, const char *key,
          const char *what)
{
	return member(ld, g, key, what, false, TYPE(CONFIG_TYPE_GROUP),
	              "a group { ... }");
}

/*
 * Reads a string member that must be one of words (NULL-terminated): sets
 * *out to its index and returns true, or returns false when it is absent
 * (reported when required), not a string or not one of them (reported:
 * "WHAT: KEY "X" must be a, b or c").
 */
static bool
get_word(struct loader *ld, const config_setting_t *g, const char *key,
         const char *what, bool required, const char *const *words, int *out)
{
	const char *s = get_str(ld, g, key, what, required);
	struct dr_buf b;
	int i;

	if (s == NULL)
		return false;
	for (i = 0; words[i]; i++) {
		if (strcmp(words[i], s) == 0) {
			*out = i;
			return true;
		}
	}
	dr_buf_init(&b, 0);
	for (i = 0; words[i]; i++) {
		if (i > 0)
			dr_buf_puts(&b, words[i + 1] ? ", " : " or ");
		dr_buf_puts(&b, words[i]);
	}
	ERR(ld, line_of(config_setting_get_member(g, key)),
	    "%s: %s \"%s\" must be %s", what, key, s, b.data);
	dr_buf_free(&b);
	return false;
}

static bool
valid_name(const char *s)
{
	const char *p;

	if (s == NULL || *s == '\0' || strlen(s) > 64)
		return false;
	if (!isalnum((unsigned char)*s))
		return false;
	for (p = s; *p; p++) {
		if (!isalnum((unsigned char)*p) && *p != '-' && *p != '_' &&
		    *p != '.')
			return false;
	}
	return true;
}

static const char *
get_name(struct loader *ld, const config_setting_t *g, const char *what)
{
	const char *name = get_str(ld, g, "name", what, true);

	if (name && !valid_name(name)) {
		ERR(ld, line_of(config_setting_get_member(g, "name")),
		    "%s: name \"%s\" may hold only letters, digits, '-', '_' "
		    "and '.', starting with a letter or digit",
		    what, name);
		return NULL;
	}
	return name;
}

/* Reads a group of name = "string" (integers are taken as their text). */
static const struct dr_var *
load_vars(struct loader *ld, const config_setting_t *g, const char *what,
          size_t *n)
{
	struct dr_var *v;
	int i, len = config_setting_length(g);

	*n = 0;
	v = dr_arena_alloc(ld->a, sizeof(*v) * (size_t)(len ? len : 1));
	for (i = 0; i < len; i++) {
		const config_setting_t *e = config_setting_get_elem(g, i);
		char num[32];
		const char *val;

		switch (config_setting_type(e)) {
		case CONFIG_TYPE_STRING:
			val = config_setting_get_string(e);
			break;
		case CONFIG_TYPE_INT:
		case CONFIG_TYPE_INT64:
			snprintf(num, sizeof(num), "%lld",
			         (long long)config_setting_get_int64(e));
			val = num;
			break;
		default:
			ERR(ld, line_of(e),
			    "%s: variable \"%s\" must be a string or an "
			    "integer, not %s",
			    what, config_setting_name(e),
			    type_name(config_setting_type(e)));
			continue;
		}
		v[*n].name = dr_arena_strdup(ld->a, config_setting_name(e));
		v[*n].value = dr_arena_strdup(ld->a, val);
		v[*n].integer = config_setting_type(e) != CONFIG_TYPE_STRING;
		v[*n].line = line_of(e);
		(*n)++;
	}
	return v;
}

/* Returns "dir/rel" in the arena. */
static const char *
arena_join(struct loader *ld, const char *dir, const char *rel)
{
	size_t a = strlen(dir), b = strlen(rel);
	char *p = dr_arena_alloc(ld->a, a + b + 2);

	memcpy(p, dir, a);
	p[a] = '/';
	memcpy(p + a + 1, rel, b + 1);
	return p;
}

static void
load_defaults(struct loader *ld, const config_setting_t *root)
{
	static const char *const keys[] = {
	    "user",         "identity",        "known_hosts",
	    "port",         "connect_timeout", "timeout",
	    "retries",      "retry_delay",     "keepalive",
	    "approvers",    "not_by_starter",  "scan",
	    "scan_timeout", "max_fallback",    NULL};
	static const struct dr_defaults initial = {.user = "drover",
	                                           .port = 22,
	                                           .connect_timeout_ms = 10000,
	                                           .timeout_ms = 600000,
	                                           .retries = 0,
	                                           .retry_delay_ms = 5000,
	                                           .keepalive_ms = 15000,
	                                           .approvers = 1,
	                                           .scan_timeout_ms = 600000,
	                                           .max_fallback = 3};
	struct dr_defaults *d = &ld->p->defaults;
	const config_setting_t *g;
	const char *kh;

	*d = initial;
	g = get_group(ld, root, "defaults", "defaults");
	if (g == NULL)
		return;
	check_keys(ld, g, "defaults", keys);
	if ((kh = get_str(ld, g, "user", "defaults", false)) != NULL)
		d->user = kh;
	d->identity = get_str(ld, g, "identity", "defaults", false);
	d->identity_line = line_of(config_setting_get_member(g, "identity"));
	d->known_hosts_line =
	    line_of(config_setting_get_member(g, "known_hosts"));
	kh = get_str(ld, g, "known_hosts", "defaults", false);
	if (kh && kh[0] != '/')
		kh = arena_join(ld, ld->p->dir, kh);
	d->known_hosts = kh;
	if (d->identity && strncmp(d->identity, "~/", 2) == 0 &&
	    getenv("HOME") != NULL)
		d->identity = arena_join(ld, getenv("HOME"), d->identity + 2);
	get_int(ld, g, "port", "defaults", false, 1, 65535, &d->port);
	get_dur(ld, g, "connect_timeout", "defaults", &d->connect_timeout_ms);
	get_dur(ld, g, "timeout", "defaults", &d->timeout_ms);
	get_int(ld, g, "retries", "defaults", false, 0, 100, &d->retries);
	get_dur(ld, g, "retry_delay", "defaults", &d->retry_delay_ms);
	get_dur(ld, g, "keepalive", "defaults", &d->keepalive_ms);
	d->scan = get_str(ld, g, "scan", "defaults", false);
	get_dur(ld, g, "scan_timeout", "defaults", &d->scan_timeout_ms);
	get_int(ld, g, "max_fallback", "defaults", false, 0, 1000,
	        &d->max_fallback);
	get_int(ld, g, "approvers", "defaults", false, 1, 9, &d->approvers);
	get_bool(ld, g, "not_by_starter", "defaults", &d->not_by_starter);
}

/* notify = { webhooks = ["https://..."]; command = "..."; timeout; retries } */
static void
load_notify(struct loader *ld, const config_setting_t *root)
{
	static const char *const keys[] = {"webhooks", "command", "timeout",
	                                   "retries", NULL};
	struct dr_notify *n = &ld->p->notify;
	const config_setting_t *g;
	size_t i;

	n->timeout_ms = 5000;
	n->retries = 2;
	g = get_group(ld, root, "notify", "notify");
	if (g == NULL)
		return;
	n->line = line_of(g);
	check_keys(ld, g, "notify", keys);
	n->webhooks = get_str_list(ld, g, "webhooks", "notify", &n->nwebhooks);
	for (i = 0; i < n->nwebhooks; i++) {
		const char *u = n->webhooks[i];
		size_t k;
		bool bad = strncmp(u, "http://", 7) != 0 &&
		           strncmp(u, "https://", 8) != 0;
		for (k = 0; u[k] && !bad; k++)
			bad = (unsigned char)u[k] <= 0x20 || u[k] == 0x7f;
		if (bad)
			ERR(ld,
			    line_of(config_setting_get_member(g, "webhooks")),
			    "notify: webhook \"%s\" is not an http:// or "
			    "https:// URL without spaces",
			    u);
	}
	n->command = get_str(ld, g, "command", "notify", false);
	get_dur(ld, g, "timeout", "notify", &n->timeout_ms);
	if (n->timeout_ms == 0 || n->timeout_ms > 60000)
		ERR(ld, line_of(config_setting_get_member(g, "timeout")),
		    "notify: \"timeout\" must be 1ms to 60s (a notification "
		    "never holds the run longer)");
	get_int(ld, g, "retries", "notify", false, 0, 10, &n->retries);
	if (n->nwebhooks == 0 && n->command == NULL)
		ERR(ld, n->line,
		    "notify: give \"webhooks\" or \"command\" (or leave "
		    "notify out)");
}

static void
load_limits(struct loader *ld, const config_setting_t *root)
{
	static const char *const keys[] = {"sessions", "per_site", "per_host",
	                                   "channels", NULL};
	static const struct dr_limits initial = {
	    .sessions = 64, .per_site = 32, .per_host = 4, .channels = 8};
	struct dr_limits *l = &ld->p->limits;
	const config_setting_t *g;

	*l = initial;
	g = get_group(ld, root, "limits", "limits");
	if (g == NULL)
		return;
	check_keys(ld, g, "limits", keys);
	get_int(ld, g, "sessions", "limits", false, 1, 100000, &l->sessions);
	get_int(ld, g, "per_site", "limits", false, 1, 100000, &l->per_site);
	get_int(ld, g, "per_host", "limits", false, 1, 1000, &l->per_host);
	/* OpenSSH's MaxSessions is 10 by default: 8 commands and the kill
	 * channel fit; a server that allows fewer is learned at run time. */
	get_int(ld, g, "channels", "limits", false, 1, 64, /* ssh.h's max */
	        &l->channels);
}

/* controllers: { etcd = [URL, ...]; ttl = "10s"; cacert; cert; key; user;
 * password_env; } (HA, ha.h). */
static void
load_controllers(struct loader *ld, const config_setting_t *root)
{
	static const char *const keys[] = {"etcd",         "ttl", "cacert",
	                                   "cert",         "key", "user",
	                                   "password_env", NULL};
	struct dr_controllers *c = &ld->p->controllers;
	const config_setting_t *g;
	size_t i;

	c->ttl_ms = 10000;
	g = get_group(ld, root, "controllers", "controllers");
	if (g == NULL)
		return;
	c->line = line_of(g);
	check_keys(ld, g, "controllers", keys);
	c->etcd = get_str_list(ld, g, "etcd", "controllers", &c->netcd);
	for (i = 0; i < c->netcd; i++)
		if (strncmp(c->etcd[i], "http://", 7) != 0 &&
		    strncmp(c->etcd[i], "https://", 8) != 0)
			ERR(ld, line_of(config_setting_get_member(g, "etcd")),
			    "controllers: etcd endpoint \"%s\" is not an "
			    "http:// or https:// URL",
			    c->etcd[i]);
	if (get_dur(ld, g, "ttl", "controllers", &c->ttl_ms) &&
	    (c->ttl_ms < 1000 || c->ttl_ms > 3600000 || c->ttl_ms % 1000))
		ERR(ld, line_of(config_setting_get_member(g, "ttl")),
		    "controllers: ttl must be whole seconds from 1s to 1h");
	c->cacert = get_str(ld, g, "cacert", "controllers", false);
	c->cert = get_str(ld, g, "cert", "controllers", false);
	c->key = get_str(ld, g, "key", "controllers", false);
	if (c->cacert && c->cacert[0] != '/')
		c->cacert = arena_join(ld, ld->p->dir, c->cacert);
	if (c->cert && c->cert[0] != '/')
		c->cert = arena_join(ld, ld->p->dir, c->cert);
	if (c->key && c->key[0] != '/')
		c->key = arena_join(ld, ld->p->dir, c->key);
	c->user = get_str(ld, g, "user", "controllers", false);
	c->password_env = get_str(ld, g, "password_env", "controllers", false);
	if (c->user && c->password_env == NULL)
		ERR(ld, line_of(config_setting_get_member(g, "user")),
		    "controllers: user needs password_env, the environment "
		    "variable that holds the password (never the plan)");
}

/*
 * A list of named groups, each read into one element of an array: the
 * sites and their hosts, the tenants, contacts, secrets, services and their
 * steps. Every element type starts with its name (const char *, as
 * plan_find_named reads it) and has an int line.
 */
struct list_kind {
	const char *key;         /* the list's key in its parent: "sites" */
	const char *elem;        /* one of its groups, for messages: "site" */
	const char *const *keys; /* the keys a group may have */
	size_t size;             /* of one element */
	size_t line_at;          /* offsetof its line */
	unsigned flags;          /* LIST_* */
	/* Reads the rest of group g into elem, whose name and line are set;
	 * what is "site \"NAME\"", for messages. */
	void (*read)(struct loader *ld, const config_setting_t *g,
	             const char *what, void *elem, size_t index, void *arg);
};

#define LIST_REQUIRED 1u /* a missing list is reported */
#define LIST_NONEMPTY 2u /* so is an empty one */
#define LIST_ANY_NAME 4u /* the name is free text, not a valid_name() */

/* A NULL-terminated list of key names, for check_keys. */
#define KEYS(...) ((const char *const[]){__VA_ARGS__, NULL})

/* The list_kind of the list key of elem groups read into a type by read. */
#define LIST_KIND(key, elem, type, flags, read, keys)                          \
	{                                                                      \
		(key), (elem), (keys), sizeof(type), offsetof(type, line),     \
		    (flags), (read)                                            \
	}

/*
 * Reads the list k->key of parent (what names parent in messages) into an
 * arena array: each group's keys are checked, its name and line read, then
 * k->read reads the rest (arg is passed on); an element is kept when it has
 * a name. Sets *n to their number. Returns the array, or NULL when there is
 * no list (reported when required) or it is not a list (reported).
 */
static void *
load_list(struct loader *ld, const config_setting_t *parent, const char *what,
          const struct list_kind *k, void *arg, size_t *n)
{
	const config_setting_t *list =
	    config_setting_get_member(parent, k->key);
	/* The plan's own sections say "sites: ...", the others their owner. */
	const char *where = config_setting_is_root(parent) ? k->key : what;
	char *v;
	int i, len;

	*n = 0;
	if (list == NULL && (k->flags & LIST_REQUIRED))
		ERR(ld, line_of(parent), "%s: missing required \"%s\"", what,
		    k->key);
	else if (list && config_setting_type(list) != CONFIG_TYPE_LIST)
		ERR(ld, line_of(list),
		    "%s: \"%s\" must be a list of groups: %s = ( { ... }, "
		    "{ ... } );",
		    what, k->key, k->key);
	if (list == NULL || config_setting_type(list) != CONFIG_TYPE_LIST)
		return NULL;
	len = config_setting_length(list);
	if (len == 0 && (k->flags & LIST_NONEMPTY))
		ERR(ld, line_of(list), "%s: has no %s", what, k->key);
	v = dr_arena_alloc(ld->a, k->size * (size_t)(len ? len : 1));
	for (i = 0; i < len; i++) {
		const config_setting_t *g = config_setting_get_elem(list, i);
		char *e = v + *n * k->size, ewhat[160];
		const char *name;
		int line = line_of(g);

		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			ERR(ld, line, "%s: each %s must be a group", where,
			    k->elem);
			continue;
		}
		memset(e, 0, k->size);
		check_keys(ld, g, k->elem, k->keys);
		memcpy(e + k->line_at, &line, sizeof(line));
		name = (k->flags & LIST_ANY_NAME)
		           ? get_str(ld, g, "name", k->elem, true)
		           : get_name(ld, g, k->elem);
		memcpy(e, &name, sizeof(name));
		snprintf(ewhat, sizeof(ewhat), "%s \"%s\"", k->elem,
		         name ? name : "?");
		k->read(ld, g, ewhat, e, *n, arg);
		if (name != NULL)
			(*n)++;
	}
	return v;
}

static void
read_host(struct loader *ld, const config_setting_t *h, const char *what,
          void *elem, size_t index, void *arg)
{
	struct dr_host *ho = elem;
	size_t k;

	ho->site = arg;
	ho->address = get_str(ld, h, "address", what, true);
	ho->port = 0;
	get_int(ld, h, "port", what, false, 1, 65535, &ho->port);
	ho->user = get_str(ld, h, "user", what, false);
	ho->roles = get_str_list(ld, h, "roles", what, &ho->nroles);
	for (k = 0; k < ho->nroles; k++) {
		if (!valid_name(ho->roles[k]))
			ERR(ld, ho->line, "%s: bad role name \"%s\"", what,
			    ho->roles[k]);
	}
	if (ho->nroles == 0)
		ERR(ld, ho->line, "%s: needs at least one role in \"roles\"",
		    what);
}

static const struct list_kind host_list =
    LIST_KIND("hosts", "host", struct dr_host, LIST_REQUIRED | LIST_NONEMPTY,
              read_host, KEYS("name", "address", "port", "user", "roles"));

/*
 * A site created at run time: no hosts in the plan, the roles the
 * provisioner must supply, and how many host key pairs drover generates for
 * it in advance (one per role unless max_hosts says more).
 */
static void
read_provisioned(struct loader *ld, const config_setting_t *g, const char *what,
                 struct dr_site *s)
{
	size_t k;

	if (config_setting_get_member(g, "hosts"))
		ERR(ld, line_of(config_setting_get_member(g, "hosts")),
		    "%s: a provisioned site lists no hosts: the provision step "
		    "creates them and reports them in its inventory",
		    what);
	if (s->role != DR_SITE_STANDBY && s->role != DR_SITE_DRILL)
		ERR(ld, line_of(g),
		    "%s: only a standby or drill site can be provisioned (a "
		    "failover or drill target); this one is %s",
		    what, dr_site_role_name(s->role));
	s->roles = get_str_list(ld, g, "roles", what, &s->nroles);
	if (s->nroles == 0)
		ERR(ld, line_of(g),
		    "%s: a provisioned site declares the roles its hosts will "
		    "have: roles = [\"db\", \"app\"];",
		    what);
	for (k = 0; k < s->nroles; k++) {
		if (!valid_name(s->roles[k]))
			ERR(ld, line_of(g), "%s: bad role name \"%s\"", what,
			    s->roles[k]);
		else if (dr_str_in(s->roles, k, s->roles[k]))
			ERR(ld, line_of(g), "%s: role \"%s\" is given twice",
			    what, s->roles[k]);
	}
	s->max_hosts = (int)s->nroles;
	get_int(ld, g, "max_hosts", what, false, 1, 1000, &s->max_hosts);
	if (s->max_hosts < (int)s->nroles && s->nroles > 0)
		ERR(ld, line_of(config_setting_get_member(g, "max_hosts")),
		    "%s: max_hosts %d is fewer than its %zu roles (each role "
		    "needs a host)",
		    what, s->max_hosts, s->nroles);
}

static void
read_site(struct loader *ld, const config_setting_t *g, const char *what,
          void *elem, size_t index, void *arg)
{
	struct dr_site *s = elem;
	const char *role = get_str(ld, g, "role", what, true);
	int k;

	if (role) {
		for (k = 0; k <= DR_SITE_DRILL; k++)
			if (strcmp(dr_site_role_name(k), role) == 0)
				break;
		if (k > DR_SITE_DRILL)
			ERR(ld, line_of(config_setting_get_member(g, "role")),
			    "%s: unknown role \"%s\" (one of primary, "
			    "secondary, standby, vault, drill)",
			    what, role);
		else
			s->role = (enum dr_site_role)k;
	}
	get_bool(ld, g, "provisioned", what, &s->provisioned);
	if (!s->provisioned) {
		s->hosts = load_list(ld, g, what, &host_list, s, &s->nhosts);
		if (config_setting_get_member(g, "roles") ||
		    config_setting_get_member(g, "max_hosts"))
			ERR(ld, line_of(g),
			    "%s: \"roles\" and \"max_hosts\" belong to a "
			    "provisioned site (provisioned = true); the roles "
			    "of a listed site are its hosts' roles",
			    what);
		return;
	}
	read_provisioned(ld, g, what, s);
}

static const struct list_kind site_list =
    LIST_KIND("sites", "site", struct dr_site, LIST_REQUIRED, read_site,
              KEYS("name", "role", "hosts", "description", "provisioned",
                   "roles", "max_hosts"));

static void
read_tenant(struct loader *ld, const config_setting_t *g, const char *what,
            void *elem, size_t index, void *arg)
{
	struct dr_tenant *x = elem;
	const config_setting_t *vars;

	get_int(ld, g, "priority", what, true, 1, DR_PRIORITY_MAX,
	        &x->priority);
	vars = get_group(ld, g, "vars", what);
	if (vars)
		x->vars = load_vars(ld, vars, what, &x->nvars);
}

static const struct list_kind tenant_list =
    LIST_KIND("tenants", "tenant", struct dr_tenant, 0, read_tenant,
              KEYS("name", "priority", "vars", "description"));

/* A contact's name is a person's: any text. */
static void
read_contact(struct loader *ld, const config_setting_t *g, const char *what,
             void *elem, size_t index, void *arg)
{
	struct dr_contact *x = elem;

	x->role = get_str(ld, g, "role", "contact", false);
	x->phone = get_str(ld, g, "phone", "contact", false);
	x->email = get_str(ld, g, "email", "contact", false);
	if (x->name && !x->phone && !x->email)
		ERR(ld, x->line,
		    "contact \"%s\": give a phone or an email, or nobody can "
		    "reach them",
		    x->name);
}

static const struct list_kind contact_list =
    LIST_KIND("contacts", "contact", struct dr_contact, LIST_ANY_NAME,
              read_contact, KEYS("name", "role", "phone", "email"));

static void
read_secret(struct loader *ld, const config_setting_t *g, const char *what,
            void *elem, size_t index, void *arg)
{
	struct dr_secret *x = elem;

	x->env = get_str(ld, g, "env", what, false);
	x->file = get_str(ld, g, "file", what, false);
	x->hint = get_str(ld, g, "hint", what, false);
	if (!x->env == !x->file)
		ERR(ld, x->line,
		    "%s: give exactly one of \"env\" (an environment "
		    "variable) or \"file\" (a 0600 file)",
		    what);
	if (x->file && x->file[0] != '/')
		x->file = arena_join(ld, ld->p->dir, x->file);
}

static const struct list_kind secret_list =
    LIST_KIND("secrets", "secret", struct dr_secret, 0, read_secret,
              KEYS("name", "env", "file", "hint"));

/* Parses "from:ROLE", "to:ROLE", "SITE:NAME"; names checked later. */
static bool
parse_selector(struct loader *ld, const char *text, int line, const char *what,
               struct dr_selector *sel)
{
	const char *colon = strchr(text, ':');
	char *left;

	memset(sel, 0, sizeof(*sel));
	sel->text = dr_arena_strdup(ld->a, text);
	if (colon == NULL || colon == text || colon[1] == '\0' ||
	    strchr(colon + 1, ':') != NULL) {
		ERR(ld, line,
		    "%s: malformed selector \"%s\" (use from:ROLE, to:ROLE, "
		    "SITE:ROLE or SITE:HOST; * for any role)",
		    what, text);
		return false;
	}
	left = dr_arena_strndup(ld->a, text, (size_t)(colon - text));
	sel->name = dr_arena_strdup(ld->a, colon + 1);
	if (strcmp(left, "from") == 0)
		sel->kind = DR_SEL_FROM;
	else if (strcmp(left, "to") == 0)
		sel->kind = DR_SEL_TO;
	else {
		sel->kind = DR_SEL_SITE;
		sel->site = left;
	}
	return true;
}

/* "vault:backup:/srv/x" or a local path "/srv/x" or "./x". */
static bool
parse_endpoint(struct loader *ld, const char *text, int line, const char *what,
               struct dr_endpoint *ep)
{
	const char *c1, *c2;

	memset(ep, 0, sizeof(*ep));
	if (text[0] == '/' || text[0] == '.') {
		ep->path = text;
		return true;
	}
	c1 = strchr(text, ':');
	c2 = c1 ? strchr(c1 + 1, ':') : NULL;
	if (c2 == NULL || c2[1] == '\0') {
		ERR(ld, line,
		    "%s: malformed copy endpoint \"%s\" (use SELECTOR:PATH, "
		    "e.g. \"vault:backup:/srv/backups/x.tar\", or a local "
		    "path)",
		    what, text);
		return false;
	}
	/* SELECTOR:PATH, the selector being SITE:NAME or from/to:ROLE */
	ep->path = dr_arena_strdup(ld->a, c2 + 1);
	return parse_selector(
	    ld, dr_arena_strndup(ld->a, text, (size_t)(c2 - text)), line, what,
	    &ep->sel);
}

static void
load_probe(struct loader *ld, const config_setting_t *g, const char *what,
           struct dr_probe *pr)
{
	static const char *const keys[] = {
	    "tcp",      "http", "expect_status", "expect_body", "within",
	    "interval", NULL};
	const char *tcp, *http;

	check_keys(ld, g, "probe", keys);
	tcp = get_str(ld, g, "tcp", what, false);
	http = get_str(ld, g, "http", what, false);
	if (!tcp == !http) {
		ERR(ld, line_of(g),
		    "%s: a probe needs exactly one of \"tcp\" (HOST:PORT) or "
		    "\"http\" (URL)",
		    what);
	} else if (tcp) {
		pr->kind = DR_PROBE_TCP;
		pr->target = tcp;
	} else {
		pr->kind = DR_PROBE_HTTP;
		pr->target = http;
		if (strncmp(http, "http://", 7) != 0 &&
		    strncmp(http, "https://", 8) != 0)
			ERR(ld, line_of(config_setting_get_member(g, "http")),
			    "%s: probe URL \"%s\" must start with http:// or "
			    "https://",
			    what, http);
	}
	get_int(ld, g, "expect_status", what, false, 100, 599,
	        &pr->expect_status);
	pr->expect_body = get_str(ld, g, "expect_body", what, false);
	pr->within_ms = 60000;
	pr->interval_ms = 2000;
	get_dur(ld, g, "within", what, &pr->within_ms);
	get_dur(ld, g, "interval", what, &pr->interval_ms);
}

static void
load_copy(struct loader *ld, const config_setting_t *g, const char *what,
          struct dr_copy *c)
{
	static const char *const keys[] = {
	    "from", "to",           "sha256",       "mode",
	    "scan", "scan_timeout", "max_fallback", NULL};
	const char *from, *to;

	check_keys(ld, g, "copy", keys);
	from = get_str(ld, g, "from", what, true);
	to = get_str(ld, g, "to", what, true);
	if (from)
		parse_endpoint(ld, from,
		               line_of(config_setting_get_member(g, "from")),
		               what, &c->from);
	if (to)
		parse_endpoint(ld, to,
		               line_of(config_setting_get_member(g, "to")),
		               what, &c->to);
	if (to && c->to.sel.kind == DR_SEL_NONE)
		ERR(ld, line_of(g),
		    "%s: a copy destination must be a host (SELECTOR:PATH)",
		    what);
	c->sha256 = get_str(ld, g, "sha256", what, false);
	c->mode = get_str(ld, g, "mode", what, false);
	c->scan = get_str(ld, g, "scan", what, false);
	c->max_fallback = -1;
	get_dur(ld, g, "scan_timeout", what, &c->scan_timeout_ms);
	get_int(ld, g, "max_fallback", what, false, 0, 1000, &c->max_fallback);
	if (c->mode) {
		const char *p;
		bool ok = strlen(c->mode) >= 3 && strlen(c->mode) <= 4;
		for (p = c->mode; *p; p++)
			ok = ok && *p >= '0' && *p <= '7';
		if (!ok)
			ERR(ld, line_of(config_setting_get_member(g, "mode")),
			    "%s: mode \"%s\" must be octal, e.g. \"0640\"",
			    what, c->mode);
	}
	if (c->sha256 && strcmp(c->sha256, "manifest") != 0 &&
	    strchr(c->sha256, '$') == NULL) {
		const char *p;
		bool ok = strlen(c->sha256) == 64;
		for (p = c->sha256; *p; p++)
			ok = ok && isxdigit((unsigned char)*p);
		if (!ok)
			ERR(ld, line_of(config_setting_get_member(g, "sha256")),
			    "%s: sha256 must be 64 hex digits, \"manifest\", "
			    "or a ${var.NAME} holding one",
			    what);
	}
}

/*
 * provision = "COMMAND"; or provision = { command = "..."; inventory =
 * "FILE"; check = "..."; host_keys = "generated" | "reported"; };
 */
static void
load_provision(struct loader *ld, const config_setting_t *step,
               const char *what, struct dr_provision *pv)
{
	static const char *const keys[] = {"command", "inventory", "check",
	                                   "host_keys", NULL};
	static const char *const modes[] = {"generated", "reported", NULL};
	const config_setting_t *g =
	    config_setting_get_member(step, "provision");
	int k;

	if (config_setting_type(g) == CONFIG_TYPE_STRING) {
		pv->command = get_str(ld, step, "provision", what, true);
		return;
	}
	if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
		ERR(ld, line_of(g),
		    "%s: provision is a command (\"...\") or a group { "
		    "command = \"...\"; inventory = \"FILE\"; }",
		    what);
		return;
	}
	check_keys(ld, g, "provision", keys);
	pv->command = get_str(ld, g, "command", what, true);
	pv->inventory = get_str(ld, g, "inventory", what, false);
	pv->check = get_str(ld, g, "check", what, false);
	if (get_word(ld, g, "host_keys", what, false, modes, &k))
		pv->reported_keys = k == 1;
}

/* A step's messages name its service too: service "x" step "y". */
static void
read_step(struct loader *ld, const config_setting_t *g, const char *step_what,
          void *elem, size_t index, void *arg)
{
	/* on_failure and unreachable in the order of their enums; when with
	 * the modes each word means. */
	static const char *const failures[] = {"abort", "continue", "pause",
	                                       NULL};
	static const char *const unreachables[] = {"fail", "continue", NULL};
	static const char *const whens[] = {"failover", "drill", "always",
	                                    NULL};
	static const unsigned when_modes[] = {DR_MODE_FAILOVER, DR_MODE_DRILL,
	                                      DR_MODE_FAILOVER | DR_MODE_DRILL};
	const struct dr_service *svc = arg;
	struct dr_step *st = elem;
	char what[192];
	const char *on;
	enum dr_action act, found[2] = {DR_ACT_NONE, DR_ACT_NONE};
	int k, nfound = 0;

	st->index = index;
	st->service = svc;
	snprintf(what, sizeof(what), "service \"%s\" step \"%s\"",
	         svc->name ? svc->name : "?", st->name ? st->name : "?");
	/* The actions are the keys named like them: "run", "copy", ... */
	for (act = DR_ACT_RUN; act <= DR_ACT_DEPROVISION; act++) {
		if (config_setting_get_member(g, dr_action_name(act))) {
			if (nfound < 2)
				found[nfound] = act;
			nfound++;
		}
	}
	if (nfound == 0)
		ERR(ld, st->line,
		    "%s: has no action (give one of run, script, copy, probe, "
		    "approve, local, provision, deprovision)",
		    what);
	else if (nfound > 1)
		ERR(ld, st->line,
		    "%s: has %d actions (%s and %s); a step does exactly one "
		    "thing, split it",
		    what, nfound, dr_action_name(found[0]),
		    dr_action_name(found[1]));
	if (nfound == 1) {
		const config_setting_t *a;
		st->action = found[0];
		switch (st->action) {
		case DR_ACT_RUN:
			st->command = get_str(ld, g, "run", what, true);
			break;
		case DR_ACT_LOCAL:
			st->command = get_str(ld, g, "local", what, true);
			break;
		case DR_ACT_APPROVE:
			st->prompt = get_str(ld, g, "approve", what, true);
			break;
		case DR_ACT_SCRIPT:
			st->script = get_str(ld, g, "script", what, true);
			st->args =
			    get_str_list(ld, g, "args", what, &st->nargs);
			break;
		case DR_ACT_COPY:
			if ((a = get_group(ld, g, "copy", what)) != NULL)
				load_copy(ld, a, what, &st->copy);
			/* The copy's own, else its service's, else the
			 * defaults'. */
			if (st->copy.scan == NULL)
				st->copy.scan = svc->scan
				                    ? svc->scan
				                    : ld->p->defaults.scan;
			if (st->copy.scan_timeout_ms == 0)
				st->copy.scan_timeout_ms =
				    svc->scan_timeout_ms
				        ? svc->scan_timeout_ms
				        : ld->p->defaults.scan_timeout_ms;
			if (st->copy.max_fallback < 0)
				st->copy.max_fallback =
				    ld->p->defaults.max_fallback;
			break;
		case DR_ACT_PROBE:
			if ((a = get_group(ld, g, "probe", what)) != NULL)
				load_probe(ld, a, what, &st->probe);
			break;
		case DR_ACT_PROVISION:
			load_provision(ld, g, what, &st->provision);
			st->command = st->provision.command;
			break;
		case DR_ACT_DEPROVISION:
			st->command = get_str(ld, g, "deprovision", what, true);
			break;
		case DR_ACT_NONE:
			break;
		}
	}
	if (config_setting_get_member(g, "args") && st->action != DR_ACT_SCRIPT)
		ERR(ld, line_of(config_setting_get_member(g, "args")),
		    "%s: \"args\" belongs to script steps", what);

	on = get_str(ld, g, "on", what, false);
	if (on) {
		parse_selector(ld, on,
		               line_of(config_setting_get_member(g, "on")),
		               what, &st->on);
		if (st->action == DR_ACT_LOCAL ||
		    st->action == DR_ACT_APPROVE || st->action == DR_ACT_COPY ||
		    st->action == DR_ACT_PROVISION ||
		    st->action == DR_ACT_DEPROVISION)
			ERR(ld, line_of(config_setting_get_member(g, "on")),
			    "%s: \"on\" does not apply to a %s step (%s)", what,
			    dr_action_name(st->action),
			    st->action == DR_ACT_COPY
			        ? "the copy's from and to name the hosts"
			        : "it runs on the controller");
	} else if (st->action == DR_ACT_RUN || st->action == DR_ACT_SCRIPT) {
		ERR(ld, st->line,
		    "%s: missing required \"on\" (where it runs, e.g. "
		    "\"to:db\")",
		    what);
	}

	st->timeout_ms = ld->p->defaults.timeout_ms;
	st->retries = ld->p->defaults.retries;
	st->retry_delay_ms = ld->p->defaults.retry_delay_ms;
	get_dur(ld, g, "timeout", what, &st->timeout_ms);
	get_int(ld, g, "retries", what, false, 0, 100, &st->retries);
	get_dur(ld, g, "retry_delay", what, &st->retry_delay_ms);
	get_bool(ld, g, "idempotent", what, &st->idempotent);
	st->approvers = ld->p->defaults.approvers;
	st->not_by_starter = ld->p->defaults.not_by_starter;
	if (config_setting_get_member(g, "approvers") &&
	    st->action != DR_ACT_APPROVE)
		ERR(ld, line_of(config_setting_get_member(g, "approvers")),
		    "%s: \"approvers\" applies to an approve step only", what);
	if (config_setting_get_member(g, "not_by_starter") &&
	    st->action != DR_ACT_APPROVE)
		ERR(ld, line_of(config_setting_get_member(g, "not_by_starter")),
		    "%s: \"not_by_starter\" applies to an approve step only",
		    what);
	get_int(ld, g, "approvers", what, false, 1, 9, &st->approvers);
	get_bool(ld, g, "not_by_starter", what, &st->not_by_starter);
	get_bool(ld, g, "readonly", what, &st->readonly);
	get_bool(ld, g, "cleanup", what, &st->cleanup);
	if (st->action == DR_ACT_COPY && st->readonly)
		ERR(ld, line_of(config_setting_get_member(g, "readonly")),
		    "%s: a copy always writes its destination, so it cannot "
		    "be readonly",
		    what);
	if (st->action == DR_ACT_PROBE)
		st->readonly = true;
	if (st->action == DR_ACT_DEPROVISION) {
		/* It removes what the drill's provision step created: after
		 * the drill, whatever its outcome. */
		if (config_setting_get_member(g, "cleanup") && !st->cleanup)
			ERR(ld,
			    line_of(config_setting_get_member(g, "cleanup")),
			    "%s: a deprovision step is a cleanup step (it runs "
			    "after the drill); leave cleanup out or true",
			    what);
		st->cleanup = true;
	}
	if ((st->action == DR_ACT_PROVISION ||
	     st->action == DR_ACT_DEPROVISION) &&
	    st->readonly)
		ERR(ld, line_of(config_setting_get_member(g, "readonly")),
		    "%s: a provision step creates hosts, so it cannot be "
		    "readonly",
		    what);
	st->requires = get_str_list(ld, g, "requires", what, &st->nrequires);
	for (k = 0; k < (int)st->nrequires; k++) {
		if (!valid_name(st->requires[k]))
			ERR(ld,
			    line_of(config_setting_get_member(g, "requires")),
			    "%s: requires \"%s\" is not a command name", what,
			    st->requires[k]);
	}
	if (st->nrequires && st->on.kind == DR_SEL_NONE)
		ERR(ld, line_of(config_setting_get_member(g, "requires")),
		    "%s: \"requires\" needs a host (\"on\")", what);
	st->success = get_str(ld, g, "success", what, false);
	st->on_error_hint = get_str(ld, g, "on_error", what, false);

	st->on_failure = DR_FAIL_ABORT;
	if (get_word(ld, g, "on_failure", what, false, failures, &k))
		st->on_failure = (enum dr_on_failure)k;
	st->unreachable = DR_UNREACH_FAIL;
	if (get_word(ld, g, "unreachable", what, false, unreachables, &k))
		st->unreachable = (enum dr_unreachable)k;
	st->when = DR_MODE_FAILOVER | DR_MODE_DRILL;
	if (get_word(ld, g, "when", what, false, whens, &k))
		st->when = when_modes[k];
}

static const struct list_kind step_list = LIST_KIND(
    "steps", "step", struct dr_step, LIST_REQUIRED | LIST_NONEMPTY, read_step,
    KEYS("name", "on", "run", "script", "args", "copy", "probe", "approve",
         "local", "provision", "deprovision", "timeout", "retries",
         "retry_delay", "idempotent", "readonly", "on_failure", "unreachable",
         "when", "cleanup", "success", "on_error", "requires", "approvers",
         "not_by_starter"));

static void
read_service(struct loader *ld, const config_setting_t *g, const char *what,
             void *elem, size_t index, void *arg)
{
	static const char *const scopes[] = {"global", "tenant", NULL};
	struct dr_service *x = elem;
	int k;

	x->description = get_str(ld, g, "description", what, false);
	get_int(ld, g, "tier", what, true, 0, DR_TIER_MAX, &x->tier);
	get_dur(ld, g, "rto", what, &x->rto_ms);
	get_dur(ld, g, "rpo", what, &x->rpo_ms);
	x->scope = DR_SCOPE_GLOBAL;
	if (get_word(ld, g, "scope", what, true, scopes, &k))
		x->scope = (enum dr_scope)k;
	x->after = get_str_list(ld, g, "after", what, &x->nafter);
	x->scan = get_str(ld, g, "scan", what, false);
	get_dur(ld, g, "scan_timeout", what, &x->scan_timeout_ms);
	x->steps = load_list(ld, g, what, &step_list, x, &x->nsteps);
}

static const struct list_kind service_list = LIST_KIND(
    "services", "service", struct dr_service, LIST_REQUIRED, read_service,
    KEYS("name", "description", "tier", "rto", "rpo", "scope", "after", "steps",
         "scan", "scan_timeout"));

/*
 * indicators = { names = [...]; extensions = [...]; sha256 = [...];
 *                yara = "FILE"; };
 */
static void
load_indicators(struct loader *ld, const config_setting_t *root)
{
	static const char *const keys[] = {"names", "extensions", "sha256",
	                                   "yara", NULL};
	const config_setting_t *g = get_group(ld, root, "indicators", "plan");
	struct dr_plan *p = ld->p;
	size_t i;

	if (g == NULL)
		return;
	p->ioc_line = line_of(g);
	check_keys(ld, g, "indicators", keys);
	p->ioc_names =
	    get_str_list(ld, g, "names", "indicators", &p->nioc_names);
	p->ioc_extensions = get_str_list(ld, g, "extensions", "indicators",
	                                 &p->nioc_extensions);
	p->ioc_sha256 =
	    get_str_list(ld, g, "sha256", "indicators", &p->nioc_sha256);
	p->ioc_yara = get_str(ld, g, "yara", "indicators", false);
	for (i = 0; i < p->nioc_names; i++)
		if (*p->ioc_names[i] == '\0' || strchr(p->ioc_names[i], '/'))
			ERR(ld, line_of(config_setting_get_member(g, "names")),
			    "indicators: name \"%s\" must be a file name "
			    "(no '/')",
			    p->ioc_names[i]);
	for (i = 0; i < p->nioc_extensions; i++)
		if (p->ioc_extensions[i][0] != '.' ||
		    strchr(p->ioc_extensions[i], '/'))
			ERR(ld,
			    line_of(config_setting_get_member(g, "extensions")),
			    "indicators: extension \"%s\" must start with "
			    "'.', e.g. \".lockbit\"",
			    p->ioc_extensions[i]);
	for (i = 0; i < p->nioc_sha256; i++) {
		const char *h = p->ioc_sha256[i];
		bool ok = strlen(h) == 64;
		for (; *h; h++)
			ok = ok && isxdigit((unsigned char)*h) &&
			     !isupper((unsigned char)*h);
		if (!ok)
			ERR(ld, line_of(config_setting_get_member(g, "sha256")),
			    "indicators: sha256 \"%s\" must be 64 lower-case "
			    "hex digits",
			    p->ioc_sha256[i]);
	}
	if (p->ioc_yara && p->ioc_yara[0] != '/')
		ERR(ld, line_of(config_setting_get_member(g, "yara")),
		    "indicators: yara \"%s\" must be an absolute path on the "
		    "destination hosts",
		    p->ioc_yara);
}

/* Reads the root group: the plan's own keys, then each section in turn. */
static void
load_root(struct loader *ld, const config_setting_t *root)
{
	static const char *const keys[] = {
	    "version",  "name",       "description", "strict_tiers",
	    "defaults", "limits",     "sites",       "tenants",
	    "services", "contacts",   "vars",        "secrets",
	    "notify",   "indicators", "controllers", NULL};
	const config_setting_t *vars;
	struct dr_plan *p = ld->p;

	check_keys(ld, root, "plan", keys);
	if (get_int(ld, root, "version", "plan", true, 1, 1000, &p->version) &&
	    p->version != 1)
		ERR(ld, line_of(config_setting_get_member(root, "version")),
		    "plan: version %d is not supported (this drover reads "
		    "version 1)",
		    p->version);
	p->name = get_name(ld, root, "plan");
	p->description = get_str(ld, root, "description", "plan", false);
	p->strict_tiers = true;
	get_bool(ld, root, "strict_tiers", "plan", &p->strict_tiers);
	load_defaults(ld, root);
	load_limits(ld, root);
	load_notify(ld, root);
	load_indicators(ld, root);
	load_controllers(ld, root);
	vars = get_group(ld, root, "vars", "plan");
	if (vars)
		p->vars = load_vars(ld, vars, "vars", &p->nvars);
	p->secrets =
	    load_list(ld, root, "plan", &secret_list, NULL, &p->nsecrets);
	p->contacts =
	    load_list(ld, root, "plan", &contact_list, NULL, &p->ncontacts);
	p->sites = load_list(ld, root, "plan", &site_list, NULL, &p->nsites);
	p->tenants =
	    load_list(ld, root, "plan", &tenant_list, NULL, &p->ntenants);
	p->services =
	    load_list(ld, root, "plan", &service_list, NULL, &p->nservices);
}

int
plan_read(struct loader *ld, const char *text)
{
	config_t cfg;
	const char *q = text;
	int line = 1;

	/* A plan is one file: libconfig's @include would read any path,
	 * unbounded (a device, a FIFO), behind the size checks. */
	for (; *q; line++) {
		const char *e = strchr(q, '\n');
		q += strspn(q, " \t");
		if (strncmp(q, "@include", 8) == 0) {
			dr_diag_add(ld->diags, ld->file, line,
			            "@include is not supported: a plan is one "
			            "file");
			return DR_EPLAN;
		}
		if (e == NULL)
			break;
		q = e + 1;
	}
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		dr_diag_add(ld->diags, ld->file, config_error_line(&cfg),
		            "syntax: %s", config_error_text(&cfg));
		config_destroy(&cfg);
		return DR_EPLAN;
	}
	load_root(ld, config_root_setting(&cfg));
	config_destroy(&cfg);
	return 0;
}
