/*
 * live.c: the live board (live.h). Counters per service, per tier and in
 * all; the running tasks in a set with O(1) insert and remove; the latest
 * failures and notes in rings; the questions waiting for the operator in a
 * short list. A frame reads only those and is written in one piece, so
 * that the terminal never shows half of it.
 */
#include "drover/live.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "drover/board.h"
#include "drover/common.h"

#define TICK_MS 100      /* ten frames a second at most */
#define SHOW_RUNNING 8   /* the longest-running tasks shown */
#define SHOW_FAILURES 5  /* the latest failures shown */
#define SHOW_NOTES 3     /* the latest notes shown */
#define SHOW_WAITING 4   /* the questions waiting shown */
#define ESTIMATE_AFTER 5 /* attempts ended before a finish is estimated */
#define BAR 20           /* columns of a bar */
#define TEXT_MAX 240     /* bytes kept of a message */
#define NSTATES (DR_TS_REFUSED + 1)

/* The tasks of one service, one tier or the whole run, by state. */
struct counts {
	size_t n[NSTATES];
	size_t total;
	size_t unrecovered;   /* ended, but not as the summary's "recovered" */
	uint64_t last_end_ms; /* on the RTO clock: when the last one ended */
};

/* One row of the table: a tier, a service within it, or both at once
 * when the tier has one service. Fixed when the board is created. */
struct row {
	int tier;
	const struct dr_service *svc; /* NULL: the tier's own row */
	size_t si;                    /* svc's index in the plan */
	char *label;
	bool in_group; /* a service row under a tier row (collapsible) */
};

struct running {
	size_t id;
	uint64_t since; /* when this attempt started (ms since the start) */
	int attempt;
};

struct note {
	uint64_t at;
	char *text; /* owned; NULL: an empty slot */
};

struct waiting {
	size_t id;
	char *text; /* owned */
};

struct dr_live {
	struct dr_live_opts o;
	const struct dr_graph *g;
	uint8_t *state; /* per task: its state as last seen */
	bool *unrec;    /* per task: counted in unrecovered */
	struct counts all;
	struct counts *svc; /* per service of the plan */
	struct counts tier[DR_TIER_MAX + 1];
	struct row *rows;
	size_t nrows;
	int label_w, count_w;
	bool any_rto;
	/* The running set: in no order; pos[id] is the task's index in it,
	 * or SIZE_MAX. */
	struct running *run;
	size_t nrun, caprun;
	size_t *pos;
	/* Attempts ended, and their total time, for the estimate. */
	uint64_t dur_sum;
	size_t dur_n;
	struct note fails[SHOW_FAILURES];
	size_t nfails; /* in all; the ring holds the latest */
	struct note notes[SHOW_NOTES];
	size_t nnotes;
	struct waiting *wait;
	size_t nwait, capwait;
	bool *waiting; /* per task: in wait[] */
	/* Drawing. */
	int on_screen; /* lines of the last frame still under the cursor */
	bool dirty;    /* changed since the last frame */
	bool drawn;
	uint64_t drawn_s; /* the second of the last frame */
	uv_timer_t timer;
	bool started;
};

/* What the frame being built may use, and how much of it is needed. */
struct frame {
	struct dr_buf b;
	int cols;
	int label_w; /* the table's first column, narrower on a narrow screen */
	int max_lines; /* lines appended at most */
	int lines;     /* lines asked for, even past max_lines */
	/* How much detail: each level drops some, to fit the height. */
	bool collapse; /* service rows only of tiers in progress */
	bool short_lists;
	bool tiers_only;
};

/* As the summary counts it (report.c): the table must not disagree. */
static bool
recovered(const struct dr_task_run *r)
{
	return r->state == DR_TS_SUCCEEDED || r->state == DR_TS_REFUSED ||
	       (r->state == DR_TS_SKIPPED && r->unreachable);
}

/* Copies at most TEXT_MAX bytes of s, never cutting a UTF-8 sequence. */
static char *
text_dup(const char *s)
{
	size_t n = strlen(s);

	if (n > TEXT_MAX) {
		n = TEXT_MAX;
		while (n > 0 && ((unsigned char)s[n] & 0xC0) == 0x80)
			n--;
	}
	return dr_xstrndup(s, n);
}

static void
note_push(struct note *ring, size_t len, size_t *count, uint64_t at, char *text)
{
	struct note *n = &ring[*count % len];

	free(n->text);
	n->at = at;
	n->text = text;
	(*count)++;
}

static int
digits(size_t n)
{
	int d = 1;

	while (n >= 10) {
		n /= 10;
		d++;
	}
	return d;
}

/* The rows, in tier order, services in plan order within a tier. */
static void
make_rows(struct dr_live *l)
{
	const struct dr_plan *p = l->g->plan;
	size_t i, nsvc_tier;
	int tier, w;

	l->rows = dr_xcalloc(p->nservices + DR_TIER_MAX + 1, sizeof(*l->rows));
	for (tier = 0; tier <= DR_TIER_MAX; tier++) {
		if (l->tier[tier].total == 0)
			continue;
		nsvc_tier = 0;
		for (i = 0; i < p->nservices; i++)
			if (p->services[i].tier == tier && l->svc[i].total)
				nsvc_tier++;
		if (nsvc_tier != 1) {
			struct row *r = &l->rows[l->nrows++];
			r->tier = tier;
			r->label = dr_xasprintf("tier %d", tier);
		}
		for (i = 0; i < p->nservices; i++) {
			struct row *r;
			if (p->services[i].tier != tier || !l->svc[i].total)
				continue;
			r = &l->rows[l->nrows++];
			r->tier = tier;
			r->svc = &p->services[i];
			r->si = i;
			r->in_group = nsvc_tier != 1;
			r->label = r->in_group
			               ? dr_xasprintf("  %s", r->svc->name)
			               : dr_xasprintf("tier %d %s", tier,
			                              r->svc->name);
			if (r->svc->rto_ms)
				l->any_rto = true;
		}
	}
	l->label_w = 12;
	for (i = 0; i < l->nrows; i++) {
		w = (int)strlen(l->rows[i].label);
		if (w > l->label_w)
			l->label_w = w;
	}
	if (l->label_w > 30)
		l->label_w = 30;
	l->count_w = digits(l->g->ntasks) > 4 ? digits(l->g->ntasks) : 4;
}

/* The counters task t is in: the run's, its service's, its tier's. */
static void
buckets(struct dr_live *l, const struct dr_task *t, struct counts *cs[3])
{
	cs[0] = &l->all;
	cs[1] = &l->svc[dr_task_svc_index(l->g->plan, t)];
	cs[2] = &l->tier[t->tier];
}

static void
count(struct dr_live *l, const struct dr_task *t, enum dr_task_state st,
      int delta)
{
	struct counts *cs[3];
	size_t k;

	buckets(l, t, cs);
	for (k = 0; k < DR_NELEM(cs); k++)
		cs[k]->n[st] += (size_t)delta; /* -1: unsigned wrap subtracts */
}

static void
set_unrecovered(struct dr_live *l, const struct dr_task *t, bool u)
{
	struct counts *cs[3];
	size_t k;

	buckets(l, t, cs);
	if (l->unrec[t->id] == u)
		return;
	l->unrec[t->id] = u;
	for (k = 0; k < DR_NELEM(cs); k++)
		cs[k]->unrecovered += u ? 1 : (size_t)-1;
}

static void
ended_at(struct dr_live *l, const struct dr_task *t, uint64_t rto_ms)
{
	struct counts *cs[3];
	size_t k;

	buckets(l, t, cs);
	for (k = 0; k < DR_NELEM(cs); k++)
		if (rto_ms > cs[k]->last_end_ms)
			cs[k]->last_end_ms = rto_ms;
}

static void
run_add(struct dr_live *l, size_t id, uint64_t since, int attempt)
{
	struct running *x;

	if (l->pos[id] == SIZE_MAX) {
		dr_grow((void **)&l->run, &l->caprun, l->nrun + 1,
		        sizeof(*l->run));
		l->pos[id] = l->nrun++;
	}
	x = &l->run[l->pos[id]];
	x->id = id;
	x->since = since;
	x->attempt = attempt;
}

/* Removes id from the running set: the last one takes its place. */
static void
run_del(struct dr_live *l, size_t id)
{
	size_t i = l->pos[id];

	if (i == SIZE_MAX)
		return;
	l->run[i] = l->run[--l->nrun];
	l->pos[l->run[i].id] = i;
	l->pos[id] = SIZE_MAX;
}

static void
wait_del(struct dr_live *l, size_t id)
{
	size_t i;

	if (!l->waiting[id])
		return;
	l->waiting[id] = false;
	for (i = 0; i < l->nwait; i++) {
		if (l->wait[i].id != id)
			continue;
		free(l->wait[i].text);
		memmove(&l->wait[i], &l->wait[i + 1],
		        (l->nwait - i - 1) * sizeof(*l->wait));
		l->nwait--;
		break;
	}
}

int
dr_live_new(const struct dr_live_opts *o, struct dr_live **out)
{
	const struct dr_graph *g = o ? o->g : NULL;
	struct dr_live *l;
	uint64_t now, origin_wall = 0;
	size_t i;

	if (g == NULL || o->out == NULL || o->now == NULL)
		return DR_EINVAL;
	l = dr_xcalloc(1, sizeof(*l));
	l->o = *o;
	l->g = g;
	l->state = dr_xcalloc(g->ntasks + 1, sizeof(*l->state));
	l->unrec = dr_xcalloc(g->ntasks + 1, sizeof(*l->unrec));
	l->waiting = dr_xcalloc(g->ntasks + 1, sizeof(*l->waiting));
	l->pos = dr_xmalloc((g->ntasks + 1) * sizeof(*l->pos));
	l->svc = dr_xcalloc(g->plan->nservices + 1, sizeof(*l->svc));
	now = o->now(o->arg);
	/* Presets ended before this run: their wall clock end on the RTO
	 * clock, which started rto_offset_ms before this run did. */
	if (dr_now_wall_ms() > now + o->rto_offset_ms)
		origin_wall = dr_now_wall_ms() - now - o->rto_offset_ms;
	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[i];
		const struct dr_task_run *r = o->runs ? &o->runs[i] : NULL;
		enum dr_task_state st = r ? r->state : DR_TS_PENDING;

		l->pos[i] = SIZE_MAX;
		l->state[i] = (uint8_t)st;
		l->svc[dr_task_svc_index(g->plan, t)].total++;
		l->tier[t->tier].total++;
		l->all.total++;
		count(l, t, st, 1);
		if (r && dr_task_state_final(st)) {
			set_unrecovered(l, t, !recovered(r));
			ended_at(l, t,
			         r->end_wall_ms > origin_wall
			             ? r->end_wall_ms - origin_wall
			             : 0);
		}
		if (st == DR_TS_RUNNING)
			run_add(l, i, now, r->attempts);
	}
	make_rows(l);
	l->dirty = true;
	*out = l;
	return 0;
}

static void
timer_cb(uv_timer_t *h)
{
	dr_live_tick(h->data);
}

int
dr_live_start(struct dr_live *l, uv_loop_t *loop)
{
	if (l->started)
		return DR_EINVAL;
	uv_timer_init(loop, &l->timer);
	l->timer.data = l;
	uv_timer_start(&l->timer, timer_cb, TICK_MS, TICK_MS);
	/* The run ends when its tasks do, not when the board stops. */
	uv_unref((uv_handle_t *)&l->timer);
	l->started = true;
	return 0;
}

void
dr_live_change(struct dr_live *l, const struct dr_task *t,
               const struct dr_task_run *r)
{
	enum dr_task_state old = (enum dr_task_state)l->state[t->id];
	enum dr_task_state st = r->state;
	uint64_t now = l->o.now(l->o.arg);
	char d[32];
	struct dr_buf b;

	if (old == DR_TS_RUNNING && st != DR_TS_RUNNING) {
		/* A gate's time is the operator's, not a task's. */
		if (t->step->action != DR_ACT_APPROVE &&
		    l->pos[t->id] != SIZE_MAX) {
			uint64_t s = l->run[l->pos[t->id]].since;
			l->dur_sum += now > s ? now - s : 0;
			l->dur_n++;
		}
		run_del(l, t->id);
	}
	if (st == DR_TS_RUNNING)
		run_add(l, t->id, now, r->attempts);
	count(l, t, old, -1);
	count(l, t, st, 1);
	l->state[t->id] = (uint8_t)st;
	set_unrecovered(l, t, dr_task_state_final(st) && !recovered(r));
	if (dr_task_state_final(st))
		ended_at(l, t, now + l->o.rto_offset_ms);
	wait_del(l, t->id); /* every answer changes the task's state */
	if (st == DR_TS_FAILED || st == DR_TS_RETRY_WAIT ||
	    st == DR_TS_INDETERMINATE) {
		dr_buf_init(&b, 0);
		dr_board_label(t, &b);
		if (st == DR_TS_FAILED)
			dr_buf_printf(
			    &b, ": FAILED%s after %s",
			    r->unreachable ? " (unreachable)" : "",
			    dr_duration_fmt(r->end_mono_ms - r->start_mono_ms,
			                    d, sizeof(d)));
		else if (st == DR_TS_RETRY_WAIT)
			dr_buf_printf(&b, ": attempt %d failed", r->attempts);
		else if (!r->message || !strstr(r->message, "unknown"))
			dr_buf_puts(&b, ": outcome unknown");
		if (r->message && r->message[0])
			dr_buf_printf(&b, ": %s", r->message);
		note_push(l->fails, SHOW_FAILURES, &l->nfails, now,
		          text_dup(b.data));
		dr_buf_free(&b);
	}
	l->dirty = true;
}

void
dr_live_note(struct dr_live *l, const struct dr_task *t, const char *msg)
{
	char *s = dr_xasprintf("%s: %s", t->key, msg);

	note_push(l->notes, SHOW_NOTES, &l->nnotes, l->o.now(l->o.arg),
	          text_dup(s));
	free(s);
	l->dirty = true;
}

/*
 * Appends one line of text, its control characters blanked (messages carry
 * remote output, which must not move the cursor) and cut to the width,
 * counted in characters, not bytes.
 */
static void fline(struct frame *f, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
fline(struct frame *f, const char *fmt, ...)
{
	char *s;
	unsigned char *p;
	int col = 0;

	f->lines++;
	if (f->lines > f->max_lines)
		return;
	DR_VFORMAT(s, fmt);
	for (p = (unsigned char *)s; *p; p++) {
		if ((*p & 0xC0) != 0x80 && ++col >= f->cols)
			break;
		if (*p < 0x20 || *p == 0x7f)
			*p = ' ';
	}
	*p = '\0';
	while (p > (unsigned char *)s && p[-1] == ' ')
		*--p = '\0';
	dr_buf_puts(&f->b, s);
	dr_buf_puts(&f->b, "\033[K\n"); /* the rest of the old line goes */
	free(s);
}

/*
 * The bar of c: done, failed, skipped, running, pending; a class that has
 * tasks gets a column even when it rounds to none.
 */
static void
bar(const struct counts *c, char *out)
{
	size_t v[5], w[5], sum = 0, i, big = 0;
	static const char sym[5] = {'#', 'X', '-', '>', '.'};
	char *o = out;

	v[0] = c->n[DR_TS_SUCCEEDED];
	v[1] = c->n[DR_TS_FAILED] + c->n[DR_TS_INDETERMINATE];
	v[2] =
	    c->n[DR_TS_SKIPPED] + c->n[DR_TS_CANCELLED] + c->n[DR_TS_REFUSED];
	v[3] = c->n[DR_TS_RUNNING] + c->n[DR_TS_RETRY_WAIT];
	v[4] = c->n[DR_TS_PENDING];
	for (i = 0; i < 5; i++) {
		w[i] = c->total ? v[i] * BAR / c->total : 0;
		if (v[i] && w[i] == 0)
			w[i] = 1;
		sum += w[i];
		if (w[i] > w[big])
			big = i;
	}
	if (c->total == 0)
		w[4] = sum = BAR;
	while (sum > BAR && w[big] > 1) { /* the ones bumped to 1 */
		w[big]--;
		sum--;
	}
	/* What rounding left goes to the largest class, but a bar is
	 * full of '#' only when every task is done. */
	w[v[4] ? 4 : big] += BAR - sum;
	*o++ = '[';
	for (i = 0; i < 5; i++) {
		memset(o, sym[i], w[i]);
		o += w[i];
	}
	*o++ = ']';
	*o = '\0';
}

static size_t
ended(const struct counts *c)
{
	return c->total - c->n[DR_TS_PENDING] - c->n[DR_TS_RUNNING] -
	       c->n[DR_TS_RETRY_WAIT];
}

/* "1m12s of 10m", "met in 41.2s of 10m", ...: service row's RTO column. */
static void
rto_text(const struct counts *c, uint64_t rto, uint64_t elapsed, char *buf,
         size_t len)
{
	char a[32], b[32];

	dr_duration_fmt(rto, b, sizeof(b));
	if (ended(c) < c->total)
		snprintf(buf, len, "%s of %s%s",
		         dr_duration_fmt(elapsed, a, sizeof(a)), b,
		         elapsed > rto ? " OVER" : "");
	else if (c->unrecovered)
		snprintf(buf, len, "NOT RECOVERED (rto %s)", b);
	else
		snprintf(buf, len, "%s in %s of %s",
		         c->last_end_ms <= rto ? "met" : "MISSED",
		         dr_duration_fmt(c->last_end_ms, a, sizeof(a)), b);
}

static void
table_row(struct frame *f, const struct dr_live *l, const char *label,
          const struct counts *c, const struct dr_service *svc,
          uint64_t elapsed)
{
	char b[BAR + 3], rto[64] = "";
	int w = l->count_w;

	bar(c, b);
	if (svc && svc->rto_ms)
		rto_text(c, svc->rto_ms, elapsed, rto, sizeof(rto));
	fline(f, "%-*.*s %s %*zu %*zu %*zu %*zu %*zu  %s", f->label_w,
	      f->label_w, label, b, w, c->n[DR_TS_SUCCEEDED], w,
	      c->n[DR_TS_RUNNING] + c->n[DR_TS_RETRY_WAIT], w,
	      c->n[DR_TS_FAILED] + c->n[DR_TS_INDETERMINATE], w,
	      c->n[DR_TS_SKIPPED] + c->n[DR_TS_CANCELLED] + c->n[DR_TS_REFUSED],
	      w, c->n[DR_TS_PENDING], rto);
}

/* A tier with nothing running and nothing begun, or all of it ended. */
static bool
tier_quiet(const struct counts *c)
{
	return c->n[DR_TS_RUNNING] + c->n[DR_TS_RETRY_WAIT] == 0 &&
	       (c->n[DR_TS_PENDING] == 0 || c->n[DR_TS_PENDING] == c->total);
}

static void
header(struct frame *f, const struct dr_live *l, uint64_t now)
{
	const struct counts *c = &l->all;
	char clock[32], d[32], m[32];
	size_t pending = c->n[DR_TS_PENDING] + c->n[DR_TS_RETRY_WAIT];
	struct dr_buf b;

	dr_board_clock(now, clock, sizeof(clock));
	dr_buf_init(&b, 0);
	if (pending + l->nrun == 0)
		dr_buf_printf(&b, "elapsed %s  all %zu tasks ended", clock,
		              c->total);
	else
		dr_buf_printf(&b, "elapsed %s  %zu of %zu tasks ended", clock,
		              ended(c), c->total);
	if (pending + l->nrun == 0) {
		/* the summary follows */
	} else if (l->dur_n < ESTIMATE_AFTER) {
		dr_buf_puts(&b, "  finish: estimating");
	} else {
		/* Each pending task takes the mean so far, a running one
		 * half of it, spread over the tasks running now. */
		uint64_t mean = l->dur_sum / l->dur_n;
		uint64_t par = l->nrun ? l->nrun : 1;
		uint64_t eta = mean * (2 * pending + l->nrun) / (2 * par);
		dr_buf_printf(&b, "  finish in ~%s (%s a task, %zu at once)",
		              dr_duration_fmt(eta, d, sizeof(d)),
		              dr_duration_fmt(mean, m, sizeof(m)), l->nrun);
	}
	fline(f, "%s", b.data);
	dr_buf_free(&b);
}

/* The service furthest into its RTO, and how many missed theirs. */
static void
rto_line(struct frame *f, const struct dr_live *l, uint64_t elapsed)
{
	const struct dr_plan *p = l->g->plan;
	const struct dr_service *worst = NULL;
	double wr = -1;
	size_t i, missed = 0, open = 0, n = 0;
	char a[32], b[32];

	for (i = 0; i < p->nservices; i++) {
		const struct dr_service *s = &p->services[i];
		const struct counts *c = &l->svc[i];
		if (!s->rto_ms || !c->total)
			continue;
		n++;
		if (ended(c) == c->total) {
			if (c->unrecovered || c->last_end_ms > s->rto_ms)
				missed++;
			continue;
		}
		open++;
		if ((double)elapsed / (double)s->rto_ms > wr) {
			wr = (double)elapsed / (double)s->rto_ms;
			worst = s;
		}
	}
	if (n == 0)
		return;
	if (worst)
		fline(f,
		      "rto: closest %s, %s of %s (%d%%); %zu open, %zu missed",
		      worst->name, dr_duration_fmt(elapsed, a, sizeof(a)),
		      dr_duration_fmt(worst->rto_ms, b, sizeof(b)),
		      (int)(wr * 100), open, missed);
	else
		fline(f, "rto: %zu of %zu services met theirs", n - missed, n);
}

static void
running_part(struct frame *f, const struct dr_live *l, uint64_t now)
{
	const struct running *top[SHOW_RUNNING];
	size_t i, j, k = 0, max = f->short_lists ? 3 : SHOW_RUNNING;
	char d[32];
	struct dr_buf b;

	if (l->nrun == 0)
		return;
	/* The longest-running: one pass over the running set, which the
	 * session limit bounds, keeping the top few in order. */
	for (i = 0; i < l->nrun; i++) {
		const struct running *x = &l->run[i];
		if (k == max && x->since >= top[k - 1]->since)
			continue;
		j = k < max ? k++ : k - 1;
		while (j > 0 && top[j - 1]->since > x->since) {
			top[j] = top[j - 1];
			j--;
		}
		top[j] = x;
	}
	if (l->nrun > k)
		fline(f, "running %zu, the %zu longest:", l->nrun, k);
	else
		fline(f, "running %zu:", l->nrun);
	dr_buf_init(&b, 0);
	for (i = 0; i < k; i++) {
		b.len = 0;
		dr_board_label(&l->g->tasks[top[i]->id], &b);
		if (top[i]->attempt > 1)
			dr_buf_printf(&b, " (attempt %d)", top[i]->attempt);
		fline(f, "  %7s  %s",
		      dr_duration_fmt(now > top[i]->since ? now - top[i]->since
		                                          : 0,
		                      d, sizeof(d)),
		      b.data);
	}
	dr_buf_free(&b);
}

static void
ring_part(struct frame *f, const struct note *ring, size_t len, size_t count,
          size_t max, const char *title)
{
	size_t i, n = count < len ? count : len;
	char clock[32];

	if (n > max)
		n = max;
	if (n == 0)
		return;
	if (count > n)
		fline(f, "%s (%zu in all):", title, count);
	else
		fline(f, "%s:", title);
	for (i = count - n; i < count; i++) {
		const struct note *x = &ring[i % len];
		dr_board_clock(x->at, clock, sizeof(clock));
		fline(f, "  [%s] %s", clock, x->text);
	}
}

static void
waiting_part(struct frame *f, const struct dr_live *l)
{
	size_t i, max = f->short_lists ? 1 : SHOW_WAITING;

	if (l->nwait == 0)
		return;
	fline(f, "waiting for the operator:");
	for (i = 0; i < l->nwait && i < max; i++)
		fline(f, "  %s", l->wait[i].text);
	if (l->nwait > max)
		fline(f, "  and %zu more", l->nwait - max);
}

static void
build(struct frame *f, const struct dr_live *l, uint64_t now)
{
	uint64_t elapsed = now + l->o.rto_offset_ms;
	const struct row *r;
	size_t i;
	int w = l->count_w;

	header(f, l, now);
	if (l->any_rto)
		rto_line(f, l, elapsed);
	fline(f, "%-*s %-*s %*s %*s %*s %*s %*s%s", f->label_w, "", BAR + 2, "",
	      w, "done", w, "run", w, "fail", w, "skip", w, "pend",
	      l->any_rto ? "  rto" : "");
	table_row(f, l, "all", &l->all, NULL, elapsed);
	for (i = 0; i < l->nrows; i++) {
		r = &l->rows[i];
		if (r->in_group &&
		    (f->tiers_only ||
		     (f->collapse && tier_quiet(&l->tier[r->tier]))))
			continue;
		table_row(f, l, r->label,
		          r->svc ? &l->svc[r->si] : &l->tier[r->tier], r->svc,
		          elapsed);
	}
	running_part(f, l, now);
	ring_part(f, l->fails, SHOW_FAILURES, l->nfails,
	          f->short_lists ? 2 : SHOW_FAILURES, "latest failures");
	waiting_part(f, l);
	ring_part(f, l->notes, SHOW_NOTES, l->nnotes,
	          f->short_lists ? 1 : SHOW_NOTES, "latest notes");
}

static void
term_size(const struct dr_live *l, int *cols, int *rows)
{
	struct winsize ws;
	int fd = fileno(l->o.out);

	*cols = l->o.cols;
	*rows = l->o.rows;
	if ((*cols == 0 || *rows == 0) && fd >= 0 &&
	    ioctl(fd, TIOCGWINSZ, &ws) == 0) {
		if (*cols == 0)
			*cols = ws.ws_col;
		if (*rows == 0)
			*rows = ws.ws_row;
	}
	if (*cols <= 0)
		*cols = 80;
	if (*rows <= 0)
		*rows = 24;
}

/*
 * Writes a frame in one write where the stream has a descriptor: stdio
 * would cut it at each newline of a line-buffered terminal, and the
 * terminal could show half a frame.
 */
static void
put_frame(FILE *out, const char *s, size_t n)
{
	int fd = fileno(out);
	ssize_t w;

	fflush(out);
	while (fd >= 0 && n > 0) {
		w = write(fd, s, n);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break; /* what is left goes through stdio */
		s += w;
		n -= (size_t)w;
	}
	fwrite(s, 1, n, out);
	fflush(out);
}

/* Draws a frame over the last one (or below what was printed since). */
static void
draw(struct dr_live *l)
{
	uint64_t now = l->o.now(l->o.arg);
	struct frame f;
	struct dr_buf out;
	int cols, rows, level;
	char up[32] = "";

	term_size(l, &cols, &rows);
	memset(&f, 0, sizeof(f));
	f.cols = cols;
	/* The counts stay whole; the names give way first. */
	f.label_w = cols - 1 - (BAR + 3) - 5 * (l->count_w + 1);
	if (f.label_w > l->label_w)
		f.label_w = l->label_w;
	if (f.label_w < 8)
		f.label_w = 8;
	/* One line fewer than the screen: the cursor waits below it. */
	f.max_lines = rows > 4 ? rows - 1 : 3;
	dr_buf_init(&f.b, 0);
	for (level = 0; level < 4; level++) {
		f.collapse = level >= 1;
		f.short_lists = level >= 2;
		f.tiers_only = level >= 3;
		f.lines = 0;
		f.b.len = 0;
		if (f.b.data)
			f.b.data[0] = '\0';
		build(&f, l, now);
		if (f.lines <= f.max_lines)
			break;
	}
	if (l->on_screen > 0)
		snprintf(up, sizeof(up), "\r\033[%dA", l->on_screen);
	dr_buf_init(&out, 0);
	dr_buf_puts(&out, up);
	dr_buf_append(&out, f.b.data ? f.b.data : "", f.b.len);
	dr_buf_puts(&out, "\033[J"); /* what a taller frame left below */
	put_frame(l->o.out, out.data, out.len);
	dr_buf_free(&out);
	l->on_screen = f.lines < f.max_lines ? f.lines : f.max_lines;
	l->dirty = false;
	l->drawn = true;
	l->drawn_s = now / 1000;
	dr_buf_free(&f.b);
}

bool
dr_live_tick(struct dr_live *l)
{
	uint64_t now;

	if (l->nwait > 0) /* a question is on the terminal */
		return false;
	now = l->o.now(l->o.arg);
	if (l->drawn && !l->dirty && now / 1000 == l->drawn_s)
		return false;
	draw(l);
	return true;
}

void
dr_live_wait(struct dr_live *l, const struct dr_task *t,
             const struct dr_task_run *r)
{
	struct waiting *w;
	struct dr_buf b;

	dr_grow((void **)&l->wait, &l->capwait, l->nwait + 1, sizeof(*l->wait));
	w = &l->wait[l->nwait++];
	w->id = t->id;
	l->waiting[t->id] = true;
	dr_buf_init(&b, 0);
	if (r == NULL) {
		dr_buf_printf(&b, "gate %s", t->key);
		if (t->prompt)
			dr_buf_printf(&b, ": %s", t->prompt);
	} else {
		dr_buf_printf(&b, "%s %s", r->unknown ? "decide" : "paused",
		              t->key);
		if (r->message)
			dr_buf_printf(&b, ": %s", r->message);
	}
	w->text = text_dup(b.data);
	dr_buf_free(&b);
	if (l->nwait == 1) {
		/* The last frame before the question, which goes below it. */
		draw(l);
		l->on_screen = 0;
	}
}

void
dr_live_detach(struct dr_live *l)
{
	l->on_screen = 0;
	l->dirty = true;
}

static void
live_free(struct dr_live *l)
{
	size_t i;

	for (i = 0; i < l->nrows; i++)
		free(l->rows[i].label);
	for (i = 0; i < SHOW_FAILURES; i++)
		free(l->fails[i].text);
	for (i = 0; i < SHOW_NOTES; i++)
		free(l->notes[i].text);
	for (i = 0; i < l->nwait; i++)
		free(l->wait[i].text);
	free(l->wait);
	free(l->rows);
	free(l->run);
	free(l->pos);
	free(l->svc);
	free(l->state);
	free(l->unrec);
	free(l->waiting);
	free(l);
}

static void
timer_closed(uv_handle_t *h)
{
	live_free(h->data);
}

void
dr_live_close(struct dr_live *l)
{
	if (l == NULL)
		return;
	draw(l); /* the final frame, below any question left */
	if (!l->started) {
		live_free(l);
		return;
	}
	uv_timer_stop(&l->timer);
	uv_close((uv_handle_t *)&l->timer, timer_closed);
}
