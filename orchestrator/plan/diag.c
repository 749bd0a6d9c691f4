/* diag.c: collected "FILE:LINE: message" diagnostics. */
#include "drover/diag.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"

void
dr_diag_add(struct dr_diags *d, const char *file, int line, const char *fmt,
            ...)
{
	void *v = d->v;

	dr_grow(&v, &d->cap, d->n + 1, sizeof(struct dr_diag));
	d->v = v;
	d->v[d->n].file = file ? dr_xstrdup(file) : NULL;
	d->v[d->n].line = line;
	DR_VFORMAT(d->v[d->n].msg, fmt);
	d->n++;
}

static int
diag_cmp(const void *a, const void *b)
{
	const struct dr_diag *x = a, *y = b;
	int c = strcmp(x->file ? x->file : "", y->file ? y->file : "");

	if (c)
		return c;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	/* qsort is not stable: fall back to the original position. */
	return x < y ? -1 : x > y;
}

void
dr_diag_print(struct dr_diags *d, FILE *f)
{
	size_t i;

	if (d->n > 1)
		qsort(d->v, d->n, sizeof(d->v[0]), diag_cmp);
	for (i = 0; i < d->n; i++) {
		const struct dr_diag *g = &d->v[i];
		if (g->file && g->line > 0)
			fprintf(f, "%s:%d: %s\n", g->file, g->line, g->msg);
		else if (g->file)
			fprintf(f, "%s: %s\n", g->file, g->msg);
		else
			fprintf(f, "drover: %s\n", g->msg);
	}
}

void
dr_diag_clear(struct dr_diags *d)
{
	size_t i;

	for (i = 0; i < d->n; i++) {
		free(d->v[i].file);
		free(d->v[i].msg);
	}
	free(d->v);
	memset(d, 0, sizeof(*d));
}
