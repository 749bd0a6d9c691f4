/*
 * provisioner.c: the two halves of a provision step around its command
 * (provisioner.h). Both do file work, so both run on the thread pool: the
 * loop never waits for an fsync or a read.
 */
#include "drover/provisioner.h"

#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/common.h"

struct dr_prov_job {
	uv_loop_t *loop;
	uv_work_t work;
	bool busy;
	struct dr_prov_opts o;
	const struct dr_site *site;
	size_t nkeys;
	char **pubs; /* the generated public lines */
	char *dir;   /* RUN/provision/keys-XXXXXX */
	char *out_path;
	char *command;
	char **env;
	bool parse;
	int status;
	char *msg;
	struct dr_inventory inv;
	void (*ready)(void *arg, int status, const char *msg);
	void (*done)(void *arg, int status, const char *msg,
	             const struct dr_inventory *inv);
	void *arg;
};

static void
fail(struct dr_prov_job *j, int status, char *msg)
{
	if (j->status == 0) {
		j->status = status;
		j->msg = msg;
	} else {
		free(msg);
	}
}

/* Thread pool: the key pairs, written where the command finds them. */
static void
prepare_work(uv_work_t *w)
{
	struct dr_prov_job *j = w->data;
	struct dr_newkey *keys;
	char *parent = dr_xasprintf("%s/provision", j->o.run_dir), *err = NULL;
	size_t i;
	int r = 0;

	j->dir = dr_xasprintf("%s/keys-XXXXXX", parent);
	if (dr_mkdirs(parent) != 0 || mkdtemp(j->dir) == NULL) {
		fail(j, DR_EIO,
		     dr_xasprintf("cannot create %s: %s", j->dir,
		                  strerror(errno)));
		free(parent);
		return;
	}
	free(parent);
	j->out_path = dr_xasprintf("%s/stdout", j->dir);
	keys = dr_xcalloc(j->nkeys + 1, sizeof(*keys));
	for (i = 0; i < j->nkeys && r == 0; i++) {
		char *c = dr_xasprintf("drover:%s:%s:key-%zu", j->o.run_id,
		                       j->site->name, i + 1);
		r = dr_newkey_generate(c, &keys[i]);
		free(c);
	}
	if (r != 0)
		fail(j, r,
		     dr_xasprintf("cannot generate host keys: %s",
		                  dr_strerror(r)));
	else if (dr_newkeys_write(j->dir, keys, j->nkeys, &err) != 0)
		fail(j, DR_EIO, err);
	for (i = 0; i < j->nkeys; i++) {
		if (keys[i].public_line)
			j->pubs[i] = dr_xstrdup(keys[i].public_line);
		dr_newkey_free(&keys[i]);
	}
	free(keys);
}

/* "NAME=VALUE" into the job's environment list. */
static void
setenv_job(struct dr_prov_job *j, size_t *n, const char *name,
           const char *value)
{
	j->env[(*n)++] = dr_xasprintf("%s=%s", name, value ? value : "");
	j->env[*n] = NULL;
}

static void
prepare_done(uv_work_t *w, int status)
{
	struct dr_prov_job *j = w->data;

	(void)status;
	j->busy = false;
	if (j->status == 0) {
		size_t n = 0;
		while (j->env[n])
			n++;
		setenv_job(j, &n, "DROVER_KEYS", j->dir);
		if (j->o.task->step->provision.inventory == NULL) {
			/* The inventory is the command's stdout, kept apart
			 * from its messages (stderr, in the task's log). */
			setenv_job(j, &n, "DROVER_STDOUT", j->out_path);
			j->command = dr_xasprintf("exec >\"$DROVER_STDOUT\" "
			                          "|| exit 1\n%s",
			                          j->o.task->command);
		}
	}
	j->ready(j->arg, j->status, j->msg);
}

int
dr_prov_prepare(uv_loop_t *loop, const struct dr_prov_opts *o,
                void (*cb)(void *arg, int status, const char *msg), void *arg,
                struct dr_prov_job **out)
{
	const struct dr_task *t = o->task;
	const struct dr_step *st = t->step;
	struct dr_prov_job *j;
	struct dr_buf roles;
	char count[24];
	size_t i, n = 0;

	*out = NULL;
	if (t->command == NULL || o->graph->to == NULL ||
	    !o->graph->to->provisioned)
		return DR_EINVAL;
	j = dr_xcalloc(1, sizeof(*j));
	j->loop = loop;
	j->o = *o;
	j->site = o->graph->to;
	j->nkeys = st->provision.reported_keys ? 0 : (size_t)j->site->max_hosts;
	j->pubs = dr_xcalloc(j->nkeys + 1, sizeof(char *));
	j->ready = cb;
	j->arg = arg;
	j->work.data = j;
	j->busy = true;
	*out = j;
	/* DROVER_KEYS and DROVER_STDOUT follow once the directory exists. */
	j->env = dr_xcalloc(16, sizeof(char *));
	dr_buf_init(&roles, 0);
	for (i = 0; i < j->site->nroles; i++)
		dr_buf_printf(&roles, "%s%s", i ? "," : "", j->site->roles[i]);
	setenv_job(j, &n, "DROVER_SITE", j->site->name);
	setenv_job(j, &n, "DROVER_ROLES", roles.data);
	snprintf(count, sizeof(count), "%zu", j->nkeys);
	setenv_job(j, &n, "DROVER_KEY_COUNT", count);
	setenv_job(j, &n, "DROVER_RUN_ID", o->run_id);
	setenv_job(j, &n, "DROVER_MODE",
	           o->graph->mode == DR_MODE_DRILL ? "drill" : "failover");
	dr_buf_free(&roles);
	uv_queue_work(loop, &j->work, prepare_work, prepare_done);
	return 0;
}

const char *
dr_prov_command(const struct dr_prov_job *j)
{
	return j->command ? j->command : j->o.task->command;
}

const char *const *
dr_prov_env(const struct dr_prov_job *j)
{
	return (const char *const *)j->env;
}

/* Host names the plan has already: a new host may not take one. */
static const char **
taken_names(const struct dr_graph *g, size_t *n)
{
	const struct dr_plan *p = g->plan;
	const char **v;
	size_t i, k, m = 0;

	for (i = 0; i < p->nsites; i++)
		m += p->sites[i].nhosts;
	v = dr_xcalloc(m + 1, sizeof(char *));
	*n = 0;
	for (i = 0; i < p->nsites; i++)
		for (k = 0; k < p->sites[i].nhosts; k++)
			v[(*n)++] = p->sites[i].hosts[k].name;
	return v;
}

/* Thread pool: the private keys removed, the inventory read and checked. */
static void
collect_work(uv_work_t *w)
{
	struct dr_prov_job *j = w->data;
	const struct dr_step *st = j->o.task->step;
	struct dr_inv_rules r = {0};
	char *text = NULL, *path, *err = NULL;
	size_t len = 0, i;

	if (j->dir && j->nkeys > 0 && dr_newkeys_scrub(j->dir, j->nkeys) != 0)
		fail(j, DR_EIO,
		     dr_xasprintf("cannot remove the private host keys in "
		                  "%s: %s",
		                  j->dir, strerror(errno)));
	if (!j->parse || j->status != 0)
		return;
	if (st->provision.inventory == NULL)
		path = dr_xstrdup(j->out_path);
	else if (st->provision.inventory[0] == '/')
		path = dr_xstrdup(st->provision.inventory);
	else
		path = dr_xasprintf("%s/%s", j->o.graph->dir,
		                    st->provision.inventory);
	if (dr_read_file(path, DR_INV_MAX_BYTES, &text, &len) != 0) {
		fail(j, DR_EIO,
		     dr_xasprintf("cannot read the inventory %s: %s", path,
		                  errno == 0 ? "larger than 4 MiB"
		                             : strerror(errno)));
		free(path);
		return;
	}
	free(path);
	r.site = j->site->name;
	r.roles = j->site->roles;
	r.nroles = j->site->nroles;
	r.keys = j->nkeys ? (const char *const *)j->pubs : NULL;
	r.nkeys = j->nkeys;
	r.taken = taken_names(j->o.graph, &r.ntaken);
	r.max_hosts = (size_t)j->site->max_hosts;
	if (dr_inventory_parse(text, len, &r, &j->inv, &err) != 0) {
		fail(j, DR_EINVAL, err);
	} else {
		for (i = 0; i < j->inv.nhosts; i++) {
			const struct dr_inv_host *h = &j->inv.hosts[i];
			const char *lab =
			    dr_guard_check(j->o.guard, h->address, NULL);
			if (lab == NULL)
				continue;
			fail(j, DR_EINVAL,
			     dr_xasprintf("inventory of site \"%s\": host "
			                  "\"%s\": \"ansible_host\" %s is %s, "
			                  "a production host: a drill never "
			                  "connects there",
			                  j->site->name, h->name, h->address,
			                  lab));
			dr_inventory_free(&j->inv);
			break;
		}
	}
	free((void *)r.taken);
	free(text);
}

static void
collect_done(uv_work_t *w, int status)
{
	struct dr_prov_job *j = w->data;

	(void)status;
	j->busy = false;
	j->done(j->arg, j->status, j->msg, j->status == 0 ? &j->inv : NULL);
}

void
dr_prov_collect(struct dr_prov_job *j, bool parse,
                void (*cb)(void *arg, int status, const char *msg,
                           const struct dr_inventory *inv),
                void *arg)
{
	j->parse = parse;
	j->done = cb;
	j->arg = arg;
	j->busy = true;
	uv_queue_work(j->loop, &j->work, collect_work, collect_done);
}

bool
dr_prov_busy(const struct dr_prov_job *j)
{
	return j && j->busy;
}

/* A file of a key directory that holds a private key. */
static bool
is_private(const char *name)
{
	size_t n = strlen(name);

	if (strncmp(name, "key-", 4) != 0)
		return false;
	return !(n > 4 && strcmp(name + n - 4, ".pub") == 0);
}

int
dr_prov_scrub_leftovers(const char *run_dir)
{
	char *top = dr_xasprintf("%s/provision", run_dir);
	DIR *d = opendir(top), *k;
	struct dirent *e, *f;
	int n = 0, err = 0;

	if (d == NULL) {
		free(top);
		return 0; /* nothing was ever provisioned here */
	}
	while ((e = readdir(d)) != NULL) {
		char *kd;
		if (strncmp(e->d_name, "keys-", 5) != 0)
			continue;
		kd = dr_xasprintf("%s/%s", top, e->d_name);
		if ((k = opendir(kd)) != NULL) {
			while ((f = readdir(k)) != NULL) {
				char *p;
				if (!is_private(f->d_name))
					continue;
				p = dr_xasprintf("%s/%s", kd, f->d_name);
				if (unlink(p) == 0)
					n++;
				else if (errno != ENOENT && err == 0)
					err = errno;
				free(p);
			}
			closedir(k);
		}
		free(kd);
	}
	closedir(d);
	free(top);
	if (err != 0) {
		errno = err;
		return -1;
	}
	return n;
}

void
dr_prov_free(struct dr_prov_job *j)
{
	size_t i;

	if (j == NULL)
		return;
	for (i = 0; i < j->nkeys; i++)
		free(j->pubs[i]);
	free(j->pubs);
	for (i = 0; j->env && j->env[i]; i++)
		free(j->env[i]);
	free(j->env);
	free(j->dir);
	free(j->out_path);
	free(j->command);
	free(j->msg);
	dr_inventory_free(&j->inv);
	free(j);
}
