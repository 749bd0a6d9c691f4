/*
 * scan.c: scripts that judge a restore point in its quarantine directory,
 * and the run's memory of judged points (see scan.h).
 */
#include "drover/scan.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"
#include "drover/time.h"

char *
dr_scan_qdir(const char *dst_path, const char *step_name)
{
	const char *slash = strrchr(dst_path, '/');
	const char *base = slash ? slash + 1 : dst_path;
	int dir = slash ? (int)(slash - dst_path) : 0;

	/* Named after the file it holds, so that the runbook prints one
	 * path for every tenant whose destination differs only by its
	 * values; a destination directory gets the step's name. */
	if (*base == '\0')
		base = step_name;
	if (slash == NULL)
		return dr_xasprintf(".drover-quarantine-%s", base);
	return dr_xasprintf("%.*s/.drover-quarantine-%s", dir, dst_path, base);
}

bool
dr_scan_wanted(const struct dr_plan *p, const struct dr_step *st)
{
	if (st->action != DR_ACT_COPY || st->copy.from.path == NULL ||
	    strchr(st->copy.from.path, '*') == NULL)
		return false;
	return st->copy.scan != NULL || p->nioc_names || p->nioc_extensions ||
	       p->nioc_sha256 || p->ioc_yara;
}

char *
dr_scan_template(const char *tmpl)
{
	struct dr_buf b;
	const char *p;

	dr_buf_init(&b, 0);
	for (p = tmpl; *p; p++) {
		if (p[0] == '{' && p[1] == '}') {
			dr_buf_puts(&b, "${scan.dir}");
			p++;
		} else {
			dr_buf_append(&b, p, 1);
		}
	}
	return dr_buf_steal(&b);
}

struct wrap {
	dr_sh_lookup_fn lookup;
	void *arg;
	const char *qdir;
};

static const char *
wrap_lookup(const char *name, bool *integer, void *arg)
{
	struct wrap *w = arg;

	if (strcmp(name, "scan.dir") == 0) {
		*integer = false;
		return w->qdir;
	}
	return w->lookup(name, integer, w->arg);
}

char *
dr_scan_script(const char *tmpl, const char *qdir, dr_sh_lookup_fn lookup,
               void *arg, char **why)
{
	struct wrap w = {lookup, arg, qdir};
	struct dr_sh sh;
	char *t = dr_scan_template(tmpl), *r = NULL;

	dr_sh_init(&sh, 0);
	dr_sh_text(&sh, "cd ");
	dr_sh_value(&sh, qdir);
	dr_sh_text(&sh, " || exit 3\n");
	if (dr_sh_code(&sh, t, wrap_lookup, &w, why) == 0) {
		if (sh.nsecrets) {
			*why = dr_xstrdup("a scan takes no secrets");
		} else {
			r = dr_sh_finish(&sh);
		}
	}
	dr_sh_free(&sh);
	free(t);
	return r;
}

/* for _dr_p in "${_dr_1}" ...; do */
static void
values(struct dr_sh *sh, const char *const *v, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		dr_sh_text(sh, " ");
		dr_sh_value(sh, v[i]);
	}
}

char *
dr_scan_ioc_script(const struct dr_plan *p, const char *qdir)
{
	struct dr_sh sh;
	char *r;

	if (!p->nioc_names && !p->nioc_extensions && !p->nioc_sha256 &&
	    !p->ioc_yara)
		return NULL;
	dr_sh_init(&sh, 0);
	dr_sh_text(&sh, "cd ");
	dr_sh_value(&sh, qdir);
	/* Archives are unpacked here, in the quarantine, to look at their
	 * files; a pg_dump archive is listed as SQL. Nothing leaves it. */
	dr_sh_text(
	    &sh, " || exit 3\n"
	         "u=.drover-unpacked; rm -rf \"$u\" && mkdir \"$u\" || exit 3\n"
	         "for f in *; do [ -f \"$f\" ] || continue\n"
	         "  if tar -tf \"$f\" >/dev/null 2>&1; then\n"
	         "    mkdir -p \"$u/$f.d\" && tar -xf \"$f\" -C \"$u/$f.d\" "
	         "--no-same-owner --no-same-permissions || exit 3\n"
	         "  elif command -v pg_restore >/dev/null 2>&1 && "
	         "pg_restore -l \"$f\" >/dev/null 2>&1; then\n"
	         "    pg_restore -f \"$u/$f.sql\" \"$f\" || exit 3\n"
	         "  fi\n"
	         "done\n"
	         "hits=.drover-findings; : >\"$hits\"\n");
	if (p->nioc_names) {
		dr_sh_text(&sh, "for n in");
		values(&sh, p->ioc_names, p->nioc_names);
		dr_sh_text(
		    &sh, "; do find . -name \"$n\" ! -path ./.drover-findings "
		         "| while IFS= read -r x; do "
		         "printf 'indicator: file name %s: %s\\n' \"$n\" "
		         "\"$x\"; done; done >>\"$hits\"\n");
	}
	if (p->nioc_extensions) {
		dr_sh_text(&sh, "for e in");
		values(&sh, p->ioc_extensions, p->nioc_extensions);
		dr_sh_text(&sh,
		           "; do find . -name \"*$e\" "
		           "| while IFS= read -r x; do "
		           "printf 'indicator: extension %s: %s\\n' \"$e\" "
		           "\"$x\"; done; done >>\"$hits\"\n");
	}
	if (p->nioc_sha256) {
		dr_sh_text(&sh,
		           "find . -type f ! -path ./.drover-findings -exec "
		           "sha256sum -- {} + | while read -r h x; do "
		           "case \"$h\" in ");
		for (size_t i = 0; i < p->nioc_sha256; i++) {
			if (i)
				dr_sh_text(&sh, "|");
			dr_sh_value(&sh, p->ioc_sha256[i]);
		}
		dr_sh_text(&sh, ") printf 'indicator: sha256 %s: %s\\n' \"$h\" "
		                "\"$x\";; esac; done >>\"$hits\"\n");
	}
	if (p->ioc_yara) {
		dr_sh_text(&sh, "command -v yara >/dev/null 2>&1 || "
		                "{ echo 'yara is not installed'; exit 3; }\n"
		                "y=$(yara -r ");
		dr_sh_value(&sh, p->ioc_yara);
		dr_sh_text(
		    &sh,
		    " . 2>&1) || { printf 'yara: %s\\n' \"$y\"; exit 3; }\n"
		    "[ -z \"$y\" ] || printf '%s\\n' \"$y\" | "
		    "while IFS= read -r x; do "
		    "printf 'indicator: yara rule %s\\n' \"$x\"; done "
		    ">>\"$hits\"\n");
	}
	dr_sh_text(&sh, "if [ -s \"$hits\" ]; then cat \"$hits\"; exit 1; fi\n"
	                "rm -f \"$hits\"; exit 0\n");
	r = dr_sh_finish(&sh);
	dr_sh_free(&sh);
	return r;
}

char *
dr_scan_finding(const char *output)
{
	const char *p = output ? output : "", *e;
	size_t n;

	while (*p == '\n' || *p == ' ' || *p == '\r')
		p++;
	e = strchr(p, '\n');
	n = e ? (size_t)(e - p) : strlen(p);
	if (n > 300)
		n = 300;
	if (n == 0)
		return dr_xstrdup("(the scan printed nothing)");
	{
		/* It goes into JSON records and reports: printable ASCII
		 * only, whatever the scanned files are named. */
		char *f = dr_xstrndup(p, n), *q;
		for (q = f; *q; q++)
			if ((unsigned char)*q < 0x20 ||
			    (unsigned char)*q > 0x7e)
				*q = '?';
		return f;
	}
}

/* ------------------------------------------------------------------ */

struct dr_verdicts {
	struct dr_verdict *v;
	size_t n, cap;
};

struct dr_verdicts *
dr_verdicts_new(void)
{
	return dr_xcalloc(1, sizeof(struct dr_verdicts));
}

static char *
dupn(const char *s)
{
	return s ? dr_xstrdup(s) : NULL;
}

void
dr_verdicts_free(struct dr_verdicts *vs)
{
	size_t i;

	if (vs == NULL)
		return;
	for (i = 0; i < vs->n; i++) {
		free((char *)vs->v[i].host);
		free((char *)vs->v[i].path);
		free((char *)vs->v[i].scan_id);
		free((char *)vs->v[i].finding);
		free((char *)vs->v[i].task);
	}
	free(vs->v);
	free(vs);
}

void
dr_verdicts_add(struct dr_verdicts *vs, const struct dr_verdict *v)
{
	void *p = vs->v;
	struct dr_verdict *d;

	dr_grow(&p, &vs->cap, vs->n + 1, sizeof(*vs->v));
	vs->v = p;
	d = &vs->v[vs->n++];
	*d = *v;
	d->host = dupn(v->host);
	d->path = dupn(v->path);
	d->scan_id = dupn(v->scan_id);
	d->finding = dupn(v->finding);
	d->task = dupn(v->task);
}

static bool
same(const char *a, const char *b)
{
	return a && b && strcmp(a, b) == 0;
}

const struct dr_verdict *
dr_verdicts_find(const struct dr_verdicts *vs, const char *host,
                 const char *path, uint64_t mtime_ms, const char *scan_id)
{
	const struct dr_verdict *clean = NULL;
	size_t i;

	for (i = 0; vs && i < vs->n; i++) {
		const struct dr_verdict *v = &vs->v[i];
		if (!same(v->host, host) || !same(v->path, path) ||
		    v->mtime_ms != mtime_ms)
			continue;
		if (v->infected)
			return v;
		if (same(v->scan_id, scan_id))
			clean = v;
	}
	return clean;
}

uint64_t
dr_verdicts_compromise(const struct dr_verdicts *vs)
{
	uint64_t t = 0;
	size_t i;

	for (i = 0; vs && i < vs->n; i++)
		if (vs->v[i].indicator && vs->v[i].mtime_ms &&
		    (t == 0 || vs->v[i].mtime_ms < t))
			t = vs->v[i].mtime_ms;
	return t;
}

static json_t *
js(const char *s)
{
	return s ? json_string(s) : json_null();
}

char *
dr_verdict_record(const struct dr_verdict *v)
{
	json_t *o = json_object();
	char *s;

	json_object_set_new(o, "type", json_string("verdict"));
	json_object_set_new(o, "task", js(v->task));
	json_object_set_new(o, "host", js(v->host));
	json_object_set_new(o, "backup", js(v->path));
	json_object_set_new(o, "backup_t",
	                    json_integer((json_int_t)v->mtime_ms));
	json_object_set_new(o, "scan", js(v->scan_id));
	json_object_set_new(o, "verdict",
	                    json_string(v->infected ? "infected" : "clean"));
	if (v->indicator)
		json_object_set_new(o, "indicator", json_true());
	if (v->finding)
		json_object_set_new(o, "finding", json_string(v->finding));
	json_object_set_new(o, "t", json_integer((json_int_t)dr_now_wall_ms()));
	s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(o);
	if (s == NULL) {
		fprintf(stderr, "drover: out of memory encoding a verdict\n");
		abort();
	}
	return s;
}

static const char *
jget(const json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

void
dr_verdicts_load(struct dr_verdicts *vs, const json_t *records)
{
	size_t i;
	const json_t *o;

	json_array_foreach(records, i, o)
	{
		struct dr_verdict v = {0};
		if (!same(jget(o, "type"), "verdict"))
			continue;
		v.task = jget(o, "task");
		v.host = jget(o, "host");
		v.path = jget(o, "backup");
		v.mtime_ms = (uint64_t)json_integer_value(
		    json_object_get(o, "backup_t"));
		v.scan_id = jget(o, "scan");
		v.infected = same(jget(o, "verdict"), "infected");
		v.indicator = json_is_true(json_object_get(o, "indicator"));
		v.finding = jget(o, "finding");
		if (v.host && v.path)
			dr_verdicts_add(vs, &v);
	}
}

char *
dr_scan_clean_before_record(uint64_t ms)
{
	json_t *o = json_pack("{s:s, s:I, s:I}", "type", "clean_before",
	                      "clean_before_t", (json_int_t)ms, "t",
	                      (json_int_t)dr_now_wall_ms());
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(o);
	if (s == NULL)
		abort();
	return s;
}
