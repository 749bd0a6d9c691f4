/*
 * board.c: what a run prints as it goes (board.h): the line per change, the
 * summary, and whether the terminal gets the live board (live.c) instead of
 * the lines. Called from the run's scheduler hooks; prints only.
 */
#include "drover/board.h"

#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/report.h"

enum dr_board_mode
dr_board_mode(FILE *board, bool json)
{
	const char *e = getenv("DROVER_BOARD");
	int fd = fileno(board);

	if (e && strcmp(e, "lines") == 0)
		return DR_BOARD_LINES;
	if (e && strcmp(e, "live") == 0)
		return DR_BOARD_LIVE;
	if (fd < 0 || !isatty(fd) || dr_trace_on())
		return DR_BOARD_LINES;
	if (json && board != stdout && isatty(STDOUT_FILENO))
		return DR_BOARD_LINES;
	return DR_BOARD_LIVE;
}

void
dr_board_clock(uint64_t ms, char *buf, size_t len)
{
	uint64_t s = ms / 1000;

	snprintf(
	    buf, len, "%02llu:%02llu:%02llu", (unsigned long long)(s / 3600),
	    (unsigned long long)(s / 60 % 60), (unsigned long long)(s % 60));
}

void
dr_board_label(const struct dr_task *t, struct dr_buf *b)
{
	dr_buf_puts(b, t->service->name);
	if (t->tenant)
		dr_buf_printf(b, "/%s", t->tenant->name);
	dr_buf_printf(b, " %s", t->step->name);
	if (t->host)
		dr_buf_printf(b, " %s/%s", t->site->name, t->host->name);
}

void
dr_board_json(const char *run_id, const struct dr_task *t,
              const struct dr_task_run *r, uint64_t since_ms)
{
	struct dr_buf b;
	const char *p;

	dr_buf_init(&b, 0);
	dr_buf_printf(&b, "{\"event\":\"task\",\"run\":\"%s\",\"task\":\"",
	              run_id);
	for (p = t->key; *p; p++) {
		if (*p == '"' || *p == '\\')
			dr_buf_append(&b, "\\", 1);
		dr_buf_append(&b, p, 1);
	}
	dr_buf_printf(&b,
	              "\",\"tier\":%d,\"state\":\"%s\",\"attempt\":%d,"
	              "\"elapsed_ms\":%llu",
	              t->tier, dr_task_state_name(r->state), r->attempts,
	              (unsigned long long)since_ms);
	if (r->exit_code >= 0 && r->state != DR_TS_RUNNING)
		dr_buf_printf(&b, ",\"exit_status\":%d", r->exit_code);
	dr_buf_puts(&b, "}\n");
	fputs(b.data, stdout); /* run.c flushes once per loop turn */
	dr_buf_free(&b);
}

void
dr_board_task(FILE *board, const struct dr_task *t, const struct dr_task_run *r,
              enum dr_task_state old, uint64_t since_ms)
{
	char clock[32], d[32];
	struct dr_buf b;

	dr_board_clock(since_ms, clock, sizeof(clock));
	dr_buf_init(&b, 0);
	dr_buf_printf(&b, "[%s] tier %d ", clock, t->tier);
	dr_board_label(t, &b);
	switch (r->state) {
	case DR_TS_RUNNING:
		dr_buf_puts(&b, r->attempts > 1 ? " retry" : " start");
		if (r->attempts > 1)
			dr_buf_printf(&b, " %d", r->attempts);
		break;
	case DR_TS_SUCCEEDED:
		dr_buf_printf(&b, " ok %s",
		              dr_duration_fmt(r->end_mono_ms - r->start_mono_ms,
		                              d, sizeof(d)));
		break;
	case DR_TS_RETRY_WAIT:
		dr_buf_printf(&b, " failed (attempt %d): %s", r->attempts,
		              r->message ? r->message : "");
		break;
	case DR_TS_FAILED:
		dr_buf_printf(&b, " FAILED%s after %s: %s",
		              r->unreachable ? " (unreachable)" : "",
		              dr_duration_fmt(r->end_mono_ms - r->start_mono_ms,
		                              d, sizeof(d)),
		              r->message ? r->message : "");
		break;
	case DR_TS_SKIPPED:
		dr_buf_printf(&b, " skipped: %s",
		              r->unreachable
		                  ? "host unreachable (unreachable = "
		                    "continue)"
		                  : (r->message ? r->message : ""));
		if (r->unreachable && r->message)
			dr_buf_printf(&b, ": %s", r->message);
		break;
	case DR_TS_CANCELLED:
		if (old == DR_TS_PENDING) {
			dr_buf_free(&b);
			return; /* summarised at the end */
		}
		dr_buf_printf(&b, " cancelled: %s",
		              r->message ? r->message : "");
		break;
	case DR_TS_REFUSED:
		dr_buf_printf(&b, " refused: %s", r->message ? r->message : "");
		break;
	case DR_TS_PENDING:
	case DR_TS_INDETERMINATE:
		dr_buf_printf(&b, " %s", dr_task_state_name(r->state));
		break;
	}
	fprintf(board, "%s\n", b.data);
	if ((r->state == DR_TS_FAILED || r->state == DR_TS_RETRY_WAIT) &&
	    r->tail && r->tail[0]) {
		const char *p = r->tail;
		size_t len = strlen(p);
		if (len > 600)
			p += len - 600;
		fprintf(board, "    | %s\n", p);
	}
	dr_buf_free(&b); /* run.c flushes once per loop turn */
}

void
dr_board_note(FILE *board, const struct dr_task *t, const char *msg,
              uint64_t since_ms)
{
	char clock[32];

	dr_board_clock(since_ms, clock, sizeof(clock));
	fprintf(board, "[%s] %s: %s\n", clock, t->key, msg);
	fflush(board);
}

void
dr_board_summary(FILE *board, const struct dr_graph *g,
                 const struct dr_task_run *runs, const char *run_id,
                 enum dr_run_result res, uint64_t start_wall_ms,
                 uint64_t end_wall_ms, uint64_t incident_ms)
{
	struct dr_recovery *rec;
	size_t i, n, counts[DR_TS_REFUSED + 1] = {0};
	char d[32], rto[32], und[48] = "";

	for (i = 0; i < g->ntasks; i++)
		counts[runs[i].state]++;
	if (counts[DR_TS_INDETERMINATE])
		snprintf(und, sizeof(und), ", %zu indeterminate",
		         counts[DR_TS_INDETERMINATE]);
	fprintf(board,
	        "\n%s %s: %zu succeeded, %zu failed%s, %zu skipped, %zu "
	        "cancelled, %zu refused in %s\n",
	        res == DR_RUN_SUCCEEDED ? "SUCCEEDED"
	        : res == DR_RUN_FAILED  ? "FAILED"
	                                : "INTERRUPTED",
	        run_id, counts[DR_TS_SUCCEEDED], counts[DR_TS_FAILED], und,
	        counts[DR_TS_SKIPPED], counts[DR_TS_CANCELLED],
	        counts[DR_TS_REFUSED],
	        dr_duration_fmt(end_wall_ms - start_wall_ms, d, sizeof(d)));
	dr_report_recoveries(g, runs, start_wall_ms, incident_ms, &rec, &n);
	fprintf(board, "\n%-4s  %-34s  %-10s  %-8s  %s\n", "tier",
	        "service/tenant", "recovered", "rto", "");
	for (i = 0; i < n; i++) {
		struct dr_buf b;
		dr_buf_init(&b, 0);
		dr_buf_puts(&b, rec[i].service->name);
		if (rec[i].tenant)
			dr_buf_printf(&b, "/%s", rec[i].tenant->name);
		if (rec[i].service->rto_ms)
			dr_duration_fmt(rec[i].service->rto_ms, rto,
			                sizeof(rto));
		else
			snprintf(rto, sizeof(rto), "-");
		fprintf(board, "%-4d  %-34s  %-10s  %-8s  %s\n", rec[i].tier,
		        b.data,
		        rec[i].recovered
		            ? dr_duration_fmt(rec[i].recovered_ms, d, sizeof(d))
		            : "no",
		        rto,
		        !rec[i].recovered             ? "NOT RECOVERED"
		        : rec[i].service->rto_ms == 0 ? ""
		        : rec[i].met                  ? "met"
		                                      : "MISSED");
		dr_buf_free(&b);
	}
	free(rec);
}
