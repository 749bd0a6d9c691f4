/*
 * plan.c: load a libconfig plan into one arena and validate all of it.
 *
 * Loading never stops at the first problem: each section is read as far as
 * it can be, every problem becomes a "FILE:LINE: message" diagnostic, and
 * cross-references (after, selectors, templates) are checked once every
 * name is known.
 */
#include "drover/plan.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <libconfig.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/sha256.h"
#include "drover/shcmd.h"
#include "drover/template.h"

struct loader {
	const char *file;
	struct dr_diags *diags;
	struct dr_arena *a;
	struct dr_plan *p;
	int errors;
};

#define ERR(ld, line, ...)                                                     \
	do {                                                                   \
		dr_diag_add((ld)->diags, (ld)->file, (line), __VA_ARGS__);     \
		(ld)->errors++;                                                \
	} while (0)

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

/*
 * Reads a string member. Returns the arena copy, or NULL when it is absent
 * (reported if required) or of the wrong type (reported).
 */
static const char *
get_str(struct loader *ld, const config_setting_t *g, const char *key,
        const char *what, bool required)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL) {
		if (required)
			ERR(ld, line_of(g), "%s: missing required \"%s\"", what,
			    key);
		return NULL;
	}
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		ERR(ld, line_of(s), "%s: \"%s\" must be a string, not %s", what,
		    key, type_name(config_setting_type(s)));
		return NULL;
	}
	return dr_arena_strdup(ld->a, config_setting_get_string(s));
}

static bool
get_int(struct loader *ld, const config_setting_t *g, const char *key,
        const char *what, bool required, long long lo, long long hi, int *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	long long v;

	if (s == NULL) {
		if (required)
			ERR(ld, line_of(g), "%s: missing required \"%s\"", what,
			    key);
		return false;
	}
	if (config_setting_type(s) != CONFIG_TYPE_INT &&
	    config_setting_type(s) != CONFIG_TYPE_INT64) {
		ERR(ld, line_of(s), "%s: \"%s\" must be an integer, not %s",
		    what, key, type_name(config_setting_type(s)));
		return false;
	}
	v = config_setting_get_int64(s);
	if (v < lo || v > hi) {
		ERR(ld, line_of(s), "%s: \"%s\" is %lld, must be %lld to %lld",
		    what, key, v, lo, hi);
		return false;
	}
	*out = (int)v;
	return true;
}

static bool
get_bool(struct loader *ld, const config_setting_t *g, const char *key,
         const char *what, bool *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL)
		return false;
	if (config_setting_type(s) != CONFIG_TYPE_BOOL) {
		ERR(ld, line_of(s), "%s: \"%s\" must be true or false, not %s",
		    what, key, type_name(config_setting_type(s)));
		return false;
	}
	*out = config_setting_get_bool(s) != 0;
	return true;
}

static bool
get_dur(struct loader *ld, const config_setting_t *g, const char *key,
        const char *what, uint64_t *out)
{
	const config_setting_t *s = config_setting_get_member(g, key);
	const char *v;

	if (s == NULL)
		return false;
	if (config_setting_type(s) != CONFIG_TYPE_STRING) {
		ERR(ld, line_of(s),
		    "%s: \"%s\" must be a duration string like \"30s\", "
		    "\"10m\" or \"8h\", not %s",
		    what, key, type_name(config_setting_type(s)));
		return false;
	}
	v = config_setting_get_string(s);
	if (dr_duration_parse(v, out) != 0) {
		ERR(ld, line_of(s),
		    "%s: malformed duration \"%s\" for \"%s\" (use a number "
		    "and ms, s, m, h or d, e.g. \"90s\"; at most 3650d)",
		    what, v, key);
		return false;
	}
	return true;
}

/* Reads an array of strings; a single string is accepted as one element. */
static const char *const *
get_str_list(struct loader *ld, const config_setting_t *g, const char *key,
             const char *what, size_t *n)
{
	const config_setting_t *s = config_setting_get_member(g, key);
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
	if (config_setting_type(s) != CONFIG_TYPE_ARRAY &&
	    config_setting_type(s) != CONFIG_TYPE_LIST) {
		ERR(ld, line_of(s),
		    "%s: \"%s\" must be an array of strings, not %s", what, key,
		    type_name(config_setting_type(s)));
		return NULL;
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

/* Returns the list member key, or NULL (reported when of the wrong type). */
static const config_setting_t *
get_list(struct loader *ld, const config_setting_t *g, const char *key,
         const char *what)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_LIST) {
		ERR(ld, line_of(s),
		    "%s: \"%s\" must be a list of groups: %s = ( { ... }, "
		    "{ ... } );",
		    what, key, key);
		return NULL;
	}
	return s;
}

static const config_setting_t *
get_group(struct loader *ld, const config_setting_t *g, const char *key,
          const char *what)
{
	const config_setting_t *s = config_setting_get_member(g, key);

	if (s == NULL)
		return NULL;
	if (config_setting_type(s) != CONFIG_TYPE_GROUP) {
		ERR(ld, line_of(s),
		    "%s: \"%s\" must be a group { ... }, not %s", what, key,
		    type_name(config_setting_type(s)));
		return NULL;
	}
	return s;
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

static const char *const site_roles[] = {"primary", "secondary", "standby",
                                         "vault",   "drill",     NULL};

static void
load_defaults(struct loader *ld, const config_setting_t *root)
{
	static const char *const keys[] = {
	    "user",    "identity",        "known_hosts",
	    "port",    "connect_timeout", "timeout",
	    "retries", "retry_delay",     "keepalive",
	    NULL};
	struct dr_defaults *d = &ld->p->defaults;
	const config_setting_t *g;
	const char *kh;

	d->user = "drover";
	d->port = 22;
	d->connect_timeout_ms = 10000;
	d->timeout_ms = 600000;
	d->retries = 0;
	d->retry_delay_ms = 5000;
	d->keepalive_ms = 15000;
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
}

static void
load_limits(struct loader *ld, const config_setting_t *root)
{
	static const char *const keys[] = {"sessions", "per_site", "per_host",
	                                   NULL};
	struct dr_limits *l = &ld->p->limits;
	const config_setting_t *g;

	l->sessions = 64;
	l->per_site = 32;
	l->per_host = 4;
	g = get_group(ld, root, "limits", "limits");
	if (g == NULL)
		return;
	check_keys(ld, g, "limits", keys);
	get_int(ld, g, "sessions", "limits", false, 1, 100000, &l->sessions);
	get_int(ld, g, "per_site", "limits", false, 1, 100000, &l->per_site);
	get_int(ld, g, "per_host", "limits", false, 1, 1000, &l->per_host);
}

static void
load_sites(struct loader *ld, const config_setting_t *root)
{
	static const char *const skeys[] = {"name", "role", "hosts",
	                                    "description", NULL};
	static const char *const hkeys[] = {"name", "address", "port",
	                                    "user", "roles",   NULL};
	const config_setting_t *list = get_list(ld, root, "sites", "plan");
	struct dr_site *sites;
	int i, n;

	if (list == NULL) {
		if (config_setting_get_member(root, "sites") == NULL)
			ERR(ld, 1, "plan: missing required \"sites\"");
		return;
	}
	n = config_setting_length(list);
	sites = dr_arena_alloc(ld->a, sizeof(*sites) * (size_t)(n ? n : 1));
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, i);
		struct dr_site *s = &sites[ld->p->nsites];
		const config_setting_t *hl;
		const char *role;
		char what[96];
		struct dr_host *hosts;
		int j, nh, k;

		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			ERR(ld, line_of(g), "sites: each site must be a group");
			continue;
		}
		memset(s, 0, sizeof(*s));
		check_keys(ld, g, "site", skeys);
		s->line = line_of(g);
		s->name = get_name(ld, g, "site");
		snprintf(what, sizeof(what), "site \"%s\"",
		         s->name ? s->name : "?");
		role = get_str(ld, g, "role", what, true);
		if (role) {
			for (k = 0; site_roles[k]; k++)
				if (strcmp(site_roles[k], role) == 0)
					break;
			if (site_roles[k] == NULL)
				ERR(ld,
				    line_of(
				        config_setting_get_member(g, "role")),
				    "%s: unknown role \"%s\" (one of primary, "
				    "secondary, standby, vault, drill)",
				    what, role);
			else
				s->role = (enum dr_site_role)k;
		}
		hl = get_list(ld, g, "hosts", what);
		if (hl == NULL) {
			if (config_setting_get_member(g, "hosts") == NULL)
				ERR(ld, s->line,
				    "%s: missing required \"hosts\"", what);
		} else {
			nh = config_setting_length(hl);
			if (nh == 0)
				ERR(ld, line_of(hl), "%s: has no hosts", what);
			hosts = dr_arena_alloc(
			    ld->a, sizeof(*hosts) * (size_t)(nh ? nh : 1));
			for (j = 0; j < nh; j++) {
				const config_setting_t *h =
				    config_setting_get_elem(hl, j);
				struct dr_host *ho = &hosts[s->nhosts];
				char hw[160];

				if (config_setting_type(h) !=
				    CONFIG_TYPE_GROUP) {
					ERR(ld, line_of(h),
					    "%s: each host must be a group",
					    what);
					continue;
				}
				memset(ho, 0, sizeof(*ho));
				check_keys(ld, h, "host", hkeys);
				ho->line = line_of(h);
				ho->site = s;
				ho->name = get_name(ld, h, "host");
				snprintf(hw, sizeof(hw), "host \"%s\"",
				         ho->name ? ho->name : "?");
				ho->address =
				    get_str(ld, h, "address", hw, true);
				ho->port = 0;
				get_int(ld, h, "port", hw, false, 1, 65535,
				        &ho->port);
				ho->user = get_str(ld, h, "user", hw, false);
				ho->roles = get_str_list(ld, h, "roles", hw,
				                         &ho->nroles);
				for (k = 0; k < (int)ho->nroles; k++) {
					if (!valid_name(ho->roles[k]))
						ERR(ld, ho->line,
						    "%s: bad role name \"%s\"",
						    hw, ho->roles[k]);
				}
				if (ho->nroles == 0)
					ERR(ld, ho->line,
					    "%s: needs at least one role in "
					    "\"roles\"",
					    hw);
				if (ho->name == NULL)
					continue;
				s->nhosts++;
			}
			s->hosts = hosts;
		}
		if (s->name == NULL)
			continue;
		ld->p->nsites++;
	}
	ld->p->sites = sites;
}

static void
load_tenants(struct loader *ld, const config_setting_t *root)
{
	static const char *const keys[] = {"name", "priority", "vars",
	                                   "description", NULL};
	const config_setting_t *list = get_list(ld, root, "tenants", "plan");
	struct dr_tenant *t;
	int i, n;

	if (list == NULL)
		return;
	n = config_setting_length(list);
	t = dr_arena_alloc(ld->a, sizeof(*t) * (size_t)(n ? n : 1));
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, i);
		struct dr_tenant *x = &t[ld->p->ntenants];
		const config_setting_t *vars;
		char what[96];

		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			ERR(ld, line_of(g),
			    "tenants: each tenant must be a group");
			continue;
		}
		memset(x, 0, sizeof(*x));
		check_keys(ld, g, "tenant", keys);
		x->line = line_of(g);
		x->name = get_name(ld, g, "tenant");
		snprintf(what, sizeof(what), "tenant \"%s\"",
		         x->name ? x->name : "?");
		get_int(ld, g, "priority", what, true, 1, DR_PRIORITY_MAX,
		        &x->priority);
		vars = get_group(ld, g, "vars", what);
		if (vars)
			x->vars = load_vars(ld, vars, what, &x->nvars);
		if (x->name)
			ld->p->ntenants++;
	}
	ld->p->tenants = t;
}

static void
load_contacts(struct loader *ld, const config_setting_t *root)
{
	static const char *const keys[] = {"name", "role", "phone", "email",
	                                   NULL};
	const config_setting_t *list = get_list(ld, root, "contacts", "plan");
	struct dr_contact *c;
	int i, n;

	if (list == NULL)
		return;
	n = config_setting_length(list);
	c = dr_arena_alloc(ld->a, sizeof(*c) * (size_t)(n ? n : 1));
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, i);
		struct dr_contact *x = &c[ld->p->ncontacts];

		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			ERR(ld, line_of(g),
			    "contacts: each contact must be a group");
			continue;
		}
		memset(x, 0, sizeof(*x));
		check_keys(ld, g, "contact", keys);
		x->line = line_of(g);
		x->name = get_str(ld, g, "name", "contact", true);
		x->role = get_str(ld, g, "role", "contact", false);
		x->phone = get_str(ld, g, "phone", "contact", false);
		x->email = get_str(ld, g, "email", "contact", false);
		if (x->name && !x->phone && !x->email)
			ERR(ld, x->line,
			    "contact \"%s\": give a phone or an email, or "
			    "nobody can reach them",
			    x->name);
		if (x->name)
			ld->p->ncontacts++;
	}
	ld->p->contacts = c;
}

static void
load_secrets(struct loader *ld, const config_setting_t *root)
{
	static const char *const keys[] = {"name", "env", "file", NULL};
	const config_setting_t *list = get_list(ld, root, "secrets", "plan");
	struct dr_secret *s;
	int i, n;

	if (list == NULL)
		return;
	n = config_setting_length(list);
	s = dr_arena_alloc(ld->a, sizeof(*s) * (size_t)(n ? n : 1));
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, i);
		struct dr_secret *x = &s[ld->p->nsecrets];
		char what[96];

		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			ERR(ld, line_of(g),
			    "secrets: each secret must be a group");
			continue;
		}
		memset(x, 0, sizeof(*x));
		check_keys(ld, g, "secret", keys);
		x->line = line_of(g);
		x->name = get_name(ld, g, "secret");
		snprintf(what, sizeof(what), "secret \"%s\"",
		         x->name ? x->name : "?");
		x->env = get_str(ld, g, "env", what, false);
		x->file = get_str(ld, g, "file", what, false);
		if (!x->env == !x->file)
			ERR(ld, x->line,
			    "%s: give exactly one of \"env\" (an environment "
			    "variable) or \"file\" (a 0600 file)",
			    what);
		if (x->file && x->file[0] != '/')
			x->file = arena_join(ld, ld->p->dir, x->file);
		if (x->name)
			ld->p->nsecrets++;
	}
	ld->p->secrets = s;
}

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
	char *sel;

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
	sel = dr_arena_strndup(ld->a, text, (size_t)(c2 - text));
	ep->path = dr_arena_strdup(ld->a, c2 + 1);
	return parse_selector(ld, sel, line, what, &ep->sel);
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
	static const char *const keys[] = {"from", "to", "sha256", "mode",
	                                   NULL};
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

static const char *const step_actions[] = {"run",     "script", "copy", "probe",
                                           "approve", "local",  NULL};

static void
load_step(struct loader *ld, const config_setting_t *g,
          const struct dr_service *svc, struct dr_step *st)
{
	static const char *const keys[] = {
	    "name",       "on",       "run",        "script",
	    "args",       "copy",     "probe",      "approve",
	    "local",      "timeout",  "retries",    "retry_delay",
	    "idempotent", "readonly", "on_failure", "unreachable",
	    "when",       "cleanup",  "success",    "on_error",
	    "requires",   NULL};
	char what[192];
	const char *on, *s;
	const char *found[2] = {NULL, NULL};
	int k, nfound = 0;

	check_keys(ld, g, "step", keys);
	st->line = line_of(g);
	st->service = svc;
	st->name = get_name(ld, g, "step");
	snprintf(what, sizeof(what), "service \"%s\" step \"%s\"",
	         svc->name ? svc->name : "?", st->name ? st->name : "?");
	for (k = 0; step_actions[k]; k++) {
		if (config_setting_get_member(g, step_actions[k])) {
			if (nfound < 2)
				found[nfound] = step_actions[k];
			nfound++;
		}
	}
	if (nfound == 0)
		ERR(ld, st->line,
		    "%s: has no action (give one of run, script, copy, probe, "
		    "approve, local)",
		    what);
	else if (nfound > 1)
		ERR(ld, st->line,
		    "%s: has %d actions (%s and %s); a step does exactly one "
		    "thing, split it",
		    what, nfound, found[0], found[1]);
	if (nfound == 1) {
		const config_setting_t *a;
		if (strcmp(found[0], "run") == 0) {
			st->action = DR_ACT_RUN;
			st->command = get_str(ld, g, "run", what, true);
		} else if (strcmp(found[0], "local") == 0) {
			st->action = DR_ACT_LOCAL;
			st->command = get_str(ld, g, "local", what, true);
		} else if (strcmp(found[0], "approve") == 0) {
			st->action = DR_ACT_APPROVE;
			st->prompt = get_str(ld, g, "approve", what, true);
		} else if (strcmp(found[0], "script") == 0) {
			st->action = DR_ACT_SCRIPT;
			st->script = get_str(ld, g, "script", what, true);
			st->args =
			    get_str_list(ld, g, "args", what, &st->nargs);
		} else if (strcmp(found[0], "copy") == 0) {
			st->action = DR_ACT_COPY;
			if ((a = get_group(ld, g, "copy", what)) != NULL)
				load_copy(ld, a, what, &st->copy);
		} else {
			st->action = DR_ACT_PROBE;
			if ((a = get_group(ld, g, "probe", what)) != NULL)
				load_probe(ld, a, what, &st->probe);
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
		    st->action == DR_ACT_APPROVE || st->action == DR_ACT_COPY)
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
	get_bool(ld, g, "readonly", what, &st->readonly);
	get_bool(ld, g, "cleanup", what, &st->cleanup);
	if (st->action == DR_ACT_COPY && st->readonly)
		ERR(ld, line_of(config_setting_get_member(g, "readonly")),
		    "%s: a copy always writes its destination, so it cannot "
		    "be readonly",
		    what);
	if (st->action == DR_ACT_PROBE)
		st->readonly = true;
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
	if ((s = get_str(ld, g, "on_failure", what, false)) != NULL) {
		if (strcmp(s, "abort") == 0)
			st->on_failure = DR_FAIL_ABORT;
		else if (strcmp(s, "continue") == 0)
			st->on_failure = DR_FAIL_CONTINUE;
		else if (strcmp(s, "pause") == 0)
			st->on_failure = DR_FAIL_PAUSE;
		else
			ERR(ld,
			    line_of(config_setting_get_member(g, "on_failure")),
			    "%s: on_failure \"%s\" must be abort, continue or "
			    "pause",
			    what, s);
	}
	st->unreachable = DR_UNREACH_FAIL;
	if ((s = get_str(ld, g, "unreachable", what, false)) != NULL) {
		if (strcmp(s, "fail") == 0)
			st->unreachable = DR_UNREACH_FAIL;
		else if (strcmp(s, "continue") == 0)
			st->unreachable = DR_UNREACH_CONTINUE;
		else
			ERR(ld,
			    line_of(
			        config_setting_get_member(g, "unreachable")),
			    "%s: unreachable \"%s\" must be fail or continue",
			    what, s);
	}
	st->when = DR_MODE_FAILOVER | DR_MODE_DRILL;
	if ((s = get_str(ld, g, "when", what, false)) != NULL) {
		if (strcmp(s, "failover") == 0)
			st->when = DR_MODE_FAILOVER;
		else if (strcmp(s, "drill") == 0)
			st->when = DR_MODE_DRILL;
		else if (strcmp(s, "always") != 0)
			ERR(ld, line_of(config_setting_get_member(g, "when")),
			    "%s: when \"%s\" must be failover, drill or always",
			    what, s);
	}
}

static void
load_services(struct loader *ld, const config_setting_t *root)
{
	static const char *const keys[] = {"name",  "description", "tier",
	                                   "rto",   "rpo",         "scope",
	                                   "after", "steps",       NULL};
	const config_setting_t *list = get_list(ld, root, "services", "plan");
	struct dr_service *sv;
	int i, n;

	if (list == NULL) {
		if (config_setting_get_member(root, "services") == NULL)
			ERR(ld, 1, "plan: missing required \"services\"");
		return;
	}
	n = config_setting_length(list);
	sv = dr_arena_alloc(ld->a, sizeof(*sv) * (size_t)(n ? n : 1));
	for (i = 0; i < n; i++) {
		const config_setting_t *g = config_setting_get_elem(list, i);
		struct dr_service *x = &sv[ld->p->nservices];
		const config_setting_t *steps;
		const char *scope;
		char what[96];
		struct dr_step *st;
		int j, ns;

		if (config_setting_type(g) != CONFIG_TYPE_GROUP) {
			ERR(ld, line_of(g),
			    "services: each service must be a group");
			continue;
		}
		memset(x, 0, sizeof(*x));
		check_keys(ld, g, "service", keys);
		x->line = line_of(g);
		x->name = get_name(ld, g, "service");
		snprintf(what, sizeof(what), "service \"%s\"",
		         x->name ? x->name : "?");
		x->description = get_str(ld, g, "description", what, false);
		get_int(ld, g, "tier", what, true, 0, DR_TIER_MAX, &x->tier);
		get_dur(ld, g, "rto", what, &x->rto_ms);
		get_dur(ld, g, "rpo", what, &x->rpo_ms);
		x->scope = DR_SCOPE_GLOBAL;
		scope = get_str(ld, g, "scope", what, true);
		if (scope) {
			if (strcmp(scope, "tenant") == 0)
				x->scope = DR_SCOPE_TENANT;
			else if (strcmp(scope, "global") != 0)
				ERR(ld,
				    line_of(
				        config_setting_get_member(g, "scope")),
				    "%s: scope \"%s\" must be global or tenant",
				    what, scope);
		}
		x->after = get_str_list(ld, g, "after", what, &x->nafter);
		steps = get_list(ld, g, "steps", what);
		if (steps == NULL) {
			if (config_setting_get_member(g, "steps") == NULL)
				ERR(ld, x->line,
				    "%s: missing required \"steps\"", what);
		} else {
			ns = config_setting_length(steps);
			if (ns == 0)
				ERR(ld, line_of(steps), "%s: has no steps",
				    what);
			st = dr_arena_alloc(ld->a, sizeof(*st) *
			                               (size_t)(ns ? ns : 1));
			for (j = 0; j < ns; j++) {
				const config_setting_t *sg =
				    config_setting_get_elem(steps, j);
				if (config_setting_type(sg) !=
				    CONFIG_TYPE_GROUP) {
					ERR(ld, line_of(sg),
					    "%s: each step must be a group",
					    what);
					continue;
				}
				memset(&st[x->nsteps], 0, sizeof(st[0]));
				st[x->nsteps].index = x->nsteps;
				load_step(ld, sg, x, &st[x->nsteps]);
				if (st[x->nsteps].name)
					x->nsteps++;
			}
			x->steps = st;
		}
		if (x->name)
			ld->p->nservices++;
	}
	ld->p->services = sv;
}

/* Reports names that appear twice; get(i) returns the i-th name and line. */
static void
check_dups(struct loader *ld, const char *what, size_t n,
           const char *(*get)(const struct dr_plan *, size_t, size_t, int *),
           size_t outer)
{
	size_t i, j;

	for (i = 0; i < n; i++) {
		int li, lj;
		const char *a = get(ld->p, outer, i, &li);
		for (j = 0; j < i; j++) {
			const char *b = get(ld->p, outer, j, &lj);
			if (strcmp(a, b) == 0) {
				ERR(ld, li,
				    "duplicate %s \"%s\" (first defined at "
				    "line %d)",
				    what, a, lj);
				break;
			}
		}
	}
}

static const char *
nth_site(const struct dr_plan *p, size_t o, size_t i, int *line)
{
	*line = p->sites[i].line;
	return p->sites[i].name;
}

static const char *
nth_tenant(const struct dr_plan *p, size_t o, size_t i, int *line)
{
	*line = p->tenants[i].line;
	return p->tenants[i].name;
}

static const char *
nth_service(const struct dr_plan *p, size_t o, size_t i, int *line)
{
	*line = p->services[i].line;
	return p->services[i].name;
}

static const char *
nth_step(const struct dr_plan *p, size_t o, size_t i, int *line)
{
	*line = p->services[o].steps[i].line;
	return p->services[o].steps[i].name;
}

static const char *
nth_secret(const struct dr_plan *p, size_t o, size_t i, int *line)
{
	*line = p->secrets[i].line;
	return p->secrets[i].name;
}

static void
check_host_dups(struct loader *ld)
{
	const struct dr_plan *p = ld->p;
	size_t s, h, s2, h2;

	for (s = 0; s < p->nsites; s++) {
		for (h = 0; h < p->sites[s].nhosts; h++) {
			const struct dr_host *a = &p->sites[s].hosts[h];
			bool dup = false;
			for (s2 = 0; s2 <= s && !dup; s2++) {
				size_t lim = s2 == s ? h : p->sites[s2].nhosts;
				for (h2 = 0; h2 < lim && !dup; h2++) {
					const struct dr_host *b =
					    &p->sites[s2].hosts[h2];
					if (strcmp(a->name, b->name) == 0) {
						ERR(ld, a->line,
						    "duplicate host \"%s\" "
						    "(first defined at line "
						    "%d)",
						    a->name, b->line);
						dup = true;
					}
				}
			}
		}
	}
}

static bool
site_could_be_lost(const struct dr_site *s)
{
	return s->role == DR_SITE_PRIMARY || s->role == DR_SITE_SECONDARY;
}

static bool
site_could_be_target(const struct dr_site *s)
{
	return s->role == DR_SITE_STANDBY || s->role == DR_SITE_DRILL;
}

static bool
site_has_role(const struct dr_site *s, const char *role)
{
	size_t i;

	for (i = 0; i < s->nhosts; i++) {
		if (dr_host_has_role(&s->hosts[i], role))
			return true;
	}
	return false;
}

/* Checks a selector's names against the sites. */
static void
check_selector(struct loader *ld, const struct dr_selector *sel, int line,
               const char *what)
{
	const struct dr_plan *p = ld->p;
	size_t i;
	bool any = false;

	switch (sel->kind) {
	case DR_SEL_NONE:
		return;
	case DR_SEL_FROM:
		for (i = 0; i < p->nsites; i++) {
			if (site_could_be_lost(&p->sites[i]) &&
			    site_has_role(&p->sites[i], sel->name))
				any = true;
		}
		if (!any)
			ERR(ld, line,
			    "%s: selector \"%s\" matches no host in any site "
			    "that could be lost (primary or secondary)",
			    what, sel->text);
		return;
	case DR_SEL_TO:
		for (i = 0; i < p->nsites; i++) {
			if (site_could_be_target(&p->sites[i]) &&
			    !site_has_role(&p->sites[i], sel->name))
				ERR(ld, line,
				    "%s: selector \"%s\" matches no host in "
				    "site \"%s\", which could be the target",
				    what, sel->text, p->sites[i].name);
		}
		return;
	case DR_SEL_SITE: {
		const struct dr_site *s = dr_plan_site(p, sel->site);
		if (s == NULL) {
			ERR(ld, line,
			    "%s: selector \"%s\" names unknown site \"%s\"",
			    what, sel->text, sel->site);
			return;
		}
		for (i = 0; i < s->nhosts; i++) {
			if (strcmp(s->hosts[i].name, sel->name) == 0) {
				((struct dr_selector *)sel)->is_host = true;
				return;
			}
		}
		if (!site_has_role(s, sel->name))
			ERR(ld, line,
			    "%s: selector \"%s\": site \"%s\" has no host or "
			    "role \"%s\"",
			    what, sel->text, s->name, sel->name);
		return;
	}
	}
}

/* Template reference checking. */
struct ref_ctx {
	struct loader *ld;
	const struct dr_service *svc;
	int line;
	const char *what;
	const char *field;
	bool has_host;
	bool shell;
};

static void
check_ref(const char *name, void *arg)
{
	struct ref_ctx *c = arg;
	struct loader *ld = c->ld;
	static const char *const always[] = {"service", "step", "from",
	                                     "to",      "mode", NULL};
	static const char *const hostly[] = {"host", "address", "port",
	                                     "user", "site",    NULL};
	size_t i;

	for (i = 0; always[i]; i++)
		if (strcmp(name, always[i]) == 0)
			return;
	for (i = 0; hostly[i]; i++) {
		if (strcmp(name, hostly[i]) == 0) {
			if (!c->has_host)
				ERR(ld, c->line,
				    "%s: ${%s} in %s, but the step has no host "
				    "(it runs on the controller; add \"on\")",
				    c->what, name, c->field);
			return;
		}
	}
	if (strcmp(name, "tenant") == 0) {
		if (c->svc->scope != DR_SCOPE_TENANT)
			ERR(ld, c->line,
			    "%s: ${tenant} in %s, but the service is global "
			    "(scope = \"tenant\" runs it once per tenant)",
			    c->what, c->field);
		return;
	}
	if (strncmp(name, "var.", 4) == 0) {
		const char *v = name + 4;
		size_t t;
		if (dr_plan_var(ld->p, NULL, v) != NULL)
			return;
		if (c->svc->scope != DR_SCOPE_TENANT || ld->p->ntenants == 0) {
			ERR(ld, c->line, "%s: ${%s} in %s: no variable \"%s\"",
			    c->what, name, c->field, v);
			return;
		}
		for (t = 0; t < ld->p->ntenants; t++) {
			if (dr_plan_var(ld->p, &ld->p->tenants[t], v) == NULL) {
				ERR(ld, c->line,
				    "%s: ${%s} in %s: tenant \"%s\" has no "
				    "variable \"%s\" and the plan has no "
				    "default",
				    c->what, name, c->field,
				    ld->p->tenants[t].name, v);
				return;
			}
		}
		return;
	}
	if (strncmp(name, "secret.", 7) == 0) {
		if (!c->shell || strcmp(c->field, "args") == 0)
			ERR(ld, c->line,
			    "%s: ${%s} in %s: secrets may only be used in "
			    "run and local commands (they are passed on "
			    "stdin)",
			    c->what, name, c->field);
		else if (dr_plan_secret(ld->p, name + 7) == NULL)
			ERR(ld, c->line, "%s: ${%s} in %s: no secret \"%s\"",
			    c->what, name, c->field, name + 7);
		return;
	}
	ERR(ld, c->line,
	    "%s: unknown reference ${%s} in %s (known: tenant, service, step, "
	    "host, address, port, user, site, from, to, mode, var.NAME, "
	    "secret.NAME)",
	    c->what, name, c->field);
}

/*
 * The declarations of the values a reference can take, for dr_sh_check: a
 * var is an integer when every value it can take here is one.
 */
static const char *
decl_lookup(const char *name, bool *integer, void *arg)
{
	struct ref_ctx *c = arg;
	const struct dr_plan *p = c->ld->p;

	*integer = false;
	if (strcmp(name, "port") == 0) {
		*integer = true;
	} else if (strncmp(name, "var.", 4) == 0) {
		const struct dr_var *v;
		bool all = true, any = false;
		size_t t;

		if (c->svc->scope == DR_SCOPE_TENANT && p->ntenants > 0) {
			for (t = 0; t < p->ntenants; t++) {
				v = dr_plan_var_find(p, &p->tenants[t],
				                     name + 4);
				any = any || v != NULL;
				all = all && v != NULL && v->integer;
			}
		} else {
			v = dr_plan_var_find(p, NULL, name + 4);
			any = v != NULL;
			all = v != NULL && v->integer;
		}
		*integer = any && all;
	}
	return "x"; /* unknown names are check_ref's to report */
}

/* Every value a var reference can take, in a probe target, is checked. */
static void
check_target_ref(const char *name, void *arg)
{
	struct ref_ctx *c = arg;
	const struct dr_plan *p = c->ld->p;
	const struct dr_var *v;
	const char *why;
	size_t t;

	if (strncmp(name, "var.", 4) != 0)
		return;
	for (t = 0; t <= p->ntenants; t++) {
		const struct dr_tenant *tn =
		    t < p->ntenants ? &p->tenants[t] : NULL;
		if (tn && c->svc->scope != DR_SCOPE_TENANT)
			continue;
		v = dr_plan_var_find(p, tn, name + 4);
		if (v && (why = dr_tmpl_bad_target(v->value)) != NULL) {
			ERR(c->ld, c->line, "%s: ${%s} in %s%s%s%s: %s",
			    c->what, name, c->field, tn ? " (tenant \"" : "",
			    tn ? tn->name : "", tn ? "\")" : "", why);
			return;
		}
	}
}

static void
check_tmpl(struct ref_ctx *c, const char *tmpl, const char *field, bool shell,
           bool has_host)
{
	const char *why;

	if (tmpl == NULL)
		return;
	c->field = field;
	c->shell = shell;
	c->has_host = has_host;
	if (dr_tmpl_scan(tmpl, check_ref, c) != 0) {
		ERR(c->ld, c->line,
		    "%s: malformed ${...} in %s (a reference is ${name}, and "
		    "$$ is a literal $)",
		    c->what, field);
		return;
	}
	if (shell && strcmp(field, "args") != 0) {
		char *bad = NULL;
		if (dr_sh_check(tmpl, decl_lookup, c, &bad) != 0)
			ERR(c->ld, c->line, "%s: %s: %s", c->what, field, bad);
		free(bad);
	}
	if (strcmp(field, "probe") == 0) {
		if ((why = dr_tmpl_bad_target(tmpl)) != NULL)
			ERR(c->ld, c->line, "%s: probe target: %s", c->what,
			    why);
		else
			dr_tmpl_scan(tmpl, check_target_ref, c);
	}
}

static void
check_step_refs(struct loader *ld, const struct dr_service *svc,
                const struct dr_step *st)
{
	struct ref_ctx c = {.ld = ld, .svc = svc, .line = st->line};
	char what[192];
	bool host = st->on.kind != DR_SEL_NONE;
	size_t i;

	snprintf(what, sizeof(what), "service \"%s\" step \"%s\"", svc->name,
	         st->name);
	c.what = what;
	check_selector(ld, &st->on, st->line, what);
	switch (st->action) {
	case DR_ACT_RUN:
		check_tmpl(&c, st->command, "run", true, host);
		break;
	case DR_ACT_LOCAL:
		check_tmpl(&c, st->command, "local", true, false);
		break;
	case DR_ACT_SCRIPT:
		for (i = 0; i < st->nargs; i++)
			check_tmpl(&c, st->args[i], "args", true, host);
		break;
	case DR_ACT_APPROVE:
		check_tmpl(&c, st->prompt, "approve", false, false);
		break;
	case DR_ACT_PROBE:
		check_tmpl(&c, st->probe.target, "probe", false, host);
		check_tmpl(&c, st->probe.expect_body, "expect_body", false,
		           host);
		break;
	case DR_ACT_COPY:
		check_selector(ld, &st->copy.from.sel, st->line, what);
		check_selector(ld, &st->copy.to.sel, st->line, what);
		check_tmpl(&c, st->copy.from.path, "copy from", false,
		           st->copy.from.sel.kind != DR_SEL_NONE);
		check_tmpl(&c, st->copy.to.path, "copy to", false,
		           st->copy.to.sel.kind != DR_SEL_NONE);
		check_tmpl(&c, st->copy.sha256, "sha256", false, false);
		if (st->copy.from.path && strchr(st->copy.from.path, '*')) {
			const char *slash = strrchr(st->copy.from.path, '/');
			if (st->copy.from.sel.kind == DR_SEL_NONE)
				ERR(ld, st->line,
				    "%s: a restore-point set (a '*' in the "
				    "copy "
				    "source) must be on a host",
				    what);
			else if (slash && strchr(slash, '*') == NULL)
				ERR(ld, st->line,
				    "%s: '*' may only appear in the file name "
				    "of the copy source",
				    what);
			else if (st->copy.sha256 &&
			         strcmp(st->copy.sha256, "manifest") != 0)
				ERR(ld, st->line,
				    "%s: a restore-point set is verified with "
				    "sha256 = \"manifest\" (each backup's "
				    "FILE.sha256), not one fixed digest",
				    what);
		}
		if (st->copy.from.sel.kind == DR_SEL_FROM)
			ERR(ld, st->line,
			    "%s: copies from a lost site (\"%s\"); restore "
			    "from "
			    "the vault, never from a compromised site",
			    what, st->copy.from.sel.text);
		break;
	case DR_ACT_NONE:
		break;
	}
}

/* Service graph: after references, tier order, cycles. */
static void
resolve_after(struct loader *ld)
{
	struct dr_plan *p = ld->p;
	size_t i, j;

	for (i = 0; i < p->nservices; i++) {
		struct dr_service *s = (struct dr_service *)&p->services[i];
		const struct dr_service **v;

		v = dr_arena_alloc(ld->a, sizeof(*v) * (s->nafter + 1));
		s->after_svc = v;
		for (j = 0; j < s->nafter; j++) {
			const struct dr_service *d =
			    dr_plan_service(p, s->after[j]);
			if (d == NULL) {
				ERR(ld, s->line,
				    "service \"%s\" runs after unknown service "
				    "\"%s\"",
				    s->name, s->after[j]);
				continue;
			}
			if (d == s) {
				ERR(ld, s->line,
				    "service \"%s\" runs after itself",
				    s->name);
				continue;
			}
			if (p->strict_tiers && d->tier > s->tier)
				ERR(ld, s->line,
				    "service \"%s\" (tier %d) runs after "
				    "\"%s\" "
				    "(tier %d), but a tier starts only when "
				    "the tiers before it have ended",
				    s->name, s->tier, d->name, d->tier);
			v[j] = d;
		}
	}
}

static bool
find_cycle(const struct dr_plan *p, size_t u, int *color, size_t *stack,
           size_t depth, struct loader *ld)
{
	const struct dr_service *s = &p->services[u];
	size_t j;

	color[u] = 1;
	stack[depth] = u;
	for (j = 0; j < s->nafter; j++) {
		const struct dr_service *d = s->after_svc[j];
		size_t v, k;
		if (d == NULL || d == s)
			continue;
		v = (size_t)(d - p->services);
		if (color[v] == 1) {
			struct dr_buf b;
			dr_buf_init(&b, 0);
			for (k = 0; k <= depth; k++)
				if (stack[k] == v)
					break;
			for (; k <= depth; k++)
				dr_buf_printf(&b, "%s -> ",
				              p->services[stack[k]].name);
			dr_buf_puts(&b, d->name);
			ERR(ld, d->line,
			    "dependency cycle: %s (each runs after the next)",
			    b.data);
			dr_buf_free(&b);
			return true;
		}
		if (color[v] == 0 &&
		    find_cycle(p, v, color, stack, depth + 1, ld))
			return true;
	}
	color[u] = 2;
	return false;
}

static void
check_cycles(struct loader *ld)
{
	const struct dr_plan *p = ld->p;
	int *color = dr_xcalloc(p->nservices + 1, sizeof(int));
	size_t *stack = dr_xcalloc(p->nservices + 1, sizeof(size_t));
	size_t i;

	for (i = 0; i < p->nservices; i++) {
		if (color[i] == 0 && find_cycle(p, i, color, stack, 0, ld))
			break; /* one cycle is enough to act on */
	}
	free(color);
	free(stack);
}

static void
validate(struct loader *ld)
{
	struct dr_plan *p = ld->p;
	size_t i, j;

	check_dups(ld, "site", p->nsites, nth_site, 0);
	check_host_dups(ld);
	check_dups(ld, "tenant", p->ntenants, nth_tenant, 0);
	check_dups(ld, "service", p->nservices, nth_service, 0);
	check_dups(ld, "secret", p->nsecrets, nth_secret, 0);
	for (i = 0; i < p->nservices; i++)
		check_dups(ld, "step", p->services[i].nsteps, nth_step, i);
	for (i = 0; i < p->nservices; i++) {
		const struct dr_service *s = &p->services[i];
		if (s->scope == DR_SCOPE_TENANT && p->ntenants == 0)
			ERR(ld, s->line,
			    "service \"%s\" is per tenant but the plan has no "
			    "tenants",
			    s->name);
		for (j = 0; j < s->nsteps; j++)
			check_step_refs(ld, s, &s->steps[j]);
	}
	resolve_after(ld);
	check_cycles(ld);
}

static int
load_config(struct loader *ld, config_t *cfg)
{
	static const char *const keys[] = {
	    "version", "name",    "description", "strict_tiers", "defaults",
	    "limits",  "sites",   "tenants",     "services",     "contacts",
	    "vars",    "secrets", NULL};
	const config_setting_t *root = config_root_setting(cfg);
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
	vars = get_group(ld, root, "vars", "plan");
	if (vars)
		p->vars = load_vars(ld, vars, "vars", &p->nvars);
	load_secrets(ld, root);
	load_contacts(ld, root);
	load_sites(ld, root);
	load_tenants(ld, root);
	load_services(ld, root);
	validate(ld);
	return ld->errors ? DR_EPLAN : 0;
}

int
dr_plan_load_string(const char *text, const char *path, struct dr_diags *diags,
                    struct dr_plan **out)
{
	struct loader ld = {.file = path, .diags = diags};
	struct dr_plan *p;
	config_t cfg;
	const char *slash;
	int r;

	*out = NULL;
	ld.a = dr_arena_new();
	p = dr_arena_alloc(ld.a, sizeof(*p));
	p->arena = ld.a;
	p->path = dr_arena_strdup(ld.a, path);
	slash = strrchr(path, '/');
	p->dir =
	    slash ? dr_arena_strndup(ld.a, path, (size_t)(slash - path)) : ".";
	if (p->dir[0] == '\0')
		p->dir = "/";
	dr_sha256_hex(text, strlen(text), p->sha256);
	ld.p = p;

	/* A plan is one file: libconfig's @include would read any path,
	 * unbounded (a device, a FIFO), behind the size checks. */
	{
		const char *q = text;
		int line = 1;
		for (; *q; line++) {
			const char *e = strchr(q, '\n');
			q += strspn(q, " \t");
			if (strncmp(q, "@include", 8) == 0) {
				dr_diag_add(diags, path, line,
				            "@include is not supported: a plan "
				            "is one file");
				dr_arena_free(ld.a);
				return DR_EPLAN;
			}
			if (e == NULL)
				break;
			q = e + 1;
		}
	}
	config_init(&cfg);
	if (config_read_string(&cfg, text) != CONFIG_TRUE) {
		dr_diag_add(diags, path, config_error_line(&cfg), "syntax: %s",
		            config_error_text(&cfg));
		config_destroy(&cfg);
		dr_arena_free(ld.a);
		return DR_EPLAN;
	}
	r = load_config(&ld, &cfg);
	config_destroy(&cfg);
	if (r != 0) {
		dr_arena_free(ld.a);
		return r;
	}
	*out = p;
	return 0;
}

int
dr_plan_load(const char *path, struct dr_diags *diags, struct dr_plan **out)
{
	struct dr_buf b;
	struct stat st;
	char chunk[65536];
	ssize_t n;
	int fd, r;

	*out = NULL;
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0 || fstat(fd, &st) != 0) {
		dr_diag_add(diags, path, 0, "cannot read plan: %s",
		            strerror(errno));
		if (fd >= 0)
			close(fd);
		return DR_EIO;
	}
	/* A device, a pipe or a directory is not a plan, and a plan has a
	 * bounded size: reading /dev/zero must not grow without end. */
	if (!S_ISREG(st.st_mode)) {
		dr_diag_add(diags, path, 0,
		            "cannot read plan: not a regular file");
		close(fd);
		return DR_EIO;
	}
	if (st.st_size > DR_PLAN_MAX) {
		dr_diag_add(diags, path, 0,
		            "cannot read plan: %lld bytes, more than the %d a "
		            "plan may have",
		            (long long)st.st_size, DR_PLAN_MAX);
		close(fd);
		return DR_EIO;
	}
	dr_buf_init(&b, 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (b.len + (size_t)n > DR_PLAN_MAX) {
			dr_diag_add(
			    diags, path, 0,
			    "cannot read plan: more than the %d bytes a "
			    "plan may have",
			    DR_PLAN_MAX);
			close(fd);
			dr_buf_free(&b);
			return DR_EIO;
		}
		dr_buf_append(&b, chunk, (size_t)n);
	}
	if (n < 0) {
		dr_diag_add(diags, path, 0, "cannot read plan: %s",
		            strerror(errno));
		close(fd);
		dr_buf_free(&b);
		return DR_EIO;
	}
	close(fd);
	if (b.data == NULL)
		dr_buf_append(&b, "", 0);
	if (memchr(b.data, '\0', b.len) != NULL) {
		dr_diag_add(diags, path, 0, "not a text file");
		dr_buf_free(&b);
		return DR_EPLAN;
	}
	r = dr_plan_load_string(b.data, path, diags, out);
	dr_buf_free(&b);
	return r;
}

void
dr_plan_free(struct dr_plan *plan)
{
	if (plan == NULL)
		return;
	dr_arena_free(plan->arena);
}

const struct dr_site *
dr_plan_site(const struct dr_plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nsites; i++)
		if (strcmp(p->sites[i].name, name) == 0)
			return &p->sites[i];
	return NULL;
}

const struct dr_tenant *
dr_plan_tenant(const struct dr_plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->ntenants; i++)
		if (strcmp(p->tenants[i].name, name) == 0)
			return &p->tenants[i];
	return NULL;
}

const struct dr_service *
dr_plan_service(const struct dr_plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nservices; i++)
		if (strcmp(p->services[i].name, name) == 0)
			return &p->services[i];
	return NULL;
}

const struct dr_secret *
dr_plan_secret(const struct dr_plan *p, const char *name)
{
	size_t i;

	for (i = 0; i < p->nsecrets; i++)
		if (strcmp(p->secrets[i].name, name) == 0)
			return &p->secrets[i];
	return NULL;
}

const struct dr_var *
dr_plan_var_find(const struct dr_plan *p, const struct dr_tenant *t,
                 const char *name)
{
	size_t i;

	if (t != NULL) {
		for (i = 0; i < t->nvars; i++)
			if (strcmp(t->vars[i].name, name) == 0)
				return &t->vars[i];
	}
	for (i = 0; i < p->nvars; i++)
		if (strcmp(p->vars[i].name, name) == 0)
			return &p->vars[i];
	return NULL;
}

const char *
dr_plan_var(const struct dr_plan *p, const struct dr_tenant *t,
            const char *name)
{
	const struct dr_var *v = dr_plan_var_find(p, t, name);

	return v ? v->value : NULL;
}

bool
dr_host_has_role(const struct dr_host *h, const char *role)
{
	size_t i;

	if (strcmp(role, "*") == 0)
		return true;
	for (i = 0; i < h->nroles; i++)
		if (strcmp(h->roles[i], role) == 0)
			return true;
	return false;
}

size_t
dr_selector_match(const struct dr_selector *sel, const struct dr_site *site,
                  void (*fn)(const struct dr_host *h, void *arg), void *arg)
{
	size_t i, n = 0;

	for (i = 0; i < site->nhosts; i++) {
		const struct dr_host *h = &site->hosts[i];
		bool m = sel->is_host ? strcmp(h->name, sel->name) == 0
		                      : dr_host_has_role(h, sel->name);
		if (m) {
			if (fn)
				fn(h, arg);
			n++;
		}
	}
	return n;
}

const char *
dr_site_role_name(enum dr_site_role r)
{
	return r <= DR_SITE_DRILL ? site_roles[r] : "?";
}

const char *
dr_action_name(enum dr_action a)
{
	switch (a) {
	case DR_ACT_RUN:
		return "run";
	case DR_ACT_SCRIPT:
		return "script";
	case DR_ACT_COPY:
		return "copy";
	case DR_ACT_PROBE:
		return "probe";
	case DR_ACT_APPROVE:
		return "approve";
	case DR_ACT_LOCAL:
		return "local";
	case DR_ACT_NONE:
		break;
	}
	return "none";
}
