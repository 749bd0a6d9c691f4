/*
 * help.c: what the CLI says about itself, from cmd.c's tables only: a
 * verb's --help (and drover help VERB), the list of verbs, "did you mean"
 * for a slip of the keyboard, and drover __complete, the helper of the bash
 * completion (contrib/bash-completion/drover), so that what the shell
 * offers is what the verbs take.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/diag.h"
#include "drover/plan.h"
#include "drover/records.h"
#include "drover/runs.h"

#define WIDTH 78

/*
 * Prints text on f wrapped to WIDTH columns, each line indented by ind;
 * the first one goes on from column col of a line already begun.
 */
static void
wrap_from(FILE *f, const char *text, int ind, int col)
{
	const char *p = text;
	bool begun = col > 0;

	while (*p) {
		size_t w;
		while (*p == ' ')
			p++;
		w = strcspn(p, " ");
		if (w == 0)
			break;
		if (col > 0 && col + 1 + (int)w > WIDTH) {
			fputc('\n', f);
			col = 0;
			begun = false;
		}
		if (col == 0)
			col = fprintf(f, "%*s%.*s", ind, "", (int)w, p);
		else
			col +=
			    fprintf(f, "%s%.*s", begun ? "" : " ", (int)w, p);
		begun = false;
		p += w;
	}
	if (col > 0)
		fputc('\n', f);
}

static void
wrap(FILE *f, const char *text, int ind)
{
	wrap_from(f, text, ind, 0);
}

/* "-n, --dry-run" or "--from SITE[,SITE]" for verb c. */
static void
opt_line(FILE *f, const struct dr_cmd *c, const struct dr_cmd_opt *o)
{
	fprintf(f, "  ");
	if (o->shortname &&
	    (o->letter == 'h' || strchr(c->shorts, o->shortname)))
		fprintf(f, "-%c, ", o->shortname);
	fprintf(f, "--%s%s%s\n", o->name, o->arg ? " " : "",
	        o->arg ? o->arg : "");
}

void
dr_cmd_help_to(FILE *f, const char *verb)
{
	const struct dr_cmd *c = dr_cmd_find(verb);
	const char *l;

	if (c == NULL) {
		dr_cmd_list(f);
		return;
	}
	wrap_from(f, c->usage, 8, fprintf(f, "usage: drover %s ", c->name));
	fputc('\n', f);
	wrap(f, c->help, 2);
	fprintf(f, "\noptions:\n");
	for (l = c->letters; *l; l++) {
		const struct dr_cmd_opt *o = dr_cmd_opt_find(*l);
		if (o == NULL)
			continue;
		opt_line(f, c, o);
		wrap(f, o->help, 8);
	}
	opt_line(f, c, dr_cmd_opt_find('h'));
	wrap(f, dr_cmd_opt_find('h')->help, 8);
}

void
dr_cmd_help(const char *verb)
{
	dr_cmd_help_to(stdout, verb);
}

int
dr_cmd_usage(const char *verb)
{
	const struct dr_cmd *c = dr_cmd_find(verb);

	if (c == NULL) {
		dr_cmd_list(stderr);
		return DR_EXIT_USAGE;
	}
	fprintf(stderr,
	        "usage: drover %s %s\n"
	        "drover %s --help describes each option\n",
	        c->name, c->usage, c->name);
	return DR_EXIT_USAGE;
}

void
dr_cmd_list(FILE *f)
{
	const struct dr_cmd *t;
	size_t n, i;

	t = dr_cmd_table(&n);
	fprintf(f, "usage: drover COMMAND [ARGS]\n       drover --version\n\n"
	           "commands:\n");
	for (i = 0; i < n; i++)
		if (t[i].name[0] != '_')
			fprintf(f, "  %-9s %s\n", t[i].name, t[i].summary);
	fprintf(f, "\nrun 'drover help COMMAND' (or 'drover COMMAND --help') "
	           "for its options; man drover for everything\n");
}

/*
 * The optimal string alignment distance of a and b (Levenshtein with
 * adjacent transpositions counted once), or a large value for long words.
 */
static size_t
distance(const char *a, const char *b)
{
	size_t la = strlen(a), lb = strlen(b), i, j;
	size_t d[33][33];

	if (la > 32 || lb > 32)
		return 100;
	for (i = 0; i <= la; i++)
		d[i][0] = i;
	for (j = 0; j <= lb; j++)
		d[0][j] = j;
	for (i = 1; i <= la; i++)
		for (j = 1; j <= lb; j++) {
			size_t cost = a[i - 1] != b[j - 1];
			size_t v = d[i - 1][j] + 1;
			if (d[i][j - 1] + 1 < v)
				v = d[i][j - 1] + 1;
			if (d[i - 1][j - 1] + cost < v)
				v = d[i - 1][j - 1] + cost;
			if (i > 1 && j > 1 && a[i - 1] == b[j - 2] &&
			    a[i - 2] == b[j - 1] && d[i - 2][j - 2] + 1 < v)
				v = d[i - 2][j - 2] + 1;
			d[i][j] = v;
		}
	return d[la][lb];
}

size_t
dr_cmd_suggest(const char *word, const char *const *cands, size_t n,
               const char **out, size_t max)
{
	size_t i, k = 0, best = 100, len = strlen(word);
	/* A slip: one edit in a short word, two in a longer one; or the
	 * beginning of exactly one name. */
	size_t limit = len <= 4 ? 1 : 2;

	for (i = 0; i < n; i++) {
		size_t d = distance(word, cands[i]);
		if (cands[i][0] == '_' || d > limit || d > best)
			continue;
		if (d < best) {
			best = d;
			k = 0;
		}
		if (k < max)
			out[k++] = cands[i];
	}
	if (k == 0 && len >= 2 && max > 0) {
		const char *only = NULL;
		size_t m = 0;
		for (i = 0; i < n; i++)
			if (cands[i][0] != '_' &&
			    strncmp(cands[i], word, len) == 0) {
				only = cands[i];
				m++;
			}
		if (m == 1)
			out[k++] = only;
	}
	return k;
}

int
dr_cmd_unknown(const char *verb)
{
	const struct dr_cmd *t;
	const char *names[64], *best[3];
	size_t n, i, k;

	t = dr_cmd_table(&n);
	for (i = 0; i < n && i < 64; i++)
		names[i] = t[i].name;
	k = dr_cmd_suggest(verb, names, i, best, 3);
	fprintf(stderr, "drover: unknown command '%s'", verb);
	for (i = 0; i < k; i++)
		fprintf(stderr, "%s%s", i ? " or " : "; did you mean ",
		        best[i]);
	fprintf(stderr, "%s\n", k ? "?" : "");
	if (k == 0)
		dr_cmd_list(stderr);
	else
		fprintf(stderr, "drover help lists the commands\n");
	return DR_EXIT_USAGE;
}

int
dr_cmd_helpverb(int argc, char **argv)
{
	if (argc == 1) {
		dr_cmd_list(stdout);
		return DR_EXIT_OK;
	}
	if (argc == 2 &&
	    (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0)) {
		dr_cmd_help("help");
		return DR_EXIT_OK;
	}
	if (argc != 2)
		return dr_cmd_usage("help");
	if (dr_cmd_find(argv[1]) == NULL)
		return dr_cmd_unknown(argv[1]);
	dr_cmd_help(argv[1]);
	return DR_EXIT_OK;
}

/* The options of verb, "--NAME[ ARG]" a line, --help last. */
static int
complete_options(const char *verb)
{
	const struct dr_cmd *c = dr_cmd_find(verb);
	const char *l;

	if (c == NULL)
		return DR_EXIT_USAGE;
	for (l = c->letters; *l; l++) {
		const struct dr_cmd_opt *o = dr_cmd_opt_find(*l);
		if (o)
			printf("--%s%s%s\n", o->name, o->arg ? " " : "",
			       o->arg ? o->arg : "");
	}
	printf("--help\n");
	return DR_EXIT_OK;
}

/* The plan's sites; for "from" the production ones, for "to" the others
 * a run may take over with (standby and drill). Quiet on a bad plan. */
static int
complete_sites(const char *path, const char *which)
{
	struct dr_diags diags = {0};
	struct dr_plan *plan = NULL;
	size_t i;

	if (dr_plan_load(path, &diags, &plan) != 0) {
		dr_diag_clear(&diags);
		return DR_EXIT_FAIL;
	}
	dr_diag_clear(&diags);
	for (i = 0; i < plan->nsites; i++) {
		enum dr_site_role r = plan->sites[i].role;
		bool prod = r == DR_SITE_PRIMARY || r == DR_SITE_SECONDARY;
		if (which && strcmp(which, "from") == 0 && !prod)
			continue;
		if (which && strcmp(which, "to") == 0 && r != DR_SITE_STANDBY &&
		    r != DR_SITE_DRILL)
			continue;
		printf("%s\n", plan->sites[i].name);
	}
	dr_plan_free(plan);
	return DR_EXIT_OK;
}

/* The task keys of a run (RUN as the verbs take it). */
static int
complete_tasks(const char *ref)
{
	char *sdir = dr_state_dir(), *id = NULL, *dir = NULL, *why = NULL;
	struct dr_rs_run rs;
	size_t i;
	int r, rc = DR_EXIT_FAIL;

	if (dr_cmd_resolve_run_quiet(sdir, ref, &id) != 0)
		goto out;
	dir = dr_runs_dir(sdir, id);
	r = dr_rs_load(dir, &rs, &why);
	if (r == DR_ENOTFOUND)
		goto out;
	for (i = 0; i < rs.ntasks; i++)
		printf("%s\n", rs.tasks[i].key);
	dr_rs_run_free(&rs);
	rc = DR_EXIT_OK;
out:
	free(why);
	free(dir);
	free(id);
	free(sdir);
	return rc;
}

int
dr_cmd_complete(int argc, char **argv)
{
	const struct dr_cmd *t;
	size_t n, i;

	if (argc >= 2 && strcmp(argv[1], "verbs") == 0) {
		t = dr_cmd_table(&n);
		for (i = 0; i < n; i++)
			if (t[i].name[0] != '_')
				printf("%s\n", t[i].name);
		return DR_EXIT_OK;
	}
	if (argc == 3 && strcmp(argv[1], "options") == 0)
		return complete_options(argv[2]);
	if (argc == 2 && strcmp(argv[1], "runs") == 0) {
		char *sdir = dr_state_dir();
		struct dr_runs runs;
		dr_runs_list(sdir, &runs);
		for (i = 0; i < runs.n; i++)
			printf("%s\n", runs.ids[i]);
		if (runs.n)
			printf("last\n");
		dr_runs_free(&runs);
		free(sdir);
		return DR_EXIT_OK;
	}
	if ((argc == 3 || argc == 4) && strcmp(argv[1], "sites") == 0)
		return complete_sites(argv[2], argc == 4 ? argv[3] : NULL);
	if (argc == 3 && strcmp(argv[1], "tasks") == 0)
		return complete_tasks(argv[2]);
	return dr_cmd_usage("__complete");
}
