/* resume.c: a run read back from its journal, and what runs again. */
#include "drover/resume.h"

#include <errno.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"

int
dr_resume_expand(const struct dr_plan *plan, const struct dr_rs_run *rs,
                 struct dr_diags *d, struct dr_graph **g)
{
	struct dr_expand_opts eo = {0};

	eo.from = (const char *const *)rs->from;
	eo.nfrom = rs->nfrom;
	eo.to = rs->to;
	eo.mode =
	    strcmp(rs->mode, "drill") == 0 ? DR_MODE_DRILL : DR_MODE_FAILOVER;
	eo.only = (const char *const *)rs->only;
	eo.nonly = rs->nonly;
	return dr_graph_expand(plan, &eo, d, g) == 0 ? 0 : DR_EPLAN;
}

int
dr_resume_provide(struct dr_plan *plan, const struct dr_rs_run *rs,
                  const char *known_hosts, char **why)
{
	struct dr_inventory inv = {0};
	struct dr_new_host *hosts;
	struct dr_buf kh;
	const struct dr_site *site;
	size_t i;
	int r = 0;

	*why = NULL;
	if (rs->inventory == NULL || rs->inventory_site == NULL)
		return 0;
	site = dr_plan_site(plan, rs->inventory_site);
	if (site == NULL || !site->provisioned) {
		*why =
		    dr_xasprintf("the journal holds the hosts of site \"%s\", "
		                 "which the plan no longer provisions",
		                 rs->inventory_site);
		return DR_EPLAN;
	}
	if (dr_inventory_from_json(rs->inventory, &inv, why) != 0)
		return DR_EPLAN;
	hosts = dr_xcalloc(inv.nhosts + 1, sizeof(*hosts));
	dr_buf_init(&kh, 0);
	dr_buf_printf(&kh,
	              "# %s: the host keys drover pinned for site %s, "
	              "from the run's journal\n",
	              rs->run_id, site->name);
	for (i = 0; i < inv.nhosts; i++) {
		const struct dr_inv_host *h = &inv.hosts[i];
		int port = h->port ? h->port : plan->defaults.port;
		hosts[i] = (struct dr_new_host){
		    .name = h->name,
		    .address = h->address,
		    .port = h->port,
		    .user = h->user,
		    .roles = (const char *const *)h->roles,
		    .nroles = h->nroles,
		    .key = h->key,
		    .fingerprint = h->fingerprint,
		};
		if (port == 22)
			dr_buf_printf(&kh, "%s %s\n", h->address, h->key);
		else
			dr_buf_printf(&kh, "[%s]:%d %s\n", h->address, port,
			              h->key);
	}
	if (dr_plan_provide(plan, site->name, hosts, inv.nhosts,
	                    known_hosts ? known_hosts : "(not written)") != 0) {
		*why = dr_xasprintf("site \"%s\" cannot take the journal's "
		                    "hosts",
		                    site->name);
		r = DR_EPLAN;
	} else if (known_hosts && dr_write_file_atomic(known_hosts, kh.data,
	                                               kh.len, 0600) != 0) {
		*why = dr_xasprintf("cannot write %s: %s", known_hosts,
		                    strerror(errno));
		r = DR_EIO;
	} else if (known_hosts) {
		/* Beside it, the hosts for a deprovision step
		 * ($DROVER_INVENTORY). */
		const char *slash = strrchr(known_hosts, '/');
		char *ip = dr_xasprintf("%.*s/inventory.json",
		                        slash ? (int)(slash - known_hosts) : 1,
		                        slash ? known_hosts : ".");
		char *text = json_dumps(rs->inventory, JSON_INDENT(2));
		if (text == NULL ||
		    dr_write_file_atomic(ip, text, strlen(text), 0600) != 0) {
			*why = dr_xasprintf("cannot write %s: %s", ip,
			                    strerror(errno));
			r = DR_EIO;
		}
		free(text);
		free(ip);
	}
	dr_buf_free(&kh);
	free(hosts);
	dr_inventory_free(&inv);
	return r;
}

int
dr_resume_rebuild(const struct dr_rs_run *rs, struct dr_plan **plan,
                  struct dr_graph **g, struct dr_task_run **runs, bool *changed,
                  char **why)
{
	struct dr_diags diags = {0};
	struct dr_task_run *v;
	size_t i;

	*plan = NULL;
	*g = NULL;
	*runs = NULL;
	*why = NULL;
	*changed = false;
	if (dr_plan_load(rs->plan_file, &diags, plan) != 0) {
		*why = dr_xasprintf("cannot load the run's plan %s%s%s",
		                    rs->plan_file, diags.n ? ": " : "",
		                    diags.n ? diags.v[0].msg : "");
		dr_diag_clear(&diags);
		return DR_EPLAN;
	}
	*changed = strcmp((*plan)->sha256, rs->plan_sha256) != 0;
	if (dr_resume_provide(*plan, rs, NULL, why) != 0) {
		dr_plan_free(*plan);
		*plan = NULL;
		return DR_EPLAN;
	}
	if (dr_resume_expand(*plan, rs, &diags, g) != 0) {
		*why = dr_xasprintf("cannot expand the run's plan: %s",
		                    diags.n ? diags.v[0].msg : "?");
		dr_diag_clear(&diags);
		dr_plan_free(*plan);
		*plan = NULL;
		return DR_EPLAN;
	}
	dr_diag_clear(&diags);
	v = dr_xcalloc((*g)->ntasks + 1, sizeof(*v));
	for (i = 0; i < (*g)->ntasks; i++) {
		const struct dr_rs_task *t = dr_rs_find(rs, (*g)->tasks[i].key);
		v[i].exit_code = -1;
		if (t == NULL)
			continue;
		v[i].state = t->state;
		v[i].attempts = t->attempts;
		v[i].exit_code = t->exit_code;
		snprintf(v[i].signal, sizeof(v[i].signal), "%s", t->signal);
		v[i].unreachable = t->unreachable;
		v[i].message = t->message; /* borrowed from rs */
		v[i].tail = t->tail;
		v[i].backup = t->backup;
		v[i].backup_ms = t->backup_ms;
		v[i].rejected = t->rejected;
		v[i].start_wall_ms = t->start_ms;
		v[i].end_wall_ms = t->end_ms;
	}
	*runs = v;
	return 0;
}

bool
dr_resume_unknown(enum dr_task_state st)
{
	return st == DR_TS_RUNNING || st == DR_TS_INDETERMINATE;
}

size_t
dr_resume_presets(const struct dr_graph *g, const struct dr_rs_run *rs,
                  struct dr_task_run *presets,
                  void (*fn)(const struct dr_task *t, void *arg), void *arg)
{
	size_t i, undecided = 0;

	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		const struct dr_rs_task *jt = dr_rs_find(rs, t->key);
		struct dr_task_run *p = &presets[i];

		memset(p, 0, sizeof(*p));
		p->state = DR_TS_PENDING;
		p->exit_code = -1;
		if (jt == NULL)
			continue;
		p->attempts = jt->attempts;
		p->exit_code = jt->exit_code;
		snprintf(p->signal, sizeof(p->signal), "%s", jt->signal);
		p->unreachable = jt->unreachable;
		p->message = jt->message;
		p->start_wall_ms = jt->start_ms;
		p->end_wall_ms = jt->end_ms;
		p->backup = jt->backup;
		p->backup_ms = jt->backup_ms;
		p->rejected = jt->rejected;
		switch (jt->state) {
		case DR_TS_SUCCEEDED:
		case DR_TS_REFUSED:
			p->state = jt->state;
			break;
		case DR_TS_SKIPPED:
			if (jt->unreachable)
				p->state = DR_TS_SKIPPED;
			break;
		case DR_TS_RUNNING:
		case DR_TS_INDETERMINATE:
			/* It may or may not have done its work. */
			if (t->step->idempotent || t->step->readonly) {
				if (fn)
					fn(t, arg);
			} else if (jt->decision == DR_RS_DONE) {
				p->state = DR_TS_SUCCEEDED;
				p->message = "assumed done by the operator";
				p->end_wall_ms = dr_now_wall_ms();
			} else if (jt->decision != DR_RS_RERUN) {
				p->state = DR_TS_INDETERMINATE;
				undecided++;
			}
			break;
		default:
			break;
		}
	}
	return undecided;
}
