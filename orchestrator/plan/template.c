/* template.c: ${name} references in plan text that is not shell code. */
#include "drover/template.h"

#include <stdlib.h>
#include <string.h>

#include "drover/shcmd.h"

int
dr_tmpl_scan(const char *tmpl, void (*fn)(const char *name, void *arg),
             void *arg)
{
	const char *p = tmpl;

	while ((p = strchr(p, '$')) != NULL) {
		const char *name, *next;
		size_t len;
		char *tmp;

		if (p[1] == '$') {
			p += 2;
			continue;
		}
		if (p[1] != '{') {
			p++;
			continue;
		}
		if (dr_sh_scan_ref(p, &name, &len, &next) != 0)
			return DR_EINVAL;
		tmp = dr_xstrndup(name, len);
		fn(tmp, arg);
		free(tmp);
		p = next;
	}
	return 0;
}

int
dr_tmpl_expand(const char *tmpl, dr_tmpl_lookup_fn lookup, void *arg,
               struct dr_buf *out, char **bad)
{
	const char *p = tmpl;

	*bad = NULL;
	while (*p) {
		const char *name, *next, *val;
		size_t len;
		char *tmp;
		bool integer = false;

		if (*p != '$' || (p[1] != '$' && p[1] != '{')) {
			dr_buf_append(out, p, 1);
			p++;
			continue;
		}
		if (p[1] == '$') {
			dr_buf_append(out, "$", 1);
			p += 2;
			continue;
		}
		if (dr_sh_scan_ref(p, &name, &len, &next) != 0) {
			*bad =
			    dr_xasprintf("malformed reference at \"%.20s\"", p);
			return DR_EINVAL;
		}
		tmp = dr_xstrndup(name, len);
		if (strncmp(tmp, "secret.", 7) == 0) {
			*bad =
			    dr_xasprintf("${%s}: secrets may only be used in "
			                 "run and local commands",
			                 tmp);
			free(tmp);
			return DR_EINVAL;
		}
		val = lookup(tmp, &integer, arg);
		if (val == NULL) {
			*bad = dr_xasprintf("unknown reference ${%s}", tmp);
			free(tmp);
			return DR_EINVAL;
		}
		dr_buf_puts(out, val);
		free(tmp);
		p = next;
	}
	return 0;
}

const char *
dr_tmpl_bad_target(const char *s)
{
	const unsigned char *p;

	for (p = (const unsigned char *)s; *p; p++) {
		if (*p == '\r' || *p == '\n')
			return "it holds a line break (CR or LF), which would "
			       "split the request";
		if (*p < 0x20 || *p == 0x7f)
			return "it holds a control character";
		if (*p == ' ')
			return "it holds a space; percent-encode it (%20)";
	}
	return NULL;
}
