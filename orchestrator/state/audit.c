/*
 * audit.c: the audit chain of a run (STATE/runs/RUN/audit), verified.
 *
 * Each record's "prev" is the SHA-256 of the record before it (64 zeros for
 * the first), so that a record removed, changed or reordered breaks the
 * chain at that record. The records are built in records.c.
 */
#include "drover/audit.h"

#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"
#include "drover/journal.h"
#include "drover/sha256.h"

void
dr_audit_hash(const char *payload, char out[65])
{
	dr_sha256_hex(payload, strlen(payload), out);
}

struct verifyctx {
	char prev[65];
	size_t n;
	char *why;
};

static int
on_audit(uint64_t seq, const char *payload, size_t len, void *arg)
{
	struct verifyctx *c = arg;
	json_t *o = json_loadb(payload, len, 0, NULL);
	const char *prev =
	    o ? json_string_value(json_object_get(o, "prev")) : NULL;

	if (prev == NULL || strcmp(prev, c->prev) != 0) {
		c->why = dr_xasprintf(
		    "audit record %llu does not follow the one before it "
		    "(a record was removed, changed or reordered)",
		    (unsigned long long)seq);
		json_decref(o);
		return 1;
	}
	json_decref(o);
	dr_audit_hash(payload, c->prev);
	c->n++;
	return 0;
}

int
dr_audit_verify(const char *path, const char *expect_head, size_t *nrecords,
                char head[65], char **why)
{
	struct verifyctx c;
	struct dr_journal_info info;
	int r;

	memset(&c, 0, sizeof(c));
	memset(c.prev, '0', 64);
	*why = NULL;
	*nrecords = 0;
	r = dr_journal_replay(path, on_audit, &c, &info);
	if (r == 1) {
		*why = c.why;
		return DR_EIO;
	}
	if (r != 0) {
		/* An audit trail is evidence: never advise cutting it. */
		*why = dr_xasprintf(
		    "%s%s",
		    info.error[0] ? info.error : "audit file unreadable",
		    info.bad_offset
		        ? "; the audit trail is evidence: keep the "
		          "file exactly as it is, copy it somewhere "
		          "safe, and find out who changed it"
		        : "");
		return DR_EIO;
	}
	if (info.torn_bytes) {
		*why = dr_xasprintf("%s: the last record is torn", path);
		return DR_EIO;
	}
	if (expect_head && strcmp(expect_head, c.prev) != 0) {
		*why = dr_xasprintf(
		    "%s: the last record is not the one the run ended "
		    "with (records were removed or changed at the end)",
		    path);
		return DR_EIO;
	}
	*nrecords = c.n;
	if (head)
		memcpy(head, c.prev, 65);
	return 0;
}
