/* secrets.c: the values of the plan's secrets, read at run time only. */
#include "drover/secrets.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/common.h"

static char *
problem_of(const struct dr_secret *s)
{
	struct stat sb;

	if (s->env) {
		const char *e = getenv(s->env);
		if (e == NULL || *e == '\0')
			return dr_xasprintf("environment variable %s is not "
			                    "set; export it before the run",
			                    s->env);
		if (strlen(e) > DR_SECRET_MAX || strchr(e, '\n'))
			return dr_xasprintf("environment variable %s holds a "
			                    "newline or is over %d bytes",
			                    s->env, DR_SECRET_MAX);
		return NULL;
	}
	if (stat(s->file, &sb) != 0)
		return dr_xasprintf("%s: %s", s->file, strerror(errno));
	if (!S_ISREG(sb.st_mode))
		return dr_xasprintf("%s is not a regular file", s->file);
	if (sb.st_size > DR_SECRET_MAX)
		return dr_xasprintf("%s is over %d bytes, too large for a "
		                    "secret",
		                    s->file, DR_SECRET_MAX);
	if ((sb.st_mode & 0077) != 0 || sb.st_uid != geteuid())
		return dr_xasprintf("%s must be owned by you with mode 0600 or "
		                    "stricter (chmod 600 %s)",
		                    s->file, s->file);
	if (access(s->file, R_OK) != 0)
		return dr_xasprintf("%s: %s", s->file, strerror(errno));
	return NULL;
}

/* What is wrong, and where a person gets the value (the plan's hint). */
char *
dr_secret_problem(const struct dr_secret *s)
{
	char *why = problem_of(s), *out;

	if (why == NULL || s->hint == NULL)
		return why;
	out = dr_xasprintf("%s; where to get it: %s", why, s->hint);
	free(why);
	return out;
}

/* Reads at most max bytes of a regular file opened without following a
 * symlink; DR_EIO with errno set, or DR_EINVAL when too large. */
static int
read_small(int fd, size_t max, char **data, size_t *len)
{
	struct dr_buf b;
	char chunk[4096];
	ssize_t n;

	dr_buf_init(&b, 0);
	while ((n = read(fd, chunk, sizeof(chunk))) > 0) {
		if (b.len + (size_t)n > max) {
			memset(b.data, 0, b.len);
			dr_buf_free(&b);
			return DR_EINVAL;
		}
		dr_buf_append(&b, chunk, (size_t)n);
	}
	if (n < 0) {
		if (b.data)
			memset(b.data, 0, b.len);
		dr_buf_free(&b);
		return DR_EIO;
	}
	if (b.data == NULL)
		dr_buf_append(&b, "", 0);
	*len = b.len;
	*data = dr_buf_steal(&b);
	return 0;
}

static int
secret_value(const struct dr_secret *s, char **out)
{
	char *v = NULL;
	size_t len = 0;

	if (s->env) {
		const char *e = getenv(s->env);
		if (e == NULL || *e == '\0') {
			char *why = dr_secret_problem(s);
			fprintf(stderr, "drover: secret \"%s\": %s\n", s->name,
			        why);
			free(why);
			return DR_EINVAL;
		}
		v = dr_xstrdup(e);
		len = strlen(v);
	} else {
		struct stat sb;
		char *why;
		int fd = open(s->file, O_RDONLY | O_NOFOLLOW | O_CLOEXEC), r;
		if (fd < 0 || fstat(fd, &sb) != 0) {
			fprintf(stderr, "drover: secret \"%s\": %s: %s\n",
			        s->name, s->file, strerror(errno));
			if (fd >= 0)
				close(fd);
			return DR_EINVAL;
		}
		if ((why = dr_secret_problem(s)) != NULL) {
			fprintf(stderr, "drover: secret \"%s\": %s\n", s->name,
			        why);
			free(why);
			close(fd);
			return DR_EINVAL;
		}
		r = read_small(fd, DR_SECRET_MAX, &v, &len);
		close(fd);
		if (r != 0) {
			fprintf(stderr, "drover: secret \"%s\": %s: %s\n",
			        s->name, s->file,
			        r == DR_EINVAL ? "too large" : strerror(errno));
			return DR_EINVAL;
		}
		while (len > 0 && (v[len - 1] == '\n' || v[len - 1] == '\r'))
			v[--len] = '\0';
	}
	if (memchr(v, '\n', len) != NULL || strlen(v) != len) {
		fprintf(stderr,
		        "drover: secret \"%s\": holds a newline or a NUL "
		        "byte; secrets are passed one per line\n",
		        s->name);
		memset(v, 0, len);
		free(v);
		return DR_EINVAL;
	}
	*out = v;
	return 0;
}

int
dr_secrets_resolve(const struct dr_graph *g, struct dr_secret_value **out,
                   size_t *n)
{
	const struct dr_plan *p = g->plan;
	struct dr_secret_value *v;
	bool *used = dr_xcalloc(p->nsecrets + 1, sizeof(bool));
	size_t i, j, k = 0;
	int r = 0;

	for (i = 0; i < g->ntasks; i++)
		for (j = 0; j < g->tasks[i].nsecrets; j++)
			for (k = 0; k < p->nsecrets; k++)
				if (strcmp(p->secrets[k].name,
				           g->tasks[i].secret_names[j]) == 0)
					used[k] = true;
	v = dr_xcalloc(p->nsecrets + 1, sizeof(*v));
	*n = 0;
	for (k = 0; k < p->nsecrets; k++) {
		if (!used[k])
			continue;
		v[*n].name = p->secrets[k].name;
		if (secret_value(&p->secrets[k], &v[*n].value) != 0) {
			r = DR_EINVAL;
			continue;
		}
		(*n)++;
	}
	free(used);
	if (r != 0) {
		dr_secrets_free(v, *n);
		*n = 0;
		return r;
	}
	*out = v;
	return 0;
}

void
dr_secrets_free(struct dr_secret_value *v, size_t n)
{
	size_t i;

	if (v == NULL)
		return;
	for (i = 0; i < n; i++) {
		memset(v[i].value, 0, strlen(v[i].value));
		free(v[i].value);
	}
	free(v);
}
