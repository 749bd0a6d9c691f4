/* runs.c: the state directory and the index of its runs. */
#include "drover/runs.h"

#include <dirent.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/common.h"

#define ESTIMATE_MAX 20

char *
dr_state_dir(void)
{
	const char *d = getenv("DROVER_STATE_DIR");
	const char *x = getenv("XDG_STATE_HOME");
	const char *home = getenv("HOME");

	struct stat st;

	if (d && *d)
		return dr_xstrdup(d);
	/* A team's shared state: set up by the administrator (README
	 * "Shared state"), recognised by its setgid bit. */
	if (stat(DR_TEAM_STATE_DIR, &st) == 0 && S_ISDIR(st.st_mode) &&
	    (st.st_mode & S_ISGID) && access(DR_TEAM_STATE_DIR, X_OK) == 0)
		return dr_xstrdup(DR_TEAM_STATE_DIR);
	if (x && *x)
		return dr_xasprintf("%s/drover", x);
	return dr_xasprintf("%s/.local/state/drover", home ? home : "/tmp");
}

static int
newest_first(const void *a, const void *b)
{
	return strcmp(*(char *const *)b, *(char *const *)a);
}

void
dr_runs_list(const char *state_dir, struct dr_runs *out)
{
	char *runs = dr_xasprintf("%s/runs", state_dir);
	DIR *d = opendir(runs);
	struct dirent *e;
	size_t cap = 0;

	out->ids = NULL;
	out->n = 0;
	free(runs);
	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		void *p = out->ids;
		if (e->d_name[0] == '.')
			continue;
		dr_grow(&p, &cap, out->n + 1, sizeof(char *));
		out->ids = p;
		out->ids[out->n++] = dr_xstrdup(e->d_name);
	}
	closedir(d);
	if (out->n > 1)
		qsort(out->ids, out->n, sizeof(char *), newest_first);
}

void
dr_runs_free(struct dr_runs *r)
{
	size_t i;

	for (i = 0; i < r->n; i++)
		free(r->ids[i]);
	free(r->ids);
	r->ids = NULL;
	r->n = 0;
}

char *
dr_runs_dir(const char *state_dir, const char *id)
{
	return dr_xasprintf("%s/runs/%s", state_dir, id);
}

json_t *
dr_runs_report(const char *state_dir, const char *id)
{
	char *path = dr_xasprintf("%s/runs/%s/report.json", state_dir, id);
	json_t *r = json_load_file(path, 0, NULL);

	free(path);
	return r;
}

static bool
is(const json_t *o, const char *key, const char *want)
{
	const char *v = json_string_value(json_object_get(o, key));

	return v != NULL && strcmp(v, want) == 0;
}

static int
cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

	return x < y ? -1 : x > y;
}

void
dr_runs_estimate(const char *state_dir, const char *plan, const char *mode,
                 uint64_t *median_ms, size_t *nruns)
{
	struct dr_runs rs;
	uint64_t v[ESTIMATE_MAX];
	size_t i, k = 0;

	*median_ms = 0;
	*nruns = 0;
	dr_runs_list(state_dir, &rs);
	for (i = 0; i < rs.n && k < ESTIMATE_MAX; i++) {
		json_t *r = dr_runs_report(state_dir, rs.ids[i]);
		json_t *dur = json_object_get(r, "duration_ms");
		if (r && is(r, "plan", plan) && is(r, "mode", mode) &&
		    is(r, "state", "succeeded") && json_is_integer(dur) &&
		    json_integer_value(dur) >= 0)
			v[k++] = (uint64_t)json_integer_value(dur);
		json_decref(r);
	}
	dr_runs_free(&rs);
	if (k == 0)
		return;
	qsort(v, k, sizeof(v[0]), cmp_u64);
	*median_ms = k % 2 ? v[k / 2] : (v[k / 2 - 1] + v[k / 2]) / 2;
	*nruns = k;
}
