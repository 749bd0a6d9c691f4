/*
 * test_hostkeys.c: the keys a known_hosts file pins, fingerprinted as
 * OpenSSH does, against ssh-keygen -l on keys generated for the test (an
 * ed25519 and an ECDSA key), with hashed (matched by their HMAC), revoked,
 * malformed and multi-name entries beside them.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <libssh2.h>

#include "drover/common.h"
#include "drover/hostkeys.h"

struct key {
	char type[32];  /* "ssh-ed25519" */
	char blob[512]; /* base64 */
	char fp[128];   /* as ssh-keygen -l prints it */
	char label[32]; /* "ED25519" */
};

struct fixture {
	char dir[64];
	char *kh; /* the known_hosts file */
	struct key ed, ec;
	char hashed[2048]; /* hashed lines for 10.0.0.9 and [10.0.0.8]:2222 */
};

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

/* Generates a key with ssh-keygen and reads what ssh-keygen -l says. */
static bool
make_key(const char *dir, const char *name, const char *args, struct key *k)
{
	char cmd[512], out[1024], bits[16], *path;
	FILE *f;
	bool ok;

	snprintf(cmd, sizeof(cmd),
	         "ssh-keygen -q %s -N '' -C drover-test -f %s/%s 2>&1", args,
	         dir, name);
	if (!run(cmd, NULL, 0))
		return false;
	path = dr_xasprintf("%s/%s.pub", dir, name);
	f = fopen(path, "r");
	ok = f && fscanf(f, "%31s %511s", k->type, k->blob) == 2;
	if (f)
		fclose(f);
	snprintf(cmd, sizeof(cmd), "ssh-keygen -l -E sha256 -f %s", path);
	free(path);
	/* "256 SHA256:... drover-test (ED25519)" */
	ok = ok && run(cmd, out, sizeof(out)) &&
	     sscanf(out, "%15s %127s drover-test (%31[^)])", bits, k->fp,
	            k->label) == 3;
	return ok;
}

static int
setup(void **state)
{
	struct fixture *fx = calloc(1, sizeof(*fx));
	char cmd[512], *plain;
	FILE *f;

	*state = fx;
	if (!run("command -v ssh-keygen >/dev/null", NULL, 0))
		return 0; /* the tests skip */
	snprintf(fx->dir, sizeof(fx->dir), "/tmp/drover-test-hk-XXXXXX");
	assert_non_null(mkdtemp(fx->dir));
	assert_true(make_key(fx->dir, "ed", "-t ed25519", &fx->ed));
	assert_true(make_key(fx->dir, "ec", "-t ecdsa -b 256", &fx->ec));

	/* A hashed entry, as ssh-keygen -H writes it. */
	plain = dr_xasprintf("%s/plain", fx->dir);
	f = fopen(plain, "w");
	assert_non_null(f);
	fprintf(f, "10.0.0.9 %s %s\n", fx->ed.type, fx->ed.blob);
	fprintf(f, "[10.0.0.8]:2222 %s %s\n", fx->ec.type, fx->ec.blob);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "ssh-keygen -q -H -f %s >/dev/null 2>&1",
	         plain);
	assert_true(run(cmd, NULL, 0));
	f = fopen(plain, "r");
	assert_non_null(f);
	assert_non_null(fgets(fx->hashed, sizeof(fx->hashed) / 2, f));
	assert_non_null(
	    fgets(fx->hashed + strlen(fx->hashed), sizeof(fx->hashed) / 2, f));
	fclose(f);
	assert_true(strncmp(fx->hashed, "|1|", 3) == 0);
	free(plain);

	fx->kh = dr_xasprintf("%s/known_hosts", fx->dir);
	f = fopen(fx->kh, "w");
	assert_non_null(f);
	fprintf(f, "# pinned for the test\n\n");
	fprintf(f, "10.0.0.1 %s %s root@a\n", fx->ed.type, fx->ed.blob);
	fprintf(f, "[10.0.0.2]:2222 %s %s\r\n", fx->ec.type, fx->ec.blob);
	fprintf(f, "%s", fx->hashed);
	fprintf(f, "@revoked 10.0.0.4 %s %s\n", fx->ec.type, fx->ec.blob);
	fprintf(f, "garbage\n");
	fprintf(f, "10.0.0.5 ssh-ed25519 AAAA\n");
	fprintf(f, "10.0.0.3,[10.0.0.3]:2200 %s %s\n", fx->ed.type,
	        fx->ed.blob);
	fprintf(f, "DB1.Example.ORG %s %s\n", fx->ec.type, fx->ec.blob);
	fprintf(f, "10.0.0.1 %s %s second key\n", fx->ec.type, fx->ec.blob);
	fclose(f);
	return 0;
}

static int
teardown(void **state)
{
	struct fixture *fx = *state;
	char cmd[128];

	if (fx->dir[0]) {
		snprintf(cmd, sizeof(cmd), "rm -rf %s", fx->dir);
		run(cmd, NULL, 0);
	}
	free(fx->kh);
	free(fx);
	return 0;
}

static struct dr_hostkeys *
load(struct fixture *fx)
{
	struct dr_hostkeys *kh = NULL;

	if (fx->kh == NULL)
		skip();
	assert_int_equal(dr_hostkeys_load(fx->kh, &kh), 0);
	assert_non_null(kh);
	return kh;
}

static void
same_key(const struct dr_hostkey *got, const struct key *want)
{
	assert_non_null(got);
	assert_string_equal(got->fingerprint, want->fp);
	assert_string_equal(got->type, want->label);
}

/* As ssh-keygen -l prints them: ed25519, then ECDSA, in file order. */
static void
test_fingerprints(void **state)
{
	struct fixture *fx = *state;
	struct dr_hostkeys *kh = load(fx);
	const struct dr_hostkey *k;

	assert_string_equal(fx->ed.label, "ED25519");
	assert_string_equal(fx->ec.label, "ECDSA");
	k = dr_hostkeys_next(kh, "10.0.0.1", 22, NULL);
	same_key(k, &fx->ed);
	assert_string_equal(k->name, "10.0.0.1");
	k = dr_hostkeys_next(kh, "10.0.0.1", 22, k);
	same_key(k, &fx->ec);
	assert_null(dr_hostkeys_next(kh, "10.0.0.1", 22, k));
	dr_hostkeys_free(kh);
}

/* "[address]:port" for another port; "address" alone for any port. */
static void
test_ports(void **state)
{
	struct fixture *fx = *state;
	struct dr_hostkeys *kh = load(fx);
	const struct dr_hostkey *k;

	same_key(dr_hostkeys_next(kh, "10.0.0.2", 2222, NULL), &fx->ec);
	assert_null(dr_hostkeys_next(kh, "10.0.0.2", 22, NULL));
	assert_null(dr_hostkeys_next(kh, "10.0.0.2", 2200, NULL));
	/* both names on one line: the key once */
	k = dr_hostkeys_next(kh, "10.0.0.3", 2200, NULL);
	same_key(k, &fx->ed);
	assert_null(dr_hostkeys_next(kh, "10.0.0.3", 2200, k));
	same_key(dr_hostkeys_next(kh, "10.0.0.1", 2222, NULL), &fx->ed);
	/* host names without case */
	same_key(dr_hostkeys_next(kh, "db1.example.org", 22, NULL), &fx->ec);
	assert_null(dr_hostkeys_next(kh, "db1.example", 22, NULL));
	assert_null(dr_hostkeys_next(kh, "10.0.0", 22, NULL));
	dr_hostkeys_free(kh);
}

/*
 * A hashed line (ssh-keygen -H) pins its key for the name it hashes, and
 * for no other: the runbook shows the fingerprint drover checks against,
 * not "not pinned".
 */
static void
test_hashed(void **state)
{
	struct fixture *fx = *state;
	struct dr_hostkeys *kh = load(fx);
	const struct dr_hostkey *k;

	k = dr_hostkeys_next(kh, "10.0.0.9", 22, NULL);
	same_key(k, &fx->ed);
	assert_null(dr_hostkeys_next(kh, "10.0.0.9", 22, k));
	/* [10.0.0.8]:2222, hashed: the port is part of the name */
	same_key(dr_hostkeys_next(kh, "10.0.0.8", 2222, NULL), &fx->ec);
	assert_null(dr_hostkeys_next(kh, "10.0.0.8", 22, NULL));
	assert_null(dr_hostkeys_next(kh, "10.0.0.90", 22, NULL));
	assert_null(dr_hostkeys_next(kh, "10.0.0.", 22, NULL));
	dr_hostkeys_free(kh);
}

/* Revoked and malformed lines pin nothing; the rest still loads. */
static void
test_ignored(void **state)
{
	struct fixture *fx = *state;
	struct dr_hostkeys *kh = load(fx);

	assert_null(dr_hostkeys_next(kh, "10.0.0.4", 22, NULL));
	assert_null(dr_hostkeys_next(kh, "10.0.0.5", 22, NULL));
	assert_null(dr_hostkeys_next(kh, "garbage", 22, NULL));
	assert_null(dr_hostkeys_next(NULL, "10.0.0.1", 22, NULL));
	dr_hostkeys_free(kh);
}

static void
test_fingerprint_blob(void **state)
{
	struct fixture *fx = *state;
	char *fp = NULL;

	if (fx->kh == NULL)
		skip();
	assert_int_equal(dr_hostkeys_fingerprint(fx->ed.blob, &fp), 0);
	assert_string_equal(fp, fx->ed.fp);
	free(fp);
	assert_int_equal(dr_hostkeys_fingerprint(fx->ec.blob, &fp), 0);
	assert_string_equal(fp, fx->ec.fp);
	free(fp);
	assert_int_equal(dr_hostkeys_fingerprint("not base64!", &fp),
	                 DR_EINVAL);
	assert_null(fp);
	assert_int_equal(dr_hostkeys_fingerprint("AAAA", &fp), DR_EINVAL);
	assert_int_equal(dr_hostkeys_fingerprint("", &fp), DR_EINVAL);
}

static void
test_unreadable(void **state)
{
	struct fixture *fx = *state;
	struct dr_hostkeys *kh = NULL;

	errno = 0;
	assert_int_equal(dr_hostkeys_load("/nonexistent/known_hosts", &kh),
	                 DR_EIO);
	assert_int_equal(errno, ENOENT);
	assert_null(kh);
	if (fx->dir[0]) {
		assert_int_equal(dr_hostkeys_load(fx->dir, &kh), DR_EIO);
		assert_null(kh);
	}
	dr_hostkeys_free(NULL);
}

/* libssh2 is refcounted: a caller's own initialisation survives a load. */
static void
test_libssh2_refcount(void **state)
{
	struct fixture *fx = *state;
	struct dr_hostkeys *kh;
	LIBSSH2_SESSION *s;

	if (fx->kh == NULL)
		skip();
	assert_int_equal(libssh2_init(0), 0);
	kh = load(fx);
	dr_hostkeys_free(kh);
	s = libssh2_session_init();
	assert_non_null(s);
	libssh2_session_free(s);
	libssh2_exit();
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_fingerprints),
	    cmocka_unit_test(test_ports),
	    cmocka_unit_test(test_hashed),
	    cmocka_unit_test(test_ignored),
	    cmocka_unit_test(test_fingerprint_blob),
	    cmocka_unit_test(test_unreadable),
	    cmocka_unit_test(test_libssh2_refcount),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
