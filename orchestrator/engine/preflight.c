/* preflight.c: what a run needs from the controller, checked up front. */
#include "drover/preflight.h"

#include <errno.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/secrets.h"

struct pf {
	const struct dr_plan *p;
	struct dr_diags *d;
	bool warn;
	size_t n;
};

static void problem(struct pf *f, int line, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

static void
problem(struct pf *f, int line, const char *fmt, ...)
{
	char *msg;

	DR_VFORMAT(msg, fmt);
	dr_diag_add(f->d, f->p->path, line, "%s%s", f->warn ? "warning: " : "",
	            msg);
	free(msg);
	f->n++;
}

/* A file drover reads itself: regular, readable, bounded. NULL or why. */
static char *
file_problem(const char *path, size_t max)
{
	struct stat st;

	if (stat(path, &st) != 0)
		return dr_xasprintf("%s: %s", path, strerror(errno));
	if (S_ISDIR(st.st_mode))
		return dr_xasprintf("%s is a directory, not a file", path);
	if (!S_ISREG(st.st_mode))
		return dr_xasprintf("%s is not a regular file", path);
	if ((size_t)st.st_size > max)
		return dr_xasprintf("%s is %lld bytes, more than %zu", path,
		                    (long long)st.st_size, max);
	if (access(path, R_OK) != 0)
		return dr_xasprintf("%s: %s", path, strerror(errno));
	return NULL;
}

/*
 * Whether the private key in text is protected by a passphrase: OpenSSH's
 * own format names its cipher ("none" when it has none) right after its
 * magic; PEM and PKCS#8 say ENCRYPTED in their armour.
 */
static bool
key_encrypted(const char *text)
{
	static const char begin[] = "-----BEGIN OPENSSH PRIVATE KEY-----";
	static const char magic[] = "openssh-key-v1";
	unsigned char raw[96];
	char b64[129];
	const char *p;
	size_t n = 0;
	uint32_t len;

	if (strstr(text, "-----BEGIN ENCRYPTED PRIVATE KEY-----") ||
	    strstr(text, "Proc-Type: 4,ENCRYPTED"))
		return true;
	if ((p = strstr(text, begin)) == NULL)
		return false;
	for (p += sizeof(begin) - 1; *p && n < sizeof(b64) - 1; p++)
		if (*p != '\n' && *p != '\r' && *p != ' ')
			b64[n++] = *p;
	b64[n - n % 4] = '\0';
	if (EVP_DecodeBlock(raw, (const unsigned char *)b64, (int)strlen(b64)) <
	        (int)sizeof(magic) + 8 ||
	    memcmp(raw, magic, sizeof(magic)) != 0)
		return false;
	p = (const char *)raw + sizeof(magic);
	len = (uint32_t)(unsigned char)p[0] << 24 |
	      (uint32_t)(unsigned char)p[1] << 16 |
	      (uint32_t)(unsigned char)p[2] << 8 | (unsigned char)p[3];
	return !(len == 4 && memcmp(p + 4, "none", 4) == 0);
}

static void
check_keys(struct pf *f)
{
	const struct dr_defaults *df = &f->p->defaults;
	char *why;
	struct stat st;

	if (df->known_hosts == NULL)
		problem(f, 1,
		        "defaults: no known_hosts: drover connects only to "
		        "hosts whose keys are pinned; give the file");
	else if ((why = file_problem(df->known_hosts, DR_FILE_MAX)) != NULL) {
		problem(f, df->known_hosts_line,
		        "known_hosts %s; pin the hosts' keys first (no host is "
		        "trusted on first use)",
		        why);
		free(why);
	}
	if (df->identity == NULL) {
		const char *sock = getenv("SSH_AUTH_SOCK");
		if (sock == NULL || *sock == '\0')
			problem(f, 1,
			        "defaults: no identity and no ssh-agent "
			        "(SSH_AUTH_SOCK is not set): nothing to "
			        "authenticate with");
		return;
	}
	if ((why = file_problem(df->identity, DR_FILE_MAX)) != NULL) {
		problem(f, df->identity_line, "private key %s", why);
		free(why);
	} else if (stat(df->identity, &st) == 0 && (st.st_mode & 0077)) {
		/* OpenSSH refuses such a key ("UNPROTECTED PRIVATE KEY
		 * FILE"); so does drover. */
		problem(f, df->identity_line,
		        "private key %s is readable by group or others (mode "
		        "%04o); chmod 600 %s",
		        df->identity, (unsigned)(st.st_mode & 07777),
		        df->identity);
	} else {
		char *text = NULL;
		if (dr_read_file(df->identity, DR_FILE_MAX, &text, NULL) == 0 &&
		    key_encrypted(text))
			problem(f, df->identity_line,
			        "private key %s is protected by a passphrase, "
			        "and drover never asks for one: load it into "
			        "ssh-agent (ssh-add %s) and leave identity out "
			        "of the plan",
			        df->identity, df->identity);
		free(text);
	}
}

static bool
secret_used(const struct dr_graph *g, const char *name)
{
	size_t i, j;

	for (i = 0; i < g->ntasks; i++)
		for (j = 0; j < g->tasks[i].nsecrets; j++)
			if (strcmp(g->tasks[i].secret_names[j], name) == 0)
				return true;
	return false;
}

size_t
dr_preflight(const struct dr_plan *p, const struct dr_graph *g, bool warn,
             struct dr_diags *d)
{
	struct pf f = {.p = p, .d = d, .warn = warn};
	const struct dr_step **seen = NULL;
	size_t i, nseen = 0;
	char *why;

	check_keys(&f);
	for (i = 0; i < p->nsecrets; i++) {
		const struct dr_secret *s = &p->secrets[i];
		/* Without a graph only files are checked: a variable is set
		 * in the incident's shell, not necessarily in validate's. */
		if (g == NULL ? s->file == NULL : !secret_used(g, s->name))
			continue;
		if ((why = dr_secret_problem(s)) != NULL) {
			problem(&f, s->line, "secret \"%s\": %s", s->name, why);
			free(why);
		}
	}
	for (i = 0; g && i < g->ntasks; i++) {
		const struct dr_step *st = g->tasks[i].step;
		char *path;
		size_t j;
		if (st->action != DR_ACT_SCRIPT)
			continue;
		for (j = 0; j < nseen; j++) /* one report per step */
			if (seen[j] == st)
				break;
		if (j < nseen)
			continue;
		seen = dr_xrealloc(seen, (nseen + 1) * sizeof(*seen));
		seen[nseen++] = st;
		path = st->script[0] == '/'
		           ? dr_xstrdup(st->script)
		           : dr_xasprintf("%s/%s", p->dir, st->script);
		if ((why = file_problem(path, DR_FILE_MAX)) != NULL) {
			problem(&f, st->line,
			        "service \"%s\" step \"%s\": script %s",
			        st->service->name, st->name, why);
			free(why);
		}
		free(path);
	}
	free(seen);
	return f.n;
}
