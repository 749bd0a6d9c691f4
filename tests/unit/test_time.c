/* test_time.c: the one time parser and writer, and durations. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "drover/common.h"
#include "drover/time.h"

#define T0 1701997200000ULL /* 2023-12-08T01:00:00Z */

static void
test_parse(void **state)
{
	static const struct {
		const char *s;
		uint64_t ms;
	} ok[] = {
	    {"2023-12-08T01:00:00Z", T0},
	    {"2023-12-08T01:00:00.5Z", T0 + 500}, /* half a second, not 5 ms */
	    {"2023-12-08T01:00:00.05Z", T0 + 50},
	    {"2023-12-08T01:00:00.123456Z", T0 + 123},
	    {"2023-12-08T02:00:00+01:00", T0},
	    {"2023-12-07T23:30:00-01:30", T0},
	    {"2023-12-08T01:00Z", T0},
	    {"2023-12-08 01:00", T0},
	    {"2023-12-08 01:00:00", T0},
	    {"2023-12-08T01:00:00", T0},
	    {"@1701997200", T0},
	};
	static const char *const bad[] = {"",
	                                  "2023-12-08",
	                                  "2023-13-08T01:00Z",
	                                  "2023-12-08T24:00Z",
	                                  "2023-12-08T01:00:00.Z",
	                                  "2023-12-08T01:00:00Zjunk",
	                                  "@",
	                                  "@12x",
	                                  "yesterday",
	                                  "2023-12-08T01:00:00+1"};
	size_t i;
	uint64_t ms;
	char buf[40];

	for (i = 0; i < DR_NELEM(ok); i++) {
		ms = 0;
		if (dr_time_parse(ok[i].s, &ms) != 0 || ms != ok[i].ms)
			fail_msg("%s: got %llu, want %llu", ok[i].s,
			         (unsigned long long)ms,
			         (unsigned long long)ok[i].ms);
	}
	for (i = 0; i < DR_NELEM(bad); i++)
		if (dr_time_parse(bad[i], &ms) == 0)
			fail_msg("\"%s\" parsed as %llu", bad[i],
			         (unsigned long long)ms);
	/* What the writer writes, the parser reads back. */
	assert_string_equal(dr_time_fmt(T0 + 42, buf, sizeof(buf)),
	                    "2023-12-08T01:00:00.042Z");
	assert_int_equal(dr_time_parse(buf, &ms), 0);
	assert_int_equal(ms, T0 + 42);
}

static void
test_durations(void **state)
{
	uint64_t ms;

	assert_int_equal(dr_duration_parse("1h30m", &ms), 0);
	assert_int_equal(ms, 5400000);
	assert_int_equal(dr_duration_parse("3650d", &ms), 0);
	assert_int_equal(dr_duration_parse("3651d", &ms), DR_EINVAL);
	/* each part fits, the sum would wrap */
	assert_int_equal(dr_duration_parse("213503982289d45d51952616ms", &ms),
	                 DR_EINVAL);
	assert_int_equal(dr_duration_parse("3000d3000d", &ms), DR_EINVAL);
	assert_int_equal(dr_duration_parse("0s", &ms), DR_EINVAL);
	assert_int_equal(dr_duration_parse("10 minutes", &ms), DR_EINVAL);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parse),
	    cmocka_unit_test(test_durations),
	};

	return cmocka_run_group_tests_name("time", tests, NULL, NULL);
}
