/*
 * byhand.c: the shell lines to do a task by hand (see byhand.h).
 */
#include "drover/byhand.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "drover/common.h"
#include "drover/shcmd.h"

int
dr_byhand_port(const struct dr_plan *p, const struct dr_host *h)
{
	if (h->port > 0)
		return h->port;
	if (p->defaults.port > 0)
		return p->defaults.port;
	return 22;
}

const char *
dr_byhand_user(const struct dr_plan *p, const struct dr_host *h)
{
	if (h->user)
		return h->user;
	return p->defaults.user ? p->defaults.user : "root";
}

char *
dr_byhand_label(const struct dr_host *h)
{
	return dr_xasprintf("%s/%s", h->site ? h->site->name : "?", h->name);
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

/*
 * The options every ssh and scp line carries: the plan's key, and its
 * known_hosts file with strict checking, so that a host whose key is not
 * pinned there is refused (no trust on first use during a disaster).
 */
static void
conn_opts(const struct dr_plan *p, struct dr_buf *b, const struct dr_host *h)
{
	const char *kh =
	    h->known_hosts ? h->known_hosts : p->defaults.known_hosts;
	char *o;

	if (p->defaults.identity) {
		dr_buf_puts(b, "-i ");
		shell_word(b, p->defaults.identity);
		dr_buf_puts(b, " ");
	}
	if (kh) {
		o = dr_xasprintf("UserKnownHostsFile=%s", kh);
		dr_buf_puts(b, "-o ");
		shell_word(b, o);
		dr_buf_puts(b, " -o StrictHostKeyChecking=yes ");
		free(o);
	}
}

/* "ssh OPTS -p PORT user@address". */
static void
ssh_dest(const struct dr_plan *p, struct dr_buf *b, const struct dr_host *h)
{
	char *s = dr_xasprintf("%s@%s", dr_byhand_user(p, h), h->address);

	dr_buf_puts(b, "ssh ");
	conn_opts(p, b, h);
	dr_buf_printf(b, "-p %d ", dr_byhand_port(p, h));
	shell_word(b, s);
	free(s);
}

/* Characters that double quotes do not keep literal (! for bash's
 * history expansion at a prompt). */
#define DQ_SPECIAL "\"$`\\!"

/*
 * cmd as one argument of the ssh line, in the simplest quoting that keeps
 * it as it is: single quotes; double quotes when it holds a single quote
 * and nothing double quotes would expand; otherwise single quotes with
 * '\'' for each quote inside (safe, but hard to read and type).
 */
static void
remote_arg(struct dr_buf *b, const char *cmd)
{
	if (strchr(cmd, '\'') != NULL && strpbrk(cmd, DQ_SPECIAL) == NULL) {
		dr_buf_printf(b, "\"%s\"", cmd);
		return;
	}
	dr_sh_quote(b, cmd);
}

/* "ssh OPTS -p PORT user@address 'CMD'": cmd quoted once more. */
static void
ssh_line(const struct dr_plan *p, struct dr_buf *b, const struct dr_host *h,
         const char *cmd)
{
	ssh_dest(p, b, h);
	dr_buf_puts(b, " ");
	remote_arg(b, cmd);
}

/* "scp OPTS -P PORT FROM TO" where one side is user@address:path on h
 * (IPv6 addresses in brackets) and the other the local file. */
static void
scp_line(const struct dr_plan *p, struct dr_buf *b, const struct dr_host *h,
         const char *path, const char *local, bool to_host)
{
	char *remote =
	    dr_xasprintf(strchr(h->address, ':') ? "%s@[%s]:%s" : "%s@%s:%s",
	                 dr_byhand_user(p, h), h->address, path);

	dr_buf_puts(b, "scp ");
	conn_opts(p, b, h);
	dr_buf_printf(b, "-P %d ", dr_byhand_port(p, h));
	shell_word(b, to_host ? local : remote);
	dr_buf_puts(b, " ");
	shell_word(b, to_host ? remote : local);
	free(remote);
}

char *
dr_byhand_login(const struct dr_plan *p, const struct dr_host *h)
{
	struct dr_buf b;

	dr_buf_init(&b, 0);
	ssh_dest(p, &b, h);
	return dr_buf_steal(&b);
}

bool
dr_byhand_fits_line(const char *cmd)
{
	return strchr(cmd, '\n') == NULL &&
	       (strchr(cmd, '\'') == NULL || strpbrk(cmd, DQ_SPECIAL) == NULL);
}

char *
dr_byhand_ssh(const struct dr_plan *p, const struct dr_host *h, const char *cmd,
              const char *input)
{
	struct dr_buf b;

	dr_buf_init(&b, 0);
	ssh_line(p, &b, h, cmd ? cmd : "");
	if (input) {
		dr_buf_puts(&b, " < ");
		shell_word(&b, input);
	}
	return dr_buf_steal(&b);
}

/* ---- a copy relayed through the workstation --------------------------- */

struct copy {
	const struct dr_plan *p;
	const struct dr_host *src, *dst;
	const char *src_path; /* on src, or the local file */
	const char *name;     /* the file's name */
	const char *sha;      /* the digest the plan gives, or NULL */
	bool manifest;        /* FILE.sha256 beside the file */
	char *dst_file;       /* where it goes on dst */
	char *local;          /* where it is on the workstation */
	const char *dir;      /* the workstation directory, or NULL */
};

static const char *
base_name(const char *path)
{
	const char *s = strrchr(path, '/');
	return s ? s + 1 : path;
}

/* scp from the source host, with the manifest when there is one. */
static char *
fetch_lines(const struct copy *c)
{
	struct dr_buf b;

	dr_buf_init(&b, 0);
	if (c->dir) {
		dr_buf_puts(&b, "mkdir -p ");
		shell_word(&b, c->dir);
		dr_buf_puts(&b, "\n");
	}
	scp_line(c->p, &b, c->src, c->src_path, c->local, false);
	if (c->manifest) {
		char *m = dr_xasprintf("%s.sha256", c->src_path);
		char *lm = dr_xasprintf("%s.sha256", c->local);

		dr_buf_puts(&b, "\n");
		scp_line(c->p, &b, c->src, m, lm, false);
		free(lm);
		free(m);
	}
	return dr_buf_steal(&b);
}

/* sha256sum on the workstation. */
static char *
check_lines(const struct copy *c)
{
	struct dr_buf b;

	dr_buf_init(&b, 0);
	if (c->sha) {
		char *line = dr_xasprintf("%s  %s", c->sha, c->local);
		dr_buf_puts(&b, "echo ");
		dr_sh_quote(&b, line);
		dr_buf_puts(&b, " | sha256sum -c");
		free(line);
	} else if (c->manifest) {
		char *ldir = dr_xstrdup(c->local), *sl = strrchr(ldir, '/');
		char *lm = dr_xasprintf("%s.sha256", c->name);

		/* The manifest names the file alone: check it from its own
		 * directory, in a subshell so the next lines start where
		 * these did. */
		bool sub = sl && !(sl == ldir + 1 && ldir[0] == '.');

		if (sub) {
			*sl = '\0';
			dr_buf_puts(&b, "(cd ");
			shell_word(&b, sl == ldir ? "/" : ldir);
			dr_buf_puts(&b, " && ");
		}
		dr_buf_puts(&b, "sha256sum -c ");
		shell_word(&b, lm);
		if (sub)
			dr_buf_puts(&b, ")");
		free(lm);
		free(ldir);
	} else {
		dr_buf_puts(&b, "sha256sum ");
		shell_word(&b, c->local);
		dr_buf_puts(&b, "   # compare with the digest in the backup "
		                "catalogue");
	}
	return dr_buf_steal(&b);
}

/* The check at the destination, and the mode when the step sets one. */
static void
dst_check(const struct copy *c, struct dr_buf *rc, const char *dir,
          bool same_name, const char *mode)
{
	if (c->manifest && same_name) {
		char *m = dr_xasprintf("%s.sha256", c->name);
		dr_buf_puts(rc, "cd ");
		shell_word(rc, dir ? dir : "/");
		dr_buf_puts(rc, " && sha256sum -c ");
		shell_word(rc, m);
		free(m);
	} else if (c->sha) {
		char *line = dr_xasprintf("%s  %s", c->sha, c->dst_file);
		dr_buf_puts(rc, "echo ");
		shell_word(rc, line);
		dr_buf_puts(rc, " | sha256sum -c");
		free(line);
	} else {
		dr_buf_puts(rc, "sha256sum ");
		shell_word(rc, c->dst_file);
	}
	if (mode) {
		dr_buf_printf(rc, " && chmod %s ", mode);
		shell_word(rc, c->dst_file);
	}
}

/* mkdir, scp to the destination host, and the check there. */
static char *
send_lines(const struct copy *c, const char *mode)
{
	char *dir = dr_xstrdup(c->dst_file), *slash = strrchr(dir, '/');
	bool same_name = strcmp(base_name(c->dst_file), c->name) == 0;
	struct dr_buf b, rc;

	dr_buf_init(&b, 0);
	if (slash && slash != dir) {
		*slash = '\0';
		dr_buf_init(&rc, 0);
		dr_buf_puts(&rc, "mkdir -p ");
		shell_word(&rc, dir);
		ssh_line(c->p, &b, c->dst, rc.data);
		dr_buf_puts(&b, "\n");
		dr_buf_free(&rc);
	}
	scp_line(c->p, &b, c->dst, c->dst_file, c->local, true);
	dr_buf_puts(&b, "\n");
	if (c->manifest && same_name) {
		char *lm = dr_xasprintf("%s.sha256", c->local);
		char *dm = dr_xasprintf("%s.sha256", c->dst_file);
		scp_line(c->p, &b, c->dst, dm, lm, true);
		dr_buf_puts(&b, "\n");
		free(dm);
		free(lm);
	}
	dr_buf_init(&rc, 0);
	dst_check(c, &rc, slash && slash != dir ? dir : NULL, same_name, mode);
	ssh_line(c->p, &b, c->dst, rc.data);
	dr_buf_free(&rc);
	free(dir);
	return dr_buf_steal(&b);
}

/* In the quarantine: drover's indicators, the plan's scan, then the move
 * into place of a point both found clean. */
static size_t
scan_lines(const struct copy *c, const struct dr_task *t, const char *place,
           const char *hl, struct dr_byhand_step out[DR_BYHAND_MAX], size_t n)
{
	struct dr_buf b, rc;

	dr_buf_init(&b, 0);
	if (t->ioc_script) {
		ssh_line(c->p, &b, c->dst, t->ioc_script);
		dr_buf_puts(&b, "   # the plan's indicators\n");
	}
	if (t->scan_script)
		ssh_line(c->p, &b, c->dst, t->scan_script);
	out[n].say = dr_xasprintf(
	    "%d. Scan it in its quarantine on %s before anything uses it. "
	    "Exit 0: clean. Exit 1: infected, the output names what was "
	    "found: do not use this point, delete it from the quarantine and "
	    "start again from step 1 with the next older backup. Any other "
	    "exit: the point is not judged; fix the scanner and scan again:",
	    c->src ? 4 : 3, hl);
	out[n++].lines = dr_buf_steal(&b);
	dr_buf_init(&b, 0);
	dr_buf_init(&rc, 0);
	dr_buf_puts(&rc, "mv -f ");
	shell_word(&rc, c->dst_file);
	dr_buf_puts(&rc, " ");
	shell_word(&rc, place);
	dr_buf_puts(&rc, " && rm -rf ");
	shell_word(&rc, t->qdir);
	ssh_line(c->p, &b, c->dst, rc.data);
	dr_buf_free(&rc);
	out[n].say = dr_xasprintf("%d. Only when it is clean, move it into "
	                          "place:",
	                          c->src ? 5 : 4);
	out[n++].lines = dr_buf_steal(&b);
	return n;
}

size_t
dr_byhand_copy(const struct dr_plan *p, const struct dr_task *t,
               const char *dir, struct dr_byhand_step out[DR_BYHAND_MAX])
{
	const struct dr_step *st = t->step;
	struct copy c = {.p = p, .src = t->src_host, .dst = t->host};
	size_t n = 0;
	char *hl, *place = NULL;

	c.src_path = t->src_path;
	c.name = base_name(t->src_path ? t->src_path : "file");
	c.manifest =
	    (st->copy.sha256 && strcmp(st->copy.sha256, "manifest") == 0) ||
	    (t->sha256 && strcmp(t->sha256, "manifest") == 0);
	c.sha = c.manifest ? NULL : t->sha256;
	if (t->dst_path && t->dst_path[0] &&
	    t->dst_path[strlen(t->dst_path) - 1] == '/')
		c.dst_file = dr_xasprintf("%s%s", t->dst_path, c.name);
	else
		c.dst_file = dr_xstrdup(t->dst_path ? t->dst_path : c.name);
	/* A scanned restore point lands in its quarantine first (scan.h). */
	if (t->qdir && c.dst) {
		place = c.dst_file;
		c.dst_file = dr_xasprintf("%s/%s", t->qdir, c.name);
	}
	/* Each tenant's files in a directory of its own: the same file name
	 * of two tenants never meets on the workstation. */
	c.dir = c.src ? dir : NULL;
	if (c.src && dir)
		c.local = dr_xasprintf("./%s/%s", dir, c.name);
	else if (c.src)
		c.local = dr_xasprintf("./%s", c.name);
	else
		c.local = dr_xstrdup(t->src_path ? t->src_path : c.name);

	if (c.src) {
		hl = dr_byhand_label(c.src);
		out[n].say = dr_xasprintf(
		    "1. On your workstation, fetch it from %s:", hl);
		out[n++].lines = fetch_lines(&c);
		free(hl);
	}
	out[n].say = dr_xstrdup(c.src ? "2. Check it before sending it on:"
	                              : "1. Check the local file:");
	out[n++].lines = check_lines(&c);
	if (c.dst) {
		hl = dr_byhand_label(c.dst);
		out[n].say = dr_xasprintf(
		    "%d. Send it to %s and check it there:", c.src ? 3 : 2, hl);
		out[n++].lines = send_lines(&c, st->copy.mode);
		if (place)
			n = scan_lines(&c, t, place, hl, out, n);
		free(hl);
	} else {
		struct dr_buf b;

		dr_buf_init(&b, 0);
		dr_buf_puts(&b, "mv ");
		shell_word(&b, c.local);
		dr_buf_puts(&b, " ");
		shell_word(&b, c.dst_file);
		out[n].say =
		    dr_xstrdup(c.src ? "3. Keep it on your workstation at:"
		                     : "2. Keep it at:");
		out[n++].lines = dr_buf_steal(&b);
	}
	free(c.local);
	free(c.dst_file);
	free(place);
	return n;
}

void
dr_byhand_clear(struct dr_byhand_step *s, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		free(s[i].say);
		free(s[i].lines);
	}
}

/* ---- the order of the work --------------------------------------------- */

/* A task's place in the document: keys compared in turn, then id. */
enum { K_CLEANUP, K_TIER, K_SVC_FIRST, K_GRP_FIRST, K_POS, K_N };

struct ordkey {
	size_t id;
	size_t key[K_N];
};

static int
ordkey_cmp(const void *a, const void *b)
{
	const struct ordkey *x = a, *y = b;
	size_t i;

	for (i = 0; i < K_N; i++)
		if (x->key[i] != y->key[i])
			return x->key[i] < y->key[i] ? -1 : 1;
	return 0;
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

int
dr_byhand_order(const struct dr_graph *g, size_t *order)
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
		size_t si = dr_task_svc_index(p, t);
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
		k[i].key[K_CLEANUP] = t->step->cleanup;
		k[i].key[K_TIER] = (size_t)t->tier; /* 0-99 */
		k[i].key[K_SVC_FIRST] = svc_first[si];
		k[i].key[K_GRP_FIRST] = grp_first[si * nt + ti];
		k[i].key[K_POS] = i;
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

/* ---- a probe ------------------------------------------------------------ */

char *
dr_byhand_probe(const struct dr_task *t)
{
	const struct dr_probe *pr = &t->step->probe;
	const char *target = t->target ? t->target : "";
	struct dr_buf b;

	dr_buf_init(&b, 0);
	if (pr->kind == DR_PROBE_TCP) {
		const char *colon = strrchr(target, ':');
		char *hostpart =
		    colon ? dr_xstrndup(target, (size_t)(colon - target))
		          : dr_xstrdup(target);

		dr_buf_puts(&b, "nc -z -w 5 ");
		shell_word(&b, hostpart);
		dr_buf_printf(&b, " %s && echo open", colon ? colon + 1 : "");
		free(hostpart);
		return dr_buf_steal(&b);
	}
	if (pr->expect_body) {
		dr_buf_puts(&b, "curl -sS --max-time 10 ");
		dr_sh_quote(&b, target);
		dr_buf_puts(&b, " | grep -F ");
		dr_sh_quote(&b, pr->expect_body);
		if (pr->expect_status != 0)
			return dr_buf_steal(&b);
		dr_buf_puts(&b, "\n");
	}
	dr_buf_puts(&b, "curl -sS -o /dev/null -w '%{http_code}\\n' "
	                "--max-time 10 ");
	dr_sh_quote(&b, target);
	return dr_buf_steal(&b);
}
