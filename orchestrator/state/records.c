/* records.c: journal and audit records of a run, written and read back. */
#include "drover/records.h"

#include <jansson.h>
#include <pwd.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "drover/common.h"
#include "drover/journal.h"
#include "drover/shcmd.h"

static char *
dump(json_t *o)
{
	char *s = json_dumps(o, JSON_COMPACT | JSON_PRESERVE_ORDER);

	json_decref(o);
	if (s == NULL) {
		fprintf(stderr, "drover: out of memory encoding a record\n");
		abort();
	}
	return s;
}

/* Seals a record: "t", the wall clock now, last; then serialises it. */
static char *
seal(json_t *o)
{
	json_object_set_new(o, "t", json_integer((json_int_t)dr_now_wall_ms()));
	return dump(o);
}

static json_t *
jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

/* Who acts: user, host and pid of this controller. */
static void
who(json_t *o)
{
	struct passwd *pw = getpwuid(geteuid());
	char host[256] = "";

	gethostname(host, sizeof(host) - 1);
	json_object_set_new(o, "user", jstr(pw ? pw->pw_name : NULL));
	json_object_set_new(o, "host", json_string(host));
	json_object_set_new(o, "pid", json_integer(getpid()));
}

/* Who, and the command line they gave. */
static void
who_said(json_t *o, const char *command_line)
{
	who(o);
	json_object_set_new(o, "command", jstr(command_line));
}

char *
dr_rs_run_record(const struct dr_graph *g, const char *run_id, const char *mode,
                 const char *const *only, size_t nonly, bool auto_approve,
                 const char *command_line, uint64_t incident_ms)
{
	json_t *o = json_object(), *from = json_array(), *on = json_array();
	size_t i;

	json_object_set_new(o, "type", json_string("run"));
	json_object_set_new(o, "run", json_string(run_id));
	json_object_set_new(o, "plan", json_string(g->plan->name));
	{
		char *abs = realpath(g->plan->path, NULL);
		json_object_set_new(o, "plan_file",
		                    json_string(abs ? abs : g->plan->path));
		free(abs);
	}
	json_object_set_new(o, "plan_sha256", json_string(g->plan->sha256));
	json_object_set_new(o, "mode", json_string(mode));
	for (i = 0; i < g->nfrom; i++)
		json_array_append_new(from, json_string(g->from[i]->name));
	json_object_set_new(o, "from", from);
	json_object_set_new(o, "to", json_string(g->to->name));
	for (i = 0; i < nonly; i++)
		json_array_append_new(on, json_string(only[i]));
	json_object_set_new(o, "only", on);
	json_object_set_new(o, "auto_approve", json_boolean(auto_approve));
	if (incident_ms)
		json_object_set_new(o, "incident_t",
		                    json_integer((json_int_t)incident_ms));
	json_object_set_new(o, "tasks", json_integer((json_int_t)g->ntasks));
	who_said(o, command_line);
	return seal(o);
}

char *
dr_rs_scrub(const char *s, const struct dr_secret_value *secrets,
            size_t nsecrets)
{
	struct dr_buf b;
	const char *p = s;
	size_t i;

	if (s == NULL)
		return NULL;
	dr_buf_init(&b, 0);
	while (*p) {
		bool hit = false;
		for (i = 0; i < nsecrets; i++) {
			size_t n = strlen(secrets[i].value);
			if (n > 0 && strncmp(p, secrets[i].value, n) == 0) {
				dr_buf_printf(&b, "<secret:%s>",
				              secrets[i].name);
				p += n;
				hit = true;
				break;
			}
		}
		if (!hit)
			dr_buf_append(&b, p++, 1);
	}
	return dr_buf_steal(&b);
}

char *
dr_rs_task_record(const struct dr_task *t, const struct dr_task_run *r,
                  const struct dr_secret_value *secrets, size_t nsecrets)
{
	json_t *o = json_object();
	char *msg = dr_rs_scrub(r->message, secrets, nsecrets);
	char *tail = r->state == DR_TS_SUCCEEDED || r->state == DR_TS_RUNNING
	                 ? NULL
	                 : dr_rs_scrub(r->tail, secrets, nsecrets);

	json_object_set_new(o, "type", json_string("task"));
	json_object_set_new(o, "id", json_integer((json_int_t)t->id));
	json_object_set_new(o, "key", json_string(t->key));
	json_object_set_new(o, "tier", json_integer(t->tier));
	json_object_set_new(o, "state",
	                    json_string(dr_task_state_name(r->state)));
	json_object_set_new(o, "attempt", json_integer(r->attempts));
	if (r->exit_code >= 0 && r->state != DR_TS_RUNNING)
		json_object_set_new(o, "exit", json_integer(r->exit_code));
	if (r->signal[0])
		json_object_set_new(o, "signal", json_string(r->signal));
	if (r->unreachable)
		json_object_set_new(o, "unreachable", json_true());
	if (msg && r->state != DR_TS_RUNNING)
		json_object_set_new(o, "message", json_string(msg));
	if (tail && *tail)
		json_object_set_new(o, "tail", json_string(tail));
	if (r->backup) {
		json_object_set_new(o, "backup", json_string(r->backup));
		json_object_set_new(o, "backup_t",
		                    json_integer((json_int_t)r->backup_ms));
	}
	if (r->rejected) {
		json_t *rj = json_loads(r->rejected, 0, NULL);
		if (rj)
			json_object_set_new(o, "rejected", rj);
	}
	json_object_set_new(o, "t0",
	                    json_integer((json_int_t)r->start_wall_ms));
	free(msg);
	free(tail);
	return seal(o);
}

char *
dr_rs_decision_record(const char *key, const char *decision)
{
	json_t *o = json_pack("{s:s, s:s, s:s}", "type", "decision", "key", key,
	                      "decision", decision);

	who(o);
	return seal(o);
}

char *
dr_rs_inventory_record(const char *site, const char *task_key,
                       const struct dr_inventory *inv)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:o}", "type", "inventory", "site", site,
	              "task", task_key, "inventory", dr_inventory_to_json(inv));

	who(o);
	return seal(o);
}

char *
dr_rs_resume_record(const char *command_line, size_t ntasks)
{
	json_t *o = json_pack("{s:s, s:I}", "type", "resume", "tasks",
	                      (json_int_t)ntasks);

	who_said(o, command_line);
	return seal(o);
}

char *
dr_rs_finish_record(const char *state, const char *audit_head)
{
	return seal(json_pack("{s:s, s:s, s:o}", "type", "finish", "state",
	                      state, "audit_head", jstr(audit_head)));
}

int
dr_task_state_parse(const char *name)
{
	int s;

	for (s = DR_TS_PENDING; s <= DR_TS_REFUSED; s++)
		if (strcmp(dr_task_state_name((enum dr_task_state)s), name) ==
		    0)
			return s;
	return -1;
}

static char *
sdup(json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s ? dr_xstrdup(s) : NULL;
}

static uint64_t
ival(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);

	return json_is_integer(v) ? (uint64_t)json_integer_value(v) : 0;
}

static char **
sarray(json_t *o, const char *k, size_t *n)
{
	json_t *a = json_object_get(o, k);
	char **v;
	size_t i;

	*n = json_array_size(a);
	v = dr_xcalloc(*n + 1, sizeof(char *));
	for (i = 0; i < *n; i++) {
		const char *s = json_string_value(json_array_get(a, i));
		v[i] = dr_xstrdup(s ? s : "");
	}
	return v;
}

struct loadctx {
	struct dr_rs_run *r;
	size_t cap;
};

/* FNV-1a: the tasks' index by key (a journal of 78,000 tasks is read in
 * linear time, not quadratic). */
static size_t
key_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ull;
	return (size_t)h;
}

/* The slot of key in the index: its task's, or the empty one it goes to. */
static size_t *
index_slot(const struct dr_rs_run *r, const char *key)
{
	size_t m = r->index_cap - 1, i = key_hash(key) & m;

	while (r->index[i] != 0 &&
	       strcmp(r->tasks[r->index[i] - 1].key, key) != 0)
		i = (i + 1) & m;
	return &r->index[i];
}

static void
index_grow(struct dr_rs_run *r)
{
	size_t i;

	free(r->index);
	r->index_cap = r->index_cap ? r->index_cap * 2 : 64;
	r->index = dr_xcalloc(r->index_cap, sizeof(size_t));
	for (i = 0; i < r->ntasks; i++)
		*index_slot(r, r->tasks[i].key) = i + 1;
}

static struct dr_rs_task *
task_slot(struct loadctx *c, const char *key)
{
	struct dr_rs_run *r = c->r;
	size_t *slot;
	void *p;

	if (2 * (r->ntasks + 1) > r->index_cap)
		index_grow(r);
	slot = index_slot(r, key);
	if (*slot != 0)
		return &r->tasks[*slot - 1];
	*slot = r->ntasks + 1;
	p = r->tasks;
	dr_grow(&p, &c->cap, r->ntasks + 1, sizeof(struct dr_rs_task));
	r->tasks = p;
	memset(&r->tasks[r->ntasks], 0, sizeof(struct dr_rs_task));
	r->tasks[r->ntasks].key = dr_xstrdup(key);
	r->tasks[r->ntasks].exit_code = -1;
	return &r->tasks[r->ntasks++];
}

static int
on_record(uint64_t seq, const char *payload, size_t len, void *arg)
{
	struct loadctx *c = arg;
	struct dr_rs_run *r = c->r;
	json_error_t err;
	json_t *o = json_loadb(payload, len, 0, &err);
	const char *type;

	r->last_seq = seq;
	if (o == NULL)
		return 0; /* framing was valid; an unreadable payload is skipped
		           */
	type = json_string_value(json_object_get(o, "type"));
	if (json_object_get(o, "t"))
		r->last_ms = ival(o, "t");
	if (type == NULL) {
	} else if (strcmp(type, "run") == 0 && r->run_id == NULL) {
		r->run_id = sdup(o, "run");
		r->plan_name = sdup(o, "plan");
		r->plan_file = sdup(o, "plan_file");
		r->plan_sha256 = sdup(o, "plan_sha256");
		r->mode = sdup(o, "mode");
		r->from = sarray(o, "from", &r->nfrom);
		r->to = sdup(o, "to");
		r->only = sarray(o, "only", &r->nonly);
		r->auto_approve =
		    json_is_true(json_object_get(o, "auto_approve"));
		r->ntasks_planned = ival(o, "tasks");
		r->user = sdup(o, "user");
		r->host = sdup(o, "host");
		r->command = sdup(o, "command");
		r->pid = (long)ival(o, "pid");
		r->start_ms = ival(o, "t");
		r->incident_ms = ival(o, "incident_t");
	} else if (strcmp(type, "task") == 0) {
		const char *key = json_string_value(json_object_get(o, "key"));
		const char *st = json_string_value(json_object_get(o, "state"));
		struct dr_rs_task *t;
		int s;

		if (key && st && (s = dr_task_state_parse(st)) >= 0) {
			t = task_slot(c, key);
			t->tier = (int)ival(o, "tier");
			t->state = (enum dr_task_state)s;
			t->attempts = (int)ival(o, "attempt");
			t->exit_code = json_object_get(o, "exit")
			                   ? (int)ival(o, "exit")
			                   : -1;
			snprintf(t->signal, sizeof(t->signal), "%s",
			         json_string_value(json_object_get(o, "signal"))
			             ?: "");
			t->unreachable =
			    json_is_true(json_object_get(o, "unreachable"));
			free(t->message);
			t->message = sdup(o, "message");
			free(t->tail);
			t->tail = sdup(o, "tail");
			free(t->backup);
			t->backup = sdup(o, "backup");
			t->backup_ms = ival(o, "backup_t");
			free(t->rejected);
			t->rejected =
			    json_object_get(o, "rejected")
			        ? json_dumps(json_object_get(o, "rejected"),
			                     JSON_COMPACT)
			        : NULL;
			t->start_ms = ival(o, "t0");
			t->end_ms = s == DR_TS_RUNNING || s == DR_TS_PENDING
			                ? 0
			                : ival(o, "t");
			t->decision = DR_RS_NONE; /* acted on since */
		}
	} else if (strcmp(type, "verdict") == 0) {
		/* A judged restore point (scan.h): kept for resume. */
		if (r->verdicts == NULL)
			r->verdicts = json_array();
		json_array_append(r->verdicts, o);
	} else if (strcmp(type, "clean_before") == 0) {
		r->clean_before_ms = ival(o, "clean_before_t");
	} else if (strcmp(type, "decision") == 0) {
		const char *key = json_string_value(json_object_get(o, "key"));
		const char *d =
		    json_string_value(json_object_get(o, "decision"));
		if (key && d) {
			struct dr_rs_task *t = task_slot(c, key);
			t->decision = strcmp(d, "done") == 0    ? DR_RS_DONE
			              : strcmp(d, "rerun") == 0 ? DR_RS_RERUN
			                                        : DR_RS_NONE;
			free(t->decided_by);
			t->decided_by = sdup(o, "user");
		}
	} else if (strcmp(type, "inventory") == 0) {
		/* The last one counts: a provision step run again reports
		 * the hosts anew. */
		const char *site =
		    json_string_value(json_object_get(o, "site"));
		json_t *inv = json_object_get(o, "inventory");
		if (site && json_is_object(inv)) {
			free(r->inventory_site);
			json_decref(r->inventory);
			r->inventory_site = dr_xstrdup(site);
			r->inventory = json_incref(inv);
		}
	} else if (strcmp(type, "resume") == 0) {
		/* A resume may see more tasks: the hosts of a provisioned
		 * site are known from then on. */
		if (json_is_integer(json_object_get(o, "tasks")))
			r->ntasks_planned = ival(o, "tasks");
		r->resumes++;
		free(r->final_state);
		r->final_state = NULL;
	} else if (strcmp(type, "finish") == 0) {
		free(r->final_state);
		r->final_state = sdup(o, "state");
		free(r->audit_head);
		r->audit_head = sdup(o, "audit_head");
	}
	json_decref(o);
	return 0;
}

int
dr_rs_load(const char *run_dir, struct dr_rs_run *out, char **why)
{
	struct loadctx c = {.r = out};
	struct dr_journal_info info;
	char *path = dr_xasprintf("%s/journal", run_dir);
	int r;

	memset(out, 0, sizeof(*out));
	*why = NULL;
	r = dr_journal_replay(path, on_record, &c, &info);
	out->torn_bytes = info.torn_bytes;
	if (r == DR_EIO && info.bad_offset)
	/* Cutting there forgets what the records after it say: the
	 * tasks they finished would run again. */
	{
		struct dr_buf q;
		dr_buf_init(&q, 0);
		dr_sh_quote(&q, path);
		*why = dr_xasprintf(
		    "%s. Keep a copy of the file and look at the record first. "
		    "Truncating the journal at that byte (truncate -s %llu %s) "
		    "forgets every record after it, so the tasks they recorded "
		    "as done would run again; only do it when that is safe, or "
		    "start a new run",
		    info.error, (unsigned long long)info.bad_offset, q.data);
		dr_buf_free(&q);
	} else if (r == DR_EIO)
		*why = dr_xstrdup(info.error[0] ? info.error
		                                : "journal unreadable");
	else if (r == 0 && out->run_id == NULL) {
		*why = dr_xasprintf("%s: no run record", path);
		r = DR_EIO;
	}
	free(path);
	return r;
}

void
dr_rs_run_free(struct dr_rs_run *r)
{
	size_t i;

	free(r->run_id);
	free(r->plan_name);
	free(r->plan_file);
	free(r->plan_sha256);
	free(r->mode);
	for (i = 0; i < r->nfrom; i++)
		free(r->from[i]);
	free(r->from);
	free(r->to);
	for (i = 0; i < r->nonly; i++)
		free(r->only[i]);
	free(r->only);
	free(r->user);
	free(r->host);
	free(r->command);
	free(r->final_state);
	free(r->audit_head);
	free(r->inventory_site);
	json_decref(r->inventory);
	json_decref(r->verdicts);
	free(r->index);
	for (i = 0; i < r->ntasks; i++) {
		free(r->tasks[i].key);
		free(r->tasks[i].message);
		free(r->tasks[i].tail);
		free(r->tasks[i].backup);
		free(r->tasks[i].rejected);
		free(r->tasks[i].decided_by);
	}
	free(r->tasks);
	memset(r, 0, sizeof(*r));
}

const struct dr_rs_task *
dr_rs_find(const struct dr_rs_run *r, const char *key)
{
	size_t slot;

	if (r->index_cap == 0)
		return NULL;
	slot = *index_slot(r, key);
	return slot ? &r->tasks[slot - 1] : NULL;
}

char *
dr_audit_record_by(const char *prev_hash, const char *event, const char *detail,
                   const char *by_user, unsigned long by_uid,
                   const char *comment)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:o}", "type", "audit", "prev",
	              prev_hash, "event", event, "detail", jstr(detail));

	who(o);
	json_object_set_new(o, "by",
	                    json_pack("{s:o, s:I}", "user", jstr(by_user),
	                              "uid", (json_int_t)by_uid));
	if (comment)
		json_object_set_new(o, "comment", json_string(comment));
	return seal(o);
}

char *
dr_audit_record(const char *prev_hash, const char *event, const char *detail)
{
	json_t *o =
	    json_pack("{s:s, s:s, s:s, s:o}", "type", "audit", "prev",
	              prev_hash, "event", event, "detail", jstr(detail));

	who(o);
	return seal(o);
}

char *
dr_audit_record_fenced(const char *prev_hash, const char *event,
                       const char *detail, int64_t token)
{
	json_t *o;
	char t[32];

	if (token == 0)
		return dr_audit_record(prev_hash, event, detail);
	o = json_pack("{s:s, s:s, s:s, s:o}", "type", "audit", "prev",
	              prev_hash, "event", event, "detail", jstr(detail));
	snprintf(t, sizeof(t), "%lld", (long long)token);
	json_object_set_new(o, "fencing_token", json_string(t));
	who(o);
	return seal(o);
}
