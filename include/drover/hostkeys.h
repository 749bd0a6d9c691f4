/*
 * hostkeys.h: the host keys an OpenSSH known_hosts file pins, as OpenSSH
 * fingerprints ("SHA256:..."), for people who check a key by eye (the
 * runbook's table of hosts).
 *
 * The file is read with libssh2's known-hosts parser, the one the SSH
 * module connects with, so that a key is listed here when drover would
 * accept it: an entry pins a host at address and port when its name is
 * "address" or "[address]:port" (compared without case). Hashed entries
 * ("|1|...") cannot be matched to a name and are ignored, and so is a line
 * the parser cannot read (a comment, a marker, a malformed line).
 */
#ifndef DROVER_HOSTKEYS_H
#define DROVER_HOSTKEYS_H

#include <stddef.h>

/* A pinned key. */
struct dr_hostkey {
	const char *name;        /* as the file gives it: "[10.0.0.1]:2222" */
	const char *type;        /* "ED25519", "ECDSA", "RSA", "DSA", or the
	                          * key's own type name */
	const char *fingerprint; /* "SHA256:" and unpadded base64 */
};

/* The keys of one known_hosts file. */
struct dr_hostkeys;

/*
 * Reads the known_hosts file at path. Returns 0 and sets *out, DR_EIO when
 * the file cannot be opened or read (errno says why; nothing is printed),
 * or DR_EPROTO when libssh2 cannot start. Calls libssh2_init() and
 * libssh2_exit() around its work (both count, so that the SSH module's own
 * initialisation stays). Caller owns *out; free with dr_hostkeys_free().
 */
int dr_hostkeys_load(const char *path, struct dr_hostkeys **out);

/*
 * The keys pinned for address at port, in file order, each key once:
 * the first after prev (NULL: the first of all), or NULL when there is no
 * other. The result lives as long as kh.
 */
const struct dr_hostkey *dr_hostkeys_next(const struct dr_hostkeys *kh,
                                          const char *address, int port,
                                          const struct dr_hostkey *prev);

/* Frees kh. dr_hostkeys_free(NULL) is a no-op. */
void dr_hostkeys_free(struct dr_hostkeys *kh);

/*
 * The OpenSSH fingerprint of a public key blob given in base64 (as in
 * known_hosts and .pub files): "SHA256:" and the unpadded base64 of the
 * blob's SHA-256. Returns 0 and sets *out (caller frees), or DR_EINVAL when
 * blob64 is not base64 of a key blob.
 */
int dr_hostkeys_fingerprint(const char *blob64, char **out);

/* The same of a key blob in binary (as libssh2 gives a server's key). */
char *dr_hostkeys_fingerprint_blob(const void *blob, size_t n);

#endif
