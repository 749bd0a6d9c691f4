/*
 * runbook-step.c: one step of the runbook: where it runs, the lines to
 * type, what success looks like and what to do when it fails.
 */
#include <stdlib.h>
#include <string.h>

#include "drover/byhand.h"
#include "drover/common.h"
#include "runbook-internal.h"

/* ---- the steps --------------------------------------------------------- */

static const char *
default_success(const struct dr_task *t, char *buf, size_t len)
{
	const struct dr_step *st = t->step;
	const char *body = st->probe.expect_body;
	char d[32], code[16] = "2xx";

	switch (st->action) {
	case DR_ACT_RUN:
	case DR_ACT_SCRIPT:
	case DR_ACT_LOCAL:
		return "the command ends with exit status 0 (echo $? prints "
		       "0).";
	case DR_ACT_PROVISION:
		return "every host of the site is up, answers SSH with the "
		       "host key you generated for it, and has its roles.";
	case DR_ACT_DEPROVISION:
		return "none of the site's hosts is left running.";
	case DR_ACT_COPY:
		return "sha256sum -c prints OK for the file on the "
		       "destination.";
	case DR_ACT_PROBE:
		if (st->probe.kind == DR_PROBE_TCP) {
			snprintf(buf, len,
			         "%s accepts a TCP connection within %s.",
			         t->target ? t->target : "the port",
			         rb_dur(st->probe.within_ms, d, sizeof(d)));
			return buf;
		}
		if (st->probe.expect_status)
			snprintf(code, sizeof(code), "%d",
			         st->probe.expect_status);
		snprintf(buf, len, "HTTP %s from %s within %s%s%s%s.", code,
		         t->target ? t->target : "the URL",
		         rb_dur(st->probe.within_ms, d, sizeof(d)),
		         body ? ", and the body contains \"" : "",
		         body ? body : "", body ? "\"" : "");
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

	dr_doc_text(r->d, s);
	if (n && strchr(".!?:", s[n - 1]) == NULL)
		dr_doc_text(r->d, ".");
}

static void
labelled(struct rb *r, const char *label, const char *s)
{
	dr_doc_p_begin(r->d, NULL);
	dr_doc_bold(r->d, label);
	dr_doc_text(r->d, " ");
	sentence(r, s);
	dr_doc_p_end(r->d);
}

void
rb_pre(struct rb *r, const char *s)
{
	dr_doc_pre(r->d, NULL, "sh", s, DR_DOC_PRE_LINES | DR_DOC_PRE_WORDS);
}

/* A copy relayed through the workstation, step by step. */
static void
write_copy(struct rb *r, const struct dr_task *t, const char *dir)
{
	struct dr_byhand_step s[DR_BYHAND_MAX];
	size_t n = dr_byhand_copy(r->p, t, dir, s), i;

	dr_doc_p(r->d, NULL,
	         "The file passes through your workstation. Never give the "
	         "destination host credentials for the source, and never copy "
	         "directly between the two hosts.");
	for (i = 0; i < n; i++) {
		dr_doc_p(r->d, NULL, s[i].say);
		rb_pre(r, s[i].lines);
	}
	dr_byhand_clear(s, n);
}

static void
write_probe(struct rb *r, const struct dr_task *t)
{
	const struct dr_probe *pr = &t->step->probe;
	char *cmd = dr_byhand_probe(t), d1[32], d2[32];

	dr_doc_p(r->d, NULL,
	         "From your workstation (it must reach the target network):");
	rb_pre(r, cmd);
	free(cmd);
	if (pr->within_ms == 0)
		return;
	dr_doc_p_begin(r->d, NULL);
	dr_doc_textf(
	    r->d, "Repeat every %s until it succeeds, for at most %s.",
	    rb_dur(pr->interval_ms ? pr->interval_ms : 5000, d1, sizeof(d1)),
	    rb_dur(pr->within_ms, d2, sizeof(d2)));
	dr_doc_p_end(r->d);
}

static void
write_secret_note(struct rb *r, const struct dr_task *t)
{
	size_t i;

	if (t->nsecrets == 0)
		return;
	dr_doc_note_begin(r->d, "note");
	dr_doc_bold(r->d, "Secrets:");
	for (i = 0; i < t->nsecrets; i++) {
		const struct dr_secret *s =
		    dr_plan_secret(r->p, t->secret_names[i]);
		char *ph = dr_xasprintf("<secret:%s>", t->secret_names[i]);

		dr_doc_text(r->d, i ? "; " : " ");
		dr_doc_code(r->d, ph);
		free(ph);
		if (s && s->env)
			dr_doc_textf(r->d, " from environment variable %s",
			             s->env);
		if (s && s->file)
			dr_doc_textf(r->d, "%s file %s",
			             s && s->env ? " or" : " from", s->file);
		if (s == NULL || (!s->env && !s->file))
			dr_doc_text(r->d, " from the incident lead");
		if (s && s->hint) {
			dr_doc_text(r->d, " (");
			dr_doc_text(r->d, s->hint);
			dr_doc_text(r->d, ")");
		}
	}
	dr_doc_text(r->d,
	            ". Its read line waits for the value: type it and press "
	            "Enter, so it stays out of the command line and the shell "
	            "history; never write it down.");
	dr_doc_note_end(r->d);
}

/* The step's title line: a box to tick, number, name, where it runs. */
static void
step_header(struct rb *r, const struct dr_task *t, int num, const char *where,
            bool box)
{
	const struct dr_step *st = t->step;
	bool gate = st->action == DR_ACT_APPROVE;
	struct dr_doc *d = r->d;

	if (!RB_HTML(r)) {
		dr_doc_heading_begin(d, 4, NULL, NULL);
		if (box)
			dr_doc_checkbox(d);
		dr_doc_textf(d, "%s%s %d \xc2\xb7 ", box ? " " : "",
		             gate ? "Decision" : "Step", num);
		dr_doc_text(d, st->name);
		dr_doc_text(d, " \xc2\xb7 ");
		dr_doc_text(d, where);
		dr_doc_heading_end(d);
		return;
	}
	dr_doc_htmlf(d, "<div class=\"step%s%s\" id=\"step-%d\">\n",
	             gate ? " gate" : "", t->refused ? " refused" : "", num);
	dr_doc_raw(d, "<div class=\"sh\">", NULL);
	if (box) {
		dr_doc_span_begin(d, "box");
		dr_doc_checkbox(d);
		dr_doc_span_end(d);
	}
	dr_doc_htmlf(d, "<span>%s %d</span>", gate ? "Decision" : "Step", num);
	dr_doc_span(d, NULL, st->name);
	dr_doc_span_begin(d, "where");
	dr_doc_text(d, dr_action_name(st->action));
	dr_doc_text(d, " \xc2\xb7 ");
	dr_doc_text(d, where);
	dr_doc_span_end(d);
	dr_doc_raw(d, "</div>\n", NULL);
}

/* Where, how long, how often, and whether it is safe to run twice. */
static void
step_facts(struct rb *r, const struct dr_task *t, bool local)
{
	const struct dr_step *st = t->step;
	const struct dr_host *h = t->host;
	struct dr_doc *d = r->d;
	char d1[32];

	rb_facts_begin(r);
	if (h && (!local || st->action == DR_ACT_COPY)) {
		rb_fact(r, "host");
		dr_doc_textf(d, " %s/%s (%s:%d)", h->site ? h->site->name : "?",
		             h->name, h->address, dr_byhand_port(r->p, h));
		rb_fact(r, "user");
		dr_doc_textf(d, " %s", dr_byhand_user(r->p, h));
	}
	if (st->action == DR_ACT_PROBE) {
		rb_fact(r, "keep trying for");
		dr_doc_textf(d, " %s",
		             rb_dur(st->probe.within_ms, d1, sizeof(d1)));
	} else {
		rb_fact(r, "timeout");
		dr_doc_textf(d, " %s", rb_dur(st->timeout_ms, d1, sizeof(d1)));
	}
	rb_fact(r, "retries");
	if (st->retries > 0)
		dr_doc_textf(d, " %d, %s apart", st->retries,
		             rb_dur(st->retry_delay_ms, d1, sizeof(d1)));
	else
		dr_doc_text(d, " none");
	rb_fact(r, "idempotent");
	dr_doc_text(d, st->readonly     ? " yes (read-only)"
	               : st->idempotent ? " yes (safe to re-run)"
	                                : " no (check before re-running)");
	rb_facts_end(r);
}

/* A run or script step: the ssh line, or a login and the script to paste. */
static void
step_command(struct rb *r, const struct dr_task *t)
{
	const struct dr_step *st = t->step;
	struct dr_doc *d = r->d;
	char *line, *input = NULL;

	if (t->host == NULL) {
		dr_doc_p(d, NULL, "On your workstation:");
		rb_pre(r, t->display ? t->display : "");
		return;
	}
	if (st->action == DR_ACT_SCRIPT && st->script) {
		dr_doc_p_begin(d, NULL);
		dr_doc_text(d,
		            "From your workstation, feed the plan's script ");
		dr_doc_code(d, st->script);
		dr_doc_text(d, " to the host:");
		dr_doc_p_end(d);
	}
	if (st->action == DR_ACT_RUN && t->display &&
	    !dr_byhand_fits_line(t->display)) {
		/* A script with its variables, or a command that would need
		 * quotes within quotes on the ssh line: log in, then paste it
		 * as it is (the shell reads it line by line). */
		bool script = strchr(t->display, '\n') != NULL;

		dr_doc_p(d, NULL, "Log in to the host:");
		line = dr_byhand_login(r->p, t->host);
		rb_pre(r, line);
		free(line);
		dr_doc_p(d, NULL,
		         script ? "and paste this script into its shell:"
		                : "and paste this command into its shell:");
		rb_pre(r, t->display);
		return;
	}
	if (st->action == DR_ACT_SCRIPT && st->script && t->display &&
	    strstr(t->display, "sh -s") != NULL)
		input = st->script[0] == '/' || r->p->dir == NULL
		            ? dr_xstrdup(st->script)
		            : dr_xasprintf("%s/%s", r->p->dir, st->script);
	line = dr_byhand_ssh(r->p, t->host, t->display, input);
	rb_pre(r, line);
	free(line);
	free(input);
}

#define GATE_WAIT                                                              \
	"Do not go on until the decision is made and signed. If the answer "   \
	"is no, stop: the steps after this one wait."

/* Who may approve, and how while drover runs (team.h): the gate's key. */
static void
gate_team(struct rb *r, const struct dr_task *t)
{
	const struct dr_step *st = t->step;
	struct dr_doc *d = r->d;

	if (st->approvers > 1 || st->not_by_starter) {
		dr_doc_bold(d, "Four eyes:");
		dr_doc_textf(
		    d, " %d different %s%s. ", st->approvers,
		    st->approvers == 1 ? "person approves" : "people approve",
		    st->not_by_starter ? ", not the one who started the run"
		                       : "");
	}
	dr_doc_text(d, "While drover runs, answer from any terminal of the "
	               "team: ");
	{
		char *c = dr_xasprintf("drover approve RUN %s", t->key);
		dr_doc_code(d, c);
		free(c);
	}
	dr_doc_text(d, " (or deny).");
}

/* An approval: the question, and where to write the decision. */
static void
step_gate(struct rb *r, const struct dr_task *t, bool shared)
{
	const char *q = t->prompt ? t->prompt : t->step->prompt;
	struct dr_doc *d = r->d;
	int n;

	if (shared) {
		/* One decision per tenant: the checklist holds them. */
		if (RB_HTML(r))
			dr_doc_p(d, "q", q);
		else
			labelled(r, "DECISION:", q);
		dr_doc_p(d, NULL,
		         "Ask it for each tenant. Do not go on with a tenant "
		         "until its decision is made: tick its box when the "
		         "answer is yes and write who approved beside it. If "
		         "the answer is no, stop that tenant's steps.");
		return;
	}
	if (RB_HTML(r)) {
		dr_doc_p(d, "q", q);
		dr_doc_p(d, NULL, GATE_WAIT);
		dr_doc_p_begin(d, NULL);
		gate_team(r, t);
		dr_doc_p_end(d);
		dr_doc_p_begin(d, NULL);
	} else {
		dr_doc_note_begin(d, NULL);
		dr_doc_bold(d, "DECISION:");
		dr_doc_text(d, " ");
		dr_doc_text(d, q);
		dr_doc_raw(d, NULL, "\n>\n> ");
		dr_doc_text(d, GATE_WAIT);
		dr_doc_raw(d, NULL, "\n>\n> ");
		gate_team(r, t);
		dr_doc_raw(d, NULL, "\n>\n> ");
	}
	dr_doc_checkbox(d);
	dr_doc_text(d, " yes   ");
	dr_doc_checkbox(d);
	dr_doc_text(d, " no   ");
	rb_blank(r, "Approved by");
	for (n = 1; n < t->step->approvers; n++) {
		dr_doc_raw(d, NULL, "  ");
		rb_blank(r, "and");
	}
	dr_doc_raw(d, NULL, "  ");
	rb_blank(r, "at");
	if (RB_HTML(r))
		dr_doc_p_end(d);
	else
		dr_doc_note_end(d);
}

/* What success looks like, and what to do when the step fails. */
static void
step_outcome(struct rb *r, const struct dr_task *t)
{
	const struct dr_step *st = t->step;
	bool safe = st->idempotent || st->readonly;
	const char *check = safe ? ""
	                         : " (first check whether it already took "
	                           "effect)";
	struct dr_doc *d = r->d;
	char buf[512], d1[32];

	labelled(r, "Success:",
	         st->success ? st->success
	                     : default_success(t, buf, sizeof(buf)));
	dr_doc_p_begin(d, NULL);
	dr_doc_bold(d, "If it fails:");
	dr_doc_text(d, " ");
	if (st->retries == 1)
		dr_doc_textf(d, "retry once after %s%s; then ",
		             rb_dur(st->retry_delay_ms, d1, sizeof(d1)), check);
	else if (st->retries > 1)
		dr_doc_textf(d, "retry up to %d times, %s apart%s; then ",
		             st->retries,
		             rb_dur(st->retry_delay_ms, d1, sizeof(d1)), check);
	sentence(r,
	         st->on_error_hint ? st->on_error_hint : default_failure(st));
	if (st->unreachable == DR_UNREACH_CONTINUE)
		dr_doc_text(d, " If the host cannot be reached at all, record "
		               "it as unreachable and go on.");
	dr_doc_p_end(d);
}

/* Where to write when the step was done and by whom. */
static void
step_done(struct rb *r, int num, bool shared)
{
	struct dr_doc *d = r->d;

	if (shared) {
		dr_doc_p_begin(d, "done");
		dr_doc_checkbox(d);
		dr_doc_textf(
		    d,
		    " Tick box %d in the tenant's row of the checklist "
		    "when it is done.",
		    num);
		dr_doc_p_end(d);
		return;
	}
	if (RB_HTML(r)) {
		dr_doc_p_begin(d, "done");
		rb_blank(r, "done at");
		dr_doc_raw(d, " &nbsp; ", NULL);
		rb_blank(r, "by");
		dr_doc_raw(d, " &nbsp; ", NULL);
		rb_blank(r, "notes");
		dr_doc_p_end(d);
		return;
	}
	dr_doc_list_begin(d, false);
	dr_doc_item_begin(d);
	dr_doc_checkbox(d);
	dr_doc_text(d, " ");
	rb_blank(r, "done at:");
	dr_doc_text(d, "  ");
	rb_blank(r, "by:");
	dr_doc_item_end(d);
	dr_doc_list_end(d);
}

/*
 * A provision step by hand: make the host keys first, give each new host
 * its own, and pin them before the first connection, so that nothing is
 * ever trusted on first use.
 */
static void
write_provision(struct rb *r, const struct dr_task *t)
{
	const struct dr_site *s = r->g->to;
	struct dr_doc *d = r->d;
	struct dr_buf roles;
	char *b;
	size_t i;

	dr_buf_init(&roles, 0);
	for (i = 0; i < s->nroles; i++)
		dr_buf_printf(&roles, "%s%s", i ? "," : "", s->roles[i]);
	dr_doc_p_begin(d, NULL);
	dr_doc_textf(d,
	             "%s does not exist yet: create its hosts (roles %s, at "
	             "most %d), each with a host key you make now. ",
	             s->name, roles.data, s->max_hosts);
	dr_doc_bold(d, "Never accept a key a new host shows you on first "
	               "connection.");
	dr_doc_p_end(d);
	dr_doc_p(d, NULL,
	         "1. On your workstation, make one ed25519 key pair per host, "
	         "in a private directory (the private keys go to the new hosts "
	         "only):");
	b = dr_xasprintf("umask 077; mkdir -p keys-%s\n"
	                 "for i in $(seq 1 %d); do\n"
	                 "  ssh-keygen -q -t ed25519 -N '' -C \"%s key-$i\" "
	                 "-f keys-%s/key-$i\n"
	                 "done",
	                 s->name, s->max_hosts, s->name, s->name);
	rb_pre(r, b);
	free(b);
	dr_doc_p(d, NULL,
	         "2. Create the hosts with the provisioner. It reads the keys "
	         "from DROVER_KEYS (host i gets key-i; with cloud-init as "
	         "ssh_keys: ed25519_private and ed25519_public, with "
	         "ssh_deletekeys: true) and prints the inventory (Ansible "
	         "JSON) on stdout:");
	b = dr_xasprintf("cd %s\n"
	                 "export DROVER_SITE=%s DROVER_ROLES=%s "
	                 "DROVER_KEY_COUNT=%d DROVER_KEYS=\"$OLDPWD/keys-%s\"\n"
	                 "%s > \"$OLDPWD/inventory-%s.json\"",
	                 r->p->dir ? r->p->dir : ".", s->name, roles.data,
	                 s->max_hosts, s->name, t->display ? t->display : "",
	                 s->name);
	rb_pre(r, b);
	free(b);
	dr_doc_p(d, NULL,
	         "Without the provisioner, create each host by hand and give "
	         "it its key pair: key-i as /etc/ssh/ssh_host_ed25519_key "
	         "(mode 0600) and key-i.pub as "
	         "/etc/ssh/ssh_host_ed25519_key.pub; remove its other host "
	         "keys; restart sshd.");
	dr_doc_p(d, NULL,
	         "3. Pin every host before you connect to it: one known_hosts "
	         "line per host, with its address, its port and the public key "
	         "you gave it.");
	b = dr_xasprintf("# for each host: its ADDRESS and the number i of its "
	                 "key\n"
	                 "printf '[%%s]:%%s %%s\\n' ADDRESS %d \"$(cut -d' ' "
	                 "-f1,2 keys-%s/key-i.pub)\" >> known_hosts.%s\n"
	                 "ssh-keygen -l -f known_hosts.%s   # compare with "
	                 "each host's console",
	                 r->p->defaults.port, s->name, s->name, s->name);
	rb_pre(r, b);
	free(b);
	dr_doc_p(d, NULL,
	         "Connect only with that file and strict checking. A host that "
	         "shows another key is not the one you created: stop, and call "
	         "the incident commander.");
	b = dr_xasprintf("ssh -o UserKnownHostsFile=known_hosts.%s -o "
	                 "StrictHostKeyChecking=yes -p %d USER@ADDRESS true",
	                 s->name, r->p->defaults.port);
	rb_pre(r, b);
	free(b);
	dr_doc_p(d, NULL,
	         "4. Once the hosts are up, remove the private keys from your "
	         "workstation (shred -u keys-*/key-? keys-*/key-?.user-data); "
	         "keep the .pub files and known_hosts with the incident "
	         "records. Below, \"each db host\" means every host that the "
	         "inventory lists in the db group.");
	dr_buf_free(&roles);
}

/* A step on a host that does not exist yet: what to run on each. */
static void
write_deferred(struct rb *r, const struct dr_task *t)
{
	dr_doc_p_begin(r->d, NULL);
	dr_doc_textf(r->d,
	             "On %s host of %s (from the inventory; log in with the "
	             "known_hosts file you wrote when provisioning):",
	             strcmp(t->role, "*") == 0 ? "every" : "each",
	             r->g->to->name);
	dr_doc_p_end(r->d);
	if (t->step->action == DR_ACT_COPY) {
		struct dr_buf b;
		dr_buf_init(&b, 0);
		dr_buf_printf(&b, "# copy %s\n#   to %s on the host%s%s",
		              t->src_path ? t->src_path : "?",
		              t->dst_path ? t->dst_path : "?",
		              t->sha256 ? "\n# sha256 " : "",
		              t->sha256 ? t->sha256 : "");
		rb_pre(r, b.data);
		dr_buf_free(&b);
		return;
	}
	if (t->display)
		rb_pre(r, t->display);
	else if (t->target)
		rb_pre(r, t->target);
}

void
rb_write_step(struct rb *r, const struct dr_task *t, int num,
              const struct rb_how *how)
{
	const struct dr_step *st = t->step;
	bool gate = st->action == DR_ACT_APPROVE;
	bool local = t->host == NULL || st->action == DR_ACT_LOCAL ||
	             st->action == DR_ACT_PROBE || gate;
	char *where;

	if (t->deferred)
		where = dr_xasprintf(
		    "%s %s host%s of %s (known after provisioning)",
		    strcmp(t->role, "*") == 0 ? "every" : "each",
		    strcmp(t->role, "*") == 0 ? "new" : t->role, "",
		    r->g->to->name);
	else if (st->action == DR_ACT_COPY && t->host)
		where = dr_byhand_label(t->host);
	else if (local)
		where = dr_xstrdup("your workstation");
	else
		where = dr_byhand_label(t->host);
	step_header(r, t, num, where, !how->shared);
	if (!gate)
		step_facts(r, t, local);
	if (t->refused) {
		dr_doc_note_begin(r->d, "warn");
		dr_doc_bold(r->d, "Refused in a drill:");
		dr_doc_textf(r->d,
		             " %s. Do not run it; tick the box as skipped.",
		             t->refusal ? t->refusal
		                        : "a drill never touches production");
		dr_doc_note_end(r->d);
	} else if (t->deferred) {
		write_deferred(r, t);
		step_outcome(r, t);
	} else {
		switch (st->action) {
		case DR_ACT_PROVISION:
			write_provision(r, t);
			break;
		case DR_ACT_DEPROVISION:
			dr_doc_p(
			    r->d, NULL,
			    "On your workstation, with DROVER_SITE set to "
			    "the site and DROVER_INVENTORY to the inventory "
			    "you kept when provisioning:");
			rb_pre(r, t->display ? t->display : "");
			break;
		case DR_ACT_RUN:
		case DR_ACT_SCRIPT:
			step_command(r, t);
			break;
		case DR_ACT_LOCAL:
			dr_doc_p(r->d, NULL, "On your workstation:");
			rb_pre(r, t->display ? t->display : "");
			break;
		case DR_ACT_COPY:
			write_copy(r, t, how->dir);
			break;
		case DR_ACT_PROBE:
			write_probe(r, t);
			break;
		case DR_ACT_APPROVE:
			step_gate(r, t, how->shared);
			break;
		case DR_ACT_NONE:
			break;
		}
		write_secret_note(r, t);
		if (!gate)
			step_outcome(r, t);
	}
	if (!gate || how->shared)
		step_done(r, num, how->shared);
	dr_doc_raw(r->d, "</div>\n", NULL);
	free(where);
}
