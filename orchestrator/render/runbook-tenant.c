/*
 * runbook-tenant.c: a tenant-scoped service printed once for all of its
 * tenants, and the checklist that goes with it.
 *
 * With 1,300 tenants a runbook that repeats each service's steps for every
 * tenant is thousands of pages nobody can carry or follow. The tenants of a
 * service do the same steps on the same hosts; only their values differ
 * (${tenant}, the ${var.x} a tenant sets). So the procedure is printed once
 * with each such value as a named placeholder (TENANT, DB), and a checklist
 * holds one row per tenant: its values, a box per step, and when it was
 * recovered.
 *
 * That is only right when it is exactly what each tenant would do. The
 * procedure is therefore derived from the graph, never rebuilt beside it:
 * each task's own rendered command, paths, URL and question, with the
 * tenant's values put back as placeholders, must come out identical for
 * every tenant. Anything else (another host, another step, a value that
 * needs quoting, text the expander rendered some other way) and the
 * section is written tenant by tenant, as it always was.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"
#include "drover/scan.h"
#include "drover/shcmd.h"
#include "drover/template.h"
#include "runbook-internal.h"

/* A value of the tenant's that the procedure names. */
struct ph {
	char *ref;  /* as the plan writes it: "tenant", "var.db" */
	char *name; /* the placeholder: "TENANT", "DB" */
	char *var;  /* the shell variable it is bound to: "_dr_var_db" */
};

struct rb_shared {
	size_t nsteps, ntenants, nleft;
	const struct dr_tenant **tenants; /* in document order */
	size_t *ids;                      /* ntenants x nsteps task ids */
	struct dr_task *tmpl;             /* nsteps, placeholder strings */
	struct ph *ph;
	size_t nph;
};

bool
rb_plain_word(const char *s)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyz"
	                         "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
	                         "@%+=:,./_-";

	return s && *s && strspn(s, ok) == strlen(s);
}

/* ---- the values ---------------------------------------------------------- */

/* The tenant's value of the reference ref ("tenant", "var.db"). */
static const char *
tenant_value(const struct dr_plan *p, const struct dr_tenant *tn,
             const char *ref)
{
	const struct dr_var *v;

	if (strcmp(ref, "tenant") == 0)
		return tn->name;
	v = dr_plan_var_find(p, tn, ref + 4);
	return v ? v->value : NULL;
}

/* What the references found in the step templates go into. */
struct refs {
	char **v;
	size_t n, cap;
};

static void
add_ref(const char *name, void *arg)
{
	struct refs *rs = arg;
	void *p = rs->v;

	if (strncmp(name, "var.", 4) != 0 ||
	    dr_str_in((const char *const *)rs->v, rs->n, name))
		return;
	dr_grow(&p, &rs->cap, rs->n + 1, sizeof(char *));
	rs->v = p;
	rs->v[rs->n++] = dr_xstrdup(name);
}

/* Whether some tenant of the section sets the variable name itself. */
static bool
set_by_a_tenant(const struct rb_shared *s, const char *name)
{
	size_t i, j;

	for (i = 0; i < s->ntenants; i++)
		for (j = 0; j < s->tenants[i]->nvars; j++)
			if (strcmp(s->tenants[i]->vars[j].name, name) == 0)
				return true;
	return false;
}

static void
add_ph(struct rb_shared *s, const char *ref)
{
	struct dr_buf n, v;
	const char *q, *base = strncmp(ref, "var.", 4) == 0 ? ref + 4 : ref;
	size_t i;
	bool taken;

	dr_buf_init(&n, 0);
	for (q = base; *q; q++) {
		char c = isalnum((unsigned char)*q)
		             ? (char)toupper((unsigned char)*q)
		             : '_';
		dr_buf_append(&n, &c, 1);
	}
	/* a variable called "tenant" must not take TENANT */
	do {
		taken = false;
		for (i = 0; i < s->nph; i++)
			if (strcmp(s->ph[i].name, n.data) == 0)
				taken = true;
		if (taken) {
			char *old = dr_buf_steal(&n);
			dr_buf_init(&n, 0);
			dr_buf_printf(&n, "VAR_%s", old);
			free(old);
		}
	} while (taken);
	dr_buf_init(&v, 0);
	dr_buf_puts(&v, "_dr_");
	for (q = ref; *q; q++) {
		char c = isalnum((unsigned char)*q) ? *q : '_';
		dr_buf_append(&v, &c, 1);
	}
	s->ph = dr_xrealloc(s->ph, (s->nph + 1) * sizeof(*s->ph));
	s->ph[s->nph].ref = dr_xstrdup(ref);
	s->ph[s->nph].name = dr_buf_steal(&n);
	s->ph[s->nph].var = dr_buf_steal(&v);
	s->nph++;
}

/* TENANT, and each variable that the steps use and a tenant sets. */
static void
find_placeholders(struct rb_shared *s, const struct dr_service *sv)
{
	struct refs rs = {0};
	size_t i, k;

	add_ph(s, "tenant");
	for (i = 0; i < sv->nsteps; i++) {
		const struct dr_step *st = &sv->steps[i];
		const char *t[] = {st->command,      st->copy.from.path,
		                   st->copy.to.path, st->copy.sha256,
		                   st->probe.target, st->prompt};

		for (k = 0; k < DR_NELEM(t); k++)
			if (t[k])
				dr_tmpl_scan(t[k], add_ref, &rs);
		for (k = 0; k < st->nargs; k++)
			dr_tmpl_scan(st->args[k], add_ref, &rs);
	}
	for (i = 0; i < rs.n; i++) {
		if (set_by_a_tenant(s, rs.v[i] + 4))
			add_ph(s, rs.v[i]);
		free(rs.v[i]);
	}
	free(rs.v);
}

/* ---- one task with placeholders ----------------------------------------- */

/* What the lookup resolves a template's names against. */
struct look {
	const struct rb *r;
	const struct rb_shared *s;
	const struct dr_task *t;
	const struct dr_tenant *tn;
	const struct dr_host *h;
	const char *role; /* deferred: the role of the future host */
	const char *from; /* "milan,rome" */
	bool ph;          /* the tenant's values as placeholders */
	char port[16], other[96];
};

/* The names as the expander resolves them (graph.c), for the check that
 * the result is the graph's own. */
static const char *
look(const char *name, bool *integer, void *arg)
{
	struct look *l = arg;
	const struct dr_plan *p = l->r->p;
	const struct dr_graph *g = l->r->g;
	size_t i;

	*integer = false;
	for (i = 0; i < l->s->nph; i++)
		if (strcmp(name, l->s->ph[i].ref) == 0)
			return l->ph ? l->s->ph[i].name
			             : tenant_value(p, l->tn, name);
	if (strcmp(name, "service") == 0)
		return l->t->service->name;
	if (strcmp(name, "step") == 0)
		return l->t->step->name;
	if (strcmp(name, "from") == 0)
		return l->from;
	if (strcmp(name, "to") == 0)
		return g->to->name;
	if (strcmp(name, "mode") == 0)
		return g->mode == DR_MODE_DRILL ? "drill" : "failover";
	if (strncmp(name, "var.", 4) == 0)
		return tenant_value(p, l->tn, name);
	if (l->h == NULL && l->role != NULL) {
		if (strcmp(name, "site") == 0)
			return g->to->name;
		snprintf(l->other, sizeof(l->other), "<%s-%s>",
		         strcmp(l->role, "*") == 0 ? "each" : l->role, name);
		return l->other;
	}
	if (l->h == NULL)
		return NULL;
	if (strcmp(name, "host") == 0)
		return l->h->name;
	if (strcmp(name, "address") == 0)
		return l->h->address;
	if (strcmp(name, "site") == 0)
		return l->h->site->name;
	if (strcmp(name, "user") == 0)
		return l->h->user ? l->h->user : p->defaults.user;
	if (strcmp(name, "port") == 0) {
		snprintf(l->port, sizeof(l->port), "%d",
		         l->h->port ? l->h->port : p->defaults.port);
		return l->port;
	}
	return NULL;
}

static char *
expand(struct look *l, const char *tmpl, bool ph)
{
	struct dr_buf b;
	char *bad = NULL;

	l->ph = ph;
	dr_buf_init(&b, 0);
	if (dr_tmpl_expand(tmpl, look, l, &b, &bad) != 0) {
		free(bad);
		dr_buf_free(&b);
		return NULL;
	}
	if (b.data == NULL)
		return dr_xstrdup("");
	return dr_buf_steal(&b);
}

/*
 * A rendered template with the tenant's values as placeholders, or NULL
 * when the graph rendered got some other way (then nothing is shared).
 */
static char *
general(struct look *l, const char *tmpl, const char *got)
{
	char *real, *gen;
	size_t i;

	if (tmpl == NULL || got == NULL)
		return tmpl == NULL && got == NULL ? dr_xstrdup("") : NULL;
	real = expand(l, tmpl, false);
	if (real == NULL || strcmp(real, got) != 0) {
		free(real);
		return NULL;
	}
	/* a placeholder that the text holds anyway would be ambiguous */
	for (i = 0; i < l->s->nph; i++)
		if (strstr(real, l->s->ph[i].name) != NULL) {
			free(real);
			return NULL;
		}
	free(real);
	gen = expand(l, tmpl, true);
	return gen;
}

/*
 * A script's display form with the placeholders in its preamble: the
 * line _dr_tenant='comune-lodi' becomes _dr_tenant='TENANT'. The lines
 * bound to the tenant's values are known by their variable and checked
 * against the value; the body never holds _dr_ (shcmd.h refuses it).
 */
static char *
general_shell(const struct look *l, const char *display)
{
	const struct rb_shared *s = l->s;
	struct dr_buf out, q;
	const char *p = display;
	size_t i;

	dr_buf_init(&out, 0);
	dr_buf_init(&q, 0);
	while (*p) {
		const char *e = strchr(p, '\n');
		size_t len = e ? (size_t)(e - p) + 1 : strlen(p);
		bool done = false;

		for (i = 0; i < s->nph && !done; i++) {
			size_t vl = strlen(s->ph[i].var);
			const char *v =
			    tenant_value(l->r->p, l->tn, s->ph[i].ref);

			if (strncmp(p, s->ph[i].var, vl) != 0 || p[vl] != '=')
				continue;
			q.len = 0;
			dr_sh_quote(&q, v ? v : "");
			dr_buf_puts(&q, "\n");
			if (len != vl + 1 + q.len ||
			    memcmp(p + vl + 1, q.data, q.len) != 0)
				continue;
			dr_buf_printf(&out, "%s='%s'\n", s->ph[i].var,
			              s->ph[i].name);
			done = true;
		}
		if (!done)
			dr_buf_append(&out, p, len);
		p += len;
	}
	dr_buf_free(&q);
	if (out.data == NULL)
		return dr_xstrdup("");
	return dr_buf_steal(&out);
}

/* The task's strings that the renderer prints. */
enum { F_DISPLAY, F_SRC, F_DST, F_SHA, F_TARGET, F_PROMPT, F_N };

/*
 * The strings of task t with tenant tn's values as placeholders, into
 * f[]; false when one of them is not the graph's own rendering.
 */
static bool
generalize(struct look *l, const struct dr_task *t, const struct dr_tenant *tn,
           char *f[F_N])
{
	const struct dr_step *st = t->step;
	const char *role = t->deferred ? t->role : NULL;
	size_t i;
	bool ok = true;

	memset(f, 0, sizeof(char *) * F_N);
	l->t = t;
	l->tn = tn;
	f[F_DISPLAY] =
	    t->display ? general_shell(l, t->display) : dr_xstrdup("");
	if (st->action == DR_ACT_COPY) {
		l->h = t->host;
		l->role = role;
		f[F_DST] = general(l, st->copy.to.path, t->dst_path);
		f[F_SHA] = general(l, st->copy.sha256, t->sha256);
		/* the source's own values (graph.c: expand_step) */
		l->h = t->src_host;
		l->role = t->deferred && t->src_host == NULL &&
		                  st->copy.from.sel.kind != DR_SEL_NONE
		              ? role
		              : NULL;
		f[F_SRC] = general(l, st->copy.from.path, t->src_path);
	} else {
		f[F_SRC] = dr_xstrdup("");
		f[F_DST] = dr_xstrdup("");
		f[F_SHA] = dr_xstrdup("");
	}
	l->h = t->host;
	l->role = role;
	f[F_TARGET] = st->action == DR_ACT_PROBE
	                  ? general(l, st->probe.target, t->target)
	                  : dr_xstrdup("");
	f[F_PROMPT] = st->action == DR_ACT_APPROVE
	                  ? general(l, st->prompt, t->prompt)
	                  : dr_xstrdup("");
	for (i = 0; i < F_N; i++)
		ok = ok && f[i] != NULL;
	return ok;
}

static void
free_fields(char *f[F_N])
{
	size_t i;

	for (i = 0; i < F_N; i++)
		free(f[i]);
}

static bool
same_str(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* Everything but the values: step, hosts, what the drill decided. */
static bool
same_shape(const struct dr_task *a, const struct dr_task *b)
{
	size_t i;

	if (a->step != b->step || a->host != b->host ||
	    a->src_host != b->src_host || a->deferred != b->deferred ||
	    !same_str(a->role, b->role) || a->refused != b->refused ||
	    !same_str(a->refusal, b->refusal) ||
	    a->drill_skip != b->drill_skip || a->nsecrets != b->nsecrets)
		return false;
	for (i = 0; i < a->nsecrets; i++)
		if (strcmp(a->secret_names[i], b->secret_names[i]) != 0)
			return false;
	return true;
}

/* The placeholder strings become the template task's own (freed with it). */
static void
take_fields(struct dr_task *t, char *f[F_N])
{
	char **slot[F_N] = {&t->display, &t->src_path, &t->dst_path,
	                    &t->sha256,  &t->target,   &t->prompt};
	const char *orig[F_N] = {t->display, t->src_path, t->dst_path,
	                         t->sha256,  t->target,   t->prompt};
	size_t i;

	for (i = 0; i < F_N; i++) {
		/* "" stands for a field the task does not have */
		if (orig[i] == NULL) {
			free(f[i]);
			*slot[i] = NULL;
		} else {
			*slot[i] = f[i];
		}
		f[i] = NULL;
	}
}

/* ---- the section --------------------------------------------------------- */

void
rb_shared_free(struct rb_shared *s)
{
	size_t i;

	if (s == NULL)
		return;
	for (i = 0; s->tmpl && i < s->nsteps; i++) {
		free(s->tmpl[i].display);
		free(s->tmpl[i].src_path);
		free(s->tmpl[i].dst_path);
		free(s->tmpl[i].sha256);
		free(s->tmpl[i].target);
		free(s->tmpl[i].prompt);
		free(s->tmpl[i].qdir);
		free(s->tmpl[i].ioc_script);
	}
	for (i = 0; i < s->nph; i++) {
		free(s->ph[i].ref);
		free(s->ph[i].name);
		free(s->ph[i].var);
	}
	free(s->ph);
	free(s->tmpl);
	free(s->ids);
	free(s->tenants);
	free(s);
}

/* The tenants' groups of tasks: contiguous, each tenant once, equal. */
static bool
group(struct rb_shared *s, const struct rb *r, const size_t *order, size_t from,
      size_t to)
{
	const struct dr_graph *g = r->g;
	const struct dr_plan *p = r->p;
	unsigned char *seen = dr_xcalloc(p->ntenants + 1, 1);
	const struct dr_tenant *cur = NULL;
	size_t i, n = 0;
	bool ok = true;

	s->tenants = dr_xmalloc(sizeof(*s->tenants) * (to - from));
	for (i = from; i < to && ok; i++) {
		const struct dr_task *t = &g->tasks[order[i]];
		size_t ti;

		if (t->tenant == NULL || t->step->cleanup) {
			ok = false;
			break;
		}
		if (t->tenant != cur) {
			ti = (size_t)(t->tenant - p->tenants);
			if (ti >= p->ntenants || seen[ti]) {
				ok = false;
				break;
			}
			seen[ti] = 1;
			if (cur != NULL && s->nsteps == 0)
				s->nsteps = n;
			else if (cur != NULL && n != s->nsteps)
				ok = false;
			cur = t->tenant;
			s->tenants[s->ntenants++] = cur;
			n = 0;
		}
		n++;
	}
	if (ok && s->ntenants > 1 && n != s->nsteps)
		ok = false;
	free(seen);
	return ok && s->ntenants > 1 && s->nsteps > 0;
}

struct rb_shared *
rb_shared_new(const struct rb *r, const size_t *order, size_t from, size_t to)
{
	const struct dr_graph *g = r->g;
	const struct dr_service *sv = g->tasks[order[from]].service;
	struct rb_shared *s = dr_xcalloc(1, sizeof(*s));
	struct look l = {.r = r};
	struct dr_buf fb;
	char *f[F_N];
	size_t i, j, k, filled = 0;
	bool ok;

	if (sv->scope != DR_SCOPE_TENANT || !group(s, r, order, from, to))
		goto fail;
	find_placeholders(s, sv);
	for (i = 0; i < s->ntenants; i++)
		for (k = 0; k < s->nph; k++)
			if (!rb_plain_word(tenant_value(r->p, s->tenants[i],
			                                s->ph[k].ref)))
				goto fail;
	s->ids = dr_xmalloc(sizeof(size_t) * (to - from));
	for (i = 0; i < to - from; i++)
		s->ids[i] = order[from + i];

	dr_buf_init(&fb, 0);
	for (i = 0; i < g->nfrom; i++)
		dr_buf_printf(&fb, "%s%s", i ? "," : "", g->from[i]->name);
	l.from = fb.data ? fb.data : "";
	l.s = s;
	s->tmpl = dr_xcalloc(s->nsteps, sizeof(*s->tmpl));
	ok = true;
	for (k = 0; k < s->nsteps && ok; k++) {
		const struct dr_task *t0 = &g->tasks[s->ids[k]];

		if (!generalize(&l, t0, s->tenants[0], f)) {
			free_fields(f);
			ok = false;
			break;
		}
		s->tmpl[k] = *t0;
		take_fields(&s->tmpl[k], f);
		s->tmpl[k].tenant = NULL;
		filled = k + 1;
		/* A scanned restore point: its quarantine beside the
		 * placeholder destination, drover's own indicator script
		 * for it; a plan scan (which may name the tenant's values
		 * anywhere) is printed tenant by tenant. */
		s->tmpl[k].qdir = s->tmpl[k].ioc_script = NULL;
		if (t0->qdir && t0->scan_script)
			ok = false;
		else if (t0->qdir && s->tmpl[k].dst_path) {
			s->tmpl[k].qdir =
			    dr_scan_qdir(s->tmpl[k].dst_path, t0->step->name);
			s->tmpl[k].ioc_script =
			    dr_scan_ioc_script(g->plan, s->tmpl[k].qdir);
		}
		for (j = 1; j < s->ntenants && ok; j++) {
			const struct dr_task *t =
			    &g->tasks[s->ids[j * s->nsteps + k]];
			const struct dr_task *m = &s->tmpl[k];

			ok =
			    same_shape(t0, t) &&
			    generalize(&l, t, s->tenants[j], f) &&
			    strcmp(f[F_DISPLAY],
			           m->display ? m->display : "") == 0 &&
			    strcmp(f[F_SRC], m->src_path ? m->src_path : "") ==
			        0 &&
			    strcmp(f[F_DST], m->dst_path ? m->dst_path : "") ==
			        0 &&
			    strcmp(f[F_SHA], m->sha256 ? m->sha256 : "") == 0 &&
			    strcmp(f[F_TARGET], m->target ? m->target : "") ==
			        0 &&
			    strcmp(f[F_PROMPT], m->prompt ? m->prompt : "") ==
			        0;
			free_fields(f);
		}
	}
	dr_buf_free(&fb);
	if (!ok) {
		/* only the template tasks filled so far own strings */
		s->nsteps = filled;
		goto fail;
	}
	for (i = 0; i < s->ntenants; i++) {
		for (k = 0; k < s->nsteps; k++)
			if (!rb_done(r, s->ids[i * s->nsteps + k]))
				break;
		if (k < s->nsteps)
			s->nleft++;
	}
	return s;
fail:
	if (s->tmpl == NULL)
		s->nsteps = 0;
	rb_shared_free(s);
	return NULL;
}

size_t
rb_shared_nsteps(const struct rb_shared *s)
{
	return s->nsteps;
}

size_t
rb_shared_ntenants(const struct rb_shared *s)
{
	return s->ntenants;
}

size_t
rb_shared_nleft(const struct rb_shared *s)
{
	return s->nleft;
}

/* ---- writing it ---------------------------------------------------------- */

/* Which placeholder a column shows, and its example value. */
static void
write_legend(struct rb *r, const struct rb_shared *s)
{
	static const char *const h[] = {"placeholder", "in the plan",
	                                "first tenant's value"};
	struct dr_doc *d = r->d;
	size_t i;

	dr_doc_table_begin(d, "ph", 3, 0);
	dr_doc_table_head(d, h);
	for (i = 0; i < s->nph; i++) {
		char *ref = dr_xasprintf("${%s}", s->ph[i].ref);

		dr_doc_row_begin(d);
		dr_doc_cell_begin(d, NULL);
		dr_doc_code(d, s->ph[i].name);
		dr_doc_cell_end(d);
		dr_doc_cell_begin(d, NULL);
		dr_doc_code(d, ref);
		dr_doc_cell_end(d);
		dr_doc_cell_begin(d, NULL);
		dr_doc_code(d, tenant_value(r->p, s->tenants[0], s->ph[i].ref));
		dr_doc_cell_end(d);
		dr_doc_row_end(d);
		free(ref);
	}
	dr_doc_table_end(d);
}

/* Characters of the widest cell of a column: to choose the layout. */
static size_t
widest(const struct rb *r, const struct rb_shared *s, size_t k)
{
	size_t i, w = strlen(s->ph[k].name);

	for (i = 0; i < s->ntenants; i++) {
		const char *v = tenant_value(r->p, s->tenants[i], s->ph[k].ref);
		if (v && strlen(v) > w)
			w = strlen(v);
	}
	return w;
}

static void
write_checklist(struct rb *r, const struct rb_shared *s, int first,
                const char *id, const char *svname)
{
	struct dr_doc *d = r->d;
	size_t ncols = 1 + s->nph + s->nsteps + 1, i, k, w = 0, col;
	const char **h = dr_xcalloc(ncols, sizeof(char *));
	char **nums = dr_xcalloc(s->nsteps, sizeof(char *));
	char *title;

	title = dr_xasprintf("Checklist: %s, tenant by step", svname);
	/* A long one starts on a page of its own, to print apart; a short
	 * one stays with the procedure, whole. */
	dr_doc_heading(d, 4, id, s->nleft > 40 ? "checklist" : NULL, title);
	free(title);
	dr_doc_p_begin(d, "legend");
	for (k = 0; k < s->nsteps; k++) {
		if (k)
			dr_doc_text(d, " \xc2\xb7 ");
		dr_doc_textf(d, "%d %s", first + (int)k, s->tmpl[k].step->name);
		if (s->tmpl[k].host) {
			dr_doc_text(d, " on ");
			dr_doc_text(d, s->tmpl[k].host->name);
		}
	}
	dr_doc_textf(d, ". At: when the tenant's %s was verified recovered",
	             svname);
	if (r->o->done)
		dr_doc_text(d, "; \xe2\x9c\x93: done in the run");
	dr_doc_text(d, ".");
	dr_doc_p_end(d);

	/*
	 * Two columns of rows to a page when a row is narrow enough: half of
	 * A4 is about 250pt; at 8pt a character is about 4.8pt and a cell's
	 * padding and rule 6pt; a box column takes 14pt, the time 34pt.
	 */
	w = 60 + 48 * 4;
	for (k = 0; k < s->nph; k++)
		w += 60 + 48 * widest(r, s, k);
	w += 140 * s->nsteps + 340;
	if (RB_HTML(r))
		dr_doc_raw(d,
		           s->nleft <= 40 ? "<div class=\"keep\">\n"
		           : w <= 2480    ? "<div class=\"cols2\">\n"
		                          : "<div>\n",
		           NULL);
	col = 0;
	h[col++] = "#";
	for (k = 0; k < s->nph; k++)
		h[col++] = s->ph[k].name;
	for (k = 0; k < s->nsteps; k++) {
		nums[k] = dr_xasprintf("%d", first + (int)k);
		h[col++] = nums[k];
	}
	h[col++] = "at";
	dr_doc_table_begin(d, "grid", ncols, DR_DOC_THEAD);
	dr_doc_table_head(d, h);
	for (i = 0; i < s->ntenants; i++) {
		const struct dr_tenant *tn = s->tenants[i];
		char prio[16];

		for (k = 0; k < s->nsteps; k++)
			if (!rb_done(r, s->ids[i * s->nsteps + k]))
				break;
		if (k == s->nsteps)
			continue; /* every step done in the run */
		snprintf(prio, sizeof(prio), "%d", tn->priority);
		dr_doc_row_begin(d);
		dr_doc_cell(d, "n", prio);
		for (k = 0; k < s->nph; k++)
			dr_doc_cell(d, k ? "v" : "t",
			            tenant_value(r->p, tn, s->ph[k].ref));
		for (k = 0; k < s->nsteps; k++) {
			dr_doc_cell_begin(d, "box");
			if (rb_done(r, s->ids[i * s->nsteps + k]))
				dr_doc_raw(d, "\xe2\x9c\x93", "\xe2\x9c\x93");
			else
				dr_doc_checkbox(d);
			dr_doc_cell_end(d);
		}
		dr_doc_cell(d, "at", NULL);
		dr_doc_row_end(d);
	}
	dr_doc_table_end(d);
	dr_doc_raw(d, "</div>\n", NULL);
	for (k = 0; k < s->nsteps; k++)
		free(nums[k]);
	free(nums);
	free(h);
}

void
rb_shared_write(struct rb *r, const struct rb_shared *s, int first,
                const char *id)
{
	struct dr_doc *d = r->d;
	struct rb_how how = {.dir = s->ph[0].name, .shared = true};
	size_t k, done = s->ntenants - s->nleft;

	dr_doc_p_begin(d, NULL);
	dr_doc_textf(d,
	             "The steps are the same for each of the %zu tenants; only "
	             "their values differ. Do ",
	             s->ntenants);
	if (s->nsteps == 1)
		dr_doc_textf(d, "step %d", first);
	else
		dr_doc_textf(d, "steps %d\xe2\x80\x93%d", first,
		             first + (int)s->nsteps - 1);
	dr_doc_text(d, " for one tenant at a time, in the order of the "
	               "checklist below (tenant priority), typing that "
	               "tenant's values from its row where a command shows ");
	for (k = 0; k < s->nph; k++) {
		if (k)
			dr_doc_text(d, k + 1 == s->nph ? " or " : ", ");
		dr_doc_code(d, s->ph[k].name);
	}
	dr_doc_text(d, ". Tick each box as its step is done, and write when "
	               "the tenant's service was verified recovered.");
	dr_doc_p_end(d);
	if (done) {
		dr_doc_p_begin(d, NULL);
		dr_doc_textf(d,
		             "%zu of the %zu tenants were done in run %s and "
		             "are not in the checklist.",
		             done, s->ntenants,
		             r->o->run_id ? r->o->run_id : "");
		dr_doc_p_end(d);
	}
	write_legend(r, s);
	for (k = 0; k < s->nsteps; k++)
		rb_write_step(r, &s->tmpl[k], first + (int)k, &how);
	write_checklist(r, s, first, id, s->tmpl[0].service->name);
}
