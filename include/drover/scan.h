/*
 * scan.h: recovering clean, not just intact. A copy from a restore-point
 * set (a source path with '*') whose plan names a scan, or whose plan has
 * indicators of compromise, lands each candidate backup in a quarantine
 * directory on the destination first. There drover looks for the plan's
 * indicators (file names, extensions, file digests, a YARA rules file; an
 * archive is unpacked inside the quarantine to look at its files), then the
 * plan's own scan runs (exit 0 clean, 1 infected, anything else an error);
 * only a clean point is moved into place. An infected point is rejected and
 * the next older one is tried, at most max_fallback times.
 *
 * Every verdict is journaled the moment it is known ("verdict" record) and
 * kept for the rest of the run and for resume: an infected point is never
 * copied or scanned again, a clean one is not scanned again by the same
 * scan. An indicator found in a point makes the point's time the run's
 * compromise time: from then on every task chooses points taken before it.
 */
#ifndef DROVER_SCAN_H
#define DROVER_SCAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/plan.h"
#include "drover/shcmd.h"

struct json_t;

/* The quarantine directory of a copy task: beside its destination,
 * ".drover-quarantine-" and the destination's file name (the step's name
 * when the destination is a directory). Caller frees. */
char *dr_scan_qdir(const char *dst_path, const char *step_name);

/* Whether a copy step's sets are scanned: it has a scan or the plan has
 * indicators. */
bool dr_scan_wanted(const struct dr_plan *p, const struct dr_step *st);

/*
 * The scan script of a task: "cd QDIR" and the step's scan template, where
 * {} (and ${scan.dir}) is the quarantine directory, through the same
 * builder as every command (values are variables, never code; lookup as
 * for dr_sh_code). Returns the script (caller frees), or NULL with *why.
 */
char *dr_scan_script(const char *tmpl, const char *qdir, dr_sh_lookup_fn lookup,
                     void *arg, char **why);

/* The template with {} written as ${scan.dir} (caller frees), for
 * validation and display. */
char *dr_scan_template(const char *tmpl);

/*
 * drover's own look for the plan's indicators in QDIR: exit 0 none, 1 found
 * (each finding on a line "indicator: ..."), 3 it could not look (yara
 * missing, an unreadable rules file). NULL when the plan has none. Caller
 * frees.
 */
char *dr_scan_ioc_script(const struct dr_plan *p, const char *qdir);

/* The first line of a finding, trimmed to at most 300 bytes; caller frees. */
char *dr_scan_finding(const char *output);

/* One judged restore point. */
struct dr_verdict {
	const char *host;    /* source host */
	const char *path;    /* the backup on it */
	uint64_t mtime_ms;   /* when it was taken */
	const char *scan_id; /* which scan judged it (clean verdicts are only
	                        reused by the same one) */
	bool infected;
	bool indicator;      /* found by the plan's indicators */
	const char *finding; /* what was found, or NULL */
	const char *task;    /* the task that judged it */
};

struct dr_verdicts;

struct dr_verdicts *dr_verdicts_new(void);
void dr_verdicts_free(struct dr_verdicts *v);

/* Copies v in. */
void dr_verdicts_add(struct dr_verdicts *vs, const struct dr_verdict *v);

/* The verdict that settles this point for scan_id: an infected one from
 * any scan, a clean one from the same scan; NULL when it is not judged. */
const struct dr_verdict *dr_verdicts_find(const struct dr_verdicts *vs,
                                          const char *host, const char *path,
                                          uint64_t mtime_ms,
                                          const char *scan_id);

/* The earliest time of a point where an indicator was found; 0: none. */
uint64_t dr_verdicts_compromise(const struct dr_verdicts *vs);

/* The journal record of a verdict; caller frees. */
char *dr_verdict_record(const struct dr_verdict *v);

/* The journal record of --clean-before; caller frees. */
char *dr_scan_clean_before_record(uint64_t ms);

/* Adds the verdicts of journal records (objects of type "verdict"). */
void dr_verdicts_load(struct dr_verdicts *vs, const struct json_t *records);

#endif
