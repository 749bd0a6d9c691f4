/*
 * provision.h: the host keys drover generates for hosts that do not exist
 * yet, and the inventory a provisioner reports back (an Ansible dynamic
 * inventory, JSON). See the provisioner contract: drover makes N ed25519
 * key pairs, hands them to the provisioning command in $DROVER_KEYS, and
 * pins each reported host to the key the inventory names, which must be one
 * of those it made - so the first connection to a new host is already
 * authenticated, with no trust-on-first-use.
 */
#ifndef DROVER_PROVISION_H
#define DROVER_PROVISION_H

#include <stddef.h>

struct json_t; /* jansson */

/* One ed25519 host key pair. Every string is owned by the struct. */
struct dr_newkey {
	char *public_line;     /* "ssh-ed25519 BASE64 COMMENT" (.pub text
	                        * without the newline) */
	char *private_openssh; /* OpenSSH private key file text
	                        * (openssh-key-v1, unencrypted, "-----BEGIN
	                        * OPENSSH PRIVATE KEY-----" ... ending in a
	                        * newline): secret */
	char *fingerprint;     /* "SHA256:..." as ssh-keygen -l prints it */
};

/*
 * Generates an ed25519 key pair with libcrypto, comment (NULL: none) in
 * the public line and in the private key. Returns 0 and fills *out,
 * DR_EINVAL when comment has control characters (it would break the .pub
 * line and the user-data), or DR_EIO when libcrypto failed (no randomness,
 * no ed25519). Caller owns *out; free with dr_newkey_free().
 */
int dr_newkey_generate(const char *comment, struct dr_newkey *out);

/* Wipes the private key text and frees the strings of k (not k itself);
 * k is left zeroed. NULL is a no-op. */
void dr_newkey_free(struct dr_newkey *k);

/*
 * Writes the n keys into dir as the contract says, for i = 1..n:
 *   key-i            the private key, 0600
 *   key-i.pub        the public line and a newline, 0644
 *   key-i.user-data  cloud-init user-data carrying both (ssh_keys:), 0600
 * Every file is created with O_EXCL|O_NOFOLLOW (a file already there is an
 * error, never overwritten or followed) and fsynced, then dir is fsynced.
 *
 * dir is created 0700 when absent (its missing parents too, 0700). A dir
 * that exists already is accepted only when it is fresh and private: a
 * real directory (not a symlink), owned by this user, no group or other
 * permission, and empty - as mkdtemp() leaves one.
 *
 * Returns 0, DR_EINVAL for a dir that is not fresh and private, or DR_EIO;
 * on failure *err (caller frees) names the path and why, and the files
 * this call created are removed again (dir itself stays). Blocks: not for
 * the loop thread while a run is live.
 */
int dr_newkeys_write(const char *dir, const struct dr_newkey *keys, size_t n,
                     char **err);

/*
 * Removes the private files of keys 1..n from dir again (key-i and
 * key-i.user-data; a file already gone is fine) and fsyncs dir; the .pub
 * files stay. Tries every file. Returns 0, or DR_EIO for the first that
 * could not be removed (errno says why).
 */
int dr_newkeys_scrub(const char *dir, size_t n);

/* One host a provisioner reported. Every string is owned by the host. */
struct dr_inv_host {
	char *name;
	char *address;
	int port;          /* 0: not given (the plan's default applies) */
	char *user;        /* NULL: not given */
	char **roles;      /* in the order the document's groups give them */
	size_t nroles;     /* at least 1 */
	char *key;         /* "TYPE BASE64" without comment, base64 canonical */
	char *fingerprint; /* "SHA256:..." of key */
};

/* The hosts, in the order they first appear in the document's groups. */
struct dr_inventory {
	struct dr_inv_host *hosts;
	size_t nhosts;
};

/* What dr_inventory_parse() checks an inventory against. */
struct dr_inv_rules {
	const char *site;         /* for messages; NULL: none */
	const char *const *roles; /* the roles the site declares */
	size_t nroles;
	const char *const *keys; /* the generated public keys, "TYPE BASE64
	                          * [COMMENT]"; NULL: the provisioner
	                          * reports keys learned out of band */
	size_t nkeys;
	const char *const *taken; /* host names already in the plan
	                           * (compared without case) */
	size_t ntaken;
	size_t max_hosts; /* more hosts than this is an error */
};

/* The most a document may hold: bytes and distinct host names. */
#define DR_INV_MAX_BYTES ((size_t)4 << 20)
#define DR_INV_MAX_HOSTS 10000

/*
 * Parses and checks the inventory of len bytes at text (NUL not needed)
 * against r. Returns 0 and fills *out (caller owns; free with
 * dr_inventory_free()), or DR_EINVAL with *out empty and *err (caller
 * frees) one message naming the site, the host and the field, e.g.
 *   inventory of site "fresh": host "fr-db1": "ansible_host" is missing
 *   (the host's address)
 *
 * The document: an object; each member but "_meta" is a group, either
 * {"hosts": [NAME, ...], "children": .., "vars": ..} (children and vars
 * ignored) or a plain list of names. A group is a role, except "all" and
 * "ungrouped", which give none; every other group must be a declared role.
 * "_meta"."hostvars".NAME holds ansible_host (required), ansible_port (an
 * integer or a digit string, 1..65535), ansible_user and drover_host_key
 * ("TYPE BASE64 [COMMENT]", TYPE ssh-ed25519 or ecdsa-sha2-nistp256/384/
 * 521; required). Every host needs a role, every declared role a host; no
 * two hosts share a name (without case), an address and port, or a key; no
 * host has a name in r->taken; at most r->max_hosts hosts; and with
 * r->keys, every key is one of them.
 */
int dr_inventory_parse(const char *text, size_t len,
                       const struct dr_inv_rules *r, struct dr_inventory *out,
                       char **err);

/* Frees the hosts of inv (not inv itself); inv is left empty. NULL is a
 * no-op. */
void dr_inventory_free(struct dr_inventory *inv);

/*
 * The journal form of inv, a new reference (caller decrefs):
 *   {"hosts": [{"name": .., "address": .., "port": .., "user": ..,
 *               "roles": [..], "key": "TYPE BASE64"}, ...]}
 * "port" and "user" only when given. No fingerprints: they are recomputed.
 */
struct json_t *dr_inventory_to_json(const struct dr_inventory *inv);

/*
 * Reads the journal form back, checking every field again as
 * dr_inventory_parse() does (without the site's rules, which the journal
 * does not hold) and recomputing the fingerprints. Returns 0 and fills
 * *out (free with dr_inventory_free()), or DR_EINVAL with *err (caller
 * frees) naming the host and the field.
 */
int dr_inventory_from_json(const struct json_t *j, struct dr_inventory *out,
                           char **err);

#endif
