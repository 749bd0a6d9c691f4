/* lock.c: a flock()ed lock file per target site. */
#include "drover/lock.h"

#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "drover/common.h"

struct dr_lock {
	int fd;
	char *path;
};

static char *
read_holder(int fd)
{
	char buf[1024];
	ssize_t n = pread(fd, buf, sizeof(buf) - 1, 0);

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	n = (ssize_t)strcspn(buf, "\n"); /* the holder's line */
	buf[n] = '\0';
	while (n > 0 && buf[n - 1] == ' ')
		buf[--n] = '\0';
	return n > 0 ? dr_xstrdup(buf) : NULL;
}

/*
 * The holder of a lock another process holds. It writes its line just
 * after it takes the lock: give it a moment (at most 1 s, before any loop
 * runs) rather than report "unknown holder".
 */
static char *
wait_holder(int fd)
{
	struct timespec ten_ms = {0, 10 * 1000 * 1000};
	char *holder = NULL;
	int i;

	for (i = 0; i < 100 && (holder = read_holder(fd)) == NULL; i++)
		nanosleep(&ten_ms, NULL);
	return holder;
}

int
dr_lock_acquire(const char *state_dir, const char *site, const char *run_id,
                bool take_stale, struct dr_lock **out, char **why)
{
	char *dir = dr_xasprintf("%s/locks", state_dir);
	char *path = dr_xasprintf("%s/%s.lock", dir, site);
	char *holder = NULL, *info = NULL, host[256] = "", when[40];
	struct passwd *pw = getpwuid(geteuid());
	struct dr_lock *l;
	int fd, r = 0;

	*out = NULL;
	*why = NULL;
	/* The state directory is created on first use, with its parents
	 * (~/.local/state on a fresh machine), private to the user. */
	if (dr_mkdirs(dir) != 0) {
		*why = dr_xasprintf("%s: %s", dir, strerror(errno));
		r = DR_EIO;
		goto out;
	}
	fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0) {
		*why = dr_xasprintf("%s: %s", path, strerror(errno));
		r = DR_EIO;
		goto out;
	}
	{
		/* A team's state (setgid, README "Shared state"): every
		 * operator sees who holds the site, and may take it after. */
		struct stat st;
		if (stat(dir, &st) == 0 && (st.st_mode & S_ISGID))
			(void)fchmod(fd, 0660);
	}
	if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
		holder = wait_holder(fd);
		*why = dr_xasprintf("site %s is held by another run: %s (lock "
		                    "%s)",
		                    site, holder ? holder : "unknown holder",
		                    path);
		close(fd);
		r = DR_ELOCKED;
		goto out;
	}
	holder = read_holder(fd);
	if (holder != NULL) {
		char *mine = dr_xasprintf("run %s ", run_id);
		bool own = strncmp(holder, mine, strlen(mine)) == 0;
		free(mine);
		if (own) {
			/* Left by this same run when it died: resuming it. */
		} else if (!take_stale) {
			*why = dr_xasprintf(
			    "site %s has a stale lock: %s, which is no longer "
			    "running. Resume that run (drover resume RUN) or, "
			    "once you know it is dead, start anyway with "
			    "--take-stale-lock (lock %s)",
			    site, holder, path);
			flock(fd, LOCK_UN);
			close(fd);
			r = DR_ELOCKED;
			goto out;
		} else {
			*why = dr_xasprintf(
			    "took the stale lock of site %s from: %s", site,
			    holder);
		}
	}
	gethostname(host, sizeof(host) - 1);
	info = dr_xasprintf("run %s by %s@%s pid %ld since %s\n", run_id,
	                    pw ? pw->pw_name : "?", host, (long)getpid(),
	                    dr_time_fmt(dr_now_wall_ms(), when, sizeof(when)));
	/* Written over the old line, then cut to it: never empty while held. */
	if (pwrite(fd, info, strlen(info), 0) != (ssize_t)strlen(info) ||
	    ftruncate(fd, (off_t)strlen(info)) != 0 || fsync(fd) != 0) {
		free(*why);
		*why = dr_xasprintf("%s: %s", path, strerror(errno));
		close(fd);
		r = DR_EIO;
		goto out;
	}
	l = dr_xcalloc(1, sizeof(*l));
	l->fd = fd;
	l->path = path;
	path = NULL;
	*out = l;
out:
	free(holder);
	free(info);
	free(path);
	free(dir);
	return r;
}

void
dr_lock_release(struct dr_lock *l)
{
	if (l == NULL)
		return;
	if (ftruncate(l->fd, 0) == 0)
		fsync(l->fd);
	flock(l->fd, LOCK_UN);
	close(l->fd);
	free(l->path);
	free(l);
}

int
dr_lock_peek(const char *state_dir, const char *site, char **holder,
             bool *alive)
{
	char *path = dr_xasprintf("%s/locks/%s.lock", state_dir, site);
	int fd = open(path, O_RDONLY | O_CLOEXEC);

	free(path);
	*holder = NULL;
	*alive = false;
	if (fd < 0)
		return DR_ENOTFOUND;
	*holder = read_holder(fd);
	if (flock(fd, LOCK_SH | LOCK_NB) != 0)
		*alive = true;
	else
		flock(fd, LOCK_UN);
	close(fd);
	return 0;
}
