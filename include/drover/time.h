/*
 * time.h: durations ("1h30m"), the clocks, and wall-clock times in RFC 3339:
 * the one parser and the one writer every module uses.
 */
#ifndef DROVER_TIME_H
#define DROVER_TIME_H

#include <stddef.h>
#include <stdint.h>

/* The longest duration a plan may give: 3650 days. */
#define DR_DURATION_MAX_MS (3650ULL * 86400000ULL)

/*
 * Parses a duration: a positive integer followed by ms, s, m, h or d
 * ("90s", "30m", "8h"); several may be joined ("1h30m"). Returns 0 and sets
 * *ms, or DR_EINVAL (malformed, zero, or over DR_DURATION_MAX_MS).
 */
int dr_duration_parse(const char *s, uint64_t *ms);
/* The same, and *why says what is wrong when it fails: "malformed",
 * "zero" or "over 3650d" (NULL on success). */
int dr_duration_check(const char *s, uint64_t *ms, const char **why);
/* Formats ms as "1h02m", "4m12s", "41.2s" or "350ms" into buf. */
const char *dr_duration_fmt(uint64_t ms, char *buf, size_t len);

/* Monotonic milliseconds; wall clock milliseconds since the epoch. */
uint64_t dr_now_mono_ms(void);
uint64_t dr_now_wall_ms(void);
/*
 * Parses a time: RFC 3339 ("2023-12-08T03:00:00Z", with a fraction of
 * a second of any length and "Z" or an offset such as "+01:00"),
 * "2023-12-08T03:00Z", "2023-12-08 03:00[:00]" (taken as UTC) or
 * "@EPOCH-SECONDS". Returns 0 and sets *ms (wall clock), or DR_EINVAL.
 */
int dr_time_parse(const char *s, uint64_t *ms);

/* Formats wall-clock ms as RFC 3339 UTC ("2026-11-22T10:25:04.123Z"). */
const char *dr_time_fmt(uint64_t wall_ms, char *buf, size_t len);

/*
 * qsort order for newest first: the later time ta or tb first, then the
 * greater name (run ids and backup names begin with their time).
 */
int dr_cmp_newest(uint64_t ta, const char *na, uint64_t tb, const char *nb);

#endif
