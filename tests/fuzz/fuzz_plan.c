/*
 * fuzz_plan.c: libFuzzer target for the plan loader and everything that
 * reads a loaded plan: expansion, run order, show, the runbook (Markdown and
 * HTML) and the DOT graph.
 *
 * The input is plan text. When it loads, the plan is expanded for a few
 * directions (a lost site of role primary or secondary to a target of role
 * standby, as a failover, or drill, as a drill) and each graph is rendered
 * to /dev/null. Nothing else is read or written: no known_hosts file is given
 * to the runbook, and a plan that uses libconfig's @include directive (which
 * opens a file) is rejected before parsing (has_include()).
 *
 * Built twice: with libFuzzer (DROVER_FUZZ=ON, clang) and with replay.c as
 * a CTest test over the checked-in corpus and regression inputs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/cmd.h"
#include "drover/common.h"
#include "drover/diag.h"
#include "drover/graph.h"
#include "drover/plan.h"
#include "drover/runbook.h"

#define FUZZ_MAX_INPUT 65536 /* larger plans only slow the fuzzer down */
#define MAX_PAIRS 4          /* directions expanded per plan */
#define MAX_LOST 16          /* sites in the "every lost site" expansion */
#define FIXED_NOW_MS 1702004400000ULL /* 2023-12-08T03:00:00Z */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
const char *__lsan_default_suppressions(void);
const char *__lsan_default_options(void);

/*
 * LeakSanitizer suppressions, compiled in so that they hold for the libFuzzer
 * binary and for the replay tests alike, whatever LSAN_OPTIONS says.
 *
 * libconfig 1.5 (Debian 12's libconfig9) leaks the text of a string token
 * when a syntax error is found with that token as the parser's lookahead,
 * e.g. `a = ["x"] "";` or `a = 1 "abc";`: grammar.y declares
 * `%token <sval> TOK_STRING` with no %destructor, so bison discards the
 * token without freeing it, and config_destroy() cannot reach it. The text
 * is allocated by the scanner, in one of two ways:
 *
 *   non-empty string: realloc <- strbuf_append <- libconfig_yylex <- ...
 *   empty string:     calloc(1, 1) <- libconfig_yylex <- ... (the call
 *                     comes from scanctx_take_string, a tail call, so its
 *                     frame is not on the stack)
 *
 * libconfig is built without frame pointers, so with ASan's default (fast)
 * unwinding these stacks end inside libconfig: no drover frame is on them.
 * Each pattern names one libconfig scanner function exactly (anchored, not
 * a substring): strbuf_append is libconfig's string buffer, used only by
 * its scanner and parser; libconfig_yylex is its flex scanner. Neither is
 * on the stack of anything drover allocates, nor of the config_setting_t
 * objects and values libconfig builds in libconfig_yyparse: a drover leak,
 * or a missing config_destroy(), is still reported.
 *
 * The patterns match function names, so the stack must be symbolized:
 * gcc's runtime does it itself; clang's needs llvm-symbolizer (Debian:
 * llvm-14, not a dependency of clang) or ASAN_OPTIONS=
 * external_symbolizer_path=/usr/bin/addr2line (run-fuzz.sh sets one).
 */
const char *
__lsan_default_suppressions(void)
{
	return "leak:^strbuf_append$\n"
	       "leak:^libconfig_yylex$\n";
}

/* Not a report per suppressed leak: libFuzzer checks for leaks often. */
const char *
__lsan_default_options(void)
{
	return "print_suppressions=0";
}

/* Opened once; every document is written here and thrown away. */
static FILE *
sink(void)
{
	static FILE *f;

	if (f == NULL && (f = fopen("/dev/null", "w")) == NULL) {
		perror("fuzz_plan: /dev/null");
		abort();
	}
	return f;
}

/*
 * True when a line of s (n bytes) looks like libconfig's include directive,
 * which opens a file: [ \t]*@include[ \t]+" at the start of a line
 * (libconfig acts on it outside comments and strings; this ignores context,
 * so it is stricter). drover itself refuses any line starting with
 * @include; this keeps the harness from opening files should that check
 * ever be bypassed, while lines like "@include x" still reach it.
 */
static bool
has_include(const char *s, size_t n)
{
	const char *p = s, *end = s + n;

	while (p < end) {
		const char *q = p;
		while (q < end && (*q == ' ' || *q == '\t'))
			q++;
		if ((size_t)(end - q) > 8 && memcmp(q, "@include", 8) == 0) {
			q += 8;
			if (q < end && (*q == ' ' || *q == '\t')) {
				while (q < end && (*q == ' ' || *q == '\t'))
					q++;
				if (q < end && *q == '"')
					return true;
			}
		}
		if ((p = memchr(p, '\n', (size_t)(end - p))) == NULL)
			break;
		p++;
	}
	return false;
}

static bool
is_lost_role(enum dr_site_role r)
{
	return r == DR_SITE_PRIMARY || r == DR_SITE_SECONDARY;
}

static bool
is_target_role(enum dr_site_role r)
{
	return r == DR_SITE_STANDBY || r == DR_SITE_DRILL;
}

/* Expands one direction and renders everything that reads a graph. */
static void
expand_one(const struct dr_plan *plan, const char *const *from, size_t nfrom,
           const struct dr_site *to, struct dr_diags *diags)
{
	struct dr_expand_opts eo = {.from = from, .nfrom = nfrom};
	struct dr_runbook_opts ro = {.now_wall_ms = FIXED_NOW_MS};
	struct dr_graph *g = NULL;
	size_t *order;
	FILE *f = sink();

	eo.to = to->name;
	/* Cleanup steps expand in drill mode only. */
	eo.mode = to->role == DR_SITE_DRILL ? DR_MODE_DRILL : DR_MODE_FAILOVER;
	if (dr_graph_expand(plan, &eo, diags, &g) != 0) {
		dr_graph_free(g);
		return;
	}
	order = dr_xcalloc(g->ntasks + 1, sizeof(*order));
	if (dr_graph_order(g, order) == 0)
		dr_cmd_show_print(g, order, f);
	ro.format = DR_RUNBOOK_MD;
	dr_runbook_write(g, &ro, f);
	ro.format = DR_RUNBOOK_HTML;
	dr_runbook_write(g, &ro, f);
	dr_graph_dot(g, f);
	fflush(f);
	free(order);
	dr_graph_free(g);
}

static void
expand_all(const struct dr_plan *plan, struct dr_diags *diags)
{
	const char *lost[MAX_LOST];
	const struct dr_site *first_to = NULL;
	size_t i, j, pairs = 0, nlost = 0;

	for (i = 0; i < plan->nsites; i++) {
		const struct dr_site *from = &plan->sites[i];
		if (!is_lost_role(from->role))
			continue;
		if (nlost < MAX_LOST)
			lost[nlost++] = from->name;
		for (j = 0; j < plan->nsites; j++) {
			const struct dr_site *to = &plan->sites[j];
			if (!is_target_role(to->role) || pairs == MAX_PAIRS)
				continue;
			if (first_to == NULL)
				first_to = to;
			expand_one(plan, &from->name, 1, to, diags);
			pairs++;
		}
	}
	/* Several lost sites at once ("--from milan,rome"). */
	if (nlost > 1 && first_to != NULL)
		expand_one(plan, lost, nlost, first_to, diags);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct dr_diags diags = {0};
	struct dr_plan *plan = NULL;
	char *text;

	if (size > FUZZ_MAX_INPUT || memchr(data, '\0', size) != NULL ||
	    has_include((const char *)data, size))
		return -1; /* not added to the corpus */
	text = dr_xmalloc(size + 1);
	memcpy(text, data, size);
	text[size] = '\0';
	if (dr_plan_load_string(text, "fuzz.cfg", &diags, &plan) == 0)
		expand_all(plan, &diags);
	dr_diag_print(&diags, sink());
	fflush(sink());
	dr_plan_free(plan);
	dr_diag_clear(&diags);
	free(text);
	return 0;
}
