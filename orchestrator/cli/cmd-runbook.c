/*
 * cmd-runbook.c: drover runbook PLAN --from S[,S] --to S
 * [--format md|html|pdf] [--known-hosts FILE] [-o FILE] [--drill]
 * [--only NAME]... [--remaining RUN]: the printable runbook, of the whole
 * plan, of some services or tenants, or of what a run has not done yet.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/graph.h"
#include "drover/plan.h"
#include "drover/records.h"
#include "drover/runbook.h"
#include "drover/runs.h"

/*
 * Writes the runbook to path, atomically and durably (see
 * dr_write_file_atomic), or with path NULL to stdout. It is rendered whole
 * first: a PDF is only known good once Chromium is done, and a failed write
 * then still has its errno. Returns 0 or DR_EXIT_FAIL after saying why.
 */
static int
write_out(const struct dr_graph *g, const struct dr_runbook_opts *o,
          const char *path)
{
	char *text = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&text, &len);
	int r;

	if (f == NULL) {
		fprintf(stderr, "drover: runbook: %s\n", strerror(errno));
		return DR_EXIT_FAIL;
	}
	r = dr_runbook_write(g, o, f);
	if (fclose(f) != 0 && r == 0)
		r = DR_EIO;
	if (r == DR_ENOTFOUND) {
		/* no Chromium for a PDF: the writer said so */
		fprintf(stderr, "drover: runbook: %s not written\n",
		        path ? path : "the runbook");
	} else if (r != 0) {
		fprintf(stderr, "drover: runbook: %s not written: %s\n",
		        path ? path : "the runbook", dr_strerror(r));
	} else if (path == NULL) {
		if (fwrite(text, 1, len, stdout) != len ||
		    fflush(stdout) != 0) {
			fprintf(stderr,
			        "drover: runbook: cannot write the standard "
			        "output: %s\n",
			        strerror(errno));
			clearerr(stdout); /* said once */
			r = DR_EIO;
		}
	} else if (dr_write_file_atomic(path, text, len, 0644) != 0) {
		fprintf(stderr, "drover: runbook: cannot write %s: %s\n", path,
		        strerror(errno));
		r = DR_EIO;
	}
	free(text);
	return r == 0 ? 0 : DR_EXIT_FAIL;
}

/* The plan's defaults.known_hosts, when that file exists. */
static char *
plan_known_hosts(const struct dr_plan *p)
{
	const char *kh = p->defaults.known_hosts;
	char *path;

	if (kh == NULL || *kh == '\0')
		return NULL;
	path = dr_xstrdup(kh); /* the loader made it relative to the plan */
	if (access(path, R_OK) != 0) {
		free(path);
		return NULL;
	}
	return path;
}

/* What runbook's own options say. */
struct runbook_args {
	struct dr_runbook_opts o;
	const char *output, *known_hosts, *remaining;
	bool format_set;
};

static int
runbook_opt(int c, const char *arg, void *ctx)
{
	struct runbook_args *ra = ctx;

	if (c == 'k') {
		ra->known_hosts = arg;
	} else if (c == 'r') {
		ra->remaining = arg;
	} else if (c == 'o') {
		ra->output = arg;
	} else if (c != 'F') {
		return DR_EXIT_USAGE;
	} else if (strcmp(arg, "md") == 0 || strcmp(arg, "markdown") == 0) {
		ra->o.format = DR_RUNBOOK_MD;
	} else if (strcmp(arg, "html") == 0) {
		ra->o.format = DR_RUNBOOK_HTML;
	} else if (strcmp(arg, "pdf") == 0) {
		ra->o.format = DR_RUNBOOK_PDF;
	} else {
		fprintf(stderr,
		        "drover: --format: \"%s\" is not md, html or pdf\n",
		        arg);
		return DR_EXIT_USAGE;
	}
	ra->format_set = ra->format_set || c == 'F';
	return 0;
}

/* What --remaining RUN needs: the run read back and its tasks by key. */
struct remaining {
	char *sdir, *run_dir, *id; /* id: the run --remaining names */
	struct dr_rs_run rs;
	bool loaded;
	const struct dr_rs_task **by_key; /* sorted by key */
	bool *done;                       /* per task of the graph */
};

static int
by_key_cmp(const void *a, const void *b)
{
	const struct dr_rs_task *const *x = a, *const *y = b;
	return strcmp((*x)->key, (*y)->key);
}

/*
 * Reads run id's journal and takes from it what the command line leaves
 * out: the direction, the mode, --only. Returns 0 or an exit status after
 * saying why.
 */
static int
remaining_load(struct remaining *rm, const char *id, struct dr_cmd_dir *dir)
{
	char *why = NULL;
	size_t i;
	int r;

	rm->sdir = dr_state_dir();
	if ((r = dr_cmd_resolve_run(rm->sdir, id, &rm->id)) != 0)
		return r;
	r = dr_cmd_open_run(rm->sdir, rm->id, &rm->run_dir, &rm->rs, &why);
	if (r == DR_ENOTFOUND)
		return DR_EXIT_FAIL;
	rm->loaded = true;
	if (r != 0) {
		fprintf(stderr, "drover: runbook: --remaining %s: %s\n", id,
		        why ? why : dr_strerror(r));
		free(why);
		return DR_EXIT_FAIL;
	}
	if (dir->nfrom == 0) {
		for (i = 0; i < rm->rs.nfrom && i < DR_CMD_MAXFROM; i++)
			dir->from[i] = rm->rs.from[i];
		dir->nfrom = i;
	}
	if (dir->to == NULL)
		dir->to = rm->rs.to;
	if (rm->rs.mode && strcmp(rm->rs.mode, "drill") == 0)
		dir->drill = true;
	if (dir->nonly == 0)
		for (i = 0; i < rm->rs.nonly && i < DR_NELEM(dir->only); i++)
			dir->only[dir->nonly++] = rm->rs.only[i];
	rm->by_key = dr_xmalloc(sizeof(*rm->by_key) *
	                        (rm->rs.ntasks ? rm->rs.ntasks : 1));
	for (i = 0; i < rm->rs.ntasks; i++)
		rm->by_key[i] = &rm->rs.tasks[i];
	qsort(rm->by_key, rm->rs.ntasks, sizeof(*rm->by_key), by_key_cmp);
	return 0;
}

/* Marks the tasks of g that the run finished; says how many. */
static void
remaining_mark(struct remaining *rm, const struct dr_graph *g,
               const struct dr_plan *plan, const char *id)
{
	size_t i, n = 0;

	if (rm->rs.plan_sha256 && strcmp(rm->rs.plan_sha256, plan->sha256) != 0)
		fprintf(stderr,
		        "drover: runbook: the plan changed since run %s (its "
		        "sha256 was %.12s...): its tasks are matched by name\n",
		        id, rm->rs.plan_sha256);
	rm->done = dr_xcalloc(g->ntasks ? g->ntasks : 1, sizeof(bool));
	for (i = 0; i < g->ntasks; i++) {
		struct dr_rs_task k = {.key = g->tasks[i].key};
		const struct dr_rs_task *kp = &k, *const * f;

		f = bsearch(&kp, rm->by_key, rm->rs.ntasks, sizeof(*rm->by_key),
		            by_key_cmp);
		if (f && (*f)->state == DR_TS_SUCCEEDED) {
			rm->done[i] = true;
			n++;
		}
	}
	fprintf(stderr,
	        "drover: runbook: %zu of %zu tasks done in run %s "
	        "are left out\n",
	        n, g->ntasks, id);
}

static void
remaining_free(struct remaining *rm)
{
	if (rm->loaded)
		dr_rs_run_free(&rm->rs);
	free(rm->by_key);
	free(rm->done);
	free(rm->run_dir);
	free(rm->id);
	free(rm->sdir);
}

int
dr_cmd_runbook(int argc, char **argv)
{
	struct dr_cmd_dir dir = {0};
	struct runbook_args ra = {0};
	struct dr_runbook_opts *o = &ra.o;
	const char *path = NULL, *output;
	struct dr_cmd_args a = {"runbook",   "ftdOFkor", "ho:", &dir,
	                        runbook_opt, &ra,        &path};
	struct dr_plan *plan = NULL;
	struct dr_graph *g = NULL;
	struct remaining rm = {0};
	char *kh = NULL;
	int rc;

	ra.o.format = DR_RUNBOOK_MD;
	if ((rc = dr_cmd_parse(argc, argv, &a)) != 0) {
		rc = rc < 0 ? DR_EXIT_OK : rc;
		goto out;
	}
	output = ra.output;
	if (ra.remaining && (rc = remaining_load(&rm, ra.remaining, &dir)) != 0)
		goto out;
	if (dir.nfrom == 0 || dir.to == NULL) {
		fprintf(stderr, "drover: runbook: give the direction: --from "
		                "SITE[,SITE] --to SITE\n");
		rc = dr_cmd_usage("runbook");
		goto out;
	}
	/* -o runbook.html without --format means html; .pdf, pdf. */
	if (!ra.format_set && output &&
	    (dr_ends_with(output, ".html") || dr_ends_with(output, ".htm")))
		o->format = DR_RUNBOOK_HTML;
	if (!ra.format_set && output && dr_ends_with(output, ".pdf"))
		o->format = DR_RUNBOOK_PDF;
	o->only = dir.only;
	o->nonly = dir.nonly;

	if ((rc = dr_cmd_load_plan(path, &plan)) != 0)
		goto out;
	if ((rc = dr_cmd_expand(plan, &dir, &g)) != 0)
		goto out;
	if (ra.remaining) {
		remaining_mark(&rm, g, plan, rm.id);
		o->done = rm.done;
		o->run_id = rm.id;
	}
	if (ra.known_hosts && access(ra.known_hosts, R_OK) != 0) {
		fprintf(stderr, "drover: runbook: --known-hosts %s: %s\n",
		        ra.known_hosts, strerror(errno));
		rc = DR_EXIT_FAIL;
		goto out;
	}
	if (ra.known_hosts)
		o->known_hosts = ra.known_hosts;
	else if ((kh = plan_known_hosts(plan)) != NULL)
		o->known_hosts = kh;

	rc =
	    write_out(g, o, output && strcmp(output, "-") != 0 ? output : NULL);
out:
	free(kh);
	dr_graph_free(g);
	remaining_free(&rm);
	dr_plan_free(plan);
	dr_cmd_dir_free(&dir);
	return rc;
}
