/* guard.c: addresses a run must never connect to. */
#include "drover/guard.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drover/common.h"
#include "drover/plan.h"

struct entry {
	char *address;
	char *label;
	int family; /* AF_INET, AF_INET6 when address is a literal, else 0 */
	unsigned char bin[16];
};

struct dr_guard {
	struct entry *v;
	size_t n, cap;
};

struct dr_guard *
dr_guard_new(void)
{
	return dr_xcalloc(1, sizeof(struct dr_guard));
}

void
dr_guard_add(struct dr_guard *g, const char *address, const char *label)
{
	struct entry *e;
	void *p = g->v;
	const char *a = address;
	char tmp[64];

	dr_grow(&p, &g->cap, g->n + 1, sizeof(struct entry));
	g->v = p;
	e = &g->v[g->n++];
	memset(e, 0, sizeof(*e));
	e->address = dr_xstrdup(address);
	e->label = dr_xstrdup(label);
	if (a[0] == '[') { /* "[v6]" */
		snprintf(tmp, sizeof(tmp), "%.*s", (int)strcspn(a + 1, "]"),
		         a + 1);
		a = tmp;
	}
	if (inet_pton(AF_INET, a, e->bin) == 1)
		e->family = AF_INET;
	else if (inet_pton(AF_INET6, a, e->bin) == 1)
		e->family = AF_INET6;
}

const char *
dr_guard_check(const struct dr_guard *g, const char *name,
               const struct sockaddr *sa)
{
	size_t i;

	if (g == NULL)
		return NULL;
	for (i = 0; i < g->n; i++) {
		const struct entry *e = &g->v[i];
		if (name && strcasecmp(name, e->address) == 0)
			return e->label;
		if (sa == NULL || e->family == 0)
			continue;
		if (sa->sa_family == AF_INET && e->family == AF_INET &&
		    memcmp(&((const struct sockaddr_in *)sa)->sin_addr, e->bin,
		           4) == 0)
			return e->label;
		if (sa->sa_family == AF_INET6 && e->family == AF_INET6 &&
		    memcmp(&((const struct sockaddr_in6 *)sa)->sin6_addr,
		           e->bin, 16) == 0)
			return e->label;
	}
	return NULL;
}

void
dr_guard_free(struct dr_guard *g)
{
	size_t i;

	if (g == NULL)
		return;
	for (i = 0; i < g->n; i++) {
		free(g->v[i].address);
		free(g->v[i].label);
	}
	free(g->v);
	free(g);
}

struct dr_guard *
dr_guard_production(const struct dr_plan *p)
{
	struct dr_guard *gd = dr_guard_new();
	size_t i, j;

	for (i = 0; i < p->nsites; i++) {
		const struct dr_site *s = &p->sites[i];
		if (s->role != DR_SITE_PRIMARY && s->role != DR_SITE_SECONDARY)
			continue;
		for (j = 0; j < s->nhosts; j++) {
			char *label = dr_xasprintf("%s/%s, a production host",
			                           s->name, s->hosts[j].name);
			dr_guard_add(gd, s->hosts[j].address, label);
			dr_guard_add(gd, s->hosts[j].name, label);
			free(label);
		}
	}
	return gd;
}
