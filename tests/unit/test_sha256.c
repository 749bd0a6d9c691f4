/* test_sha256.c: SHA-256 against FIPS 180-4 / NIST CAVP vectors. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "drover/sha256.h"

static void
check(const void *p, size_t n, const char *want)
{
	char got[DR_SHA256_HEX];

	dr_sha256_hex(p, n, got);
	assert_string_equal(got, want);
}

static void
test_empty(void **state)
{
	check(
	    "", 0,
	    "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

static void
test_abc(void **state)
{
	check(
	    "abc", 3,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

static void
test_two_blocks(void **state)
{
	const char *m =
	    "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq";

	check(
	    m, strlen(m),
	    "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1");
}

static void
test_896_bits(void **state)
{
	const char *m =
	    "abcdefghbcdefghicdefghijdefghijkefghijklfghijklmghijklmn"
	    "hijklmnoijklmnopjklmnopqklmnopqrlmnopqrsmnopqrstnopqrstu";

	check(
	    m, strlen(m),
	    "cf5b16a778af8380036ce59e7b0492370b249b11e8f07a51afac45037afee9d1");
}

static void
test_million_a(void **state)
{
	size_t n = 1000000;
	char *m = malloc(n);

	assert_non_null(m);
	memset(m, 'a', n);
	check(
	    m, n,
	    "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
	free(m);
}

/* Feeding the same bytes in uneven pieces gives the one-shot digest. */
static void
test_streaming_splits(void **state)
{
	unsigned char buf[1000];
	char one[DR_SHA256_HEX], many[DR_SHA256_HEX];
	unsigned char d[DR_SHA256_LEN];
	size_t i, step;

	for (i = 0; i < sizeof(buf); i++)
		buf[i] = (unsigned char)(i * 7 + 3);
	dr_sha256_hex(buf, sizeof(buf), one);
	for (step = 1; step <= 130; step++) {
		struct dr_sha256 c;

		dr_sha256_init(&c);
		for (i = 0; i < sizeof(buf); i += step)
			dr_sha256_update(
			    &c, buf + i,
			    sizeof(buf) - i < step ? sizeof(buf) - i : step);
		dr_sha256_update(&c, NULL, 0);
		dr_sha256_final(&c, d);
		dr_sha256_tohex(d, many);
		assert_string_equal(one, many);
	}
}

/*
 * The relay's pattern: megabytes in the chunk sizes a stream delivers
 * (32 KiB reads, short reads, a wrapped ring's two pieces) give the
 * one-shot digest.
 */
static void
test_relay_chunks(void **state)
{
	static const size_t sizes[] = {32768, 1, 32767, 65536, 7, 524288, 100};
	size_t n = 5 * 1024 * 1024 + 13, i, k = 0, step;
	unsigned char *buf = malloc(n), d[DR_SHA256_LEN];
	char one[DR_SHA256_HEX], many[DR_SHA256_HEX];
	struct dr_sha256 c;
	uint32_t x = 2463534242u;

	assert_non_null(buf);
	for (i = 0; i < n; i++) {
		x ^= x << 13;
		x ^= x >> 17;
		x ^= x << 5;
		buf[i] = (unsigned char)x;
	}
	dr_sha256_hex(buf, n, one);
	dr_sha256_init(&c);
	for (i = 0; i < n; i += step) {
		step = sizes[k++ % (sizeof(sizes) / sizeof(sizes[0]))];
		if (step > n - i)
			step = n - i;
		dr_sha256_update(&c, buf + i, step);
	}
	dr_sha256_final(&c, d);
	dr_sha256_tohex(d, many);
	assert_string_equal(one, many);
	free(buf);
}

/* An abandoned digest is released (the sanitizer build checks for the
 * leak); discard after final, or twice, is a no-op; a context is reusable
 * after init. */
static void
test_discard(void **state)
{
	struct dr_sha256 c;
	unsigned char d[DR_SHA256_LEN];
	char hex[DR_SHA256_HEX];

	dr_sha256_init(&c);
	dr_sha256_update(&c, "abc", 3);
	dr_sha256_discard(&c);
	assert_null(c.ctx);
	dr_sha256_discard(&c);
	dr_sha256_init(&c);
	dr_sha256_update(&c, "abc", 3);
	dr_sha256_final(&c, d);
	assert_null(c.ctx);
	dr_sha256_discard(&c);
	dr_sha256_tohex(d, hex);
	assert_string_equal(
	    hex,
	    "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
}

/* Lengths around the padding boundary (55, 56, 63, 64 bytes). */
static void
test_padding_edges(void **state)
{
	static const struct {
		size_t n;
		const char *want;
	} v[] = {
	    {55, "9f4390f8d30c2dd92ec9f095b65e2b9ae9b0a925a5258e241c9f1e910"
	         "f734318"},
	    {56, "b35439a4ac6f0948b6d6f9e3c6af0f5f590ce20f1bde7090ef7970686"
	         "ec6738a"},
	    {63, "7d3e74a05d7db15bce4ad9ec0658ea98e3f06eeecf16b4c6fff2da457"
	         "ddc2f34"},
	    {64, "ffe054fe7ae0cb6dc65c3af9b61d5209f439851db43d0ba5997337df1"
	         "54668eb"},
	};
	char m[64];
	size_t i;

	memset(m, 'a', sizeof(m));
	for (i = 0; i < sizeof(v) / sizeof(v[0]); i++)
		check(m, v[i].n, v[i].want);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_empty),
	    cmocka_unit_test(test_abc),
	    cmocka_unit_test(test_two_blocks),
	    cmocka_unit_test(test_896_bits),
	    cmocka_unit_test(test_million_a),
	    cmocka_unit_test(test_streaming_splits),
	    cmocka_unit_test(test_padding_edges),
	    cmocka_unit_test(test_relay_chunks),
	    cmocka_unit_test(test_discard),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
