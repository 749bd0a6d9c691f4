/*
 * hostkeys.c: the keys a known_hosts file pins, read with libssh2's parser
 * and fingerprinted with libcrypto as OpenSSH does (see hostkeys.h).
 */
#include "drover/hostkeys.h"

#include <errno.h>
#include <libssh2.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>
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
	struct dr_hostkey *e; /* in file order (malloc'd) */
	size_t n, cap;
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

/* Adds an entry of name (plain, or OpenSSH's hashed "|1|SALT|HASH") when
 * key64 is a key blob. */
static void
add_key(struct dr_hostkeys *kh, const char *name, const char *key64)
{
	unsigned char *blob;
	struct dr_hostkey *e;
	size_t n = 0;
	char *type, *fp;

	if (name == NULL || key64 == NULL || (blob = decode(key64, &n)) == NULL)
		return; /* not a key we can show */
	if ((type = type_of(blob, n)) == NULL) {
		free(blob);
		return;
	}
	dr_grow((void **)&kh->e, &kh->cap, kh->n + 1, sizeof(*kh->e));
	e = &kh->e[kh->n++];
	fp = dr_hostkeys_fingerprint_blob(blob, n);
	e->name = dr_arena_strdup(kh->arena, name);
	e->type = dr_arena_strdup(kh->arena, type);
	e->fingerprint = dr_arena_strdup(kh->arena, fp);
	free(fp);
	free(type);
	free(blob);
}

/* Adds the plain-named entry k (libssh2 does not give a hashed entry's
 * salt: parse() reads those lines itself). */
static void
add(struct dr_hostkeys *kh, const struct libssh2_knownhost *k)
{
	if (k->name != NULL)
		add_key(kh, k->name, k->key);
}

/* A hashed line, "|1|SALT|HASH KEYTYPE KEY [comment]", split in place;
 * false for any other line. */
static bool
hashed_line(char *line, char **name, char **key64)
{
	char *save = NULL, *type;

	if (strncmp(line, "|1|", 3) != 0)
		return false;
	*name = strtok_r(line, " \t", &save);
	type = strtok_r(NULL, " \t", &save);
	*key64 = strtok_r(NULL, " \t", &save);
	return *name && type && *key64;
}

/*
 * Feeds path to libssh2 line by line, so that a line its parser refuses is
 * skipped rather than the whole file (libssh2_knownhost_readfile() stops
 * at the first), and keeps the entries with a name and a key in file
 * order. Hashed lines (HashKnownHosts) are read here: libssh2 keeps no
 * salt of theirs to match a name against.
 */
static int
parse(struct dr_hostkeys *kh, FILE *f, LIBSSH2_KNOWNHOSTS *hosts)
{
	struct libssh2_knownhost *k = NULL, *last = NULL;
	char *line = NULL, *name, *key64;
	size_t cap = 0;
	ssize_t len;

	while ((len = getline(&line, &cap, f)) != -1) {
		while (len > 0 &&
		       (line[len - 1] == '\n' || line[len - 1] == '\r'))
			line[--len] = '\0';
		if (strncmp(line, "|1|", 3) == 0) {
			if (hashed_line(line, &name, &key64))
				add_key(kh, name, key64);
			continue;
		}
		(void)libssh2_knownhost_readline(
		    hosts, line, (size_t)len, LIBSSH2_KNOWNHOST_FILE_OPENSSH);
		/* The entries the line added (one per name), in order. */
		while (libssh2_knownhost_get(hosts, &k, last) == 0) {
			add(kh, k);
			last = k;
		}
	}
	free(line);
	return ferror(f) ? DR_EIO : 0;
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

/*
 * Whether the hashed name "|1|SALT|HASH" is candidate: OpenSSH's
 * HashKnownHosts stores HMAC-SHA1(SALT, name) instead of the name.
 */
static bool
hash_is(const char *name, const char *candidate)
{
	const char *salt64 = name + 3, *bar = strchr(salt64, '|');
	unsigned char md[EVP_MAX_MD_SIZE], *salt = NULL, *hash = NULL;
	unsigned mdlen = 0;
	size_t sn = 0, hn = 0;
	char *s64;
	bool r = false;

	if (bar == NULL)
		return false;
	s64 = dr_xstrndup(salt64, (size_t)(bar - salt64));
	salt = decode(s64, &sn);
	hash = decode(bar + 1, &hn);
	if (salt && hash && sn <= INT32_MAX &&
	    HMAC(EVP_sha1(), salt, (int)sn, (const unsigned char *)candidate,
	         strlen(candidate), md, &mdlen) != NULL &&
	    mdlen == hn && memcmp(md, hash, hn) == 0)
		r = true;
	free(s64);
	free(salt);
	free(hash);
	return r;
}

/* Whether name is address, or "[address]:port", plainly or hashed. */
static bool
names(const char *name, const char *address, int port)
{
	size_t n = strlen(address);
	char tail[16];

	if (strncmp(name, "|1|", 3) == 0) {
		char *bracketed = dr_xasprintf("[%s]:%d", address, port);
		bool r = hash_is(name, address) || hash_is(name, bracketed);
		free(bracketed);
		return r;
	}
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
	if (kh != NULL) {
		free(kh->e);
		dr_arena_free(kh->arena);
	}
}
