/*
 * cmd-runbook.c: drover runbook PLAN --from S[,S] --to S [--format md|html]
 * [--known-hosts FILE] [-o FILE] [--drill]: the printable runbook.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/graph.h"
#include "drover/plan.h"
#include "drover/runbook.h"

static const struct option runbook_opts[] = {
    {"from", required_argument, NULL, 'f'},
    {"to", required_argument, NULL, 't'},
    {"drill", no_argument, NULL, 'd'},
    {"format", required_argument, NULL, 'F'},
    {"known-hosts", required_argument, NULL, 'k'},
    {"output", required_argument, NULL, 'o'},
    {"help", no_argument, NULL, 'h'},
    {NULL, 0, NULL, 0}};

static bool
ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);
	return n >= m && strcmp(s + n - m, suffix) == 0;
}

/* Syncs the directory holding path so that a rename in it is durable. */
static int
fsync_dir_of(const char *path)
{
	char *dir = dr_xstrdup(path), *slash = strrchr(dir, '/');
	int fd, r = 0;

	if (slash == NULL)
		strcpy(dir, ".");
	else if (slash == dir)
		dir[1] = '\0';
	else
		*slash = '\0';
	if ((fd = open(dir, O_RDONLY | O_DIRECTORY)) == -1 || fsync(fd) != 0)
		r = -1;
	if (fd != -1)
		close(fd);
	free(dir);
	return r;
}

/*
 * Writes the runbook to path: a temporary file beside it, fsync, rename,
 * fsync of the directory. Returns 0 or DR_EXIT_FAIL after saying why.
 */
static int
write_file(const struct dr_graph *g, const struct dr_runbook_opts *o,
           const char *path)
{
	char *tmp = dr_xasprintf("%s.tmp.XXXXXX", path);
	FILE *f = NULL;
	mode_t mask;
	int fd, r;

	if ((fd = mkstemp(tmp)) == -1) {
		fprintf(stderr, "drover: runbook: cannot write %s: %s\n", path,
		        strerror(errno));
		free(tmp);
		return DR_EXIT_FAIL;
	}
	mask = umask(0);
	umask(mask);
	(void)fchmod(fd, 0666 & ~mask);
	if ((f = fdopen(fd, "w")) == NULL) {
		close(fd);
		goto fail;
	}
	if ((r = dr_runbook_write(g, o, f)) != 0) {
		fprintf(stderr, "drover: runbook: %s: %s\n", path,
		        dr_strerror(r));
		goto fail_quiet;
	}
	if (fflush(f) != 0 || fsync(fileno(f)) != 0)
		goto fail;
	r = fclose(f);
	f = NULL;
	if (r != 0 || rename(tmp, path) != 0)
		goto fail;
	if (fsync_dir_of(path) != 0)
		fprintf(stderr, "drover: runbook: %s: directory sync: %s\n",
		        path, strerror(errno));
	free(tmp);
	return 0;
fail:
	fprintf(stderr, "drover: runbook: %s: %s\n", path, strerror(errno));
fail_quiet:
	if (f)
		fclose(f);
	unlink(tmp);
	free(tmp);
	return DR_EXIT_FAIL;
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

int
dr_cmd_runbook(int argc, char **argv)
{
	struct dr_cmd_dir dir = {0};
	struct dr_runbook_opts o = {0};
	struct dr_plan *plan = NULL;
	struct dr_graph *g = NULL;
	const char *output = NULL, *known_hosts = NULL;
	char *kh = NULL;
	bool format_set = false;
	int c, rc = 0;

	o.format = DR_RUNBOOK_MD;
	optind = 1;
	while ((c = getopt_long(argc, argv, "ho:", runbook_opts, NULL)) != -1) {
		switch (c) {
		case 'F':
			format_set = true;
			if (strcmp(optarg, "md") == 0 ||
			    strcmp(optarg, "markdown") == 0) {
				o.format = DR_RUNBOOK_MD;
			} else if (strcmp(optarg, "html") == 0) {
				o.format = DR_RUNBOOK_HTML;
			} else {
				fprintf(stderr,
				        "drover: --format: \"%s\" is not md "
				        "or html\n",
				        optarg);
				rc = DR_EXIT_USAGE;
			}
			break;
		case 'k':
			known_hosts = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'h':
			dr_cmd_dir_free(&dir);
			printf("usage: drover runbook PLAN --from S[,S] --to S "
			       "[--format md|html] [--known-hosts FILE] "
			       "[-o FILE] [--drill]\n");
			return DR_EXIT_OK;
		default: /* --from --to --drill --only, or unknown */
			rc = dr_cmd_dir_opt(&dir, c, optarg);
		}
		if (rc != 0)
			goto out;
	}
	if (optind != argc - 1) {
		rc = dr_cmd_usage("runbook");
		goto out;
	}
	if (dir.nfrom == 0 || dir.to == NULL) {
		fprintf(stderr, "drover: runbook: give the direction: --from "
		                "SITE[,SITE] --to SITE\n");
		rc = dr_cmd_usage("runbook");
		goto out;
	}
	/* -o runbook.html without --format means html. */
	if (!format_set && output &&
	    (ends_with(output, ".html") || ends_with(output, ".htm")))
		o.format = DR_RUNBOOK_HTML;

	if ((rc = dr_cmd_load_plan(argv[optind], &plan)) != 0)
		goto out;
	if ((rc = dr_cmd_expand(plan, &dir, &g)) != 0)
		goto out;
	if (known_hosts)
		o.known_hosts = known_hosts;
	else if ((kh = plan_known_hosts(plan)) != NULL)
		o.known_hosts = kh;

	if (output && strcmp(output, "-") != 0) {
		rc = write_file(g, &o, output);
	} else {
		int r = dr_runbook_write(g, &o, stdout);
		if (r != 0) {
			fprintf(stderr, "drover: runbook: %s\n",
			        dr_strerror(r));
			rc = DR_EXIT_FAIL;
		}
	}
out:
	free(kh);
	dr_graph_free(g);
	dr_plan_free(plan);
	dr_cmd_dir_free(&dir);
	return rc;
}
