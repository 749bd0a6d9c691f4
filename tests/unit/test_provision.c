/*
 * test_provision.c: the host keys drover generates for hosts not yet made,
 * read back by the real OpenSSH tools (ssh-keygen -y and -l) and, when
 * PyYAML is there, the user-data by a YAML parser; and the inventory a
 * provisioner reports, one passing document and one case per error, each
 * asserting the host and the field the message names.
 */
#include <errno.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>
#include <openssl/evp.h>

#include "drover/common.h"
#include "drover/hostkeys.h"
#include "drover/provision.h"

#define NKEYS 3

struct fixture {
	char dir[64];
	bool keygen; /* ssh-keygen is there */
	struct dr_newkey keys[NKEYS];
	char *pub[NKEYS]; /* "TYPE BASE64" of each */
	char *ecdsa;      /* "ecdsa-sha2-nistp256 BASE64" from ssh-keygen */
	char *ecdsa_fp;
};

static const char *const roles[] = {"db", "app", "web"};

static bool
run(const char *cmd, char *out, size_t len)
{
	FILE *p = popen(cmd, "r");
	size_t n = 0;

	if (p == NULL)
		return false;
	if (out) {
		n = fread(out, 1, len - 1, p);
		out[n] = '\0';
	} else {
		char sink[256];
		while (fread(sink, 1, sizeof(sink), p) > 0)
			;
	}
	return pclose(p) == 0;
}

/* "TYPE BASE64" of a public line (caller frees). */
static char *
type_and_blob(const char *line)
{
	const char *sp = strchr(line, ' ');

	assert_non_null(sp);
	sp = strchr(sp + 1, ' ');
	return sp ? dr_xstrndup(line, (size_t)(sp - line)) : dr_xstrdup(line);
}

static char *
slurp(const char *path)
{
	char *data = NULL;

	assert_int_equal(dr_read_file(path, 0, &data, NULL), 0);
	return data;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char cmd[256], line[1024], *path;
	int i;

	*state = fx;
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/drover-test-prov-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	for (i = 0; i < NKEYS; i++) {
		char comment[64];

		snprintf(comment, sizeof(comment), "drover:R1:fresh:key-%d",
		         i + 1);
		assert_int_equal(dr_newkey_generate(comment, &fx->keys[i]), 0);
		fx->pub[i] = type_and_blob(fx->keys[i].public_line);
	}
	fx->keygen = run("command -v ssh-keygen >/dev/null", NULL, 0);
	if (!fx->keygen)
		return 0; /* those tests skip */
	snprintf(cmd, sizeof(cmd),
	         "ssh-keygen -q -t ecdsa -b 256 -N '' -C ec -f %s/ec 2>&1",
	         fx->dir);
	assert_true(run(cmd, NULL, 0));
	path = dr_xasprintf("%s/ec.pub", fx->dir);
	snprintf(cmd, sizeof(cmd), "cat %s", path);
	assert_true(run(cmd, line, sizeof(line)));
	fx->ecdsa = type_and_blob(line);
	assert_int_equal(
	    dr_hostkeys_fingerprint(strchr(fx->ecdsa, ' ') + 1, &fx->ecdsa_fp),
	    0);
	free(path);
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];
	int i;

	if (fx->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
		run(cmd, NULL, 0);
	}
	for (i = 0; i < NKEYS; i++) {
		dr_newkey_free(&fx->keys[i]);
		free(fx->pub[i]);
	}
	free(fx->ecdsa);
	free(fx->ecdsa_fp);
	free(fx);
	return 0;
}

static mode_t
mode_of(const char *dir, const char *name)
{
	char *path = dr_xasprintf("%s/%s", dir, name);
	struct stat st;

	assert_int_equal(lstat(path, &st), 0);
	free(path);
	return st.st_mode & 07777;
}

static bool
exists(const char *dir, const char *name)
{
	char *path = dr_xasprintf("%s/%s", dir, name);
	bool there = access(path, F_OK) == 0;

	free(path);
	return there;
}

/* The shape of the key: what ssh-keygen wrote, 70 columns of base64. */
static void
test_key_format(void **state)
{
	struct fixture *fx = *state;
	const struct dr_newkey *k = &fx->keys[0];
	const char *p, *nl;
	char *fp = NULL;

	assert_true(strncmp(k->public_line, "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5",
	                    32) == 0);
	assert_non_null(strstr(k->public_line, " drover:R1:fresh:key-1"));
	assert_true(strncmp(k->private_openssh,
	                    "-----BEGIN OPENSSH PRIVATE KEY-----\n", 36) == 0);
	p = k->private_openssh + 36;
	for (; (nl = strchr(p, '\n')) != NULL && *p != '-'; p = nl + 1)
		assert_true(nl - p <= 70 && nl - p > 0);
	assert_string_equal(p, "-----END OPENSSH PRIVATE KEY-----\n");
	assert_int_equal(
	    dr_hostkeys_fingerprint(strchr(fx->pub[0], ' ') + 1, &fp), 0);
	assert_string_equal(fp, k->fingerprint);
	free(fp);
	/* every key its own */
	assert_string_not_equal(fx->keys[0].fingerprint,
	                        fx->keys[1].fingerprint);
	assert_string_not_equal(fx->pub[1], fx->pub[2]);
}

static void
test_key_comment(void **state)
{
	struct dr_newkey k;

	assert_int_equal(dr_newkey_generate("bad\ncomment", &k), DR_EINVAL);
	assert_null(k.public_line);
	assert_int_equal(dr_newkey_generate(NULL, &k), 0);
	/* no comment: two fields */
	assert_null(strchr(strchr(k.public_line, ' ') + 1, ' '));
	dr_newkey_free(&k);
	assert_null(k.private_openssh);
	dr_newkey_free(NULL);
}

/* Whether sshd -t takes dir/name as its host key. */
static bool
sshd_loads(struct fixture *fx, const char *dir, const char *name)
{
	char cmd[512], *cfg = dr_xasprintf("%s/sshd_config", fx->dir);
	FILE *f = fopen(cfg, "w");
	bool ok;

	assert_non_null(f);
	fprintf(f, "HostKey %s/%s\n", dir, name);
	fclose(f);
	snprintf(cmd, sizeof(cmd),
	         "test -x /usr/sbin/sshd && /usr/sbin/sshd -t -f %s 2>&1", cfg);
	ok = run(cmd, NULL, 0);
	free(cfg);
	return ok;
}

/*
 * The files as the contract says, read back by ssh-keygen: the private key
 * gives the same public key and signs for it, the .pub has the same
 * fingerprint; and sshd loads the private key as a host key.
 */
static void
test_write_interop(void **state)
{
	struct fixture *fx = *state;
	char *dir = dr_xasprintf("%s/keys", fx->dir), *err = NULL, cmd[512],
	     out[1024], *want, *got;
	int i;

	if (!fx->keygen)
		skip();
	assert_int_equal(dr_newkeys_write(dir, fx->keys, NKEYS, &err), 0);
	assert_null(err);
	assert_int_equal(mode_of(fx->dir, "keys"), 0700);
	for (i = 0; i < NKEYS; i++) {
		char name[64];

		snprintf(name, sizeof(name), "keys/key-%d", i + 1);
		assert_int_equal(mode_of(fx->dir, name), 0600);
		snprintf(name, sizeof(name), "keys/key-%d.pub", i + 1);
		assert_int_equal(mode_of(fx->dir, name), 0644);
		snprintf(name, sizeof(name), "keys/key-%d.user-data", i + 1);
		assert_int_equal(mode_of(fx->dir, name), 0600);

		snprintf(cmd, sizeof(cmd), "ssh-keygen -y -f %s/key-%d 2>&1",
		         dir, i + 1);
		assert_true(run(cmd, out, sizeof(out)));
		want = dr_xasprintf("%s\n", fx->keys[i].public_line);
		assert_string_equal(out, want);
		free(want);

		snprintf(cmd, sizeof(cmd),
		         "ssh-keygen -l -E sha256 -f %s/key-%d.pub 2>&1", dir,
		         i + 1);
		assert_true(run(cmd, out, sizeof(out)));
		want = dr_xasprintf("256 %s drover:R1:fresh:key-%d (ED25519)\n",
		                    fx->keys[i].fingerprint, i + 1);
		assert_string_equal(out, want);
		free(want);

		/*
		 * -y reads the public half back; a signature shows the
		 * secret half is the one that goes with it.
		 */
		snprintf(cmd, sizeof(cmd),
		         "cd %s && echo data >msg && rm -f msg.sig && "
		         "ssh-keygen -q -Y sign -f %s/key-%d -n drover msg "
		         ">/dev/null 2>&1 && echo \"t $(cut -d' ' -f1,2 "
		         "%s/key-%d.pub)\" >allowed && ssh-keygen -Y verify "
		         "-f allowed -I t -n drover -s msg.sig <msg 2>&1",
		         fx->dir, dir, i + 1, dir, i + 1);
		assert_true(run(cmd, out, sizeof(out)));
		assert_non_null(strstr(out, "Good \"drover\" signature"));

		snprintf(cmd, sizeof(cmd), "%s/key-%d.pub", dir, i + 1);
		got = slurp(cmd);
		want = dr_xasprintf("%s\n", fx->keys[i].public_line);
		assert_string_equal(got, want);
		free(got);
		free(want);
		snprintf(cmd, sizeof(cmd), "%s/key-%d", dir, i + 1);
		got = slurp(cmd);
		assert_string_equal(got, fx->keys[i].private_openssh);
		free(got);
	}
	/* sshd loads it as a host key (when it can load ssh-keygen's) */
	if (sshd_loads(fx, fx->dir, "ec"))
		assert_true(sshd_loads(fx, dir, "key-1"));
	free(dir);
}

/* The user-data: cloud-init's ssh_keys with the key indented in a | block. */
static void
test_user_data(void **state)
{
	struct fixture *fx = *state;
	char *dir = dr_xasprintf("%s/ud", fx->dir), *err = NULL, *path, *ud;
	const char *p, *nl;
	struct dr_buf want;
	int rc;

	assert_int_equal(dr_newkeys_write(dir, fx->keys, 1, &err), 0);
	path = dr_xasprintf("%s/key-1.user-data", dir);
	ud = slurp(path);
	dr_buf_init(&want, 0);
	dr_buf_puts(&want, "#cloud-config\n"
	                   "ssh_deletekeys: true\n"
	                   "ssh_genkeytypes: []\n"
	                   "ssh_keys:\n"
	                   "  ed25519_private: |\n");
	for (p = fx->keys[0].private_openssh; (nl = strchr(p, '\n'));
	     p = nl + 1)
		dr_buf_printf(&want, "    %.*s\n", (int)(nl - p), p);
	dr_buf_printf(&want, "  ed25519_public: %s\n", fx->keys[0].public_line);
	assert_string_equal(ud, want.data);
	dr_buf_free(&want);
	free(ud);

	/* what a YAML parser (cloud-init's) makes of it */
	{
		char cmd[1024];

		snprintf(
		    cmd, sizeof(cmd),
		    "/usr/bin/python3 -c 'import sys\n"
		    "try:\n import yaml\n"
		    "except ImportError:\n sys.exit(77)\n"
		    "d = yaml.safe_load(open(\"%s\"))[\"ssh_keys\"]\n"
		    "ok = d[\"ed25519_private\"] == open(\"%s/key-1\").read()"
		    " and d[\"ed25519_public\"] == "
		    "open(\"%s/key-1.pub\").read().strip()\n"
		    "sys.exit(0 if ok else 1)' 2>/dev/null",
		    path, dir, dir);
		rc = system(cmd);
		if (rc != -1 && WIFEXITED(rc) && WEXITSTATUS(rc) != 77 &&
		    WEXITSTATUS(rc) != 127)
			assert_int_equal(WEXITSTATUS(rc), 0);
	}
	free(path);
	free(dir);
}

/* A public line YAML would misread as a plain scalar is quoted. */
static void
test_user_data_quoted(void **state)
{
	struct fixture *fx = *state;
	char *dir = dr_xasprintf("%s/quoted", fx->dir), *err = NULL, *ud;
	struct dr_newkey k;

	assert_int_equal(dr_newkey_generate("it's: #odd", &k), 0);
	assert_int_equal(dr_newkeys_write(dir, &k, 1, &err), 0);
	free(dir);
	dir = dr_xasprintf("%s/quoted/key-1.user-data", fx->dir);
	ud = slurp(dir);
	assert_non_null(strstr(ud, "  ed25519_public: 'ssh-ed25519 "));
	assert_non_null(strstr(ud, " it''s: #odd'\n"));
	free(ud);
	free(dir);
	dr_newkey_free(&k);
}

/* Scrubbing leaves the .pub files; twice is fine. */
static void
test_scrub(void **state)
{
	struct fixture *fx = *state;
	char *dir = dr_xasprintf("%s/scrub", fx->dir), *err = NULL;

	assert_int_equal(dr_newkeys_write(dir, fx->keys, 2, &err), 0);
	assert_int_equal(dr_newkeys_scrub(dir, 2), 0);
	assert_false(exists(dir, "key-1"));
	assert_false(exists(dir, "key-1.user-data"));
	assert_false(exists(dir, "key-2"));
	assert_false(exists(dir, "key-2.user-data"));
	assert_true(exists(dir, "key-1.pub"));
	assert_true(exists(dir, "key-2.pub"));
	assert_int_equal(dr_newkeys_scrub(dir, 2), 0);
	free(dir);
	errno = 0;
	assert_int_equal(dr_newkeys_scrub("/nonexistent/keys", 1), DR_EIO);
	assert_int_equal(errno, ENOENT);
}

/* Only a fresh private directory: not one in use, open, or a link. */
static void
test_write_refuses(void **state)
{
	struct fixture *fx = *state;
	char *dir = dr_xasprintf("%s/used", fx->dir), *err = NULL, *link;

	/* an empty 0700 directory (mkdtemp's) is fresh */
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(dr_newkeys_write(dir, fx->keys, 1, &err), 0);
	/* now it holds keys */
	assert_int_equal(dr_newkeys_write(dir, fx->keys, 1, &err), DR_EINVAL);
	assert_non_null(strstr(err, dir));
	assert_non_null(strstr(err, "is not empty"));
	free(err);

	link = dr_xasprintf("%s/link", fx->dir);
	assert_int_equal(symlink(dir, link), 0);
	assert_int_equal(dr_newkeys_write(link, fx->keys, 1, &err), DR_EINVAL);
	assert_non_null(strstr(err, "symbolic link"));
	free(err);
	free(link);
	free(dir);

	dir = dr_xasprintf("%s/open", fx->dir);
	assert_int_equal(mkdir(dir, 0700), 0);
	assert_int_equal(chmod(dir, 0755), 0);
	assert_int_equal(dr_newkeys_write(dir, fx->keys, 1, &err), DR_EINVAL);
	assert_non_null(strstr(err, "mode 0755"));
	free(err);
	free(dir);
}

/*
 * A write that fails half way (the file size limit, so that the third
 * file cannot be written) leaves no key behind.
 */
static void
test_write_fails_clean(void **state)
{
	struct fixture *fx = *state;
	char *dir = dr_xasprintf("%s/full", fx->dir), *err = NULL;
	struct rlimit old, small;

	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	small = old;
	small.rlim_cur = strlen(fx->keys[0].private_openssh) + 1;
	signal(SIGXFSZ, SIG_IGN);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
	assert_int_equal(dr_newkeys_write(dir, fx->keys, 2, &err), DR_EIO);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	signal(SIGXFSZ, SIG_DFL);
	assert_non_null(strstr(err, "/key-1.user-data: write: "));
	free(err);
	assert_false(exists(dir, "key-1"));
	assert_false(exists(dir, "key-1.pub"));
	assert_false(exists(dir, "key-1.user-data"));
	assert_true(exists(dir, "."));
	free(dir);
}

/* --- inventories --- */

static struct dr_inv_rules
rules(struct fixture *fx)
{
	static const char *keys[NKEYS];
	static const char *const taken[] = {"ms-db1", "ms-app1"};
	struct dr_inv_rules r = {
	    .site = "fresh",
	    .roles = roles,
	    .nroles = DR_NELEM(roles),
	    .keys = keys,
	    .nkeys = NKEYS,
	    .taken = taken,
	    .ntaken = DR_NELEM(taken),
	    .max_hosts = 10,
	};
	int i;

	for (i = 0; i < NKEYS; i++)
		keys[i] = fx->keys[i].public_line;
	return r;
}

/*
 * The passing document: three hosts, fr-app1 in two roles, the old list
 * form for "web", Ansible's own groups and vars beside them.
 */
static json_t *
good(struct fixture *fx)
{
	json_t *doc =
	    json_pack("{s:{s:[s]}, s:{s:[s], s:{s:s}}, s:[s,s], s:{s:[s,s,s]}, "
	              "s:{s:[]}, s:{s:{s:{s:s,s:i,s:s,s:s}, s:{s:s,s:s,s:s}, "
	              "s:{s:s,s:s,s:s}}}}",
	              "db", "hosts", "fr-db1",                             /* */
	              "app", "hosts", "fr-app1", "vars", "tier", "middle", /* */
	              "web", "fr-web1", "fr-app1",                         /* */
	              "all", "hosts", "fr-db1", "fr-app1", "fr-web1",      /* */
	              "ungrouped", "hosts",                                /* */
	              "_meta", "hostvars",                                 /* */
	              "fr-db1", "ansible_host", "127.0.6.1", "ansible_port",
	              2222, "ansible_user", "drlab", "drover_host_key",
	              fx->keys[0].public_line, /* */
	              "fr-app1", "ansible_host", "127.0.6.2", "ansible_port",
	              "2223", "drover_host_key", fx->keys[1].public_line, /* */
	              "fr-web1", "ansible_host", "fr-web1.example.org",
	              "ansible_python_interpreter", "/usr/bin/python3",
	              "drover_host_key", fx->pub[2]);

	assert_non_null(doc);
	return doc;
}

static json_t *
hostvars(json_t *doc, const char *host)
{
	json_t *hv = json_object_get(
	    json_object_get(json_object_get(doc, "_meta"), "hostvars"), host);

	assert_non_null(hv);
	return hv;
}

/* Parses text; on failure *err, else the inventory in *inv. */
static int
parse_text(const char *text, const struct dr_inv_rules *r,
           struct dr_inventory *inv, char **err)
{
	return dr_inventory_parse(text, strlen(text), r, inv, err);
}

/* Expects text to fail with a message holding every one of the strings. */
static void
expect_text(const char *text, const struct dr_inv_rules *r, ...)
{
	struct dr_inventory inv;
	char *err = NULL;
	const char *want;
	va_list ap;

	if (parse_text(text, r, &inv, &err) == 0)
		fail_msg("parsed, expected an error");
	assert_non_null(err);
	assert_null(inv.hosts);
	assert_int_equal(inv.nhosts, 0);
	assert_true(strncmp(err, "inventory of site \"fresh\": ", 27) == 0);
	va_start(ap, r);
	while ((want = va_arg(ap, const char *)) != NULL)
		if (strstr(err, want) == NULL)
			fail_msg("message \"%s\" lacks \"%s\"", err, want);
	va_end(ap);
	free(err);
}

#define EXPECT_TEXT(text, r, ...) expect_text((text), (r), __VA_ARGS__, NULL)

/* The same with a document (which it frees). */
#define EXPECT(doc, r, ...)                                                    \
	do {                                                                   \
		char *text_ = json_dumps((doc), 0);                            \
		json_decref(doc);                                              \
		expect_text(text_, (r), __VA_ARGS__, NULL);                    \
		free(text_);                                                   \
	} while (0)

static void
test_inventory_good(void **state)
{
	struct fixture *fx = *state;
	struct dr_inv_rules r = rules(fx);
	json_t *doc = good(fx);
	char *text = json_dumps(doc, JSON_INDENT(2)), *err = NULL;
	struct dr_inventory inv;
	const struct dr_inv_host *h;

	json_decref(doc);
	if (parse_text(text, &r, &inv, &err) != 0)
		fail_msg("%s", err);
	free(text);
	assert_int_equal(inv.nhosts, 3);

	h = &inv.hosts[0];
	assert_string_equal(h->name, "fr-db1");
	assert_string_equal(h->address, "127.0.6.1");
	assert_int_equal(h->port, 2222);
	assert_string_equal(h->user, "drlab");
	assert_int_equal(h->nroles, 1);
	assert_string_equal(h->roles[0], "db");
	assert_string_equal(h->key, fx->pub[0]);
	assert_string_equal(h->fingerprint, fx->keys[0].fingerprint);

	h = &inv.hosts[1];
	assert_string_equal(h->name, "fr-app1");
	assert_int_equal(h->port, 2223); /* from a string */
	assert_null(h->user);
	assert_int_equal(h->nroles, 2);
	assert_string_equal(h->roles[0], "app");
	assert_string_equal(h->roles[1], "web");
	assert_string_equal(h->fingerprint, fx->keys[1].fingerprint);

	h = &inv.hosts[2];
	assert_string_equal(h->name, "fr-web1");
	assert_string_equal(h->address, "fr-web1.example.org");
	assert_int_equal(h->port, 0);
	assert_int_equal(h->nroles, 1);
	assert_string_equal(h->roles[0], "web");
	assert_string_equal(h->key, fx->pub[2]);
	assert_string_equal(h->fingerprint, fx->keys[2].fingerprint);
	dr_inventory_free(&inv);
	assert_null(inv.hosts);
	dr_inventory_free(NULL);
}

/* Keys learned out of band: any ed25519 or ECDSA key, no generated set. */
static void
test_inventory_out_of_band(void **state)
{
	struct fixture *fx = *state;
	struct dr_inv_rules r = rules(fx);
	json_t *doc = good(fx);
	struct dr_inventory inv;
	char *text, *err = NULL;

	if (!fx->keygen)
		skip();
	r.keys = NULL;
	r.nkeys = 0;
	r.site = NULL;
	json_object_set_new(hostvars(doc, "fr-web1"), "drover_host_key",
	                    json_string(fx->ecdsa));
	text = json_dumps(doc, 0);
	json_decref(doc);
	if (parse_text(text, &r, &inv, &err) != 0)
		fail_msg("%s", err);
	assert_string_equal(inv.hosts[2].key, fx->ecdsa);
	assert_string_equal(inv.hosts[2].fingerprint, fx->ecdsa_fp);
	dr_inventory_free(&inv);

	/* the same with the generated set: not one of drover's */
	r = rules(fx);
	EXPECT_TEXT(text, &r,
	            "host \"fr-web1\" reports a host key drover did not "
	            "generate for this site: ",
	            fx->ecdsa_fp);
	free(text);
}

static void
test_inventory_not_json(void **state)
{
	struct fixture *fx = *state;
	struct dr_inv_rules r = rules(fx);
	char *big;

	EXPECT_TEXT("{\"db\": [\"fr-db1\"],\n  }", &r,
	            "not JSON: line 2, column 3: ");
	EXPECT_TEXT("", &r, "not JSON: line 1");
	EXPECT_TEXT("[\"fr-db1\"]", &r,
	            "the document is a list, not an object");
	EXPECT_TEXT("{\"db\": [\"fr-db1\"],\n \"db\": [\"fr-db2\"]}", &r,
	            "not JSON: line 2, column ",
	            "duplicate object key near '\"db\"'");
	EXPECT_TEXT("{\"_meta\": []}", &r, "\"_meta\" is a list");
	EXPECT_TEXT("{\"_meta\": {\"hostvars\": 1}}", &r,
	            "\"_meta\".\"hostvars\" is a number");
	EXPECT_TEXT("{}", &r, "no hosts");

	/* 4 MiB and one byte: refused before it is read */
	big = dr_xmalloc(DR_INV_MAX_BYTES + 2);
	memset(big, ' ', DR_INV_MAX_BYTES + 1);
	big[DR_INV_MAX_BYTES + 1] = '\0';
	EXPECT_TEXT(big, &r, "larger than 4 MiB");
	free(big);
}

static void
test_inventory_groups(void **state)
{
	struct fixture *fx = *state;
	struct dr_inv_rules r = rules(fx);
	json_t *doc;

	doc = good(fx);
	json_object_set_new(doc, "cache", json_pack("[s]", "fr-db1"));
	EXPECT(doc, &r,
	       "unknown role \"cache\" (the site declares db, app, web)");

	doc = good(fx);
	json_array_append_new(
	    json_object_get(json_object_get(doc, "db"), "hosts"),
	    json_string("fr-db1"));
	EXPECT(doc, &r, "group \"db\": host \"fr-db1\" is listed twice");

	doc = good(fx);
	json_object_set_new(doc, "db", json_pack("{s:[s]}", "hosts", "-x"));
	EXPECT(doc, &r, "group \"db\": host name \"-x\" is not valid");

	doc = good(fx);
	json_object_set_new(doc, "db", json_pack("{s:[i]}", "hosts", 7));
	EXPECT(doc, &r, "group \"db\": hosts[0] is a number");

	doc = good(fx);
	json_object_set_new(doc, "db", json_pack("{s:s}", "hosts", "fr-db1"));
	EXPECT(doc, &r, "group \"db\": \"hosts\" is a string");

	doc = good(fx);
	json_object_set_new(
	    doc, "db", json_pack("{s:[s],s:i}", "hosts", "fr-db1", "extra", 1));
	EXPECT(doc, &r, "group \"db\": unknown member \"extra\"");

	doc = good(fx);
	json_object_set_new(doc, "db", json_string("fr-db1"));
	EXPECT(doc, &r, "group \"db\" is a string");
}

/* Hosts and hostvars that do not meet. */
static void
test_inventory_membership(void **state)
{
	struct fixture *fx = *state;
	struct dr_inv_rules r = rules(fx);
	json_t *doc;

	/* named in a group, no hostvars */
	doc = good(fx);
	json_array_append_new(
	    json_object_get(json_object_get(doc, "db"), "hosts"),
	    json_string("fr-db2"));
	EXPECT(doc, &r,
	       "host \"fr-db2\": \"ansible_host\" is missing (the host has "
	       "no entry in \"_meta\".\"hostvars\")");

	/* in hostvars, in no group */
	doc = good(fx);
	json_object_set_new(
	    json_object_get(json_object_get(doc, "_meta"), "hostvars"),
	    "fr-extra", json_pack("{s:s}", "ansible_host", "127.0.6.9"));
	EXPECT(doc, &r,
	       "host \"fr-extra\": in \"_meta\".\"hostvars\" but in no group");

	/* only in Ansible's own groups: no role */
	doc = good(fx);
	json_array_append_new(
	    json_object_get(json_object_get(doc, "all"), "hosts"),
	    json_string("fr-x"));
	EXPECT(doc, &r, "host \"fr-x\": in no role group",
	       "the site declares db, app, web");

	/* a declared role no host has */
	doc = good(fx);
	json_object_set_new(doc, "web", json_pack("[]"));
	json_array_append_new(
	    json_object_get(json_object_get(doc, "app"), "hosts"),
	    json_string("fr-web1"));
	EXPECT(doc, &r, "role \"web\" has no host");

	/* more hosts than the site may have */
	doc = good(fx);
	r.max_hosts = 2;
	EXPECT(doc, &r, "3 hosts, more than the site's max_hosts (2)");
}

/* The most names a document may hold. */
static void
test_inventory_too_many(void **state)
{
	struct fixture *fx = *state;
	struct dr_inv_rules r = rules(fx);
	json_t *doc = json_object(), *list = json_array();
	char name[32];
	int i;

	for (i = 0; i <= DR_INV_MAX_HOSTS; i++) {
		snprintf(name, sizeof(name), "h%d", i);
		json_array_append_new(list, json_string(name));
	}
	json_object_set_new(doc, "db", list);
	EXPECT(doc, &r, "more than 10000 hosts");
}

static void
test_inventory_address(void **state)
{
	struct fixture *fx = *state;
	struct dr_inv_rules r = rules(fx);
	json_t *doc;

	doc = good(fx);
	json_object_del(hostvars(doc, "fr-app1"), "ansible_host");
	EXPECT(doc, &r,
	       "host \"fr-app1\": \"ansible_host\" is missing (the host's "
	       "address)");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-db1"), "ansible_host",
	                    json_string("127.0.0.1 x"));
	EXPECT(doc, &r,
	       "host \"fr-db1\": \"ansible_host\" \"127.0.0.1 x\" is not an "
	       "address");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-db1"), "ansible_host",
	                    json_string(""));
	EXPECT(doc, &r, "host \"fr-db1\": \"ansible_host\" \"\" is not an");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-db1"), "ansible_host",
	                    json_string("a\nb"));
	EXPECT(doc, &r, "host \"fr-db1\": \"ansible_host\" \"a\\x0ab\" is not");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-db1"), "ansible_host",
	                    json_integer(1));
	EXPECT(doc, &r, "host \"fr-db1\": \"ansible_host\" is a number");

	doc = good(fx);
	json_object_set_new(
	    json_object_get(json_object_get(doc, "_meta"), "hostvars"),
	    "fr-web1", json_string("x"));
	EXPECT(doc, &r,
	       "host \"fr-web1\": its \"_meta\".\"hostvars\" entry is a "
	       "string");
}

static void
test_inventory_port_user(void **state)
{
	struct fixture *fx = *state;
	struct dr_inv_rules r = rules(fx);
	json_t *doc;

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-db1"), "ansible_port",
	                    json_integer(70000));
	EXPECT(doc, &r,
	       "host \"fr-db1\": \"ansible_port\" 70000 is not a port");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-db1"), "ansible_port",
	                    json_integer(0));
	EXPECT(doc, &r, "host \"fr-db1\": \"ansible_port\" 0 is not a port");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-app1"), "ansible_port",
	                    json_string("22a"));
	EXPECT(doc, &r,
	       "host \"fr-app1\": \"ansible_port\" \"22a\" is not a port");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-app1"), "ansible_port",
	                    json_true());
	EXPECT(doc, &r, "host \"fr-app1\": \"ansible_port\" is a boolean");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-db1"), "ansible_user",
	                    json_string("-root"));
	EXPECT(doc, &r,
	       "host \"fr-db1\": \"ansible_user\" \"-root\" is not a user "
	       "name");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-db1"), "ansible_user",
	                    json_string("dr lab"));
	EXPECT(doc, &r, "host \"fr-db1\": \"ansible_user\" \"dr lab\" is not");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-db1"), "ansible_user",
	                    json_integer(0));
	EXPECT(doc, &r, "host \"fr-db1\": \"ansible_user\" is a number");
}

/* base64 of a blob: string type, then string of len bytes. */
static char *
fake_key(const char *type, const char *blobtype, size_t len)
{
	unsigned char blob[256], b64[400];
	size_t n = 0, tl = strlen(blobtype);

	blob[n++] = 0, blob[n++] = 0, blob[n++] = 0, blob[n++] = (uint8_t)tl;
	memcpy(blob + n, blobtype, tl);
	n += tl;
	blob[n++] = 0, blob[n++] = 0, blob[n++] = 0, blob[n++] = (uint8_t)len;
	memset(blob + n, 0x42, len);
	n += len;
	EVP_EncodeBlock(b64, blob, (int)n);
	return dr_xasprintf("%s %s", type, (char *)b64);
}

static void
test_inventory_keys(void **state)
{
	struct fixture *fx = *state;
	struct dr_inv_rules r = rules(fx);
	json_t *doc;
	char *k;

	doc = good(fx);
	json_object_del(hostvars(doc, "fr-web1"), "drover_host_key");
	EXPECT(doc, &r, "host \"fr-web1\": \"drover_host_key\" is missing");

	doc = good(fx);
	k = fake_key("ssh-rsa", "ssh-rsa", 128);
	json_object_set_new(hostvars(doc, "fr-web1"), "drover_host_key",
	                    json_string(k));
	free(k);
	EXPECT(doc, &r,
	       "host \"fr-web1\": \"drover_host_key\" is a \"ssh-rsa\" key: "
	       "drover pins only ed25519 or ecdsa host keys");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-web1"), "drover_host_key",
	                    json_string("ssh-ed25519 AAAA!!!!"));
	EXPECT(doc, &r,
	       "host \"fr-web1\": \"drover_host_key\" is not valid base64");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-web1"), "drover_host_key",
	                    json_string("ssh-ed25519"));
	EXPECT(doc, &r,
	       "host \"fr-web1\": \"drover_host_key\" is not \"TYPE BASE64");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-web1"), "drover_host_key",
	                    json_integer(3));
	EXPECT(doc, &r, "host \"fr-web1\": \"drover_host_key\" is a number");

	/* the blob's own type is another */
	doc = good(fx);
	k = fake_key("ssh-ed25519", "ecdsa-sha2-nistp256", 32);
	json_object_set_new(hostvars(doc, "fr-web1"), "drover_host_key",
	                    json_string(k));
	free(k);
	EXPECT(doc, &r,
	       "host \"fr-web1\": \"drover_host_key\" says ssh-ed25519, but "
	       "the key it holds is of type \"ecdsa-sha2-nistp256\"");

	/* an ed25519 key one byte short */
	doc = good(fx);
	k = fake_key("ssh-ed25519", "ssh-ed25519", 31);
	json_object_set_new(hostvars(doc, "fr-web1"), "drover_host_key",
	                    json_string(k));
	free(k);
	EXPECT(doc, &r,
	       "host \"fr-web1\": \"drover_host_key\" is not a valid "
	       "ssh-ed25519 key");

	/* not one drover made */
	doc = good(fx);
	r.nkeys = 2;
	EXPECT(doc, &r,
	       "host \"fr-web1\" reports a host key drover did not generate "
	       "for this site: ",
	       fx->keys[2].fingerprint);
}

/* What must hold between hosts, and against the plan. */
static void
test_inventory_distinct(void **state)
{
	struct fixture *fx = *state;
	struct dr_inv_rules r = rules(fx);
	static const char *const taken[] = {"ms-db1", "FR-DB1"};
	json_t *doc;

	doc = good(fx);
	r.taken = taken;
	EXPECT(doc, &r,
	       "host \"fr-db1\": the plan already has a host named "
	       "\"FR-DB1\"");
	r = rules(fx);

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-app1"), "ansible_host",
	                    json_string("127.0.6.1"));
	json_object_set_new(hostvars(doc, "fr-app1"), "ansible_port",
	                    json_string("2222"));
	EXPECT(doc, &r,
	       "hosts \"fr-db1\" and \"fr-app1\" have the same address and "
	       "port (127.0.6.1, port 2222)");

	doc = good(fx);
	json_object_set_new(hostvars(doc, "fr-web1"), "drover_host_key",
	                    json_string(fx->keys[0].public_line));
	EXPECT(doc, &r,
	       "hosts \"fr-db1\" and \"fr-web1\" report the same host key (",
	       fx->keys[0].fingerprint);

	doc = good(fx);
	json_array_append_new(
	    json_object_get(json_object_get(doc, "db"), "hosts"),
	    json_string("FR-db1"));
	json_object_set_new(
	    json_object_get(json_object_get(doc, "_meta"), "hostvars"),
	    "FR-db1",
	    json_pack("{s:s,s:s}", "ansible_host", "127.0.7.1",
	              "drover_host_key", fx->keys[0].public_line));
	EXPECT(doc, &r, "hosts \"fr-db1\" and \"FR-db1\" differ only in case");
}

/* The journal form and back: the same hosts, fields checked again. */
static void
test_inventory_json(void **state)
{
	struct fixture *fx = *state;
	struct dr_inv_rules r = rules(fx);
	struct dr_inventory inv, back;
	json_t *doc = good(fx), *j, *h;
	char *text = json_dumps(doc, 0), *err = NULL;
	size_t i, k;

	json_decref(doc);
	assert_int_equal(parse_text(text, &r, &inv, &err), 0);
	free(text);
	j = dr_inventory_to_json(&inv);
	text = json_dumps(j, 0);
	json_decref(j);
	/* fr-web1: neither port nor user */
	assert_non_null(strstr(text, "{\"name\": \"fr-web1\", \"address\": "
	                             "\"fr-web1.example.org\", \"roles\": "
	                             "[\"web\"], \"key\": \"ssh-ed25519 "));
	j = json_loads(text, 0, NULL);
	free(text);
	if (dr_inventory_from_json(j, &back, &err) != 0)
		fail_msg("%s", err);
	assert_int_equal(back.nhosts, inv.nhosts);
	for (i = 0; i < inv.nhosts; i++) {
		const struct dr_inv_host *a = &inv.hosts[i],
		                         *b = &back.hosts[i];

		assert_string_equal(a->name, b->name);
		assert_string_equal(a->address, b->address);
		assert_int_equal(a->port, b->port);
		assert_true((a->user == NULL) == (b->user == NULL));
		if (a->user)
			assert_string_equal(a->user, b->user);
		assert_int_equal(a->nroles, b->nroles);
		for (k = 0; k < a->nroles; k++)
			assert_string_equal(a->roles[k], b->roles[k]);
		assert_string_equal(a->key, b->key);
		assert_string_equal(a->fingerprint, b->fingerprint);
	}
	dr_inventory_free(&back);

	/* tampered with: each field is checked again */
	h = json_array_get(json_object_get(j, "hosts"), 1);
	json_object_set_new(h, "key", json_string("ssh-rsa AAAA"));
	assert_int_equal(dr_inventory_from_json(j, &back, &err), DR_EINVAL);
	assert_null(back.hosts);
	assert_non_null(strstr(err, "inventory in the journal: host "
	                            "\"fr-app1\": \"key\" is a \"ssh-rsa\""));
	free(err);
	json_object_set_new(h, "key", json_string(fx->pub[1]));
	json_object_set_new(h, "port", json_integer(0));
	assert_int_equal(dr_inventory_from_json(j, &back, &err), DR_EINVAL);
	assert_non_null(strstr(err, "host \"fr-app1\": \"port\" 0 is not"));
	free(err);
	json_object_del(h, "port");
	json_object_set_new(h, "roles", json_pack("[s,s]", "app", "app"));
	assert_int_equal(dr_inventory_from_json(j, &back, &err), DR_EINVAL);
	assert_non_null(strstr(err, "host \"fr-app1\": \"roles\"[1]: role "
	                            "\"app\" is listed twice"));
	free(err);
	json_object_set_new(h, "roles", json_pack("[s]", "app"));
	json_object_set_new(h, "key", json_string(fx->pub[0]));
	assert_int_equal(dr_inventory_from_json(j, &back, &err), DR_EINVAL);
	assert_non_null(strstr(err, "hosts \"fr-db1\" and \"fr-app1\" report "
	                            "the same host key"));
	free(err);
	json_object_set_new(h, "key", json_string(fx->pub[1]));
	json_object_set_new(h, "name", json_string("fr-db1"));
	assert_int_equal(dr_inventory_from_json(j, &back, &err), DR_EINVAL);
	assert_non_null(strstr(err, "host \"fr-db1\": is listed twice"));
	free(err);
	json_decref(j);
	j = json_pack("{s:[]}", "hosts");
	assert_int_equal(dr_inventory_from_json(j, &back, &err), DR_EINVAL);
	assert_non_null(strstr(err, "\"hosts\" is not a list"));
	free(err);
	json_decref(j);
	dr_inventory_free(&inv);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_key_format),
	    cmocka_unit_test(test_key_comment),
	    cmocka_unit_test(test_write_interop),
	    cmocka_unit_test(test_user_data),
	    cmocka_unit_test(test_user_data_quoted),
	    cmocka_unit_test(test_scrub),
	    cmocka_unit_test(test_write_refuses),
	    cmocka_unit_test(test_write_fails_clean),
	    cmocka_unit_test(test_inventory_good),
	    cmocka_unit_test(test_inventory_out_of_band),
	    cmocka_unit_test(test_inventory_not_json),
	    cmocka_unit_test(test_inventory_groups),
	    cmocka_unit_test(test_inventory_membership),
	    cmocka_unit_test(test_inventory_too_many),
	    cmocka_unit_test(test_inventory_address),
	    cmocka_unit_test(test_inventory_port_user),
	    cmocka_unit_test(test_inventory_keys),
	    cmocka_unit_test(test_inventory_distinct),
	    cmocka_unit_test(test_inventory_json),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
