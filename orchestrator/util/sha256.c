/* sha256.c: SHA-256 through libcrypto's EVP interface. */
#include "drover/sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

static void
die(const char *what)
{
	fprintf(stderr, "drover: libcrypto: %s failed\n", what);
	abort();
}

void
dr_sha256_init(struct dr_sha256 *c)
{
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();

	if (ctx == NULL || EVP_DigestInit_ex(ctx, EVP_sha256(), NULL) != 1)
		die("SHA-256 init");
	c->ctx = ctx;
}

void
dr_sha256_update(struct dr_sha256 *c, const void *p, size_t n)
{
	if (n > 0 && EVP_DigestUpdate(c->ctx, p, n) != 1)
		die("SHA-256 update");
}

void
dr_sha256_final(struct dr_sha256 *c, unsigned char out[DR_SHA256_LEN])
{
	unsigned int len = 0;

	if (EVP_DigestFinal_ex(c->ctx, out, &len) != 1 || len != DR_SHA256_LEN)
		die("SHA-256 final");
	dr_sha256_discard(c);
}

void
dr_sha256_discard(struct dr_sha256 *c)
{
	EVP_MD_CTX_free(c->ctx);
	c->ctx = NULL;
}

void
dr_sha256_tohex(const unsigned char d[DR_SHA256_LEN], char out[DR_SHA256_HEX])
{
	static const char hex[] = "0123456789abcdef";
	int i;

	for (i = 0; i < DR_SHA256_LEN; i++) {
		out[2 * i] = hex[d[i] >> 4];
		out[2 * i + 1] = hex[d[i] & 15];
	}
	out[2 * DR_SHA256_LEN] = '\0';
}

void
dr_sha256_hex(const void *p, size_t n, char out[DR_SHA256_HEX])
{
	unsigned char d[DR_SHA256_LEN];
	unsigned int len = 0;

	if (EVP_Digest(p, n, d, &len, EVP_sha256(), NULL) != 1)
		die("SHA-256");
	dr_sha256_tohex(d, out);
}
