/*
 * validate.c: the checks of a plan that need all of it loaded.
 *
 * Run once load.c has read every section: duplicate names (sites, hosts,
 * tenants, services, secrets, steps), selectors against the sites and their
 * hosts' roles, ${...} references in every template (known names, per-tenant
 * variables, secrets only where they travel on stdin, shell safety through
 * dr_sh_check, probe targets), restore-point sets, and the service graph
 * (after resolved, tier order, cycles). Each problem is one diagnostic.
 */
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"
#include "drover/plan.h"
#include "drover/scan.h"
#include "drover/shcmd.h"
#include "drover/template.h"
#include "plan-internal.h"

/* The int at offset off of the element at e: its line. */
static int
int_at(const char *e, size_t off)
{
	return *(const int *)(const void *)(e + off);
}

/*
 * Reports every one of the n elements of size bytes at v whose name an
 * earlier one has; the names come first (see plan_find_named), the lines
 * are line_at bytes in.
 */
static void
check_dups(struct loader *ld, const char *what, const void *v, size_t n,
           size_t size, size_t line_at)
{
	const char *e = v;
	size_t i;

	for (i = 0; i < n; i++, e += size) {
		const char *name = *(const char *const *)(const void *)e;
		const char *first = plan_find_named(v, i, size, name);

		if (first != NULL)
			ERR(ld, int_at(e, line_at),
			    "duplicate %s \"%s\" (first defined at line %d)",
			    what, name, int_at(first, line_at));
	}
}

/* check_dups over arr, an array of n type. */
#define CHECK_DUPS(ld, what, type, arr, n)                                     \
	check_dups((ld), (what), (arr), (n), sizeof(type), offsetof(type, line))

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
	return dr_site_has_role(s, role);
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
			    "%s: selector \"%s\": site \"%s\" has no %s "
			    "\"%s\"%s",
			    what, sel->text, s->name,
			    s->provisioned ? "role" : "host or role", sel->name,
			    s->provisioned ? " (it is provisioned: its hosts "
			                     "are named at run time; select "
			                     "them by role)"
			                   : "");
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
	if (strcmp(name, "scan.dir") == 0 && strcmp(c->field, "scan") == 0)
		return; /* {}: the quarantine directory (scan.h) */
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

/*
 * An action whose text is empty or only blanks: a placeholder left in the
 * plan. It would succeed doing nothing (or ask nothing) and read as done.
 */
static void
check_not_blank(struct loader *ld, const struct dr_step *st, const char *what)
{
	const char *text = NULL;

	switch (st->action) {
	case DR_ACT_RUN:
	case DR_ACT_LOCAL:
	case DR_ACT_DEPROVISION:
		text = st->command;
		break;
	case DR_ACT_PROVISION:
		text = st->provision.command;
		break;
	case DR_ACT_SCRIPT:
		text = st->script;
		break;
	case DR_ACT_APPROVE:
		text = st->prompt;
		break;
	default:
		return;
	}
	if (text == NULL)
		return; /* missing or mistyped: said where it was read */
	if (text[strspn(text, " \t\n\r")] == '\0')
		ERR(ld, st->line, "%s: \"%s\" is empty%s", what,
		    dr_action_name(st->action),
		    st->action == DR_ACT_APPROVE
		        ? ": say what the approver confirms"
		        : ": give the command (\"true\" for a step that only "
		          "marks a point)");
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
	check_not_blank(ld, st, what);
	switch (st->action) {
	case DR_ACT_RUN:
		check_tmpl(&c, st->command, "run", true, host);
		break;
	case DR_ACT_LOCAL:
		check_tmpl(&c, st->command, "local", true, false);
		break;
	case DR_ACT_DEPROVISION:
		check_tmpl(&c, st->command, "deprovision", true, false);
		break;
	case DR_ACT_PROVISION:
		check_tmpl(&c, st->provision.command, "provision", true, false);
		/* Both are used as written (drover check runs the hook
		 * before any value exists): no ${...} in them. */
		if (st->provision.check && strchr(st->provision.check, '$'))
			ERR(ld, st->line,
			    "%s: provision check \"%s\" is run as written: it "
			    "takes no ${...} and no $ variables",
			    what, st->provision.check);
		if (st->provision.inventory &&
		    strchr(st->provision.inventory, '$'))
			ERR(ld, st->line,
			    "%s: provision inventory \"%s\" is a plain path "
			    "(relative to the plan): no ${...}",
			    what, st->provision.inventory);
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
		if (dr_scan_wanted(ld->p, st) && st->copy.scan) {
			char *t = dr_scan_template(st->copy.scan);
			check_tmpl(&c, t, "scan", true, true);
			free(t);
		}
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

/*
 * Provisioned sites: one provision step creates whichever is the target, so
 * a plan with a provisioned site has exactly one, in a global service, and
 * nothing names a provisioned site's hosts (they have no names yet).
 */
static void
check_provisioning(struct loader *ld)
{
	const struct dr_plan *p = ld->p;
	const struct dr_step *first = NULL;
	size_t i, j, nprov = 0;

	for (i = 0; i < p->nservices; i++) {
		const struct dr_service *svc = &p->services[i];
		for (j = 0; j < svc->nsteps; j++) {
			const struct dr_step *st = &svc->steps[j];
			if (st->action != DR_ACT_PROVISION)
				continue;
			if (first)
				ERR(ld, st->line,
				    "service \"%s\" step \"%s\": a second "
				    "provision step (the first is at line "
				    "%d); one step provisions the target",
				    svc->name, st->name, first->line);
			else
				first = st;
			if (svc->scope != DR_SCOPE_GLOBAL)
				ERR(ld, st->line,
				    "service \"%s\" step \"%s\": a provision "
				    "step belongs to a global service (it "
				    "creates the site once, not per tenant)",
				    svc->name, st->name);
			if (st->cleanup)
				ERR(ld, st->line,
				    "service \"%s\" step \"%s\": a provision "
				    "step cannot be a cleanup step",
				    svc->name, st->name);
		}
	}
	for (i = 0; i < p->nsites; i++)
		if (p->sites[i].provisioned)
			nprov++;
	if (nprov > 0 && first == NULL)
		for (i = 0; i < p->nsites; i++)
			if (p->sites[i].provisioned)
				ERR(ld, p->sites[i].line,
				    "site \"%s\" is provisioned but no step "
				    "provisions it (add a step with provision "
				    "= \"COMMAND\")",
				    p->sites[i].name);
	if (nprov == 0 && first != NULL)
		ERR(ld, first->line,
		    "step \"%s\" provisions, but no site is provisioned "
		    "(provisioned = true)",
		    first->name);
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

void
plan_validate(struct loader *ld)
{
	struct dr_plan *p = ld->p;
	size_t i, j;

	CHECK_DUPS(ld, "site", struct dr_site, p->sites, p->nsites);
	check_host_dups(ld);
	CHECK_DUPS(ld, "tenant", struct dr_tenant, p->tenants, p->ntenants);
	CHECK_DUPS(ld, "service", struct dr_service, p->services, p->nservices);
	CHECK_DUPS(ld, "secret", struct dr_secret, p->secrets, p->nsecrets);
	for (i = 0; i < p->nservices; i++)
		CHECK_DUPS(ld, "step", struct dr_step, p->services[i].steps,
		           p->services[i].nsteps);
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
	check_provisioning(ld);
}
