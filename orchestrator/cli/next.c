/*
 * next.c: what to do next, said when a run ends other than well: the
 * commands an operator types after exit 3 (resume, and the decision each
 * task of unknown outcome needs), exit 1 (which tasks failed, their logs,
 * the report, whether a resume retries them) and exit
 * 4 (who holds the site and how to reach them). On stderr: stdout may be
 * --json's.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/lock.h"
#include "drover/records.h"
#include "drover/runs.h"
#include "drover/sched.h"

#define FAILED_SHOWN 10

/* "  KEY  STATE: MESSAGE" for the first FAILED_SHOWN of them. */
static void
list_task(const struct dr_rs_task *t, size_t nth)
{
	if (nth <= FAILED_SHOWN)
		fprintf(stderr, "  %s  %s%s%s\n", t->key,
		        dr_task_state_name(t->state), t->message ? ": " : "",
		        t->message ? t->message : "");
}

static void
list_more(size_t n, const char *run_id)
{
	if (n > FAILED_SHOWN)
		fprintf(stderr, "  ... %zu more (drover status %s)\n",
		        n - FAILED_SHOWN, run_id);
}

/*
 * After exit 1 (a task failed) or exit 3 (interrupted, or a task whose
 * outcome is unknown): which tasks failed, which wait for the operator's
 * decision (indeterminate: the command may have run; a resume does
 * nothing until each is decided), and the commands for both.
 */
static void
after_run(const char *sdir, const char *run_id, int rc)
{
	char *dir = dr_runs_dir(sdir, run_id), *why = NULL;
	struct dr_rs_run rs;
	const char *first = NULL, *undecided = NULL;
	size_t i, nfailed = 0, nrefused = 0, nundecided = 0;
	int r = dr_rs_load(dir, &rs, &why);

	if (r == DR_ENOTFOUND) { /* it ended before its journal began */
		free(why);
		free(dir);
		return;
	}
	for (i = 0; i < rs.ntasks; i++) {
		const struct dr_rs_task *t = &rs.tasks[i];
		if (t->state != DR_TS_FAILED && t->state != DR_TS_REFUSED)
			continue;
		if (t->state == DR_TS_FAILED)
			nfailed++;
		else
			nrefused++;
		if (first == NULL)
			first = t->key;
		if (nfailed + nrefused == 1)
			fprintf(stderr, "\nwhat failed:\n");
		list_task(t, nfailed + nrefused);
	}
	list_more(nfailed + nrefused, run_id);
	for (i = 0; i < rs.ntasks; i++) {
		const struct dr_rs_task *t = &rs.tasks[i];
		if (t->state != DR_TS_INDETERMINATE)
			continue;
		if (++nundecided == 1) {
			undecided = t->key;
			fprintf(stderr,
			        "\noutcome unknown (the command may have run, "
			        "in part or in full; check on the host, then "
			        "decide):\n");
		}
		list_task(t, nundecided);
	}
	list_more(nundecided, run_id);
	fprintf(stderr, "\nnext:\n");
	if (first || undecided)
		fprintf(stderr, "  drover logs %s %s   # its output\n", run_id,
		        first ? first : undecided);
	if (rc == DR_EXIT_FAIL)
		fprintf(stderr, "  drover report %s   # the run's report\n",
		        run_id);
	fprintf(stderr, "  drover status %s   # %s\n", run_id,
	        rc == DR_EXIT_FAIL ? "every task's state" : "where it stopped");
	if (undecided) {
		fprintf(stderr,
		        "  drover resume %s --assume-done %s   # it did its "
		        "work: not run again\n"
		        "  drover resume %s --rerun %s   # run it again\n",
		        run_id, undecided, run_id, undecided);
		fprintf(stderr,
		        "  a resume starts nothing until %s decided "
		        "(--assume-done or --rerun for each, as many as "
		        "needed; --rerun-indeterminate for all)\n",
		        nundecided == 1 ? "it is" : "each of them is");
	}
	if (nfailed)
		fprintf(stderr,
		        "  drover resume %s   # once the cause is fixed: runs "
		        "the failed task%s again, and what waits on %s; add "
		        "--plan-changed if you edited the plan\n",
		        run_id, nfailed == 1 ? "" : "s",
		        nfailed == 1 ? "it" : "them");
	else if (!undecided && rc != DR_EXIT_FAIL)
		fprintf(stderr, "  drover resume %s   # continue it\n", run_id);
	if (nrefused)
		fprintf(stderr,
		        "  a refused task is not retried by resume: it would "
		        "reach what its site's role forbids; change the plan "
		        "and start a new run\n");
	if (r != 0 && why)
		fprintf(stderr, "  (journal: %s)\n", why);
	dr_rs_run_free(&rs);
	free(why);
	free(dir);
}

/* "run ID by USER@HOST pid PID since TIME": the holder's fields. */
static void
after_locked(const char *sdir, const char *to)
{
	char *holder = NULL, id[256] = "", who[256] = "", since[64] = "";
	long pid = 0;
	bool alive = false;
	const char *host;
	char *at;

	if (to == NULL || dr_lock_peek(sdir, to, &holder, &alive) != 0 ||
	    holder == NULL) {
		free(holder);
		return;
	}
	if (sscanf(holder, "run %255s by %255s pid %ld since %63s", id, who,
	           &pid, since) != 4) {
		fprintf(stderr, "\nsite %s is held by: %s\n", to, holder);
		free(holder);
		return;
	}
	at = strchr(who, '@');
	host = at ? at + 1 : "its host";
	if (at)
		who[at - who] = '\0';
	fprintf(stderr,
	        "\nsite %s is held by run %s, started by %s on %s since %s "
	        "(pid %ld)%s\n",
	        to, id, who, host, since, pid,
	        alive ? "" : ", which is no longer running");
	fprintf(stderr, "next:\n");
	fprintf(stderr, "  drover status %s   # what it is doing\n", id);
	if (alive) {
		fprintf(
		    stderr,
		    "  ask %s, on %s: the run's terminal answers its gates; "
		    "Ctrl-C there (or kill -INT %ld on %s) stops it, "
		    "resumable\n",
		    who, host, pid, host);
		fprintf(stderr,
		        "  drover resume %s   # then: go on from where it "
		        "stopped, rather than a new run\n",
		        id);
	} else {
		fprintf(stderr,
		        "  drover resume %s   # continue it\n"
		        "  or start anew with --take-stale-lock once you know "
		        "it is dead\n",
		        id);
	}
	free(holder);
}

void
dr_cmd_next_steps(const char *sdir, const char *run_id, const char *to, int rc)
{
	switch (rc) {
	case DR_EXIT_PAUSED:
	case DR_EXIT_FAIL:
		if (run_id)
			after_run(sdir, run_id, rc);
		break;
	case DR_EXIT_LOCKED:
		after_locked(sdir, to);
		break;
	default:
		break;
	}
	fflush(stderr);
}
