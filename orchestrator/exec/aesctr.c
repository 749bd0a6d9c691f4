/*
 * aesctr.c: AES-CTR for libssh2, its keystream made ahead in bulk.
 *
 * libssh2 (1.10, and 1.11.1 alike) ciphers a packet one 16-byte block at a
 * time, each block an EVP_Cipher() call into the provider's AES-CTR, whose
 * per-call cost is most of the work: in a big copy the relay spent a third
 * of its CPU there, and a libssh2 client about 1.7 times OpenSSH's CPU per
 * byte (tests/bench/copy-throughput.sh). OpenSSH ciphers a whole packet per
 * call.
 *
 * libssh2 takes its cipher from EVP_aes_128_ctr() (and 192, 256). drover
 * defines those functions, and the executable exports them (CMakeLists.txt:
 * --export-dynamic-symbol), so the dynamic linker binds libssh2's calls to
 * them. They return a cipher of OpenSSL's method API, which EVP_Cipher()
 * calls directly. It is still OpenSSL's AES-CTR: a provider context with the
 * same key and counter enciphers zeros KS_BYTES at a time, and each call
 * XORs its bytes with the next unused keystream bytes. The output is the
 * same, byte for byte, for any split of the input
 * (tests/unit/test_aesctr.c); keystream is never used twice, as the inner
 * context's counter only moves on.
 *
 * A libssh2 that fetches its ciphers by name instead gets the provider's
 * directly: slower, no less correct.
 */
#define _GNU_SOURCE                 /* RTLD_DEFAULT */
#define OPENSSL_SUPPRESS_DEPRECATED /* the EVP_CIPHER_meth_* method API */

#include "drover/aesctr.h"
#include "drover/common.h"

#include <dlfcn.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/objects.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <string.h>

#define KS_BYTES 4096 /* keystream made ahead: 256 blocks */

struct ahead {
	EVP_CIPHER_CTX *inner; /* the provider's AES-CTR, past ks's end */
	size_t pos;            /* next unused byte of ks; KS_BYTES: none */
	unsigned char ks[KS_BYTES];
};

static const unsigned char zeros[KS_BYTES];
static atomic_ulong ahead_inits;

static const struct variant {
	int nid;
	int key_len;
	const char *name; /* the provider's */
} variants[] = {
    {NID_aes_128_ctr, 16, "AES-128-CTR"},
    {NID_aes_192_ctr, 24, "AES-192-CTR"},
    {NID_aes_256_ctr, 32, "AES-256-CTR"},
};

static const struct variant *
variant_of(const EVP_CIPHER_CTX *ctx)
{
	int nid = EVP_CIPHER_CTX_get_nid(ctx);

	for (size_t i = 0; i < DR_NELEM(variants); i++)
		if (variants[i].nid == nid)
			return &variants[i];
	return NULL;
}

/*
 * ctr = the counter of the first unused block: the inner context's, less
 * the blocks made ahead and not used (a->pos on a block boundary).
 */
static int
rewind_counter(const struct ahead *a, unsigned char ctr[16])
{
	unsigned borrow = (unsigned)((KS_BYTES - a->pos) / 16);

	if (EVP_CIPHER_CTX_get_updated_iv(a->inner, ctr, 16) != 1)
		return -1;
	for (int i = 15; i >= 0 && borrow != 0; i--) {
		unsigned d = ctr[i], b = borrow & 0xff;
		borrow >>= 8;
		if (d < b)
			borrow++;
		ctr[i] = (unsigned char)(d - b);
	}
	return 0;
}

static int
ahead_init(EVP_CIPHER_CTX *ctx, const unsigned char *key,
           const unsigned char *iv, int enc)
{
	struct ahead *a = EVP_CIPHER_CTX_get_cipher_data(ctx);
	const struct variant *v = variant_of(ctx);
	unsigned char ctr[16];

	(void)enc; /* CTR: the same both ways */
	if (a == NULL || v == NULL)
		return 0;
	if (a->inner == NULL) {
		EVP_CIPHER *c = EVP_CIPHER_fetch(NULL, v->name, NULL);
		int ok;

		if (c == NULL)
			return 0;
		a->inner = EVP_CIPHER_CTX_new();
		ok = a->inner != NULL &&
		     EVP_EncryptInit_ex(a->inner, c, NULL, NULL, NULL) == 1;
		EVP_CIPHER_free(c); /* the context holds its own reference */
		if (!ok)
			return 0;
	}
	/*
	 * As the provider's AES-CTR does: a new counter starts there; without
	 * one the counter goes on from the next block (a partial block's
	 * keystream is dropped), under the new key if there is one.
	 */
	if (iv == NULL) {
		a->pos = (a->pos + 15) / 16 * 16;
		if (key == NULL)
			return 1;
		if (rewind_counter(a, ctr) != 0)
			return 0;
		iv = ctr;
	}
	/* What was made ahead is for the old key or counter. */
	OPENSSL_cleanse(a->ks, sizeof(a->ks));
	a->pos = KS_BYTES;
	if (EVP_EncryptInit_ex(a->inner, NULL, NULL, key, iv) != 1)
		return 0;
	atomic_fetch_add(&ahead_inits, 1);
	return 1;
}

/* out = in ^ ks, eight bytes at a time (libssh2 passes 16): a byte loop
 * here cost more than the provider's call it replaces. */
static void
xor_bytes(unsigned char *out, const unsigned char *in, const unsigned char *ks,
          size_t n)
{
	size_t i = 0;

	for (; i + 8 <= n; i += 8) {
		uint64_t x, k;
		memcpy(&x, in + i, 8);
		memcpy(&k, ks + i, 8);
		x ^= k;
		memcpy(out + i, &x, 8);
	}
	for (; i < n; i++)
		out[i] = in[i] ^ ks[i];
}

static int
ahead_cipher(EVP_CIPHER_CTX *ctx, unsigned char *out, const unsigned char *in,
             size_t len)
{
	struct ahead *a = EVP_CIPHER_CTX_get_cipher_data(ctx);

	while (len > 0) {
		size_t n = KS_BYTES - a->pos;

		if (n == 0) {
			int got = 0;
			if (a->inner == NULL ||
			    EVP_EncryptUpdate(a->inner, a->ks, &got, zeros,
			                      KS_BYTES) != 1 ||
			    got != KS_BYTES) {
				/* nothing of the plaintext goes out */
				memset(out, 0, len);
				return 0;
			}
			a->pos = 0;
			n = KS_BYTES;
		}
		if (n > len)
			n = len;
		xor_bytes(out, in, a->ks + a->pos, n);
		a->pos += n;
		out += n;
		in += n;
		len -= n;
	}
	return 1;
}

static int
ahead_cleanup(EVP_CIPHER_CTX *ctx)
{
	struct ahead *a = EVP_CIPHER_CTX_get_cipher_data(ctx);

	if (a != NULL) {
		EVP_CIPHER_CTX_free(a->inner);
		a->inner = NULL;
		OPENSSL_cleanse(a->ks, sizeof(a->ks));
	}
	return 1;
}

/* EVP_CIPHER_CTX_copy: the copy gets its own inner context, at the same
 * counter and keystream position, as a copy of the provider's would. */
static int
ahead_ctrl(EVP_CIPHER_CTX *ctx, int type, int arg, void *ptr)
{
	struct ahead *a = EVP_CIPHER_CTX_get_cipher_data(ctx), *b;
	EVP_CIPHER_CTX *to = ptr;

	(void)arg;
	if (type != EVP_CTRL_COPY)
		return -1;
	b = EVP_CIPHER_CTX_get_cipher_data(to);
	if (b == NULL)
		return 0;
	b->inner = NULL; /* it held a's */
	if (a->inner == NULL)
		return 1;
	b->inner = EVP_CIPHER_CTX_new();
	if (b->inner == NULL || EVP_CIPHER_CTX_copy(b->inner, a->inner) != 1) {
		EVP_CIPHER_CTX_free(b->inner);
		b->inner = NULL;
		OPENSSL_cleanse(b->ks, sizeof(b->ks));
		b->pos = KS_BYTES;
		return 0;
	}
	return 1;
}

static EVP_CIPHER *ciphers[DR_NELEM(variants)];

static void
make_ciphers(void)
{
	for (size_t i = 0; i < DR_NELEM(variants); i++) {
		EVP_CIPHER *c = EVP_CIPHER_meth_new(variants[i].nid, 1,
		                                    variants[i].key_len);

		/*
		 * ALWAYS_CALL_INIT: a new counter without a new key reaches
		 * ahead_init too. CUSTOM_COPY: ahead_ctrl copies the inner
		 * context, which a plain copy would share.
		 */
		if (c == NULL || EVP_CIPHER_meth_set_iv_length(c, 16) != 1 ||
		    EVP_CIPHER_meth_set_flags(
		        c, EVP_CIPH_CTR_MODE | EVP_CIPH_ALWAYS_CALL_INIT |
		               EVP_CIPH_CUSTOM_COPY) != 1 ||
		    EVP_CIPHER_meth_set_init(c, ahead_init) != 1 ||
		    EVP_CIPHER_meth_set_do_cipher(c, ahead_cipher) != 1 ||
		    EVP_CIPHER_meth_set_cleanup(c, ahead_cleanup) != 1 ||
		    EVP_CIPHER_meth_set_ctrl(c, ahead_ctrl) != 1 ||
		    EVP_CIPHER_meth_set_impl_ctx_size(
		        c, (int)sizeof(struct ahead)) != 1) {
			EVP_CIPHER_meth_free(c);
			c = NULL;
		}
		ciphers[i] = c;
	}
}

/*
 * Should the method API fail (no memory), the provider's cipher serves, as
 * without drover. Fetched outside the once: a fetch may initialise
 * OpenSSL, which may call EVP_aes_128_ctr() again.
 */
static const EVP_CIPHER *
cipher(size_t i)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	static _Atomic(EVP_CIPHER *) fetched[DR_NELEM(variants)];
	EVP_CIPHER *f, *none = NULL;

	pthread_once(&once, make_ciphers);
	if (ciphers[i] != NULL)
		return ciphers[i];
	if ((f = atomic_load(&fetched[i])) != NULL)
		return f;
	f = EVP_CIPHER_fetch(NULL, variants[i].name, NULL);
	if (f != NULL &&
	    !atomic_compare_exchange_strong(&fetched[i], &none, f)) {
		EVP_CIPHER_free(f); /* another thread's was first */
		f = none;
	}
	return f;
}

const EVP_CIPHER *
EVP_aes_128_ctr(void)
{
	return cipher(0);
}

const EVP_CIPHER *
EVP_aes_192_ctr(void)
{
	return cipher(1);
}

const EVP_CIPHER *
EVP_aes_256_ctr(void)
{
	return cipher(2);
}

unsigned long
dr_aesctr_inits(void)
{
	return atomic_load(&ahead_inits);
}

bool
dr_aesctr_bound(void)
{
	const EVP_CIPHER *(*ours)(void) = EVP_aes_128_ctr;
	void *found = dlsym(RTLD_DEFAULT, "EVP_aes_128_ctr");

	return found != NULL && memcmp(&found, &ours, sizeof(found)) == 0;
}
