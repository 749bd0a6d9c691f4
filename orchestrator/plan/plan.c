/*
 * plan.c: the plan module's public face: loading a plan file into one arena,
 * freeing it, and reading the loaded plan.
 *
 * dr_plan_load() reads the file (a bounded, regular text file) and
 * dr_plan_load_string() has load.c read it into the arena and validate.c
 * check it as a whole; loading never stops at the first problem, every
 * problem becomes a "FILE:LINE: message" diagnostic. The rest are lookups by
 * name (sites, tenants, services, secrets, variables), host and selector
 * matching, and the names of the enums.
 */
#include "drover/plan.h"

#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/sha256.h"
#include "plan-internal.h"

int
dr_plan_load_string(const char *text, const char *path, struct dr_diags *diags,
                    struct dr_plan **out)
{
	struct loader ld = {.file = path, .diags = diags};
	struct dr_plan *p;
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

	r = plan_read(&ld, text);
	if (r == 0) {
		plan_validate(&ld);
		r = ld.errors ? DR_EPLAN : 0;
	}
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

const void *
plan_find_named(const void *v, size_t n, size_t size, const char *name)
{
	const char *e = v;
	size_t i;

	for (i = 0; i < n; i++, e += size) {
		if (strcmp(*(const char *const *)(const void *)e, name) == 0)
			return e;
	}
	return NULL;
}

const struct dr_site *
dr_plan_site(const struct dr_plan *p, const char *name)
{
	return plan_find_named(p->sites, p->nsites, sizeof(*p->sites), name);
}

const struct dr_tenant *
dr_plan_tenant(const struct dr_plan *p, const char *name)
{
	return plan_find_named(p->tenants, p->ntenants, sizeof(*p->tenants),
	                       name);
}

const struct dr_service *
dr_plan_service(const struct dr_plan *p, const char *name)
{
	return plan_find_named(p->services, p->nservices, sizeof(*p->services),
	                       name);
}

const struct dr_secret *
dr_plan_secret(const struct dr_plan *p, const char *name)
{
	return plan_find_named(p->secrets, p->nsecrets, sizeof(*p->secrets),
	                       name);
}

const struct dr_var *
dr_plan_var_find(const struct dr_plan *p, const struct dr_tenant *t,
                 const char *name)
{
	const struct dr_var *v = NULL;

	if (t != NULL)
		v = plan_find_named(t->vars, t->nvars, sizeof(*t->vars), name);
	if (v == NULL)
		v = plan_find_named(p->vars, p->nvars, sizeof(*p->vars), name);
	return v;
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

bool
dr_site_has_role(const struct dr_site *s, const char *role)
{
	size_t i;

	if (strcmp(role, "*") == 0 || dr_str_in(s->roles, s->nroles, role))
		return true;
	for (i = 0; i < s->nhosts; i++)
		if (dr_host_has_role(&s->hosts[i], role))
			return true;
	return false;
}

const struct dr_step *
dr_plan_provision_step(const struct dr_plan *p)
{
	size_t i, j;

	for (i = 0; i < p->nservices; i++)
		for (j = 0; j < p->services[i].nsteps; j++)
			if (p->services[i].steps[j].action == DR_ACT_PROVISION)
				return &p->services[i].steps[j];
	return NULL;
}

int
dr_plan_provide(struct dr_plan *p, const char *site,
                const struct dr_new_host *hosts, size_t n,
                const char *known_hosts)
{
	struct dr_site *s = (struct dr_site *)dr_plan_site(p, site);
	struct dr_host *v;
	size_t i, k;

	if (s == NULL || !s->provisioned || s->nhosts > 0)
		return DR_EINVAL;
	v = dr_arena_alloc(p->arena, sizeof(*v) * (n ? n : 1));
	for (i = 0; i < n; i++) {
		const char **roles = dr_arena_alloc(
		    p->arena, sizeof(char *) * (hosts[i].nroles + 1));
		for (k = 0; k < hosts[i].nroles; k++)
			roles[k] = dr_arena_strdup(p->arena, hosts[i].roles[k]);
		v[i] = (struct dr_host){
		    .name = dr_arena_strdup(p->arena, hosts[i].name),
		    .address = dr_arena_strdup(p->arena, hosts[i].address),
		    .port = hosts[i].port,
		    .user = hosts[i].user
		                ? dr_arena_strdup(p->arena, hosts[i].user)
		                : NULL,
		    .roles = roles,
		    .nroles = hosts[i].nroles,
		    .site = s,
		    .known_hosts = dr_arena_strdup(p->arena, known_hosts),
		    .host_key = dr_arena_strdup(p->arena, hosts[i].key),
		    .fingerprint =
		        dr_arena_strdup(p->arena, hosts[i].fingerprint),
		    .line = s->line,
		};
	}
	s->hosts = v;
	s->nhosts = n;
	return 0;
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
	static const char *const names[] = {"primary", "secondary", "standby",
	                                    "vault", "drill"};

	return r <= DR_SITE_DRILL ? names[r] : "?";
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
	case DR_ACT_PROVISION:
		return "provision";
	case DR_ACT_DEPROVISION:
		return "deprovision";
	case DR_ACT_NONE:
		break;
	}
	return "none";
}
