/* ready.c: ready tasks by class, classes by their first task (ready.h). */
#include "drover/ready.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"

#define NONE SIZE_MAX

struct rclass {
	size_t *v; /* heap of task ids */
	size_t n, cap;
	size_t pos; /* in the class heap; NONE: not in it */
	size_t met; /* set aside: its first task, met in this pass */
	bool skipped;
};

struct dr_ready {
	const struct dr_graph *g;
	size_t *rank; /* per task: its place in dr_task_cmp order */
	size_t *class_of;
	struct rclass *c;
	size_t nclasses;
	size_t *heap; /* class ids, by their first task */
	size_t nheap;
	size_t *skipped; /* classes set aside in this pass */
	size_t nskipped;
	size_t skip_min; /* first unmet task of them; NONE */
	size_t count;
};

/* Tasks compare by rank: dr_task_cmp's strings are compared once, at the
 * start, not on every heap step. */
static bool
before(const struct dr_ready *r, size_t a, size_t b)
{
	return r->rank[a] < r->rank[b];
}

static const struct dr_graph *sort_graph; /* for by_cmp, during new */

static int
by_cmp(const void *x, const void *y)
{
	size_t a = *(const size_t *)x, b = *(const size_t *)y;
	int c = dr_task_cmp(&sort_graph->tasks[a], &sort_graph->tasks[b]);

	return c != 0 ? c : (a > b) - (a < b);
}

/* ---- one class: a heap of task ids -------------------------------------- */

static void
cl_up(const struct dr_ready *r, struct rclass *c, size_t i)
{
	while (i > 0) {
		size_t p = (i - 1) / 2, t;
		if (!before(r, c->v[i], c->v[p]))
			break;
		t = c->v[i], c->v[i] = c->v[p], c->v[p] = t;
		i = p;
	}
}

static void
cl_down(const struct dr_ready *r, struct rclass *c, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i, t;
		if (l < c->n && before(r, c->v[l], c->v[m]))
			m = l;
		if (l + 1 < c->n && before(r, c->v[l + 1], c->v[m]))
			m = l + 1;
		if (m == i)
			break;
		t = c->v[i], c->v[i] = c->v[m], c->v[m] = t;
		i = m;
	}
}

static void
cl_push(const struct dr_ready *r, struct rclass *c, size_t id)
{
	void *p = c->v;

	dr_grow(&p, &c->cap, c->n + 1, sizeof(size_t));
	c->v = p;
	c->v[c->n++] = id;
	cl_up(r, c, c->n - 1);
}

static size_t
cl_pop(const struct dr_ready *r, struct rclass *c)
{
	size_t id = c->v[0];

	c->v[0] = c->v[--c->n];
	cl_down(r, c, 0);
	return id;
}

/* ---- the classes: a heap by first task ---------------------------------- */

static bool
cbefore(const struct dr_ready *r, size_t a, size_t b)
{
	return before(r, r->c[a].v[0], r->c[b].v[0]);
}

static void
hswap(struct dr_ready *r, size_t i, size_t j)
{
	size_t t = r->heap[i];

	r->heap[i] = r->heap[j];
	r->heap[j] = t;
	r->c[r->heap[i]].pos = i;
	r->c[r->heap[j]].pos = j;
}

static void
h_up(struct dr_ready *r, size_t i)
{
	while (i > 0 && cbefore(r, r->heap[i], r->heap[(i - 1) / 2])) {
		hswap(r, i, (i - 1) / 2);
		i = (i - 1) / 2;
	}
}

static void
h_down(struct dr_ready *r, size_t i)
{
	for (;;) {
		size_t l = 2 * i + 1, m = i;
		if (l < r->nheap && cbefore(r, r->heap[l], r->heap[m]))
			m = l;
		if (l + 1 < r->nheap && cbefore(r, r->heap[l + 1], r->heap[m]))
			m = l + 1;
		if (m == i)
			break;
		hswap(r, i, m);
		i = m;
	}
}

static void
h_insert(struct dr_ready *r, size_t k)
{
	r->heap[r->nheap] = k;
	r->c[k].pos = r->nheap++;
	h_up(r, r->c[k].pos);
}

/* Takes class k out of the heap. */
static void
h_remove(struct dr_ready *r, size_t k)
{
	size_t i = r->c[k].pos, last = r->nheap - 1;

	r->c[k].pos = NONE;
	if (i != last) {
		r->heap[i] = r->heap[last];
		r->c[r->heap[i]].pos = i;
		r->nheap--;
		h_down(r, i);
		h_up(r, i);
	} else {
		r->nheap--;
	}
}

struct dr_ready *
dr_ready_new(const struct dr_graph *g, const size_t *class_of, size_t nclasses)
{
	struct dr_ready *r = dr_xcalloc(1, sizeof(*r));
	size_t i;

	r->g = g;
	r->rank = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	{
		size_t *order = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
		for (i = 0; i < g->ntasks; i++)
			order[i] = i;
		sort_graph = g;
		qsort(order, g->ntasks, sizeof(size_t), by_cmp);
		sort_graph = NULL;
		for (i = 0; i < g->ntasks; i++)
			r->rank[order[i]] = i;
		free(order);
	}
	r->nclasses = nclasses;
	r->class_of = dr_xcalloc(g->ntasks + 1, sizeof(size_t));
	memcpy(r->class_of, class_of, g->ntasks * sizeof(size_t));
	r->c = dr_xcalloc(nclasses + 1, sizeof(*r->c));
	for (i = 0; i < nclasses; i++)
		r->c[i].pos = r->c[i].met = NONE;
	r->heap = dr_xcalloc(nclasses + 1, sizeof(size_t));
	r->skipped = dr_xcalloc(nclasses + 1, sizeof(size_t));
	r->skip_min = NONE;
	return r;
}

void
dr_ready_free(struct dr_ready *r)
{
	size_t i;

	if (r == NULL)
		return;
	for (i = 0; i < r->nclasses; i++)
		free(r->c[i].v);
	free(r->c);
	free(r->rank);
	free(r->class_of);
	free(r->heap);
	free(r->skipped);
	free(r);
}

void
dr_ready_push(struct dr_ready *r, size_t id)
{
	size_t k = r->class_of[id];
	struct rclass *c = &r->c[k];

	r->count++;
	cl_push(r, c, id);
	if (c->skipped) {
		/* Not met yet in this pass: a walk would still reach it. */
		if (r->skip_min == NONE || before(r, id, r->skip_min))
			r->skip_min = id;
		return;
	}
	if (c->pos == NONE)
		h_insert(r, k);
	else
		h_up(r, c->pos);
}

size_t
dr_ready_count(const struct dr_ready *r)
{
	return r->count;
}

bool
dr_ready_peek(const struct dr_ready *r, size_t *id)
{
	if (r->nheap == 0)
		return false;
	*id = r->c[r->heap[0]].v[0];
	return true;
}

void
dr_ready_take(struct dr_ready *r)
{
	size_t k = r->heap[0];
	struct rclass *c = &r->c[k];

	cl_pop(r, c);
	r->count--;
	if (c->n == 0)
		h_remove(r, k);
	else
		h_down(r, 0);
}

void
dr_ready_skip(struct dr_ready *r)
{
	size_t k = r->heap[0];
	struct rclass *c = &r->c[k];

	h_remove(r, k);
	c->met = cl_pop(r, c); /* held apart: it was met */
	c->skipped = true;
	r->skipped[r->nskipped++] = k;
	if (c->n > 0 &&
	    (r->skip_min == NONE || before(r, c->v[0], r->skip_min)))
		r->skip_min = c->v[0];
}

bool
dr_ready_skipped_min(const struct dr_ready *r, size_t *id)
{
	if (r->skip_min == NONE)
		return false;
	*id = r->skip_min;
	return true;
}

bool
dr_ready_before(const struct dr_ready *r, size_t a, size_t b)
{
	return before(r, a, b);
}

void
dr_ready_end_pass(struct dr_ready *r)
{
	size_t i;

	for (i = 0; i < r->nskipped; i++) {
		size_t k = r->skipped[i];
		struct rclass *c = &r->c[k];
		c->skipped = false;
		cl_push(r, c, c->met);
		c->met = NONE;
		h_insert(r, k);
	}
	r->nskipped = 0;
	r->skip_min = NONE;
}
