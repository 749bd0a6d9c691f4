/*
 * diag.h: a list of "FILE:LINE: message" diagnostics, collected while loading
 * or expanding a plan so that one run reports every problem.
 */
#ifndef DROVER_DIAG_H
#define DROVER_DIAG_H

#include <stdio.h>
#include <stddef.h>

struct dr_diag {
	char *file; /* may be NULL */
	int line;   /* 0: no line */
	char *msg;
};

struct dr_diags {
	struct dr_diag *v;
	size_t n;
	size_t cap;
};

/* Adds one diagnostic; file may be NULL, line 0 for none. */
void dr_diag_add(struct dr_diags *d, const char *file, int line,
                 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

/* Sorts by file and line (stable) and prints one per line to f. */
void dr_diag_print(struct dr_diags *d, FILE *f);

/* Releases the entries; the list is empty and reusable afterwards. */
void dr_diag_clear(struct dr_diags *d);

#endif
