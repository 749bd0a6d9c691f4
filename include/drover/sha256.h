/*
 * sha256.h: SHA-256, streaming and one-shot, through libcrypto (which
 * libssh2 links already): files relayed between hosts, plan and audit
 * digests, host key fingerprints.
 */
#ifndef DROVER_SHA256_H
#define DROVER_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define DR_SHA256_LEN 32 /* digest bytes */
#define DR_SHA256_HEX 65 /* hex digest plus NUL */

/* A digest in progress. Its state lives in libcrypto until final or
 * discard. */
struct dr_sha256 {
	void *ctx; /* EVP_MD_CTX */
};

/* Starts a new digest (aborts if libcrypto cannot allocate). */
void dr_sha256_init(struct dr_sha256 *c);
/* Hashes n more bytes; n may be 0 (p may then be NULL). */
void dr_sha256_update(struct dr_sha256 *c, const void *p, size_t n);
/* Writes the 32-byte digest to out and releases the context; it must be
 * re-initialised before it is used again. */
void dr_sha256_final(struct dr_sha256 *c, unsigned char out[DR_SHA256_LEN]);
/* Releases a digest abandoned before final; a no-op after final. */
void dr_sha256_discard(struct dr_sha256 *c);
/* Formats a digest as 64 lower-case hex digits plus NUL. */
void dr_sha256_tohex(const unsigned char d[DR_SHA256_LEN],
                     char out[DR_SHA256_HEX]);
/* One shot: the lower-case hex digest of n bytes at p. */
void dr_sha256_hex(const void *p, size_t n, char out[DR_SHA256_HEX]);

#endif
