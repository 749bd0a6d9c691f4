/*
 * cmd.c: the table of CLI verbs (one cmd-<verb>.c each) and what the verbs
 * share: plan loading, direction flags, the preflight.
 */
#include "drover/cmd.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/graph.h"
#include "drover/lock.h"
#include "drover/plan.h"
#include "drover/preflight.h"
#include "drover/records.h"
#include "drover/run.h"
#include "drover/runs.h"
#include "drover/time.h"

int
dr_cmd_dir_opt(struct dr_cmd_dir *d, int c, const char *arg)
{
	char *p, *save = NULL, *tok;

	if (c == 'f') {
		free(d->from_arg);
		d->from_arg = dr_xstrdup(arg);
		d->nfrom = 0;
		/* "milan,,rome", "milan,milan": a typo for another site, most
		 * likely; refused rather than read as fewer sites. */
		if (arg[0] == ',' || strstr(arg, ",,") != NULL ||
		    (arg[0] && arg[strlen(arg) - 1] == ',')) {
			fprintf(stderr,
			        "drover: --from \"%s\": an empty site name\n",
			        arg);
			return DR_EXIT_USAGE;
		}
		for (p = d->from_arg; (tok = strtok_r(p, ",", &save)) != NULL;
		     p = NULL) {
			size_t i;
			if (d->nfrom == DR_CMD_MAXFROM) {
				fprintf(stderr,
				        "drover: --from: too many sites\n");
				return DR_EXIT_USAGE;
			}
			for (i = 0; i < d->nfrom; i++)
				if (strcmp(d->from[i], tok) == 0) {
					fprintf(stderr,
					        "drover: --from names %s "
					        "twice\n",
					        tok);
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

size_t
dr_cmd_default_from(const struct dr_plan *plan, struct dr_cmd_dir *d)
{
	size_t i;

	for (i = 0; i < plan->nsites && d->nfrom < DR_CMD_MAXFROM; i++) {
		const struct dr_site *s = &plan->sites[i];
		if ((s->role == DR_SITE_PRIMARY ||
		     s->role == DR_SITE_SECONDARY) &&
		    (d->to == NULL || strcmp(s->name, d->to) != 0))
			d->from[d->nfrom++] = (char *)s->name;
	}
	return d->nfrom;
}

int
dr_cmd_set_flag(int c, const char *arg, void *ctx)
{
	(void)c;
	(void)arg;
	*(bool *)ctx = true;
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

/* A run stopped at once by a second interrupt exits resumable. */
_Static_assert(DR_RUN_END_EXIT_AT_ONCE == DR_EXIT_PAUSED, "exit at once");

int
dr_cmd_exit_status(int end)
{
	switch (end) {
	case DR_END_OK:
		return DR_EXIT_OK;
	case DR_END_RESUMABLE:
		return DR_EXIT_PAUSED;
	case DR_END_LOCKED:
		return DR_EXIT_LOCKED;
	default:
		return DR_EXIT_FAIL;
	}
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

/*
 * Every option of the verbs, each once: its name, whether it takes an
 * argument, the letter the verbs' switches see, its short form, and its
 * help. A verb names the ones it takes by their letters (cmd_table below,
 * and the verb's own dr_cmd_args, which dr_cmd_parse checks against it).
 */
static const struct dr_cmd_opt every_opt[] = {
    {"from", required_argument, 'f', 0, "SITE[,SITE]",
     "the lost site, or several separated by commas: production sites "
     "(role primary or secondary) only, each named once; drill and check "
     "default to every production site"},
    {"to", required_argument, 't', 0, "SITE",
     "the site that takes over: a standby site for failover, a drill "
     "site for drill"},
    {"drill", no_argument, 'd', 0, NULL,
     "expand the plan as a drill would (steps on the lost sites skipped, "
     "cleanup steps at the end)"},
    {"only", required_argument, 'O', 0, "NAME",
     "keep only this service or tenant; repeat for several"},
    {"dry-run", no_argument, 'n', 'n', NULL,
     "print the tasks in the order they would run; connects to nothing"},
    {"yes", no_argument, 'y', 'y', NULL,
     "do not ask for the target site's name before acting; needed "
     "without a terminal"},
    {"auto-approve", no_argument, 'A', 0, NULL,
     "pass approval gates unattended, each pass audited (--yes alone "
     "does not)"},
    {"json", no_argument, 'j', 0, NULL,
     "machine-readable output on stdout: for a run one NDJSON event per "
     "task state change (the board goes to stderr), else one JSON "
     "document"},
    {"metrics", required_argument, 'M', 0, "FILE",
     "write a Prometheus textfile-collector file when the run ends"},
    {"incident-at", required_argument, 'I', 0, "TIME",
     "when the incident began, UTC (2023-12-08T03:00:00Z): restore "
     "points are the newest backups taken before it; not later than "
     "this controller's clock"},
    {"clean-before", required_argument, 'C', 0, "TIME",
     "the attackers were in before TIME (UTC): every tenant's restore "
     "point is taken before it, as when an indicator of compromise is "
     "found; not later than this controller's clock"},
    {"take-stale-lock", no_argument, 'S', 0, NULL,
     "take the target site's lock left by a run that died (a live "
     "holder is never overridden)"},
    {"plan-changed", no_argument, 'P', 0, NULL,
     "resume although the plan file changed since the run started "
     "(review with drover show first)"},
    {"assume-done", required_argument, 'D', 0, "TASK",
     "a task whose outcome is unknown did its work (you checked on the "
     "host): count it done; repeatable"},
    {"rerun", required_argument, 'R', 0, "TASK",
     "run a task whose outcome is unknown again; repeatable"},
    {"rerun-indeterminate", no_argument, 'X', 0, NULL,
     "run again every task whose outcome is unknown and not decided yet"},
    {"mode", required_argument, 'm', 0, "MODE",
     "only runs of this mode: drill or failover"},
    {"format", required_argument, 'F', 'f', "FORMAT",
     "the document's format: md, html or pdf for runbook (default md, or "
     "-o's extension); json, md or html for report (default md, or -o's "
     "extension)"},
    {"output", required_argument, 'o', 'o', "FILE",
     "write the document to FILE instead of stdout"},
    {"known-hosts", required_argument, 'k', 0, "FILE",
     "print the host key fingerprints pinned in this known_hosts file "
     "(default: the plan's, when it exists)"},
    {"remaining", required_argument, 'r', 0, "RUN",
     "leave out what that run finished (RUN as for resume); direction, "
     "mode and --only come from its journal unless given"},
    {"follow", no_argument, 'W', 0, NULL,
     "with TASK, keep printing its output as it comes until the run "
     "ends"},
    {"etcd", required_argument, 'E', 0, "URLS",
     "run under HA: the etcd client URLs (comma-separated, one member per "
     "site); the run takes its target site's leadership, replicates its "
     "journal and is fenced by its lease (the plan's controllers section "
     "gives the same)"},
    {"no-quorum", no_argument, 'Q', 0, NULL,
     "etcd has no quorum (sites lost): run as the single controller; "
     "needs --attest"},
    {"attest", required_argument, 'T', 0, "TEXT",
     "with --no-quorum: who decided and why; audited and in the report"},
    {"comment", required_argument, 'c', 0, "TEXT",
     "why: kept with the decision in the audit trail, the report and the "
     "notifications"},
    {"help", no_argument, 'h', 'h', NULL,
     "print this help and exit"}, /* last: every verb takes it */
};

#define NOPTS (sizeof(every_opt) / sizeof(every_opt[0]))

const struct dr_cmd_opt *
dr_cmd_opts(size_t *n)
{
	*n = NOPTS;
	return every_opt;
}

const struct dr_cmd_opt *
dr_cmd_opt_find(int letter)
{
	size_t i;

	for (i = 0; i < NOPTS; i++)
		if (every_opt[i].letter == letter)
			return &every_opt[i];
	return NULL;
}

/* Whether the letters of x and y are the same set ('h' and ':' aside). */
static bool
same_letters(const char *x, const char *y)
{
	const char *p;

	for (p = x; *p; p++)
		if (*p != 'h' && *p != ':' && strchr(y, *p) == NULL)
			return false;
	for (p = y; *p; p++)
		if (*p != 'h' && *p != ':' && strchr(x, *p) == NULL)
			return false;
	return true;
}

/* After getopt's "unrecognized option '--fromm'": the closest of opts. */
static void
suggest_opt(const char *arg, const struct option *opts, size_t n)
{
	const char *names[NOPTS + 1], *best[3];
	char word[64];
	size_t i, k;

	if (arg == NULL || strncmp(arg, "--", 2) != 0)
		return;
	snprintf(word, sizeof(word), "%.*s", (int)strcspn(arg + 2, "="),
	         arg + 2);
	for (i = 0; i < n; i++)
		names[i] = opts[i].name;
	k = dr_cmd_suggest(word, names, n, best, 3);
	for (i = 0; i < k; i++)
		fprintf(stderr, "%s--%s", i ? " or " : "drover: did you mean ",
		        best[i]);
	if (k)
		fprintf(stderr, "?\n");
}

int
dr_cmd_parse(int argc, char **argv, const struct dr_cmd_args *a)
{
	struct option opts[NOPTS + 1];
	const struct dr_cmd *verb = dr_cmd_find(a->verb);
	const char *shortopts = a->shortopts ? a->shortopts : "h";
	size_t i, n = 0;
	const char *l;
	int c, rc;

	/* The help describes what the table says the verb takes: it must be
	 * what the verb parses. */
	if (verb == NULL || !same_letters(verb->letters, a->letters) ||
	    !same_letters(verb->shorts, shortopts)) {
		fprintf(stderr,
		        "drover: bug: %s's options differ from its entry in "
		        "cmd_table\n",
		        a->verb);
		abort();
	}
	for (l = a->letters; *l; l++) {
		for (i = 0; i < NOPTS && every_opt[i].letter != *l; i++)
			;
		if (i == NOPTS) { /* a verb names a letter the table lacks */
			fprintf(stderr, "drover: bug: no option '%c'\n", *l);
			abort();
		}
		opts[n++] =
		    (struct option){every_opt[i].name, every_opt[i].has_arg,
		                    NULL, every_opt[i].letter};
	}
	opts[n++] = (struct option){"help", no_argument, NULL, 'h'};
	memset(&opts[n], 0, sizeof(opts[n]));
	optind = 1;
	while ((c = getopt_long(argc, argv, shortopts, opts, NULL)) != -1) {
		if (c == 'h') {
			dr_cmd_help(a->verb);
			return -1;
		}
		if (c == '?' || c == ':') { /* getopt said what was wrong */
			if (c == '?' && optopt == 0)
				suggest_opt(argv[optind - 1], opts, n);
			fprintf(stderr,
			        "drover: drover %s --help describes its "
			        "options\n",
			        a->verb);
			return DR_EXIT_USAGE;
		}
		if (a->dir && strchr("ftdO", c) != NULL)
			rc = dr_cmd_dir_opt(a->dir, c, optarg);
		else
			rc = a->opt(c, optarg, a->ctx);
		if (rc != 0)
			return rc;
	}
	if (optind != argc - 1)
		return dr_cmd_usage(a->verb);
	*a->operand = argv[optind];
	return 0;
}

/* How far ahead of this controller's clock a given time may be: clocks
 * differ a little. */
#define DR_CLOCK_SKEW_MS (5 * 60 * 1000)

/*
 * An incident, or the last clean moment, is in the past: a time later than
 * the controller's clock is a typo (2062 for 2026) or a wrong clock, and
 * taken as given it would pass every restore point as taken before it.
 */
static int
past_time(const char *opt, const char *arg, uint64_t ms)
{
	char now[40];
	uint64_t t = dr_now_wall_ms();

	if (ms <= t + DR_CLOCK_SKEW_MS)
		return 0;
	fprintf(stderr,
	        "drover: %s %s is later than this controller's clock (%s): "
	        "give the time it happened, in UTC\n",
	        opt, arg, dr_time_fmt(t, now, sizeof(now)));
	return DR_EXIT_USAGE;
}

int
dr_cmd_run_opt(int c, const char *arg, void *ctx)
{
	struct dr_cmd_run *r = ctx;
	bool *flag = c == 'n'   ? &r->dry_run
	             : c == 'y' ? &r->yes
	             : c == 'A' ? &r->ro.auto_approve
	             : c == 'j' ? &r->ro.json
	             : c == 'S' ? &r->ro.take_stale_lock
	             : c == 'Q' ? &r->no_quorum
	                        : NULL;

	if (flag != NULL) {
		*flag = true;
	} else if (c == 'E') {
		r->etcd = arg;
	} else if (c == 'T') {
		r->attest = arg;
	} else if (c == 'M') {
		r->ro.metrics_path = arg;
	} else if (c == 'C') {
		if (dr_time_parse(arg, &r->ro.clean_before_ms) != 0) {
			fprintf(
			    stderr,
			    "drover: --clean-before %s: give a UTC time like "
			    "2023-12-05T00:00:00Z\n",
			    arg);
			return DR_EXIT_USAGE;
		}
		return past_time("--clean-before", arg, r->ro.clean_before_ms);
	} else if (c != 'I') {
		return DR_EXIT_USAGE;
	} else if (dr_time_parse(arg, &r->ro.incident_ms) != 0) {
		fprintf(stderr,
		        "drover: --incident-at %s: give a UTC time like "
		        "2023-12-08T03:00:00Z\n",
		        arg);
		return DR_EXIT_USAGE;
	} else {
		return past_time("--incident-at", arg, r->ro.incident_ms);
	}
	return 0;
}

int
dr_cmd_confirm(const struct dr_graph *g, bool yes, const char *verb,
               const char *header)
{
	char line[256];
	size_t n;

	if (yes)
		return 0;
	if (!isatty(STDIN_FILENO)) {
		fprintf(stderr,
		        "drover: refusing to %s without a terminal to "
		        "confirm; pass --yes\n",
		        verb);
		return DR_EXIT_USAGE;
	}
	fprintf(stderr,
	        "\n%s\n  %s\nType the target site's name (%s) to go on: ",
	        header, dr_graph_direction(g), g->to->name);
	fflush(stderr);
	if (fgets(line, sizeof(line), stdin) != NULL) {
		n = strlen(line);
		while (n > 0 && (line[n - 1] == '\n' || line[n - 1] == '\r'))
			line[--n] = '\0';
		if (strcmp(line, g->to->name) == 0)
			return 0;
	}
	fprintf(stderr, "drover: not confirmed; nothing done\n");
	return DR_EXIT_FAIL;
}

const char *
dr_cmd_run_state(const char *sdir, const struct dr_rs_run *rs)
{
	char *holder = NULL, *mine;
	bool alive = false, live;

	if (rs->final_state)
		return rs->final_state;
	if (rs->to == NULL || dr_lock_peek(sdir, rs->to, &holder, &alive) != 0)
		return "interrupted";
	mine = dr_xasprintf("run %s ", rs->run_id);
	live = alive && holder && strncmp(holder, mine, strlen(mine)) == 0;
	free(mine);
	free(holder);
	return live ? "running" : "interrupted";
}

int
dr_cmd_open_run(const char *sdir, const char *id, char **run_dir,
                struct dr_rs_run *rs, char **why)
{
	int r;

	*run_dir = dr_runs_dir(sdir, id);
	r = dr_rs_load(*run_dir, rs, why);
	if (r == DR_ENOTFOUND)
		fprintf(stderr,
		        "drover: no run %s under %s/runs (drover status lists "
		        "the runs)\n",
		        id, sdir);
	return r;
}

int
dr_cmd_plan_graph(int argc, char **argv, const char *verb,
                  struct dr_plan **plan, struct dr_graph **g)
{
	struct dr_cmd_dir dir = {0};
	const char *path = NULL;
	struct dr_cmd_args a = {verb, "ftdO", NULL, &dir, NULL, NULL, &path};
	int rc;

	*plan = NULL;
	*g = NULL;
	if ((rc = dr_cmd_parse(argc, argv, &a)) != 0)
		goto out;
	if ((rc = dr_cmd_load_plan(path, plan)) != 0)
		goto out;
	if ((rc = dr_cmd_expand(*plan, &dir, g)) != 0) {
		dr_plan_free(*plan);
		*plan = NULL;
	}
out:
	dr_cmd_dir_free(&dir);
	return rc;
}

#define RUN_OPERAND                                                            \
	"RUN is a run id (drover status lists them), a unique prefix of one, " \
	"or last for the newest run."

/*
 * The verbs, in the order `drover help` lists them: name, usage, summary,
 * function, option letters (every_opt), short forms, what it does.
 */
static const struct dr_cmd cmd_table[] = {
    {"validate", "PLAN...", "check a plan and report every error",
     dr_cmd_validate, "", "",
     "Loads each plan and reports every error as FILE:LINE: message; exit "
     "1 if any plan is invalid. What a run would need from this controller "
     "(known_hosts, keys, secrets, scripts) is reported as FILE:LINE: "
     "warning: lines, since a plan may be validated elsewhere."},
    {"show", "PLAN --from S[,S] --to S [--drill] [--only NAME]...",
     "list the tasks in the order they would run", dr_cmd_show, "ftdO", "",
     "Expands the plan for one direction and lists its tasks by tier, in "
     "the order they would run. Connects to nothing."},
    {"graph", "PLAN --from S[,S] --to S [--drill] [--only NAME]...",
     "write the task graph as Graphviz DOT", dr_cmd_graph, "ftdO", "",
     "Writes the task graph of one direction as Graphviz DOT on stdout "
     "(drover graph ... | dot -Tsvg > graph.svg)."},
    {"runbook",
     "PLAN --from S[,S] --to S [--format md|html|pdf] [--known-hosts FILE] "
     "[--drill] [--only NAME]... [--remaining RUN] [-o FILE]",
     "render the printable runbook for a direction", dr_cmd_runbook, "ftdOFkor",
     "o",
     "Renders the plan for people working by hand: every step with its "
     "commands, hosts and checks, and a checklist of tenant by step. "
     "--format pdf (or -o FILE.pdf) prints it with headless Chromium."},
    {"check", "PLAN --to S [--from S[,S]] [--drill] [--json]",
     "readiness: hosts, host keys, auth, required commands and backups; "
     "changes nothing",
     dr_cmd_check, "ftdj", "",
     "Connects to every host the direction needs (pinned host key, "
     "authentication), checks the commands steps require, that every "
     "copied backup exists, has its manifest and is younger than the "
     "service's rpo, what failover needs on this controller, and that no "
     "run holds the target site. Prints a table of host by check and an "
     "estimate of the run's duration; exit 1 if anything failed. Changes "
     "nothing."},
    {"failover",
     "PLAN --from S[,S] --to S [--dry-run] [--yes] [--auto-approve] "
     "[--only NAME]... [--json] [--metrics FILE] [--incident-at TIME] "
     "[--clean-before TIME] [--take-stale-lock] [--etcd URLS] "
     "[--no-quorum --attest TEXT]",
     "run the plan: fence, restore, bring services back", dr_cmd_failover,
     "ftOnyAjSMICEQT", "ny",
     "Runs the plan from the lost sites to the target: fences the lost "
     "sites, restores, brings the services back, and prints each "
     "service's recovery time against its RTO. Asks for the target site's "
     "name first (--yes skips it). The run is journaled under the state "
     "directory: Ctrl-C stops starting work and exits 3, and drover "
     "resume RUN continues it. Exit 0 succeeded, 1 a task failed, 3 "
     "interrupted or waiting for a decision, 4 another run holds the "
     "target site."},
    {"drill",
     "PLAN --to DRILL-SITE [--from S[,S]] [--dry-run] [--yes] "
     "[--auto-approve] [--only NAME]... [--json] [--metrics FILE] "
     "[--incident-at TIME] [--clean-before TIME] [--take-stale-lock] "
     "[--etcd URLS] [--no-quorum --attest TEXT]",
     "rehearse the failover in a drill site; production is never touched",
     dr_cmd_drill, "ftOnyAjSMICEQT", "ny",
     "A failover into a site of role drill that connects to no "
     "production address: steps on the lost sites are skipped, any other "
     "task that would reach production is refused before anything "
     "connects, and cleanup steps run at the end whatever the outcome. "
     "--from defaults to every production site. Exit status as for "
     "failover."},
    {"standby",
     "PLAN --from S[,S] --to S [--etcd URLS] [--drill] [--yes] "
     "[--auto-approve] [--json] [--assume-done TASK]... [--rerun TASK]... "
     "[--rerun-indeterminate] [--plan-changed] [--take-stale-lock]",
     "wait as a standby controller; take the run over when its leader's "
     "lease expires",
     dr_cmd_standby, "ftdEyAjSDRXP", "y",
     "Waits, connected to etcd, while another controller leads the run of "
     "this plan and direction. When the leader's lease expires it takes "
     "the leadership, rebuilds the run from the journal replicated in etcd "
     "and resumes it under the rules of drover resume: succeeded tasks "
     "never run again, a task whose outcome is unknown runs again only if "
     "its step is idempotent, else it waits for --assume-done or --rerun. "
     "When the run ends, led by itself or by the leader, it exits with the "
     "run's exit status, so that a systemd unit can restart it for the "
     "next run. Without quorum nothing is taken over."},
    {"resume",
     "RUN [--assume-done TASK]... [--rerun TASK]... [--rerun-indeterminate] "
     "[--plan-changed] [--yes] [--auto-approve] [--json] [--metrics FILE] "
     "[--take-stale-lock] [--etcd URLS]",
     "continue an interrupted run from its journal", dr_cmd_resume,
     "PDRXyAjMSE", "y",
     "Continues an interrupted or failed run from its journal, after "
     "taking the target site's lock (a live run is named, exit 4). "
     "Succeeded tasks never run again; failed ones and those whose "
     "outcome is unknown but are readonly or idempotent run again; for "
     "the others decide with --assume-done, --rerun or "
     "--rerun-indeterminate. Refuses a changed plan file unless "
     "--plan-changed. With --etcd, a run led over etcd is resumed as its "
     "leader. " RUN_OPERAND},
    {"status", "[RUN]", "list runs, or show one run's tasks by tier",
     dr_cmd_status, "", "",
     "Without RUN, lists the runs with their state, progress (tasks "
     "succeeded, skipped or refused by a drill, of those planned) and "
     "elapsed time, the newest last. With RUN, shows its tasks by tier. Reads "
     "journals only; works while a run is live. " RUN_OPERAND},
    {"report", "RUN [--format json|md|html] [-o FILE]",
     "render a run's report from its journal", dr_cmd_report, "Fo", "fo",
     "Rebuilds the run's report from its journal, at any time, "
     "interrupted runs included; the HTML has a timeline of every task "
     "against the RTO deadlines. " RUN_OPERAND},
    {"logs", "RUN [TASK] [--follow]",
     "a task's output (a live run's too), or every task's output size",
     dr_cmd_logs, "W", "",
     "With TASK (its key, as drover status RUN prints it), prints the "
     "task's output, secrets scrubbed; a live run's too. Without, lists "
     "the size of every task's output. " RUN_OPERAND},
    {"history", "PLAN [--mode drill|failover] [--json]",
     "past runs of a plan; drill recovery times against the previous one",
     dr_cmd_history, "mj", "",
     "Lists a plan's past runs and compares the last drill's recovery "
     "times with the previous one's."},
    {"audit", "verify|show RUN", "check or show a run's audit trail",
     dr_cmd_audit, "", "",
     "verify checks the run's hash-chained audit trail (who ran what, "
     "approvals, decisions, overrides, signals): a removed, changed or "
     "reordered record is reported, exit 1. show prints its "
     "records. " RUN_OPERAND},
    {"approve", "RUN GATE [--comment TEXT]",
     "approve a live run's gate, from any terminal", dr_cmd_approve, "c", "",
     "Approves the gate GATE (its task key, as on the board, in the runbook "
     "and in report.json: fence/confirm-isolation) of the live run RUN, "
     "through the run's control socket. Who approves is the kernel's "
     "answer for this process (its uid), never $USER. A step with "
     "approvers = N waits for N distinct users; with not_by_starter the "
     "user who started the run does not count. Each approval is an audit "
     "record. Exit 0 recorded, 1 refused (the reason is printed), 3 the run "
     "is not live. " RUN_OPERAND},
    {"deny", "RUN GATE [--comment TEXT]",
     "deny a live run's gate (it fails as its on_failure says)", dr_cmd_deny,
     "c", "",
     "Denies the gate GATE of the live run RUN: the gate fails, and its "
     "on_failure decides what follows. Audited with user, uid, time and "
     "comment. Exit status as for approve."},
    {"pause", "RUN", "a live run starts nothing new until continue",
     dr_cmd_pause, "", "",
     "The live run RUN starts no new task; what runs goes on to its end. "
     "drover continue RUN lifts it. Audited."},
    {"continue", "RUN", "a paused run starts what is ready again",
     dr_cmd_continue_run, "", "",
     "Lifts a pause (drover pause) of the live run RUN. Audited."},
    {"abort", "RUN", "stop a live run as Ctrl-C does (exit 3, resumable)",
     dr_cmd_abort, "", "",
     "Stops the live run RUN as a first Ctrl-C on its terminal would: "
     "nothing new starts, running tasks end, the run exits 3 and drover "
     "resume RUN continues it. Audited."},
    {"answer", "RUN TASK retry|skip|abort",
     "answer a task that paused (on_failure = \"pause\")", dr_cmd_answer, "",
     "",
     "A task whose step says on_failure = \"pause\" failed and waits: "
     "retry runs it again, skip counts it skipped (its dependents do not "
     "run), abort stops the run as drover abort does. Audited."},
    {"watch", "RUN", "a live run's board, read-only, until it ends",
     dr_cmd_watch, "", "",
     "Shows the live board of the run RUN from another terminal, "
     "read-only, and exits when the run ends. Any user in the run's group "
     "may watch."},
    {"help", "[VERB]", "describe a verb and its options", dr_cmd_helpverb, "",
     "",
     "Prints what VERB does and each of its options, as drover VERB --help "
     "does; without VERB, lists the verbs."},
    {"__complete", "verbs|options VERB|runs|tasks RUN|sites PLAN [from|to]",
     "for the shell completion", dr_cmd_complete, "", "",
     "Prints one candidate a line for contrib/bash-completion/drover."},
};

#define NCMDS (sizeof(cmd_table) / sizeof(cmd_table[0]))

const struct dr_cmd *
dr_cmd_table(size_t *n)
{
	*n = NCMDS;
	return cmd_table;
}

const struct dr_cmd *
dr_cmd_find(const char *name)
{
	size_t i;

	for (i = 0; i < NCMDS; i++)
		if (strcmp(cmd_table[i].name, name) == 0)
			return &cmd_table[i];
	return NULL;
}
