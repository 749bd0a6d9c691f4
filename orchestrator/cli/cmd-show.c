/* cmd-show.c: drover show PLAN --from S[,S] --to S: the run order. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/graph.h"
#include "drover/plan.h"

/* One-line description of what a task does. */
static void
detail(const struct dr_task *t, FILE *f)
{
	const struct dr_step *st = t->step;
	char d[32];

	switch (st->action) {
	case DR_ACT_RUN:
	case DR_ACT_LOCAL:
	case DR_ACT_PROVISION:
	case DR_ACT_DEPROVISION:
	case DR_ACT_SCRIPT: {
		/* The script as sent: its variable preamble, then the
		 * command, one line each under the task. */
		const char *p = t->display ? t->display : "";
		fprintf(f, "%s", st->action == DR_ACT_SCRIPT ? "< " : "");
		if (st->action == DR_ACT_SCRIPT)
			fprintf(f, "%s", st->script);
		for (; *p; p++) {
			if (p == t->display || p[-1] == '\n')
				fputs("\n         | ", f);
			if (*p != '\n')
				fputc(*p, f);
		}
		break;
	}
	case DR_ACT_COPY:
		if (t->src_host)
			fprintf(f, "%s/%s:", t->src_host->site->name,
			        t->src_host->name);
		fprintf(f, "%s -> %s", t->src_path ? t->src_path : "?",
		        t->dst_path ? t->dst_path : "?");
		if (t->sha256)
			fprintf(f, " (sha256 %s)", t->sha256);
		break;
	case DR_ACT_PROBE:
		fprintf(f, "%s within %s", t->target ? t->target : "?",
		        dr_duration_fmt(st->probe.within_ms, d, sizeof(d)));
		break;
	case DR_ACT_APPROVE:
		fprintf(f, "ask: %s", t->prompt ? t->prompt : "");
		break;
	case DR_ACT_NONE:
		break;
	}
}

static void
tier_header(const struct dr_graph *g, int tier, FILE *f)
{
	const struct dr_plan *p = g->plan;
	size_t i;
	int n = 0;
	char d[32];

	fprintf(f, "\ntier %d:", tier);
	for (i = 0; i < p->nservices; i++) {
		const struct dr_service *s = &p->services[i];
		if (s->tier != tier)
			continue;
		fprintf(f, "%s %s", n++ ? "," : "", s->name);
		if (s->rto_ms)
			fprintf(f, " (rto %s)",
			        dr_duration_fmt(s->rto_ms, d, sizeof(d)));
	}
	fprintf(f, "\n");
}

void
dr_cmd_show_print(const struct dr_graph *g, const size_t *order, FILE *f)
{
	size_t i, w = 0;
	int tier = -1;

	fprintf(f, "plan \"%s\" (%s): %s from %s to %s\n", g->plan->name,
	        g->plan->path, g->mode == DR_MODE_DRILL ? "drill" : "failover",
	        dr_graph_from_names(g), g->to->name);
	fprintf(f, "%zu tasks; %s\n", g->ntasks,
	        g->plan->strict_tiers
	            ? "each tier starts when the tiers before it have ended"
	            : "later tiers may use idle capacity (strict_tiers = "
	              "false)");
	if (g->ndeferred)
		fprintf(f,
		        "%s is provisioned at run time: its hosts are known "
		        "after provisioning, so its %zu tasks are shown per "
		        "role (@%s/role:ROLE) and become one per host\n",
		        g->to->name, g->ndeferred, g->to->name);
	for (i = 0; i < g->ntasks; i++) {
		size_t l = strlen(g->tasks[i].key);
		if (l > w)
			w = l;
	}
	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[order[i]];
		if (t->tier != tier) {
			tier = t->tier;
			tier_header(g, tier, f);
		}
		fprintf(f, "%5zu  %-*s  %-7s  ", i + 1, (int)w, t->key,
		        dr_action_name(t->step->action));
		if (t->refused)
			fprintf(f, "REFUSED in a drill (%s)  ",
			        t->refusal ? t->refusal : "production");
		if (t->deferred)
			fprintf(f, "[hosts known after provisioning]  ");
		detail(t, f);
		fputc('\n', f);
	}
}

int
dr_cmd_show(int argc, char **argv)
{
	struct dr_plan *plan;
	struct dr_graph *g;
	size_t *order;
	int rc = dr_cmd_plan_graph(argc, argv, "show", &plan, &g);

	if (rc != 0)
		return rc < 0 ? DR_EXIT_OK : rc;
	order = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	if (dr_graph_order(g, order) != 0) {
		fprintf(stderr, "drover: the task graph has a cycle\n");
		rc = DR_EXIT_FAIL;
	} else {
		dr_cmd_show_print(g, order, stdout);
	}
	free(order);
	dr_graph_free(g);
	dr_plan_free(plan);
	return rc;
}
