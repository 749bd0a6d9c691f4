/*
 * cmd-logs.c: drover logs RUN [TASK] [--follow]: a task's output, from the
 * run's one output file (tasklog.h), for a live run too.
 *
 * Without TASK: every task that wrote output, with its size. With --follow:
 * goes on printing as the task writes, until the run has finished, polling
 * the file on a timer of its own loop.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <uv.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/records.h"
#include "drover/tasklog.h"

#define FOLLOW_MS 250

struct logs {
	const char *name; /* the task's frame name; NULL: list them */
	bool follow;
	char *run_dir, *log_dir;
	uint64_t pos;
	/* Listing: names with their sizes, in first-seen order. */
	char **names;
	uint64_t *bytes;
	size_t n;
	size_t frames;
	bool failed;
};

static int
logs_opt(int c, const char *arg, void *ctx)
{
	struct logs *lg = ctx;

	(void)arg;
	if (c != 'W')
		return DR_EXIT_USAGE;
	lg->follow = true;
	return 0;
}

static void
on_frame(void *arg, const char *name, const char *data, size_t n)
{
	struct logs *lg = arg;
	size_t i;

	if (lg->name != NULL) {
		if (strcmp(name, lg->name) != 0)
			return;
		lg->frames++;
		if (fwrite(data, 1, n, stdout) != n)
			lg->failed = true;
		return;
	}
	for (i = 0; i < lg->n; i++)
		if (strcmp(lg->names[i], name) == 0)
			break;
	if (i == lg->n) {
		lg->names = dr_xrealloc(lg->names, (i + 1) * sizeof(char *));
		lg->bytes = dr_xrealloc(lg->bytes, (i + 1) * sizeof(uint64_t));
		lg->names[i] = dr_xstrdup(name);
		lg->bytes[i] = 0;
		lg->n++;
	}
	lg->bytes[i] += n;
}

/* Reads what is new; returns 0 or an exit status after saying why. */
static int
read_more(struct logs *lg)
{
	int r = dr_tasklog_read(lg->log_dir, &lg->pos, on_frame, lg);

	if (r == DR_ENOTFOUND)
		return 0; /* nothing written yet */
	if (r != 0) {
		fprintf(stderr, "drover: %s/%s: cannot read\n", lg->log_dir,
		        DR_TASKLOG_FILE);
		return DR_EXIT_FAIL;
	}
	fflush(stdout);
	if (lg->failed) {
		fprintf(stderr, "drover: cannot write the output\n");
		return DR_EXIT_FAIL;
	}
	return 0;
}

/* Whether the run has finished (its journal says so). */
static bool
finished(const struct logs *lg)
{
	struct dr_rs_run rs;
	char *why = NULL;
	bool done;

	if (dr_rs_load(lg->run_dir, &rs, &why) != 0) {
		free(why);
		return true;
	}
	done = rs.final_state != NULL;
	dr_rs_run_free(&rs);
	free(why);
	return done;
}

struct follow {
	uv_timer_t timer;
	struct logs *lg;
	int rc;
	bool last; /* the run had finished: one more read, then stop */
};

static void
on_tick(uv_timer_t *t)
{
	struct follow *f = t->data;

	if ((f->rc = read_more(f->lg)) != 0 || f->last) {
		uv_close((uv_handle_t *)t, NULL);
		return;
	}
	f->last = finished(f->lg);
	uv_timer_start(t, on_tick, f->last ? 0 : FOLLOW_MS, 0);
}

static int
follow(struct logs *lg)
{
	uv_loop_t loop;
	struct follow f = {.lg = lg};

	uv_loop_init(&loop);
	uv_timer_init(&loop, &f.timer);
	f.timer.data = &f;
	uv_timer_start(&f.timer, on_tick, 0, 0);
	uv_run(&loop, UV_RUN_DEFAULT);
	if (uv_loop_close(&loop) != 0 && f.rc == 0)
		f.rc = DR_EXIT_FAIL;
	return f.rc;
}

/* The frame name of what the operator named: a task key or its log name. */
static char *
task_name(const struct dr_rs_run *rs, const char *arg, bool *known)
{
	size_t i;

	*known = false;
	for (i = 0; i < rs->ntasks; i++) {
		char *n = dr_tasklog_name(rs->tasks[i].key);
		if (strcmp(rs->tasks[i].key, arg) == 0 || strcmp(n, arg) == 0) {
			*known = true;
			return n;
		}
		free(n);
	}
	return dr_tasklog_name(arg);
}

/* Task keys by their frame name, to list them by key. */
struct keyname {
	char *name;
	const char *key;
};

static int
cmp_kn(const void *a, const void *b)
{
	return strcmp(((const struct keyname *)a)->name,
	              ((const struct keyname *)b)->name);
}

static struct keyname *
key_names(const struct dr_rs_run *rs)
{
	struct keyname *v = dr_xcalloc(rs->ntasks + 1, sizeof(*v));
	size_t i;

	for (i = 0; i < rs->ntasks; i++) {
		v[i].name = dr_tasklog_name(rs->tasks[i].key);
		v[i].key = rs->tasks[i].key;
	}
	qsort(v, rs->ntasks, sizeof(*v), cmp_kn);
	return v;
}

int
dr_cmd_logs(int argc, char **argv)
{
	struct logs lg = {0};
	struct dr_rs_run rs;
	const char *id = NULL, *task = NULL;
	struct dr_cmd_args a = {"logs", "W", "h", NULL, logs_opt, &lg, &id};
	char **av = dr_xcalloc((size_t)argc + 1, sizeof(char *));
	char *sdir = NULL, *why = NULL, *name = NULL, *rid = NULL;
	bool loaded = false, known = false;
	int ac = 0, i, nops = 0, r, rc;

	/* RUN [TASK]: the second operand is taken out before the options are
	 * parsed (they take one). */
	for (i = 0; i < argc; i++) {
		if (i > 0 && argv[i][0] != '-' && ++nops == 2) {
			task = argv[i];
			continue;
		}
		av[ac++] = argv[i];
	}
	rc = dr_cmd_parse(ac, av, &a);
	free(av);
	if (rc != 0)
		return rc < 0 ? DR_EXIT_OK : rc;
	rc = DR_EXIT_FAIL;
	sdir = dr_state_dir();
	if ((rc = dr_cmd_resolve_run(sdir, id, &rid)) != 0)
		goto out;
	rc = DR_EXIT_FAIL;
	r = dr_cmd_open_run(sdir, rid, &lg.run_dir, &rs, &why);
	loaded = r != DR_ENOTFOUND;
	if (r == DR_ENOTFOUND)
		goto out;
	if (r != 0)
		fprintf(stderr, "drover: %s\n", why);
	lg.log_dir = dr_xasprintf("%s/logs", lg.run_dir);
	if (task) {
		name = task_name(&rs, task, &known);
		if (!known && lg.follow && rs.final_state == NULL) {
			fprintf(stderr,
			        "drover: %s has not started yet; waiting for "
			        "it\n",
			        task);
		} else if (!known) {
			fprintf(stderr,
			        "drover: %s: no such task in run %s (drover "
			        "status %s lists them)\n",
			        task, rs.run_id, rs.run_id);
			goto out;
		}
		lg.name = name;
	}
	if (lg.follow && task) {
		rc = follow(&lg);
		goto out;
	}
	if ((rc = read_more(&lg)) != 0)
		goto out;
	if (task == NULL) {
		struct keyname *kn = key_names(&rs);
		for (i = 0; i < (int)lg.n; i++) {
			struct keyname want = {.name = lg.names[i]}, *k;
			k = bsearch(&want, kn, rs.ntasks, sizeof(*kn), cmp_kn);
			printf("%-60s %10llu bytes\n", k ? k->key : lg.names[i],
			       (unsigned long long)lg.bytes[i]);
		}
		for (i = 0; i < (int)rs.ntasks; i++)
			free(kn[i].name);
		free(kn);
		if (lg.n == 0)
			printf("no task of run %s has written output\n",
			       rs.run_id);
	} else if (lg.frames == 0) {
		fprintf(stderr, "drover: %s has written no output\n", task);
	}
	rc = DR_EXIT_OK;
out:
	for (i = 0; i < (int)lg.n; i++)
		free(lg.names[i]);
	free(lg.names);
	free(lg.bytes);
	free(name);
	free(lg.log_dir);
	free(lg.run_dir);
	if (loaded)
		dr_rs_run_free(&rs);
	free(why);
	free(rid);
	free(sdir);
	return rc;
}
