/*
 * run.c: one execution of an expanded plan (failover, drill, resume).
 *
 * Order of things: lock the target site, resolve secrets, open the journal
 * and the audit chain, then run the scheduler and executors on one loop.
 * Every task state change is appended to the journal; the scheduler waits
 * for a task's intent to be durable before it starts it, and for its outcome
 * before its dependents start (group commit: one fdatasync per loop turn).
 * The board (board.c) prints one line per change, or on a terminal the live
 * board (live.c) redraws one frame in place; gates and pauses ask the
 * operator on the terminal (prompt.c), and the live board holds its frames
 * while they do. At the end: the finish record, the
 * summary against RTOs, the reports, the lock released, the loop closed.
 */
#include "drover/run.h"

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <jansson.h>
#include <uv.h>

#include "drover/audit.h"
#include "drover/board.h"
#include "drover/common.h"
#include "drover/exec.h"
#include "drover/ha.h"
#include "drover/journal.h"
#include "drover/live.h"
#include "drover/lock.h"
#include "drover/metrics.h"
#include "drover/probe.h"
#include "drover/prompt.h"
#include "drover/provisioner.h"
#include "drover/report.h"
#include "drover/records.h"
#include "drover/scan.h"
#include "drover/ssh.h"
#include "drover/team.h"

struct run {
	uint64_t compromise_ms; /* restore points (scan.h), at the end */
	uv_loop_t loop;
	const struct dr_graph *g;
	struct dr_sched *sched;
	struct dr_exec *ex;
	uv_signal_t sigint, sigterm, sighup;
	uv_prepare_t flush; /* the board's lines, once per loop turn */
	bool has_cleanup;   /* the graph has cleanup steps (drills) */
	size_t faults;      /* writes of logs, reports, metrics that failed */
	int interrupts;
	bool json;
	FILE *board;          /* stdout, or stderr with --json */
	struct dr_live *live; /* the board redrawn in place; NULL: lines */
	char *run_id;
	char *run_dir;
	bool interactive;
	struct dr_prompts prompts; /* gates and pauses, on the terminal */
	struct dr_team *team;      /* the control socket, notifications */
	uint64_t end_wall_ms;
	/* Durability. */
	struct dr_journal *journal;
	struct dr_journal *audit;
	char audit_prev[65];
	struct rec **last_rec; /* per task: its latest journal record */
	bool journal_warned;
	const struct dr_secret_value *secrets;
	size_t nsecrets;
	const char *final_state;
	uint64_t start_wall_ms;    /* RTOs are measured from here */
	uint64_t jrecords, jsyncs; /* journal counters at the end */
	const char *metrics_path;
	const char *state_dir;
	bool stage_provision; /* the first stage: up to the provision step */
	struct dr_ha *ha;     /* HA over etcd, or NULL */
	bool ha_said;         /* the lost leadership was said */
	char token[32];       /* the fencing token, or "" */
	bool ha_stats;        /* print the HA counters at the end (tests) */
	const char *attestation;
};

/* A task record waiting to become durable. */
struct rec {
	struct run *rn;
	size_t id;
	bool barrier; /* the scheduler waits for it */
};

/* Something is printed on the terminal: not over the live board. */
static void
aside(struct run *rn)
{
	if (rn->live && (rn->board == stderr || isatty(STDERR_FILENO)))
		dr_live_detach(rn->live);
}

static void
journal_warn(struct run *rn)
{
	const char *msg = NULL;

	if (rn->journal_warned)
		return;
	rn->journal_warned = true;
	dr_journal_failed(rn->journal, &msg);
	aside(rn);
	fprintf(stderr, "drover: %s\n",
	        msg ? msg : "the journal could not be written; stopping");
}

static void
rec_synced(int status, uint64_t seq, void *arg)
{
	struct rec *r = arg;
	struct run *rn = r->rn;

	(void)seq;
	if (rn->last_rec[r->id] == r)
		rn->last_rec[r->id] = NULL;
	if (status != 0)
		journal_warn(rn);
	if (r->barrier && status == 0 && rn->ha) {
		/* Fencing: no task starts past the lease deadline. */
		const char *why;
		if (!dr_ha_may_start(rn->ha, &why))
			status = DR_EIO;
	}
	if (r->barrier)
		dr_sched_durable(rn->sched, r->id, status);
	free(r);
}

/* Appends one task record; remembers it for a barrier. */
static void
journal_task(struct run *rn, const struct dr_task *t,
             const struct dr_task_run *tr)
{
	char *payload;
	struct rec *r;

	if (rn->journal == NULL) /* benchmarks only: DROVER_NO_JOURNAL */
		return;
	payload = dr_rs_task_record(t, tr, rn->secrets, rn->nsecrets);
	r = dr_xcalloc(1, sizeof(*r));

	r->rn = rn;
	r->id = t->id;
	if (dr_journal_append(rn->journal, payload, strlen(payload), rec_synced,
	                      r) != 0) {
		free(r);
		r = NULL;
		journal_warn(rn);
	}
	rn->last_rec[t->id] = r;
	free(payload);
}

static void
on_barrier(void *arg, struct dr_sched *s, const struct dr_task *t)
{
	struct run *rn = arg;
	struct rec *r = rn->last_rec[t->id];

	if (r == NULL) {
		dr_sched_durable(s, t->id, DR_EIO); /* the append failed */
		return;
	}
	r->barrier = true;
}

/* Appends an audit record chained to the one before it. */
static void
audit(struct run *rn, const char *event, const char *detail)
{
	char *payload;

	if (rn->audit == NULL)
		return;
	payload = dr_audit_record_fenced(rn->audit_prev, event, detail,
	                                 dr_ha_token(rn->ha));
	dr_audit_hash(payload, rn->audit_prev);
	if (dr_journal_append(rn->audit, payload, strlen(payload), NULL,
	                      NULL) != 0)
		fprintf(stderr, "drover: audit: cannot record %s\n", event);
	free(payload);
}

/* An audit record for a decision a person made (team.h). */
static void
audit_by(void *arg, const char *event, const char *detail, const char *user,
         unsigned long uid, const char *comment)
{
	struct run *rn = arg;
	char *payload;

	if (rn->audit == NULL)
		return;
	if (user == NULL) { /* the run's own decision (a gate's timeout) */
		payload = dr_audit_record(rn->audit_prev, event, detail);
	} else {
		payload = dr_audit_record_by(rn->audit_prev, event, detail,
		                             user, uid, comment);
	}
	dr_audit_hash(payload, rn->audit_prev);
	if (dr_journal_append(rn->audit, payload, strlen(payload), NULL,
	                      NULL) != 0)
		fprintf(stderr, "drover: audit: cannot record %s\n", event);
	free(payload);
}

/* Milliseconds since the scheduler started the run; 0 before. */
static uint64_t
since_start(const struct run *rn)
{
	return rn->sched && dr_sched_start_mono_ms(rn->sched)
	           ? dr_now_mono_ms() - dr_sched_start_mono_ms(rn->sched)
	           : 0;
}

/* The live board's clock. */
static uint64_t
live_now(void *arg)
{
	return since_start(arg);
}

static void
on_change(void *arg, const struct dr_task *t, const struct dr_task_run *r,
          enum dr_task_state old)
{
	struct run *rn = arg;
	uint64_t since = since_start(rn);

	if (rn->json)
		dr_board_json(rn->run_id, t, r, since);
	if (rn->live)
		dr_live_change(rn->live, t, r);
	if (r->state == DR_TS_PENDING)
		return;
	journal_task(rn, t, r);
	dr_team_change(rn->team, t, r, old, since);
	if (t->step->action == DR_ACT_APPROVE && r->state == DR_TS_SUCCEEDED &&
	    r->message && strstr(r->message, "--auto-approve"))
		audit(rn, "auto-approve", t->key);
	if (rn->live == NULL)
		dr_board_task(rn->board, t, r, old, since);
}

/* The prompts' audit hook. */
static void
audit_answer(void *arg, const char *event, const char *detail)
{
	audit(arg, event, detail);
}

static void
on_gate(void *arg, struct dr_exec *ex, const struct dr_task *t)
{
	struct run *rn = arg;

	(void)ex;
	if (rn->live) /* no frame over the question */
		dr_live_wait(rn->live, t, NULL);
	dr_team_gate(rn->team, t->id);
}

/* The terminal's answer to a gate: the team decides (four eyes). */
static void
tty_gate_answer(void *arg, size_t task, bool yes)
{
	struct run *rn = arg;

	dr_team_tty_answer(rn->team, task, yes);
}

/* Something for the operator on the board (never fatal). */
static void
team_warn(void *arg, const char *msg)
{
	struct run *rn = arg;

	aside(rn);
	fprintf(stderr, "drover: %s\n", msg);
	fflush(stderr);
}

/* drover abort: the first Ctrl-C's clean stop. */
static void
team_interrupt(void *arg, const char *why)
{
	struct run *rn = arg;

	aside(rn);
	if (++rn->interrupts > 1)
		return;
	fprintf(stderr,
	        "\ndrover: %s: starting nothing new, cancelling running "
	        "tasks%s\n",
	        why,
	        rn->has_cleanup ? "; the drill's cleanup steps still run" : "");
	fflush(stderr);
	dr_sched_interrupt(rn->sched);
}

/* A write of the run's records failed: the run must not end "ok". */
static void
on_fault(void *arg, const struct dr_task *t, const char *msg)
{
	struct run *rn = arg;

	rn->faults++;
	aside(rn);
	fprintf(stderr, "drover: %s: %s\n", t ? t->key : "run", msg);
}

/* A restore point judged (scan.h): journaled at once, and audited when
 * infected. */
static void
on_journal_note(void *arg, const struct dr_task *t, const char *record)
{
	struct run *rn = arg;

	if (rn->journal && dr_journal_append(rn->journal, record,
	                                     strlen(record), NULL, NULL) != 0)
		journal_warn(rn);
	if (strstr(record, "\"verdict\":\"infected\"")) {
		char *d = dr_xasprintf("%s: %s", t->key, record);
		audit(rn, "infected", d);
		free(d);
	}
}

/*
 * The provision step reported its hosts: they are journaled (before the
 * step's own success record, so a resume finds them) and each pin is an
 * audit record; nothing has connected to them yet.
 */
static int
on_provisioned(void *arg, const struct dr_task *t,
               const struct dr_inventory *inv, char **why)
{
	struct run *rn = arg;
	const struct dr_graph *g = rn->g;
	char *p;
	size_t i;
	int r = 0;

	if (rn->journal) {
		p = dr_rs_inventory_record(g->to->name, t->key, inv);
		r = dr_journal_append(rn->journal, p, strlen(p), NULL, NULL);
		free(p);
		if (r != 0) {
			journal_warn(rn);
			*why = dr_xstrdup("the journal cannot record them");
			return r;
		}
	}
	if (rn->live)
		dr_live_detach(rn->live);
	for (i = 0; i < inv->nhosts; i++) {
		const struct dr_inv_host *h = &inv->hosts[i];
		int port = h->port ? h->port : g->plan->defaults.port;
		char *d = dr_xasprintf(
		    "host %s/%s address %s:%d key %s provisioner %s (%s)",
		    g->to->name, h->name, h->address, port, h->fingerprint,
		    t->key,
		    t->step->provision.reported_keys
		        ? "key reported by the provisioner"
		        : "key generated by drover");
		audit(rn, "pin", d);
		fprintf(rn->board, "  pin %s\n", d);
		free(d);
	}
	fflush(rn->board);
	return 0;
}

/* How a task stopped early ended in the background. */
static void
on_note(void *arg, const struct dr_task *t, const char *msg)
{
	struct run *rn = arg;

	if (rn->live)
		dr_live_note(rn->live, t, msg);
	else
		dr_board_note(rn->board, t, msg, since_start(rn));
	if (rn->team) {
		char *l = dr_xasprintf("  %s: %s", t->key, msg);
		dr_team_line(rn->team, l);
		free(l);
	}
}

static void
on_pause(void *arg, const struct dr_task *t, const struct dr_task_run *r)
{
	struct run *rn = arg;

	if (!rn->interactive && r->unknown) {
		/* Nobody is asked now: resume decides (exit 3). */
		dr_sched_answer_pause(rn->sched, t->id, DR_PAUSE_LATER);
		return;
	}
	if (rn->live)
		dr_live_wait(rn->live, t, r);
	dr_team_pause(rn->team, t->id);
}

static void
handle_closed(uv_handle_t *h)
{
	(void)h;
}

/*
 * Before the loop blocks: what the board printed this turn goes out in
 * one write, not one per line (stdout to a file or a pipe is buffered).
 */
static void
on_flush(uv_prepare_t *h)
{
	struct run *rn = h->data;

	fflush(rn->board);
	if (rn->board != stdout)
		fflush(stdout);
}

static void
exec_closed(void *arg)
{
	struct run *rn = arg;

	rn->ex = NULL;
}

static void
on_end(void *arg, struct dr_sched *s)
{
	struct run *rn = arg;

	rn->end_wall_ms = dr_now_wall_ms();
	uv_close((uv_handle_t *)&rn->sigint, handle_closed);
	uv_close((uv_handle_t *)&rn->sigterm, handle_closed);
	uv_close((uv_handle_t *)&rn->sighup, handle_closed);
	uv_close((uv_handle_t *)&rn->flush, handle_closed);
	on_flush(&rn->flush);
	dr_prompts_close(&rn->prompts);
	dr_live_close(rn->live); /* the final frame; the summary follows */
	rn->live = NULL;
	{
		enum dr_run_result res = dr_sched_result(s);
		char *fin;
		rn->final_state = res == DR_RUN_SUCCEEDED ? "succeeded"
		                  : res == DR_RUN_FAILED  ? "failed"
		                                          : "interrupted";
		if (rn->stage_provision && res == DR_RUN_SUCCEEDED) {
			/* Not the end: the site's tasks follow. */
			rn->final_state = "provisioned";
			audit(rn, "provisioned", rn->g->to->name);
		} else {
			audit(rn, "end", rn->final_state);
			fin = dr_rs_finish_record(rn->final_state,
			                          rn->audit_prev);
			if (rn->journal &&
			    dr_journal_append(rn->journal, fin, strlen(fin),
			                      NULL, NULL) != 0)
				journal_warn(rn);
			free(fin);
		}
	}
	dr_team_end(rn->team, rn->final_state);
	rn->team = NULL;
	if (rn->journal)
		dr_journal_stats(rn->journal, &rn->jrecords, &rn->jsyncs);
	dr_journal_close(rn->journal, NULL, NULL);
	dr_journal_close(rn->audit, NULL, NULL);
	rn->journal = rn->audit = NULL;
	rn->compromise_ms = dr_exec_compromise_ms(rn->ex);
	dr_exec_close(rn->ex, exec_closed, rn);
}

static void
on_signal(uv_signal_t *h, int signum)
{
	struct run *rn = h->data;
	const struct dr_graph *g = rn->g;
	size_t i, left = 0;

	aside(rn);
	if (++rn->interrupts == 1) {
		fprintf(stderr,
		        "\ndrover: %s: starting nothing new, cancelling "
		        "running tasks%s (again to stop at once)\n",
		        signum == SIGINT   ? "interrupt"
		        : signum == SIGHUP ? "hangup (terminal closed)"
		                           : "terminate",
		        rn->has_cleanup
		            ? "; the drill's cleanup steps still run"
		            : "");
		fflush(stderr);
		audit(rn, "signal",
		      signum == SIGINT   ? "SIGINT: interrupted by the operator"
		      : signum == SIGHUP ? "SIGHUP: the terminal closed"
		                         : "SIGTERM: asked to stop");
		dr_sched_interrupt(rn->sched);
		return;
	}
	fprintf(stderr, "\ndrover: stopping now; remote commands may still "
	                "run, see the run's logs\n");
	for (i = 0; i < g->ntasks; i++) {
		enum dr_task_state st = dr_sched_task(rn->sched, i)->state;
		if (!g->tasks[i].cleanup || st == DR_TS_SUCCEEDED ||
		    st == DR_TS_SKIPPED)
			continue;
		if (left++ == 0)
			fprintf(stderr, "drover: cleanup not done:\n");
		fprintf(stderr, "  %s (%s)\n", g->tasks[i].key,
		        dr_task_state_name(st));
	}
	if (left)
		fprintf(stderr,
		        "drover: drover resume %s runs %s; until then the "
		        "drill site is not as it was found\n",
		        rn->run_id, left == 1 ? "it" : "them");
	fflush(NULL);
	_exit(DR_RUN_END_EXIT_AT_ONCE);
}

/* HA: the check again just before a command goes out (exec.h). */
static bool
ha_fence(void *arg, const char **why)
{
	struct run *rn = arg;

	return rn->ha == NULL || dr_ha_may_start(rn->ha, why);
}

/* HA: this controller lost the leadership: nothing more starts. */
static void
on_ha_lost(void *arg, const char *why)
{
	struct run *rn = arg;

	aside(rn);
	if (!rn->ha_said)
		fprintf(stderr,
		        "\ndrover: %s; starting no task, cancelling "
		        "the running ones\n",
		        why);
	rn->ha_said = true;
	fflush(stderr);
	if (rn->sched && rn->final_state == NULL)
		dr_sched_interrupt(rn->sched);
}

char *
dr_run_command_line(int argc, char **argv)
{
	struct dr_buf b;
	int i;

	dr_buf_init(&b, 0);
	dr_buf_puts(&b, "drover");
	for (i = 0; i < argc; i++)
		dr_buf_printf(&b, " %s", argv[i]);
	return dr_buf_steal(&b);
}

/* After each report file: a fault if it failed; the HTML's path. */
static void
report_written(void *arg, const char *path, int err)
{
	struct run *rn = arg;
	size_t n = strlen(path);

	if (err != 0) {
		char *m =
		    dr_xasprintf("cannot write %s: %s", path, strerror(err));
		on_fault(rn, NULL, m);
		free(m);
	} else if (n > 5 && strcmp(path + n - 5, ".html") == 0) {
		fprintf(rn->board, "\nreport: %s\n", path);
	}
}

/* The reports in the run directory and the metrics file. */
static void
write_reports(struct run *rn, const struct dr_graph *g,
              const struct dr_run_info *info)
{
	const struct dr_task_run *runs = dr_sched_runs(rn->sched);
	json_t *report = dr_report_head(g, runs, info);
	json_t *prev = dr_report_previous(rn->state_dir, g->plan->name,
	                                  info->mode, rn->run_id);

	if (prev) /* drills compare with the one before */
		json_object_set_new(report, "previous", prev);
	if (rn->attestation)
		json_object_set_new(report, "attestation",
		                    json_string(rn->attestation));
	if (rn->token[0])
		json_object_set_new(report, "fencing_token",
		                    json_string(rn->token));
	dr_report_write_run(report, g, runs, rn->run_dir, report_written, rn);
	if (rn->metrics_path) {
		const char **states =
		    dr_xcalloc(g->ntasks + 1, sizeof(*states));
		size_t i;
		for (i = 0; i < g->ntasks; i++)
			states[i] = dr_task_state_name(runs[i].state);
		if (dr_metrics_write_states(report, states, g->ntasks,
		                            rn->metrics_path) != 0) {
			char *m =
			    dr_xasprintf("cannot write the metrics file %s: %s",
			                 rn->metrics_path, strerror(errno));
			on_fault(rn, NULL, m);
			free(m);
		}
		free(states);
	}
	json_decref(report);
}

static int
open_journals(struct run *rn, const struct dr_run_opts *o)
{
	char *jp = dr_xasprintf("%s/journal", rn->run_dir);
	char *ap = dr_xasprintf("%s/audit", rn->run_dir);
	int r;

	r = dr_journal_open(&rn->loop, jp, o->resume ? o->journal_next_seq : 1,
	                    &rn->journal);
	if (r == 0) {
		r = dr_journal_open(&rn->loop, ap,
		                    o->resume ? o->audit_next_seq : 1,
		                    &rn->audit);
		if (r != 0) {
			dr_journal_close(rn->journal, NULL, NULL);
			rn->journal = NULL;
		}
	}
	if (r != 0)
		fprintf(stderr, "drover: cannot open the journal in %s: %s\n",
		        rn->run_dir, dr_strerror(r));
	free(jp);
	free(ap);
	return r;
}

static void
first_records(struct run *rn, const struct dr_run_opts *o)
{
	const struct dr_graph *g = o->graph;
	char *p, *d;
	size_t i;

	if (!o->resume) {
		p = dr_rs_run_record(g, o->run_id, o->mode, o->only, o->nonly,
		                     o->auto_approve, o->command_line,
		                     o->incident_ms);
		dr_journal_append(rn->journal, p, strlen(p), NULL, NULL);
		free(p);
		if (o->clean_before_ms) {
			p = dr_scan_clean_before_record(o->clean_before_ms);
			dr_journal_append(rn->journal, p, strlen(p), NULL,
			                  NULL);
			free(p);
		}
		d = dr_xasprintf("%s %s from %s to %s, plan %s sha256 %s%s",
		                 o->mode, o->run_id, dr_graph_from_names(g),
		                 g->to->name, g->plan->path, g->plan->sha256,
		                 o->auto_approve ? ", gates auto-approved"
		                                 : "");
		audit(rn, "start", d);
		free(d);
		d = dr_xasprintf("command: %s",
		                 o->command_line ? o->command_line : "?");
		audit(rn, "command", d);
		free(d);
	} else {
		p = dr_rs_resume_record(o->command_line, g->ntasks);
		dr_journal_append(rn->journal, p, strlen(p), NULL, NULL);
		free(p);
		d = dr_xasprintf("command: %s",
		                 o->command_line ? o->command_line : "?");
		/* After the provision step, the same command goes on. */
		audit(rn, o->continuing ? "continue" : "resume", d);
		free(d);
	}
	for (i = 0; i < o->naudit_notes; i++)
		audit(rn, "override", o->audit_notes[i]);
}

/*
 * HA: takes the leadership of the run (a standby that took it over holds
 * it already) and keeps its lease alive from this loop. Before the
 * journals open: nothing is appended before the leadership is ours.
 */
static int
ha_begin(struct run *rn, const struct dr_run_opts *o)
{
	char *why = NULL;
	int r = 0;

	if (dr_ha_token(rn->ha) == 0)
		r = dr_ha_lead(rn->ha, &rn->loop, o->run_id,
		               o->graph->plan->sha256, &why);
	if (r == 0)
		r = dr_ha_attach(rn->ha, &rn->loop, on_ha_lost, rn, &why);
	if (r != 0) {
		if (r == DR_ELOCKED)
			fprintf(stderr, "drover: %s; nothing was started\n",
			        why ? why : dr_strerror(r));
		else
			fprintf(stderr,
			        "drover: cannot lead run %s on etcd (%s); "
			        "nothing was started\n",
			        o->run_id, why ? why : dr_strerror(r));
		free(why);
		dr_ha_release(rn->ha, &rn->loop);
		return r == DR_ELOCKED ? DR_END_LOCKED : DR_END_FAILED;
	}
	snprintf(rn->token, sizeof(rn->token), "%lld",
	         (long long)dr_ha_token(rn->ha));
	return DR_END_OK;
}

/* HA: the run key says how the run ended; the lease goes. */
static void
ha_finish(struct run *rn, enum dr_run_result res, bool journal_failed)
{
	int xs = journal_failed            ? 3
	         : res == DR_RUN_SUCCEEDED ? (rn->faults ? 1 : 0)
	         : res == DR_RUN_FAILED    ? 1
	                                   : 3;
	char *why = NULL;

	if (dr_ha_end(rn->ha, xs, &why) != 0) {
		fprintf(stderr, "drover: %s\n", why);
		rn->faults++;
	}
	free(why);
	uv_run(&rn->loop, UV_RUN_DEFAULT); /* the timers' close */
	if (rn->ha_stats) {
		struct dr_etcd_stats es;
		uint64_t txns, batches, retries;
		dr_ha_stats(rn->ha, &es, &txns, &batches, &retries);
		fprintf(stderr,
		        "ha: %llu replication txns for %llu group commits "
		        "(%llu retried); %llu keepalives\n",
		        (unsigned long long)txns, (unsigned long long)batches,
		        (unsigned long long)retries,
		        (unsigned long long)es.keepalive);
	}
}

int
dr_run_execute(const struct dr_run_opts *o)
{
	const struct dr_graph *g = o->graph;
	struct run rn;
	struct dr_secret_value *secrets = NULL;
	size_t nsecrets = 0, i;
	struct dr_exec_opts eo = {0};
	struct dr_executor exr;
	struct dr_sched_hooks hooks = {0};
	struct dr_run_info info = {0};
	struct dr_lock *lock = NULL;
	struct dr_guard *guard = NULL;
	char *log_dir = NULL, *why = NULL;
	char hostname[256] = "";
	struct passwd *pw;
	enum dr_run_result res;
	bool journal_failed = false;
	int rc, lc;
#ifdef DROVER_TEST_HOOKS /* benchmarks: the cost of the journal */
	bool no_journal = getenv("DROVER_NO_JOURNAL") != NULL;
#else
	const bool no_journal = false;
#endif

	memset(&rn, 0, sizeof(rn));
	rn.g = g;
	rn.json = o->json;
	rn.board = o->json ? stderr : stdout;
	rn.interactive = isatty(STDIN_FILENO);
	rn.run_id = (char *)o->run_id;
	rn.metrics_path = o->metrics_path;
	rn.state_dir = o->state_dir;
	rn.run_dir = dr_xasprintf("%s/runs/%s", o->state_dir, o->run_id);
	rn.stage_provision = o->stage_provision;
	memset(rn.audit_prev, '0', 64);
	if (o->audit_prev)
		snprintf(rn.audit_prev, sizeof(rn.audit_prev), "%s",
		         o->audit_prev);

	if (g->ndeferred > 0 && !o->stage_provision) {
		/* Tasks without hosts never run: the first stage drops them. */
		fprintf(stderr,
		        "drover: internal: %zu tasks wait for %s's "
		        "hosts; run up to its provision step first\n",
		        g->ndeferred, g->to->name);
		free(rn.run_dir);
		return DR_END_FAILED;
	}
	lock = o->lock;
	rc = lock ? 0
	          : dr_lock_acquire(o->state_dir, g->to->name, o->run_id,
	                            o->take_stale_lock, &lock, &why);
	if (rc != 0) {
		fprintf(stderr, "drover: %s\n", why ? why : dr_strerror(rc));
		free(why);
		free(rn.run_dir);
		return rc == DR_ELOCKED ? DR_END_LOCKED : DR_END_FAILED;
	}
	if (why) /* a stale lock was taken over: say so, audit it below */
		fprintf(stderr, "drover: %s\n", why);
	if (dr_secrets_resolve(g, &secrets, &nsecrets) != 0) {
		rc = DR_END_FAILED;
		goto out;
	}
	rn.secrets = secrets;
	rn.nsecrets = nsecrets;
	if (o->resume) {
		/* Private host keys of a provision step the controller did not
		 * see end are not left behind. */
		int n = dr_prov_scrub_leftovers(rn.run_dir);
		if (n < 0) {
			fprintf(stderr,
			        "drover: cannot remove the private host keys "
			        "left in %s/provision: %s\n",
			        rn.run_dir, strerror(errno));
			rc = DR_END_FAILED;
			goto out;
		}
		if (n > 0)
			fprintf(stderr,
			        "drover: removed %d private host key file%s "
			        "an interrupted provision step left\n",
			        n, n == 1 ? "" : "s");
	}
	log_dir = dr_xasprintf("%s/logs", rn.run_dir);
	if (dr_mkdirs(log_dir) != 0) {
		fprintf(stderr, "drover: cannot create %s: %s\n", log_dir,
		        strerror(errno));
		rc = DR_END_FAILED;
		goto out;
	}
	rn.last_rec = dr_xcalloc(g->ntasks + 1, sizeof(struct rec *));
	uv_loop_init(&rn.loop);
	rn.ha = o->ha;
	rn.attestation = o->attestation;
	if (rn.ha && (rc = ha_begin(&rn, o)) != DR_END_OK) {
		uv_run(&rn.loop, UV_RUN_DEFAULT);
		uv_loop_close(&rn.loop);
		goto out;
	}
	if (no_journal) {
		fprintf(stderr, "drover: DROVER_NO_JOURNAL is set: this run "
		                "cannot be resumed (benchmarks only)\n");
	} else if (open_journals(&rn, o) != 0) {
		dr_ha_release(rn.ha, &rn.loop);
		uv_run(&rn.loop, UV_RUN_DEFAULT);
		uv_loop_close(&rn.loop);
		rc = DR_END_FAILED;
		goto out;
	}
	if (rn.ha) { /* every group commit also in etcd, compared */
		dr_journal_set_replica(rn.journal, dr_ha_replicate, rn.ha);
		dr_journal_set_replica(rn.audit, dr_ha_replicate, rn.ha);
	}
	if (rn.journal)
		first_records(&rn, o);
	if (rn.ha) {
		char *d =
		    dr_xasprintf("leader on etcd, fencing token %s", rn.token);
		audit(&rn, "leader", d);
		free(d);
	}
	if (rn.attestation) {
		char *d = dr_xasprintf("no etcd quorum: single controller run "
		                       "attested: %s",
		                       rn.attestation);
		audit(&rn, "attest", d);
		free(d);
	}
	if (why)
		audit(&rn, "take-stale-lock", why);
	dr_ssh_global_init();

	eo.loop = &rn.loop;
	eo.graph = g;
	eo.log_dir = log_dir;
	eo.run_id = o->run_id;
	eo.auto_approve = o->auto_approve;
	eo.incident_ms = o->incident_ms ? o->incident_ms : dr_now_wall_ms();
	eo.secrets = secrets;
	eo.nsecrets = nsecrets;
	eo.gate = on_gate; /* the control socket, and the terminal if any */
	eo.note = on_note;
	eo.fault = on_fault;
	eo.hook_arg = &rn;
	eo.run_dir = rn.run_dir;
	eo.provisioned = on_provisioned;
	eo.clean_before_ms = o->clean_before_ms;
	eo.verdict_records = o->verdicts;
	eo.journal_note = on_journal_note;
	eo.fencing_token = rn.token[0] ? rn.token : NULL;
	eo.fence = rn.ha ? ha_fence : NULL;
	if (g->mode == DR_MODE_DRILL)
		eo.guard = guard = dr_guard_production(g->plan);
	if (dr_exec_new(&eo, &rn.ex) != 0) {
		dr_journal_close(rn.journal, NULL, NULL);
		dr_journal_close(rn.audit, NULL, NULL);
		dr_ha_release(rn.ha, &rn.loop);
		uv_run(&rn.loop, UV_RUN_DEFAULT);
		uv_loop_close(&rn.loop);
		rc = DR_END_FAILED;
		goto out;
	}
	dr_exec_executor(rn.ex, &exr);
	hooks.on_change = on_change;
	hooks.on_pause = on_pause;
	hooks.barrier = no_journal ? NULL : on_barrier;
	hooks.on_end = on_end;
	hooks.arg = &rn;
	dr_sched_new(&rn.loop, g, &exr, &hooks, &rn.sched);
	rn.prompts.loop = &rn.loop;
	rn.prompts.g = g;
	rn.prompts.sched = rn.sched;
	rn.prompts.ex = rn.ex;
	rn.prompts.audit = audit_answer;
	rn.prompts.gate_answer = tty_gate_answer;
	rn.prompts.arg = &rn;
	{
		struct dr_team_opts to = {0};
		to.loop = &rn.loop;
		to.g = g;
		to.sched = rn.sched;
		to.ex = rn.ex;
		to.prompts = rn.interactive ? &rn.prompts : NULL;
		to.run_id = o->run_id;
		to.run_dir = rn.run_dir;
		to.mode = o->mode;
		to.secrets = secrets;
		to.nsecrets = nsecrets;
		to.audit = audit_by;
		to.interrupt = team_interrupt;
		to.warn = team_warn;
		to.arg = &rn;
		dr_team_new(&to, &rn.team);
		dr_team_share(rn.run_dir);
	}
	for (i = 0; o->presets && i < g->ntasks; i++)
		if (o->presets[i].state != DR_TS_PENDING)
			dr_sched_preset(rn.sched, i, &o->presets[i]);
	if (dr_board_mode(rn.board, rn.json) == DR_BOARD_LIVE) {
		/* After the presets: a resumed run's ended tasks count. */
		struct dr_live_opts lo = {0};
		uint64_t wall = dr_now_wall_ms();
		lo.out = rn.board;
		lo.g = g;
		lo.runs = dr_sched_runs(rn.sched);
		lo.now = live_now;
		lo.arg = &rn;
		lo.rto_offset_ms = o->first_start_ms && wall > o->first_start_ms
		                       ? wall - o->first_start_ms
		                       : 0;
		dr_live_new(&lo, &rn.live);
	}
	/* INT, TERM and HUP (a closed terminal) all cancel cleanly, are
	 * journaled and end the run resumable (exit 3). */
	uv_signal_init(&rn.loop, &rn.sigint);
	uv_signal_init(&rn.loop, &rn.sigterm);
	uv_signal_init(&rn.loop, &rn.sighup);
	rn.sigint.data = rn.sigterm.data = rn.sighup.data = &rn;
	uv_signal_start(&rn.sigint, on_signal, SIGINT);
	uv_signal_start(&rn.sigterm, on_signal, SIGTERM);
	uv_signal_start(&rn.sighup, on_signal, SIGHUP);
	uv_prepare_init(&rn.loop, &rn.flush);
	rn.flush.data = &rn;
	uv_prepare_start(&rn.flush, on_flush);
	uv_unref((uv_handle_t *)&rn.flush); /* it keeps nothing alive */
	for (i = 0; i < g->ntasks; i++)
		rn.has_cleanup = rn.has_cleanup || g->tasks[i].cleanup;
	signal(SIGPIPE, SIG_IGN);

	fprintf(rn.board,
	        "run %s: %s%s from %s to %s, %zu tasks%s\nstate: %s\n\n",
	        o->run_id,
	        o->continuing ? "continuing "
	        : o->resume   ? "resuming "
	                      : "",
	        o->mode, dr_graph_from_names(g), g->to->name, g->ntasks,
	        o->stage_provision ? " before the provisioned site's own" : "",
	        rn.run_dir);
	if (rn.ha)
		fprintf(rn.board,
		        "leader: this controller leads the run on etcd "
		        "(fencing token %s)\n\n",
		        rn.token);
	if (rn.attestation)
		fprintf(rn.board,
		        "no etcd quorum: single controller run, attested: "
		        "%s\n\n",
		        rn.attestation);
	fflush(rn.board);
	dr_sched_start(rn.sched);
	if (rn.live)
		dr_live_start(rn.live, &rn.loop);
	rn.start_wall_ms = o->first_start_ms ? o->first_start_ms
	                                     : dr_sched_start_wall_ms(rn.sched);
	uv_run(&rn.loop, UV_RUN_DEFAULT);
	if (rn.live) { /* on_end closes it; the loop ended without it */
		dr_live_close(rn.live);
		rn.live = NULL;
	}

	res = dr_sched_result(rn.sched);
	if (rn.stage_provision && res == DR_RUN_SUCCEEDED) {
		/* The run goes on as a resume would, with the hosts from the
		 * journal: no summary or report yet, and the lock is kept. */
		journal_failed =
		    dr_sched_journal_failed(rn.sched) || rn.journal_warned;
		dr_sched_free(rn.sched);
		uv_run(&rn.loop, UV_RUN_DEFAULT);
		dr_probe_global_cleanup(&rn.loop);
		uv_run(&rn.loop, UV_RUN_DEFAULT);
		lc = uv_loop_close(&rn.loop);
		dr_ssh_global_cleanup();
		if (lc != 0 || rn.faults > 0 || journal_failed) {
			fprintf(stderr,
			        "drover: the first stage did not end "
			        "cleanly; resume with drover resume %s\n",
			        o->run_id);
			rc = DR_END_RESUMABLE;
		} else {
			fprintf(rn.board,
			        "\n%s is provisioned: expanding its "
			        "tasks\n\n",
			        g->to->name);
			*o->keep_lock = lock;
			lock = NULL;
			rc = DR_END_PROVISIONED;
		}
		goto out;
	}
#ifdef DROVER_TEST_HOOKS
	if (getenv("DROVER_JOURNAL_STATS"))
		fprintf(stderr, "journal: %llu records, %llu syncs\n",
		        (unsigned long long)rn.jrecords,
		        (unsigned long long)rn.jsyncs);
	if (getenv("DROVER_JOURNAL_STATS") && rn.ha) {
		/* After ha_finish: the last group commits are counted. */
		rn.ha_stats = true;
	}
#endif
	dr_board_summary(rn.board, g, dr_sched_runs(rn.sched), o->run_id, res,
	                 rn.start_wall_ms, rn.end_wall_ms, eo.incident_ms);
	gethostname(hostname, sizeof(hostname) - 1);
	pw = getpwuid(geteuid());
	info.run_id = o->run_id;
	info.mode = o->mode;
	info.user = pw ? pw->pw_name : NULL;
	info.host = hostname;
	info.command_line = o->command_line;
	info.final_state = rn.final_state ? rn.final_state : "failed";
	info.incident_ms = eo.incident_ms;
	info.compromise_ms = rn.compromise_ms;
	info.start_wall_ms = rn.start_wall_ms;
	info.end_wall_ms = rn.end_wall_ms;
	write_reports(&rn, g, &info);
	dr_team_share(rn.run_dir);
	journal_failed = dr_sched_journal_failed(rn.sched) || rn.journal_warned;
	if (rn.ha && dr_ha_lost(rn.ha, NULL)) {
		const char *lw;
		dr_ha_lost(rn.ha, &lw);
		fprintf(stderr,
		        "drover: %s. This controller stopped: it ran no task "
		        "after that, and the controller that holds the "
		        "leadership now continues run %s\n",
		        lw, o->run_id);
	} else if (journal_failed)
		fprintf(stderr,
		        "drover: the journal failed during the run; "
		        "resume from what it holds (drover resume %s)\n",
		        o->run_id);
	dr_sched_free(rn.sched);
	uv_run(&rn.loop, UV_RUN_DEFAULT);
	dr_probe_global_cleanup(&rn.loop);
	uv_run(&rn.loop, UV_RUN_DEFAULT);
	if (rn.ha)
		ha_finish(&rn, res, journal_failed);
	lc = uv_loop_close(&rn.loop);
	if (lc != 0)
		fprintf(stderr, "drover: internal: loop closed with live "
		                "handles\n");
	dr_ssh_global_cleanup();
	rc = res == DR_RUN_SUCCEEDED ? DR_END_OK
	     : res == DR_RUN_FAILED  ? DR_END_FAILED
	                             : DR_END_RESUMABLE;
	if (lc != 0 && rc == DR_END_OK)
		rc = DR_END_FAILED;
	if (rn.faults > 0) {
		fprintf(stderr,
		        "drover: %zu write%s of the run's logs, reports or "
		        "metrics failed (see above): its records are "
		        "incomplete\n",
		        rn.faults, rn.faults == 1 ? "" : "s");
		if (rc == DR_END_OK)
			rc = DR_END_FAILED;
	}
	/* A journal that could not be written leaves the run resumable from
	 * what it holds: exit 3, as the README says. */
	if (journal_failed)
		rc = DR_END_RESUMABLE;
out:
	dr_guard_free(guard);
	dr_lock_release(lock);
	dr_secrets_free(secrets, nsecrets);
	free(rn.last_rec);
	free(log_dir);

	free(why);
	free(rn.run_dir);
	return rc;
}
