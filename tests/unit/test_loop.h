/*
 * test_loop.h: a libuv loop per unit test, with a watchdog, that must close
 * with no handle left (uv_loop_close() == 0). Include after cmocka.h.
 */
#ifndef DROVER_TEST_LOOP_H
#define DROVER_TEST_LOOP_H

#include <stdlib.h>
#include <unistd.h>
#include <uv.h>

static inline uv_loop_t *
new_loop(void)
{
	uv_loop_t *loop = malloc(sizeof(*loop));

	assert_non_null(loop);
	assert_int_equal(uv_loop_init(loop), 0);
	alarm(30); /* per-test watchdog */
	return loop;
}

/* Runs what is left, then closes: a leaked handle fails the test. */
static inline void
end_loop(uv_loop_t *loop)
{
	uv_run(loop, UV_RUN_DEFAULT);
	assert_int_equal(uv_loop_close(loop), 0);
	free(loop);
	alarm(0);
}

#endif
