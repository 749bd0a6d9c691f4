/*
 * runbook-pdf.c: the runbook as PDF, printed by headless Chromium.
 *
 * Chromium lays out the HTML runbook for A4 (its @page rules, repeated
 * table headers, page margin boxes) but does not fill in
 * target-counter(), so a printed table of contents would have no page
 * numbers. It does write a named destination for each link target, with
 * its page. So the runbook is printed twice: the first print tells where
 * every section starts, and the second has those numbers written into the
 * table of contents. The page column has a fixed width in both, so the
 * numbers do not move anything.
 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/runbook.h"

/* ---- reading the PDF Chromium wrote ------------------------------------ */

/* Where needle (m bytes) first is in hay (n bytes), or NULL. */
static const char *
mem_find(const char *hay, size_t n, const char *needle, size_t m)
{
	const char *p = hay, *end = hay + n;

	if (m == 0 || n < m)
		return NULL;
	while ((p = memchr(p, needle[0], (size_t)(end - p))) != NULL) {
		if ((size_t)(end - p) < m)
			return NULL;
		if (memcmp(p, needle, m) == 0)
			return p;
		p++;
	}
	return NULL;
}

struct pdf {
	const char *s;
	size_t len;
	size_t *off; /* object number -> offset; 0: none */
	size_t nobj;
	size_t xref; /* where the cross-reference table starts */
};

static const char *
skip_ws(const char *p, const char *end)
{
	while (p < end && (*p == ' ' || *p == '\n' || *p == '\r' ||
	                   *p == '\t' || *p == '\f' || *p == '\0'))
		p++;
	return p;
}

/* Reads a non-negative integer at *p; false when there is none. */
static bool
read_num(const char **p, const char *end, size_t *v)
{
	const char *q = *p;
	size_t n = 0;

	if (q >= end || *q < '0' || *q > '9')
		return false;
	while (q < end && *q >= '0' && *q <= '9') {
		if (n > (SIZE_MAX - 9) / 10)
			return false;
		n = n * 10 + (size_t)(*q++ - '0');
	}
	*p = q;
	*v = n;
	return true;
}

/* The classic cross-reference table that startxref points to. */
static bool
read_xref(struct pdf *f)
{
	const char *end = f->s + f->len, *p, *sx = NULL, *q;
	size_t at, first, count, i;

	for (q = end - 9; q >= f->s && q + 9 <= end && end - q < 4096; q--)
		if (memcmp(q, "startxref", 9) == 0) {
			sx = q;
			break;
		}
	if (sx == NULL)
		return false;
	p = skip_ws(sx + 9, end);
	if (!read_num(&p, end, &at) || at >= f->len || f->len - at < 5 ||
	    memcmp(f->s + at, "xref", 4) != 0)
		return false;
	f->xref = at;
	p = skip_ws(f->s + at + 4, end);
	while (read_num(&p, end, &first)) {
		p = skip_ws(p, end);
		if (!read_num(&p, end, &count) || count > f->len / 18)
			return false;
		p = skip_ws(p, end);
		if (first + count > f->nobj) {
			f->off = dr_xrealloc(f->off,
			                     (first + count) * sizeof(size_t));
			memset(f->off + f->nobj, 0,
			       (first + count - f->nobj) * sizeof(size_t));
			f->nobj = first + count;
		}
		for (i = 0; i < count; i++) {
			size_t o, gen;
			if (!read_num(&p, end, &o))
				return false;
			p = skip_ws(p, end);
			if (!read_num(&p, end, &gen))
				return false;
			p = skip_ws(p, end);
			if (p >= end)
				return false;
			f->off[first + i] = *p == 'n' && o < f->len ? o : 0;
			p = skip_ws(p + 1, end);
		}
	}
	return f->nobj > 0;
}

/* The text of object n, up to its endobj; NULL when there is none. */
static const char *
object(const struct pdf *f, size_t n, const char **end)
{
	const char *p, *e, *lim = f->s + f->len;
	size_t num;

	if (n == 0 || n >= f->nobj || f->off[n] == 0)
		return NULL;
	p = f->s + f->off[n];
	if (!read_num(&p, lim, &num) || num != n)
		return NULL;
	e = mem_find(p, (size_t)(lim - p), "endobj", 6);
	if (e == NULL)
		return NULL;
	*end = e;
	return p;
}

/* The object number of "KEY N 0 R" inside [p, end); 0: none. */
static size_t
ref_of(const char *p, const char *end, const char *key)
{
	size_t kl = strlen(key), n;
	const char *q = mem_find(p, (size_t)(end - p), key, kl);

	if (q == NULL)
		return 0;
	q = skip_ws(q + kl, end);
	return read_num(&q, end, &n) ? n : 0;
}

/* Appends the pages under the page tree node n, in order. */
static bool
walk_pages(const struct pdf *f, size_t n, size_t *page_of, size_t *npages,
           int depth)
{
	const char *e, *p = object(f, n, &e), *k;

	if (p == NULL || depth > 32)
		return false;
	if (mem_find(p, (size_t)(e - p), "/Type /Pages", 12) == NULL) {
		page_of[n] = ++*npages;
		return true;
	}
	k = mem_find(p, (size_t)(e - p), "/Kids", 5);
	if (k == NULL)
		return false;
	k = skip_ws(k + 5, e);
	if (k >= e || *k != '[')
		return false;
	k++;
	for (;;) {
		size_t kid, gen;

		k = skip_ws(k, e);
		if (k < e && *k == ']')
			return true;
		if (!read_num(&k, e, &kid))
			return false;
		k = skip_ws(k, e);
		if (!read_num(&k, e, &gen))
			return false;
		k = skip_ws(k, e);
		if (k >= e || *k != 'R')
			return false;
		k++;
		if (kid >= f->nobj ||
		    !walk_pages(f, kid, page_of, npages, depth + 1))
			return false;
	}
}

/* A PDF name after its '/', with #xx escapes decoded. */
static char *
read_name(const char **p, const char *end)
{
	struct dr_buf b;
	const char *q = *p;

	dr_buf_init(&b, 0);
	while (q < end && strchr(" \t\r\n\f/[]<>()", *q) == NULL) {
		char c = *q++;
		if (c == '#' && end - q >= 2) {
			char hex[3] = {q[0], q[1], 0};
			c = (char)strtol(hex, NULL, 16);
			q += 2;
		}
		dr_buf_append(&b, &c, 1);
	}
	*p = q;
	if (b.data == NULL)
		return dr_xstrdup("");
	return dr_buf_steal(&b);
}

void
dr_runbook_pages_free(struct dr_runbook_page *v, size_t n)
{
	size_t i;

	for (i = 0; v && i < n; i++)
		free((char *)v[i].id);
	free(v);
}

int
dr_runbook_pdf_pages(const char *pdf, size_t len, struct dr_runbook_page **out,
                     size_t *n)
{
	struct pdf f = {.s = pdf, .len = len};
	struct dr_runbook_page *v = NULL;
	size_t root, pages, dests, npages = 0, cap = 0, nv = 0;
	size_t *page_of = NULL;
	const char *p, *e, *tr;
	int rc = DR_EINVAL;

	*out = NULL;
	*n = 0;
	if (pdf == NULL || len < 16 || !read_xref(&f))
		goto out;
	/* the trailer follows the table */
	tr = mem_find(pdf + f.xref, len - f.xref, "trailer", 7);
	if (tr == NULL || (root = ref_of(tr, pdf + len, "/Root")) == 0 ||
	    (p = object(&f, root, &e)) == NULL)
		goto out;
	pages = ref_of(p, e, "/Pages");
	dests = ref_of(p, e, "/Dests");
	if (pages == 0 || dests == 0)
		goto out;
	page_of = dr_xcalloc(f.nobj, sizeof(size_t));
	if (!walk_pages(&f, pages, page_of, &npages, 0))
		goto out;
	if ((p = object(&f, dests, &e)) == NULL ||
	    (p = mem_find(p, (size_t)(e - p), "<<", 2)) == NULL)
		goto out;
	p += 2;
	for (;;) {
		size_t pg;
		char *name;
		void *vp = v;

		p = skip_ws(p, e);
		if (p >= e || *p != '/')
			break;
		p++;
		name = read_name(&p, e);
		p = skip_ws(p, e);
		if (p >= e || *p != '[' ||
		    (p = skip_ws(p + 1, e), !read_num(&p, e, &pg))) {
			free(name);
			break;
		}
		p = memchr(p, ']', (size_t)(e - p));
		if (p == NULL) {
			free(name);
			break;
		}
		p++;
		if (pg >= f.nobj || page_of[pg] == 0 || page_of[pg] > INT_MAX) {
			free(name);
			continue;
		}
		dr_grow(&vp, &cap, nv + 1, sizeof(*v));
		v = vp;
		v[nv].id = name;
		v[nv++].page = (int)page_of[pg];
	}
	*out = v;
	*n = nv;
	v = NULL;
	rc = 0;
out:
	dr_runbook_pages_free(v, nv);
	free(page_of);
	free(f.off);
	return rc;
}

/* ---- Chromium ----------------------------------------------------------- */

/* $DROVER_CHROMIUM, or the first browser of the list found in PATH. */
static char *
find_chromium(void)
{
	static const char *const names[] = {"chromium", "chromium-browser",
	                                    "google-chrome",
	                                    "google-chrome-stable"};
	const char *env = getenv("DROVER_CHROMIUM"), *path = getenv("PATH");
	char *dirs, *dir, *save = NULL, *cand;
	size_t i;

	if (env && *env)
		return access(env, X_OK) == 0 ? dr_xstrdup(env) : NULL;
	for (i = 0; i < DR_NELEM(names); i++) {
		dirs = dr_xstrdup(path && *path ? path : "/usr/bin:/bin");
		for (dir = strtok_r(dirs, ":", &save); dir;
		     dir = strtok_r(NULL, ":", &save)) {
			cand = dr_xasprintf("%s/%s", dir, names[i]);
			if (access(cand, X_OK) == 0) {
				free(dirs);
				return cand;
			}
			free(cand);
		}
		free(dirs);
	}
	return NULL;
}

/* Prints the HTML file html to pdf with Chromium; its messages go to log. */
static int
print_pdf(const char *chromium, const char *dir, const char *html,
          const char *pdf, const char *log)
{
	char *out = dr_xasprintf("--print-to-pdf=%s", pdf);
	char *profile = dr_xasprintf("--user-data-dir=%s/profile", dir);
	char *url = dr_xasprintf("file://%s", html);
	const char *argv[12];
	int n = 0, status, fd;
	pid_t pid;

	argv[n++] = chromium;
	argv[n++] = "--headless";
	if (geteuid() == 0)
		argv[n++] = "--no-sandbox"; /* Chromium refuses root without */
	argv[n++] = "--disable-gpu";
	argv[n++] = "--no-pdf-header-footer";
	/* A tagged PDF holds an element per table cell: 16 MB instead of
	 * 1 for 1,300 tenants. The HTML is the accessible form. */
	argv[n++] = "--disable-pdf-tagging";
	argv[n++] = profile;
	argv[n++] = out;
	argv[n++] = url;
	argv[n] = NULL;
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		if (fd >= 0) {
			dup2(fd, 1);
			dup2(fd, 2);
			close(fd);
		}
		fd = open("/dev/null", O_RDONLY);
		if (fd >= 0) {
			dup2(fd, 0);
			close(fd);
		}
		execv(chromium, (char *const *)argv);
		_exit(127);
	}
	free(out);
	free(profile);
	free(url);
	if (pid < 0) {
		fprintf(stderr, "drover: runbook: cannot start %s: %s\n",
		        chromium, strerror(errno));
		return DR_EEXIT;
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return DR_EEXIT;
	if (WIFEXITED(status) && WEXITSTATUS(status) == 0 &&
	    access(pdf, R_OK) == 0)
		return 0;
	fprintf(stderr,
	        "drover: runbook: %s failed to print the runbook (%s %d); its "
	        "messages were in %s\n",
	        chromium, WIFEXITED(status) ? "exit" : "signal",
	        WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status),
	        log);
	return DR_EEXIT;
}

/* Renders the HTML runbook with opts into path. */
static int
render_html(const struct dr_graph *g, const struct dr_runbook_opts *opts,
            const char *path)
{
	FILE *f = fopen(path, "w");
	int rc;

	if (f == NULL)
		return DR_EIO;
	rc = dr_runbook_write(g, opts, f);
	if (fclose(f) != 0 && rc == 0)
		rc = DR_EIO;
	return rc;
}

/* Removes the work directory and what Chromium left in its profile. */
static void
rm_tree(const char *path, int depth)
{
	struct stat st;
	struct dirent *e;
	DIR *d;

	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode) && depth < 32 && (d = opendir(path))) {
		while ((e = readdir(d)) != NULL) {
			char *sub;
			if (strcmp(e->d_name, ".") == 0 ||
			    strcmp(e->d_name, "..") == 0)
				continue;
			sub = dr_xasprintf("%s/%s", path, e->d_name);
			rm_tree(sub, depth + 1);
			free(sub);
		}
		closedir(d);
	}
	remove(path);
}

int
dr_runbook_write_pdf(const struct dr_graph *g,
                     const struct dr_runbook_opts *opts, FILE *out)
{
	static const struct dr_runbook_page none[1] = {{"", 0}};
	const char *tmp = getenv("TMPDIR");
	struct dr_runbook_opts o = *opts;
	struct dr_runbook_page *pages = NULL;
	char *chromium = find_chromium(), *dir = NULL, *html = NULL;
	char *pdf = NULL, *log = NULL, *data = NULL;
	size_t len = 0, npages = 0;
	int rc;

	if (chromium == NULL) {
		fprintf(stderr,
		        "drover: runbook: --format pdf prints with headless "
		        "Chromium, and none was found (chromium, "
		        "chromium-browser or google-chrome in PATH, or "
		        "DROVER_CHROMIUM): install it (Debian: apt-get install "
		        "chromium), or write --format html and print that from "
		        "a browser\n");
		return DR_ENOTFOUND;
	}
	dir = dr_xasprintf("%s/drover-runbook-XXXXXX",
	                   tmp && *tmp ? tmp : "/tmp");
	if (mkdtemp(dir) == NULL) {
		fprintf(stderr, "drover: runbook: %s: %s\n", dir,
		        strerror(errno));
		free(dir);
		free(chromium);
		return DR_EIO;
	}
	html = dr_xasprintf("%s/runbook.html", dir);
	pdf = dr_xasprintf("%s/runbook.pdf", dir);
	log = dr_xasprintf("%s/chromium.log", dir);

	/* First print: the page column is there, its numbers not yet. */
	o.format = DR_RUNBOOK_HTML;
	o.pages = none;
	o.npages = 0;
	if ((rc = render_html(g, &o, html)) != 0 ||
	    (rc = print_pdf(chromium, dir, html, pdf, log)) != 0)
		goto out;
	if ((rc = dr_read_file(pdf, 0, &data, &len)) != 0)
		goto out;
	if (dr_runbook_pdf_pages(data, len, &pages, &npages) == 0 &&
	    npages > 0) {
		o.pages = pages;
		o.npages = npages;
		free(data);
		data = NULL;
		if ((rc = render_html(g, &o, html)) != 0 ||
		    (rc = print_pdf(chromium, dir, html, pdf, log)) != 0 ||
		    (rc = dr_read_file(pdf, 0, &data, &len)) != 0)
			goto out;
	} else {
		fprintf(stderr, "drover: runbook: the PDF names no pages of "
		                "its sections; its contents have no page "
		                "numbers\n");
	}
	if (fwrite(data, 1, len, out) != len)
		rc = DR_EIO;
out:
	if (rc == 0 || rc == DR_EIO)
		rm_tree(dir, 0);
	else
		fprintf(stderr, "drover: runbook: kept %s to look at\n", dir);
	dr_runbook_pages_free(pages, npages);
	free(data);
	free(chromium);
	free(dir);
	free(html);
	free(pdf);
	free(log);
	return rc;
}
