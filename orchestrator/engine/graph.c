/*
 * graph.c: expand a validated plan for one direction and mode into tasks.
 *
 * Services are expanded in dependency order so that each service instance
 * (service x tenant) knows the "exit set" of the instances it runs after:
 * the tasks of their last step that has any. An instance with no task at
 * all passes its own entry dependencies on, so "after" stays transitive.
 */
#include "drover/graph.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "drover/check.h"
#include "drover/common.h"
#include "drover/scan.h"
#include "drover/sha256.h"
#include "drover/shcmd.h"
#include "drover/template.h"

struct idset {
	size_t *v;
	size_t n, cap;
};

static void
idset_add(struct idset *s, size_t id)
{
	void *p = s->v;

	dr_grow(&p, &s->cap, s->n + 1, sizeof(size_t));
	s->v = p;
	s->v[s->n++] = id;
}

static void
idset_addall(struct idset *s, const struct idset *o)
{
	size_t i;

	for (i = 0; i < o->n; i++)
		idset_add(s, o->v[i]);
}

struct expander {
	struct dr_graph *g;
	struct dr_diags *diags;
	const struct dr_expand_opts *opts;
	size_t cap;          /* of g->tasks */
	struct idset *deps;  /* per task, while building */
	struct idset *exits; /* per instance */
	bool *done;          /* per instance: expanded */
	char *from_names;
	int errors;
};

struct tctx {
	struct expander *x;
	const struct dr_service *svc;
	const struct dr_step *st;
	const struct dr_tenant *t;
	const struct dr_host *h;
	const char *role; /* a deferred task: the role of its future host */
	char port[16];
	char placeholder[96];
};

static const char *
lookup(const char *name, bool *integer, void *arg)
{
	struct tctx *c = arg;
	const struct dr_plan *p = c->x->g->plan;

	*integer = false;
	if (strcmp(name, "tenant") == 0)
		return c->t ? c->t->name : NULL;
	if (strcmp(name, "service") == 0)
		return c->svc->name;
	if (strcmp(name, "step") == 0)
		return c->st->name;
	if (strcmp(name, "from") == 0)
		return c->x->from_names;
	if (strcmp(name, "to") == 0)
		return c->x->g->to->name;
	if (strcmp(name, "mode") == 0)
		return c->x->g->mode == DR_MODE_DRILL ? "drill" : "failover";
	if (strncmp(name, "var.", 4) == 0) {
		const struct dr_var *v = dr_plan_var_find(p, c->t, name + 4);
		if (v == NULL)
			return NULL;
		*integer = v->integer;
		return v->value;
	}
	if (c->h == NULL && c->role != NULL) {
		/* Not known before provisioning: shown as what it will be. */
		static const char *const per_host[] = {
		    "host", "address", "site", "user", "port", NULL};
		if (!dr_str_in(per_host, 5, name))
			return NULL;
		if (strcmp(name, "site") == 0)
			return c->x->g->to->name;
		snprintf(c->placeholder, sizeof(c->placeholder), "<%s-%s>",
		         strcmp(c->role, "*") == 0 ? "each" : c->role, name);
		return c->placeholder;
	}
	if (c->h == NULL)
		return NULL;
	if (strcmp(name, "host") == 0)
		return c->h->name;
	if (strcmp(name, "address") == 0)
		return c->h->address;
	if (strcmp(name, "site") == 0)
		return c->h->site->name;
	if (strcmp(name, "user") == 0)
		return c->h->user ? c->h->user : p->defaults.user;
	if (strcmp(name, "port") == 0) {
		snprintf(c->port, sizeof(c->port), "%d",
		         c->h->port ? c->h->port : p->defaults.port);
		*integer = true;
		return c->port;
	}
	return NULL;
}

static void
template_error(struct tctx *c, const char *bad)
{
	dr_diag_add(c->x->diags, c->x->g->plan->path, c->st->line,
	            "service \"%s\" step \"%s\": %s", c->svc->name, c->st->name,
	            bad);
	c->x->errors++;
}

/* Expands a non-shell template into the graph arena; NULL (reported) on
 * error. */
static char *
render(struct tctx *c, const char *tmpl)
{
	struct dr_buf b;
	char *bad = NULL, *r;

	if (tmpl == NULL)
		return NULL;
	dr_buf_init(&b, 0);
	if (dr_tmpl_expand(tmpl, lookup, c, &b, &bad) != 0) {
		template_error(c, bad);
		free(bad);
		dr_buf_free(&b);
		return NULL;
	}
	r = dr_arena_strdup(c->x->g->arena, b.data ? b.data : "");
	dr_buf_free(&b);
	return r;
}

static struct dr_task *
new_task(struct expander *x, struct tctx *c)
{
	struct dr_graph *g = x->g;
	struct dr_task *t;
	void *p = g->tasks;
	size_t oldcap = x->cap;
	struct dr_buf key;

	dr_grow(&p, &x->cap, g->ntasks + 1, sizeof(struct dr_task));
	g->tasks = p;
	if (x->cap != oldcap) {
		x->deps = dr_xrealloc(x->deps, x->cap * sizeof(struct idset));
		memset(x->deps + oldcap, 0,
		       (x->cap - oldcap) * sizeof(struct idset));
	}
	t = &g->tasks[g->ntasks];
	memset(t, 0, sizeof(*t));
	t->id = g->ntasks++;
	t->service = c->svc;
	t->step = c->st;
	t->tenant = c->t;
	t->host = c->h;
	t->site = c->h ? c->h->site : NULL;
	if (c->role) {
		t->deferred = true;
		t->role = c->role;
		t->site = g->to;
		g->ndeferred++;
	}
	t->tier = c->svc->tier;
	t->priority = c->t ? c->t->priority : 0;
	dr_buf_init(&key, 0);
	dr_buf_puts(&key, c->svc->name);
	if (c->t)
		dr_buf_printf(&key, "/%s", c->t->name);
	dr_buf_printf(&key, "/%s", c->st->name);
	if (c->h)
		dr_buf_printf(&key, "@%s/%s", c->h->site->name, c->h->name);
	else if (c->role)
		dr_buf_printf(&key, "@%s/role:%s", g->to->name, c->role);
	t->key = dr_arena_strdup(g->arena, key.data);
	dr_buf_free(&key);
	t->cleanup = c->st->cleanup;
	return t;
}

static bool
is_production(const struct dr_site *s)
{
	return s->role == DR_SITE_PRIMARY || s->role == DR_SITE_SECONDARY;
}

/* True when word appears in text with no name character on either side. */
static bool
mentions(const char *text, const char *word)
{
	size_t n = strlen(word);
	const char *p;

	if (n == 0)
		return false;
	for (p = text; (p = strstr(p, word)) != NULL; p++) {
		char a = p > text ? p[-1] : ' ', b = p[n];
		bool ia = isalnum((unsigned char)a) || a == '-' || a == '_' ||
		          a == '.';
		bool ib = isalnum((unsigned char)b) || b == '-' || b == '_' ||
		          (b == '.' && isalnum((unsigned char)p[n + 1]));
		if (!ia && !ib)
			return true;
	}
	return false;
}

/*
 * The production site, host or address that text names, as "milan/mi-db1
 * (127.0.1.1)" in buf, or NULL.
 */
static const char *
names_production(const struct dr_plan *p, const char *text, char *buf,
                 size_t len)
{
	size_t i, j;

	for (i = 0; i < p->nsites; i++) {
		const struct dr_site *s = &p->sites[i];
		if (!is_production(s))
			continue;
		for (j = 0; j < s->nhosts; j++) {
			const struct dr_host *h = &s->hosts[j];
			if (mentions(text, h->address) ||
			    mentions(text, h->name)) {
				snprintf(buf, len,
				         "%s/%s (%s), a production host",
				         s->name, h->name, h->address);
				return buf;
			}
		}
		if (mentions(text, s->name)) {
			snprintf(buf, len, "site %s, a production site",
			         s->name);
			return buf;
		}
	}
	return NULL;
}

/* The host part of a probe target: "http://u@h:80/x" and "h:80" give h. */
static void
target_host(const struct dr_task *t, char *buf, size_t len)
{
	const char *p = t->target ? t->target : "", *e, *at;

	if (t->step->probe.kind == DR_PROBE_HTTP) {
		const char *s = strstr(p, "://");
		p = s ? s + 3 : p;
	}
	e = p + strcspn(p, "/?#");
	at = memchr(p, '@', (size_t)(e - p));
	if (at)
		p = at + 1;
	if (*p == '[') {
		const char *rb = memchr(p, ']', (size_t)(e - p));
		if (rb)
			e = rb, p++;
	} else {
		const char *colon = memchr(p, ':', (size_t)(e - p));
		if (colon)
			e = colon;
	}
	snprintf(buf, len, "%.*s", (int)(e - p), p);
}

/*
 * The drill interlock, decided before anything connects: a drill never
 * touches production, for any action and whatever readonly says. A step
 * that fences the lost sites (on = "from:...") is skipped by design; any
 * other task that would connect to, copy to or from, probe, or name a
 * production host in a local command is refused, and the drill fails.
 */
static void
drill_guard(struct expander *x, struct dr_task *t)
{
	const struct dr_plan *p = x->g->plan;
	const struct dr_step *st = t->step;
	char buf[600], why[800];
	const char *what = NULL;

	if (x->g->mode != DR_MODE_DRILL)
		return;
	if (st->on.kind == DR_SEL_FROM) {
		t->drill_skip = true;
		return;
	}
	if (t->host && is_production(t->host->site)) {
		snprintf(buf, sizeof(buf), "%s/%s (%s), a production host",
		         t->host->site->name, t->host->name, t->host->address);
		what = buf;
	} else if (t->src_host && is_production(t->src_host->site)) {
		snprintf(buf, sizeof(buf),
		         "its source %s/%s (%s), a production host",
		         t->src_host->site->name, t->src_host->name,
		         t->src_host->address);
		what = buf;
	} else if (st->action == DR_ACT_PROBE && t->target) {
		char host[128], hb[256];
		target_host(t, host, sizeof(host));
		what = names_production(p, host, hb, sizeof(hb));
		if (what) {
			snprintf(buf, sizeof(buf), "its address %s: %s", host,
			         hb);
			what = buf;
		}
	} else if ((st->action == DR_ACT_LOCAL ||
	            st->action == DR_ACT_PROVISION ||
	            st->action == DR_ACT_DEPROVISION) &&
	           t->command) {
		what = names_production(p, t->command, buf, sizeof(buf));
	}
	if (what == NULL)
		return;
	snprintf(why, sizeof(why),
	         "refused before connecting: a drill never touches production, "
	         "and this %s step reaches %s",
	         dr_action_name(st->action), what);
	t->refused = true;
	t->refusal = dr_arena_strdup(x->g->arena, why);
}

/*
 * Builds the shell script of a run, local or script step; flags as for
 * dr_sh_init. Returns the script in the arena and, unless display, sets
 * the task's secret names; NULL (reported) on error.
 */
static char *
build_script(struct expander *x, struct tctx *c, struct dr_task *t,
             unsigned flags)
{
	const struct dr_step *st = c->st;
	struct dr_sh sh;
	char *why = NULL, *text, *r = NULL;
	size_t i;
	int rc = 0;

	dr_sh_init(&sh, flags);
	if (st->action == DR_ACT_SCRIPT) {
		dr_sh_text(&sh, "sh -s --");
		for (i = 0; i < st->nargs && rc == 0; i++) {
			dr_sh_text(&sh, " ");
			rc = dr_sh_word(&sh, st->args[i], lookup, c, &why);
		}
	} else {
		rc = dr_sh_code(&sh, st->command, lookup, c, &why);
	}
	if (rc != 0) {
		template_error(c, why);
		free(why);
		dr_sh_free(&sh);
		return NULL;
	}
	text = dr_sh_finish(&sh);
	r = dr_arena_strdup(x->g->arena, text);
	free(text);
	if (!(flags & DR_SH_DISPLAY) && sh.nsecrets) {
		const char **names =
		    dr_arena_alloc(x->g->arena, sizeof(char *) * sh.nsecrets);
		for (i = 0; i < sh.nsecrets; i++)
			names[i] = dr_arena_strdup(x->g->arena, sh.secrets[i]);
		t->secret_names = names;
		t->nsecrets = sh.nsecrets;
	}
	dr_sh_free(&sh);
	return r;
}

/* A probe target that would split or smuggle a request is an error. */
static char *
render_target(struct tctx *c, const char *tmpl)
{
	char *t = render(c, tmpl);
	const char *why;

	if (t && (why = dr_tmpl_bad_target(t)) != NULL) {
		char *m = dr_xasprintf("probe target \"%s\": %s", t, why);
		template_error(c, m);
		free(m);
		return NULL;
	}
	return t;
}

static void
fill_action(struct expander *x, struct tctx *c, struct dr_task *t)
{
	const struct dr_step *st = c->st;

	switch (st->action) {
	case DR_ACT_RUN:
	case DR_ACT_LOCAL:
	case DR_ACT_PROVISION:
	case DR_ACT_DEPROVISION:
	case DR_ACT_SCRIPT:
		t->command = build_script(x, c, t, 0);
		t->display =
		    t->command ? build_script(x, c, t, DR_SH_DISPLAY) : NULL;
		break;
	case DR_ACT_PROBE:
		t->target = render_target(c, st->probe.target);
		break;
	case DR_ACT_APPROVE:
		t->prompt = render(c, st->prompt);
		break;
	case DR_ACT_COPY:
	case DR_ACT_NONE:
		break;
	}
}

/* A scanned copy from a restore-point set: its quarantine and scripts. */
static void
scan_task(struct expander *x, struct tctx *c, struct dr_task *t)
{
	const struct dr_plan *p = x->g->plan;
	const struct dr_step *st = c->st;
	char *q, *s, *why = NULL, hex[DR_SHA256_HEX];
	struct dr_buf id;
	size_t i;

	if (!dr_scan_wanted(p, st) || strchr(t->src_path, '*') == NULL)
		return;
	q = dr_scan_qdir(t->dst_path, st->name);
	t->qdir = dr_arena_strdup(x->g->arena, q);
	if ((s = dr_scan_ioc_script(p, q)) != NULL) {
		t->ioc_script = dr_arena_strdup(x->g->arena, s);
		free(s);
	}
	if (st->copy.scan) {
		s = dr_scan_script(st->copy.scan, q, lookup, c, &why);
		if (s == NULL) {
			char *m = dr_xasprintf("scan: %s", why ? why : "?");
			template_error(c, m);
			free(m);
		} else {
			t->scan_script = dr_arena_strdup(x->g->arena, s);
		}
		free(s);
		free(why);
	}
	/* The same checks judge a point the same way, wherever it lands. */
	dr_buf_init(&id, 0);
	dr_buf_printf(&id, "scan=%s\n", st->copy.scan ? st->copy.scan : "");
	for (i = 0; i < p->nioc_names; i++)
		dr_buf_printf(&id, "name=%s\n", p->ioc_names[i]);
	for (i = 0; i < p->nioc_extensions; i++)
		dr_buf_printf(&id, "ext=%s\n", p->ioc_extensions[i]);
	for (i = 0; i < p->nioc_sha256; i++)
		dr_buf_printf(&id, "sha256=%s\n", p->ioc_sha256[i]);
	dr_buf_printf(&id, "yara=%s\n", p->ioc_yara ? p->ioc_yara : "");
	dr_sha256_hex(id.data, id.len, hex);
	hex[16] = '\0';
	t->scan_id = dr_arena_strdup(x->g->arena, hex);
	dr_buf_free(&id);
	free(q);
}

/* Resolves a selector to hosts for this direction. */
struct hostlist {
	const struct dr_host **v;
	size_t n, cap;
};

static void
hostlist_add(const struct dr_host *h, void *arg)
{
	struct hostlist *l = arg;
	void *p = l->v;

	dr_grow(&p, &l->cap, l->n + 1, sizeof(*l->v));
	l->v = p;
	l->v[l->n++] = h;
}

static void
match(struct expander *x, const struct dr_selector *sel, struct hostlist *l)
{
	const struct dr_graph *g = x->g;
	size_t i;

	switch (sel->kind) {
	case DR_SEL_NONE:
		break;
	case DR_SEL_FROM:
		for (i = 0; i < g->nfrom; i++)
			dr_selector_match(sel, g->from[i], hostlist_add, l);
		break;
	case DR_SEL_TO:
		dr_selector_match(sel, g->to, hostlist_add, l);
		break;
	case DR_SEL_SITE:
		dr_selector_match(sel, dr_plan_site(g->plan, sel->site),
		                  hostlist_add, l);
		break;
	}
}

static void
step_error(struct expander *x, const struct dr_step *st, const char *msg,
           const char *sel)
{
	dr_diag_add(x->diags, x->g->plan->path, st->line,
	            "service \"%s\" step \"%s\": %s \"%s\"", st->service->name,
	            st->name, msg, sel);
	x->errors++;
}

/*
 * Lost sites are only fenced: a step reaches one through "from:ROLE" (the
 * fence and its checks). A failover step that names a lost site's host or
 * role outright (on = "milan:db", a copy to "milan:db:...") would run
 * there as if the site were fine; it is refused before anything connects.
 * A drill refuses every production host in drill_guard() instead.
 */
static bool
names_lost_site(struct expander *x, const struct dr_step *st,
                const struct dr_selector *sel, const struct hostlist *hosts,
                const char *what)
{
	size_t i, k;

	if (x->g->mode == DR_MODE_DRILL || sel->kind != DR_SEL_SITE)
		return false;
	for (i = 0; i < hosts->n; i++)
		for (k = 0; k < x->g->nfrom; k++)
			if (hosts->v[i]->site == x->g->from[k]) {
				step_error(x, st, what, sel->text);
				return true;
			}
	return false;
}

/*
 * Whether sel selects hosts of the target while it is a provisioned site
 * with no hosts yet: its tasks are deferred until the provision step.
 */
static bool
awaits_hosts(const struct expander *x, const struct dr_selector *sel)
{
	const struct dr_site *to = x->g->to;

	if (!to->provisioned || to->nhosts > 0)
		return false;
	return sel->kind == DR_SEL_TO ||
	       (sel->kind == DR_SEL_SITE && strcmp(sel->site, to->name) == 0);
}

/*
 * The one task standing for a step on the provisioned target before its
 * hosts exist: rendered with "<address of the db>" for the host's values,
 * for show, graph and the runbook. It never runs.
 */
static void
deferred_task(struct expander *x, struct tctx *c, const struct dr_selector *sel,
              struct idset *out)
{
	struct dr_task *t;

	c->role = sel->name;
	t = new_task(x, c);
	if (c->st->action == DR_ACT_COPY &&
	    !awaits_hosts(x, &c->st->copy.from.sel) &&
	    c->st->copy.from.sel.kind != DR_SEL_NONE) {
		/* The source exists already (the vault): it is named, so that
		 * drover check can look at the backup before provisioning. */
		struct hostlist src = {0};
		match(x, &c->st->copy.from.sel, &src);
		if (src.n == 1)
			t->src_host = src.v[0];
		free(src.v);
	}
	if (c->st->action == DR_ACT_COPY) {
		t->dst_path = render(c, c->st->copy.to.path);
		t->sha256 = render(c, c->st->copy.sha256);
		if (t->src_host || c->st->copy.from.sel.kind == DR_SEL_NONE) {
			c->role = NULL; /* the source's own values */
			c->h = t->src_host;
		}
		t->src_path = render(c, c->st->copy.from.path);
		c->h = NULL;
	} else {
		fill_action(x, c, t);
	}
	c->role = NULL;
	idset_add(out, t->id);
}

/* Creates the tasks of one step; their ids go to out. */
static void
expand_step(struct expander *x, const struct dr_service *svc,
            const struct dr_tenant *tn, const struct dr_step *st,
            struct idset *out)
{
	struct tctx c = {.x = x, .svc = svc, .st = st, .t = tn};
	struct hostlist hosts = {0};
	size_t i;

	if ((st->action == DR_ACT_PROVISION ||
	     st->action == DR_ACT_DEPROVISION) &&
	    !x->g->to->provisioned)
		return; /* the target exists already: nothing to create */
	if (st->action == DR_ACT_COPY &&
	    (awaits_hosts(x, &st->copy.to.sel) ||
	     awaits_hosts(x, &st->copy.from.sel))) {
		deferred_task(x, &c,
		              awaits_hosts(x, &st->copy.to.sel)
		                  ? &st->copy.to.sel
		                  : &st->copy.from.sel,
		              out);
		return;
	}
	if (st->action != DR_ACT_COPY && awaits_hosts(x, &st->on)) {
		deferred_task(x, &c, &st->on, out);
		return;
	}
	if (st->action == DR_ACT_COPY) {
		struct hostlist src = {0};
		const struct dr_host *sh = NULL;

		if (st->copy.from.sel.kind != DR_SEL_NONE) {
			match(x, &st->copy.from.sel, &src);
			if (src.n != 1) {
				step_error(x, st,
				           src.n
				               ? "copy source matches several "
				                 "hosts, name one with"
				               : "copy source matches no host:",
				           st->copy.from.sel.text);
				free(src.v);
				return;
			}
			sh = src.v[0];
			for (i = 0; i < x->g->nfrom; i++) {
				if (sh->site == x->g->from[i]) {
					step_error(x, st,
					           "copies from a lost site; "
					           "restore from the vault, "
					           "never from",
					           sh->site->name);
					free(src.v);
					return;
				}
			}
		}
		free(src.v);
		match(x, &st->copy.to.sel, &hosts);
		if (hosts.n == 0 && st->copy.to.sel.kind != DR_SEL_FROM)
			step_error(x, st, "copy destination matches no host:",
			           st->copy.to.sel.text);
		if (names_lost_site(x, st, &st->copy.to.sel, &hosts,
		                    "copies to a lost site, which is only "
		                    "fenced (\"from:ROLE\"):"))
			hosts.n = 0;
		for (i = 0; i < hosts.n; i++) {
			struct dr_task *t;
			c.h = hosts.v[i];
			t = new_task(x, &c);
			t->src_host = sh;
			t->dst_path = render(&c, st->copy.to.path);
			t->sha256 = render(&c, st->copy.sha256);
			c.h = sh;
			t->src_path = render(&c, st->copy.from.path);
			c.h = hosts.v[i];
			if (t->dst_path && t->src_path)
				scan_task(x, &c, t);
			drill_guard(x, t);
			idset_add(out, t->id);
		}
		free(hosts.v);
		return;
	}
	if (st->on.kind == DR_SEL_NONE) {
		struct dr_task *t = new_task(x, &c);
		fill_action(x, &c, t);
		drill_guard(x, t);
		idset_add(out, t->id);
		if (st->action == DR_ACT_PROVISION)
			x->g->provision = t->id;
		return;
	}
	match(x, &st->on, &hosts);
	if (hosts.n == 0 && st->on.kind != DR_SEL_FROM)
		step_error(x, st, "no host matches", st->on.text);
	if (names_lost_site(x, st, &st->on, &hosts,
	                    "runs on a lost site, which is only fenced "
	                    "(\"from:ROLE\"):"))
		hosts.n = 0;
	for (i = 0; i < hosts.n; i++) {
		struct dr_task *t;
		c.h = hosts.v[i];
		t = new_task(x, &c);
		fill_action(x, &c, t);
		drill_guard(x, t);
		idset_add(out, t->id);
	}
	free(hosts.v);
}

static bool
selected(const struct dr_expand_opts *o, const char *name)
{
	return dr_str_in(o->only, o->nonly, name);
}

static size_t
inst_index(const struct dr_plan *p, const struct dr_service *s,
           const struct dr_tenant *t)
{
	return (size_t)(s - p->services) * (p->ntenants + 1) +
	       (t ? (size_t)(t - p->tenants) + 1 : 0);
}

/* Adds the exit sets of the instances that instance (s, t) runs after. */
static void
after_deps(struct expander *x, const struct dr_service *s,
           const struct dr_tenant *t, struct idset *entry)
{
	const struct dr_plan *p = x->g->plan;
	size_t j, k;

	for (j = 0; j < s->nafter; j++) {
		const struct dr_service *d = s->after_svc[j];
		if (d->scope == DR_SCOPE_GLOBAL) {
			idset_addall(entry, &x->exits[inst_index(p, d, NULL)]);
		} else if (t != NULL) {
			idset_addall(entry, &x->exits[inst_index(p, d, t)]);
		} else {
			for (k = 0; k < p->ntenants; k++)
				idset_addall(entry, &x->exits[inst_index(
				                        p, d, &p->tenants[k])]);
		}
	}
}

static void
expand_instance(struct expander *x, const struct dr_service *s,
                const struct dr_tenant *t)
{
	const struct dr_plan *p = x->g->plan;
	struct idset prev = {0}, prevc = {0}, cur, *chain;
	size_t j, k;

	after_deps(x, s, t, &prev);
	for (j = 0; j < s->nsteps; j++) {
		const struct dr_step *st = &s->steps[j];
		if (!(st->when & x->opts->mode))
			continue;
		if (st->cleanup && x->opts->mode != DR_MODE_DRILL)
			continue;
		/* Cleanup steps (drills only) run after the whole plan,
		 * whatever its outcome: they chain among themselves only. */
		chain = st->cleanup ? &prevc : &prev;
		memset(&cur, 0, sizeof(cur));
		expand_step(x, s, t, st, &cur);
		if (cur.n == 0) {
			free(cur.v);
			continue;
		}
		for (k = 0; k < cur.n; k++)
			idset_addall(&x->deps[cur.v[k]], chain);
		free(chain->v);
		*chain = cur;
	}
	free(prevc.v);
	x->exits[inst_index(p, s, t)] = prev;
}

static void
expand_service(struct expander *x, const struct dr_service *s)
{
	const struct dr_plan *p = x->g->plan;
	const struct dr_expand_opts *o = x->opts;
	size_t si = (size_t)(s - p->services), j, k;
	bool svc_filter = false, tenant_filter = false;

	if (x->done[si])
		return;
	x->done[si] = true;
	for (j = 0; j < s->nafter; j++)
		expand_service(x, s->after_svc[j]);
	for (k = 0; k < o->nonly; k++) {
		if (dr_plan_service(p, o->only[k]))
			svc_filter = true;
		if (dr_plan_tenant(p, o->only[k]))
			tenant_filter = true;
	}
	if (svc_filter && !selected(o, s->name))
		return;
	if (s->scope == DR_SCOPE_GLOBAL) {
		expand_instance(x, s, NULL);
		return;
	}
	for (k = 0; k < p->ntenants; k++) {
		const struct dr_tenant *t = &p->tenants[k];
		if (tenant_filter && !selected(o, t->name))
			continue;
		expand_instance(x, s, t);
	}
}

/* Whether task t uses a host of the provisioned target (or will). */
static bool
on_new_site(const struct dr_graph *g, const struct dr_task *t)
{
	return t->deferred || (t->host && t->host->site == g->to) ||
	       (t->src_host && t->src_host->site == g->to);
}

/*
 * Every task on the provisioned target runs after the provision step,
 * whatever the services' order says; one that the provision step itself
 * waits for can never run, and is an error.
 */
static void
provision_edges(struct expander *x)
{
	struct dr_graph *g = x->g;
	size_t p = g->provision, i, n = 0, *stack;
	bool *seen;

	if (p == SIZE_MAX)
		return;
	seen = dr_xcalloc(g->ntasks + 1, sizeof(bool));
	stack = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	stack[n++] = p;
	seen[p] = true;
	while (n > 0) {
		struct idset *d = &x->deps[stack[--n]];
		for (i = 0; i < d->n; i++) {
			const struct dr_task *a = &g->tasks[d->v[i]];
			if (seen[a->id])
				continue;
			seen[a->id] = true;
			stack[n++] = a->id;
			if (on_new_site(g, a)) {
				dr_diag_add(x->diags, g->plan->path,
				            a->step->line,
				            "service \"%s\" step \"%s\" runs "
				            "on %s before the provision step "
				            "\"%s\" has created its hosts; put "
				            "it after (after = [\"%s\"])",
				            a->service->name, a->step->name,
				            g->to->name, g->tasks[p].step->name,
				            g->tasks[p].service->name);
				x->errors++;
				n = 0;
				break;
			}
		}
	}
	for (i = 0; i < g->ntasks && x->errors == 0; i++)
		if (i != p && on_new_site(g, &g->tasks[i]) && !seen[i])
			idset_add(&x->deps[i], p);
	free(seen);
	free(stack);
}

/* A copy from a restore-point set on a source host: what a hunt covers. */
static bool
set_copy(const struct dr_task *t)
{
	return t->step->action == DR_ACT_COPY && !t->deferred && t->src_host &&
	       t->src_path && t->qdir && strchr(t->src_path, '*') != NULL;
}

/*
 * The hunt for indicators (graph.h): one task per source host of the
 * copies from restore-point sets, when the plan has indicators the vault
 * side can see (names, extensions, yara), which every such copy depends on.
 */
/* The copies from sets on one source host, in task order. */
struct hunt_host {
	const struct dr_host *h;
	size_t *ids, n, cap;
	int tier; /* the lowest of theirs */
};

/* A set copy's position in its host's list, for the sort by path. */
struct hunt_path {
	const char *path;
	size_t pos;
};

static int
cmp_hunt_path(const void *a, const void *b)
{
	const struct hunt_path *x = a, *y = b;
	int c = strcmp(x->path, y->path);

	return c ? c : (x->pos > y->pos) - (x->pos < y->pos);
}

static void
hunt_tasks(struct expander *x)
{
	struct dr_graph *g = x->g;
	const struct dr_plan *p = g->plan;
	size_t n = g->ntasks, i, j, nhosts = 0;
	struct hunt_host *hosts = NULL;

	if (!p->nioc_names && !p->nioc_extensions && !p->ioc_yara)
		return;
	/* One pass: the set copies by source host (a plan has few). */
	for (i = 0; i < n; i++) {
		struct hunt_host *hh;
		if (!set_copy(&g->tasks[i]))
			continue;
		for (j = 0; j < nhosts && hosts[j].h != g->tasks[i].src_host;
		     j++)
			;
		if (j == nhosts) {
			hosts =
			    dr_xrealloc(hosts, (nhosts + 1) * sizeof(*hosts));
			memset(&hosts[nhosts], 0, sizeof(*hosts));
			hosts[nhosts].h = g->tasks[i].src_host;
			hosts[nhosts].tier = g->tasks[i].tier;
			nhosts++;
		}
		hh = &hosts[j];
		if (hh->n == hh->cap) {
			hh->cap = hh->cap ? 2 * hh->cap : 16;
			hh->ids =
			    dr_xrealloc(hh->ids, hh->cap * sizeof(size_t));
		}
		hh->ids[hh->n++] = i;
		if (g->tasks[i].tier < hh->tier)
			hh->tier = g->tasks[i].tier;
	}
	for (size_t hi = 0; hi < nhosts; hi++) {
		const struct dr_host *h = hosts[hi].h;
		struct dr_service *svc;
		struct dr_step *st;
		struct tctx c = {.x = x};
		struct dr_task *t;
		struct dr_buf b;
		struct hunt_path *paths;
		bool *first;
		size_t id, k = 0, m = hosts[hi].n;
		int tier = hosts[hi].tier;

		svc = dr_arena_alloc(g->arena, sizeof(*svc));
		st = dr_arena_alloc(g->arena, sizeof(*st));
		memset(svc, 0, sizeof(*svc));
		memset(st, 0, sizeof(*st));
		svc->name = "hunt";
		svc->description =
		    "drover's hunt for indicators of compromise in the "
		    "restore-point sets on the vault, before any copy chooses "
		    "a point";
		svc->tier = tier;
		svc->scope = DR_SCOPE_GLOBAL;
		svc->steps = st;
		svc->nsteps = 1;
		st->name = "indicators";
		st->action = DR_ACT_RUN;
		st->timeout_ms = p->defaults.scan_timeout_ms
		                     ? p->defaults.scan_timeout_ms
		                     : 600000;
		st->retries = p->defaults.retries;
		st->retry_delay_ms = p->defaults.retry_delay_ms;
		st->idempotent = true;
		st->readonly = true;
		st->on_failure = DR_FAIL_ABORT;
		st->when = DR_MODE_FAILOVER | DR_MODE_DRILL;
		st->service = svc;
		st->success =
		    "exit 0; each \"@K infected MTIME PATH\" line is a point "
		    "an indicator is in: the earliest MTIME is the run's "
		    "compromise time, and every copy chooses a point taken "
		    "before it";
		st->on_error_hint =
		    "the copies from restore-point sets do not start (drover "
		    "never chooses blindly): make the vault reachable and "
		    "drover resume RUN, or give the compromise time with "
		    "--clean-before";
		c.svc = svc;
		c.st = st;
		c.h = h;
		t = new_task(x, &c);
		id = t->id;
		t->hunt = true;
		for (j = 0; j < n; j++)
			if (strcmp(g->tasks[j].key, t->key) == 0) {
				dr_diag_add(x->diags, NULL, 0,
				            "task %s: the key is drover's hunt "
				            "for indicators (see Restore "
				            "points); rename the service or "
				            "the step",
				            t->key);
				x->errors++;
			}
		/* Each set once, where it first appears (sorted by path, then
		 * by position: the first of each run of equal paths). */
		paths = dr_xcalloc(m, sizeof(*paths));
		first = dr_xcalloc(m, sizeof(*first));
		for (j = 0; j < m; j++) {
			paths[j].path = g->tasks[hosts[hi].ids[j]].src_path;
			paths[j].pos = j;
		}
		qsort(paths, m, sizeof(*paths), cmp_hunt_path);
		for (j = 0; j < m; j++)
			first[paths[j].pos] =
			    j == 0 ||
			    strcmp(paths[j].path, paths[j - 1].path) != 0;
		dr_buf_init(&b, 0);
		/* Braces, not exec or exit: a person pastes it into a shell
		 * (the runbook), drover runs it as the login shell's command,
		 * after "before=SECONDS" (the incident). */
		dr_buf_puts(&b, "{\n");
		for (j = 0; j < m; j++) {
			const struct dr_task *u = &g->tasks[hosts[hi].ids[j]];
			if (first[j])
				dr_check_set_script(&b, p, u->src_path,
				                    u->step->copy.max_fallback,
				                    k++, true);
			idset_add(&x->deps[hosts[hi].ids[j]], id);
		}
		free(paths);
		free(first);
		dr_buf_puts(&b, "} 2>/dev/null\n");
		t = &g->tasks[id];
		t->command = dr_arena_strdup(g->arena, b.data);
		{
			char *d = dr_xasprintf(
			    "before=$(date -u -d 'INCIDENT' +%%s)  # the "
			    "incident (--incident-at, or the run's start): "
			    "later points are not looked at\n%s",
			    b.data);
			t->display = dr_arena_strdup(g->arena, d);
			free(d);
		}
		dr_buf_free(&b);
	}
	for (size_t hi = 0; hi < nhosts; hi++)
		free(hosts[hi].ids);
	free(hosts);
}

/* Moves the per-task dependency sets into the graph, deduplicated. */
static int
cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	return x < y ? -1 : x > y;
}

static void
finish_edges(struct expander *x)
{
	struct dr_graph *g = x->g;
	size_t i, j, *rcount;

	rcount = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	for (i = 0; i < g->ntasks; i++) {
		struct idset *d = &x->deps[i];
		size_t n = 0;
		if (d->n > 1)
			qsort(d->v, d->n, sizeof(size_t), cmp_size);
		for (j = 0; j < d->n; j++)
			if (n == 0 || d->v[n - 1] != d->v[j])
				d->v[n++] = d->v[j];
		d->n = n;
		g->tasks[i].ndeps = n;
		g->tasks[i].deps =
		    dr_arena_alloc(g->arena, sizeof(size_t) * (n ? n : 1));
		if (n)
			memcpy(g->tasks[i].deps, d->v, n * sizeof(size_t));
		for (j = 0; j < n; j++)
			rcount[d->v[j]]++;
	}
	for (i = 0; i < g->ntasks; i++) {
		g->tasks[i].rdeps = dr_arena_alloc(
		    g->arena, sizeof(size_t) * (rcount[i] ? rcount[i] : 1));
	}
	for (i = 0; i < g->ntasks; i++) {
		for (j = 0; j < g->tasks[i].ndeps; j++) {
			struct dr_task *d = &g->tasks[g->tasks[i].deps[j]];
			d->rdeps[d->nrdeps++] = i;
		}
	}
	free(rcount);
}

static const struct dr_site *
find_site(struct expander *x, const char *name, const char *what)
{
	const struct dr_site *s = dr_plan_site(x->g->plan, name);

	if (s == NULL) {
		dr_diag_add(x->diags, NULL, 0,
		            "%s site \"%s\" is not in the plan", what, name);
		x->errors++;
	}
	return s;
}

/* Resolves how to reach every host of the plan (g->conns). */
static void
resolve_conns(struct dr_graph *g)
{
	const struct dr_plan *p = g->plan;
	const struct dr_defaults *d = &p->defaults;
	struct dr_conn *v;
	size_t i, j, n = 0;

	for (i = 0; i < p->nsites; i++)
		n += p->sites[i].nhosts;
	v = dr_arena_alloc(g->arena, sizeof(*v) * (n + 1));
	n = 0;
	for (i = 0; i < p->nsites; i++)
		for (j = 0; j < p->sites[i].nhosts; j++, n++) {
			const struct dr_host *h = &p->sites[i].hosts[j];
			v[n] = (struct dr_conn){
			    .host = h,
			    .index = n,
			    .site_index = i,
			    .address = h->address,
			    .port = h->port ? h->port : d->port,
			    .user = h->user ? h->user : d->user,
			    .identity = d->identity,
			    .known_hosts = h->known_hosts ? h->known_hosts
			                                  : d->known_hosts,
			    .connect_timeout_ms = d->connect_timeout_ms,
			    .keepalive_ms = d->keepalive_ms,
			};
		}
	g->conns = v;
	g->nconns = n;
}

const struct dr_conn *
dr_graph_conn(const struct dr_graph *g, const struct dr_host *h)
{
	const struct dr_plan *p = g->plan;
	size_t i, k = 0;

	for (i = 0; &p->sites[i] != h->site; i++)
		k += p->sites[i].nhosts;
	return &g->conns[k + (size_t)(h - h->site->hosts)];
}

int
dr_graph_expand(const struct dr_plan *plan, const struct dr_expand_opts *opts,
                struct dr_diags *diags, struct dr_graph **out)
{
	struct expander x = {.diags = diags, .opts = opts};
	struct dr_graph *g;
	const struct dr_site **from;
	struct dr_buf names;
	size_t i, j, ninst;

	*out = NULL;
	g = dr_xcalloc(1, sizeof(*g));
	g->arena = dr_arena_new();
	g->plan = plan;
	g->mode = opts->mode;
	g->limits = plan->limits;
	g->dir = plan->dir;
	resolve_conns(g);
	x.g = g;
	if (opts->nfrom == 0) {
		dr_diag_add(diags, NULL, 0,
		            "give the lost site(s) with --from");
		x.errors++;
	}
	from = dr_arena_alloc(g->arena, sizeof(*from) * (opts->nfrom + 1));
	dr_buf_init(&names, 0);
	for (i = 0; i < opts->nfrom; i++) {
		const struct dr_site *s =
		    find_site(&x, opts->from[i], "--from");
		if (s == NULL)
			continue;
		for (j = 0; j < g->nfrom; j++)
			if (from[j] == s)
				break;
		if (j < g->nfrom)
			continue;
		if (s->role != DR_SITE_PRIMARY &&
		    s->role != DR_SITE_SECONDARY) {
			/* Only production can be lost: fencing anything else
			 * would turn the plan against the recovery. */
			dr_diag_add(diags, NULL, 0,
			            "--from site \"%s\" is %s%s; --from names "
			            "the lost production sites (primary or "
			            "secondary)",
			            s->name, dr_site_role_name(s->role),
			            s->role == DR_SITE_VAULT
			                ? ", the backup vault"
			                : "");
			x.errors++;
		}
		from[g->nfrom++] = s;
		dr_buf_printf(&names, "%s%s", names.len ? "," : "", s->name);
	}
	g->from = from;
	x.from_names = dr_arena_strdup(g->arena, names.data ? names.data : "");
	dr_buf_free(&names);
	g->to = opts->to ? find_site(&x, opts->to, "--to") : NULL;
	if (opts->to == NULL) {
		dr_diag_add(diags, NULL, 0, "give the target site with --to");
		x.errors++;
	}
	for (i = 0; g->to && i < g->nfrom; i++) {
		if (g->from[i] == g->to) {
			dr_diag_add(diags, NULL, 0,
			            "site \"%s\" cannot be both lost (--from) "
			            "and the target (--to)",
			            g->to->name);
			x.errors++;
		}
	}
	if (opts->mode == DR_MODE_DRILL && g->to &&
	    g->to->role != DR_SITE_DRILL) {
		dr_diag_add(diags, NULL, 0,
		            "a drill runs into a drill site; \"%s\" is %s",
		            g->to->name, dr_site_role_name(g->to->role));
		x.errors++;
	} else if (opts->mode == DR_MODE_FAILOVER && g->to &&
	           g->to->role != DR_SITE_STANDBY) {
		/* Never restore onto production or the vault: a failover
		 * target is a clean standby site. */
		dr_diag_add(diags, NULL, 0,
		            "--to site \"%s\" is %s%s; a failover goes to a "
		            "standby site%s",
		            g->to->name, dr_site_role_name(g->to->role),
		            g->to->role == DR_SITE_VAULT ? ", the backup vault"
		            : g->to->role == DR_SITE_DRILL
		                ? ", a rehearsal site"
		                : " (production, possibly compromised)",
		            g->to->role == DR_SITE_DRILL
		                ? " (use drover drill for a drill site)"
		                : "");
		x.errors++;
	}
	for (i = 0; i < opts->nonly; i++) {
		if (!dr_plan_service(plan, opts->only[i]) &&
		    !dr_plan_tenant(plan, opts->only[i])) {
			dr_diag_add(diags, NULL, 0,
			            "--only \"%s\" is neither a service nor a "
			            "tenant of the plan",
			            opts->only[i]);
			x.errors++;
		}
	}
	if (x.errors) {
		dr_graph_free(g);
		return DR_EINVAL;
	}
	ninst = plan->nservices * (plan->ntenants + 1);
	x.exits = dr_xcalloc(ninst + 1, sizeof(struct idset));
	x.done = dr_xcalloc(plan->nservices + 1, sizeof(bool));
	g->provision = SIZE_MAX;
	for (i = 0; i < plan->nservices; i++)
		expand_service(&x, &plan->services[i]);
	provision_edges(&x);
	hunt_tasks(&x);
	finish_edges(&x);
	for (i = 0; i < ninst; i++)
		free(x.exits[i].v);
	for (i = 0; i < g->ntasks; i++)
		free(x.deps[i].v);
	free(x.exits);
	free(x.deps);
	free(x.done);
	if (x.errors) {
		dr_graph_free(g);
		return DR_EINVAL;
	}
	for (i = 0; i < g->ntasks; i++) {
		struct dr_task *t = &g->tasks[i];
		t->conn = t->host ? dr_graph_conn(g, t->host) : NULL;
		t->src_conn =
		    t->src_host ? dr_graph_conn(g, t->src_host) : NULL;
	}
	*out = g;
	return 0;
}

size_t
dr_graph_before_provision(struct dr_graph *g)
{
	size_t p = g->provision, i, j, n = 0, dropped, *map;
	bool *drop;
	int tier;

	if (p == SIZE_MAX || g->ndeferred == 0)
		return 0;
	tier = g->tasks[p].tier;
	drop = dr_xcalloc(g->ntasks + 1, sizeof(bool));
	map = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	/* Tasks are created after their dependencies only within a service
	 * instance, so the closure is computed to a fixed point. */
	for (i = 0; i < g->ntasks; i++)
		drop[i] = g->tasks[i].deferred || g->tasks[i].cleanup ||
		          g->tasks[i].tier > tier;
	for (bool changed = true; changed;) {
		changed = false;
		for (i = 0; i < g->ntasks; i++)
			for (j = 0; !drop[i] && j < g->tasks[i].ndeps; j++)
				if (drop[g->tasks[i].deps[j]])
					drop[i] = changed = true;
	}
	for (i = 0; i < g->ntasks; i++)
		map[i] = drop[i] ? SIZE_MAX : n++;
	dropped = g->ntasks - n;
	for (i = 0; i < g->ntasks; i++) {
		struct dr_task *t = &g->tasks[i];
		size_t k = 0;
		if (drop[i])
			continue;
		for (j = 0; j < t->ndeps; j++)
			t->deps[k++] = map[t->deps[j]];
		t->ndeps = k;
		for (j = 0, k = 0; j < t->nrdeps; j++)
			if (map[t->rdeps[j]] != SIZE_MAX)
				t->rdeps[k++] = map[t->rdeps[j]];
		t->nrdeps = k;
		t->id = map[i];
		g->tasks[map[i]] = *t;
	}
	g->ntasks = n;
	g->provision = map[p];
	g->ndeferred = 0;
	free(drop);
	free(map);
	return dropped;
}

void
dr_graph_free(struct dr_graph *g)
{
	if (g == NULL)
		return;
	free(g->tasks);
	dr_arena_free(g->arena);
	free(g);
}

static int
strcmp0(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "");
}

int
dr_task_cmp(const struct dr_task *a, const struct dr_task *b)
{
	int c;

	if (a->tier != b->tier)
		return a->tier < b->tier ? -1 : 1;
	if (a->priority != b->priority)
		return a->priority < b->priority ? -1 : 1;
	if ((c = strcmp0(a->tenant ? a->tenant->name : NULL,
	                 b->tenant ? b->tenant->name : NULL)) != 0)
		return c;
	if ((c = strcmp(a->service->name, b->service->name)) != 0)
		return c;
	if (a->step->index != b->step->index)
		return a->step->index < b->step->index ? -1 : 1;
	if ((c = strcmp0(a->site ? a->site->name : NULL,
	                 b->site ? b->site->name : NULL)) != 0)
		return c;
	if ((c = strcmp0(a->host ? a->host->name : NULL,
	                 b->host ? b->host->name : NULL)) != 0)
		return c;
	return a->id < b->id ? -1 : a->id > b->id;
}

/* Binary heap of task ids ordered by dr_task_cmp. */
static bool
heap_less(const struct dr_task_heap *h, size_t i, size_t j)
{
	return dr_task_cmp(&h->g->tasks[h->v[i]], &h->g->tasks[h->v[j]]) < 0;
}

static void
heap_swap(struct dr_task_heap *h, size_t i, size_t j)
{
	size_t t = h->v[i];
	h->v[i] = h->v[j];
	h->v[j] = t;
}

void
dr_task_heap_init(struct dr_task_heap *h, const struct dr_graph *g)
{
	h->g = g;
	h->v = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	h->n = 0;
}

void
dr_task_heap_push(struct dr_task_heap *h, size_t id)
{
	size_t i = h->n++;

	h->v[i] = id;
	while (i > 0 && heap_less(h, i, (i - 1) / 2)) {
		heap_swap(h, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

size_t
dr_task_heap_pop(struct dr_task_heap *h)
{
	size_t top = h->v[0], i = 0;

	h->v[0] = h->v[--h->n];
	for (;;) {
		size_t l = 2 * i + 1, r = l + 1, m = i;
		if (l < h->n && heap_less(h, l, m))
			m = l;
		if (r < h->n && heap_less(h, r, m))
			m = r;
		if (m == i)
			break;
		heap_swap(h, i, m);
		i = m;
	}
	return top;
}

void
dr_task_heap_free(struct dr_task_heap *h)
{
	free(h->v);
	h->v = NULL;
	h->n = 0;
}

int
dr_graph_order(const struct dr_graph *g, size_t *order)
{
	size_t *indeg = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	struct dr_task_heap h;
	size_t i, j, n = 0;
	int r = 0;

	dr_task_heap_init(&h, g);
	for (i = 0; i < g->ntasks; i++) {
		indeg[i] = g->tasks[i].ndeps;
		if (indeg[i] == 0)
			dr_task_heap_push(&h, i);
	}
	while (h.n > 0) {
		size_t id = dr_task_heap_pop(&h);
		const struct dr_task *t = &g->tasks[id];
		order[n++] = id;
		for (j = 0; j < t->nrdeps; j++)
			if (--indeg[t->rdeps[j]] == 0)
				dr_task_heap_push(&h, t->rdeps[j]);
	}
	if (n != g->ntasks)
		r = DR_EINVAL;
	free(indeg);
	dr_task_heap_free(&h);
	return r;
}

static void
dot_str(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fputc('\\', f);
		if (*s == '\n')
			fputs("\\n", f);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

void
dr_graph_dot(const struct dr_graph *g, FILE *f)
{
	size_t i, j;
	int tier = -1;
	size_t *order = dr_xcalloc(g->ntasks + 1, sizeof(size_t));

	dr_graph_order(g, order);
	fprintf(f, "digraph ");
	dot_str(f, g->plan->name);
	fprintf(f,
	        " {\n  rankdir=LR;\n  node [shape=box, fontname=\"monospace\", "
	        "fontsize=10];\n");
	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[order[i]];
		struct dr_buf label;
		if (t->tier != tier) {
			if (tier >= 0)
				fprintf(f, "  }\n");
			tier = t->tier;
			fprintf(f,
			        "  subgraph cluster_tier%d {\n    label=\"tier "
			        "%d\";\n    style=rounded;\n",
			        tier, tier);
		}
		dr_buf_init(&label, 0);
		dr_buf_puts(&label, t->service->name);
		if (t->tenant)
			dr_buf_printf(&label, "/%s", t->tenant->name);
		dr_buf_printf(&label, "\n%s (%s)", t->step->name,
		              dr_action_name(t->step->action));
		if (t->host)
			dr_buf_printf(&label, "\n%s/%s", t->site->name,
			              t->host->name);
		fprintf(f, "    t%zu [label=", t->id);
		dot_str(f, label.data);
		fprintf(f, "%s];\n",
		        t->step->action == DR_ACT_APPROVE ? ", shape=diamond"
		                                          : "");
		dr_buf_free(&label);
	}
	if (tier >= 0)
		fprintf(f, "  }\n");
	for (i = 0; i < g->ntasks; i++) {
		for (j = 0; j < g->tasks[i].ndeps; j++)
			fprintf(f, "  t%zu -> t%zu;\n", g->tasks[i].deps[j], i);
	}
	fprintf(f, "}\n");
	free(order);
}

void
dr_task_conns(const struct dr_task *t, const struct dr_conn *cs[2])
{
	enum dr_action a = t->step->action;

	cs[0] = a == DR_ACT_RUN || a == DR_ACT_SCRIPT || a == DR_ACT_COPY
	            ? t->conn
	            : NULL;
	cs[1] = a == DR_ACT_COPY ? t->src_conn : NULL;
}

/* The lost sites, ", "-joined, with their roles when roles; in the arena. */
static char *
lost_sites(const struct dr_graph *g, bool roles, const char *to)
{
	struct dr_buf b;
	char *r;
	size_t i;

	dr_buf_init(&b, 0);
	for (i = 0; i < g->nfrom; i++) {
		const struct dr_site *s = g->from[i];
		if (roles)
			dr_buf_printf(&b, "%s%s (%s, LOST)", i ? ", " : "",
			              s->name, dr_site_role_name(s->role));
		else
			dr_buf_printf(&b, "%s%s", i ? "," : "", s->name);
	}
	if (to)
		dr_buf_puts(&b, to);
	r = dr_arena_strdup(g->arena, b.data ? b.data : "");
	dr_buf_free(&b);
	return r;
}

const char *
dr_graph_from_names(const struct dr_graph *g)
{
	return lost_sites(g, false, NULL);
}

const char *
dr_graph_direction(const struct dr_graph *g)
{
	char *to = dr_xasprintf(" -> %s (%s)", g->to->name,
	                        dr_site_role_name(g->to->role));
	const char *r = lost_sites(g, true, to);

	free(to);
	return r;
}
