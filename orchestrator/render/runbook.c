/*
 * runbook.c: the printable runbook, in Markdown or one self-contained HTML
 * file, for a person recovering by hand at 3 a.m. without drover.
 *
 * The document is written through a handful of emitters (heading, text,
 * table, code block, step box) that know both formats, so that the content
 * is decided once. Every plan value goes through the format's escaping.
 */
#include "drover/runbook.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drover/common.h"
#include "drover/doc.h"
#include "drover/sha256.h"
#include "drover/shcmd.h"

struct hostkey {
	const struct dr_host *host;
	char *text; /* "ED25519 SHA256:...", one line per key, or NULL */
};

struct rb {
	FILE *out;
	enum dr_runbook_format fmt;
	const struct dr_graph *g;
	const struct dr_plan *p;
	struct hostkey *keys;
	size_t nkeys;
	bool have_known_hosts;
	bool table_head; /* md: the row being written is the header row */
	size_t table_cols;
};

#define HTML(r) ((r)->fmt == DR_RUNBOOK_HTML)

/* ---- escaping and primitive output ------------------------------------ */

/* Control characters that inline text writes as spaces. */
#define TEXT_SP DR_MARKUP_SP_WS

static void
put(struct rb *r, const char *s)
{
	fputs(s, r->out);
}

static void putf(struct rb *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
putf(struct rb *r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(r->out, fmt, ap);
	va_end(ap);
}

/* One piece of markup, chosen by the format; NULL writes nothing. */
static void
tag(struct rb *r, const char *html, const char *md)
{
	const char *s = HTML(r) ? html : md;

	if (s)
		put(r, s);
}

/* Escaped inline text; newlines, tabs and carriage returns become spaces. */
static void
text(struct rb *r, const char *s)
{
	if (HTML(r))
		dr_html_text(r->out, s, TEXT_SP);
	else
		dr_md_text(r->out, s, TEXT_SP);
}

static void textf(struct rb *r, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static void
textf(struct rb *r, const char *fmt, ...)
{
	struct dr_buf b;
	va_list ap;

	dr_buf_init(&b, 0);
	va_start(ap, fmt);
	dr_buf_vprintf(&b, fmt, ap);
	va_end(ap);
	text(r, b.data);
	dr_buf_free(&b);
}

static void
bold(struct rb *r, const char *s)
{
	tag(r, "<b>", "**");
	text(r, s);
	tag(r, "</b>", "**");
}

/* Inline code: newlines become spaces (md), quotes stay literal (html). */
static void
code(struct rb *r, const char *s)
{
	if (HTML(r))
		dr_html_code(r->out, s, DR_MARKUP_HTML_BARE);
	else
		dr_md_code(r->out, s,
		           DR_MARKUP_SP_LF |
		               (r->table_cols ? DR_MARKUP_MD_CELL : 0));
}

/* A block of commands, one per line, copyable as is. */
static void
pre(struct rb *r, const char *s)
{
	const char *nl;

	if (!HTML(r)) {
		dr_md_block(r->out, s, "sh", 0);
		return;
	}
	/* One block per line: a wrapped line hangs, so that on paper it
	 * reads as one command. A final newline ends the last line. */
	put(r, "<pre><span class=\"l\">");
	for (; *s; s = nl + 1) {
		nl = strchr(s, '\n');
		if (nl == NULL) {
			dr_html_text(r->out, s, DR_MARKUP_HTML_BARE);
			break;
		}
		dr_html_textn(r->out, s, (size_t)(nl - s), DR_MARKUP_HTML_BARE);
		if (nl[1] != '\0')
			put(r, "</span><span class=\"l\">");
	}
	put(r, "</span></pre>\n");
}

static void
heading(struct rb *r, int level, const char *id, const char *cls, const char *s)
{
	if (HTML(r)) {
		putf(r, "<h%d", level);
		if (id)
			putf(r, " id=\"%s\"", id);
		if (cls)
			putf(r, " class=\"%s\"", cls);
		put(r, ">");
		text(r, s);
		putf(r, "</h%d>\n", level);
		return;
	}
	putf(r, "%.*s ", level, "######");
	text(r, s);
	put(r, "\n\n");
}

static void
para_begin(struct rb *r, const char *cls)
{
	if (HTML(r))
		dr_html_open(r->out, "p", cls);
}

static void
para_end(struct rb *r)
{
	tag(r, "</p>\n", "\n\n");
}

static void
list_begin(struct rb *r, bool ordered)
{
	tag(r, ordered ? "<ol>\n" : "<ul>\n", NULL);
}

static void
item_begin(struct rb *r, bool ordered, int n)
{
	if (ordered && !HTML(r))
		putf(r, "%d. ", n);
	else
		tag(r, "<li>", "- ");
}

static void
item_end(struct rb *r)
{
	tag(r, "</li>\n", "\n");
}

static void
list_end(struct rb *r, bool ordered)
{
	tag(r, ordered ? "</ol>\n" : "</ul>\n", "\n");
}

static void
table_begin(struct rb *r, const char *cls, size_t ncols)
{
	r->table_cols = ncols;
	r->table_head = true;
	if (HTML(r)) {
		dr_html_open(r->out, "table", cls);
		put(r, "\n");
	}
}

static void
row_begin(struct rb *r)
{
	tag(r, "<tr>", "|");
}

static void
cell_begin(struct rb *r)
{
	tag(r, r->table_head ? "<th>" : "<td>", " ");
}

static void
cell_end(struct rb *r)
{
	tag(r, r->table_head ? "</th>" : "</td>", " |");
}

/* A cell of text; '\n' in s becomes a line break. */
static void
cell(struct rb *r, const char *s)
{
	const char *nl;

	cell_begin(r);
	while (s && (nl = strchr(s, '\n')) != NULL) {
		char *line = dr_xstrndup(s, (size_t)(nl - s));
		text(r, line);
		free(line);
		put(r, "<br>");
		s = nl + 1;
	}
	if (s)
		text(r, s);
	cell_end(r);
}

static void
row_end(struct rb *r)
{
	if (!HTML(r)) {
		put(r, "\n");
		if (r->table_head)
			dr_md_table_rule(r->out, r->table_cols);
	} else {
		put(r, "</tr>\n");
	}
	r->table_head = false;
}

static void
table_end(struct rb *r)
{
	r->table_cols = 0;
	tag(r, "</table>\n", "\n");
}

static void
row(struct rb *r, const char *const *cells, size_t n)
{
	size_t i;

	row_begin(r);
	for (i = 0; i < n; i++)
		cell(r, cells[i] ? cells[i] : "");
	row_end(r);
}

/* ---- small formatting helpers ----------------------------------------- */

/* "8h", "1h30m", "45s", "350ms": short and exact. */
static const char *
dur(uint64_t ms, char *buf, size_t len)
{
	static const struct {
		uint64_t ms;
		const char *unit;
	} units[] = {
	    {86400000, "d"}, {3600000, "h"}, {60000, "m"}, {1000, "s"}};
	size_t i, off = 0;

	buf[0] = '\0';
	if (ms == 0) {
		snprintf(buf, len, "0s");
		return buf;
	}
	for (i = 0; i < sizeof(units) / sizeof(units[0]) && off < len; i++) {
		if (ms >= units[i].ms) {
			off += (size_t)snprintf(
			    buf + off, len - off, "%llu%s",
			    (unsigned long long)(ms / units[i].ms),
			    units[i].unit);
			ms %= units[i].ms;
		}
	}
	if (ms && off < len)
		snprintf(buf + off, len - off, "%llums",
		         (unsigned long long)ms);
	return buf;
}

static int
host_port(const struct rb *r, const struct dr_host *h)
{
	if (h->port > 0)
		return h->port;
	if (r->p->defaults.port > 0)
		return r->p->defaults.port;
	return 22;
}

static const char *
host_user(const struct rb *r, const struct dr_host *h)
{
	if (h->user)
		return h->user;
	return r->p->defaults.user ? r->p->defaults.user : "root";
}

/* A word the shell takes literally as it is, or single-quoted. */
static void
shell_word(struct dr_buf *b, const char *s)
{
	const char *q;

	for (q = s; *q; q++) {
		if (strchr(
		        "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
		        "0123456789@%+=:,./_-",
		        *q) == NULL)
			break;
	}
	if (*s && *q == '\0')
		dr_buf_puts(b, s);
	else
		dr_sh_quote(b, s);
}

/* "user@address" for ssh. */
static void
ssh_dest(struct rb *r, struct dr_buf *b, const struct dr_host *h)
{
	char *s = dr_xasprintf("%s@%s", host_user(r, h), h->address);
	shell_word(b, s);
	free(s);
}

/* "ssh -p PORT user@address 'CMD'": cmd quoted once more for the line. */
static void
ssh_line(struct rb *r, struct dr_buf *b, const struct dr_host *h,
         const char *cmd)
{
	dr_buf_printf(b, "ssh -p %d ", host_port(r, h));
	ssh_dest(r, b, h);
	dr_buf_puts(b, " ");
	dr_sh_quote(b, cmd);
}

/* "user@address:path" for scp (IPv6 addresses in brackets). */
static void
scp_arg(struct rb *r, struct dr_buf *b, const struct dr_host *h,
        const char *path)
{
	char *s;

	if (strchr(h->address, ':'))
		s = dr_xasprintf("%s@[%s]:%s", host_user(r, h), h->address,
		                 path);
	else
		s = dr_xasprintf("%s@%s:%s", host_user(r, h), h->address, path);
	shell_word(b, s);
	free(s);
}

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

static char *
host_label(const struct dr_host *h)
{
	return dr_xasprintf("%s/%s", h->site ? h->site->name : "?", h->name);
}

static bool
site_is_from(const struct dr_graph *g, const struct dr_site *s)
{
	size_t i;

	for (i = 0; i < g->nfrom; i++)
		if (g->from[i] == s)
			return true;
	return false;
}

static char *
from_list(const struct dr_graph *g)
{
	struct dr_buf b;
	size_t i;

	dr_buf_init(&b, 0);
	for (i = 0; i < g->nfrom; i++)
		dr_buf_printf(&b, "%s%s", i ? ", " : "", g->from[i]->name);
	return dr_buf_steal(&b);
}

/* ---- known_hosts ------------------------------------------------------- */

static int
b64_val(int c)
{
	if (c >= 'A' && c <= 'Z')
		return c - 'A';
	if (c >= 'a' && c <= 'z')
		return c - 'a' + 26;
	if (c >= '0' && c <= '9')
		return c - '0' + 52;
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Decodes base64 into a malloc'd buffer; returns NULL if malformed. */
static unsigned char *
b64_decode(const char *s, size_t *outlen)
{
	size_t n = strlen(s), o = 0;
	unsigned char *out = dr_xmalloc(n / 4 * 3 + 3);
	uint32_t acc = 0;
	int bits = 0;

	for (; *s && *s != '='; s++) {
		int v = b64_val((unsigned char)*s);
		if (v < 0) {
			free(out);
			return NULL;
		}
		acc = (acc << 6) | (uint32_t)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[o++] = (unsigned char)(acc >> bits);
		}
	}
	*outlen = o;
	return out;
}

static void
b64_encode_nopad(const unsigned char *p, size_t n, struct dr_buf *b)
{
	static const char tab[] =
	    "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuv"
	    "wxyz0123456789+/";
	uint32_t acc = 0;
	int bits = 0;
	size_t i;

	for (i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		bits += 8;
		while (bits >= 6) {
			bits -= 6;
			dr_buf_append(b, &tab[(acc >> bits) & 63], 1);
		}
	}
	if (bits > 0)
		dr_buf_append(b, &tab[(acc << (6 - bits)) & 63], 1);
}

static int
hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* "SHA256:..." as OpenSSH prints it, for a key blob in base64. */
static char *
fingerprint(const char *blob64)
{
	unsigned char *blob, digest[32];
	char hex[65];
	struct dr_buf b;
	size_t n, i;

	if ((blob = b64_decode(blob64, &n)) == NULL || n == 0) {
		free(blob);
		return NULL;
	}
	dr_sha256_hex(blob, n, hex);
	free(blob);
	for (i = 0; i < 32; i++)
		digest[i] = (unsigned char)(hexval(hex[2 * i]) << 4 |
		                            hexval(hex[2 * i + 1]));
	dr_buf_init(&b, 0);
	dr_buf_puts(&b, "SHA256:");
	b64_encode_nopad(digest, sizeof(digest), &b);
	return dr_buf_steal(&b);
}

static const char *
key_type_name(const char *t)
{
	if (strcmp(t, "ssh-ed25519") == 0)
		return "ED25519";
	if (strncmp(t, "ecdsa-sha2-", 11) == 0)
		return "ECDSA";
	if (strcmp(t, "ssh-rsa") == 0)
		return "RSA";
	if (strcmp(t, "ssh-dss") == 0)
		return "DSA";
	return t;
}

static void
lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s - 'A' + 'a');
}

/* OpenSSH's wildcards: '*' and '?' only ('[' is literal, as in "[addr]:22"). */
static bool
wild_match(const char *pat, const char *s)
{
	for (; *pat; pat++, s++) {
		if (*pat == '*') {
			for (;; s++) {
				if (wild_match(pat + 1, s))
					return true;
				if (*s == '\0')
					return false;
			}
		}
		if (*s == '\0' || (*pat != '?' && *pat != *s))
			return false;
	}
	return *s == '\0';
}

/* Whether the comma-separated patterns match name (OpenSSH rules). */
static bool
patterns_match(char *pats, const char *name)
{
	bool hit = false;
	char *save = NULL, *pat;

	for (pat = strtok_r(pats, ",", &save); pat;
	     pat = strtok_r(NULL, ",", &save)) {
		bool neg = pat[0] == '!';

		lower(pat);
		if (wild_match(neg ? pat + 1 : pat, name)) {
			if (neg)
				return false;
			hit = true;
		}
	}
	return hit;
}

static int
load_known_hosts(struct rb *r, const char *path)
{
	FILE *f;
	char *line = NULL;
	size_t cap = 0, i;
	ssize_t len;

	if ((f = fopen(path, "r")) == NULL) {
		fprintf(stderr, "drover: runbook: %s: %s\n", path,
		        strerror(errno));
		return DR_EIO;
	}
	r->have_known_hosts = true;
	while ((len = getline(&line, &cap, f)) != -1) {
		char *save = NULL, *pats, *type, *blob, *s = line;

		while (*s == ' ' || *s == '\t')
			s++;
		if (*s == '#' || *s == '\n' || *s == '\0' || *s == '@' ||
		    *s == '|')
			continue; /* comments, markers, hashed names */
		pats = strtok_r(s, " \t\r\n", &save);
		type = strtok_r(NULL, " \t\r\n", &save);
		blob = strtok_r(NULL, " \t\r\n", &save);
		if (pats == NULL || type == NULL || blob == NULL)
			continue;
		for (i = 0; i < r->nkeys; i++) {
			const struct dr_host *h = r->keys[i].host;
			int port = host_port(r, h);
			char *name, *copy, *fp, *t;

			name = port == 22
			           ? dr_xstrdup(h->address)
			           : dr_xasprintf("[%s]:%d", h->address, port);
			lower(name);
			copy = dr_xstrdup(pats);
			if (patterns_match(copy, name) &&
			    (fp = fingerprint(blob)) != NULL) {
				const char *kt = key_type_name(type);
				if (r->keys[i].text == NULL)
					t = dr_xasprintf("%s %s", kt, fp);
				else
					t = dr_xasprintf("%s\n%s %s",
					                 r->keys[i].text, kt,
					                 fp);
				free(r->keys[i].text);
				r->keys[i].text = t;
				free(fp);
			}
			free(copy);
			free(name);
		}
	}
	free(line);
	if (ferror(f)) {
		fprintf(stderr, "drover: runbook: %s: read error\n", path);
		fclose(f);
		return DR_EIO;
	}
	fclose(f);
	return 0;
}

static const char *
host_key(const struct rb *r, const struct dr_host *h)
{
	size_t i;

	for (i = 0; i < r->nkeys; i++)
		if (r->keys[i].host == h)
			return r->keys[i].text;
	return NULL;
}

/* ---- order ------------------------------------------------------------- */

struct ordkey {
	size_t id;
	bool cleanup;
	int tier;
	size_t svc_first;
	size_t grp_first;
	size_t pos;
};

static int
ordkey_cmp(const void *a, const void *b)
{
	const struct ordkey *x = a, *y = b;

	if (x->cleanup != y->cleanup)
		return x->cleanup ? 1 : -1;
	if (x->tier != y->tier)
		return x->tier < y->tier ? -1 : 1;
	if (x->svc_first != y->svc_first)
		return x->svc_first < y->svc_first ? -1 : 1;
	if (x->grp_first != y->grp_first)
		return x->grp_first < y->grp_first ? -1 : 1;
	return x->pos < y->pos ? -1 : x->pos > y->pos;
}

static bool
respects_deps(const struct dr_graph *g, const size_t *order)
{
	bool *seen = dr_xcalloc(g->ntasks, sizeof(*seen));
	bool ok = true;
	size_t i, j;

	for (i = 0; i < g->ntasks && ok; i++) {
		const struct dr_task *t = &g->tasks[order[i]];
		for (j = 0; j < t->ndeps; j++)
			if (!seen[t->deps[j]])
				ok = false;
		seen[order[i]] = true;
	}
	free(seen);
	return ok;
}

/*
 * The order of the document: run order, regrouped by tier, then service
 * (in order of first start), then tenant within the service, so that a
 * person finishes one service instance before the next. Cleanup steps come
 * last. If regrouping would put a step before one it depends on, the plain
 * run order is used.
 */
static int
doc_order(const struct dr_graph *g, size_t *order)
{
	const struct dr_plan *p = g->plan;
	size_t n = g->ntasks, nt = p->ntenants + 1, i;
	size_t *svc_first, *grp_first;
	struct ordkey *k;
	size_t *sorted;

	if (dr_graph_order(g, order) != 0)
		return DR_EINVAL;
	svc_first = dr_xmalloc(sizeof(size_t) * (p->nservices + 1));
	grp_first = dr_xmalloc(sizeof(size_t) * (p->nservices + 1) * nt);
	for (i = 0; i < p->nservices + 1; i++)
		svc_first[i] = SIZE_MAX;
	for (i = 0; i < (p->nservices + 1) * nt; i++)
		grp_first[i] = SIZE_MAX;
	k = dr_xcalloc(n ? n : 1, sizeof(*k));
	for (i = 0; i < n; i++) {
		const struct dr_task *t = &g->tasks[order[i]];
		size_t si = (size_t)(t->service - p->services);
		size_t ti =
		    t->tenant ? (size_t)(t->tenant - p->tenants) + 1 : 0;

		if (si >= p->nservices)
			si = p->nservices;
		if (ti >= nt)
			ti = 0;
		if (svc_first[si] == SIZE_MAX)
			svc_first[si] = i;
		if (grp_first[si * nt + ti] == SIZE_MAX)
			grp_first[si * nt + ti] = i;
		k[i].id = order[i];
		k[i].cleanup = t->step->cleanup;
		k[i].tier = t->tier;
		k[i].svc_first = svc_first[si];
		k[i].grp_first = grp_first[si * nt + ti];
		k[i].pos = i;
	}
	qsort(k, n, sizeof(*k), ordkey_cmp);
	sorted = dr_xmalloc(sizeof(size_t) * (n ? n : 1));
	for (i = 0; i < n; i++)
		sorted[i] = k[i].id;
	if (respects_deps(g, sorted))
		memcpy(order, sorted, sizeof(size_t) * n);
	free(sorted);
	free(k);
	free(grp_first);
	free(svc_first);
	return 0;
}

/* ---- document parts ---------------------------------------------------- */

static const char css[] =
    "@page{size:A4;margin:14mm 13mm 16mm 13mm;"
    "@bottom-left{content:var(--foot);font:7.5pt sans-serif;color:#555}"
    "@bottom-right{content:\"page \" counter(page) \" of \" counter(pages);"
    "font:7.5pt sans-serif;color:#555}}\n"
    "*{box-sizing:border-box}\n"
    "html{-webkit-print-color-adjust:exact;print-color-adjust:exact}\n"
    "body{font:10.5pt/1.42 \"DejaVu Sans\",\"Liberation Sans\",Arial,"
    "sans-serif;color:#111;max-width:52rem;margin:0 auto;padding:1.5rem}\n"
    "h1{font-size:19pt;margin:0 0 .1em}\n"
    ".sub{font-size:12.5pt;margin:0 0 .8em}\n"
    "h2{font-size:14pt;border-bottom:2px solid #111;padding-bottom:.1em;"
    "margin:1.4em 0 .5em}\n"
    "h3{font-size:12.5pt;margin:1.3em 0 .3em;padding:.2em .4em;"
    "background:#e9eef5;border-left:5px solid #2b4a7a;"
    "break-after:avoid;page-break-after:avoid}\n"
    "h4{font-size:11pt;margin:1em 0 .3em;border-bottom:1px solid #999;"
    "break-after:avoid;page-break-after:avoid}\n"
    "p{margin:.3em 0 .5em}\n"
    "ul,ol{margin:.3em 0 .6em;padding-left:1.4em}\n"
    "li{margin:.15em 0}\n"
    "table{border-collapse:collapse;width:100%;margin:.4em 0 .9em;"
    "font-size:9pt}\n"
    "th,td{border:1px solid #888;padding:.2em .4em;text-align:left;"
    "vertical-align:top;overflow-wrap:anywhere}\n"
    "th{background:#e6e6e6}\n"
    "tr{break-inside:avoid;page-break-inside:avoid}\n"
    "table.meta td:first-child{width:8.5em;font-weight:bold;"
    "white-space:nowrap}\n"
    ".fill{white-space:nowrap;margin-right:1.2em}\n"
    "code,pre{font-family:\"DejaVu Sans Mono\",\"Liberation Mono\","
    "monospace}\n"
    "code{font-size:.92em;background:#f0f0f0;padding:0 .2em}\n"
    "pre{font-size:8.6pt;line-height:1.35;white-space:pre-wrap;"
    "overflow-wrap:anywhere;background:#f4f4f4;"
    "border:1px solid #bbb;border-left:4px solid #333;padding:.35em .55em;"
    "margin:.25em 0 .5em}\n"
    "pre .l{display:block;padding-left:2em;text-indent:-2em}\n"
    ".intro{break-inside:avoid;page-break-inside:avoid;"
    "break-after:avoid;page-break-after:avoid}\n"
    ".step{border:1px solid #777;border-radius:3px;padding:.35em .65em "
    ".45em;margin:.6em 0;break-inside:avoid;page-break-inside:avoid}\n"
    ".sh{display:flex;gap:.5em;align-items:baseline;font-weight:bold}\n"
    ".sh .box{font-size:15pt;line-height:1;font-weight:normal}\n"
    ".sh .where{margin-left:auto;font-weight:normal;font-size:9pt;"
    "color:#333}\n"
    ".facts{font-size:8.6pt;color:#222;margin:.15em 0 .3em}\n"
    ".facts span{display:inline-block;margin-right:1.1em}\n"
    ".lbl{font-weight:bold}\n"
    ".done{margin:.45em 0 0;font-size:9.5pt;color:#222}\n"
    ".gate{border:3px double #000;background:#fff4cc}\n"
    ".gate .q{font-size:11.5pt;font-weight:bold;margin:.3em 0 .5em}\n"
    ".refused{background:#eee;border-style:dashed}\n"
    ".warn{border-left:5px solid #a00;background:#fbeaea;padding:.3em .6em;"
    "margin:.4em 0}\n"
    ".note{border-left:4px solid #888;background:#f6f6f6;padding:.3em .6em;"
    "margin:.4em 0;font-size:9.5pt}\n"
    ".blank{display:inline-block;min-width:9em;border-bottom:1px solid "
    "#000}\n"
    ".tier{break-before:page;page-break-before:always;border:none;"
    "background:#111;color:#fff;padding:.25em .5em}\n"
    ".toc td:nth-child(1),.toc td:nth-child(6){white-space:nowrap}\n"
    "@media print{body{max-width:none;padding:0;font-size:9.8pt}"
    "a{color:inherit;text-decoration:none}}\n";

/* A CSS string literal: anything unusual as a hex escape. */
static void
css_string(struct rb *r, const char *s)
{
	put(r, "\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == ' ' || c == '-' ||
		    c == '_' || c == '.' || c == ',' || c >= 0x80)
			fputc(c, r->out);
		else
			putf(r, "\\%x ", c);
	}
	put(r, "\"");
}

static void
doc_begin(struct rb *r, const char *title, const char *foot)
{
	if (!HTML(r))
		return;
	put(r, "<!DOCTYPE html>\n<html lang=\"en\">\n<head>\n"
	       "<meta charset=\"utf-8\">\n"
	       "<meta name=\"viewport\" content=\"width=device-width, "
	       "initial-scale=1\">\n<title>");
	text(r, title);
	put(r, "</title>\n<style>\n:root{--foot:");
	css_string(r, foot);
	put(r, "}\n");
	put(r, css);
	put(r, "</style>\n</head>\n<body>\n");
}

static void
doc_end(struct rb *r)
{
	tag(r, "</body>\n</html>\n", NULL);
}

static void
blank(struct rb *r, const char *label)
{
	if (HTML(r)) {
		put(r, "<span class=\"fill\"><span class=\"lbl\">");
		text(r, label);
		put(r, "</span> <span class=\"blank\">&nbsp;</span></span>");
	} else {
		text(r, label);
		put(r, " __________");
	}
}

static void
note_begin(struct rb *r, const char *cls)
{
	if (HTML(r))
		dr_html_open(r->out, "div", cls);
	else
		put(r, "> ");
}

static void
note_end(struct rb *r)
{
	tag(r, "</div>\n", "\n\n");
}

static void
write_header(struct rb *r, const char *from, uint64_t now)
{
	const struct dr_plan *p = r->p;
	const struct dr_graph *g = r->g;
	const char *mode = g->mode == DR_MODE_DRILL ? "drill" : "failover";
	char date[64], *dir, *s;
	time_t t = (time_t)(now / 1000);
	struct tm tm;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
	dir = dr_xasprintf("%s \xe2\x86\x92 %s", from, g->to->name);

	s = dr_xasprintf("Recovery runbook: %s", p->name ? p->name : "plan");
	heading(r, 1, NULL, NULL, s);
	free(s);
	para_begin(r, "sub");
	bold(r, mode);
	text(r, " ");
	text(r, dir);
	para_end(r);

	table_begin(r, "meta", 2);
	if (!HTML(r)) {
		const char *h[] = {"", ""};
		row(r, h, 2);
	} else {
		r->table_head = false;
	}
	{
		const char *c[][2] = {
		    {"plan", p->name},
		    {"description", p->description},
		    {"direction", dir},
		    {"mode", g->mode == DR_MODE_DRILL
		                 ? "drill: production must not be "
		                   "changed"
		                 : "failover"},
		    {"generated", date},
		    {"plan file", p->path},
		    {"plan sha256", p->sha256},
		};
		size_t i;

		for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
			if (c[i][1] == NULL)
				continue;
			row_begin(r);
			cell_begin(r);
			tag(r, NULL, "**");
			text(r, c[i][0]);
			tag(r, NULL, "**");
			cell_end(r);
			if (strcmp(c[i][0], "plan sha256") == 0) {
				cell_begin(r);
				code(r, c[i][1]);
				cell_end(r);
			} else {
				cell(r, c[i][1]);
			}
			row_end(r);
		}
	}
	table_end(r);
	para_begin(r, NULL);
	blank(r, "Incident declared at");
	text(r, "   ");
	blank(r, "Incident lead");
	text(r, "   ");
	blank(r, "Runbook started at");
	para_end(r);
	para_begin(r, NULL);
	text(r, "RTO targets below count from the moment the incident was "
	        "declared. Write times in UTC or say which zone you use.");
	para_end(r);
	free(dir);
}

static void
write_contacts(struct rb *r)
{
	static const char *const h[] = {"name", "role", "phone", "email"};
	size_t i;

	heading(r, 2, "contacts", NULL, "Contacts");
	if (r->p->ncontacts == 0) {
		para_begin(r, NULL);
		text(r, "The plan lists no contacts. Write the incident lead's "
		        "and the security team's numbers here: ");
		blank(r, "");
		para_end(r);
		return;
	}
	table_begin(r, NULL, 4);
	row(r, h, 4);
	for (i = 0; i < r->p->ncontacts; i++) {
		const struct dr_contact *c = &r->p->contacts[i];
		const char *v[] = {c->name, c->role, c->phone, c->email};
		row(r, v, 4);
	}
	table_end(r);
}

static void
write_before(struct rb *r, const char *from)
{
	const struct dr_plan *p = r->p;
	int n = 0;

	heading(r, 2, "before", NULL, "Before you start");
	list_begin(r, true);
	item_begin(r, true, ++n);
	bold(r, "Fence first.");
	text(r, " ");
	textf(r,
	      "The lost sites (%s) must be isolated (replication cut, keys "
	      "revoked, routes withdrawn) before anything trusts them "
	      "again. A fence step that fails blocks the failover: stop and "
	      "call the incident lead, do not skip it.",
	      from);
	item_end(r);
	item_begin(r, true, ++n);
	bold(r, "Restore only from verified backups.");
	text(r, " A replica is not a backup. Use immutable backups taken "
	        "before the compromise, and check every sha256 as the steps "
	        "say. Never promote or copy from a lost site.");
	item_end(r);
	item_begin(r, true, ++n);
	bold(r, "Verify host keys before typing yes.");
	text(r,
	     " When ssh asks to confirm a host key, compare its SHA256 "
	     "fingerprint with the table \"Sites and hosts\". If it differs, "
	     "stop: you may be talking to the attacker.");
	if (p->defaults.known_hosts) {
		char *o = dr_xasprintf("-o StrictHostKeyChecking=yes -o "
		                       "UserKnownHostsFile=%s",
		                       p->defaults.known_hosts);
		text(r, " With the plan's known_hosts file ssh checks for you: "
		        "add ");
		code(r, o);
		text(r, " to ssh and scp.");
		free(o);
	}
	item_end(r);
	item_begin(r, true, ++n);
	bold(r, "Work in order, one step at a time.");
	text(r, " Every command is typed on your workstation: an ssh line "
	        "logs in to the host the step names and runs one command "
	        "there.");
	text(r, " Tick each box and write the time when the step is done. A "
	        "tier starts only when the tier before it has ended. Nothing "
	        "starts at the target before what it depends on is verified "
	        "healthy.");
	item_end(r);
	item_begin(r, true, ++n);
	bold(r, "Secrets stay out of writing.");
	text(r, " Commands show secrets as placeholders such as ");
	code(r, "<secret:NAME>");
	text(r, "; the table \"Secrets\" says where each value is kept. Never "
	        "write a value on this paper, in a ticket or in a chat.");
	item_end(r);
	if (p->defaults.identity) {
		item_begin(r, true, ++n);
		bold(r, "Your key.");
		text(r, " The plan logs in with the key ");
		code(r, p->defaults.identity);
		text(r, "; add ");
		code(r, "-i FILE");
		text(r, " to ssh and scp if yours is elsewhere. Never forward "
		        "your agent (-A) to any host.");
		item_end(r);
	}
	if (r->g->mode == DR_MODE_DRILL) {
		item_begin(r, true, ++n);
		bold(r, "This is a drill.");
		text(r, " Production must not be changed. Steps marked "
		        "\"refused in a drill\" are not to be run.");
		item_end(r);
	}
	list_end(r, true);
}

static void
write_hosts(struct rb *r)
{
	static const char *const h[] = {"site",           "site role", "host",
	                                "address",        "user",      "roles",
	                                "pinned host key"};
	const struct dr_plan *p = r->p;
	size_t i, j, k, ncols = r->have_known_hosts ? 7 : 6;

	heading(r, 2, "hosts", NULL, "Sites and hosts");
	if (!r->have_known_hosts) {
		para_begin(r, NULL);
		text(r,
		     "No known_hosts file was given: get the host key "
		     "fingerprints from the security team before connecting.");
		para_end(r);
	}
	table_begin(r, "hosts", ncols);
	row(r, h, ncols);
	for (i = 0; i < p->nsites; i++) {
		const struct dr_site *s = &p->sites[i];
		char *role;

		if (site_is_from(r->g, s))
			role = dr_xasprintf(
			    "%s \xe2\x80\x94 %s", dr_site_role_name(s->role),
			    r->g->mode == DR_MODE_DRILL
			        ? "treated as lost (do not touch)"
			        : "LOST");
		else if (s == r->g->to)
			role = dr_xasprintf("%s \xe2\x80\x94 TARGET",
			                    dr_site_role_name(s->role));
		else
			role = dr_xstrdup(dr_site_role_name(s->role));
		for (j = 0; j < s->nhosts; j++) {
			const struct dr_host *ho = &s->hosts[j];
			struct dr_buf roles;
			char *addr;
			const char *kt;

			dr_buf_init(&roles, 0);
			for (k = 0; k < ho->nroles; k++)
				dr_buf_printf(&roles, "%s%s", k ? ", " : "",
				              ho->roles[k]);
			addr = dr_xasprintf("%s:%d", ho->address,
			                    host_port(r, ho));
			kt = host_key(r, ho);
			{
				const char *v[] = {
				    j == 0 ? s->name : "",
				    j == 0 ? role : "",
				    ho->name,
				    addr,
				    host_user(r, ho),
				    roles.data ? roles.data : "",
				    kt ? kt : "not pinned: verify by phone"};
				row(r, v, ncols);
			}
			free(addr);
			dr_buf_free(&roles);
		}
		free(role);
	}
	table_end(r);
}

static void
write_secrets(struct rb *r)
{
	static const char *const h[] = {"placeholder",
	                                "where the value is kept"};
	const struct dr_plan *p = r->p;
	size_t i;

	if (p->nsecrets == 0)
		return;
	heading(r, 2, "secrets", NULL, "Secrets");
	para_begin(r, NULL);
	text(r, "Replace a placeholder by the value where a command needs it "
	        "(keep the double quotes around it). Type it, do not write it "
	        "down; start the command line with a space so that it stays "
	        "out of shell history.");
	para_end(r);
	table_begin(r, NULL, 2);
	row(r, h, 2);
	for (i = 0; i < p->nsecrets; i++) {
		const struct dr_secret *s = &p->secrets[i];
		char *ph = dr_xasprintf("<secret:%s>", s->name);
		struct dr_buf w;

		dr_buf_init(&w, 0);
		if (s->env)
			dr_buf_printf(&w,
			              "environment variable %s on the "
			              "controller",
			              s->env);
		if (s->file)
			dr_buf_printf(&w, "%sfile %s (mode 0600)",
			              s->env ? "\nor " : "", s->file);
		if (!s->env && !s->file)
			dr_buf_puts(&w, "ask the incident lead");
		row_begin(r);
		cell_begin(r);
		code(r, ph);
		cell_end(r);
		cell(r, w.data);
		row_end(r);
		dr_buf_free(&w);
		free(ph);
	}
	table_end(r);
}

/* ---- the steps --------------------------------------------------------- */

static const char *
default_success(const struct dr_task *t, char *buf, size_t len)
{
	const struct dr_step *st = t->step;
	char d[32];

	switch (st->action) {
	case DR_ACT_RUN:
	case DR_ACT_SCRIPT:
	case DR_ACT_LOCAL:
		return "the command ends with exit status 0 (echo $? prints "
		       "0).";
	case DR_ACT_COPY:
		return "sha256sum -c prints OK for the file on the "
		       "destination.";
	case DR_ACT_PROBE:
		if (st->probe.kind == DR_PROBE_TCP) {
			snprintf(buf, len,
			         "%s accepts a TCP connection within %s.",
			         t->target ? t->target : "the port",
			         dur(st->probe.within_ms, d, sizeof(d)));
			return buf;
		}
		if (st->probe.expect_status)
			snprintf(buf, len, "HTTP %d from %s within %s%s%s%s.",
			         st->probe.expect_status,
			         t->target ? t->target : "the URL",
			         dur(st->probe.within_ms, d, sizeof(d)),
			         st->probe.expect_body ? ", and the body "
			                                 "contains \""
			                               : "",
			         st->probe.expect_body ? st->probe.expect_body
			                               : "",
			         st->probe.expect_body ? "\"" : "");
		else
			snprintf(buf, len, "HTTP 2xx from %s within %s%s%s%s.",
			         t->target ? t->target : "the URL",
			         dur(st->probe.within_ms, d, sizeof(d)),
			         st->probe.expect_body ? ", and the body "
			                                 "contains \""
			                               : "",
			         st->probe.expect_body ? st->probe.expect_body
			                               : "",
			         st->probe.expect_body ? "\"" : "");
		return buf;
	case DR_ACT_APPROVE:
		return "the decision is written and signed below.";
	case DR_ACT_NONE:
		break;
	}
	return "as the plan describes.";
}

static const char *
default_failure(const struct dr_step *st)
{
	switch (st->on_failure) {
	case DR_FAIL_ABORT:
		return "stop. Start nothing new, let steps already running "
		       "finish, and call the incident lead. Do not skip it.";
	case DR_FAIL_CONTINUE:
		return "write the failure down, skip the steps that depend on "
		       "this one, and go on with the rest.";
	case DR_FAIL_PAUSE:
		return "stop here and decide with the incident lead whether to "
		       "retry, skip or abort.";
	}
	return "stop and call the incident lead.";
}

/* Text as a sentence: ends with a full stop unless it has one. */
static void
sentence(struct rb *r, const char *s)
{
	size_t n = strlen(s);

	text(r, s);
	if (n && strchr(".!?:", s[n - 1]) == NULL)
		text(r, ".");
}

static void
labelled(struct rb *r, const char *label, const char *s)
{
	para_begin(r, NULL);
	bold(r, label);
	text(r, " ");
	sentence(r, s);
	para_end(r);
}

static void
step_para(struct rb *r, const char *s)
{
	para_begin(r, NULL);
	text(r, s);
	para_end(r);
}

static void
write_copy(struct rb *r, const struct dr_task *t)
{
	const struct dr_step *st = t->step;
	const struct dr_host *src = t->src_host, *dst = t->host;
	const char *name = base_name(t->src_path ? t->src_path : "file");
	bool manifest =
	    (st->copy.sha256 && strcmp(st->copy.sha256, "manifest") == 0) ||
	    (t->sha256 && strcmp(t->sha256, "manifest") == 0);
	const char *sha = manifest ? NULL : t->sha256;
	char *dst_file, *local;
	struct dr_buf b;

	if (t->dst_path && t->dst_path[0] &&
	    t->dst_path[strlen(t->dst_path) - 1] == '/')
		dst_file = dr_xasprintf("%s%s", t->dst_path, name);
	else
		dst_file = dr_xstrdup(t->dst_path ? t->dst_path : name);
	local = src ? dr_xasprintf("./%s", name)
	            : dr_xstrdup(t->src_path ? t->src_path : name);

	para_begin(r, NULL);
	text(r, "The file passes through your workstation. Never give the "
	        "destination host credentials for the source, and never copy "
	        "directly between the two hosts.");
	para_end(r);

	dr_buf_init(&b, 0);
	if (src) {
		char *hl = host_label(src);
		para_begin(r, NULL);
		textf(r, "1. On your workstation, fetch it from %s:", hl);
		para_end(r);
		free(hl);
		dr_buf_printf(&b, "scp -P %d ", host_port(r, src));
		scp_arg(r, &b, src, t->src_path);
		dr_buf_puts(&b, " ");
		shell_word(&b, local);
		if (manifest) {
			char *m = dr_xasprintf("%s.sha256", t->src_path);
			char *lm = dr_xasprintf("%s.sha256", local);
			dr_buf_printf(&b, "\nscp -P %d ", host_port(r, src));
			scp_arg(r, &b, src, m);
			dr_buf_puts(&b, " ");
			shell_word(&b, lm);
			free(lm);
			free(m);
		}
		pre(r, b.data);
		dr_buf_free(&b);
	}

	para_begin(r, NULL);
	text(r, src ? "2. Check it before sending it on:"
	            : "1. Check the local file:");
	para_end(r);
	dr_buf_init(&b, 0);
	if (sha) {
		char *line = dr_xasprintf("%s  %s", sha, local);
		dr_buf_puts(&b, "echo ");
		dr_sh_quote(&b, line);
		dr_buf_puts(&b, " | sha256sum -c");
		free(line);
	} else if (manifest) {
		char *ldir = dr_xstrdup(local), *sl = strrchr(ldir, '/');
		char *lm = dr_xasprintf("%s.sha256", name);

		if (sl && !(sl == ldir + 1 && ldir[0] == '.')) {
			*sl = '\0';
			dr_buf_puts(&b, "cd ");
			shell_word(&b, sl == ldir ? "/" : ldir);
			dr_buf_puts(&b, " && ");
		}
		dr_buf_puts(&b, "sha256sum -c ");
		shell_word(&b, lm);
		free(lm);
		free(ldir);
	} else {
		dr_buf_puts(&b, "sha256sum ");
		shell_word(&b, local);
		dr_buf_puts(&b, "   # compare with the digest in the backup "
		                "catalogue");
	}
	pre(r, b.data);
	dr_buf_free(&b);

	if (dst) {
		char *hl = host_label(dst);
		struct dr_buf rc;
		char *dir = dr_xstrdup(dst_file);
		char *slash = strrchr(dir, '/');
		bool same_name;

		para_begin(r, NULL);
		textf(r, "%d. Send it to %s and check it there:", src ? 3 : 2,
		      hl);
		para_end(r);
		free(hl);
		dr_buf_init(&b, 0);
		if (slash && slash != dir) {
			*slash = '\0';
			dr_buf_init(&rc, 0);
			dr_buf_puts(&rc, "mkdir -p ");
			shell_word(&rc, dir);
			ssh_line(r, &b, dst, rc.data);
			dr_buf_puts(&b, "\n");
			dr_buf_free(&rc);
		}
		dr_buf_printf(&b, "scp -P %d ", host_port(r, dst));
		shell_word(&b, local);
		dr_buf_puts(&b, " ");
		scp_arg(r, &b, dst, dst_file);
		dr_buf_puts(&b, "\n");
		same_name = strcmp(base_name(dst_file), name) == 0;
		if (manifest && same_name) {
			char *lm = dr_xasprintf("%s.sha256", local);
			char *dm = dr_xasprintf("%s.sha256", dst_file);
			dr_buf_printf(&b, "scp -P %d ", host_port(r, dst));
			shell_word(&b, lm);
			dr_buf_puts(&b, " ");
			scp_arg(r, &b, dst, dm);
			dr_buf_puts(&b, "\n");
			free(dm);
			free(lm);
		}
		dr_buf_init(&rc, 0);
		if (manifest && same_name) {
			char *m = dr_xasprintf("%s.sha256", name);
			dr_buf_puts(&rc, "cd ");
			shell_word(&rc, slash && slash != dir ? dir : "/");
			dr_buf_puts(&rc, " && sha256sum -c ");
			shell_word(&rc, m);
			free(m);
		} else if (sha) {
			char *line = dr_xasprintf("%s  %s", sha, dst_file);
			dr_buf_puts(&rc, "echo ");
			shell_word(&rc, line);
			dr_buf_puts(&rc, " | sha256sum -c");
			free(line);
		} else {
			dr_buf_puts(&rc, "sha256sum ");
			shell_word(&rc, dst_file);
		}
		if (st->copy.mode) {
			dr_buf_printf(&rc, " && chmod %s ", st->copy.mode);
			shell_word(&rc, dst_file);
		}
		ssh_line(r, &b, dst, rc.data);
		dr_buf_free(&rc);
		pre(r, b.data);
		dr_buf_free(&b);
		free(dir);
	} else {
		para_begin(r, NULL);
		text(r, src ? "3. Keep it on your workstation at:"
		            : "2. Keep it at:");
		para_end(r);
		dr_buf_init(&b, 0);
		dr_buf_puts(&b, "mv ");
		shell_word(&b, local);
		dr_buf_puts(&b, " ");
		shell_word(&b, dst_file);
		pre(r, b.data);
		dr_buf_free(&b);
	}
	free(local);
	free(dst_file);
}

static void
write_probe(struct rb *r, const struct dr_task *t)
{
	const struct dr_probe *pr = &t->step->probe;
	char d1[32], d2[32];
	struct dr_buf b;

	para_begin(r, NULL);
	text(r, "From your workstation (it must reach the target network):");
	para_end(r);
	dr_buf_init(&b, 0);
	if (pr->kind == DR_PROBE_TCP) {
		const char *target = t->target ? t->target : "";
		const char *colon = strrchr(target, ':');
		char *hostpart =
		    colon ? dr_xstrndup(target, (size_t)(colon - target))
		          : dr_xstrdup(target);

		dr_buf_puts(&b, "nc -z -w 5 ");
		shell_word(&b, hostpart);
		dr_buf_printf(&b, " %s && echo open", colon ? colon + 1 : "");
		free(hostpart);
	} else if (pr->expect_body) {
		dr_buf_puts(&b, "curl -sS --max-time 10 ");
		dr_sh_quote(&b, t->target ? t->target : "");
		dr_buf_puts(&b, " | grep -F ");
		dr_sh_quote(&b, pr->expect_body);
		if (pr->expect_status == 0) {
			dr_buf_puts(&b, "\ncurl -sS -o /dev/null -w "
			                "'%{http_code}\\n' --max-time 10 ");
			dr_sh_quote(&b, t->target ? t->target : "");
		}
	} else {
		dr_buf_puts(&b, "curl -sS -o /dev/null -w '%{http_code}\\n' "
		                "--max-time 10 ");
		dr_sh_quote(&b, t->target ? t->target : "");
	}
	pre(r, b.data);
	dr_buf_free(&b);
	if (pr->within_ms) {
		para_begin(r, NULL);
		textf(r, "Repeat every %s until it succeeds, for at most %s.",
		      dur(pr->interval_ms ? pr->interval_ms : 5000, d1,
		          sizeof(d1)),
		      dur(pr->within_ms, d2, sizeof(d2)));
		para_end(r);
	}
}

static void
write_secret_note(struct rb *r, const struct dr_task *t)
{
	size_t i;

	if (t->nsecrets == 0)
		return;
	note_begin(r, "note");
	bold(r, "Secrets:");
	for (i = 0; i < t->nsecrets; i++) {
		const struct dr_secret *s =
		    dr_plan_secret(r->p, t->secret_names[i]);
		char *ph = dr_xasprintf("<secret:%s>", t->secret_names[i]);

		text(r, i ? "; " : " ");
		code(r, ph);
		free(ph);
		if (s && s->env)
			textf(r, " from environment variable %s", s->env);
		if (s && s->file)
			textf(r, "%s file %s", s && s->env ? " or" : " from",
			      s->file);
		if (s == NULL || (!s->env && !s->file))
			text(r, " from the incident lead");
	}
	text(r, ". Its read line waits for the value: type it and press "
	        "Enter, so it stays out of the command line and the shell "
	        "history; never write it down.");
	note_end(r);
}

static void
write_step(struct rb *r, const struct dr_task *t, int num)
{
	const struct dr_step *st = t->step;
	bool gate = st->action == DR_ACT_APPROVE;
	bool local = t->host == NULL || st->action == DR_ACT_LOCAL ||
	             st->action == DR_ACT_PROBE || gate;
	bool safe = st->idempotent || st->readonly;
	char buf[512], d1[32], d2[32], *where;
	const char *success, *failure;
	struct dr_buf b;

	if (st->action == DR_ACT_COPY && t->host)
		where = host_label(t->host);
	else if (local)
		where = dr_xstrdup("your workstation");
	else
		where = host_label(t->host);

	/* Header. */
	if (HTML(r)) {
		putf(r, "<div class=\"step%s%s\" id=\"step-%d\">\n",
		     gate ? " gate" : "", t->refused ? " refused" : "", num);
		putf(r,
		     "<div class=\"sh\"><span class=\"box\">\xe2\x98\x90</span>"
		     "<span>%s %d</span><span>",
		     gate ? "Decision" : "Step", num);
		text(r, st->name);
		put(r, "</span><span class=\"where\">");
		text(r, dr_action_name(st->action));
		text(r, " \xc2\xb7 ");
		text(r, where);
		put(r, "</span></div>\n");
	} else {
		putf(r, "#### [ ] %s %d \xc2\xb7 ", gate ? "Decision" : "Step",
		     num);
		text(r, st->name);
		text(r, " \xc2\xb7 ");
		text(r, where);
		put(r, "\n\n");
	}

	/* Facts. */
	if (!gate) {
		if (HTML(r))
			put(r, "<div class=\"facts\">");
		if (!local || st->action == DR_ACT_COPY) {
			const struct dr_host *h = t->host;
			if (h) {
				if (HTML(r))
					put(r, "<span>");
				bold(r, "host");
				textf(r, " %s/%s (%s:%d)",
				      h->site ? h->site->name : "?", h->name,
				      h->address, host_port(r, h));
				if (HTML(r))
					put(r, "</span><span>");
				else
					text(r, " \xc2\xb7 ");
				bold(r, "user");
				textf(r, " %s", host_user(r, h));
				if (HTML(r))
					put(r, "</span>");
				else
					text(r, " \xc2\xb7 ");
			}
		}
		if (HTML(r))
			put(r, "<span>");
		if (st->action == DR_ACT_PROBE) {
			bold(r, "keep trying for");
			textf(r, " %s",
			      dur(st->probe.within_ms, d1, sizeof(d1)));
		} else {
			bold(r, "timeout");
			textf(r, " %s", dur(st->timeout_ms, d1, sizeof(d1)));
		}
		if (HTML(r))
			put(r, "</span><span>");
		else
			text(r, " \xc2\xb7 ");
		bold(r, "retries");
		if (st->retries > 0)
			textf(r, " %d, %s apart", st->retries,
			      dur(st->retry_delay_ms, d2, sizeof(d2)));
		else
			text(r, " none");
		if (HTML(r))
			put(r, "</span><span>");
		else
			text(r, " \xc2\xb7 ");
		bold(r, "idempotent");
		text(r, st->readonly     ? " yes (read-only)"
		        : st->idempotent ? " yes (safe to re-run)"
		                         : " no (check before re-running)");
		if (HTML(r))
			put(r, "</span></div>\n");
		else
			put(r, "\n\n");
	}

	if (t->refused) {
		note_begin(r, "warn");
		bold(r, "Refused in a drill:");
		textf(r, " %s. Do not run it; tick the box as skipped.",
		      t->refusal ? t->refusal
		                 : "a drill never touches production");
		note_end(r);
		goto done;
	}

	/* The action. */
	dr_buf_init(&b, 0);
	switch (st->action) {
	case DR_ACT_RUN:
	case DR_ACT_SCRIPT:
		if (t->host == NULL) {
			step_para(r, "On your workstation:");
			pre(r, t->display ? t->display : "");
			break;
		}
		if (st->action == DR_ACT_SCRIPT && st->script) {
			para_begin(r, NULL);
			text(r,
			     "From your workstation, feed the plan's script ");
			code(r, st->script);
			text(r, " to the host:");
			para_end(r);
		}
		if (st->action == DR_ACT_RUN && t->display &&
		    strchr(t->display, '\n') != NULL) {
			/* A script with its variables: log in, then paste
			 * it as it is (the shell reads it line by line). */
			para_begin(r, NULL);
			text(r, "Log in to the host:");
			para_end(r);
			dr_buf_printf(&b, "ssh -p %d ", host_port(r, t->host));
			ssh_dest(r, &b, t->host);
			pre(r, b.data);
			para_begin(r, NULL);
			text(r, "and paste this script into its shell:");
			para_end(r);
			pre(r, t->display);
			break;
		}
		ssh_line(r, &b, t->host, t->display ? t->display : "");
		if (st->action == DR_ACT_SCRIPT && st->script && t->display &&
		    strstr(t->display, "sh -s") != NULL) {
			char *path =
			    st->script[0] == '/' || r->p->dir == NULL
			        ? dr_xstrdup(st->script)
			        : dr_xasprintf("%s/%s", r->p->dir, st->script);
			dr_buf_puts(&b, " < ");
			shell_word(&b, path);
			free(path);
		}
		pre(r, b.data);
		break;
	case DR_ACT_LOCAL:
		step_para(r, "On your workstation:");
		pre(r, t->display ? t->display : "");
		break;
	case DR_ACT_COPY:
		write_copy(r, t);
		break;
	case DR_ACT_PROBE:
		write_probe(r, t);
		break;
	case DR_ACT_APPROVE:
		if (HTML(r)) {
			para_begin(r, "q");
			text(r, t->prompt ? t->prompt : st->prompt);
			para_end(r);
			para_begin(r, NULL);
			text(r, "Do not go on until the decision is made and "
			        "signed. If the answer is no, stop: the steps "
			        "after this one wait.");
			para_end(r);
			para_begin(r, NULL);
			text(r, "\xe2\x98\x90 yes   \xe2\x98\x90 no   ");
			blank(r, "Approved by");
			blank(r, "at");
			para_end(r);
			break;
		}
		put(r, "> **DECISION:** ");
		text(r, t->prompt ? t->prompt : st->prompt);
		put(r, "\n>\n> ");
		text(r,
		     "Do not go on until the decision is made and signed. If "
		     "the answer is no, stop: the steps after this one wait.");
		put(r, "\n>\n> [ ] yes   [ ] no   ");
		blank(r, "Approved by");
		text(r, "  ");
		blank(r, "at");
		put(r, "\n\n");
		break;
	case DR_ACT_NONE:
		break;
	}
	dr_buf_free(&b);
	write_secret_note(r, t);

	if (!gate) {
		success = st->success ? st->success
		                      : default_success(t, buf, sizeof(buf));
		labelled(r, "Success:", success);
		failure =
		    st->on_error_hint ? st->on_error_hint : default_failure(st);
		para_begin(r, NULL);
		bold(r, "If it fails:");
		text(r, " ");
		if (st->retries == 1)
			textf(r, "retry once after %s%s; then ",
			      dur(st->retry_delay_ms, d1, sizeof(d1)),
			      safe ? ""
			           : " (first check whether it already took "
			             "effect)");
		else if (st->retries > 1)
			textf(r, "retry up to %d times, %s apart%s; then ",
			      st->retries,
			      dur(st->retry_delay_ms, d1, sizeof(d1)),
			      safe ? ""
			           : " (first check whether it already took "
			             "effect)");
		sentence(r, failure);
		if (st->unreachable == DR_UNREACH_CONTINUE)
			text(r, " If the host cannot be reached at all, "
			        "record it as unreachable and go on.");
		para_end(r);
	}

done:
	if (gate) {
		if (HTML(r))
			put(r, "</div>\n");
	} else if (HTML(r)) {
		put(r, "<p class=\"done\">");
		blank(r, "done at");
		put(r, " &nbsp; ");
		blank(r, "by");
		put(r, " &nbsp; ");
		blank(r, "notes");
		put(r, "</p>\n</div>\n");
	} else {
		put(r, "- [ ] ");
		blank(r, "done at:");
		text(r, "  ");
		blank(r, "by:");
		put(r, "\n\n");
	}
	free(where);
}

static void
tenant_vars(struct rb *r, const struct dr_tenant *tn)
{
	size_t i;

	if (tn->nvars == 0)
		return;
	para_begin(r, NULL);
	bold(r, "Values:");
	for (i = 0; i < tn->nvars; i++) {
		textf(r, "%s%s = ", i ? ", " : " ", tn->vars[i].name);
		code(r, tn->vars[i].value);
	}
	para_end(r);
}

static void
service_intro(struct rb *r, const struct dr_service *sv, const size_t *order,
              size_t from, size_t n)
{
	const struct dr_graph *g = r->g;
	struct dr_buf tn;
	char d[32];
	size_t i, j, ntn = 0;

	if (sv->description) {
		para_begin(r, NULL);
		text(r, sv->description);
		para_end(r);
	}
	/* Tenants of this service in this section, in document order. */
	dr_buf_init(&tn, 0);
	for (i = from; i < n; i++) {
		const struct dr_task *t = &g->tasks[order[i]];
		bool dup = false;

		if (t->service != sv || t->step->cleanup)
			break;
		if (t->tenant == NULL)
			continue;
		for (j = from; j < i; j++)
			if (g->tasks[order[j]].tenant == t->tenant)
				dup = true;
		if (!dup)
			dr_buf_printf(&tn, "%s%s (%d)", ntn++ ? ", " : "",
			              t->tenant->name, t->tenant->priority);
	}
	if (HTML(r))
		put(r, "<div class=\"facts\"><span>");
	bold(r, "scope");
	text(r, sv->scope == DR_SCOPE_TENANT ? " per tenant" : " global, once");
	if (HTML(r))
		put(r, "</span><span>");
	else
		text(r, " \xc2\xb7 ");
	bold(r, "RTO");
	text(r, sv->rto_ms ? " " : " none set");
	if (sv->rto_ms)
		text(r, dur(sv->rto_ms, d, sizeof(d)));
	if (sv->rpo_ms) {
		if (HTML(r))
			put(r, "</span><span>");
		else
			text(r, " \xc2\xb7 ");
		bold(r, "RPO");
		textf(r, " %s", dur(sv->rpo_ms, d, sizeof(d)));
	}
	if (sv->nafter) {
		if (HTML(r))
			put(r, "</span><span>");
		else
			text(r, " \xc2\xb7 ");
		bold(r, "after");
		for (i = 0; i < sv->nafter; i++)
			textf(r, "%s%s", i ? ", " : " ", sv->after[i]);
	}
	if (HTML(r))
		put(r, "</span></div>\n");
	else
		put(r, "\n\n");
	if (ntn) {
		para_begin(r, NULL);
		bold(r, "Tenants, in priority order:");
		text(r, " ");
		text(r, tn.data);
		para_end(r);
	}
	dr_buf_free(&tn);
}

/* One row per service section for the overview table. */
struct section {
	int tier;
	int num; /* service number in its tier */
	const struct dr_service *sv;
	bool cleanup;
	size_t ntenants;
	int first, last; /* step numbers */
};

static void
write_overview(struct rb *r, const struct section *sec, size_t nsec)
{
	static const char *const h[] = {"section",     "tier", "service",
	                                "tenants",     "RTO",  "steps",
	                                "recovered at"};
	char d[32], num[32], tier[16], tn[32], steps[48];
	size_t i;

	heading(r, 2, "overview", NULL, "Recovery order at a glance");
	table_begin(r, "toc", 7);
	row(r, h, 7);
	for (i = 0; i < nsec; i++) {
		const struct section *s = &sec[i];

		if (s->cleanup) {
			snprintf(num, sizeof(num), "C");
			snprintf(tier, sizeof(tier), "after");
		} else {
			snprintf(num, sizeof(num), "%d.%d", s->tier, s->num);
			snprintf(tier, sizeof(tier), "%d", s->tier);
		}
		snprintf(tn, sizeof(tn), "%zu", s->ntenants);
		if (s->first == s->last)
			snprintf(steps, sizeof(steps), "%d", s->first);
		else
			snprintf(steps, sizeof(steps), "%d\xe2\x80\x93%d",
			         s->first, s->last);
		{
			const char *v[] = {
			    num,
			    tier,
			    s->cleanup ? "cleanup" : s->sv->name,
			    s->ntenants ? tn : "\xe2\x80\x94",
			    !s->cleanup && s->sv->rto_ms
			        ? dur(s->sv->rto_ms, d, sizeof(d))
			        : "\xe2\x80\x94",
			    steps,
			    ""};
			row(r, v, 7);
		}
	}
	table_end(r);
}

/*
 * Walks the document order; with emit false only fills sec (the overview
 * needs the step ranges before the steps are written).
 */
static size_t
walk(struct rb *r, const size_t *order, bool emit, struct section *sec)
{
	const struct dr_graph *g = r->g;
	const struct dr_service *cur_sv = NULL;
	const struct dr_tenant *cur_tn = NULL;
	int cur_tier = -1, svc_num = 0, tn_num = 0, step = 0;
	bool in_cleanup = false, first_tier = true;
	size_t i, nsec = 0;
	char title[512], id[64], d[32];

	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[order[i]];
		bool cleanup = t->step->cleanup;
		bool new_sv = false;

		if (cleanup && !in_cleanup) {
			in_cleanup = true;
			cur_sv = NULL;
			cur_tn = NULL;
			if (emit) {
				heading(r, 2, "cleanup", "tier",
				        "After the run: cleanup");
				para_begin(r, NULL);
				text(r, "These steps run after the plan, "
				        "whatever its outcome.");
				para_end(r);
			}
			sec[nsec].cleanup = true;
			sec[nsec].first = step + 1;
			sec[nsec].ntenants = 0;
			sec[nsec].sv = t->service;
			nsec++;
		} else if (!cleanup && t->tier != cur_tier) {
			cur_tier = t->tier;
			svc_num = 0;
			cur_sv = NULL;
			if (emit) {
				snprintf(title, sizeof(title), "Tier %d",
				         cur_tier);
				snprintf(id, sizeof(id), "tier-%d", cur_tier);
				heading(r, 2, id, "tier", title);
				para_begin(r, NULL);
				if (first_tier)
					text(r, "Start here.");
				else
					text(r, "Start this tier only when "
					        "every step of the tier before "
					        "has ended.");
				text(r, " ");
				blank(r, "Tier started at");
				text(r, "   ");
				blank(r, "ended at");
				para_end(r);
			}
			first_tier = false;
		}
		if (!in_cleanup && t->service != cur_sv) {
			cur_sv = t->service;
			cur_tn = NULL;
			tn_num = 0;
			svc_num++;
			new_sv = true;
			sec[nsec].tier = cur_tier;
			sec[nsec].num = svc_num;
			sec[nsec].sv = cur_sv;
			sec[nsec].cleanup = false;
			sec[nsec].first = step + 1;
			sec[nsec].ntenants = 0;
			nsec++;
			if (emit) {
				if (cur_sv->rto_ms)
					snprintf(
					    title, sizeof(title),
					    "%d.%d %s \xe2\x80\x94 RTO %s",
					    cur_tier, svc_num, cur_sv->name,
					    dur(cur_sv->rto_ms, d, sizeof(d)));
				else
					snprintf(title, sizeof(title),
					         "%d.%d %s", cur_tier, svc_num,
					         cur_sv->name);
				snprintf(id, sizeof(id), "s-%d-%d", cur_tier,
				         svc_num);
				if (HTML(r))
					put(r, "<div class=\"intro\">\n");
				heading(r, 3, id, NULL, title);
				service_intro(r, cur_sv, order, i, g->ntasks);
				if (HTML(r))
					put(r, "</div>\n");
			}
		}
		if (!in_cleanup && t->tenant &&
		    (t->tenant != cur_tn || new_sv)) {
			cur_tn = t->tenant;
			tn_num++;
			sec[nsec - 1].ntenants++;
			if (emit) {
				snprintf(title, sizeof(title),
				         "%d.%d.%d %s \xe2\x80\x94 %s, tenant "
				         "priority %d",
				         cur_tier, svc_num, tn_num,
				         cur_sv->name, cur_tn->name,
				         cur_tn->priority);
				if (HTML(r))
					put(r, "<div class=\"intro\">\n");
				heading(r, 4, NULL, NULL, title);
				tenant_vars(r, cur_tn);
				if (HTML(r))
					put(r, "</div>\n");
			}
		}
		step++;
		sec[nsec - 1].last = step;
		if (emit) {
			write_step(r, t, step);
			if (!in_cleanup && i + 1 < g->ntasks) {
				const struct dr_task *nx =
				    &g->tasks[order[i + 1]];
				bool end = nx->service != cur_sv ||
				           nx->step->cleanup ||
				           nx->tenant != cur_tn;
				if (end && (cur_sv->rto_ms || cur_tn)) {
					para_begin(r, NULL);
					if (cur_tn)
						textf(r, "%s for %s ",
						      cur_sv->name,
						      cur_tn->name);
					else
						textf(r, "%s ", cur_sv->name);
					blank(r, "recovered at");
					para_end(r);
				}
			}
		}
	}
	return nsec;
}

int
dr_runbook_write(const struct dr_graph *g, const struct dr_runbook_opts *opts,
                 FILE *out)
{
	struct rb r;
	size_t *order = NULL, i, nhosts = 0, nsec;
	struct section *sec = NULL;
	char *from = NULL, *title = NULL, *foot = NULL;
	uint64_t now;
	int rc = 0;

	if (g == NULL || opts == NULL || out == NULL || g->to == NULL)
		return DR_EINVAL;
	if (opts->format != DR_RUNBOOK_MD && opts->format != DR_RUNBOOK_HTML)
		return DR_EINVAL;
	memset(&r, 0, sizeof(r));
	r.out = out;
	r.fmt = opts->format;
	r.g = g;
	r.p = g->plan;

	for (i = 0; i < r.p->nsites; i++)
		nhosts += r.p->sites[i].nhosts;
	r.keys = dr_xcalloc(nhosts ? nhosts : 1, sizeof(*r.keys));
	for (i = 0; i < r.p->nsites; i++) {
		size_t j;
		for (j = 0; j < r.p->sites[i].nhosts; j++)
			r.keys[r.nkeys++].host = &r.p->sites[i].hosts[j];
	}
	if (opts->known_hosts &&
	    (rc = load_known_hosts(&r, opts->known_hosts)) != 0)
		goto out;

	order = dr_xmalloc(sizeof(size_t) * (g->ntasks ? g->ntasks : 1));
	if ((rc = doc_order(g, order)) != 0)
		goto out;
	sec = dr_xcalloc(g->ntasks + 1, sizeof(*sec));
	nsec = walk(&r, order, false, sec);

	now = opts->now_wall_ms ? opts->now_wall_ms : dr_now_wall_ms();
	from = from_list(g);
	title = dr_xasprintf("Runbook %s: %s \xe2\x86\x92 %s (%s)",
	                     r.p->name ? r.p->name : "", from, g->to->name,
	                     g->mode == DR_MODE_DRILL ? "drill" : "failover");
	foot = dr_xasprintf("%s \xc2\xb7 %s \xe2\x86\x92 %s \xc2\xb7 %s",
	                    r.p->name ? r.p->name : "", from, g->to->name,
	                    g->mode == DR_MODE_DRILL ? "drill" : "failover");

	doc_begin(&r, title, foot);
	write_header(&r, from, now);
	write_contacts(&r);
	write_before(&r, from);
	write_hosts(&r);
	write_secrets(&r);
	write_overview(&r, sec, nsec);
	memset(sec, 0, sizeof(*sec) * (g->ntasks + 1));
	walk(&r, order, true, sec);

	heading(&r, 2, "end", NULL, "Sign-off");
	para_begin(&r, NULL);
	text(&r, "Every service is verified healthy at the target, "
	         "credentials are rotated, and the lost sites stay fenced "
	         "until they are rebuilt.");
	para_end(&r);
	para_begin(&r, NULL);
	blank(&r, "Recovery complete at");
	text(&r, "   ");
	blank(&r, "Signed");
	para_end(&r);
	doc_end(&r);

	if (fflush(out) != 0 || ferror(out))
		rc = DR_EIO;
out:
	for (i = 0; i < r.nkeys; i++)
		free(r.keys[i].text);
	free(r.keys);
	free(order);
	free(sec);
	free(from);
	free(title);
	free(foot);
	return rc;
}
