/*
 * test_metrics.c: the Prometheus textfile of a run, from report objects built
 * in memory, checked by a strict parser of the text exposition format
 * (version 0.0.4) written here: metric and label names, label value escapes,
 * sample values, HELP/TYPE placement, contiguous families, no duplicate
 * series. The parser itself is tested against broken inputs first.
 */
#include <dirent.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "drover/common.h"
#include "drover/metrics.h"

/* ------------------------------------------------------------------ */
/* A strict parser of the text exposition format.                      */

#define MAXLABELS 16

struct label {
	char *name;
	char *value; /* unescaped */
};

struct psample {
	char *name;
	struct label labels[MAXLABELS];
	size_t nlabels;
	double value;
	char *key; /* name{sorted labels}, for duplicate detection */
};

struct pfamily {
	char *name;
	char *type; /* NULL until a TYPE line */
	bool help;
	bool has_samples;
	bool closed; /* another family's lines came after its samples */
};

struct parsed {
	struct psample *s;
	size_t n;
	struct pfamily *f;
	size_t nf;
	char err[256];
};

static bool
name_start(char c, bool colon)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
	       (colon && c == ':');
}

static bool
name_char(char c, bool colon)
{
	return name_start(c, colon) || (c >= '0' && c <= '9');
}

/* Reads a metric name (colon) or label name at *p; NULL when invalid. */
static char *
read_name(const char **p, bool colon)
{
	const char *s = *p;

	if (!name_start(*s, colon))
		return NULL;
	while (name_char(*s, colon))
		s++;
	{
		char *n = dr_xstrndup(*p, (size_t)(s - *p));
		*p = s;
		return n;
	}
}

/* Go's ParseFloat as Prometheus accepts it, restricted to what is sane. */
static bool
read_value(const char *s, size_t len, double *v)
{
	char buf[64];
	size_t i = 0;
	bool digits = false;

	if (len == 0 || len >= sizeof(buf))
		return false;
	memcpy(buf, s, len);
	buf[len] = '\0';
	if (strcmp(buf, "NaN") == 0 || strcmp(buf, "+Inf") == 0 ||
	    strcmp(buf, "-Inf") == 0) {
		*v = strtod(buf[0] == 'N' ? "nan" : buf, NULL);
		return true;
	}
	if (buf[i] == '+' || buf[i] == '-')
		i++;
	while (buf[i] >= '0' && buf[i] <= '9')
		i++, digits = true;
	if (buf[i] == '.') {
		i++;
		while (buf[i] >= '0' && buf[i] <= '9')
			i++, digits = true;
	}
	if (!digits)
		return false;
	if (buf[i] == 'e' || buf[i] == 'E') {
		bool ed = false;
		i++;
		if (buf[i] == '+' || buf[i] == '-')
			i++;
		while (buf[i] >= '0' && buf[i] <= '9')
			i++, ed = true;
		if (!ed)
			return false;
	}
	if (buf[i] != '\0')
		return false;
	*v = strtod(buf, NULL);
	return true;
}

static struct pfamily *
family_get(struct parsed *P, const char *name, bool create)
{
	size_t i;

	for (i = 0; i < P->nf; i++)
		if (strcmp(P->f[i].name, name) == 0)
			return &P->f[i];
	if (!create)
		return NULL;
	P->f = dr_xrealloc(P->f, (P->nf + 1) * sizeof(*P->f));
	memset(&P->f[P->nf], 0, sizeof(*P->f));
	P->f[P->nf].name = dr_xstrdup(name);
	return &P->f[P->nf++];
}

/* The family a sample name belongs to (histogram/summary suffixes). */
static struct pfamily *
family_of(struct parsed *P, const char *name)
{
	static const char *const suffixes[] = {"_bucket", "_sum", "_count"};
	size_t i, n = strlen(name);

	for (i = 0; i < 3; i++) {
		size_t k = strlen(suffixes[i]);
		if (n > k && strcmp(name + n - k, suffixes[i]) == 0) {
			char *base = dr_xstrndup(name, n - k);
			struct pfamily *f = family_get(P, base, false);
			free(base);
			if (f && f->type &&
			    (strcmp(f->type, "histogram") == 0 ||
			     strcmp(f->type, "summary") == 0))
				return f;
		}
	}
	return family_get(P, name, true);
}

static int
cmp_label(const void *a, const void *b)
{
	return strcmp(((const struct label *)a)->name,
	              ((const struct label *)b)->name);
}

#define FAIL(...)                                                              \
	do {                                                                   \
		snprintf(P->err, sizeof(P->err), __VA_ARGS__);                 \
		goto bad;                                                      \
	} while (0)

/* Index of the family of the last line seen, or -1 (P->f moves). */
static long current = -1;

/* Switches the current family; the one left is closed if it had samples. */
static void
enter(struct parsed *P, struct pfamily *f)
{
	long i = (long)(f - P->f);

	if (current >= 0 && current != i && P->f[current].has_samples)
		P->f[current].closed = true;
	current = i;
}

static int
parse_sample(struct parsed *P, const char *line, size_t lineno)
{
	const char *p = line, *v;
	struct psample s;
	struct pfamily *f;
	struct dr_buf key;
	size_t i;

	memset(&s, 0, sizeof(s));
	if ((s.name = read_name(&p, true)) == NULL)
		FAIL("line %zu: bad metric name", lineno);
	if (*p == '{') {
		p++;
		while (*p != '}') {
			struct dr_buf val;
			if (s.nlabels == MAXLABELS)
				FAIL("line %zu: too many labels", lineno);
			if ((s.labels[s.nlabels].name = read_name(&p, false)) ==
			    NULL)
				FAIL("line %zu: bad label name", lineno);
			s.nlabels++;
			if (strncmp(s.labels[s.nlabels - 1].name, "__", 2) == 0)
				FAIL("line %zu: reserved label name", lineno);
			if (*p++ != '=' || *p++ != '"')
				FAIL("line %zu: want =\" after a label name",
				     lineno);
			dr_buf_init(&val, 0);
			while (*p != '"') {
				if (*p == '\0') {
					dr_buf_free(&val);
					FAIL("line %zu: unterminated label "
					     "value",
					     lineno);
				}
				if (*p == '\\') {
					p++;
					if (*p == '\\' || *p == '"')
						dr_buf_append(&val, p, 1);
					else if (*p == 'n')
						dr_buf_puts(&val, "\n");
					else {
						dr_buf_free(&val);
						FAIL("line %zu: bad escape "
						     "\\%c",
						     lineno, *p);
					}
					p++;
					continue;
				}
				dr_buf_append(&val, p++, 1);
			}
			p++;
			s.labels[s.nlabels - 1].value = dr_buf_steal(&val);
			if (*p == ',')
				p++;
			else if (*p != '}')
				FAIL("line %zu: want , or } after a label "
				     "value",
				     lineno);
			if (*p == '}' && p[-1] == ',')
				FAIL("line %zu: trailing comma", lineno);
		}
		p++;
	}
	if (*p != ' ')
		FAIL("line %zu: want one space before the value", lineno);
	p++;
	v = p;
	while (*p && *p != ' ')
		p++;
	if (!read_value(v, (size_t)(p - v), &s.value))
		FAIL("line %zu: bad value \"%.*s\"", lineno, (int)(p - v), v);
	if (*p != '\0')
		FAIL("line %zu: timestamps are refused by the textfile "
		     "collector, or trailing text",
		     lineno);
	qsort(s.labels, s.nlabels, sizeof(s.labels[0]), cmp_label);
	dr_buf_init(&key, 0);
	dr_buf_printf(&key, "%s{", s.name);
	for (i = 0; i < s.nlabels; i++) {
		if (i > 0 &&
		    strcmp(s.labels[i].name, s.labels[i - 1].name) == 0) {
			dr_buf_free(&key);
			FAIL("line %zu: label %s repeated", lineno,
			     s.labels[i].name);
		}
		dr_buf_printf(&key, "%s=%zu:%s,", s.labels[i].name,
		              strlen(s.labels[i].value), s.labels[i].value);
	}
	dr_buf_puts(&key, "}");
	s.key = dr_buf_steal(&key);
	for (i = 0; i < P->n; i++)
		if (strcmp(P->s[i].key, s.key) == 0)
			FAIL("line %zu: duplicate series %s", lineno, s.name);
	f = family_of(P, s.name);
	if (f->closed)
		FAIL("line %zu: samples of %s are not contiguous", lineno,
		     f->name);
	if (f->type == NULL || !f->help)
		FAIL("line %zu: sample of %s before its HELP and TYPE", lineno,
		     f->name);
	enter(P, f);
	f->has_samples = true;
	P->s = dr_xrealloc(P->s, (P->n + 1) * sizeof(*P->s));
	P->s[P->n++] = s;
	return 0;
bad:
	free(s.name);
	free(s.key);
	for (i = 0; i < s.nlabels; i++) {
		free(s.labels[i].name);
		free(s.labels[i].value);
	}
	return -1;
}

static int
parse_comment(struct parsed *P, const char *line, size_t lineno)
{
	const char *p = line + 1;
	bool help;
	char *name = NULL;
	struct pfamily *f;

	if (strncmp(p, " HELP ", 6) == 0)
		help = true;
	else if (strncmp(p, " TYPE ", 6) == 0)
		help = false;
	else
		return 0; /* a plain comment */
	p += 6;
	if ((name = read_name(&p, true)) == NULL)
		FAIL("line %zu: bad name in HELP/TYPE", lineno);
	if (*p != ' ')
		FAIL("line %zu: want a space after the name", lineno);
	p++;
	f = family_get(P, name, true);
	if (f->has_samples)
		FAIL("line %zu: %s of %s after its samples", lineno,
		     help ? "HELP" : "TYPE", name);
	enter(P, f);
	if (help) {
		if (f->help)
			FAIL("line %zu: second HELP for %s", lineno, name);
		for (; *p; p++)
			if (*p == '\\' && p[1] != '\\' && p[1] != 'n')
				FAIL("line %zu: bad escape in HELP", lineno);
			else if (*p == '\\')
				p++;
		f->help = true;
	} else {
		if (f->type)
			FAIL("line %zu: second TYPE for %s", lineno, name);
		if (strcmp(p, "counter") && strcmp(p, "gauge") &&
		    strcmp(p, "histogram") && strcmp(p, "summary") &&
		    strcmp(p, "untyped"))
			FAIL("line %zu: bad type \"%s\"", lineno, p);
		f->type = dr_xstrdup(p);
	}
	free(name);
	return 0;
bad:
	free(name);
	return -1;
}

#undef FAIL

static void
parsed_free(struct parsed *P)
{
	size_t i, j;

	for (i = 0; i < P->n; i++) {
		free(P->s[i].name);
		free(P->s[i].key);
		for (j = 0; j < P->s[i].nlabels; j++) {
			free(P->s[i].labels[j].name);
			free(P->s[i].labels[j].value);
		}
	}
	for (i = 0; i < P->nf; i++) {
		free(P->f[i].name);
		free(P->f[i].type);
	}
	free(P->s);
	free(P->f);
	memset(P, 0, sizeof(*P));
}

/*
 * Parses text; returns 0, or -1 with P->err. Beyond the format, requires
 * what the drover file promises: a trailing newline, no blank lines, HELP
 * and TYPE for every family, all of type gauge, names prefixed with prefix.
 */
static int
parse(const char *text, const char *prefix, struct parsed *P)
{
	const char *p = text;
	size_t lineno = 0, i;

	memset(P, 0, sizeof(*P));
	current = -1;
	if (*text == '\0' || text[strlen(text) - 1] != '\n') {
		snprintf(P->err, sizeof(P->err), "no trailing newline");
		return -1;
	}
	while (*p) {
		const char *eol = strchr(p, '\n');
		char *line = dr_xstrndup(p, (size_t)(eol - p));
		int r;

		lineno++;
		if (*line == '\0') {
			snprintf(P->err, sizeof(P->err), "line %zu: blank",
			         lineno);
			r = -1;
		} else if (*line == '#') {
			r = parse_comment(P, line, lineno);
		} else {
			r = parse_sample(P, line, lineno);
		}
		free(line);
		if (r != 0)
			return -1;
		p = eol + 1;
	}
	for (i = 0; i < P->nf; i++) {
		if (!P->f[i].help || !P->f[i].type) {
			snprintf(P->err, sizeof(P->err),
			         "%s lacks HELP or TYPE", P->f[i].name);
			return -1;
		}
		if (prefix &&
		    (strcmp(P->f[i].type, "gauge") != 0 ||
		     strncmp(P->f[i].name, prefix, strlen(prefix)) != 0)) {
			snprintf(P->err, sizeof(P->err), "%s: not a %s* gauge",
			         P->f[i].name, prefix);
			return -1;
		}
	}
	return 0;
}

/*
 * The sample of name whose labels are exactly the given name, value pairs
 * (NULL-terminated); NULL when absent.
 */
static const struct psample *
vfind(const struct parsed *P, const char *name, va_list args)
{
	size_t i, j;

	for (i = 0; i < P->n; i++) {
		const struct psample *s = &P->s[i];
		va_list ap;
		const char *k;
		size_t n = 0;
		bool ok = strcmp(s->name, name) == 0;

		va_copy(ap, args);
		while (ok && (k = va_arg(ap, const char *)) != NULL) {
			const char *v = va_arg(ap, const char *);
			n++;
			for (j = 0; j < s->nlabels; j++)
				if (strcmp(s->labels[j].name, k) == 0)
					break;
			ok = j < s->nlabels &&
			     strcmp(s->labels[j].value, v) == 0;
		}
		va_end(ap);
		if (ok && n == s->nlabels)
			return s;
	}
	return NULL;
}

static const struct psample *
find(const struct parsed *P, const char *name, ...)
{
	const struct psample *s;
	va_list ap;

	va_start(ap, name);
	s = vfind(P, name, ap);
	va_end(ap);
	return s;
}

/* The value of a sample that must exist. */
static double
value(const struct parsed *P, const char *name, ...)
{
	const struct psample *s;
	va_list ap;

	va_start(ap, name);
	s = vfind(P, name, ap);
	va_end(ap);
	if (s == NULL) {
		print_error("no sample %s with these labels\n", name);
		fail();
	}
	return s->value;
}

static size_t
count(const struct parsed *P, const char *name)
{
	size_t i, n = 0;

	for (i = 0; i < P->n; i++)
		n += strcmp(P->s[i].name, name) == 0;
	return n;
}

#define VALUE(P, ...) value(P, __VA_ARGS__, NULL)

static void
assert_parses(const char *text, const char *prefix, struct parsed *P)
{
	if (parse(text, prefix, P) != 0) {
		print_error("%s\n--- text:\n%s", P->err, text);
		fail();
	}
}

static void
assert_rejected(const char *text, const char *why)
{
	struct parsed P;

	if (parse(text, NULL, &P) == 0) {
		print_error("accepted (%s):\n%s", why, text);
		fail();
	}
	parsed_free(&P);
}

/* ------------------------------------------------------------------ */

#define HDR(n) "# HELP " n " h\n# TYPE " n " gauge\n"

static void
test_parser_accepts(void **state)
{
	struct parsed P;

	assert_parses(HDR("a") "a 1\n" HDR("b:c") "b:c{x=\"q\\\"\\\\\\n\"} "
	                                          "NaN\nb:c{x=\"\"} -Inf\n"
	                                          "# a plain comment\n" HDR(
	                                              "d") "d{a=\"1\",b=\"2\"} "
	                                                   "1.5e3\n",
	              NULL, &P);
	assert_int_equal(P.n, 4);
	assert_string_equal(find(&P, "b:c", "x", "q\"\\\n", NULL)->name, "b:c");
	assert_true(find(&P, "d", "b", "2", "a", "1", NULL)->value == 1500.0);
	parsed_free(&P);
}

static void
test_parser_rejects(void **state)
{
	assert_rejected(HDR("a") "a 1", "no trailing newline");
	assert_rejected(HDR("a") "a 1\n\n", "blank line");
	assert_rejected(HDR("1a") "1a 1\n", "bad metric name");
	assert_rejected(HDR("a") "a{1x=\"\"} 1\n", "bad label name");
	assert_rejected(HDR("a") "a{__x=\"\"} 1\n", "reserved label");
	assert_rejected(HDR("a") "a{x=\"\\t\"} 1\n", "bad escape");
	assert_rejected(HDR("a") "a{x=\"1\",} 1\n", "trailing comma");
	assert_rejected(HDR("a") "a{x=\"1\",x=\"2\"} 1\n", "label twice");
	assert_rejected(HDR("a") "a{x=\"1} 1\n", "unterminated value");
	assert_rejected(HDR("a") "a one\n", "bad value");
	assert_rejected(HDR("a") "a nan\n", "lower-case nan");
	assert_rejected(HDR("a") "a 1 1700000000000\n", "timestamp");
	assert_rejected(HDR("a") "a 1\na 2\n", "duplicate series");
	assert_rejected(HDR("a") "a{x=\"1\",y=\"2\"} 1\na{y=\"2\",x=\"1\"} 1\n",
	                "duplicate series, labels reordered");
	assert_rejected("a 1\n", "no HELP/TYPE");
	assert_rejected("# HELP a h\na 1\n# TYPE a gauge\n",
	                "TYPE after samples");
	assert_rejected(HDR("a") "# TYPE a gauge\na 1\n", "second TYPE");
	assert_rejected(HDR("a") "# HELP a again\na 1\n", "second HELP");
	assert_rejected(HDR("a") "# TYPE a gaug\n", "bad type");
	assert_rejected(HDR("a") "a{x=\"1\"} 1\n" HDR("b") "b 1\na{x=\"2\"} "
	                                                   "1\n",
	                "family not contiguous");
	assert_rejected(HDR("a") "a 1\n" HDR("a") "a{x=\"1\"} 1\n",
	                "family repeated");
	assert_rejected("# HELP a bad \\t escape\n# TYPE a gauge\na 1\n",
	                "bad HELP escape");
}

/* ------------------------------------------------------------------ */
/* Reports.                                                            */

static json_t *
svc(const char *service, const char *tenant, long long rto, bool recovered,
    long long recovery, bool met)
{
	json_t *o = json_pack("{s:s, s:s?, s:i}", "service", service, "tenant",
	                      tenant, "tier", 1);

	json_object_set_new(o, "rto_ms", rto ? json_integer(rto) : json_null());
	json_object_set_new(o, "recovered", json_boolean(recovered));
	json_object_set_new(o, "recovered_at", json_null());
	json_object_set_new(o, "recovery_ms",
	                    recovered ? json_integer(recovery) : json_null());
	json_object_set_new(o, "rto_met", json_boolean(met));
	return o;
}

static json_t *
task(const char *state)
{
	return json_pack("{s:s, s:s, s:s}", "key", "k", "service", "s", "state",
	                 state);
}

/*
 * A report: plan, mode, state; 1h02m03.456s long, ended at
 * 2026-11-22T11:02:03.456Z (1795345323.456).
 */
static json_t *
report(const char *plan, const char *mode, const char *state,
       const char *tenant)
{
	json_t *r = json_pack(
	    "{s:s, s:s, s:s, s:s, s:[s], s:s, s:s, s:s, s:s, s:I}", "run_id",
	    "20261122T100000Z-x-0001", "plan", plan, "plan_file", "/p.cfg",
	    "mode", mode, "from", "milan", "to", "torino", "state", state,
	    "started_at", "2026-11-22T10:00:00.000Z", "ended_at",
	    "2026-11-22T11:02:03.456Z", "duration_ms", (json_int_t)3723456);
	json_t *tasks = json_array(), *svcs = json_array();

	json_array_append_new(tasks, task("succeeded"));
	json_array_append_new(tasks, task("succeeded"));
	json_array_append_new(tasks, task("succeeded"));
	json_array_append_new(tasks, task("failed"));
	json_array_append_new(tasks, task("skipped"));
	json_object_set_new(r, "tasks", tasks);
	json_array_append_new(svcs, svc("fence", NULL, 0, true, 2500, true));
	json_array_append_new(
	    svcs, svc("payroll", tenant, 8 * 3600000LL, true, 12100, true));
	json_array_append_new(svcs,
	                      svc("payroll", "comune-bergamo", 8 * 3600000LL,
	                          true, 9 * 3600000LL, false));
	json_array_append_new(svcs,
	                      svc("anagrafe", tenant, 60000, false, 0, false));
	json_object_set_new(r, "services", svcs);
	return r;
}

static char *
render(const json_t *r, const char *previous)
{
	char *text = NULL;

	assert_int_equal(dr_metrics_render(r, previous, &text), 0);
	assert_non_null(text);
	return text;
}

static void
test_drill_values(void **state)
{
	json_t *r =
	    report("pa-recovery", "drill", "succeeded", "comune-brescia");
	char *text = render(r, NULL);
	struct parsed P;
	const char *pl = "pa-recovery", *bs = "comune-brescia";

	assert_parses(text, "drover_drill_", &P);
	assert_true(VALUE(&P, "drover_drill_last_success", "plan", pl) == 1);
	assert_true(VALUE(&P, "drover_drill_duration_seconds", "plan", pl) ==
	            3723.456);
	assert_true(VALUE(&P, "drover_drill_last_run_timestamp_seconds", "plan",
	                  pl) == 1795345323.456);
	assert_true(VALUE(&P, "drover_drill_last_success_timestamp_seconds",
	                  "plan", pl) == 1795345323.456);
	assert_true(VALUE(&P, "drover_drill_last_run_info", "plan", pl, "run",
	                  "20261122T100000Z-x-0001", "to", "torino", "state",
	                  "succeeded") == 1);
	/* Tasks by state: every known state, zeros included. */
	assert_true(VALUE(&P, "drover_drill_tasks", "plan", pl, "state",
	                  "succeeded") == 3);
	assert_true(VALUE(&P, "drover_drill_tasks", "plan", pl, "state",
	                  "failed") == 1);
	assert_true(VALUE(&P, "drover_drill_tasks", "plan", pl, "state",
	                  "skipped") == 1);
	assert_true(VALUE(&P, "drover_drill_tasks", "plan", pl, "state",
	                  "indeterminate") == 0);
	assert_int_equal(count(&P, "drover_drill_tasks"), 9);
	/* Services: global ones carry tenant="". */
	assert_true(VALUE(&P, "drover_drill_service_recovery_seconds", "plan",
	                  pl, "service", "fence", "tenant", "") == 2.5);
	assert_true(VALUE(&P, "drover_drill_service_recovery_seconds", "plan",
	                  pl, "service", "payroll", "tenant", bs) == 12.1);
	assert_true(VALUE(&P, "drover_drill_service_rto_seconds", "plan", pl,
	                  "service", "payroll", "tenant", bs) == 28800);
	assert_true(VALUE(&P, "drover_drill_service_rto_met", "plan", pl,
	                  "service", "payroll", "tenant", bs) == 1);
	assert_true(VALUE(&P, "drover_drill_service_rto_met", "plan", pl,
	                  "service", "payroll", "tenant",
	                  "comune-bergamo") == 0);
	assert_true(VALUE(&P, "drover_drill_service_recovery_seconds", "plan",
	                  pl, "service", "payroll", "tenant",
	                  "comune-bergamo") == 32400);
	/* Not recovered: recovered 0, rto_met 0, no recovery series. */
	assert_true(VALUE(&P, "drover_drill_service_recovered", "plan", pl,
	                  "service", "anagrafe", "tenant", bs) == 0);
	assert_true(VALUE(&P, "drover_drill_service_rto_met", "plan", pl,
	                  "service", "anagrafe", "tenant", bs) == 0);
	assert_null(find(&P, "drover_drill_service_recovery_seconds", "plan",
	                 pl, "service", "anagrafe", "tenant", bs, NULL));
	assert_int_equal(count(&P, "drover_drill_service_recovery_seconds"), 3);
	assert_int_equal(count(&P, "drover_drill_service_recovered"), 4);
	/* No RTO, no RTO series (fence). */
	assert_null(find(&P, "drover_drill_service_rto_seconds", "plan", pl,
	                 "service", "fence", "tenant", "", NULL));
	assert_int_equal(count(&P, "drover_drill_service_rto_seconds"), 3);
	parsed_free(&P);
	free(text);
	json_decref(r);
}

static void
test_failover_failed(void **state)
{
	json_t *r = report("pa", "failover", "failed", "bs");
	char *text = render(r, NULL);
	struct parsed P;

	assert_parses(text, "drover_failover_", &P);
	assert_null(strstr(text, "drover_drill"));
	assert_true(VALUE(&P, "drover_failover_last_success", "plan", "pa") ==
	            0);
	/* Never succeeded as far as anyone knows: 0. */
	assert_true(VALUE(&P, "drover_failover_last_success_timestamp_seconds",
	                  "plan", "pa") == 0);
	assert_true(VALUE(&P, "drover_failover_last_run_info", "plan", "pa",
	                  "run", "20261122T100000Z-x-0001", "to", "torino",
	                  "state", "failed") == 1);
	parsed_free(&P);
	free(text);
	json_decref(r);
}

static void
test_escaping(void **state)
{
	const char *plan = "we\"ird\\plan\nx", *tenant = "co\"mune\\\nb";
	json_t *r = report(plan, "drill", "succeeded", tenant);
	char *text = render(r, NULL);
	struct parsed P;

	assert_parses(text, "drover_drill_", &P);
	assert_non_null(strstr(text, "plan=\"we\\\"ird\\\\plan\\nx\""));
	assert_true(VALUE(&P, "drover_drill_last_success", "plan", plan) == 1);
	assert_true(VALUE(&P, "drover_drill_service_recovery_seconds", "plan",
	                  plan, "service", "payroll", "tenant",
	                  tenant) == 12.1);
	/* Every sample line is one line: no raw newline inside a value. */
	assert_int_equal(count(&P, "drover_drill_service_recovered"), 4);
	parsed_free(&P);
	free(text);
	json_decref(r);
}

static void
test_duplicates_and_bad_input(void **state)
{
	json_t *r = report("pa", "drill", "succeeded", "bs");
	char *text = NULL;
	struct parsed P;

	/* The same (service, tenant) twice: one series. */
	json_array_append_new(json_object_get(r, "services"),
	                      svc("payroll", "bs", 0, true, 1, true));
	/* An unknown task state is counted too. */
	json_array_append_new(json_object_get(r, "tasks"), task("weird"));
	text = render(r, NULL);
	assert_parses(text, "drover_drill_", &P);
	assert_int_equal(count(&P, "drover_drill_service_recovered"), 4);
	assert_true(VALUE(&P, "drover_drill_tasks", "plan", "pa", "state",
	                  "weird") == 1);
	parsed_free(&P);
	free(text);

	json_object_set_new(r, "mode", json_string("rehearsal"));
	assert_int_equal(dr_metrics_render(r, NULL, &text), DR_EINVAL);
	assert_null(text);
	json_object_del(r, "mode");
	assert_int_equal(dr_metrics_render(r, NULL, &text), DR_EINVAL);
	json_object_set_new(r, "mode", json_string("drill"));
	json_object_del(r, "plan");
	assert_int_equal(dr_metrics_render(r, NULL, &text), DR_EINVAL);
	json_decref(r);
}

static char *
slurp(const char *path)
{
	FILE *f = fopen(path, "r");
	char *buf;
	long n;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	buf = dr_xmalloc((size_t)n + 1);
	assert_int_equal(fread(buf, 1, (size_t)n, f), (size_t)n);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static size_t
dir_entries(const char *dir)
{
	DIR *d = opendir(dir);
	struct dirent *e;
	size_t n = 0;

	assert_non_null(d);
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

static void
test_write_atomic(void **state)
{
	char dir[] = "/tmp/drover-metrics.XXXXXX";
	char *path, *text, *want;
	json_t *ok = report("pa", "drill", "succeeded", "bs");
	json_t *bad = report("pa", "drill", "failed", "bs");
	struct parsed P;
	struct stat st;
	ino_t first;

	assert_non_null(mkdtemp(dir));
	path = dr_xasprintf("%s/drover-pa.prom", dir);

	assert_int_equal(dr_metrics_write(ok, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_int_equal(st.st_mode & 07777, 0644); /* node_exporter reads it */
	first = st.st_ino;
	assert_int_equal(dir_entries(dir), 1);

	/* A failed drill later: replaced by rename, success time kept. */
	json_object_set_new(bad, "ended_at",
	                    json_string("2026-11-29T03:00:00Z"));
	assert_int_equal(dr_metrics_write(bad, path), 0);
	assert_int_equal(stat(path, &st), 0);
	assert_true(st.st_ino != first);
	assert_int_equal(dir_entries(dir), 1);
	text = slurp(path);
	want = render(bad, "");
	assert_parses(text, "drover_drill_", &P);
	assert_true(VALUE(&P, "drover_drill_last_success", "plan", "pa") == 0);
	assert_true(VALUE(&P, "drover_drill_last_run_timestamp_seconds", "plan",
	                  "pa") == 1795921200);
	assert_true(VALUE(&P, "drover_drill_last_success_timestamp_seconds",
	                  "plan", "pa") == 1795345323.456);
	parsed_free(&P);
	assert_string_not_equal(text, want); /* want has no carried success */
	free(want);
	free(text);

	/* A directory that does not exist: DR_EIO, nothing left behind. */
	{
		char *nowhere = dr_xasprintf("%s/no/such.prom", dir);
		assert_int_equal(dr_metrics_write(ok, nowhere), DR_EIO);
		free(nowhere);
	}
	assert_int_equal(dir_entries(dir), 1);

	unlink(path);
	rmdir(dir);
	free(path);
	json_decref(ok);
	json_decref(bad);
}

/* promtool's own linter, when Debian's prometheus package is installed. */
static void
test_promtool(void **state)
{
	char dir[] = "/tmp/drover-promtool.XXXXXX", *path, *cmd;
	json_t *r = report("pa\"x\\y\nz", "drill", "failed", "bs");
	int rc;

	if (access("/usr/bin/promtool", X_OK) != 0) {
		json_decref(r); /* the skip path frees what it made too */
		skip();
		return;
	}
	assert_non_null(mkdtemp(dir));
	path = dr_xasprintf("%s/m.prom", dir);
	assert_int_equal(dr_metrics_write(r, path), 0);
	cmd = dr_xasprintf("/usr/bin/promtool check metrics < %s", path);
	rc = system(cmd);
	assert_int_equal(rc, 0);
	unlink(path);
	rmdir(dir);
	free(cmd);
	free(path);
	json_decref(r);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_parser_accepts),
	    cmocka_unit_test(test_parser_rejects),
	    cmocka_unit_test(test_drill_values),
	    cmocka_unit_test(test_failover_failed),
	    cmocka_unit_test(test_escaping),
	    cmocka_unit_test(test_duplicates_and_bad_input),
	    cmocka_unit_test(test_write_atomic),
	    cmocka_unit_test(test_promtool),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
