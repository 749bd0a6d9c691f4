/*
 * check.c: readiness checks for one direction of a plan, on the loop.
 *
 * Each host needed by the graph goes through one machine (enum host_state):
 * queued until the limits allow a session, connecting (strict host key and
 * auth: the "ssh" row), checking (one remote sh script per batch of rows,
 * fed on stdin, one exec at a time), closing, done. Copies from the
 * controller's disk are checked in the thread pool. The check ends when
 * every host is done, the local work returned and the kick timer closed.
 */
#include "drover/check.h"

#include <dirent.h>
#include <fcntl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/exec.h"
#include "drover/ssh.h"
#include "drover/shcmd.h"

#define CHECK_TIMEOUT_MS 30000
#define BATCH_MAX 200 /* rows per remote command */
#define OUT_CAP 32768 /* output kept per command: BATCH_MAX short lines */
#define FUTURE_SLACK_MS 60000 /* mtimes this far ahead are clock noise */

/* Outcome of one backup test, remote (a word on the output) or local. */
enum bres {
	B_OK,
	B_MISSING,
	B_NOTFILE,
	B_UNREADABLE,
	B_NOMANIFEST,
	B_MAN_UNREADABLE,
	B_BADMANIFEST,
	B_NOSTAT,
	B_NONE /* no answer */
};

static const char *const bres_words[] = {
    "ok",         "missing",       "notfile",     "unreadable",
    "nomanifest", "manunreadable", "badmanifest", "nostat"};

enum host_state {
	H_QUEUED,
	H_CONNECTING,
	H_CHECKING,
	H_CLOSING,
	H_DONE,
	H_LAST
};

static const char *const host_state_names[] = {"queued", "connecting",
                                               "checking", "closing", "done"};
_Static_assert(DR_NELEM(host_state_names) == H_LAST, "host_state_names");

struct hcheck {
	struct dr_check *c;
	const struct dr_host *host;
	const struct dr_conn *conn;
	size_t site_idx;
	enum host_state st;
	struct dr_ssh *ssh;
	struct dr_ssh_cmd *cmd; /* the batch running on it */
	size_t row0;            /* the ssh row; the host's other rows follow */
	size_t nrows;           /* including the ssh row */
	size_t next;            /* first row of the next batch */
	size_t batch_end;
	bool tolerant; /* every task on it has unreachable = continue */
	char label[160];
};

/* Copies from the controller's disk, checked in the thread pool. */
struct local {
	uv_work_t req;
	struct dr_check *c;
	size_t row0, nrows;
	enum bres *res; /* by row, written by the worker */
	int64_t *mtime_s;
	bool busy;
};

struct dr_check {
	struct dr_check_opts o;
	dr_check_done_cb done;
	void *arg;
	struct dr_check_row *rows;
	bool *manifest;   /* by row: backup needs its manifest */
	char **rejected;  /* by row: a restore-point set's points passed over */
	int64_t *point_s; /* by row: the set's newest clean point, 0: none */
	int64_t compromise_s; /* the earliest point an indicator is in */
	char *compromise_row; /* which row found it */
	size_t nrows, cap;
	struct hcheck *hosts;
	size_t nhosts;
	int active;       /* sessions open or closing */
	int *site_active; /* by plan site index */
	struct local local;
	uv_timer_t kick;
	bool cancelled, ended;
	uint64_t now_ms;
};

/* Tracing */

static void
set_state(struct hcheck *h, enum host_state st)
{
	dr_trace_state("check", h->label, host_state_names[h->st],
	               host_state_names[st]);
	h->st = st;
}

/* Formatting */

const char *
dr_check_age_fmt(uint64_t ms, char *buf, size_t len)
{
	const uint64_t H = 3600000, D = 24 * H;

	if (ms < 3600000)
		return dr_duration_fmt(ms, buf, len);
	if (ms < 2 * D) {
		if (ms / 60000 % 60)
			snprintf(buf, len, "%lluh%02llum",
			         (unsigned long long)(ms / H),
			         (unsigned long long)(ms / 60000 % 60));
		else
			snprintf(buf, len, "%lluh",
			         (unsigned long long)(ms / H));
	} else if (ms / H % 24) {
		snprintf(buf, len, "%llud%02lluh", (unsigned long long)(ms / D),
		         (unsigned long long)(ms / H % 24));
	} else {
		snprintf(buf, len, "%llud", (unsigned long long)(ms / D));
	}
	return buf;
}

/* Rows */

static size_t
add_row(struct dr_check *c, const struct dr_host *h, enum dr_check_kind kind,
        char *name, const char *path, bool manifest, uint64_t rpo_ms)
{
	struct dr_check_row *r;

	dr_grow((void **)&c->rows, &c->cap, c->nrows + 1, sizeof(*c->rows));
	c->manifest = dr_xrealloc(c->manifest, c->cap * sizeof(bool));
	c->rejected = dr_xrealloc(c->rejected, c->cap * sizeof(char *));
	c->point_s = dr_xrealloc(c->point_s, c->cap * sizeof(int64_t));
	r = &c->rows[c->nrows];
	memset(r, 0, sizeof(*r));
	r->site = h ? h->site : NULL;
	r->host = h;
	r->kind = kind;
	r->name = name;
	r->path = path ? dr_xstrdup(path) : NULL;
	r->status = DR_CHECK_PENDING;
	r->age_ms = -1;
	r->rpo_ms = rpo_ms;
	c->manifest[c->nrows] = manifest;
	c->rejected[c->nrows] = NULL;
	c->point_s[c->nrows] = 0;
	return c->nrows++;
}

static void
set_row(struct dr_check_row *r, enum dr_check_status st, char *detail)
{
	if (r->status != DR_CHECK_PENDING) {
		free(detail);
		return;
	}
	r->status = st;
	r->detail = detail;
}

/* Ends every pending row of [from, to) with st and the same detail. */
static void
set_rows(struct dr_check *c, size_t from, size_t to, enum dr_check_status st,
         const char *detail)
{
	size_t i;

	for (i = from; i < to; i++)
		set_row(&c->rows[i], st, dr_xstrdup(detail));
}

static bool
task_needs_session(const struct dr_task *t)
{
	switch (t->step->action) {
	case DR_ACT_RUN:
	case DR_ACT_SCRIPT:
	case DR_ACT_COPY:
		return true;
	default:
		return t->step->nrequires > 0 && t->host != NULL;
	}
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static bool
checks_backup(const struct dr_task *t)
{
	return !t->refused && !t->drill_skip &&
	       t->step->action == DR_ACT_COPY && t->sha256 != NULL &&
	       t->src_path != NULL;
}

/* "backup payroll/comune-lodi"; the step too when the service copies
 * several checked files. */
static char *
backup_name(const struct dr_task *t)
{
	const struct dr_service *svc = t->service;
	struct dr_buf b;
	size_t i, n = 0;

	for (i = 0; i < svc->nsteps; i++)
		if (svc->steps[i].action == DR_ACT_COPY &&
		    svc->steps[i].copy.sha256 != NULL)
			n++;
	dr_buf_init(&b, 0);
	dr_buf_printf(&b, "backup %s", svc->name);
	if (t->tenant)
		dr_buf_printf(&b, "/%s", t->tenant->name);
	if (n > 1)
		dr_buf_printf(&b, " (%s)", t->step->name);
	return dr_buf_steal(&b);
}

/* Adds the backup rows whose source is h (NULL: the controller). */
static void
add_backup_rows(struct dr_check *c, const struct dr_host *h)
{
	const struct dr_graph *g = c->o.graph;
	size_t i, j, first = c->nrows;

	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		char *name;
		bool dup = false;

		if (!checks_backup(t) || t->src_host != h)
			continue;
		name = backup_name(t);
		for (j = first; j < c->nrows && !dup; j++)
			dup = strcmp(c->rows[j].name, name) == 0 &&
			      strcmp(c->rows[j].path, t->src_path) == 0;
		if (dup) {
			free(name);
			continue;
		}
		add_row(c, h, DR_CHECK_BACKUP, name, t->src_path,
		        strcmp(t->sha256, "manifest") == 0, t->service->rpo_ms);
	}
}

/* Adds the rows of host h when a task needs it. */
static void
plan_host(struct dr_check *c, const struct dr_conn *cn)
{
	const struct dr_host *h = cn->host;
	const struct dr_graph *g = c->o.graph;
	const char **cmds = NULL;
	size_t i, j, ncmds = 0, cap = 0;
	bool needed = false, tolerant = true;
	struct hcheck *hc;

	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		/* What a drill never connects to, check does not either. */
		if (t->refused || t->drill_skip || !task_needs_session(t))
			continue;
		if (t->host != h && t->src_host != h)
			continue;
		needed = true;
		if (t->step->unreachable != DR_UNREACH_CONTINUE)
			tolerant = false;
		if (t->host != h)
			continue;
		for (j = 0; j < t->step->nrequires; j++) {
			dr_grow((void **)&cmds, &cap, ncmds + 1, sizeof(*cmds));
			cmds[ncmds++] = t->step->requires[j];
		}
	}
	if (!needed)
		return;
	hc = &c->hosts[c->nhosts++];
	hc->c = c;
	hc->host = h;
	hc->conn = cn;
	hc->site_idx = cn->site_index;
	hc->st = H_QUEUED;
	hc->tolerant = tolerant;
	snprintf(hc->label, sizeof(hc->label), "%s/%s", h->site->name, h->name);
	hc->row0 =
	    add_row(c, h, DR_CHECK_SSH, dr_xstrdup("ssh"), NULL, false, 0);
	if (ncmds)
		qsort(cmds, ncmds, sizeof(*cmds), cmp_str);
	for (i = 0; i < ncmds; i++) {
		if (i > 0 && strcmp(cmds[i], cmds[i - 1]) == 0)
			continue;
		add_row(c, h, DR_CHECK_COMMAND,
		        dr_xasprintf("command %s", cmds[i]), NULL, false, 0);
	}
	free(cmds);
	add_backup_rows(c, h);
	hc->nrows = c->nrows - hc->row0;
	hc->next = hc->row0 + 1;
}

/* Results */

static void
backup_result(struct dr_check *c, size_t idx, enum bres res, int64_t mtime_s,
              const char *user)
{
	struct dr_check_row *r = &c->rows[idx];
	const char *p = r->path;
	char a[32], b[32];
	int64_t age;

	switch (res) {
	case B_OK:
		break;
	case B_MISSING:
		set_row(r, DR_CHECK_FAILED,
		        dr_xasprintf("missing: %s does not exist", p));
		return;
	case B_NOTFILE:
		set_row(r, DR_CHECK_FAILED,
		        dr_xasprintf("not a regular file: %s", p));
		return;
	case B_UNREADABLE:
		set_row(r, DR_CHECK_FAILED,
		        dr_xasprintf("not readable by %s: %s", user, p));
		return;
	case B_NOMANIFEST:
		set_row(r, DR_CHECK_FAILED,
		        dr_xasprintf("manifest missing: %s.sha256 does not "
		                     "exist (sha256 = \"manifest\")",
		                     p));
		return;
	case B_MAN_UNREADABLE:
		set_row(r, DR_CHECK_FAILED,
		        dr_xasprintf("manifest not readable by %s: %s.sha256",
		                     user, p));
		return;
	case B_BADMANIFEST:
		set_row(r, DR_CHECK_FAILED,
		        dr_xasprintf("manifest %s.sha256: no sha256 digest on "
		                     "its first line",
		                     p));
		return;
	case B_NOSTAT:
		set_row(
		    r, DR_CHECK_FAILED,
		    dr_xasprintf("cannot read the modification time of %s", p));
		return;
	case B_NONE:
		set_row(r, DR_CHECK_FAILED,
		        dr_xstrdup("no answer from the check"));
		return;
	}
	age = (int64_t)c->now_ms - mtime_s * 1000;
	if (age < -(int64_t)FUTURE_SLACK_MS) {
		set_row(r, DR_CHECK_FAILED,
		        dr_xasprintf(
		            "modified %s in the future: check the "
		            "clocks of the controller and the host (%s)",
		            dr_check_age_fmt((uint64_t)-age, a, sizeof(a)), p));
		return;
	}
	if (age < 0)
		age = 0;
	r->age_ms = age;
	dr_check_age_fmt((uint64_t)age, a, sizeof(a));
	if (r->rpo_ms == 0) {
		set_row(r, DR_CHECK_OK, dr_xasprintf("%s old, no rpo", a));
		return;
	}
	dr_check_age_fmt(r->rpo_ms, b, sizeof(b));
	if ((uint64_t)age > r->rpo_ms)
		set_row(r, DR_CHECK_FAILED,
		        dr_xasprintf("too old: %s old, rpo %s: %s; take a "
		                     "fresh backup or accept the data loss",
		                     a, b, p));
	else
		set_row(r, DR_CHECK_OK, dr_xasprintf("%s old, rpo %s", a, b));
}

/* End */

static void
kick_closed(uv_handle_t *handle)
{
	struct dr_check *c = handle->data;

	c->done(c, c->arg);
}

/* A set's newest clean point taken at or after the earliest point an
 * indicator is in (in any set): a run takes an older one (scan.h). */
static void
compromise(struct dr_check *c)
{
	char when[40], *d;
	size_t i;

	if (c->compromise_s == 0)
		return;
	dr_time_fmt((uint64_t)c->compromise_s * 1000, when, sizeof(when));
	for (i = 0; i < c->nrows; i++) {
		struct dr_check_row *r = &c->rows[i];
		if (c->point_s[i] == 0 || c->point_s[i] < c->compromise_s)
			continue;
		d = dr_xasprintf("%s; but taken after the compromise time %s "
		                 "(an indicator in %s): a run restores an "
		                 "older point",
		                 r->detail ? r->detail : "", when,
		                 c->compromise_row);
		free((char *)r->detail);
		r->detail = d;
	}
}

static void
maybe_end(struct dr_check *c)
{
	size_t i;

	if (c->ended || c->local.busy)
		return;
	for (i = 0; i < c->nhosts; i++)
		if (c->hosts[i].st != H_DONE)
			return;
	c->ended = true;
	compromise(c);
	uv_close((uv_handle_t *)&c->kick, kick_closed);
}

/* Hosts */

static void launch(struct dr_check *c);

static void
on_closed(void *arg)
{
	struct hcheck *h = arg;
	struct dr_check *c = h->c;

	h->ssh = NULL;
	set_state(h, H_DONE);
	c->active--;
	c->site_active[h->site_idx]--;
	launch(c);
	maybe_end(c);
}

static void
host_close(struct hcheck *h)
{
	set_state(h, H_CLOSING);
	dr_ssh_close(h->ssh, on_closed, h);
}

/* "torino/to-db1: handshake: reason" -> "handshake: reason". */
static const char *
strip_label(const struct hcheck *h, const char *msg)
{
	size_t n = strlen(h->label);

	if (msg == NULL || *msg == '\0')
		return "";
	if (strncmp(msg, h->label, n) == 0 && msg[n] == ':' &&
	    msg[n + 1] == ' ')
		return msg + n + 2;
	return msg;
}

/* A set row's lines: "rej WHY", "ok MTIME PATH", "noclean N". */
static void
set_line(struct dr_check *c, size_t idx, const char *word, const char *rest,
         const char *eol, const char *user)
{
	struct dr_check_row *r = &c->rows[idx];
	size_t n = eol ? (size_t)(eol - rest) : strlen(rest);
	char *text, *d;

	if (n && *rest == ' ') {
		rest++;
		n--;
	}
	text = dr_xstrndup(rest, n);
	if (strcmp(word, "rej") == 0) {
		char *old = c->rejected[idx], *sp = strchr(text, ' ');
		int64_t m = strtoll(text, NULL, 10);
		const char *why = sp ? sp + 1 : text;
		c->rejected[idx] =
		    old ? dr_xasprintf("%s; %s", old, why) : dr_xstrdup(why);
		free(old);
		if (strstr(why, ": infected: ") && m > 0 &&
		    (c->compromise_s == 0 || m < c->compromise_s)) {
			c->compromise_s = m;
			free(c->compromise_row);
			c->compromise_row = dr_xstrdup(r->name);
		}
	} else if (strcmp(word, "ok") == 0) {
		char *sp = strchr(text, ' ');
		const char *pt = sp ? sp + 1 : "?", *base = strrchr(pt, '/');
		c->point_s[idx] = strtoll(text, NULL, 10);
		backup_result(c, idx, B_OK, c->point_s[idx], user);
		d = dr_xasprintf("newest clean point %s, %s%s%s",
		                 base ? base + 1 : pt,
		                 r->detail ? r->detail : "",
		                 c->rejected[idx] ? "; passed over: " : "",
		                 c->rejected[idx] ? c->rejected[idx] : "");
		free((char *)r->detail);
		r->detail = d;
	} else {
		set_row(r, DR_CHECK_FAILED,
		        dr_xasprintf("no clean restore point in %s%s%s",
		                     r->path,
		                     c->rejected[idx] ? ": passed over: " : "",
		                     c->rejected[idx] ? c->rejected[idx] : ""));
	}
	free(text);
}

static void
parse_output(struct hcheck *h, const char *out)
{
	struct dr_check *c = h->c;
	const char *user = h->conn->user;
	const char *line = out;

	while (line && *line) {
		const char *eol = strchr(line, '\n');
		char word[32] = "";
		unsigned long k;
		long long mtime = 0;
		char *end;
		size_t idx, w;

		if (line[0] != '@')
			goto next;
		k = strtoul(line + 1, &end, 10);
		if (end == line + 1 || *end != ' ')
			goto next;
		idx = h->row0 + (size_t)k;
		if (idx < h->next || idx >= h->batch_end)
			goto next;
		end++;
		for (w = 0; w + 1 < sizeof(word) && end[w] && end[w] != ' ' &&
		            end[w] != '\n';
		     w++)
			word[w] = end[w];
		word[w] = '\0';
		if (end[w] == ' ')
			mtime = strtoll(end + w + 1, NULL, 10);
		if (c->rows[idx].kind == DR_CHECK_BACKUP &&
		    strchr(c->rows[idx].path, '*') != NULL) {
			set_line(c, idx, word, end + w, eol, user);
			goto next;
		}
		if (c->rows[idx].kind == DR_CHECK_COMMAND) {
			const char *cmd =
			    c->rows[idx].name + strlen("command ");
			if (strcmp(word, "ok") == 0)
				set_row(&c->rows[idx], DR_CHECK_OK,
				        dr_xstrdup("ok"));
			else
				set_row(&c->rows[idx], DR_CHECK_FAILED,
				        dr_xasprintf("missing: %s is not in "
				                     "the PATH of %s; install "
				                     "it before the run",
				                     cmd, user));
		} else {
			enum bres r = B_NONE;
			size_t i;
			for (i = 0;
			     i < sizeof(bres_words) / sizeof(bres_words[0]);
			     i++)
				if (strcmp(word, bres_words[i]) == 0)
					r = (enum bres)i;
			backup_result(c, idx, r, mtime, user);
		}
	next:
		line = eol ? eol + 1 : NULL;
	}
}

static void next_batch(struct hcheck *h);

static void
on_exec(struct dr_ssh *ssh, const struct dr_ssh_result *res, void *arg)
{
	struct hcheck *h = arg;
	struct dr_check *c = h->c;
	char *why;

	(void)ssh;
	h->cmd = NULL;
	if (res->tail)
		parse_output(h, res->tail);
	if (c->cancelled)
		why = dr_xstrdup("cancelled");
	else if (res->status != 0)
		why = dr_xasprintf("not checked: %s",
		                   strip_label(h, res->message));
	else if (res->exit_code != 0 || res->exit_signal[0])
		why = dr_xasprintf("not checked: the check script %s",
		                   strip_label(h, res->message));
	else
		why = dr_xstrdup("no answer from the check");
	set_rows(c, h->next, h->batch_end, DR_CHECK_FAILED, why);
	free(why);
	h->next = h->batch_end;
	next_batch(h);
}

/*
 * A restore-point set: its points newest first, each checked on the source
 * host as it is (nothing is copied or unpacked): its checksum, and the
 * plan's indicators that can be seen there (names and extensions of a tar
 * file's members, the YARA rules on the raw file when yara is installed
 * there), at most max_fallback older than the newest. Prints "@K rej WHY"
 * per point passed over, then "@K ok MTIME PATH" or "@K noclean". The
 * hunt (check.h) goes on past a clean point and prints "@K infected MTIME
 * PATH" and "@K finding WHAT" per point an indicator is in.
 */
void
dr_check_set_script(struct dr_buf *b, const struct dr_plan *p, const char *path,
                    int maxf, size_t k, bool hunt)
{
	const char *q = path, *star;
	size_t i;

	dr_buf_puts(b, "(for f in ");
	while ((star = strchr(q, '*')) != NULL) {
		if (star > q) {
			char *piece = dr_xstrndup(q, (size_t)(star - q));
			dr_sh_quote(b, piece);
			free(piece);
		}
		dr_buf_puts(b, "*");
		q = star + 1;
	}
	if (*q)
		dr_sh_quote(b, q);
	dr_buf_puts(b, "; do case \"$f\" in *.sha256) continue;; esac; "
	               "[ -f \"$f\" ] && stat -c '%Y %n' -- \"$f\"; done) | "
	               "sort -rn | { n=0; while read -r m f; do ");
	if (hunt) /* $before: the incident, in seconds (0: none) */
		dr_buf_puts(b,
		            "if [ \"${before:-0}\" -gt 0 ] && "
		            "[ \"$m\" -ge \"$before\" ]; then continue; fi; ");
	dr_buf_puts(b, "n=$((n + 1)); ");
	dr_buf_printf(b, "if [ \"$n\" -gt %d ]; then break; fi; ", maxf + 1);
	dr_buf_printf(
	    b,
	    "d=${f%%/*}; x=${f##*/}; "
	    "if ! (cd \"$d\" && sha256sum -c --status -- \"$x.sha256\"); then "
	    "echo \"@%zu rej $m $x: checksum does not verify\"; continue; fi; "
	    "hit=; ",
	    k);
	if (p->nioc_names || p->nioc_extensions) {
		dr_buf_puts(b,
		            "if tar -tf \"$f\" >/dev/null 2>&1; then "
		            "hit=$(tar -tf \"$f\" | while IFS= read -r y; do "
		            "case \"$y\" in ");
		for (i = 0; i < p->nioc_names; i++) {
			dr_buf_puts(b, "*/");
			dr_sh_quote(b, p->ioc_names[i]);
			dr_buf_puts(b, "|");
			dr_sh_quote(b, p->ioc_names[i]);
			dr_buf_puts(b, ") echo \"file name $y\"; break;; ");
		}
		for (i = 0; i < p->nioc_extensions; i++) {
			dr_buf_puts(b, "*");
			dr_sh_quote(b, p->ioc_extensions[i]);
			dr_buf_puts(b, ") echo \"extension $y\"; break;; ");
		}
		dr_buf_puts(b, "esac; done); fi; ");
	}
	if (p->ioc_yara) {
		dr_buf_puts(b, "if [ -z \"$hit\" ] && command -v yara "
		               ">/dev/null 2>&1; then y=$(yara ");
		dr_sh_quote(b, p->ioc_yara);
		dr_buf_puts(
		    b, " \"$f\" | head -n 1); "
		       "[ -z \"$y\" ] || hit=\"yara rule ${y%% *}\"; fi; ");
	}
	if (hunt) {
		dr_buf_printf(
		    b,
		    "if [ -n \"$hit\" ]; then echo \"@%zu infected $m "
		    "$f\"; printf '@%zu finding %%s\\n' \"$hit\" | "
		    "head -n 1; continue; fi; "
		    "echo \"@%zu ok $m $f\"; done; "
		    "echo \"@%zu done $n\"; }\n",
		    k, k, k, k);
		return;
	}
	dr_buf_printf(
	    b,
	    "if [ -n \"$hit\" ]; then echo \"@%zu rej $m $x: infected: "
	    "$hit\"; continue; fi; "
	    "echo \"@%zu ok $m $f\"; exit 0; done; "
	    "echo \"@%zu noclean $n\"; }\n",
	    k, k, k);
}

static void
set_script(struct dr_check *c, struct dr_buf *b, const char *path, size_t k)
{
	const struct dr_plan *p = c->o.graph->plan;
	int maxf = p->defaults.max_fallback;
	size_t i;

	for (i = 0; i < c->o.graph->ntasks; i++) {
		const struct dr_task *t = &c->o.graph->tasks[i];
		if (t->src_path && strcmp(t->src_path, path) == 0) {
			maxf = t->step->copy.max_fallback;
			break;
		}
	}
	dr_check_set_script(b, p, path, maxf, k, false);
}

/* One batch as a POSIX sh script: one "@K WORD [MTIME]" line per row. */
static void
build_script(struct hcheck *h, struct dr_buf *b)
{
	struct dr_check *c = h->c;
	size_t i;

	dr_buf_puts(b, "exec 2>/dev/null\n");
	for (i = h->next; i < h->batch_end; i++) {
		const struct dr_check_row *r = &c->rows[i];
		size_t k = i - h->row0;

		if (r->kind == DR_CHECK_COMMAND) {
			dr_buf_puts(b, "if command -v ");
			dr_sh_quote(b, r->name + strlen("command "));
			dr_buf_printf(b,
			              " >/dev/null; then echo '@%zu ok'; "
			              "else echo '@%zu missing'; fi\n",
			              k, k);
			continue;
		}
		if (strchr(r->path, '*') != NULL) {
			set_script(c, b, r->path, k);
			continue;
		}
		dr_buf_puts(b, "f=");
		dr_sh_quote(b, r->path);
		dr_buf_printf(b,
		              "; if [ ! -e \"$f\" ]; then echo '@%zu missing'; "
		              "elif [ ! -f \"$f\" ]; then echo '@%zu notfile'; "
		              "elif [ ! -r \"$f\" ]; then echo '@%zu "
		              "unreadable'; ",
		              k, k, k);
		if (c->manifest[i])
			dr_buf_printf(
			    b,
			    "elif [ ! -e \"$f.sha256\" ]; then echo '@%zu "
			    "nomanifest'; "
			    "elif [ ! -r \"$f.sha256\" ]; then echo '@%zu "
			    "manunreadable'; "
			    "elif ! head -c 4096 -- \"$f.sha256\" | head -n 1 "
			    "| "
			    "grep -Eq '^[[:blank:]\\]*[0-9A-Fa-f]{64}"
			    "([[:blank:]]|$)'; then echo '@%zu badmanifest'; ",
			    k, k, k);
		dr_buf_printf(b,
		              "elif ! m=$(stat -c %%Y -- \"$f\"); then echo "
		              "'@%zu nostat'; else echo \"@%zu ok $m\"; fi\n",
		              k, k);
	}
	dr_buf_puts(b, "exit 0\n");
}

static void
next_batch(struct hcheck *h)
{
	struct dr_check *c = h->c;
	struct dr_ssh_exec_opts eo = {0};
	struct dr_buf script;
	size_t end = h->row0 + h->nrows;
	int r;

	if (c->cancelled)
		set_rows(c, h->next, end, DR_CHECK_FAILED, "cancelled");
	if (c->cancelled || h->next >= end) {
		host_close(h);
		return;
	}
	h->batch_end = h->next + BATCH_MAX < end ? h->next + BATCH_MAX : end;
	dr_buf_init(&script, 0);
	build_script(h, &script);
	eo.command = "sh -s";
	eo.stdin_data = script.data;
	eo.stdin_len = script.len;
	eo.tail_cap = OUT_CAP;
	eo.timeout_ms =
	    c->o.check_timeout_ms ? c->o.check_timeout_ms : CHECK_TIMEOUT_MS;
	set_state(h, H_CHECKING);
	r = dr_ssh_exec(h->ssh, &eo, on_exec, h, &h->cmd);
	dr_buf_free(&script);
	if (r != 0) {
		char *why = dr_xasprintf(
		    "not checked: %s",
		    r == DR_EDISCONNECT ? strip_label(h, dr_ssh_error(h->ssh))
		                        : dr_strerror(r));
		set_rows(c, h->next, end, DR_CHECK_FAILED, why);
		free(why);
		host_close(h);
	}
}

/* "unreachable: connect: connection refused", "auth refused: ...". */
static char *
connect_reason(const struct hcheck *h, int status, const char *msg)
{
	const char *m = strip_label(h, msg);
	const char *what = "";

	if (*m == '\0')
		m = dr_strerror(status);
	switch (status) {
	case DR_ECONNECT:
		what = "unreachable: ";
		break;
	case DR_EAUTH:
		what = "auth refused: ";
		break;
	case DR_ETIMEDOUT:
		what = "timed out: ";
		break;
	default:
		break; /* host key messages name themselves */
	}
	return dr_xasprintf("%s%s", what, m);
}

static void
on_connect(struct dr_ssh *ssh, int status, const char *msg, void *arg)
{
	struct hcheck *h = arg;
	struct dr_check *c = h->c;
	struct dr_check_row *r = &c->rows[h->row0];
	size_t end = h->row0 + h->nrows;

	(void)ssh;
	if (status == 0) {
		set_row(r, DR_CHECK_OK, dr_xstrdup("ok"));
		next_batch(h);
		return;
	}
	if (status == DR_ECANCELED || c->cancelled)
		set_row(r, DR_CHECK_FAILED, dr_xstrdup("cancelled"));
	else if (status == DR_ECONNECT && h->tolerant)
		set_row(r, DR_CHECK_WARNING,
		        dr_xasprintf("unreachable, and every step on it has "
		                     "unreachable = \"continue\": %s",
		                     strip_label(h, msg)));
	else
		set_row(r, DR_CHECK_FAILED, connect_reason(h, status, msg));
	set_rows(c, h->row0 + 1, end, DR_CHECK_SKIPPED,
	         "not checked: no ssh session");
	if (h->st == H_CONNECTING)
		host_close(h);
}

static void
host_start(struct hcheck *h)
{
	struct dr_check *c = h->c;
	struct dr_ssh_opts so;
	int r;

	dr_exec_ssh_opts(h->conn, h->label, c->o.guard, &so);
	c->active++;
	c->site_active[h->site_idx]++;
	set_state(h, H_CONNECTING);
	r = dr_ssh_new(c->o.loop, &so, &h->ssh);
	if (r != 0) {
		h->ssh = NULL;
		set_row(&c->rows[h->row0], DR_CHECK_FAILED,
		        dr_xasprintf("%s (address, user and known_hosts are "
		                     "required)",
		                     dr_strerror(r)));
		set_rows(c, h->row0 + 1, h->row0 + h->nrows, DR_CHECK_SKIPPED,
		         "not checked: no ssh session");
		c->active--;
		c->site_active[h->site_idx]--;
		set_state(h, H_DONE);
		return;
	}
	r = dr_ssh_connect(h->ssh, on_connect, h);
	if (r != 0) {
		set_row(&c->rows[h->row0], DR_CHECK_FAILED,
		        dr_xstrdup(dr_strerror(r)));
		set_rows(c, h->row0 + 1, h->row0 + h->nrows, DR_CHECK_SKIPPED,
		         "not checked: no ssh session");
		host_close(h);
	}
}

/* Starts every queued host the limits allow, in row order. */
static void
launch(struct dr_check *c)
{
	const struct dr_limits *l = &c->o.graph->limits;
	int sessions = l->sessions > 0 ? l->sessions : 1;
	int per_site = l->per_site > 0 ? l->per_site : 1;
	size_t i;

	for (i = 0; i < c->nhosts && c->active < sessions && !c->cancelled;
	     i++) {
		struct hcheck *h = &c->hosts[i];
		if (h->st != H_QUEUED ||
		    c->site_active[h->site_idx] >= per_site)
			continue;
		host_start(h);
	}
}

/* Local copies */

static bool
manifest_ok(const char *path)
{
	char buf[4097];
	ssize_t n;
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	const char *p = buf;
	int i;

	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	while (*p == ' ' || *p == '\t' || *p == '\\')
		p++;
	for (i = 0; i < 64; i++)
		if (!((p[i] >= '0' && p[i] <= '9') ||
		      (p[i] >= 'a' && p[i] <= 'f') ||
		      (p[i] >= 'A' && p[i] <= 'F')))
			return false;
	return p[64] == '\0' || p[64] == ' ' || p[64] == '\t' || p[64] == '\n';
}

/* In the thread pool: may block on the disk. */
static void
local_work(uv_work_t *req)
{
	struct local *lw = req->data;
	struct dr_check *c = lw->c;
	size_t i;

	for (i = 0; i < lw->nrows; i++) {
		const struct dr_check_row *r = &c->rows[lw->row0 + i];
		char *m = dr_xasprintf("%s.sha256", r->path);
		struct stat sb;

		if (stat(r->path, &sb) != 0)
			lw->res[i] = B_MISSING;
		else if (!S_ISREG(sb.st_mode))
			lw->res[i] = B_NOTFILE;
		else if (access(r->path, R_OK) != 0)
			lw->res[i] = B_UNREADABLE;
		else if (c->manifest[lw->row0 + i] && access(m, F_OK) != 0)
			lw->res[i] = B_NOMANIFEST;
		else if (c->manifest[lw->row0 + i] && access(m, R_OK) != 0)
			lw->res[i] = B_MAN_UNREADABLE;
		else if (c->manifest[lw->row0 + i] && !manifest_ok(m))
			lw->res[i] = B_BADMANIFEST;
		else {
			lw->res[i] = B_OK;
			lw->mtime_s[i] = (int64_t)sb.st_mtime;
		}
		free(m);
	}
}

static void
local_done(uv_work_t *req, int status)
{
	struct local *lw = req->data;
	struct dr_check *c = lw->c;
	size_t i;

	lw->busy = false;
	for (i = 0; i < lw->nrows; i++) {
		if (status != 0)
			set_row(&c->rows[lw->row0 + i], DR_CHECK_FAILED,
			        dr_xstrdup(status == UV_ECANCELED
			                       ? "cancelled"
			                       : uv_strerror(status)));
		else
			backup_result(c, lw->row0 + i, lw->res[i],
			              lw->mtime_s[i], "the controller's user");
	}
	maybe_end(c);
}

static void
on_kick(uv_timer_t *t)
{
	struct dr_check *c = t->data;
	struct local *lw = &c->local;

	if (lw->nrows > 0 && !c->cancelled) {
		lw->busy = true;
		if (uv_queue_work(c->o.loop, &lw->req, local_work,
		                  local_done) != 0) {
			lw->busy = false;
			set_rows(c, lw->row0, lw->row0 + lw->nrows,
			         DR_CHECK_FAILED,
			         "cannot start the local check");
		}
	}
	launch(c);
	maybe_end(c);
}

/* API */

int
dr_check_start(const struct dr_check_opts *o, dr_check_done_cb done, void *arg,
               struct dr_check **out)
{
	const struct dr_graph *g;
	struct dr_check *c;
	size_t i;

	if (o == NULL || o->loop == NULL || o->graph == NULL || done == NULL)
		return DR_EINVAL;
	g = o->graph;
	c = dr_xcalloc(1, sizeof(*c));
	c->o = *o;
	c->done = done;
	c->arg = arg;
	c->now_ms = o->now_wall_ms ? o->now_wall_ms : dr_now_wall_ms();
	c->hosts = dr_xcalloc(g->nconns + 1, sizeof(*c->hosts));
	/* Sites are counted by their hosts' index: the last host's is the
	 * highest. */
	c->site_active =
	    dr_xcalloc(g->nconns ? g->conns[g->nconns - 1].site_index + 1 : 1,
	               sizeof(int));
	for (i = 0; i < g->nconns; i++)
		plan_host(c, &g->conns[i]);
	c->local.c = c;
	c->local.req.data = &c->local;
	c->local.row0 = c->nrows;
	add_backup_rows(c, NULL);
	c->local.nrows = c->nrows - c->local.row0;
	c->local.res = dr_xcalloc(c->local.nrows + 1, sizeof(enum bres));
	c->local.mtime_s = dr_xcalloc(c->local.nrows + 1, sizeof(int64_t));
	uv_timer_init(o->loop, &c->kick);
	c->kick.data = c;
	uv_timer_start(&c->kick, on_kick, 0, 0);
	*out = c;
	return 0;
}

void
dr_check_cancel(struct dr_check *c)
{
	size_t i;

	if (c == NULL || c->ended || c->cancelled)
		return;
	c->cancelled = true;
	if (c->local.busy)
		uv_cancel((uv_req_t *)&c->local.req);
	else
		set_rows(c, c->local.row0, c->local.row0 + c->local.nrows,
		         DR_CHECK_FAILED, "cancelled");
	for (i = 0; i < c->nhosts; i++) {
		struct hcheck *h = &c->hosts[i];
		switch (h->st) {
		case H_QUEUED:
			set_rows(c, h->row0, h->row0 + h->nrows,
			         DR_CHECK_FAILED, "cancelled");
			set_state(h, H_DONE);
			break;
		case H_CONNECTING:
			host_close(h); /* the connect ends as cancelled */
			break;
		case H_CHECKING:
			dr_ssh_cmd_cancel(h->cmd); /* on_exec closes */
			break;
		case H_CLOSING:
		case H_DONE:
		case H_LAST:
			break;
		}
	}
	maybe_end(c);
}

const struct dr_check_row *
dr_check_rows(const struct dr_check *c, size_t *n)
{
	*n = c->nrows;
	return c->rows;
}

void
dr_check_free(struct dr_check *c)
{
	size_t i;

	if (c == NULL)
		return;
	for (i = 0; i < c->nrows; i++) {
		free((char *)c->rows[i].name);
		free((char *)c->rows[i].path);
		free((char *)c->rows[i].detail);
		free(c->rejected[i]);
	}
	free(c->rows);
	free(c->manifest);
	free(c->rejected);
	free(c->point_s);
	free(c->compromise_row);
	free(c->hosts);
	free(c->site_active);
	free(c->local.res);
	free(c->local.mtime_s);
	free(c);
}

/* Estimate */
