/*
 * cmd-control.c: the verbs that steer a live run through its control
 * socket (control.h), from any terminal of a user in the run's group:
 *
 *   drover approve RUN GATE [--comment TEXT]
 *   drover deny RUN GATE [--comment TEXT]
 *   drover pause RUN / drover continue RUN
 *   drover abort RUN                 the first Ctrl-C's stop: exit 3, resumable
 *   drover answer RUN TASK retry|skip|abort
 *   drover watch RUN                 the board, read-only, until the run ends
 *
 * Who answers is what the kernel says of this process (SO_PEERCRED), not
 * $USER. Exit status: 0 done, 1 the run refused (the reason is printed),
 * 2 usage, 3 the run is not live.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/control.h"
#include "drover/runs.h"
#include "drover/team.h"

/* The operands after the verb's options: exactly want of them. */
static int
parse(int argc, char **argv, int want, bool comment, const char **ops,
      const char **comment_out)
{
	static const struct option opts[] = {
	    {"comment", required_argument, NULL, 'c'},
	    {"help", no_argument, NULL, 'h'},
	    {NULL, 0, NULL, 0}};
	int c, i;

	optind = 1;
	while ((c = getopt_long(argc, argv, comment ? "+c:h" : "+h", opts,
	                        NULL)) != -1) {
		if (c == 'h') {
			dr_cmd_help(argv[0]);
			return -1;
		}
		if (c == 'c' && comment) {
			*comment_out = optarg;
			continue;
		}
		return dr_cmd_usage(argv[0]);
	}
	/* --comment may come after the operands too. */
	for (i = 0; optind < argc; optind++) {
		if (comment && strcmp(argv[optind], "--comment") == 0 &&
		    optind + 1 < argc) {
			*comment_out = argv[++optind];
			continue;
		}
		if (comment && strncmp(argv[optind], "--comment=", 10) == 0) {
			*comment_out = argv[optind] + 10;
			continue;
		}
		if (i == want)
			return dr_cmd_usage(argv[0]);
		ops[i++] = argv[optind];
	}
	if (i != want)
		return dr_cmd_usage(argv[0]);
	return 0;
}

/* The run's directory, which must exist. */
static char *
run_dir(const char *id)
{
	char *sdir = dr_state_dir(), *dir, *full = NULL;
	struct stat st;

	if (strchr(id, '/') != NULL || strcmp(id, "..") == 0 ||
	    strcmp(id, ".") == 0) {
		fprintf(stderr, "drover: %s is not a run id\n", id);
		free(sdir);
		return NULL;
	}
	/* A unique prefix or "last", as for the other verbs. */
	if (dr_cmd_resolve_run(sdir, id, &full) != 0) {
		free(sdir);
		return NULL; /* it said why */
	}
	dir = dr_runs_dir(sdir, full);
	if (stat(dir, &st) != 0) {
		fprintf(stderr,
		        "drover: no run %s under %s/runs (drover status lists "
		        "the runs; DROVER_STATE_DIR names a team's state)\n",
		        full, sdir);
		free(dir);
		dir = NULL;
	}
	free(sdir);
	free(full);
	return dir;
}

static int
call(const char *id, const struct dr_ctl_msg *m,
     void (*on_line)(void *arg, const char *line))
{
	char *dir = run_dir(id), *text = NULL;
	int r;

	if (dir == NULL)
		return DR_EXIT_FAIL;
	r = dr_ctl_call(dir, m, &text, on_line, NULL);
	if (r == 0) {
		if (text && *text)
			printf("%s\n", text);
	} else {
		fprintf(stderr, "drover: %s %s: %s\n", dr_ctl_op_name(m->op),
		        id, text ? text : dr_strerror(r));
	}
	free(text);
	free(dir);
	return r == 0              ? DR_EXIT_OK
	       : r == DR_ENOTFOUND ? DR_EXIT_PAUSED
	                           : DR_EXIT_FAIL;
}

static int
gate_verb(int argc, char **argv, enum dr_ctl_op op)
{
	const char *ops[2] = {NULL, NULL}, *comment = NULL;
	struct dr_ctl_msg m = {0};
	int rc = parse(argc, argv, 2, true, ops, &comment);

	if (rc != 0)
		return rc < 0 ? DR_EXIT_OK : rc;
	m.op = op;
	m.task = (char *)ops[1];
	m.comment = (char *)comment;
	return call(ops[0], &m, NULL);
}

int
dr_cmd_approve(int argc, char **argv)
{
	return gate_verb(argc, argv, DR_CTL_APPROVE);
}

int
dr_cmd_deny(int argc, char **argv)
{
	return gate_verb(argc, argv, DR_CTL_DENY);
}

static int
run_verb(int argc, char **argv, enum dr_ctl_op op)
{
	const char *ops[1] = {NULL};
	struct dr_ctl_msg m = {0};
	int rc = parse(argc, argv, 1, false, ops, NULL);

	if (rc != 0)
		return rc < 0 ? DR_EXIT_OK : rc;
	m.op = op;
	return call(ops[0], &m, NULL);
}

int
dr_cmd_pause(int argc, char **argv)
{
	return run_verb(argc, argv, DR_CTL_PAUSE);
}

int
dr_cmd_continue_run(int argc, char **argv)
{
	return run_verb(argc, argv, DR_CTL_CONTINUE);
}

int
dr_cmd_abort(int argc, char **argv)
{
	return run_verb(argc, argv, DR_CTL_ABORT);
}

int
dr_cmd_answer(int argc, char **argv)
{
	const char *ops[3] = {NULL, NULL, NULL};
	struct dr_ctl_msg m = {0};
	int rc = parse(argc, argv, 3, false, ops, NULL);

	if (rc != 0)
		return rc < 0 ? DR_EXIT_OK : rc;
	if (strcmp(ops[2], "retry") != 0 && strcmp(ops[2], "skip") != 0 &&
	    strcmp(ops[2], "abort") != 0) {
		fprintf(stderr,
		        "drover: answer: retry, skip or abort, not "
		        "\"%s\"\n",
		        ops[2]);
		return DR_EXIT_USAGE;
	}
	m.op = DR_CTL_ANSWER;
	m.task = (char *)ops[1];
	m.answer = (char *)ops[2];
	return call(ops[0], &m, NULL);
}

static void
print_line(void *arg, const char *line)
{
	size_t n = strlen(line);

	(void)arg;
	while (n > 0 && line[n - 1] == '\n')
		n--;
	printf("%.*s\n", (int)n, line);
	fflush(stdout);
}

int
dr_cmd_watch(int argc, char **argv)
{
	const char *ops[1] = {NULL};
	struct dr_ctl_msg m = {.op = DR_CTL_WATCH};
	int rc = parse(argc, argv, 1, false, ops, NULL);

	if (rc != 0)
		return rc < 0 ? DR_EXIT_OK : rc;
	setvbuf(stdout, NULL, _IOLBF, 0);
	rc = call(ops[0], &m, print_line);
	if (rc == DR_EXIT_PAUSED)
		fprintf(stderr, "drover: drover status %s shows how it ended\n",
		        ops[0]);
	return rc;
}

void
dr_cmd_print_waiting(const char *run_dir, const char *indent)
{
	char *text = NULL, *line, *save = NULL;

	if (dr_team_query_gates(run_dir, &text) == 0 && text)
		for (line = strtok_r(text, "\n", &save); line;
		     line = strtok_r(NULL, "\n", &save))
			printf("%s%s\n", indent, line);
	free(text);
}
