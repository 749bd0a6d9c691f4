/*
 * cmd-standby.c: drover standby PLAN --from S --to S --etcd URLS: a standby
 * controller (ha.h).
 *
 * It waits, watching etcd. When the run's leader loses its lease (its
 * controller or its site is gone), it takes the leadership, rebuilds the run
 * from the journal replicated in etcd, and resumes it under the rules of
 * drover resume (succeeded tasks never run again; a task whose outcome is
 * unknown runs again only if its step is idempotent or readonly, the others
 * wait for --assume-done / --rerun). When the run ends, whether this
 * controller finished it or saw its leader finish it, standby exits with
 * the run's exit status, so that a systemd unit can start it again for the
 * next run. Without an etcd quorum nothing takes over.
 *
 * Also here: dr_cmd_ha_new, the HA settings of failover, drill and standby.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/graph.h"
#include "drover/ha.h"
#include "drover/plan.h"
#include "drover/run.h"
#include "drover/runs.h"

int
dr_cmd_ha_new(const struct dr_plan *plan, const char *to, const char *etcd_arg,
              bool quiet, struct dr_ha **out)
{
	const struct dr_controllers *c = &plan->controllers;
	struct dr_ha_opts o = {0};
	char *urls = NULL; /* the endpoints point into it (dr_ha_new copies) */
	char *why = NULL;
	size_t i;
	int r;

	*out = NULL;
	if (etcd_arg != NULL) {
		urls = dr_xstrdup(etcd_arg);
		if (dr_ha_parse_endpoints(urls, &o.etcd, &why) != 0) {
			fprintf(stderr, "drover: %s\n", why);
			free(why);
			free(urls);
			return DR_EXIT_USAGE;
		}
	} else {
		if (c->netcd == 0)
			return 0; /* no HA: the local journal only */
		for (i = 0; i < c->netcd && i < DR_ETCD_MAX_ENDPOINTS; i++)
			o.etcd.endpoints[o.etcd.nendpoints++] = c->etcd[i];
	}
	o.etcd.cacert = c->cacert;
	o.etcd.cert = c->cert;
	o.etcd.key = c->key;
	o.etcd.user = c->user;
	if (c->user) {
		o.etcd.password = getenv(c->password_env);
		if (o.etcd.password == NULL) {
			free(urls);
			fprintf(stderr,
			        "drover: controllers: etcd user %s: set its "
			        "password in $%s\n",
			        c->user, c->password_env);
			return DR_EXIT_USAGE;
		}
	}
	o.plan_name = plan->name;
	o.target = to;
	o.ttl_s = (unsigned)(c->ttl_ms / 1000);
	o.quiet = quiet;
	r = dr_ha_new(&o, out);
	free(urls);
	if (r != 0) {
		fprintf(stderr, "drover: etcd: %s\n", dr_strerror(r));
		return DR_EXIT_USAGE;
	}
	return 0;
}

/* What the command line says. */
struct standby {
	struct dr_cmd_run run;
	const char *resume_args[520]; /* decisions, passed on to resume */
	size_t nargs;
};

static int
standby_opt(int c, const char *arg, void *ctx)
{
	struct standby *sb = ctx;

	if (strchr("DRXP", c) != NULL) {
		if (sb->nargs + 2 >= DR_NELEM(sb->resume_args))
			return DR_EXIT_USAGE;
		sb->resume_args[sb->nargs++] = c == 'D'   ? "--assume-done"
		                               : c == 'R' ? "--rerun"
		                               : c == 'X'
		                                   ? "--rerun-indeterminate"
		                                   : "--plan-changed";
		if (c == 'D' || c == 'R')
			sb->resume_args[sb->nargs++] = arg;
		return 0;
	}
	return dr_cmd_run_opt(c, arg, &sb->run);
}

/* The run's journal and audit trail as etcd has them, in STATE/runs/RUN. */
static int
write_run(const struct dr_ha_takeover *t)
{
	char *sdir = dr_state_dir();
	char *dir = dr_xasprintf("%s/runs/%s", sdir, t->run_id);
	char *jp = dr_xasprintf("%s/journal", dir);
	char *ap = dr_xasprintf("%s/audit", dir);
	int r = 0;

	if (dr_mkdirs(dir) != 0 ||
	    dr_write_file_atomic(jp, t->journal, t->journal_len, 0600) != 0 ||
	    dr_write_file_atomic(ap, t->audit, t->audit_len, 0600) != 0) {
		fprintf(stderr, "drover: cannot write run %s in %s: %s\n",
		        t->run_id, dir, strerror(errno));
		r = -1;
	}
	free(ap);
	free(jp);
	free(dir);
	free(sdir);
	return r;
}

int
dr_cmd_standby(int argc, char **argv)
{
	struct dr_cmd_dir dir = {0};
	struct standby sb = {0};
	const char *path = NULL;
	struct dr_cmd_args a = {
	    "standby", "ftdEyAjSDRXP", "hy", &dir, standby_opt, &sb, &path};
	struct dr_plan *plan = NULL;
	struct dr_graph *g = NULL;
	struct dr_ha *ha = NULL;
	struct dr_ha_takeover t = {0};
	uv_loop_t loop;
	const char *rargv[540];
	int rargc = 0, rc, xs = 1, r;
	size_t i;

	if ((rc = dr_cmd_parse(argc, argv, &a)) != 0) {
		rc = rc < 0 ? DR_EXIT_OK : rc;
		goto out;
	}
	if ((rc = dr_cmd_load_plan(path, &plan)) != 0)
		goto out;
	if (dir.drill && dir.nfrom == 0)
		dr_cmd_default_from(plan, &dir);
	if ((rc = dr_cmd_expand(plan, &dir, &g)) != 0)
		goto out;
	if (g->ndeferred > 0) {
		fprintf(stderr,
		        "drover: standby: %s is a provisioned site: "
		        "HA over etcd does not cover provisioned "
		        "targets yet\n",
		        g->to->name);
		rc = DR_EXIT_USAGE;
		goto out;
	}
	if ((rc = dr_cmd_ha_new(plan, g->to->name, sb.run.etcd, false, &ha)) !=
	    0)
		goto out;
	if (ha == NULL) {
		fprintf(stderr, "drover: standby needs etcd: give --etcd URLS "
		                "or a controllers section in the plan\n");
		rc = DR_EXIT_USAGE;
		goto out;
	}
	/* Asked now, not when the leader is gone: nobody may be there. */
	if ((rc = dr_cmd_confirm(g, sb.run.yes, "stand by to take over",
	                         "A standby that takes a run over acts on "
	                         "real hosts.")) != 0)
		goto out;
	uv_loop_init(&loop);
	r = dr_ha_standby(ha, &loop, &xs, &t);
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	if (r == 1) {
		rc = xs;
		goto out;
	}
	if (r != 0) {
		rc = DR_EXIT_FAIL;
		goto out;
	}
	if (t.journal_len == 0) {
		/* Its leader died before its first group commit: nothing of
		 * it ran (a task starts only once its intent is in etcd). */
		char *why = NULL;
		fprintf(stderr,
		        "drover: standby: run %s left no journal in etcd: "
		        "none of its tasks started; it is over (exit 1). "
		        "Start a new failover if it is still needed\n",
		        t.run_id);
		uv_loop_init(&loop);
		if (dr_ha_attach(ha, &loop, NULL, NULL, &why) != 0 ||
		    dr_ha_end(ha, DR_EXIT_FAIL, &why) != 0)
			fprintf(stderr, "drover: standby: %s\n", why);
		free(why);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		rc = DR_EXIT_FAIL;
		goto out;
	}
	if (write_run(&t) != 0) {
		rc = DR_EXIT_FAIL;
		goto out;
	}
	printf("standby: took over run %s; resuming it from the journal in "
	       "etcd (%zu bytes)\n",
	       t.run_id, t.journal_len);
	fflush(stdout);
	rargv[rargc++] = "resume";
	rargv[rargc++] = "--yes"; /* confirmed when the standby started */
	if (sb.run.ro.auto_approve)
		rargv[rargc++] = "--auto-approve";
	if (sb.run.ro.json)
		rargv[rargc++] = "--json";
	if (sb.run.ro.take_stale_lock)
		rargv[rargc++] = "--take-stale-lock";
	for (i = 0; i < sb.nargs; i++)
		rargv[rargc++] = sb.resume_args[i];
	rargv[rargc++] = t.run_id;
	rargv[rargc] = NULL;
	sb.run.ro.ha = ha;
	sb.run.plan_path = path;
	rc = dr_cmd_resume_ha(rargc, (char **)rargv, &sb.run);
	if (dr_ha_token(ha) != 0 && rc == DR_EXIT_OK) {
		/* Its leader had finished it and died before saying so. */
		char *why = NULL;
		uv_loop_init(&loop);
		if (dr_ha_attach(ha, &loop, NULL, NULL, &why) != 0 ||
		    dr_ha_end(ha, rc, &why) != 0)
			fprintf(stderr, "drover: standby: %s\n", why);
		free(why);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
	}
	if (dr_ha_token(ha) != 0) {
		/* The run did not start (a decision is awaited, the plan
		 * changed...): another controller may take it at once. */
		uv_loop_init(&loop);
		dr_ha_release(ha, &loop);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
		fprintf(stderr,
		        "drover: standby: gave the leadership of run %s up; "
		        "run drover standby again with the decisions above to "
		        "take it over\n",
		        t.run_id);
	}
out:
	dr_ha_takeover_free(&t);
	dr_ha_free(ha);
	dr_graph_free(g);
	dr_plan_free(plan);
	dr_cmd_dir_free(&dir);
	return rc;
}
