/*
 * cmd-resume.c: drover resume RUN: continue an interrupted run from its
 * journal.
 *
 * The order matters: the target's lock first (a live run is named, never
 * resumed under it), then the operator's decisions (--assume-done KEY,
 * --rerun KEY, --rerun-indeterminate) journaled and audited, then the
 * resume policy (resume.h) says what runs again. The plan file must not
 * have changed unless --plan-changed.
 */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <uv.h>

#include "drover/cmd.h"
#include "drover/audit.h"
#include "drover/common.h"
#include "drover/graph.h"
#include "drover/ha.h"
#include "drover/journal.h"
#include "drover/lock.h"
#include "drover/plan.h"
#include "drover/report.h"
#include "drover/run.h"
#include "drover/records.h"
#include "drover/resume.h"

#define MAX_DECISIONS 256

/* What the command line says: decisions, and how to run. */
struct decisions {
	bool plan_changed;
	const char *done[MAX_DECISIONS];
	size_t ndone;
	const char *rerun[MAX_DECISIONS];
	size_t nrerun;
	bool rerun_indeterminate;
	struct dr_cmd_run run;
};

static int
resume_opt(int c, const char *arg, void *ctx)
{
	struct decisions *dc = ctx;
	size_t *n = c == 'D' ? &dc->ndone : &dc->nrerun;

	if (c == 'P')
		dc->plan_changed = true;
	else if (c == 'X')
		dc->rerun_indeterminate = true;
	else if (c != 'D' && c != 'R')
		return dr_cmd_run_opt(c, arg, &dc->run);
	else if (*n < MAX_DECISIONS)
		(c == 'D' ? dc->done : dc->rerun)[(*n)++] = arg;
	return 0;
}

static bool
in_graph(const struct dr_graph *g, const char *key)
{
	size_t i;

	for (i = 0; i < g->ntasks; i++)
		if (strcmp(g->tasks[i].key, key) == 0)
			return true;
	return false;
}

/* Cuts a torn last record, so that appends continue from a clean end. */
static int
cut_torn(const char *run_dir, uint64_t *last_seq, const char *name)
{
	char *path = dr_xasprintf("%s/%s", run_dir, name);
	struct dr_journal_info info;
	int r = dr_journal_replay(path, NULL, NULL, &info);

	if (r == 0 && info.torn_bytes > 0) {
		fprintf(stderr,
		        "drover: %s: cutting a torn last record (%llu bytes "
		        "at byte %llu): it was being written when the "
		        "controller stopped\n",
		        path, (unsigned long long)info.torn_bytes,
		        (unsigned long long)info.valid_bytes);
		r = dr_journal_truncate_torn(path, &info);
	}
	if (r == DR_ENOTFOUND && strcmp(name, "audit") == 0)
		r = 0, info.last_seq = 0;
	if (r != 0)
		fprintf(stderr, "drover: %s\n",
		        info.error[0] ? info.error : dr_strerror(r));
	*last_seq = info.last_seq;
	free(path);
	return r;
}

static void
synced(int status, uint64_t seq, void *arg)
{
	(void)seq;
	*(int *)arg = status;
}

static void
report_written(void *arg, const char *path, int err)
{
	if (err != 0) {
		fprintf(stderr, "drover: cannot write %s: %s\n", path,
		        strerror(err));
		*(int *)arg = DR_EXIT_FAIL;
	} else {
		printf("wrote %s from the journal\n", path);
	}
}

/*
 * A run killed after its last record but before its report files: write
 * them from the journal.
 */
static int
ensure_reports(const char *run_dir, const struct dr_rs_run *rs)
{
	char *path = dr_xasprintf("%s/report.json", run_dir);
	int rc = DR_EXIT_OK;

	if (access(path, F_OK) == 0) {
		free(path);
		return DR_EXIT_OK;
	}
	free(path);
	if (dr_report_rebuild_write(rs, run_dir, report_written, &rc) != 0)
		return DR_EXIT_FAIL;
	return rc;
}

/*
 * Appends records to a journal and makes them durable before returning:
 * operator decisions are on disk before anything acts on them. Returns 0
 * or DR_EIO (printed).
 */
static int
append_now(const char *path, uint64_t next_seq, char *const *payloads, size_t n,
           struct dr_ha *ha)
{
	uv_loop_t loop;
	struct dr_journal *j = NULL;
	int status = 0, r;
	size_t i;
	char *why = NULL;

	if (n == 0)
		return 0;
	uv_loop_init(&loop);
	r = dr_journal_open(&loop, path, next_seq, &j);
	if (r == 0 && ha) { /* HA: the decisions are in etcd too */
		r = dr_ha_attach(ha, &loop, NULL, NULL, &why);
		if (r == 0)
			dr_journal_set_replica(j, dr_ha_replicate, ha);
		else
			fprintf(stderr, "drover: %s\n", why);
		free(why);
	}
	for (i = 0; r == 0 && i < n; i++)
		r = dr_journal_append(j, payloads[i], strlen(payloads[i]),
		                      i + 1 == n ? synced : NULL, &status);
	if (j)
		dr_journal_close(j, NULL, NULL);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (ha) {
		dr_ha_detach(ha);
		uv_run(&loop, UV_RUN_DEFAULT);
	}
	uv_loop_close(&loop);
	if (r == 0)
		r = status;
	if (r != 0)
		fprintf(stderr, "drover: %s: cannot record the decisions: %s\n",
		        path, dr_strerror(r));
	return r;
}

/*
 * The decision given on the command line for task t, or NULL: an explicit
 * --assume-done or --rerun, or --rerun-indeterminate for a task that has
 * no decision on record yet.
 */
static const char *
decision_for(const struct decisions *dc, const struct dr_task *t,
             const struct dr_rs_task *jt)
{
	if (dr_str_in(dc->done, dc->ndone, t->key))
		return "done";
	if (dr_str_in(dc->rerun, dc->nrerun, t->key))
		return "rerun";
	if (dc->rerun_indeterminate && jt->decision == DR_RS_NONE)
		return "rerun";
	return NULL;
}

/* A task whose outcome is unknown, run again because that is safe. */
static void
say_rerun(const struct dr_task *t, void *arg)
{
	(void)arg;
	printf("%s: its outcome is unknown; its step is %s: running it again\n",
	       t->key, t->step->readonly ? "readonly" : "idempotent");
}

static int resume_run(struct decisions *dc, const char *id,
                      struct dr_lock *held, char *cmdline);

int
dr_cmd_resume(int argc, char **argv)
{
	struct decisions dc = {0};
	const char *id = NULL;
	struct dr_cmd_args a = {"resume",   "PDRXyAjMSE", "hy", NULL,
	                        resume_opt, &dc,          &id};
	char *cmdline = dr_run_command_line(argc, argv);
	int rc;

	if ((rc = dr_cmd_parse(argc, argv, &a)) != 0) {
		free(cmdline);
		return rc < 0 ? DR_EXIT_OK : rc;
	}
	return resume_run(&dc, id, NULL, cmdline);
}

/* Equal bytes: this controller's file of the run and etcd's. */
static bool
same_file(const char *path, const char *etcd, size_t elen)
{
	char *data = NULL;
	size_t len = 0;
	bool same;

	if (dr_read_file(path, 0, &data, &len) != 0)
		len = 0; /* an absent audit trail: empty */
	same = len == elen && (len == 0 || memcmp(data, etcd, len) == 0);
	free(data);
	return same;
}

/*
 * resume --etcd (or the plan's controllers): this controller leads the
 * resumed run, once etcd's copy of its journal and audit trail is this
 * one's (else the run was last led elsewhere: drover standby continues it
 * from etcd's). Returns 0 with *out (NULL: no HA), or an exit status.
 */
static int
lead_resume(const struct dr_plan *plan, const struct dr_rs_run *rs,
            const char *run_dir, const char *etcd, struct dr_ha **out)
{
	struct dr_ha *ha = NULL;
	uv_loop_t loop;
	char *why = NULL, *j = NULL, *au = NULL, *jp, *ap;
	size_t jl = 0, al = 0;
	int r, rc;

	*out = NULL;
	if ((rc = dr_cmd_ha_new(plan, rs->to, etcd, true, &ha)) != 0 || !ha)
		return rc;
	jp = dr_xasprintf("%s/journal", run_dir);
	ap = dr_xasprintf("%s/audit", run_dir);
	uv_loop_init(&loop);
	r = dr_ha_lead(ha, &loop, rs->run_id, plan->sha256, &why);
	if (r == 0 && ((r = dr_ha_fetch(ha, &loop, rs->run_id, "journal", &j,
	                                &jl, &why)) != 0 ||
	               (r = dr_ha_fetch(ha, &loop, rs->run_id, "audit", &au,
	                                &al, &why)) != 0))
		dr_ha_release(ha, &loop);
	if (r == 0 && (!same_file(jp, j, jl) || !same_file(ap, au, al))) {
		why = dr_xasprintf(
		    "etcd's copy of run %s (%zu journal bytes) is not this "
		    "controller's (%s): the run was last led elsewhere; "
		    "continue it from etcd's copy with drover standby",
		    rs->run_id, jl, jp);
		dr_ha_release(ha, &loop);
		r = DR_EREFUSED;
	}
	uv_run(&loop, UV_RUN_DEFAULT);
	uv_loop_close(&loop);
	free(j);
	free(au);
	free(jp);
	free(ap);
	if (r != 0) {
		fprintf(stderr, "drover: cannot resume %s under etcd: %s\n",
		        rs->run_id, why ? why : dr_strerror(r));
		free(why);
		dr_ha_free(ha);
		return r == DR_ELOCKED ? DR_EXIT_LOCKED : DR_EXIT_FAIL;
	}
	*out = ha;
	return 0;
}

int
dr_cmd_resume_ha(int argc, char **argv, const struct dr_cmd_run *extra)
{
	struct decisions dc = {0};
	const char *id = NULL;
	/* The letters resume's table entry names (--etcd comes from the
	 * standby's own command line, not from these). */
	struct dr_cmd_args a = {"resume",   "PDRXyAjMSE", "hy", NULL,
	                        resume_opt, &dc,          &id};
	char *cmdline = dr_run_command_line(argc, argv);
	int rc;

	if ((rc = dr_cmd_parse(argc, argv, &a)) != 0) {
		free(cmdline);
		return rc < 0 ? DR_EXIT_OK : rc;
	}
	dc.run.ro.ha = extra->ro.ha;
	dc.run.plan_path = extra->plan_path;
	return resume_run(&dc, id, NULL, cmdline);
}

int
dr_cmd_continue(const char *run_id, struct dr_lock *lock,
                const struct dr_cmd_run *run, const char *command_line)
{
	struct decisions dc = {0};

	dc.run = *run;
	dc.run.ro = (struct dr_run_opts){0};
	dc.run.ro.json = run->ro.json;
	dc.run.ro.auto_approve = run->ro.auto_approve;
	dc.run.ro.metrics_path = run->ro.metrics_path;
	dc.run.yes = true; /* confirmed when the run started */
	return resume_run(&dc, run_id, lock, dr_xstrdup(command_line));
}

/*
 * Resumes run id, or continues it after its provision step (held: the lock
 * the first stage kept; nothing is asked again). Frees cmdline.
 */
static int
resume_run(struct decisions *dc_, const char *id, struct dr_lock *held,
           char *cmdline)
{
	struct decisions dc = *dc_;
	struct dr_rs_run rs;
	struct dr_plan *plan = NULL;
	struct dr_graph *g = NULL;
	struct dr_diags diags = {0};
	struct dr_run_opts *ro = &dc.run.ro;
	struct dr_task_run *presets = NULL;
	struct dr_lock *lock = held;
	struct dr_ha *own_ha = NULL; /* resume --etcd: this one leads */
	char **notes = NULL, **recs = NULL, **arecs = NULL;
	size_t nnotes = 0, nrecs = 0, narecs = 0, i, undecided = 0;
	bool loaded = false, staged = false;
	char *sdir = NULL, *run_dir = NULL, *why = NULL, *kh = NULL;
	char *rid = NULL, *audit_path = NULL, *jpath = NULL, head[65];
	uint64_t jseq = 0, aseq = 0;
	size_t naudit = 0;
	int r, rc = DR_EXIT_FAIL;

	sdir = dr_state_dir();
	if ((rc = dr_cmd_resolve_run(sdir, id, &rid)) != 0)
		goto out;
	rc = DR_EXIT_FAIL;
	r = dr_cmd_open_run(sdir, rid, &run_dir, &rs, &why);
	loaded = r != DR_ENOTFOUND;
	if (r == DR_ENOTFOUND)
		goto out;
	if (r != 0) {
		fprintf(stderr, "drover: cannot resume: %s\n", why);
		goto out;
	}
	if (rs.final_state && strcmp(rs.final_state, "succeeded") == 0) {
		printf("run %s already succeeded; nothing to resume\n",
		       rs.run_id);
		rc = ensure_reports(run_dir, &rs);
		goto out;
	}
	/* A run that is still live is steered, not resumed: nothing here may
	 * write to its journal. The lock says who holds it. */
	free(why);
	why = NULL;
	r = held ? 0
	         : dr_lock_acquire(sdir, rs.to, rs.run_id, ro->take_stale_lock,
	                           &lock, &why);
	if (r != 0) {
		fprintf(stderr, "drover: cannot resume %s: %s\n", rs.run_id,
		        why ? why : dr_strerror(r));
		rc = r == DR_ELOCKED ? DR_EXIT_LOCKED : DR_EXIT_FAIL;
		if (rc == DR_EXIT_LOCKED)
			dr_cmd_next_steps(sdir, rs.run_id, rs.to, rc);
		goto out;
	}
	if (why) { /* a stale lock of another run was taken over */
		fprintf(stderr, "drover: %s\n", why);
		notes = dr_xrealloc(notes, (nnotes + 1) * sizeof(char *));
		notes[nnotes++] = dr_xasprintf("take-stale-lock: %s", why);
	}
	if (dr_cmd_load_plan(dc.run.plan_path ? dc.run.plan_path : rs.plan_file,
	                     &plan) != 0)
		goto out;
	if (strcmp(plan->sha256, rs.plan_sha256) != 0) {
		if (!dc.plan_changed) {
			fprintf(stderr,
			        "drover: %s changed since the run started "
			        "(sha256 %.12s... then, %.12s... now). Review "
			        "what would run with drover show, then resume "
			        "with --plan-changed\n",
			        rs.plan_file, rs.plan_sha256, plan->sha256);
			goto out;
		}
		notes = dr_xrealloc(notes, (nnotes + 1) * sizeof(char *));
		notes[nnotes++] = dr_xasprintf("plan-changed: sha256 %s -> %s",
		                               rs.plan_sha256, plan->sha256);
	}
	/* The hosts a provision step created, pinned in the run's own
	 * known_hosts before anything connects. */
	kh = dr_xasprintf("%s/known_hosts", run_dir);
	free(why);
	why = NULL;
	if (dr_resume_provide(plan, &rs, kh, &why) != 0) {
		fprintf(stderr, "drover: cannot resume %s: %s\n", rs.run_id,
		        why);
		goto out;
	}
	if (dr_resume_expand(plan, &rs, &diags, &g) != 0) {
		dr_diag_print(&diags, stderr);
		goto out;
	}
	/* Stopped before its provision step reported the hosts: the first
	 * stage again, then the rest. */
	staged = g->ndeferred > 0;
	if (staged)
		dr_graph_before_provision(g);
	if ((rc = dr_cmd_preflight(g)) != 0)
		goto out;
	rc = DR_EXIT_FAIL;
	for (i = 0; i < dc.ndone; i++)
		if (!in_graph(g, dc.done[i])) {
			fprintf(stderr,
			        "drover: --assume-done %s: no such task "
			        "(drover status RUN lists them)\n",
			        dc.done[i]);
			rc = DR_EXIT_USAGE;
			goto out;
		}
	for (i = 0; i < dc.nrerun; i++)
		if (!in_graph(g, dc.rerun[i])) {
			fprintf(stderr, "drover: --rerun %s: no such task\n",
			        dc.rerun[i]);
			rc = DR_EXIT_USAGE;
			goto out;
		}
	if (cut_torn(run_dir, &jseq, "journal") != 0 ||
	    cut_torn(run_dir, &aseq, "audit") != 0)
		goto out;
	if (ro->ha == NULL && held == NULL) {
		if ((rc = lead_resume(plan, &rs, run_dir, dc.run.etcd,
		                      &own_ha)) != 0)
			goto out;
		rc = DR_EXIT_FAIL;
		ro->ha = own_ha;
	}

	/* Decisions given now are journaled and audited before anything
	 * else, so that a resume refused for another task still remembers
	 * them. */
	audit_path = dr_xasprintf("%s/audit", run_dir);
	memset(head, '0', 64);
	head[64] = '\0';
	if (aseq > 0 &&
	    dr_audit_verify(audit_path, NULL, &naudit, head, &why) != 0) {
		fprintf(stderr, "drover: %s\n", why);
		goto out;
	}
	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		struct dr_rs_task *jt =
		    (struct dr_rs_task *)dr_rs_find(&rs, t->key);
		const char *d;
		char *detail;
		if (jt == NULL || !dr_resume_unknown(jt->state) ||
		    t->step->idempotent || t->step->readonly ||
		    (d = decision_for(&dc, t, jt)) == NULL)
			continue;
		if (jt->decision ==
		    (strcmp(d, "done") == 0 ? DR_RS_DONE : DR_RS_RERUN))
			continue; /* already on record */
		recs = dr_xrealloc(recs, (nrecs + 2) * sizeof(char *));
		recs[nrecs++] = dr_rs_decision_record(t->key, d);
		jt->decision =
		    strcmp(d, "done") == 0 ? DR_RS_DONE : DR_RS_RERUN;
		detail = dr_xasprintf(
		    "%s %s", strcmp(d, "done") == 0 ? "assume-done" : "rerun",
		    t->key);
		arecs = dr_xrealloc(arecs, (narecs + 1) * sizeof(char *));
		arecs[narecs] = dr_audit_record(head, "decision", detail);
		dr_audit_hash(arecs[narecs++], head);
		free(detail);
	}
	jpath = dr_xasprintf("%s/journal", run_dir);
	if (append_now(jpath, jseq + 1, recs, nrecs, ro->ha) != 0 ||
	    append_now(audit_path, aseq + 1, arecs, narecs, ro->ha) != 0)
		goto out;
	jseq += nrecs;
	aseq += narecs;

	presets = dr_xcalloc(g->ntasks + 1, sizeof(*presets));
	undecided = dr_resume_presets(g, &rs, presets, say_rerun, NULL);
	if (undecided) {
		fprintf(stderr,
		        "drover: %zu task%s may or may not have done %s work "
		        "(running when the controller stopped, or its outcome "
		        "was not seen) and %s not idempotent. Check on the "
		        "host, then decide for each:\n",
		        undecided, undecided == 1 ? "" : "s",
		        undecided == 1 ? "its" : "their",
		        undecided == 1 ? "is" : "are");
		for (i = 0; i < g->ntasks; i++)
			if (presets[i].state == DR_TS_INDETERMINATE)
				fprintf(stderr,
				        "  %s\n    --assume-done %s   or   "
				        "--rerun %s\n",
				        g->tasks[i].key, g->tasks[i].key,
				        g->tasks[i].key);
		fprintf(stderr,
		        "  (or --rerun-indeterminate for all of "
		        "them); nothing was run%s\n",
		        nrecs ? "; the decisions given were recorded" : "");
		rc = DR_EXIT_PAUSED;
		goto out;
	}
	if (!held && (rc = dr_cmd_confirm(g, dc.run.yes, "resume",
	                                  "Resuming acts on real hosts.")) != 0)
		goto out;
	ro->graph = g;
	ro->mode = rs.mode;
	ro->run_id = rs.run_id;
	ro->state_dir = sdir;
	ro->lock = lock;
	ro->resume = true;
	ro->continuing = held != NULL;
	ro->first_start_ms = rs.start_ms;
	ro->incident_ms = rs.incident_ms ? rs.incident_ms : rs.start_ms;
	ro->clean_before_ms = rs.clean_before_ms;
	ro->verdicts = rs.verdicts;
	ro->journal_next_seq = jseq + 1;
	ro->audit_next_seq = aseq + 1;
	ro->audit_prev = head;
	ro->presets = presets;
	ro->audit_notes = (const char *const *)notes;
	ro->naudit_notes = nnotes;
	ro->only = (const char *const *)rs.only;
	ro->nonly = rs.nonly;
	ro->auto_approve = ro->auto_approve || rs.auto_approve;
	ro->command_line = cmdline;
	if (staged) {
		struct dr_lock *kept = NULL;
		int end;
		ro->stage_provision = true;
		ro->keep_lock = &kept;
		end = dr_run_execute(ro);
		lock = NULL; /* released by the run, or kept */
		if (end == DR_END_PROVISIONED) {
			rc = dr_cmd_continue(rs.run_id, kept, &dc.run, cmdline);
		} else {
			rc = dr_cmd_exit_status(end);
			dr_cmd_next_steps(sdir, rs.run_id, rs.to, rc);
		}
		goto out;
	}
	rc = dr_cmd_exit_status(dr_run_execute(ro));
	lock = NULL; /* released by the run */
	dr_cmd_next_steps(sdir, rs.run_id, rs.to, rc);
out:
	if (own_ha && dr_ha_token(own_ha) != 0) { /* it did not run */
		uv_loop_t loop;
		uv_loop_init(&loop);
		dr_ha_release(own_ha, &loop);
		uv_run(&loop, UV_RUN_DEFAULT);
		uv_loop_close(&loop);
	}
	dr_ha_free(own_ha);
	dr_lock_release(lock);
	for (i = 0; i < nnotes; i++)
		free(notes[i]);
	free(notes);
	for (i = 0; i < nrecs; i++)
		free(recs[i]);
	free(recs);
	for (i = 0; i < narecs; i++)
		free(arecs[i]);
	free(arecs);
	free(presets);
	free(audit_path);
	free(jpath);
	dr_graph_free(g);
	dr_plan_free(plan);
	dr_diag_clear(&diags);
	if (loaded)
		dr_rs_run_free(&rs);
	free(why);
	free(kh);
	free(run_dir);
	free(rid);
	free(sdir);
	free(cmdline);
	return rc;
}
