/*
 * cmd-check.c: drover check PLAN --to S [--from S[,S]] [--drill] [--json]
 *
 * Readiness for one direction, changing nothing: reach every host the run
 * needs with the plan's pinned host keys and credentials, find the commands
 * its steps require and the backups it will copy (present, with their
 * manifest, within the RPO). Prints a table by site and host, a summary and
 * an estimate of the run's duration from past runs; exit 0 when every check
 * passed, 1 otherwise, 2 on usage errors.
 */
#include <jansson.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "drover/check.h"
#include "drover/cmd.h"
#include "drover/runs.h"
#include "drover/guard.h"
#include "drover/lock.h"
#include "drover/preflight.h"
#include "drover/common.h"
#include "drover/graph.h"
#include "drover/plan.h"
#include "drover/records.h"
#include "drover/spawn.h"
#include "drover/ssh.h"

struct checking {
	uv_loop_t loop;
	uv_signal_t sigint, sigterm;
	struct dr_check *check;
	int interrupts;
};

/*
 * A provisioned target before provisioning: its hosts do not exist, so
 * nothing of them is checked. What can be: the provisioner is there and
 * answers its dry-run hook (check = "...", else PROGRAM --help).
 */
struct prov_check {
	const struct dr_step *st;
	char *hook;
	int status; /* -1: not run */
	char *message;
	char *tail;
};

static void
prov_done(struct dr_spawn_result *res, void *arg)
{
	struct prov_check *pc = arg;

	pc->status =
	    res->status == 0 && res->exit_code == 0 && res->term_signal == 0
	        ? 0
	        : 1;
	pc->message = res->message;
	res->message = NULL;
	pc->tail = res->tail;
	res->tail = NULL;
}

/* The program of a command: its first word. */
static char *
first_word(const char *cmd)
{
	size_t n;

	cmd += strspn(cmd, " \t");
	n = strcspn(cmd, " \t\n;|&");
	return dr_xstrndup(cmd, n);
}

static bool
program_found(const char *prog, const char *dir)
{
	const char *path = getenv("PATH");
	char *p;
	bool ok;

	if (strchr(prog, '/')) {
		p = prog[0] == '/' ? dr_xstrdup(prog)
		                   : dr_xasprintf("%s/%s", dir, prog);
		ok = access(p, X_OK) == 0;
		free(p);
		return ok;
	}
	while (path && *path) {
		size_t n = strcspn(path, ":");
		p = dr_xasprintf("%.*s/%s", (int)n, path, prog);
		ok = access(p, X_OK) == 0;
		free(p);
		if (ok)
			return true;
		path += n + (path[n] == ':');
	}
	return false;
}

/* Starts the provisioner's hook on the loop; prints what is known now. */
static size_t
check_provisioner(uv_loop_t *loop, const struct dr_graph *g,
                  struct prov_check *pc, FILE *out)
{
	const struct dr_step *st = g->tasks[g->provision].step;
	const struct dr_site *to = g->to;
	struct dr_spawn_opts so = {0};
	char *prog = first_word(st->provision.command);
	size_t i, nfail = 0;

	pc->st = st;
	pc->status = -1;
	fprintf(out,
	        "%s  not checked  provisioned at run time: its hosts are "
	        "known after provisioning (%zu tasks wait for them); "
	        "roles declared: ",
	        to->name, g->ndeferred);
	for (i = 0; i < to->nroles; i++)
		fprintf(out, "%s%s", i ? ", " : "", to->roles[i]);
	fprintf(out, "; %d host keys will be generated\n",
	        st->provision.reported_keys ? 0 : to->max_hosts);
	if (!program_found(prog, g->dir)) {
		fprintf(out,
		        "controller  FAILED  provisioner %s: not found or not "
		        "executable (from %s)\n",
		        prog, g->dir);
		free(prog);
		return 1;
	}
	pc->hook = st->provision.check ? dr_xstrdup(st->provision.check)
	                               : dr_xasprintf("%s --help", prog);
	free(prog);
	so.command = pc->hook;
	so.cwd = g->dir;
	so.timeout_ms = 30000;
	if (dr_spawn_start(loop, &so, prov_done, pc, NULL) != 0) {
		fprintf(out,
		        "controller  FAILED  provisioner hook %s: cannot "
		        "start\n",
		        pc->hook);
		nfail++;
	}
	return nfail;
}

static size_t
report_provisioner(const struct prov_check *pc, FILE *out)
{
	if (pc->status < 0)
		return 0;
	fprintf(out, "controller  %s  provisioner hook `%s`: %s\n",
	        pc->status == 0 ? "ok" : "FAILED", pc->hook,
	        pc->message ? pc->message : "?");
	return pc->status == 0 ? 0 : 1;
}

static const char *
status_name(enum dr_check_status s)
{
	switch (s) {
	case DR_CHECK_OK:
		return "ok";
	case DR_CHECK_FAILED:
		return "failed";
	case DR_CHECK_WARNING:
		return "warning";
	case DR_CHECK_SKIPPED:
		return "skipped";
	case DR_CHECK_PENDING:
		break;
	}
	return "pending";
}

static const char *
kind_name(enum dr_check_kind k)
{
	switch (k) {
	case DR_CHECK_SSH:
		return "ssh";
	case DR_CHECK_COMMAND:
		return "command";
	case DR_CHECK_BACKUP:
		break;
	}
	return "backup";
}

static void
handle_closed(uv_handle_t *h)
{
	(void)h;
}

static void
on_done(struct dr_check *c, void *arg)
{
	struct checking *ck = arg;

	(void)c;
	uv_close((uv_handle_t *)&ck->sigint, handle_closed);
	uv_close((uv_handle_t *)&ck->sigterm, handle_closed);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct checking *ck = h->data;

	if (++ck->interrupts == 1) {
		fprintf(stderr, "\ndrover: %s: stopping the checks\n",
		        signum == SIGINT ? "interrupt" : "terminate");
		dr_check_cancel(ck->check);
		return;
	}
	fflush(NULL);
	_exit(DR_EXIT_FAIL);
}

static void
print_json(const struct dr_check_row *r, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		json_t *o = json_object();
		char *text;

		json_object_set_new(o, "site",
		                    r[i].site ? json_string(r[i].site->name)
		                              : json_string("controller"));
		json_object_set_new(o, "host",
		                    r[i].host ? json_string(r[i].host->name)
		                              : json_null());
		json_object_set_new(o, "check", json_string(r[i].name));
		json_object_set_new(o, "kind",
		                    json_string(kind_name(r[i].kind)));
		json_object_set_new(o, "status",
		                    json_string(status_name(r[i].status)));
		json_object_set_new(
		    o, "detail", json_string(r[i].detail ? r[i].detail : ""));
		if (r[i].kind == DR_CHECK_BACKUP) {
			json_object_set_new(o, "path", json_string(r[i].path));
			json_object_set_new(o, "age_ms",
			                    r[i].age_ms >= 0
			                        ? json_integer(r[i].age_ms)
			                        : json_null());
			json_object_set_new(
			    o, "rpo_ms",
			    r[i].rpo_ms ? json_integer((json_int_t)r[i].rpo_ms)
			                : json_null());
		}
		text = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
		if (text)
			printf("%s\n", text);
		free(text);
		json_decref(o);
	}
}

/* "ok", "ok, 4h12m old, rpo 24h", "FAILED: reason", ... */
static void
result_text(const struct dr_check_row *r, struct dr_buf *b)
{
	const char *d = r->detail ? r->detail : "";

	switch (r->status) {
	case DR_CHECK_OK:
		if (strcmp(d, "ok") == 0 || *d == '\0')
			dr_buf_puts(b, "ok");
		else
			dr_buf_printf(b, "ok, %s", d);
		break;
	case DR_CHECK_FAILED:
		dr_buf_printf(b, "FAILED: %s", d);
		break;
	case DR_CHECK_WARNING:
		dr_buf_printf(b, "warning: %s", d);
		break;
	case DR_CHECK_SKIPPED:
		dr_buf_puts(b, d);
		break;
	case DR_CHECK_PENDING:
		dr_buf_puts(b, "not finished");
		break;
	}
}

static void
print_table(const struct dr_check_row *r, size_t n, FILE *f)
{
	size_t i, hw = 4, cw = 5;
	const struct dr_site *site = NULL;
	bool first = true;

	for (i = 0; i < n; i++) {
		size_t l = r[i].host ? strlen(r[i].host->name) : 0;
		if (l > hw)
			hw = l;
		if (strlen(r[i].name) > cw)
			cw = strlen(r[i].name);
	}
	for (i = 0; i < n; i++) {
		struct dr_buf b;
		if (first || r[i].site != site) {
			site = r[i].site;
			fprintf(f, "\n%s\n",
			        site ? site->name : "controller (local files)");
			first = false;
		}
		dr_buf_init(&b, 0);
		result_text(&r[i], &b);
		fprintf(f, "  %-*s  %-*s  %s\n", (int)hw,
		        r[i].host ? r[i].host->name : "-", (int)cw, r[i].name,
		        b.data ? b.data : "");
		dr_buf_free(&b);
	}
}

int
dr_cmd_check(int argc, char **argv)
{
	struct dr_cmd_dir dir = {0};
	struct dr_plan *plan = NULL;
	struct dr_graph *g = NULL;
	struct checking ck;
	struct dr_check_opts co = {0};
	const struct dr_check_row *rows;
	size_t n, i, nok = 0, nfail = 0, nwarn = 0, nskip = 0, nruns = 0;
	struct dr_guard *guard = NULL;
	struct prov_check pc = {.status = -1};
	uint64_t median = 0;
	bool json = false, loop_open = false;
	char *sdir = NULL;
	char d[32];
	FILE *out;
	const char *path = NULL;
	struct dr_cmd_args a = {"check",         "ftdj", NULL, &dir,
	                        dr_cmd_set_flag, &json,  &path};
	int rc = 0;

	memset(&ck, 0, sizeof(ck));
	if ((rc = dr_cmd_parse(argc, argv, &a)) != 0) {
		rc = rc < 0 ? DR_EXIT_OK : rc;
		goto out;
	}
	if (dir.to == NULL) {
		fprintf(stderr, "drover: check: give the target site: --to "
		                "SITE\n");
		rc = dr_cmd_usage("check");
		goto out;
	}
	if ((rc = dr_cmd_load_plan(path, &plan)) != 0)
		goto out;
	if (dir.nfrom == 0 && dr_cmd_default_from(plan, &dir) == 0) {
		fprintf(stderr, "drover: check: the plan has no primary or "
		                "secondary site; give --from SITE\n");
		rc = DR_EXIT_USAGE;
		goto out;
	}
	if ((rc = dr_cmd_expand(plan, &dir, &g)) != 0)
		goto out;
	sdir = dr_state_dir();
	dr_runs_estimate(sdir, plan->name, dir.drill ? "drill" : "failover",
	                 &median, &nruns);
	out = json ? stderr : stdout;
	fprintf(out, "check \"%s\" (%s): %s from %s to %s\n", plan->name,
	        plan->path, dir.drill ? "drill" : "failover",
	        dr_graph_from_names(g), g->to->name);
	fflush(out);

	/* check passes only when failover would start: what it needs from
	 * this controller, and a free target site. */
	{
		struct dr_diags pd = {0};
		char *holder = NULL;
		bool alive = false;
		size_t k;
		nfail += dr_preflight(plan, g, false, &pd);
		for (k = 0; k < pd.n; k++)
			fprintf(out, "controller  FAILED  %s:%d: %s\n",
			        pd.v[k].file, pd.v[k].line, pd.v[k].msg);
		dr_diag_clear(&pd);
		if (dr_lock_peek(sdir, g->to->name, &holder, &alive) == 0 &&
		    holder != NULL) {
			fprintf(
			    out,
			    "controller  FAILED  site %s is %s: %s; failover "
			    "would not start (drover status)\n",
			    g->to->name,
			    alive ? "held by a live run"
			          : "locked by a run "
			            "that died",
			    holder);
			nfail++;
		}
		free(holder);
	}
	uv_loop_init(&ck.loop);
	loop_open = true;
	dr_ssh_global_init();
	signal(SIGPIPE, SIG_IGN);
	if (g->provision != SIZE_MAX && g->ndeferred > 0) {
		nfail += check_provisioner(&ck.loop, g, &pc, out);
		nskip++;
	}
	co.loop = &ck.loop;
	co.graph = g;
	if (g->mode == DR_MODE_DRILL)
		co.guard = guard = dr_guard_production(plan);
	if (dr_check_start(&co, on_done, &ck, &ck.check) != 0) {
		fprintf(stderr, "drover: check: cannot start\n");
		rc = DR_EXIT_FAIL;
		goto out;
	}
	uv_signal_init(&ck.loop, &ck.sigint);
	uv_signal_init(&ck.loop, &ck.sigterm);
	ck.sigint.data = ck.sigterm.data = &ck;
	uv_signal_start(&ck.sigint, on_signal, SIGINT);
	uv_signal_start(&ck.sigterm, on_signal, SIGTERM);
	uv_run(&ck.loop, UV_RUN_DEFAULT);

	nfail += report_provisioner(&pc, out);
	rows = dr_check_rows(ck.check, &n);
	for (i = 0; i < n; i++) {
		switch (rows[i].status) {
		case DR_CHECK_OK:
			nok++;
			break;
		case DR_CHECK_WARNING:
			nwarn++;
			break;
		case DR_CHECK_SKIPPED:
			nskip++;
			break;
		case DR_CHECK_FAILED:
		case DR_CHECK_PENDING:
			nfail++;
			break;
		}
	}
	if (json)
		print_json(rows, n);
	else
		print_table(rows, n, stdout);
	fprintf(out, "\ncheck: %zu ok, %zu failed", nok, nfail);
	if (nwarn)
		fprintf(out, ", %zu warning%s", nwarn, nwarn == 1 ? "" : "s");
	if (nskip)
		fprintf(out, ", %zu not checked", nskip);
	fprintf(out, "\n");
	if (nruns)
		fprintf(out,
		        "estimated duration: %s (median of %zu past run%s)\n",
		        dr_duration_fmt(median, d, sizeof(d)), nruns,
		        nruns == 1 ? "" : "s");
	else
		fprintf(out, "no past runs to estimate from\n");
	rc = nfail == 0 && ck.interrupts == 0 ? DR_EXIT_OK : DR_EXIT_FAIL;
out:
	dr_check_free(ck.check);
	if (loop_open) {
		if (uv_loop_close(&ck.loop) != 0) {
			fprintf(stderr, "drover: internal: loop closed with "
			                "live handles\n");
			if (rc == DR_EXIT_OK)
				rc = DR_EXIT_FAIL;
		}
		dr_ssh_global_cleanup();
	}
	fflush(stdout);
	dr_guard_free(guard);
	free(pc.hook);
	free(pc.message);
	free(pc.tail);
	free(sdir);
	dr_graph_free(g);
	dr_plan_free(plan);
	dr_cmd_dir_free(&dir);
	return rc;
}
