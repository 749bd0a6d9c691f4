/*
 * lock.h: one run at a time per target site.
 *
 * The lock is a file STATE/locks/SITE.lock held with flock() for the life of
 * the run and holding the holder's run id, user, host, pid and start time.
 * A lock file with content but no flock holder was left by a run that died:
 * it is reported as stale, never taken silently.
 */
#ifndef DROVER_LOCK_H
#define DROVER_LOCK_H

#include <stdbool.h>

struct dr_lock;

/*
 * Takes the lock of site for run_id. Returns 0 and sets *out; DR_ELOCKED
 * with *why (malloc'd) naming the live holder, or the dead one of a stale
 * lock (taken anyway when take_stale is set, and *why then says whose it
 * was); DR_EIO with *why on a file error.
 */
int dr_lock_acquire(const char *state_dir, const char *site, const char *run_id,
                    bool take_stale, struct dr_lock **out, char **why);

/*
 * Reads who holds the lock of site without taking it: *holder (malloc'd,
 * NULL when free) and whether that holder is alive (the flock is held).
 * Returns 0, or DR_ENOTFOUND when there is no lock file.
 */
int dr_lock_peek(const char *state_dir, const char *site, char **holder,
                 bool *alive);

/* Releases the lock (empties and unlocks the file). NULL is a no-op. */
void dr_lock_release(struct dr_lock *l);

#endif
