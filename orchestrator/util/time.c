/* time.c: durations, clocks, and RFC 3339 times: one parser, one writer. */
#include "drover/time.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drover/common.h"

/* The units of a duration; "ms" before "m". */
static const struct {
	const char *suffix;
	uint64_t ms;
} units[] = {{"ms", 1},
             {"s", 1000},
             {"m", 60000},
             {"h", 3600000ULL},
             {"d", 86400000ULL}};

int
dr_duration_check(const char *s, uint64_t *ms, const char **why)
{
	uint64_t total = 0;
	const char *p = s;
	bool over = false;
	size_t u;

	*why = "malformed";
	if (s == NULL || *s == '\0')
		return DR_EINVAL;
	while (*p) {
		uint64_t n = 0, unit;
		const char *start = p;

		while (isdigit((unsigned char)*p)) {
			if (n > UINT64_MAX / 10 / 86400000ULL)
				over = true;
			else
				n = n * 10 + (uint64_t)(*p - '0');
			p++;
		}
		if (p == start)
			return DR_EINVAL;
		for (u = 0; u < DR_NELEM(units); u++)
			if (strncmp(p, units[u].suffix,
			            strlen(units[u].suffix)) == 0)
				break;
		if (u == DR_NELEM(units))
			return DR_EINVAL;
		unit = units[u].ms;
		p += strlen(units[u].suffix);
		/* Each part and the sum stay within DR_DURATION_MAX_MS: no
		 * wrap-around, whatever the number of parts. */
		if (over || n > DR_DURATION_MAX_MS / unit ||
		    n * unit > DR_DURATION_MAX_MS - total)
			over = true;
		else
			total += n * unit;
	}
	if (over) {
		*why = "over 3650d";
		return DR_EINVAL;
	}
	if (total == 0) {
		*why = "zero";
		return DR_EINVAL;
	}
	*why = NULL;
	*ms = total;
	return 0;
}

int
dr_duration_parse(const char *s, uint64_t *ms)
{
	const char *why;

	return dr_duration_check(s, ms, &why);
}

const char *
dr_duration_fmt(uint64_t ms, char *buf, size_t len)
{
	if (ms < 1000)
		snprintf(buf, len, "%llums", (unsigned long long)ms);
	else if (ms < 60000)
		snprintf(buf, len, "%.1fs", (double)ms / 1000.0);
	else if (ms < 3600000)
		snprintf(buf, len, "%llum%02llus",
		         (unsigned long long)(ms / 60000),
		         (unsigned long long)(ms / 1000 % 60));
	else
		snprintf(buf, len, "%lluh%02llum",
		         (unsigned long long)(ms / 3600000),
		         (unsigned long long)(ms / 60000 % 60));
	return buf;
}

uint64_t
dr_now_mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

uint64_t
dr_now_wall_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

const char *
dr_time_fmt(uint64_t wall_ms, char *buf, size_t len)
{
	time_t t = (time_t)(wall_ms / 1000);
	struct tm tm;
	char tmp[32];

	gmtime_r(&t, &tm);
	strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03uZ", tmp, (unsigned)(wall_ms % 1000));
	return buf;
}

/*
 * RFC 3339 ("2026-11-22T10:25:04.123Z", a fraction of any length, "Z" or
 * "+02:00"), and what an operator types: "2023-12-08T03:00Z", "2023-12-08
 * 03:00[:00]" (UTC), "@EPOCH-SECONDS".
 */
int
dr_time_parse(const char *s, uint64_t *ms)
{
	struct tm tm;
	int y, mo, d, h, mi, sec = 0, n = 0, frac = 0, digits = 0;
	long off = 0;
	time_t t;

	if (s == NULL || *s == '\0')
		return DR_EINVAL;
	if (s[0] == '@') {
		char *end;
		unsigned long long v;
		if (!isdigit((unsigned char)s[1]))
			return DR_EINVAL;
		v = strtoull(s + 1, &end, 10);
		if (*end != '\0' || v > UINT64_MAX / 1000)
			return DR_EINVAL;
		*ms = (uint64_t)v * 1000;
		return 0;
	}
	if (sscanf(s, "%4d-%2d-%2d%*1[Tt ]%2d:%2d%n", &y, &mo, &d, &h, &mi,
	           &n) != 5 ||
	    n == 0)
		return DR_EINVAL;
	s += n;
	if (*s == ':') {
		if (!isdigit((unsigned char)s[1]) ||
		    !isdigit((unsigned char)s[2]))
			return DR_EINVAL;
		sec = (s[1] - '0') * 10 + (s[2] - '0');
		s += 3;
		if (*s == '.') {
			/* ".5" is half a second, ".123456" 123 ms */
			for (s++; isdigit((unsigned char)*s); s++, digits++)
				if (digits < 3)
					frac = frac * 10 + (*s - '0');
			if (digits == 0)
				return DR_EINVAL;
			for (; digits < 3; digits++)
				frac *= 10;
		}
	}
	if (*s == 'Z' || *s == 'z') {
		s++;
	} else if (*s == '+' || *s == '-') {
		int oh, om;
		if (sscanf(s + 1, "%2d:%2d", &oh, &om) != 2 || oh > 23 ||
		    om > 59)
			return DR_EINVAL;
		off = (oh * 60L + om) * 60L * (*s == '-' ? -1 : 1);
		s += 6;
	}
	if (*s != '\0' || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
	    mi > 59 || sec > 60)
		return DR_EINVAL;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = y - 1900;
	tm.tm_mon = mo - 1;
	tm.tm_mday = d;
	tm.tm_hour = h;
	tm.tm_min = mi;
	tm.tm_sec = sec;
	t = timegm(&tm);
	if (t == (time_t)-1 || (long long)t - off < 0)
		return DR_EINVAL;
	*ms = (uint64_t)((long long)t - off) * 1000 + (uint64_t)frac;
	return 0;
}

int
dr_cmp_newest(uint64_t ta, const char *na, uint64_t tb, const char *nb)
{
	if (ta != tb)
		return ta > tb ? -1 : 1;
	return strcmp(nb, na);
}
