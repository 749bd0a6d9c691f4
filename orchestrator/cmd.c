/* cmd.c: helpers shared by the CLI verbs (plan loading, direction flags). */
#include "drover/cmd.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"
#include "drover/graph.h"
#include "drover/plan.h"

int
dr_cmd_dir_opt(struct dr_cmd_dir *d, int c, const char *arg)
{
	char *p, *save = NULL, *tok;

	if (c == 'f') {
		free(d->from_arg);
		d->from_arg = dr_xstrdup(arg);
		d->nfrom = 0;
		for (p = d->from_arg; (tok = strtok_r(p, ",", &save)) != NULL;
		     p = NULL) {
			if (d->nfrom == sizeof(d->from) / sizeof(d->from[0])) {
				fprintf(stderr,
				        "drover: --from: too many sites\n");
				return DR_EXIT_USAGE;
			}
			d->from[d->nfrom++] = tok;
		}
		if (d->nfrom == 0) {
			fprintf(stderr, "drover: --from needs a site name\n");
			return DR_EXIT_USAGE;
		}
	} else if (c == 't') {
		if (strchr(arg, ',') != NULL) {
			fprintf(stderr,
			        "drover: --to takes one site, not \"%s\"\n",
			        arg);
			return DR_EXIT_USAGE;
		}
		d->to = arg;
	} else if (c == 'd') {
		d->drill = true;
	} else if (c == 'O') {
		if (d->nonly == sizeof(d->only) / sizeof(d->only[0])) {
			fprintf(stderr, "drover: --only: too many names\n");
			return DR_EXIT_USAGE;
		}
		d->only[d->nonly++] = arg;
	} else {
		return DR_EXIT_USAGE; /* getopt already said what was wrong */
	}
	return 0;
}

void
dr_cmd_dir_free(struct dr_cmd_dir *d)
{
	free(d->from_arg);
	d->from_arg = NULL;
}

int
dr_cmd_load_plan(const char *path, struct dr_plan **out)
{
	struct dr_diags diags = {0};
	int r;

	r = dr_plan_load(path, &diags, out);
	dr_diag_print(&diags, stderr);
	if (r != 0)
		fprintf(stderr, "%s: %zu error%s\n", path, diags.n,
		        diags.n == 1 ? "" : "s");
	dr_diag_clear(&diags);
	return r == 0 ? 0 : DR_EXIT_FAIL;
}

int
dr_cmd_expand(const struct dr_plan *plan, const struct dr_cmd_dir *d,
              struct dr_graph **out)
{
	struct dr_expand_opts o = {0};
	struct dr_diags diags = {0};
	int r;

	if (d->nfrom == 0 || d->to == NULL) {
		fprintf(stderr,
		        "drover: give the direction: --from SITE[,SITE] "
		        "--to SITE\n");
		return DR_EXIT_USAGE;
	}
	o.from = (const char *const *)d->from;
	o.nfrom = d->nfrom;
	o.to = d->to;
	o.mode = d->drill ? DR_MODE_DRILL : DR_MODE_FAILOVER;
	o.only = d->only;
	o.nonly = d->nonly;
	o.include_cleanup = d->drill;
	r = dr_graph_expand(plan, &o, &diags, out);
	dr_diag_print(&diags, stderr);
	dr_diag_clear(&diags);
	return r == 0 ? 0 : DR_EXIT_FAIL;
}
