/*
 * audit.h: the audit chain of a run, verified (records.h builds its
 * records: dr_audit_record).
 */
#ifndef DROVER_AUDIT_H
#define DROVER_AUDIT_H

#include <stddef.h>

/*
 * Verifies STATE/runs/RUN/audit: every record's prev is the SHA-256 of the
 * record before it, and, when expect_head is given, the last record's hash
 * equals it. Returns 0 and sets *nrecords and head (the last record's hash,
 * or 64 zeros; head may be NULL), or DR_EIO with *why (malloc'd)
 * naming the first bad record.
 */
int dr_audit_verify(const char *path, const char *expect_head, size_t *nrecords,
                    char head[65], char **why);

/* SHA-256 hex of a payload, for chaining. */
void dr_audit_hash(const char *payload, char out[65]);

#endif
