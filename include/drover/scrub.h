/*
 * scrub.h: replaces secret values in streamed output by "<secret:NAME>".
 *
 * Output arrives in chunks, so a secret may straddle two of them: the
 * scrubber holds back at most (longest secret - 1) bytes that could still
 * begin one, and releases them with the next chunk or at the end.
 */
#ifndef DROVER_SCRUB_H
#define DROVER_SCRUB_H

#include <stddef.h>

#include "drover/common.h"

struct dr_scrub {
	char **values; /* copies, wiped on free */
	char **names;
	size_t n;
	size_t maxlen;
	struct dr_buf carry;
};

/* Copies the n values and names; empty values are ignored. */
void dr_scrub_init(struct dr_scrub *s, const char *const *values,
                   const char *const *names, size_t n);
/* Appends to out what can be released of carry + p[0..len). */
void dr_scrub_feed(struct dr_scrub *s, const void *p, size_t len,
                   struct dr_buf *out);
/* Appends what is held back (it cannot hold a whole secret). */
void dr_scrub_flush(struct dr_scrub *s, struct dr_buf *out);
void dr_scrub_free(struct dr_scrub *s);

#endif
