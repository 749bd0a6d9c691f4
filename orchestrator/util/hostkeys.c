/*
 * hostkeys.c: the keys a known_hosts file pins, read with libssh2's parser
 * and fingerprinted with libcrypto as OpenSSH does (see hostkeys.h).
 */
#include "drover/hostkeys.h"

#include <errno.h>
#include <libssh2.h>
#include <openssl/evp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "drover/common.h"
#include "drover/sha256.h"

/* All in one arena: this struct, the keys and their strings. */
struct dr_hostkeys {
	struct dr_arena *arena;
	struct dr_hostkey *e; /* in file order */
	size_t n;
};

/* The key blob that blob64 (base64, padded) holds, or NULL. */
static unsigned char *
decode(const char *blob64, size_t *len)
{
	size_t n = strlen(blob64);
	unsigned char *blob;
	int got;

	if (n == 0 || n % 4 != 0 || n > INT32_MAX)
		return NULL;
	blob = dr_xmalloc(n / 4 * 3 + 1);
	got = EVP_DecodeBlock(blob, (const unsigned char *)blob64, (int)n);
	if (got < 0) {
		free(blob);
		return NULL;
	}
	/* EVP_DecodeBlock counts the padding as data */
	if (blob64[n - 1] == '=')
		got--;
	if (blob64[n - 2] == '=')
		got--;
	*len = (size_t)got;
	return blob;
}

char *
dr_hostkeys_fingerprint_blob(const void *blob, size_t n)
{
	unsigned char d[DR_SHA256_LEN], b64[4 * ((DR_SHA256_LEN + 2) / 3) + 1];
	struct dr_sha256 c;
	char *eq;

	dr_sha256_init(&c);
	dr_sha256_update(&c, blob, n);
	dr_sha256_final(&c, d);
	EVP_EncodeBlock(b64, d, DR_SHA256_LEN);
	if ((eq = strchr((char *)b64, '=')) != NULL)
		*eq = '\0';
	return dr_xasprintf("SHA256:%s", (char *)b64);
}

/*
 * The key's type as ssh-keygen -l names it, from the type name that starts
 * every key blob (a 32-bit length, then the name); NULL for no key blob.
 */
static char *
type_of(const unsigned char *blob, size_t n)
{
	static const struct {
		const char *name, *label;
		bool prefix;
	} types[] = {
	    {"ssh-ed25519", "ED25519", false},
	    {"ecdsa-sha2-", "ECDSA", true},
	    {"ssh-rsa", "RSA", false},
	    {"ssh-dss", "DSA", false},
	    {"sk-ssh-ed25519@openssh.com", "ED25519-SK", false},
	    {"sk-ecdsa-sha2-", "ECDSA-SK", true},
	};
	uint32_t len;
	char *name;
	size_t i;

	if (n < 4)
		return NULL;
	len = (uint32_t)blob[0] << 24 | (uint32_t)blob[1] << 16 |
	      (uint32_t)blob[2] << 8 | blob[3];
	if (len == 0 || len > 64 || len > n - 4)
		return NULL;
	name = dr_xstrndup((const char *)blob + 4, len);
	for (i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		size_t k = strlen(types[i].name);

		if (types[i].prefix ? strncmp(name, types[i].name, k) == 0
		                    : strcmp(name, types[i].name) == 0) {
			free(name);
			return dr_xstrdup(types[i].label);
		}
	}
	return name;
}

int
dr_hostkeys_fingerprint(const char *blob64, char **out)
{
	unsigned char *blob;
	size_t n = 0;
	char *type;

	*out = NULL;
	if (blob64 == NULL || (blob = decode(blob64, &n)) == NULL)
		return DR_EINVAL;
	if ((type = type_of(blob, n)) == NULL) {
		free(blob);
		return DR_EINVAL;
	}
	*out = dr_hostkeys_fingerprint_blob(blob, n);
	free(type);
	free(blob);
	return 0;
}

/* Adds the plain-named entry k when its key is a key blob. */
static void
add(struct dr_hostkeys *kh, const struct libssh2_knownhost *k)
{
	unsigned char *blob;
	struct dr_hostkey *e;
	size_t n = 0;
	char *type, *fp;

	if (k->name == NULL || k->key == NULL ||
	    (blob = decode(k->key, &n)) == NULL)
		return; /* hashed, or not a key we can show */
	if ((type = type_of(blob, n)) == NULL) {
		free(blob);
		return;
	}
	e = &kh->e[kh->n++];
	fp = dr_hostkeys_fingerprint_blob(blob, n);
	e->name = dr_arena_strdup(kh->arena, k->name);
	e->type = dr_arena_strdup(kh->arena, type);
	e->fingerprint = dr_arena_strdup(kh->arena, fp);
	free(fp);
	free(type);
	free(blob);
}

/*
 * Feeds path to libssh2 line by line, so that a line its parser refuses is
 * skipped rather than the whole file (libssh2_knownhost_readfile() stops
 * at the first), then keeps the entries with a name and a key.
 */
static int
parse(struct dr_hostkeys *kh, FILE *f, LIBSSH2_KNOWNHOSTS *hosts)
{
	struct libssh2_knownhost *k = NULL;
	char *line = NULL;
	size_t cap = 0, n = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, f)) != -1) {
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		(void)libssh2_knownhost_readline(
		    hosts, line, (size_t)len, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
	}
	free(line);
	if (ferror(f))
		return DR_EIO;
	while (libssh2_knownhost_get(hosts, &k, k) == 0)
		n++;
	kh->e = dr_arena_alloc(kh->arena, (n ? n : 1) * sizeof(*kh->e));
	for (k = NULL; libssh2_knownhost_get(hosts, &k, k) == 0;)
		add(kh, k);
	return 0;
}

int
dr_hostkeys_load(const char *path, struct dr_hostkeys **out)
{
	struct dr_arena *arena = dr_arena_new();
	struct dr_hostkeys *kh = dr_arena_alloc(arena, sizeof(*kh));
	LIBSSH2_SESSION *session = NULL;
	LIBSSH2_KNOWNHOSTS *hosts = NULL;
	FILE *f = NULL;
	int r, saved;

	*out = NULL;
	kh->arena = arena;
	/* refcounted: the SSH module's init, if any, stays */
	if (libssh2_init(0) != 0) {
		dr_hostkeys_free(kh);
		return DR_EPROTO;
	}
	r = DR_EPROTO;
	if ((session = libssh2_session_init()) == NULL ||
	    (hosts = libssh2_knownhost_init(session)) == NULL)
		goto out;
	r = DR_EIO;
	if ((f = fopen(path, "r")) == NULL)
		goto out;
	r = parse(kh, f, hosts);
out:
	saved = errno;
	if (f)
		fclose(f);
	if (hosts)
		libssh2_knownhost_free(hosts);
	if (session)
		libssh2_session_free(session);
	libssh2_exit();
	if (r == 0)
		*out = kh;
	else
		dr_hostkeys_free(kh);
	errno = saved;
	return r;
}

/* Whether name is address, or "[address]:port". */
static bool
names(const char *name, const char *address, int port)
{
	size_t n = strlen(address);
	char tail[16];

	if (strcasecmp(name, address) == 0)
		return true;
	snprintf(tail, sizeof(tail), "]:%d", port);
	return name[0] == '[' && strncasecmp(name + 1, address, n) == 0 &&
	       strcmp(name + 1 + n, tail) == 0;
}

const struct dr_hostkey *
dr_hostkeys_next(const struct dr_hostkeys *kh, const char *address, int port,
                 const struct dr_hostkey *prev)
{
	size_t i, j;

	if (kh == NULL || address == NULL)
		return NULL;
	i = prev ? (size_t)(prev - kh->e) + 1 : 0;
	for (; i < kh->n; i++) {
		const struct dr_hostkey *e = &kh->e[i];

		if (!names(e->name, address, port))
			continue;
		for (j = 0; j < i; j++)
			if (names(kh->e[j].name, address, port) &&
			    strcmp(kh->e[j].fingerprint, e->fingerprint) == 0)
				break;
		if (j == i)
			return e;
	}
	return NULL;
}

void
dr_hostkeys_free(struct dr_hostkeys *kh)
{
	if (kh != NULL)
		dr_arena_free(kh->arena);
}
