/*
 * sha256.h: SHA-256 (FIPS 180-4), streaming and one-shot, used to check
 * files relayed between hosts against their published digests.
 */
#ifndef DROVER_SHA256_H
#define DROVER_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define DR_SHA256_LEN 32 /* digest bytes */
#define DR_SHA256_HEX 65 /* hex digest plus NUL */

struct dr_sha256 {
	uint32_t h[8];
	uint64_t total; /* bytes hashed so far */
	unsigned char block[64];
	size_t used; /* bytes in block */
};

/* Starts a new digest. */
void dr_sha256_init(struct dr_sha256 *c);
/* Hashes n more bytes; n may be 0 (p may then be NULL). */
void dr_sha256_update(struct dr_sha256 *c, const void *p, size_t n);
/* Writes the 32-byte digest to out; the context must be re-initialised
 * before it is used again. */
void dr_sha256_final(struct dr_sha256 *c, unsigned char out[DR_SHA256_LEN]);
/* Formats a digest as 64 lower-case hex digits plus NUL. */
void dr_sha256_tohex(const unsigned char d[DR_SHA256_LEN],
                     char out[DR_SHA256_HEX]);
/* One shot: the lower-case hex digest of n bytes at p. */
void dr_sha256_hex(const void *p, size_t n, char out[DR_SHA256_HEX]);

#endif
