/*
 * fuzz_template.c: libFuzzer target for templates: the shell command
 * builder (shcmd.h) and plain-text expansion (template.h).
 *
 * The input is a template and a value, split at the first NUL or 0xff byte
 * (no split: the value is empty). Every reference resolves to the value,
 * except ${secret.*}, which the builder handles itself. Besides crashes,
 * leaks and undefined behaviour, it checks the builder's promise that a
 * value never becomes shell code (same_code()).
 *
 * Built twice: with libFuzzer (DROVER_FUZZ=ON, clang) and with replay.c as
 * a CTest test over the checked-in corpus and regression inputs.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"
#include "drover/shcmd.h"
#include "drover/template.h"

#define FUZZ_MAX_INPUT 65536

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static bool
is_integer(const char *v)
{
	return v[0] != '\0' && strspn(v, "0123456789") == strlen(v);
}

/* Counts the bytes of the names dr_tmpl_scan reports. */
static void
on_ref(const char *name, void *arg)
{
	size_t *n = arg;

	*n += strlen(name);
}

/* ---- every call into the template and command-builder API ---------- */
/*
 * Kept in this block (lookup, build, render_one) so that a change of that
 * API changes nothing else. Every name resolves to the value but secret.*;
 * a value of digits only is declared an integer, as a plan's integer var
 * would be.
 */
static const char *
lookup(const char *name, bool *integer, void *arg)
{
	const char *v = arg;

	if (strncmp(name, "secret.", 7) == 0)
		return NULL;
	*integer = is_integer(v);
	return v;
}

/*
 * Builds tmpl as a run step's command (word false) or as a script step's
 * argument (word true), as graph.c does. Returns the script (caller frees),
 * or NULL when the builder refuses the template.
 */
static char *
build(const char *tmpl, const char *value, unsigned flags, bool word)
{
	struct dr_sh sh;
	char *why = NULL, *script = NULL;
	int rc;

	dr_sh_init(&sh, flags);
	if (word) {
		dr_sh_text(&sh, "sh -s -- ");
		rc = dr_sh_word(&sh, tmpl, lookup, (void *)value, &why);
		dr_sh_text(&sh, " ");
		dr_sh_value(&sh, value);
	} else {
		rc = dr_sh_code(&sh, tmpl, lookup, (void *)value, &why);
	}
	free(why);
	if (rc == 0)
		script = dr_sh_finish(&sh);
	dr_sh_free(&sh);
	return script;
}

static void
quote(struct dr_buf *b, const char *s)
{
	dr_sh_quote(b, s);
}

/*
 * Validation's check, plain-text expansion (paths, URLs) and its check as a
 * probe target, and the reference scanner.
 */
static void
render_one(const char *tmpl, const char *value)
{
	struct dr_buf out;
	char *why = NULL;
	size_t n = 0;

	dr_sh_check(tmpl, lookup, (void *)value, &why);
	free(why);
	why = NULL;
	dr_buf_init(&out, 0);
	if (dr_tmpl_expand(tmpl, lookup, (void *)value, &out, &why) == 0)
		dr_tmpl_bad_target(out.data ? out.data : "");
	free(why);
	dr_buf_free(&out);
	dr_tmpl_scan(tmpl, on_ref, &n);
}

/* ---- end of the API calls -------------------------------------------- */

/* s with every occurrence of from replaced by to; caller frees. */
static char *
replace_all(const char *s, const char *from, const char *to)
{
	struct dr_buf b;
	const char *p;
	size_t n = strlen(from);

	dr_buf_init(&b, 0);
	while ((p = strstr(s, from)) != NULL) {
		dr_buf_append(&b, s, (size_t)(p - s));
		dr_buf_puts(&b, to);
		s = p + n;
	}
	dr_buf_puts(&b, s);
	return dr_buf_steal(&b);
}

static void
oracle_failed(const char *what, const char *tmpl, const char *value,
              const char *a, const char *b)
{
	fprintf(stderr,
	        "fuzz_template: %s\n--- template:\n%s\n--- value:\n%s\n"
	        "--- script with the value:\n%s\n--- script with the "
	        "other value:\n%s\n",
	        what, tmpl, value, a ? a : "(refused)", b ? b : "(refused)");
	abort();
}

/*
 * The builder's promise: a value never becomes shell code. So the script
 * cannot depend on a value's text, only on its declaration: built with
 * another value of the same kind, the template is accepted or refused
 * alike, and the two scripts differ only in the quoted assignments of the
 * values. (Checked when the value's quoted form does not also appear in
 * the template's own text.)
 */
static void
same_code(const char *tmpl, const char *value, unsigned flags, bool word)
{
	const char *other = is_integer(value) ? "7" : "x";
	char *a = build(tmpl, value, flags, word);
	char *b = build(tmpl, other, flags, word);
	struct dr_buf qa, qb;

	if ((a == NULL) != (b == NULL))
		oracle_failed("accepted with one value, refused with another "
		              "of the same kind",
		              tmpl, value, a, b);
	dr_buf_init(&qa, 0);
	dr_buf_init(&qb, 0);
	quote(&qa, value);
	quote(&qb, other);
	if (a && b && strstr(b, qa.data) == NULL) {
		char *a2 = replace_all(a, qa.data, qb.data);
		if (strcmp(a2, b) != 0)
			oracle_failed("the script depends on the value's text",
			              tmpl, value, a, b);
		free(a2);
	}
	dr_buf_free(&qa);
	dr_buf_free(&qb);
	free(a);
	free(b);
}

static void
fuzz_one(const char *tmpl, const char *value)
{
	static const unsigned flags[] = {0, DR_SH_DISPLAY};
	size_t i;

	for (i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		same_code(tmpl, value, flags[i], false);
		same_code(tmpl, value, flags[i], true);
	}
	render_one(tmpl, value);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const uint8_t *cut;
	char *tmpl, *value;
	size_t tlen;

	if (size > FUZZ_MAX_INPUT)
		return -1;
	cut = memchr(data, '\0', size);
	tlen = cut ? (size_t)(cut - data) : size;
	cut = memchr(data, 0xff, tlen);
	if (cut)
		tlen = (size_t)(cut - data);
	tmpl = dr_xstrndup((const char *)data, tlen);
	value = tlen < size ? dr_xstrndup((const char *)data + tlen + 1,
	                                  size - tlen - 1)
	                    : dr_xstrdup("");
	fuzz_one(tmpl, value);
	free(tmpl);
	free(value);
	return 0;
}
