/* scrub.c: secret values out of streamed output. */
#include "drover/scrub.h"

#include <stdlib.h>
#include <string.h>

void
dr_scrub_init(struct dr_scrub *s, const char *const *values,
              const char *const *names, size_t n)
{
	size_t i;

	memset(s, 0, sizeof(*s));
	s->values = dr_xcalloc(n + 1, sizeof(char *));
	s->names = dr_xcalloc(n + 1, sizeof(char *));
	for (i = 0; i < n; i++) {
		size_t len = values[i] ? strlen(values[i]) : 0;
		if (len == 0)
			continue;
		s->values[s->n] = dr_xstrdup(values[i]);
		s->names[s->n] = dr_xstrdup(names[i]);
		s->n++;
		if (len > s->maxlen)
			s->maxlen = len;
	}
	dr_buf_init(&s->carry, 0);
}

/* Index of the secret matching at p (whole, within len), or -1. */
static long
match_at(const struct dr_scrub *s, const char *p, size_t len, bool *partial)
{
	size_t k;

	*partial = false;
	for (k = 0; k < s->n; k++) {
		size_t vl = strlen(s->values[k]);
		if (vl <= len) {
			if (memcmp(p, s->values[k], vl) == 0)
				return (long)k;
		} else if (memcmp(p, s->values[k], len) == 0) {
			*partial = true; /* may complete with the next chunk */
		}
	}
	return -1;
}

void
dr_scrub_feed(struct dr_scrub *s, const void *p, size_t len, struct dr_buf *out)
{
	const char *b;
	size_t n, i = 0, from = 0;
	char *keep;

	if (s->n == 0) {
		dr_buf_append(out, p, len);
		return;
	}
	dr_buf_append(&s->carry, p, len);
	b = s->carry.data;
	n = s->carry.len;
	while (i < n) {
		bool partial;
		long k = match_at(s, b + i, n - i, &partial);
		if (k >= 0) {
			dr_buf_append(out, b + from, i - from);
			dr_buf_printf(out, "<secret:%s>", s->names[k]);
			i += strlen(s->values[k]);
			from = i;
		} else if (partial) {
			break; /* hold back from here */
		} else {
			i++;
		}
	}
	dr_buf_append(out, b + from, i - from);
	keep = dr_xstrndup(b + i, n - i);
	memset(s->carry.data, 0, s->carry.len);
	s->carry.len = 0;
	dr_buf_append(&s->carry, keep, n - i);
	memset(keep, 0, n - i);
	free(keep);
}

void
dr_scrub_flush(struct dr_scrub *s, struct dr_buf *out)
{
	if (s->carry.len)
		dr_buf_append(out, s->carry.data, s->carry.len);
	if (s->carry.data)
		memset(s->carry.data, 0, s->carry.len);
	s->carry.len = 0;
}

void
dr_scrub_free(struct dr_scrub *s)
{
	size_t i;

	for (i = 0; i < s->n; i++) {
		memset(s->values[i], 0, strlen(s->values[i]));
		free(s->values[i]);
		free(s->names[i]);
	}
	free(s->values);
	free(s->names);
	if (s->carry.data)
		memset(s->carry.data, 0, s->carry.cap);
	dr_buf_free(&s->carry);
	memset(s, 0, sizeof(*s));
}
