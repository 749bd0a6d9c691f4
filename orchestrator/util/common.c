/* common.c: error names, allocation, buffers, arena, files, tracing. */
#include "drover/common.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

const char *
dr_strerror(int err)
{
	switch (err) {
	case DR_OK:
		return "success";
	case DR_EINVAL:
		return "invalid argument";
	case DR_ENOMEM:
		return "out of memory";
	case DR_EIO:
		return "i/o error";
	case DR_EPLAN:
		return "invalid plan";
	case DR_ENOTFOUND:
		return "not found";
	case DR_ECONNECT:
		return "unreachable";
	case DR_EHOSTKEY:
		return "host key refused";
	case DR_EAUTH:
		return "authentication failed";
	case DR_ETIMEDOUT:
		return "timed out";
	case DR_EPROTO:
		return "ssh protocol error";
	case DR_ECANCELED:
		return "cancelled";
	case DR_ECHECKSUM:
		return "checksum mismatch";
	case DR_EEXIT:
		return "command failed";
	case DR_ELOCKED:
		return "locked by another run";
	case DR_EREFUSED:
		return "refused";
	case DR_EDISCONNECT:
		return "connection lost";
	case DR_EBUSY:
		return "no channel free";
	}
	return "unknown error";
}

static void
oom(size_t n)
{
	fprintf(stderr, "drover: out of memory allocating %zu bytes\n", n);
	abort();
}

void *
dr_xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);
	if (p == NULL)
		oom(n);
	return p;
}

void *
dr_xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);
	if (p == NULL)
		oom(n * size);
	return p;
}

void *
dr_xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n ? n : 1);
	if (q == NULL)
		oom(n);
	return q;
}

bool
dr_ends_with(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return n >= m && strcmp(s + n - m, suffix) == 0;
}

char *
dr_xstrdup(const char *s)
{
	return dr_xstrndup(s, strlen(s));
}

char *
dr_xstrndup(const char *s, size_t n)
{
	char *p = dr_xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

bool
dr_str_in(const char *const *v, size_t n, const char *s)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(v[i], s) == 0)
			return true;
	return false;
}

bool
dr_str_has_control(const char *s)
{
	for (; *s; s++)
		if ((unsigned char)*s < 0x20 || *s == 0x7f)
			return true;
	return false;
}

char *
dr_xvasprintf(const char *fmt, va_list ap)
{
	struct dr_buf b;

	dr_buf_init(&b, 0);
	dr_buf_vprintf(&b, fmt, ap);
	return dr_buf_steal(&b);
}

char *
dr_xasprintf(const char *fmt, ...)
{
	char *s;

	DR_VFORMAT(s, fmt);
	return s;
}

void
dr_grow(void **arr, size_t *cap, size_t need, size_t elem)
{
	size_t ncap;

	if (need <= *cap)
		return;
	ncap = *cap ? *cap : 8;
	while (ncap < need) {
		if (ncap > SIZE_MAX / 2)
			oom(SIZE_MAX);
		ncap *= 2;
	}
	if (ncap > SIZE_MAX / elem)
		oom(SIZE_MAX);
	*arr = dr_xrealloc(*arr, ncap * elem);
	*cap = ncap;
}

void
dr_buf_init(struct dr_buf *b, size_t limit)
{
	memset(b, 0, sizeof(*b));
	b->limit = limit;
}

static void
buf_reserve(struct dr_buf *b, size_t extra)
{
	void *p = b->data;
	dr_grow(&p, &b->cap, b->len + extra + 1, 1);
	b->data = p;
}

void
dr_buf_append(struct dr_buf *b, const void *p, size_t n)
{
	const char *src = p;

	if (b->limit && n >= b->limit) {
		/* Only the last limit bytes of the new data survive. */
		src += n - b->limit;
		n = b->limit;
		b->truncated = b->truncated || b->len > 0 || n > 0;
		b->len = 0;
	} else if (b->limit && b->len + n > b->limit) {
		size_t drop = b->len + n - b->limit;
		memmove(b->data, b->data + drop, b->len - drop);
		b->len -= drop;
		b->truncated = true;
	}
	buf_reserve(b, n);
	if (n)
		memcpy(b->data + b->len, src, n);
	b->len += n;
	b->data[b->len] = '\0';
}

void
dr_buf_puts(struct dr_buf *b, const char *s)
{
	dr_buf_append(b, s, strlen(s));
}

void
dr_buf_vprintf(struct dr_buf *b, const char *fmt, va_list ap)
{
	char small[256];
	va_list ap2;
	int n;

	va_copy(ap2, ap);
	n = vsnprintf(small, sizeof(small), fmt, ap2);
	va_end(ap2);
	if (n < 0)
		return;
	if ((size_t)n < sizeof(small)) {
		dr_buf_append(b, small, (size_t)n);
		return;
	}
	{
		char *big = dr_xmalloc((size_t)n + 1);
		vsnprintf(big, (size_t)n + 1, fmt, ap);
		dr_buf_append(b, big, (size_t)n);
		free(big);
	}
}

void
dr_buf_printf(struct dr_buf *b, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	dr_buf_vprintf(b, fmt, ap);
	va_end(ap);
}

char *
dr_buf_steal(struct dr_buf *b)
{
	char *p = b->data;

	if (p == NULL)
		p = dr_xstrdup("");
	b->data = NULL;
	b->len = b->cap = 0;
	b->truncated = false;
	return p;
}

void
dr_buf_free(struct dr_buf *b)
{
	free(b->data);
	b->data = NULL;
	b->len = b->cap = 0;
}

/* Arena: a list of blocks; large requests get a block of their own. */
#define ARENA_BLOCK 65536

struct arena_block {
	struct arena_block *next;
	size_t used;
	size_t size;
	_Alignas(max_align_t) unsigned char mem[];
};

struct dr_arena {
	struct arena_block *head;
};

struct dr_arena *
dr_arena_new(void)
{
	return dr_xcalloc(1, sizeof(struct dr_arena));
}

void *
dr_arena_alloc(struct dr_arena *a, size_t n)
{
	const size_t align = _Alignof(max_align_t);
	struct arena_block *b = a->head;
	void *p;

	n = (n + align - 1) & ~(align - 1);
	if (b == NULL || b->size - b->used < n) {
		size_t size = n > ARENA_BLOCK / 4 ? n : ARENA_BLOCK;
		struct arena_block *nb =
		    dr_xmalloc(sizeof(struct arena_block) + size);
		nb->used = 0;
		nb->size = size;
		if (size == n && b != NULL) {
			/* Keep the current block as the head for small ones. */
			nb->next = b->next;
			b->next = nb;
		} else {
			nb->next = b;
			a->head = nb;
		}
		b = nb;
	}
	p = b->mem + b->used;
	b->used += n;
	memset(p, 0, n);
	return p;
}

char *
dr_arena_strndup(struct dr_arena *a, const char *s, size_t n)
{
	char *p = dr_arena_alloc(a, n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *
dr_arena_strdup(struct dr_arena *a, const char *s)
{
	if (s == NULL)
		return NULL;
	return dr_arena_strndup(a, s, strlen(s));
}

void
dr_arena_free(struct dr_arena *a)
{
	struct arena_block *b, *next;

	if (a == NULL)
		return;
	for (b = a->head; b != NULL; b = next) {
		next = b->next;
		free(b);
	}
	free(a);
}

bool
dr_trace_on(void)
{
	static int on = -1;

	if (on < 0) {
		const char *e = getenv("DROVER_TRACE");
		on = e != NULL && *e != '\0' && strcmp(e, "0") != 0;
	}
	return on != 0;
}

int
dr_read_file(const char *path, size_t limit, char **data, size_t *len)
{
	FILE *f = fopen(path, "re");
	struct dr_buf b;
	char chunk[8192];
	size_t n;
	int r = 0;

	*data = NULL;
	if (f == NULL)
		return DR_EIO;
	dr_buf_init(&b, 0);
	while (r == 0 && (n = fread(chunk, 1, sizeof(chunk), f)) > 0) {
		dr_buf_append(&b, chunk, n);
		if (limit && b.len > limit)
			r = DR_EINVAL;
	}
	if (r == 0 && ferror(f))
		r = DR_EIO;
	fclose(f);
	if (r != 0) {
		dr_buf_free(&b);
		return r;
	}
	if (len)
		*len = b.len;
	*data = dr_buf_steal(&b);
	return 0;
}

int
dr_write_all(int fd, const void *data, size_t len)
{
	const char *p = data;

	while (len > 0) {
		ssize_t w = write(fd, p, len);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			if (w == 0)
				errno = EIO;
			return -1;
		}
		p += w;
		len -= (size_t)w;
	}
	return 0;
}

/* A device or a FIFO: written as it is, to whoever reads it. */
static int
write_through(const char *path, const void *data, size_t len)
{
	int fd = open(path, O_WRONLY | O_NOCTTY | O_CLOEXEC), e;

	if (fd < 0)
		return DR_EIO;
	if (dr_write_all(fd, data, len) != 0) {
		e = errno;
		close(fd);
		errno = e;
		return DR_EIO;
	}
	return close(fd) == 0 ? 0 : DR_EIO;
}

int
dr_write_file_atomic(const char *path, const void *data, size_t len,
                     unsigned mode)
{
	char *tmp, *dir, *slash, *real = NULL;
	struct stat st;
	int fd, dfd, r = DR_EIO;

	/*
	 * rename() would put a regular file in the place of a device (as
	 * root, -o /dev/null would replace /dev/null) or of a symbolic link.
	 */
	if (stat(path, &st) == 0) {
		if (S_ISDIR(st.st_mode)) {
			errno = EISDIR;
			return DR_EIO;
		}
		if (!S_ISREG(st.st_mode))
			return write_through(path, data, len);
		if (lstat(path, &st) == 0 && S_ISLNK(st.st_mode)) {
			if ((real = realpath(path, NULL)) == NULL)
				return DR_EIO;
			path = real;
		}
	} else if (errno != ENOENT) {
		return DR_EIO;
	} else if (lstat(path, &st) == 0) {
		errno = ENOENT; /* a link to nothing: its target is not made */
		return DR_EIO;
	}
	tmp = dr_xasprintf("%s.tmp.XXXXXX", path);
	dir = dr_xstrdup(path);
	fd = mkstemp(tmp);
	if (fd < 0)
		goto out;
	if (fchmod(fd, (mode_t)mode) != 0)
		goto fail;
	if (dr_write_all(fd, data, len) != 0)
		goto fail;
	if (fsync(fd) != 0)
		goto fail;
	if (close(fd) != 0) {
		fd = -1;
		goto fail;
	}
	fd = -1;
	if (rename(tmp, path) != 0)
		goto fail;
	slash = strrchr(dir, '/');
	if (slash == dir)
		dir[1] = '\0';
	else if (slash)
		*slash = '\0';
	dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd >= 0) {
		fsync(dfd);
		close(dfd);
	}
	r = 0;
	goto out;
fail:
	if (fd >= 0)
		close(fd);
	unlink(tmp);
out:
	free(tmp);
	free(dir);
	free(real);
	return r;
}

/*
 * mkdir 0700; inside a setgid directory (a team's state directory, README
 * "Shared state") 0770, which inherits the group and the setgid bit, so
 * that the group reaches the runs (a umask that took the group's bits is
 * undone, keeping the inherited bit).
 */
static int
mkdir_one(char *p)
{
	struct stat st, parent;
	char *slash = strrchr(p, '/');
	bool team = false;

	if (slash && slash != p) {
		*slash = '\0';
		team = stat(p, &parent) == 0 && (parent.st_mode & S_ISGID);
		*slash = '/';
	}
	if (mkdir(p, team ? 0770 : 0700) != 0)
		return errno == EEXIST ? 0 : -1;
	if (team && stat(p, &st) == 0 && (st.st_mode & 0770) != 0770)
		chmod(p, (st.st_mode & 07777) | 0770);
	return 0;
}

int
dr_mkdirs(const char *path)
{
	char *p = dr_xstrdup(path), *s;
	int r = 0;

	for (s = p + 1; *s && r == 0; s++) {
		if (*s != '/')
			continue;
		*s = '\0';
		r = mkdir_one(p);
		*s = '/';
	}
	if (r == 0)
		r = mkdir_one(p);
	free(p);
	return r;
}

void
dr_trace_state(const char *module, const char *id, const char *from,
               const char *to)
{
	if (dr_trace_on())
		fprintf(stderr, "trace: %s: %s: %s -> %s\n", module, id, from,
		        to);
}
