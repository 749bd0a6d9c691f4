/*
 * keys.c: ed25519 host keys for hosts not yet made (see provision.h), and
 * the files the provisioner reads them from. libcrypto makes the key; the
 * OpenSSH private key file is written here from its format (openssh-key-v1,
 * PROTOCOL.key in OpenSSH), since libcrypto writes only PKCS#8 and
 * cloud-init and sshd want OpenSSH's own.
 */
#include "drover/provision.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/hostkeys.h"

#define ED25519_KEY 32
#define KEYTYPE "ssh-ed25519"
#define PEM_BEGIN "-----BEGIN OPENSSH PRIVATE KEY-----\n"
#define PEM_END "-----END OPENSSH PRIVATE KEY-----\n"
#define PEM_COLS 70 /* as ssh-keygen wraps it */

/*
 * A byte buffer for secrets: its size is fixed when made, so that no copy
 * of a secret is left behind by a realloc; wiped when freed.
 */
struct sbuf {
	unsigned char *p;
	size_t len, cap;
};

static void
sbuf_init(struct sbuf *b, size_t cap)
{
	b->p = dr_xmalloc(cap);
	b->len = 0;
	b->cap = cap;
}

static void
sbuf_free(struct sbuf *b)
{
	if (b->p != NULL) {
		OPENSSL_cleanse(b->p, b->cap);
		free(b->p);
	}
	b->p = NULL;
	b->len = b->cap = 0;
}

static void
put(struct sbuf *b, const void *p, size_t n)
{
	if (n > b->cap - b->len) {
		/* the sizes below are computed, not guessed */
		fprintf(stderr, "drover: keys: buffer of %zu bytes too small\n",
		        b->cap);
		abort();
	}
	memcpy(b->p + b->len, p, n);
	b->len += n;
}

static void
put_u32(struct sbuf *b, uint32_t v)
{
	unsigned char c[4] = {v >> 24, v >> 16, v >> 8, v};

	put(b, c, 4);
}

/* An SSH "string": a 32-bit big-endian length, then the bytes. */
static void
put_str(struct sbuf *b, const void *p, size_t n)
{
	put_u32(b, (uint32_t)n);
	put(b, p, n);
}

/* Base64 of n bytes, NUL-terminated, in a buffer wiped when freed. */
static void
base64(struct sbuf *out, const unsigned char *p, size_t n)
{
	sbuf_init(out, 4 * ((n + 2) / 3) + 1);
	out->len = (size_t)EVP_EncodeBlock(out->p, p, (int)n);
}

/*
 * The private key file text for the key seed/pub with comment, in the
 * openssh-key-v1 format, unencrypted: the magic, cipher and kdf "none",
 * one public key blob, then the private section (two equal check ints,
 * the key, the comment, padding 1, 2, 3.. to the cipher's block size, 8
 * for "none"), all in base64 wrapped at 70 columns.
 */
static char *
private_text(const unsigned char *blob, size_t bloblen,
             const unsigned char seed[ED25519_KEY],
             const unsigned char pub[ED25519_KEY], const char *comment,
             uint32_t check)
{
	static const char magic[] = "openssh-key-v1"; /* and its NUL */
	size_t clen = strlen(comment), privlen, i, lines;
	struct sbuf priv, all, b64, pem;
	unsigned char pad;
	char *text;

	privlen = 4 + 4 + (4 + strlen(KEYTYPE)) + (4 + ED25519_KEY) +
	          (4 + 2 * ED25519_KEY) + (4 + clen);
	privlen += (8 - privlen % 8) % 8;
	sbuf_init(&priv, privlen);
	put_u32(&priv, check);
	put_u32(&priv, check);
	put_str(&priv, KEYTYPE, strlen(KEYTYPE));
	put_str(&priv, pub, ED25519_KEY);
	/* OpenSSH keeps the secret as seed || public key, 64 bytes */
	put_u32(&priv, 2 * ED25519_KEY);
	put(&priv, seed, ED25519_KEY);
	put(&priv, pub, ED25519_KEY);
	put_str(&priv, comment, clen);
	for (pad = 1; priv.len < privlen; pad++)
		put(&priv, &pad, 1);

	sbuf_init(&all, sizeof(magic) + 2 * (4 + 4) + 4 + 4 + (4 + bloblen) +
	                    (4 + privlen));
	put(&all, magic, sizeof(magic));
	put_str(&all, "none", 4); /* cipher */
	put_str(&all, "none", 4); /* kdf */
	put_str(&all, "", 0);     /* kdf options */
	put_u32(&all, 1);         /* keys */
	put_str(&all, blob, bloblen);
	put_str(&all, priv.p, priv.len);
	sbuf_free(&priv);

	base64(&b64, all.p, all.len);
	sbuf_free(&all);
	lines = (b64.len + PEM_COLS - 1) / PEM_COLS;
	sbuf_init(&pem,
	          strlen(PEM_BEGIN) + b64.len + lines + strlen(PEM_END) + 1);
	put(&pem, PEM_BEGIN, strlen(PEM_BEGIN));
	for (i = 0; i < b64.len; i += PEM_COLS) {
		size_t n = b64.len - i < PEM_COLS ? b64.len - i : PEM_COLS;

		put(&pem, b64.p + i, n);
		put(&pem, "\n", 1);
	}
	put(&pem, PEM_END, strlen(PEM_END) + 1);
	sbuf_free(&b64);
	/* the caller's copy is wiped by dr_newkey_free() */
	text = (char *)pem.p;
	pem.p = NULL;
	return text;
}

int
dr_newkey_generate(const char *comment, struct dr_newkey *out)
{
	unsigned char seed[ED25519_KEY], pub[ED25519_KEY], blob[64];
	size_t seedlen = sizeof(seed), publen = sizeof(pub);
	EVP_PKEY_CTX *ctx = NULL;
	EVP_PKEY *pkey = NULL;
	struct sbuf sb, b64;
	uint32_t check;
	int r = DR_EIO;

	memset(out, 0, sizeof(*out));
	if (comment == NULL)
		comment = "";
	if (dr_str_has_control(comment))
		return DR_EINVAL;
	if ((ctx = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL)) == NULL ||
	    EVP_PKEY_keygen_init(ctx) != 1 || EVP_PKEY_keygen(ctx, &pkey) != 1)
		goto out;
	if (EVP_PKEY_get_raw_private_key(pkey, seed, &seedlen) != 1 ||
	    seedlen != ED25519_KEY ||
	    EVP_PKEY_get_raw_public_key(pkey, pub, &publen) != 1 ||
	    publen != ED25519_KEY)
		goto out;
	/* the check ints only tell a wrong passphrase; random, as OpenSSH */
	if (RAND_bytes((unsigned char *)&check, sizeof(check)) != 1)
		goto out;

	/* the public key blob: string "ssh-ed25519", string pub */
	sb.p = blob;
	sb.len = 0;
	sb.cap = sizeof(blob);
	put_str(&sb, KEYTYPE, strlen(KEYTYPE));
	put_str(&sb, pub, ED25519_KEY);

	base64(&b64, blob, sb.len);
	out->public_line = dr_xasprintf("%s %s%s%s", KEYTYPE, (char *)b64.p,
	                                *comment ? " " : "", comment);
	sbuf_free(&b64);
	out->fingerprint = dr_hostkeys_fingerprint_blob(blob, sb.len);
	out->private_openssh =
	    private_text(blob, sb.len, seed, pub, comment, check);
	r = 0;
out:
	OPENSSL_cleanse(seed, sizeof(seed));
	EVP_PKEY_free(pkey); /* wipes its own copy */
	EVP_PKEY_CTX_free(ctx);
	return r;
}

static void
free_secret(char *s)
{
	if (s != NULL) {
		OPENSSL_cleanse(s, strlen(s));
		free(s);
	}
}

void
dr_newkey_free(struct dr_newkey *k)
{
	if (k == NULL)
		return;
	free(k->public_line);
	free_secret(k->private_openssh);
	free(k->fingerprint);
	memset(k, 0, sizeof(*k));
}

/*
 * Whether s can stand as a YAML plain scalar after "key: ": what a public
 * key line holds (base64, a comment like drover:RUN:SITE:key-1), without
 * ": ", " #" or a colon at the end, which YAML would read otherwise.
 */
static bool
yaml_plain(const char *s)
{
	const char *p;

	if (*s == '\0')
		return false;
	for (p = s; *p; p++)
		if (!strchr(
		        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		        "0123456789+/=._@:- ",
		        *p))
			return false;
	return strstr(s, ": ") == NULL && s[strlen(s) - 1] != ':' &&
	       s[strlen(s) - 1] != ' ';
}

/*
 * The cloud-init user-data that installs key k as the host's ed25519 key
 * and keeps cloud-init from making others: the private key as a literal
 * block scalar, every line indented.
 */
static char *
user_data(const struct dr_newkey *k)
{
	static const char head[] = "#cloud-config\n"
	                           "ssh_deletekeys: true\n"
	                           "ssh_genkeytypes: []\n"
	                           "ssh_keys:\n"
	                           "  ed25519_private: |\n";
	static const char pubkey[] = "  ed25519_public: ";
	const char *p = k->private_openssh, *nl;
	size_t lines = 1, cap;
	struct sbuf b;
	char *text;

	for (nl = p; (nl = strchr(nl, '\n')) != NULL; nl++)
		lines++;
	/* each line indented and ended; the public line perhaps quoted */
	cap = strlen(head) + strlen(p) + 5 * lines + strlen(pubkey) +
	      2 * strlen(k->public_line) + 2 + 1 + 1;
	sbuf_init(&b, cap);
#define PUTS(s) put(&b, (s), strlen(s))
	PUTS(head);
	for (; *p; p = nl + 1) {
		if ((nl = strchr(p, '\n')) == NULL)
			nl = p + strlen(p) - 1; /* a last line without \n */
		PUTS("    ");
		put(&b, p, (size_t)(nl - p + 1));
		if (*nl != '\n')
			PUTS("\n");
	}
	PUTS(pubkey);
	if (yaml_plain(k->public_line)) {
		PUTS(k->public_line);
	} else {
		/* single-quoted: only ' is special, written twice */
		PUTS("'");
		for (p = k->public_line; *p; p++) {
			if (*p == '\'')
				PUTS("''");
			else
				put(&b, p, 1);
		}
		PUTS("'");
	}
	PUTS("\n");
#undef PUTS
	put(&b, "", 1);
	text = (char *)b.p;
	b.p = NULL;
	return text;
}

/* The key directory being written, and where its error goes. */
struct keydir {
	const char *path;
	int fd;
	char **err;
};

static int
fail(struct keydir *d, int r, const char *name, const char *what)
{
	int saved = errno;

	*d->err = dr_xasprintf("%s%s%s: %s%s%s", d->path, name ? "/" : "",
	                       name ? name : "", what ? what : "",
	                       what ? ": " : "", strerror(saved));
	errno = saved;
	return r;
}

/*
 * Opens dir, creating it 0700 when absent, and checks that it is fresh and
 * private (see provision.h). The checks are made on the open directory,
 * so that a directory swapped in between is not the one written.
 */
static int
open_dir(struct keydir *d)
{
	struct stat st;
	bool made = false;
	DIR *listing;
	struct dirent *e;
	int fd2;

	if (mkdir(d->path, 0700) == 0)
		made = true;
	else if (errno == ENOENT && dr_mkdirs(d->path) == 0)
		made = true;
	else if (errno != EEXIST)
		return fail(d, DR_EIO, NULL, "cannot create the directory");
	d->fd = open(d->path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
	if (d->fd < 0 && (errno == ELOOP || errno == ENOTDIR)) {
		bool link = lstat(d->path, &st) == 0 && S_ISLNK(st.st_mode);

		*d->err = dr_xasprintf(
		    "%s: is %s, not a fresh key directory", d->path,
		    link ? "a symbolic link" : "not a directory");
		return DR_EINVAL;
	}
	if (d->fd < 0)
		return fail(d, DR_EIO, NULL, "cannot open the directory");
	/* the umask may have taken bits from mkdir's 0700 */
	if (made && fchmod(d->fd, 0700) != 0)
		return fail(d, DR_EIO, NULL, "chmod 0700");
	if (fstat(d->fd, &st) != 0)
		return fail(d, DR_EIO, NULL, "stat");
	if (st.st_uid != geteuid()) {
		*d->err =
		    dr_xasprintf("%s: the key directory belongs to uid "
		                 "%ld, not to this user (%ld)",
		                 d->path, (long)st.st_uid, (long)geteuid());
		return DR_EINVAL;
	}
	if ((st.st_mode & 077) != 0) {
		*d->err = dr_xasprintf("%s: the key directory is open to "
		                       "others (mode %04o; it must be 0700)",
		                       d->path, (unsigned)(st.st_mode & 07777));
		return DR_EINVAL;
	}
	if ((fd2 = dup(d->fd)) < 0 || (listing = fdopendir(fd2)) == NULL) {
		if (fd2 >= 0)
			close(fd2);
		return fail(d, DR_EIO, NULL, "cannot list the directory");
	}
	while ((e = readdir(listing)) != NULL) {
		if (strcmp(e->d_name, ".") == 0 || strcmp(e->d_name, "..") == 0)
			continue;
		*d->err = dr_xasprintf("%s: the key directory is not empty "
		                       "(it holds \"%s\"); give a fresh one",
		                       d->path, e->d_name);
		closedir(listing);
		return DR_EINVAL;
	}
	closedir(listing);
	return 0;
}

/* Creates dir/name (never there before, never a link), mode, durably. */
static int
write_new(struct keydir *d, const char *name, const char *text, unsigned mode)
{
	size_t len = strlen(text);
	const char *what = "chmod";
	int fd, saved;

	fd = openat(d->fd, name,
	            O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC,
	            (mode_t)mode);
	if (fd < 0)
		return fail(d, DR_EIO, name, "cannot create");
	/* exact, whatever the umask: a .pub is 0644 */
	if (fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	what = "write";
	if (dr_write_all(fd, text, len) != 0)
		goto fail;
	what = "fsync";
	if (fsync(fd) != 0)
		goto fail;
	what = "close";
	saved = close(fd);
	fd = -1;
	if (saved == 0)
		return 0;
fail:
	fail(d, DR_EIO, name, what);
	saved = errno;
	if (fd >= 0)
		close(fd);
	/* half a file is no key: it goes */
	(void)unlinkat(d->fd, name, 0);
	errno = saved;
	return DR_EIO;
}

/* The files of one key, in the order they are written. */
static const struct {
	const char *suffix;
	unsigned mode;
	bool private;
} files[] = {
    {".pub", 0644, false},
    {"", 0600, true},
    {".user-data", 0600, true},
};

/* The text of file f of key k (caller wipes and frees it). */
static char *
file_text(const struct dr_newkey *k, size_t f)
{
	switch (f) {
	case 0:
		return dr_xasprintf("%s\n", k->public_line);
	case 1:
		return dr_xstrdup(k->private_openssh);
	default:
		return user_data(k);
	}
}

int
dr_newkeys_write(const char *dir, const struct dr_newkey *keys, size_t n,
                 char **err)
{
	struct keydir d = {.path = dir, .fd = -1, .err = err};
	size_t i, f, done = 0, k;
	char name[64];
	int r, saved;

	*err = NULL;
	if ((r = open_dir(&d)) != 0)
		goto out;
	for (i = 0; i < n && r == 0; i++) {
		for (f = 0; f < DR_NELEM(files) && r == 0; f++) {
			char *text = file_text(&keys[i], f);

			snprintf(name, sizeof(name), "key-%zu%s", i + 1,
			         files[f].suffix);
			r = write_new(&d, name, text, files[f].mode);
			free_secret(text);
			if (r == 0)
				done++;
		}
	}
	if (r == 0 && fsync(d.fd) != 0)
		r = fail(&d, DR_EIO, NULL, "fsync");
	if (r != 0) {
		/* no half set of keys: what this call made goes again */
		saved = errno;
		for (k = 0; k < done; k++) {
			snprintf(name, sizeof(name), "key-%zu%s",
			         k / DR_NELEM(files) + 1,
			         files[k % DR_NELEM(files)].suffix);
			(void)unlinkat(d.fd, name, 0);
		}
		(void)fsync(d.fd);
		errno = saved;
	}
out:
	saved = errno;
	if (d.fd >= 0)
		close(d.fd);
	errno = saved;
	return r;
}

int
dr_newkeys_scrub(const char *dir, size_t n)
{
	int fd, r = 0, first = 0;
	char name[64];
	size_t i, s;

	if ((fd = open(dir, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)) <
	    0)
		return DR_EIO;
	for (i = 0; i < n; i++) {
		for (s = 0; s < DR_NELEM(files); s++) {
			if (!files[s].private)
				continue;
			snprintf(name, sizeof(name), "key-%zu%s", i + 1,
			         files[s].suffix);
			if (unlinkat(fd, name, 0) != 0 && errno != ENOENT &&
			    r == 0) {
				r = DR_EIO;
				first = errno;
			}
		}
	}
	if (fsync(fd) != 0 && r == 0) {
		r = DR_EIO;
		first = errno;
	}
	close(fd);
	if (r != 0)
		errno = first;
	return r;
}
