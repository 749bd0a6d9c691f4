/*
 * test_shcmd.c: scripts built from templates, where a value never becomes
 * shell code.
 *
 * Proved by running, not by inspecting: every script is run by /bin/sh
 * (dash) and by bash, and the hostile values try to create a marker file
 * that must never appear. Each context either gives the value back intact
 * or is refused with a reason; a generated family of templates (quotes,
 * comments, here-documents, substitutions, case, arithmetic glued
 * together) checks that whatever the builder accepts is inert.
 */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/shcmd.h"

#include "run_shell.h"

static char workdir[64];
static char pwned[96];

static const char *const shells[] = {"/bin/sh", "/bin/bash"};
#define NSHELLS (sizeof(shells) / sizeof(shells[0]))

static bool
pwned_exists(void)
{
	struct stat st;

	return stat(pwned, &st) == 0;
}

/* Runs script with shell -c in workdir. */
static int
run(const char *shell, const char *script, const char *in, char **out,
    size_t *outlen)
{
	return test_run_shell(shell, workdir, script, in, out, outlen);
}

static char *hostile[48];
static size_t nhostile;

static void
add(const char *fmt)
{
	hostile[nhostile++] = dr_xasprintf(fmt, pwned, pwned);
}

static int
setup(void **state)
{
	snprintf(workdir, sizeof(workdir), "/tmp/drover-shcmd-XXXXXX");
	assert_non_null(mkdtemp(workdir));
	snprintf(pwned, sizeof(pwned), "%s/pwned", workdir);
	nhostile = 0;
	add("plain");
	add("");
	add("it's");
	add("'");
	add("a;b && c | d > e < f & g");
	add("$(touch %s)");
	add("`touch %s`");
	add("'; touch %s; echo '");
	add("\"; touch %s; echo \"");
	add("\"$(touch %s)\"");
	add("a[$(touch %s)]");
	add("x[`touch %s`]+1");
	add("back\\slash\\");
	add("*");
	add("?[a-z]");
	add("line one\ntouch %s\n");
	add("EOF\ntouch %s\nEOF");
	add("-n");
	add("$HOME ${HOME} $1 $$ $? ${_dr_var_x}");
	add("~root");
	add("# not a comment");
	add("tab\there  two  spaces");
	add("!event");
	add("Comune di Forl\xc3\xac");
	add("a\\'b");
	add("}; touch %s; {");
	add(")); touch %s; ((");
	add("$((1+1))");
	add("\\$(touch %s)");
	return 0;
}

static void
remove_tree(const char *dir)
{
	pid_t pid = fork();
	int st;

	assert_true(pid >= 0);
	if (pid == 0) {
		execl("/bin/rm", "rm", "-rf", "--", dir, (char *)NULL);
		_exit(127);
	}
	waitpid(pid, &st, 0);
}

static int
teardown(void **state)
{
	size_t i;

	for (i = 0; i < nhostile; i++)
		free(hostile[i]);
	nhostile = 0;
	remove_tree(workdir);
	return 0;
}

/* var.x: the value under test; var.n: an integer; var.s: a string "41". */
struct env {
	const char *x;
};

static const char *
lookup(const char *name, bool *integer, void *arg)
{
	struct env *e = arg;

	*integer = false;
	if (strcmp(name, "var.x") == 0)
		return e->x;
	if (strcmp(name, "var.n") == 0) {
		*integer = true;
		return "41";
	}
	if (strcmp(name, "var.s") == 0)
		return "41";
	if (strcmp(name, "tenant") == 0)
		return "comune-lodi";
	return NULL;
}

/* Builds tmpl; returns 0 and the script, or DR_EINVAL and the reason. */
static int
build(const char *tmpl, const char *x, char **script, char **why)
{
	struct env e = {.x = x};
	struct dr_sh sh;
	int r;

	dr_sh_init(&sh, 0);
	r = dr_sh_code(&sh, tmpl, lookup, &e, why);
	*script = r == 0 ? dr_sh_finish(&sh) : NULL;
	dr_sh_free(&sh);
	return r;
}

static char *
strip_newlines(const char *s)
{
	char *r = dr_xstrdup(s);
	size_t n = strlen(r);

	while (n > 0 && r[n - 1] == '\n')
		r[--n] = '\0';
	return r;
}

/* How a context's output relates to the value. */
enum want { W_SAME, W_CHOMP, W_LINE, W_PREPOST, W_DEFAULT };

struct ctxcase {
	const char *name;
	const char *tmpl;
	enum want want;
};

/* Contexts a value must come back from intact, in both shells. */
static const struct ctxcase contexts[] = {
    {"unquoted word", "printf '%s' ${var.x}", W_SAME},
    {"double quotes", "printf '%s' \"${var.x}\"", W_SAME},
    {"inside a double-quoted string", "printf '%s' \"pre ${var.x} post\"",
     W_PREPOST},
    {"glued to a word", "printf '%s' pre\\ ${var.x}\\ post", W_PREPOST},
    {"comment then code (the trust issue's case)",
     "# note: \"quoted\nprintf '%s' \"${var.x}\" # \"", W_SAME},
    {"after a comment line", "# ${var.x} in a comment\nprintf '%s' ${var.x}",
     W_SAME},
    {"case subject", "case ${var.x} in *) printf '%s' ${var.x};; esac", W_SAME},
    {"nested $( )",
     "printf '%s' \"$(printf '%s' \"$(printf '%s' ${var.x})\")\"", W_CHOMP},
    {"$( ) unquoted in double quotes",
     "printf '%s' \"$(printf '%s' ${var.x})\"", W_CHOMP},
    {"backticks", "printf '%s' \"`printf '%s' ${var.x}`\"", W_CHOMP},
    {"backticks unquoted", "v=`printf '%s' ${var.x}`; printf '%s' \"$v\"",
     W_CHOMP},
    {"here-document", "cat <<EOF\n${var.x}\nEOF", W_LINE},
    {"here-document <<-", "cat <<-EOF\n\t${var.x}\n\tEOF", W_LINE},
    {"here-document with text", "cat <<END\npre ${var.x} post\nEND", W_PREPOST},
    {"parameter expansion via a variable",
     "v=${var.x}; printf '%s' \"$${v:-default}\"", W_DEFAULT},
    {"subshell", "( printf '%s' ${var.x} )", W_SAME},
    {"pipeline", "printf '%s' ${var.x} | cat", W_SAME},
    {"assignment", "v=${var.x}; printf '%s' \"$v\"", W_SAME},
    {"for list", "for i in ${var.x}; do printf '%s' \"$i\"; done", W_SAME},
    {"test", "[ ${var.x} = ${var.x} ] && printf '%s' ${var.x}", W_SAME},
    {"environment of a command",
     "V=${var.x} env | grep '^V=' >/dev/null; "
     "printf '%s' ${var.x}",
     W_SAME},
    {"line continuation", "printf '%s' \\\n${var.x}", W_SAME},
    {"if then", "if true; then printf '%s' ${var.x}; fi", W_SAME},
    {"function body", "f() { printf '%s' \"$1\"; }; f ${var.x}", W_SAME},
    {"redirection target", "printf '%s' ${var.x} >out; cat out", W_SAME},
    {"here-string is bash only: skipped", NULL, W_SAME},
};

static char *
expected(enum want w, const char *v)
{
	switch (w) {
	case W_SAME:
		return dr_xstrdup(v);
	case W_CHOMP:
		return strip_newlines(v);
	case W_LINE:
		return dr_xasprintf("%s\n", v);
	case W_PREPOST:
		return dr_xasprintf("pre %s post%s", v, "");
	case W_DEFAULT:
		return dr_xstrdup(*v ? v : "default");
	}
	return NULL;
}

static void
test_contexts_give_the_value_back(void **state)
{
	size_t i, j, k, bad = 0;

	for (i = 0; i < sizeof(contexts) / sizeof(contexts[0]); i++) {
		const struct ctxcase *c = &contexts[i];
		if (c->tmpl == NULL)
			continue;
		for (j = 0; j < nhostile; j++) {
			char *script, *why = NULL, *want;
			if (build(c->tmpl, hostile[j], &script, &why) != 0) {
				print_message("%s: refused: %s\n", c->name,
				              why);
				free(why);
				bad++;
				continue;
			}
			want = expected(c->want, hostile[j]);
			if (c->want == W_PREPOST &&
			    strstr(c->tmpl, "<<") != NULL) {
				free(want);
				want =
				    dr_xasprintf("pre %s post\n", hostile[j]);
			}
			for (k = 0; k < NSHELLS; k++) {
				char *out;
				size_t len;
				int st =
				    run(shells[k], script, NULL, &out, &len);
				if (pwned_exists()) {
					print_message("INJECTION (%s, %s): "
					              "value [%s]\n%s\n",
					              c->name, shells[k],
					              hostile[j], script);
					unlink(pwned);
					bad++;
				} else if (st != 0 || len != strlen(want) ||
				           memcmp(out, want, len) != 0) {
					print_message(
					    "%s (%s): value [%s]: want [%s] "
					    "got "
					    "[%s] exit %d\nscript:\n%s\n",
					    c->name, shells[k], hostile[j],
					    want, out, st, script);
					bad++;
				}
				free(out);
			}
			free(want);
			free(script);
		}
	}
	assert_int_equal(bad, 0);
}

struct refusal {
	const char *tmpl;
	const char *reason; /* a word the reason must hold */
};

/* Contexts that would run a value as code, or make it a literal name. */
static const struct refusal refusals[] = {
    {"printf '%s' '${var.x}'", "single quotes"},
    {"cat <<'EOF'\n${var.x}\nEOF", "quoted here-document"},
    {"cat <<\"EOF\"\n${var.x}\nEOF", "quoted here-document"},
    {"cat <<\\EOF\n${var.x}\nEOF", "quoted here-document"},
    {"echo $(( ${var.x} + 1 ))", "arithmetic"},
    {"echo $(( ${var.s} + 1 ))", "arithmetic"},
    {"echo $(( $$(echo ${var.x}) + 1 ))", "arithmetic"},
    {"v=${var.x}; echo $(( v + 1 ))", "arithmetic"},
    {"(( ${var.x} > 1 )) && echo big", "arithmetic"},
    {"((\n${var.x}))", "arithmetic"},
    {"echo $$[ ${var.x} + 1 ]", "arithmetic"},
    {"let y=${var.x}+1", "let"},
    {"[[ ${var.x} -eq 1 ]] && echo one", "arithmetic"},
    {"[[ \"${var.x}\" -gt 1 ]]", "arithmetic"},
    {"v=${var.x}; [[ $v -lt 2 ]]", "arithmetic"},
    {"a[${var.x}]=1", "subscript"},
    {"echo $${a[${var.x}]}", "subscript"},
    {"v=${var.x}; echo $${a[$v]}", "subscript"},
    {"v=${var.x}; echo $${v:1:2}", "substring"},
    {"declare -i n; n=${var.x}", "integer"},
    {"local -i n=${var.x}", "integer"},
    {"declare -n r=x; r=${var.x}", "nameref"},
    {"read ${var.x} </dev/null", "name"},
    {"v=${var.x}; read \"$v\" </dev/null", "name"},
    {"v=${var.x}; unset \"$v\"", "name"},
    {"v=${var.x}; declare \"$v=1\"", "name"},
    {"printf -v ${var.x} 1", "name"},
    {"v=${var.x}; printf -v \"$v\" %s 1", "name"},
    {"v=${var.x}; [[ -v $v ]]", "name"},
    {"v=${var.x}; test -v \"$v\"", "name"},
    {"v=${var.x}; echo $${!v}", "indirect"},
    {"eval echo ${var.x}", "eval"},
    {"e\"va\"l echo ${var.x}", "eval"},
    {"v=${var.x}; eval \"echo $v\"", "eval"},
    {"trap ${var.x} EXIT", "trap"},
    {"sh -c \"echo ${var.x}\"", "shell"},
    {"/bin/bash -c \"echo ${var.x}\"", "shell"},
    {"echo ${var.x} | sh", "shell"},
    {"sh <<EOF\necho ${var.x}\nEOF", "shell"},
    {"su -c \"echo ${var.x}\" root", "shell commands"},
    {"ssh host echo ${var.x}", "shell commands"},
    {"sudo -s echo ${var.x}", "sudo"},
    {"runuser -u nobody -c \"echo ${var.x}\"", "shell"},
    {"watch echo ${var.x}", "shell commands"},
    {"awk \"BEGIN { print \\\"${var.x}\\\" }\"", "awk"},
    {"sed \"s/a/${var.x}/\" f", "sed"},
    {"python3 -c \"print('${var.x}')\"", "program text"},
    {"perl -e \"print ${var.x}\"", "program text"},
    {"echo ${var.x} | python3", "program text"},
    {"${var.x} arg", "command"},
    {"${var.x}", "command"},
    {"/opt/${var.x}/bin/run", "command"},
    {"exec ${var.x}", "command"},
    {"env ${var.x} arg", "command"},
    {"true; ${var.x} -c x", "command"},
    {"v=${var.x}; $v -c x", "command"},
    {"v=${var.x}; \"$v\" x", "command"},
    {"echo ok &&\n${var.x}", "command"},
    {"echo $_dr_tenant ${var.x}", "reserved"},
    {"echo ${var.x", "malformed"},
    {"echo ${nope}", "unknown"},
    {"echo 'unterminated ${var.x}", "single quotes"},
    {"echo \"unterminated ${var.x}", "unterminated"},
    {"echo $${v:-${var.x}}", "${...}"},
    {NULL, NULL},
};

static void
test_refusals(void **state)
{
	size_t i, bad = 0;

	for (i = 0; refusals[i].tmpl; i++) {
		char *script = NULL, *why = NULL;
		int r = build(refusals[i].tmpl, "v", &script, &why);
		if (r == 0) {
			print_message("accepted: %s\nas:\n%s\n",
			              refusals[i].tmpl, script);
			bad++;
		} else if (why == NULL ||
		           strstr(why, refusals[i].reason) == NULL) {
			print_message("%s: refused with [%s], want [%s]\n",
			              refusals[i].tmpl, why ? why : "(null)",
			              refusals[i].reason);
			bad++;
		}
		free(script);
		free(why);
	}
	assert_int_equal(bad, 0);
}

/* Ordinary plan commands stay accepted. */
static void
test_ordinary_commands_accepted(void **state)
{
	static const char *const ok[] = {
	    "read -r want < ${var.x} && test \"$want\" = x",
	    "export PGPASSWORD=${secret.pg}; pg_restore -d db_${var.x} f",
	    "local_var=${var.x}; printf '%s\\n' \"$local_var\"",
	    "setsid python3 -m http.server 8080 --bind ${var.x} </dev/null "
	    ">>log 2>&1 & echo $! >pid",
	    "systemctl start urbi-payroll@${tenant}",
	    "tar -xf ${var.x} -C /srv/${tenant} && test -s /srv/x",
	    "case ${tenant} in comune-*) echo yes;; *) echo no;; esac",
	    "for f in ${var.x}/*.tar; do sha256sum -c \"$f.sha256\"; done",
	    "cd ${var.x} && find . -name '*.lockbit3' | grep -q . && exit 1; "
	    "true",
	    "env LC_ALL=C sort ${var.x} >out",
	    "sudo -u postgres psql -d ${var.x} -c 'select 1'",
	    "printf '%s\\n' ${var.x} | tee /tmp/x >/dev/null",
	    "cat >conf <<EOF\nname=${tenant}\nEOF\nchmod 600 conf",
	    "timeout 5 curl -fsS http://${var.x}:8080/ >/dev/null",
	    "echo $(( ${var.n} * 2 )) workers",
	    NULL};
	size_t i;

	for (i = 0; ok[i]; i++) {
		char *script, *why = NULL;
		if (build(ok[i], "v", &script, &why) != 0)
			fail_msg("refused: %s\nbecause: %s", ok[i], why);
		free(script);
	}
}

/* The refusals are real: bash does run these values as code. */
static void
test_bash_runs_these_through_variables(void **state)
{
	static const char *const sinks[] = {
	    "echo $(( $_v + 1 ))",     "a[$_v]=1",
	    "read \"$_v\" </dev/null", "printf -v \"$_v\" 1",
	    "declare -i n; n=$_v",     "[[ $_v -eq 1 ]]"};
	size_t i;

	for (i = 0; i < sizeof(sinks) / sizeof(sinks[0]); i++) {
		char *script = dr_xasprintf("_v='a[$(touch %s)]'; %s", pwned,
		                            sinks[i]),
		     *out;
		size_t len;
		run("/bin/bash", script, NULL, &out, &len);
		if (!pwned_exists())
			fail_msg("bash did not run the value through %s: the "
			         "refusal may be unnecessary",
			         sinks[i]);
		unlink(pwned);
		free(out);
		free(script);
	}
}

static void
test_integers_allowed_in_arithmetic(void **state)
{
	char *script, *why = NULL, *out;
	size_t len, k;

	assert_int_equal(
	    build("printf '%s' $(( ${var.n} + 1 ))", "v", &script, &why), 0);
	for (k = 0; k < NSHELLS; k++) {
		assert_int_equal(run(shells[k], script, NULL, &out, &len), 0);
		assert_string_equal(out, "42");
		free(out);
	}
	free(script);
	/* In a command that holds a sink, only integers may appear. */
	assert_int_equal(build("v=${var.n}; echo $(( v * 2 )) ${tenant}", "v",
	                       &script, &why),
	                 DR_EINVAL);
	assert_non_null(strstr(why, "${tenant}"));
	free(why);
}

/* The value never appears in the script text, only in its preamble. */
static void
test_preamble_shape(void **state)
{
	char *script, *why;

	assert_int_equal(build("mkdir -p /srv/${tenant}/\"${var.x}\" && echo "
	                       "${tenant}",
	                       "it's", &script, &why),
	                 0);
	assert_string_equal(
	    script, "_dr_tenant='comune-lodi'\n"
	            "_dr_var_x='it'\\''s'\n"
	            "mkdir -p /srv/\"${_dr_tenant}\"/\"${_dr_var_x}\" && "
	            "echo \"${_dr_tenant}\"");
	free(script);
}

static void
test_secrets_read_from_stdin(void **state)
{
	struct env e = {.x = "v"};
	struct dr_sh sh;
	char *script, *why, *out, *in;
	size_t i, len, k;

	dr_sh_init(&sh, 0);
	assert_int_equal(dr_sh_code(&sh,
	                            "printf '%s|%s|%s' ${secret.pg} "
	                            "\"${secret.tok}\" ${secret.pg}",
	                            lookup, &e, &why),
	                 0);
	assert_int_equal(sh.nsecrets, 2);
	assert_string_equal(sh.secrets[0], "pg");
	assert_string_equal(sh.secrets[1], "tok");
	script = dr_sh_finish(&sh);
	dr_sh_free(&sh);
	for (i = 0; i < nhostile; i++) {
		char *want;
		if (strchr(hostile[i], '\n'))
			continue; /* one line each on stdin */
		in = dr_xasprintf("%s\nsecond\n", hostile[i]);
		want = dr_xasprintf("%s|second|%s", hostile[i], hostile[i]);
		for (k = 0; k < NSHELLS; k++) {
			assert_int_equal(run(shells[k], script, in, &out, &len),
			                 0);
			if (strcmp(out, want) != 0)
				fail_msg("secret [%s] came out as [%s]",
				         hostile[i], out);
			assert_false(pwned_exists());
			free(out);
		}
		free(want);
		free(in);
	}
	assert_null(strstr(script, "second"));
	free(script);
	/* The display form reads them too, naming the placeholder. */
	dr_sh_init(&sh, DR_SH_DISPLAY);
	assert_int_equal(
	    dr_sh_code(&sh, "psql --pw ${secret.pg}", lookup, &e, &why), 0);
	script = dr_sh_finish(&sh);
	assert_non_null(strstr(script, "<secret:pg>"));
	assert_non_null(strstr(script, "IFS= read -r _dr_secret_pg"));
	free(script);
	dr_sh_free(&sh);
}

static void
test_word_and_value(void **state)
{
	struct env e;
	size_t i, k;

	for (i = 0; i < nhostile; i++) {
		struct dr_sh sh;
		char *script, *why, *out, *want;
		size_t len;

		e.x = hostile[i];
		dr_sh_init(&sh, 0);
		dr_sh_text(&sh, "printf '<%s>' ");
		assert_int_equal(dr_sh_word(&sh, "--t=${tenant}:${var.x}'\"$",
		                            lookup, &e, &why),
		                 0);
		dr_sh_text(&sh, " ");
		dr_sh_value(&sh, hostile[i]);
		script = dr_sh_finish(&sh);
		dr_sh_free(&sh);
		want = dr_xasprintf("<--t=comune-lodi:%s'\"$><%s>", hostile[i],
		                    hostile[i]);
		for (k = 0; k < NSHELLS; k++) {
			assert_int_equal(
			    run(shells[k], script, NULL, &out, &len), 0);
			if (len != strlen(want) || memcmp(out, want, len))
				fail_msg("want [%s] got [%s]\n%s", want, out,
				         script);
			assert_false(pwned_exists());
			free(out);
		}
		free(want);
		free(script);
	}
}

/*
 * A family of templates glued from fragments that confuse quote trackers.
 * Whatever the builder accepts must be inert in both shells; the output is
 * not checked (a misjudged context may give a wrong literal).
 */
static void
test_generated_templates_are_inert(void **state)
{
	static const char *const pre[] = {
	    "",
	    "echo ",
	    "# \"\n",
	    "# '\necho ",
	    "echo \"",
	    "echo '",
	    "echo `echo ",
	    "echo \"`echo ",
	    "echo $(echo ",
	    "echo \"$(echo \"",
	    "cat <<E\n",
	    "cat <<'E'\n",
	    "cat <\\\n<E\n",
	    "cat <<E; echo \"\n",
	    "case x in x) echo ",
	    "case ",
	    "echo \\",
	    "echo \\\n",
	    "x=$$(( 1 + ",
	    "echo $${x:-",
	    "f() { echo ",
	    "echo # ",
	    "echo ${tenant}#",
	    ": <<E\n\"\nE\necho ",
	    "echo \"# ",
	    "echo $$'",
	    "echo $$\"",
	    "echo $$(( ",
	    "echo )",
	    "echo ;; ",
	};
	static const char *const post[] = {
	    "",    "\"",    "'",     "`",         ")",
	    "\nE", "\nE\n", " # \"", "; esac",    " in *) echo;; esac",
	    "}",   "))",    "\"`\"", "\" # x\nE", "\n\"",
	};
	size_t i, j, v, k, accepted = 0, runs = 0;
	static const char *const values[] = {
	    "$(touch %s)",      "`touch %s`",     "a[$(touch %s)]",
	    "\"; touch %s; \"", "'; touch %s; '", "\ntouch %s\n",
	    "E\ntouch %s\nE"};

	for (i = 0; i < sizeof(pre) / sizeof(pre[0]); i++) {
		for (j = 0; j < sizeof(post) / sizeof(post[0]); j++) {
			char *tmpl =
			    dr_xasprintf("%s${var.x}%s", pre[i], post[j]);
			for (v = 0; v < sizeof(values) / sizeof(values[0]);
			     v++) {
				char *val = dr_xasprintf(values[v], pwned);
				char *script, *why = NULL;
				if (build(tmpl, val, &script, &why) != 0) {
					free(why);
					free(val);
					continue;
				}
				accepted++;
				for (k = 0; k < NSHELLS; k++) {
					char *out;
					size_t len;
					run(shells[k], script, NULL, &out,
					    &len);
					runs++;
					free(out);
					if (pwned_exists())
						fail_msg("INJECTION (%s): "
						         "template [%s] value "
						         "[%s]:\n%s",
						         shells[k], tmpl, val,
						         script);
				}
				free(script);
				free(val);
			}
			free(tmpl);
		}
	}
	print_message("generated: %zu accepted, %zu shell runs, none "
	              "injected\n",
	              accepted, runs);
	assert_true(accepted > 100); /* the family is not all refused */
}

static void
test_quote(void **state)
{
	struct dr_buf b;

	dr_buf_init(&b, 0);
	dr_sh_quote(&b, "it's");
	assert_string_equal(b.data, "'it'\\''s'");
	b.len = 0;
	dr_sh_quote(&b, "");
	assert_string_equal(b.data, "''");
	dr_buf_free(&b);
}

int
main(void)
{
	const struct CMUnitTest tests[] = {
	    cmocka_unit_test(test_quote),
	    cmocka_unit_test_setup_teardown(test_contexts_give_the_value_back,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_ordinary_commands_accepted,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(
	        test_bash_runs_these_through_variables, setup, teardown),
	    cmocka_unit_test_setup_teardown(test_integers_allowed_in_arithmetic,
	                                    setup, teardown),
	    cmocka_unit_test_setup_teardown(test_preamble_shape, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_secrets_read_from_stdin, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_word_and_value, setup,
	                                    teardown),
	    cmocka_unit_test_setup_teardown(test_generated_templates_are_inert,
	                                    setup, teardown),
	};

	return cmocka_run_group_tests_name("shcmd", tests, NULL, NULL);
}
