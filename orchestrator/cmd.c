/* cmd.c: helpers shared by the CLI verbs (plan loading, direction flags). */
#include "drover/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"
#include "drover/graph.h"
#include "drover/plan.h"
#include "drover/preflight.h"

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
	r = dr_graph_expand(plan, &o, &diags, out);
	dr_diag_print(&diags, stderr);
	dr_diag_clear(&diags);
	return r == 0 ? 0 : DR_EXIT_FAIL;
}

int
dr_cmd_preflight(const struct dr_graph *g)
{
	struct dr_diags d = {0};
	size_t n = dr_preflight(g->plan, g, false, &d);

	dr_diag_print(&d, stderr);
	dr_diag_clear(&d);
	if (n == 0)
		return 0;
	fprintf(stderr,
	        "drover: %zu problem%s on this controller; nothing was "
	        "started\n",
	        n, n == 1 ? "" : "s");
	return DR_EXIT_FAIL;
}

static const struct option dir_only_opts[] = {
    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 't'},
    {"drill", no_argument, NULL, 'd'},
    {"only", required_argument, NULL, 'O'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

int
dr_cmd_plan_graph(int argc, char **argv, const char *verb,
                  struct dr_plan **plan, struct dr_graph **g)
{
	struct dr_cmd_dir dir = {0};
	int c, rc = 0;

	*plan = NULL;
	*g = NULL;
	optind = 1;
	while ((c = getopt_long(argc, argv, "h", dir_only_opts, NULL)) != -1) {
		if (c == 'h') {
			dr_cmd_dir_free(&dir);
			dr_cmd_usage(verb);
			return -1;
		}
		if ((rc = dr_cmd_dir_opt(&dir, c, optarg)) != 0)
			goto out;
	}
	if (optind != argc - 1) {
		rc = dr_cmd_usage(verb);
		goto out;
	}
	if ((rc = dr_cmd_load_plan(argv[optind], plan)) != 0)
		goto out;
	if ((rc = dr_cmd_expand(*plan, &dir, g)) != 0) {
		dr_plan_free(*plan);
		*plan = NULL;
	}
out:
	dr_cmd_dir_free(&dir);
	return rc;
}
