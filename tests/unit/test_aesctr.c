/*
 * test_aesctr.c: drover's EVP_aes_*_ctr (orchestrator/exec/aesctr.c), the
 * AES-CTR libssh2 binds to, against the provider's AES-CTR: the same bytes
 * for any split of the input, both ways, after a new counter or key, and in
 * a copied context; and that this program's libssh2 would get it.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <openssl/evp.h>
#include <openssl/objects.h>

#include "drover/aesctr.h"

#define LEN (100 * 1024 + 7)

static const struct {
	const EVP_CIPHER *(*ours)(void);
	const char *name;
	int nid, key_len;
} variants[] = {
    {EVP_aes_128_ctr, "AES-128-CTR", NID_aes_128_ctr, 16},
    {EVP_aes_192_ctr, "AES-192-CTR", NID_aes_192_ctr, 24},
    {EVP_aes_256_ctr, "AES-256-CTR", NID_aes_256_ctr, 32},
};

static uint64_t rng = 0x9e3779b97f4a7c15u;

static uint64_t
next(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return rng;
}

static void
fill(unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		p[i] = (unsigned char)next();
}

/* The provider's AES-CTR of in[0..n) under key and iv, in one call. */
static void
reference(const char *name, const unsigned char *key, const unsigned char *iv,
          const unsigned char *in, unsigned char *out, size_t n)
{
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, name, NULL);
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
	int got = 0;

	assert_non_null(c);
	assert_non_null(ctx);
	assert_int_equal(EVP_EncryptInit_ex(ctx, c, NULL, key, iv), 1);
	assert_int_equal(EVP_EncryptUpdate(ctx, out, &got, in, (int)n), 1);
	assert_int_equal(got, (int)n);
	EVP_CIPHER_CTX_free(ctx);
	EVP_CIPHER_free(c);
}

/* Ciphers in[from..to) with ctx: as libssh2 does (EVP_Cipher, 16 bytes at a
 * time) when blocks, else through EVP_CipherUpdate in random pieces. */
static void
run(EVP_CIPHER_CTX *ctx, const unsigned char *in, unsigned char *out,
    size_t from, size_t to, int blocks)
{
	size_t i = from;

	while (i < to) {
		size_t n = blocks ? 16 : 1 + next() % 5000;
		if (n > to - i)
			n = to - i;
		if (blocks) {
			assert_int_not_equal(
			    EVP_Cipher(ctx, out + i, in + i, (unsigned)n), -1);
		} else {
			int got = 0;
			assert_int_equal(EVP_CipherUpdate(ctx, out + i, &got,
			                                  in + i, (int)n),
			                 1);
			assert_int_equal(got, (int)n);
		}
		i += n;
	}
}

static void
test_bound(void **state)
{
	EVP_CIPHER *provider = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);

	/* the test programs link with the export, as drover does */
	assert_true(dr_aesctr_bound());
	for (size_t v = 0; v < 3; v++) {
		const EVP_CIPHER *c = variants[v].ours();
		assert_non_null(c);
		assert_int_equal(EVP_CIPHER_get_nid(c), variants[v].nid);
		assert_int_equal(EVP_CIPHER_get_key_length(c),
		                 variants[v].key_len);
		assert_int_equal(EVP_CIPHER_get_iv_length(c), 16);
		/* drover's method, not the fallback to the provider's */
		assert_null(EVP_CIPHER_get0_provider(c));
	}
	assert_non_null(EVP_CIPHER_get0_provider(provider));
	EVP_CIPHER_free(provider);
}

static void
test_same_bytes(void **state)
{
	unsigned char *in = malloc(LEN), *want = malloc(LEN),
	              *got = malloc(LEN);
	unsigned char key[32], iv[16];

	assert_non_null(in);
	assert_non_null(want);
	assert_non_null(got);
	for (size_t v = 0; v < 3; v++) {
		for (int blocks = 0; blocks < 2; blocks++) {
			for (int enc = 0; enc < 2; enc++) {
				EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new();
				unsigned long inits = dr_aesctr_inits();

				fill(in, LEN);
				fill(key, sizeof(key));
				fill(iv, sizeof(iv));
				/* a counter about to carry into its upper half
				 */
				memset(iv + 8, 0xff, 7);
				reference(variants[v].name, key, iv, in, want,
				          LEN);
				assert_int_equal(
				    EVP_CipherInit(ctx, variants[v].ours(), key,
				                   iv, enc),
				    1);
				assert_true(dr_aesctr_inits() > inits);
				memset(got, 0, LEN);
				run(ctx, in, got, 0, LEN, blocks);
				assert_memory_equal(got, want, LEN);
				EVP_CIPHER_CTX_free(ctx);
			}
		}
	}
	free(in);
	free(want);
	free(got);
}

/* Ciphers in[from..to) with both contexts, in the same random pieces (not
 * whole blocks), and checks that they agree. */
static void
both(EVP_CIPHER_CTX *ours, EVP_CIPHER_CTX *theirs, const unsigned char *in,
     size_t from, size_t to)
{
	static unsigned char a[20000], b[20000];

	assert_true(to <= sizeof(a));
	while (from < to) {
		size_t n = 1 + next() % 700;
		int got = 0;
		if (n > to - from)
			n = to - from;
		assert_int_equal(
		    EVP_CipherUpdate(ours, a, &got, in + from, (int)n), 1);
		assert_int_equal(
		    EVP_CipherUpdate(theirs, b, &got, in + from, (int)n), 1);
		assert_memory_equal(a, b, n);
		from += n;
	}
}

/* The same calls on drover's context and on the provider's give the same
 * bytes: a new counter, a new key alone (the counter goes on), neither
 * (the partial block is dropped), both. */
static void
test_reinit_as_provider(void **state)
{
	unsigned char in[20000], key[16], key2[16], iv[16], iv2[16];
	EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, "AES-128-CTR", NULL);
	EVP_CIPHER_CTX *ours = EVP_CIPHER_CTX_new();
	EVP_CIPHER_CTX *theirs = EVP_CIPHER_CTX_new();
	EVP_CIPHER_CTX *ctx[2] = {ours, theirs};

	fill(in, sizeof(in));
	fill(key, sizeof(key));
	fill(key2, sizeof(key2));
	fill(iv, sizeof(iv));
	fill(iv2, sizeof(iv2));
	memset(iv + 12, 0xff, 4); /* the low word carries soon */
	assert_int_equal(EVP_CipherInit(ours, EVP_aes_128_ctr(), key, iv, 1),
	                 1);
	assert_int_equal(EVP_CipherInit(theirs, c, key, iv, 1), 1);
	both(ours, theirs, in, 0, 5003); /* keystream made ahead */

	for (int i = 0; i < 2; i++) /* a new counter */
		assert_int_equal(
		    EVP_CipherInit_ex(ctx[i], NULL, NULL, NULL, iv2, 1), 1);
	both(ours, theirs, in, 0, 7001);

	for (int i = 0; i < 2; i++) /* a new key, the counter goes on */
		assert_int_equal(
		    EVP_CipherInit_ex(ctx[i], NULL, NULL, key2, NULL, 0), 1);
	both(ours, theirs, in, 0, 9005);

	for (int i = 0; i < 2; i++) /* neither */
		assert_int_equal(
		    EVP_CipherInit_ex(ctx[i], NULL, NULL, NULL, NULL, 1), 1);
	both(ours, theirs, in, 0, 3001);

	for (int i = 0; i < 2; i++) /* both */
		assert_int_equal(
		    EVP_CipherInit_ex(ctx[i], NULL, NULL, key, iv2, 1), 1);
	both(ours, theirs, in, 0, sizeof(in));
	EVP_CIPHER_CTX_free(ours);
	EVP_CIPHER_CTX_free(theirs);
	EVP_CIPHER_free(c);
}

static void
test_copy(void **state)
{
	unsigned char in[20000], want[20000], a[20000], b[20000];
	unsigned char key[32], iv[16];
	EVP_CIPHER_CTX *ctx = EVP_CIPHER_CTX_new(), *dup = EVP_CIPHER_CTX_new();

	fill(in, sizeof(in));
	fill(key, sizeof(key));
	fill(iv, sizeof(iv));
	reference("AES-256-CTR", key, iv, in, want, sizeof(in));
	assert_int_equal(EVP_CipherInit(ctx, EVP_aes_256_ctr(), key, iv, 1), 1);
	run(ctx, in, a, 0, 6000, 0);
	memcpy(b, a, 6000);
	assert_int_equal(EVP_CIPHER_CTX_copy(dup, ctx), 1);
	/* both go on from the same place, each with its own inner context:
	 * the original ends and is freed before the copy goes on */
	run(ctx, in, a, 6000, sizeof(in), 1);
	assert_memory_equal(a, want, sizeof(in));
	EVP_CIPHER_CTX_free(ctx);
	run(dup, in, b, 6000, sizeof(in), 0);
	assert_memory_equal(b, want, sizeof(in));
	EVP_CIPHER_CTX_free(dup);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_bound),
	    cmocka_unit_test(test_same_bytes),
	    cmocka_unit_test(test_reinit_as_provider),
	    cmocka_unit_test(test_copy),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
