/*
 * runref.c: what a RUN operand names: a run id, a unique prefix of one,
 * or "last", the newest run (run ids begin with their UTC start time).
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/runs.h"

#define SHOW_MAX 10

static int
resolve(const char *sdir, const char *ref, char **id, bool quiet)
{
	struct dr_runs runs;
	size_t i, n = 0, len = strlen(ref), first = 0;
	int rc = DR_EXIT_FAIL;

	*id = NULL;
	dr_runs_list(sdir, &runs);
	if (strcmp(ref, "last") == 0) {
		if (runs.n > 0) {
			*id = dr_xstrdup(runs.ids[0]);
			rc = DR_EXIT_OK;
		} else if (!quiet) {
			fprintf(stderr, "drover: last: no runs under %s/runs\n",
			        sdir);
		}
		goto out;
	}
	for (i = 0; i < runs.n && len > 0 && strchr(ref, '/') == NULL; i++) {
		if (strcmp(runs.ids[i], ref) == 0) { /* the whole id */
			n = 1;
			first = i;
			break;
		}
		if (strncmp(runs.ids[i], ref, len) == 0 && n++ == 0)
			first = i;
	}
	if (n == 1) {
		*id = dr_xstrdup(runs.ids[first]);
		rc = DR_EXIT_OK;
	} else if (n == 0) {
		if (!quiet)
			fprintf(stderr,
			        "drover: no run %s under %s/runs (drover "
			        "status lists the runs)\n",
			        ref, sdir);
	} else {
		rc = DR_EXIT_USAGE;
		if (quiet)
			goto out;
		fprintf(stderr,
		        "drover: %s names %zu runs; give more of the id:\n",
		        ref, n);
		for (i = 0, n = 0; i < runs.n; i++) {
			if (strncmp(runs.ids[i], ref, len) != 0)
				continue;
			if (n++ == SHOW_MAX) {
				fprintf(stderr, "  ...\n");
				break;
			}
			fprintf(stderr, "  %s\n", runs.ids[i]);
		}
	}
out:
	dr_runs_free(&runs);
	return rc;
}

int
dr_cmd_resolve_run(const char *sdir, const char *ref, char **id)
{
	return resolve(sdir, ref, id, false);
}

int
dr_cmd_resolve_run_quiet(const char *sdir, const char *ref, char **id)
{
	return resolve(sdir, ref, id, true);
}
