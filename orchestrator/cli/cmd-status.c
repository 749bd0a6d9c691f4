/*
 * cmd-status.c: drover status [RUN]: the runs and their state, or one run's
 * tasks by tier. Reads journals only; works while a run is live and after.
 */
#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/cmd.h"
#include "drover/runs.h"
#include "drover/common.h"
#include "drover/lock.h"
#include "drover/records.h"

/*
 * Tasks that need nothing more: succeeded, skipped by the plan, or refused
 * by a drill's interlock. A cancelled, failed or indeterminate task has
 * ended but is not done, so an interrupted run never reads as complete.
 */
static size_t
done_count(const struct dr_rs_run *rs)
{
	size_t i, n = 0;

	for (i = 0; i < rs->ntasks; i++) {
		enum dr_task_state s = rs->tasks[i].state;
		if (s == DR_TS_SUCCEEDED || s == DR_TS_SKIPPED ||
		    s == DR_TS_REFUSED)
			n++;
	}
	return n;
}

static uint64_t
elapsed(const char *state, const struct dr_rs_run *rs)
{
	if (strcmp(state, "running") == 0)
		return dr_now_wall_ms() - rs->start_ms;
	return rs->last_ms > rs->start_ms ? rs->last_ms - rs->start_ms : 0;
}

static int
list_runs(const char *sdir)
{
	struct dr_runs runs;
	char **names;
	size_t n, i;

	dr_runs_list(sdir, &runs);
	if (runs.n == 0) {
		printf("no runs under %s/runs\n", sdir);
		return DR_EXIT_OK;
	}
	/* Oldest first, the newest last, next to the prompt. */
	names = runs.ids;
	n = runs.n;
	for (i = 0; i < n / 2; i++) {
		char *t = names[i];
		names[i] = names[n - 1 - i];
		names[n - 1 - i] = t;
	}
	printf("%-44s %-8s %-20s %-11s %-9s %s\n", "RUN", "MODE", "DIRECTION",
	       "STATE", "PROGRESS", "ELAPSED");
	for (i = 0; i < n; i++) {
		char *dir = dr_runs_dir(sdir, names[i]);
		char *why = NULL, dirn[128], prog[32], d2[32];
		struct dr_rs_run rs;
		int r = dr_rs_load(dir, &rs, &why);
		const char *st;

		if (r == DR_ENOTFOUND) {
			free(dir);
			continue;
		}
		if (rs.run_id == NULL) {
			printf("%-44s unreadable: %s\n", names[i],
			       why ? why : "?");
		} else {
			st = r == 0 ? dr_cmd_run_state(sdir, &rs) : "CORRUPT";
			snprintf(dirn, sizeof(dirn), "%s->%s",
			         rs.nfrom ? rs.from[0] : "?", rs.to);
			if (rs.nfrom > 1)
				snprintf(dirn, sizeof(dirn), "%s+%zu->%s",
				         rs.from[0], rs.nfrom - 1, rs.to);
			snprintf(prog, sizeof(prog), "%zu/%zu", done_count(&rs),
			         rs.ntasks_planned);
			printf(
			    "%-44s %-8s %-20s %-11s %-9s %s\n", rs.run_id,
			    rs.mode, dirn, st, prog,
			    dr_duration_fmt(elapsed(st, &rs), d2, sizeof(d2)));
			if (strcmp(st, "running") == 0)
				dr_cmd_print_waiting(dir, "    ");
		}
		dr_rs_run_free(&rs);
		free(why);
		free(dir);
	}
	dr_runs_free(&runs);
	return DR_EXIT_OK;
}

static int
cmp_task(const void *a, const void *b)
{
	const struct dr_rs_task *x = a, *y = b;

	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	if (x->start_ms != y->start_ms)
		return x->start_ms < y->start_ms ? -1 : 1;
	return strcmp(x->key, y->key);
}

static int
show_run(const char *sdir, const char *id)
{
	char *dir = NULL, *why = NULL;
	struct dr_rs_run rs;
	char d[32], when[40], und[48] = "";
	const char *st;
	int tier = -1, r;
	size_t i, j, counts[DR_TS_REFUSED + 1] = {0};

	r = dr_cmd_open_run(sdir, id, &dir, &rs, &why);
	if (r == DR_ENOTFOUND) {
		free(dir);
		return DR_EXIT_FAIL;
	}
	if (r != 0)
		printf("journal: %s\n\n", why);
	if (rs.run_id == NULL) {
		dr_rs_run_free(&rs);
		free(why);
		free(dir);
		return DR_EXIT_FAIL;
	}
	st = r == 0 ? dr_cmd_run_state(sdir, &rs) : "CORRUPT";
	printf("run %s\n  plan %s (%s)\n  %s from", rs.run_id, rs.plan_name,
	       rs.plan_file, rs.mode);
	for (j = 0; j < rs.nfrom; j++)
		printf("%s%s", j ? "," : " ", rs.from[j]);
	printf(" to %s\n  started %s by %s@%s\n", rs.to,
	       dr_time_fmt(rs.start_ms, when, sizeof(when)),
	       rs.user ? rs.user : "?", rs.host ? rs.host : "?");
	for (i = 0; i < rs.ntasks; i++)
		counts[rs.tasks[i].state]++;
	printf("  state %s, %zu of %zu tasks ended, %s elapsed%s\n", st,
	       done_count(&rs), rs.ntasks_planned,
	       dr_duration_fmt(elapsed(st, &rs), d, sizeof(d)),
	       rs.resumes ? " (resumed)" : "");
	if (counts[DR_TS_INDETERMINATE])
		snprintf(und, sizeof(und), ", %zu indeterminate",
		         counts[DR_TS_INDETERMINATE]);
	printf("  %zu succeeded, %zu failed%s, %zu running, %zu skipped, %zu "
	       "cancelled, %zu refused\n",
	       counts[DR_TS_SUCCEEDED], counts[DR_TS_FAILED], und,
	       counts[DR_TS_RUNNING], counts[DR_TS_SKIPPED],
	       counts[DR_TS_CANCELLED], counts[DR_TS_REFUSED]);
	if (strcmp(st, "running") == 0)
		dr_cmd_print_waiting(dir, "  ");
	qsort(rs.tasks, rs.ntasks, sizeof(rs.tasks[0]), cmp_task);
	for (i = 0; i < rs.ntasks; i++) {
		const struct dr_rs_task *t = &rs.tasks[i];
		if (t->tier != tier) {
			tier = t->tier;
			printf("\ntier %d\n", tier);
		}
		printf("  %-13s %-58s", dr_task_state_name(t->state), t->key);
		if (t->end_ms > t->start_ms)
			printf(" %8s", dr_duration_fmt(t->end_ms - t->start_ms,
			                               d, sizeof(d)));
		if (t->attempts > 1)
			printf("  %d attempts", t->attempts);
		if (t->state == DR_TS_FAILED || t->state == DR_TS_CANCELLED ||
		    (t->state == DR_TS_SKIPPED && t->message))
			printf("  %s", t->message ? t->message : "");
		printf("\n");
	}
	if (rs.ntasks < rs.ntasks_planned)
		printf("\n%zu tasks not started yet\n",
		       rs.ntasks_planned - rs.ntasks);
	dr_rs_run_free(&rs);
	free(why);
	free(dir);
	return r == 0 ? DR_EXIT_OK : DR_EXIT_FAIL;
}

int
dr_cmd_status(int argc, char **argv)
{
	char *sdir, *id = NULL;
	int rc;

	if (argc == 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		dr_cmd_help("status");
		return DR_EXIT_OK;
	}
	if (argc > 2 || (argc == 2 && argv[1][0] == '-'))
		return dr_cmd_usage("status");
	sdir = dr_state_dir();
	if (argc == 1)
		rc = list_runs(sdir);
	else if ((rc = dr_cmd_resolve_run(sdir, argv[1], &id)) == 0)
		rc = show_run(sdir, id);
	free(id);
	free(sdir);
	return rc;
}
