/* drover.c: entry point and the table of CLI verbs. */
#include <stdio.h>
#include <string.h>

#include "drover/cmd.h"

static const struct dr_cmd cmd_table[] = {
    {"validate", "PLAN", "check a plan and report every error",
     dr_cmd_validate},
    {"show", "PLAN --from S[,S] --to S [--drill] [--only NAME]",
     "list the tasks in the order they would run", dr_cmd_show},
    {"graph", "PLAN --from S[,S] --to S [--drill]",
     "write the task graph as Graphviz DOT", dr_cmd_graph},
    {"runbook",
     "PLAN --from S[,S] --to S [--format md|html] [--known-hosts FILE] "
     "[--drill] [-o FILE]",
     "render the printable runbook for a direction", dr_cmd_runbook},
    {"check", "PLAN --to S [--from S[,S]] [--drill] [--json]",
     "readiness: hosts, host keys, auth, required commands and backups; "
     "changes nothing",
     dr_cmd_check},
    {"failover",
     "PLAN --from S[,S] --to S [--dry-run] [--yes] [--auto-approve] "
     "[--only NAME]... [--json] [--metrics FILE] [--incident-at TIME] "
     "[--take-stale-lock]",
     "run the plan: fence, restore, bring services back", dr_cmd_failover},
    {"drill",
     "PLAN --to DRILL-SITE [--from S[,S]] [--dry-run] [--yes] "
     "[--auto-approve] [--only NAME]... [--json] [--metrics FILE] "
     "[--incident-at TIME] [--take-stale-lock]",
     "rehearse the failover in a drill site; production is never touched",
     dr_cmd_drill},
    {"resume",
     "RUN [--assume-done TASK]... [--rerun TASK]... [--rerun-indeterminate] "
     "[--plan-changed] [--yes] [--auto-approve] [--json]",
     "continue an interrupted run from its journal", dr_cmd_resume},
    {"status", "[RUN]", "list runs, or show one run's tasks by tier",
     dr_cmd_status},
    {"report", "RUN [--format json|md|html] [-o FILE]",
     "render a run's report from its journal", dr_cmd_report},
    {"history", "PLAN [--mode drill|failover] [--json]",
     "past runs of a plan; drill recovery times against the previous one",
     dr_cmd_history},
    {"audit", "verify|show RUN", "check or show a run's audit trail",
     dr_cmd_audit},
};

#define NCMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))

static void
usage(FILE *f)
{
	size_t i;

	fprintf(f, "usage: drover COMMAND [ARGS]\n\ncommands:\n");
	for (i = 0; i < NCMDS; i++)
		fprintf(f, "  %-9s %s\n", cmd_table[i].name,
		        cmd_table[i].summary);
	fprintf(f, "\nrun 'drover COMMAND --help' for its arguments\n");
}

int
dr_cmd_usage(const char *verb)
{
	size_t i;

	for (i = 0; i < NCMDS; i++) {
		if (strcmp(cmd_table[i].name, verb) == 0) {
			fprintf(stderr, "usage: drover %s %s\n", verb,
			        cmd_table[i].usage);
			return DR_EXIT_USAGE;
		}
	}
	usage(stderr);
	return DR_EXIT_USAGE;
}

int
main(int argc, char **argv)
{
	size_t i;

	if (argc < 2) {
		usage(stderr);
		return DR_EXIT_USAGE;
	}
	if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "-h") == 0 ||
	    strcmp(argv[1], "help") == 0) {
		usage(stdout);
		return DR_EXIT_OK;
	}
	if (strcmp(argv[1], "--version") == 0) {
		printf("drover %s\n", DROVER_VERSION);
		return DR_EXIT_OK;
	}
	for (i = 0; i < NCMDS; i++) {
		if (strcmp(cmd_table[i].name, argv[1]) == 0)
			return cmd_table[i].exec(argc - 1, argv + 1);
	}
	fprintf(stderr, "drover: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return DR_EXIT_USAGE;
}
