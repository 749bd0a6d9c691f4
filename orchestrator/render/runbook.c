/*
 * runbook.c: the printable runbook, in Markdown or one self-contained HTML
 * file, for a person recovering by hand at 3 a.m. without drover.
 *
 * The document is written through the document writer (doc.h), so that
 * the content is decided once and every plan value goes through the one
 * escaping policy.
 */
#include "drover/runbook.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "drover/byhand.h"
#include "drover/common.h"
#include "drover/doc.h"
#include "drover/hostkeys.h"

struct rb {
	struct dr_doc *d;
	const struct dr_graph *g;
	const struct dr_plan *p;
	struct dr_hostkeys *kh; /* the pinned keys, or NULL: none given */
	int nfacts;             /* in the facts line being written */
};

#define HTML(r) dr_doc_is_html((r)->d)

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

/* "ED25519 SHA256:...", one line per key pinned for h, or NULL. */
static char *
host_keys(const struct rb *r, const struct dr_host *h)
{
	const struct dr_hostkey *k = NULL;
	struct dr_buf b;

	dr_buf_init(&b, 0);
	while ((k = dr_hostkeys_next(r->kh, h->address, dr_byhand_port(r->p, h),
	                             k)))
		dr_buf_printf(&b, "%s%s %s", b.len ? "\n" : "", k->type,
		              k->fingerprint);
	if (b.len == 0) {
		dr_buf_free(&b);
		return NULL;
	}
	return dr_buf_steal(&b);
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
    /* only a fingerprint may break anywhere: names and users stay whole */
    "table.hosts td{overflow-wrap:break-word}"
    "table.hosts td:nth-child(7){overflow-wrap:anywhere}\n"
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

/* A blank to fill in by hand, after its label. */
static void
blank(struct rb *r, const char *label)
{
	dr_doc_span_begin(r->d, "fill");
	dr_doc_span(r->d, "lbl", label);
	dr_doc_raw(r->d, " <span class=\"blank\">&nbsp;</span>", " __________");
	dr_doc_span_end(r->d);
}

/*
 * A line of facts ("timeout 10m · retries none"): HTML, one box each;
 * Markdown, separated by middle dots.
 */
static void
facts_begin(struct rb *r)
{
	r->nfacts = 0;
	dr_doc_raw(r->d, "<div class=\"facts\">", NULL);
}

/* Starts the next fact, labelled in bold. */
static void
fact(struct rb *r, const char *label)
{
	if (r->nfacts++)
		dr_doc_raw(r->d, "</span><span>", " \xc2\xb7 ");
	else
		dr_doc_raw(r->d, "<span>", NULL);
	dr_doc_bold(r->d, label);
}

static void
facts_end(struct rb *r)
{
	dr_doc_raw(r->d, "</span></div>\n", "\n\n");
}

static void
write_header(struct rb *r, const char *from, uint64_t now)
{
	const struct dr_plan *p = r->p;
	const struct dr_graph *g = r->g;
	struct dr_doc *d = r->d;
	const char *mode = g->mode == DR_MODE_DRILL ? "drill" : "failover";
	const char *c[][2] = {
	    {"plan", p->name},
	    {"description", p->description},
	    {"direction", NULL},
	    {"mode", g->mode == DR_MODE_DRILL
	                 ? "drill: production must not be changed"
	                 : "failover"},
	    {"generated", NULL},
	    {"plan file", p->path},
	    {"plan sha256", p->sha256},
	};
	char date[64], *dir, *s;
	time_t t = (time_t)(now / 1000);
	struct tm tm;
	size_t i;

	gmtime_r(&t, &tm);
	strftime(date, sizeof(date), "%Y-%m-%d %H:%M UTC", &tm);
	dir = dr_xasprintf("%s \xe2\x86\x92 %s", from, g->to->name);
	c[2][1] = dir;
	c[4][1] = date;

	s = dr_xasprintf("Recovery runbook: %s", p->name ? p->name : "plan");
	dr_doc_heading(d, 1, NULL, NULL, s);
	free(s);
	dr_doc_p_begin(d, "sub");
	dr_doc_bold(d, mode);
	dr_doc_text(d, " ");
	dr_doc_text(d, dir);
	dr_doc_p_end(d);

	/* Labels: bold by the stylesheet in HTML, by markup in Markdown. */
	dr_doc_table_begin(d, "meta", 2, 0);
	for (i = 0; i < sizeof(c) / sizeof(c[0]); i++) {
		if (c[i][1] == NULL)
			continue;
		dr_doc_row_begin(d);
		dr_doc_cell_begin(d, NULL);
		dr_doc_raw(d, NULL, "**");
		dr_doc_text(d, c[i][0]);
		dr_doc_raw(d, NULL, "**");
		dr_doc_cell_end(d);
		if (strcmp(c[i][0], "plan sha256") == 0) {
			dr_doc_cell_begin(d, NULL);
			dr_doc_code(d, c[i][1]);
			dr_doc_cell_end(d);
		} else {
			dr_doc_cell(d, NULL, c[i][1]);
		}
		dr_doc_row_end(d);
	}
	dr_doc_table_end(d);
	dr_doc_p_begin(d, NULL);
	blank(r, "Incident declared at");
	dr_doc_text(d, "   ");
	blank(r, "Incident lead");
	dr_doc_text(d, "   ");
	blank(r, "Runbook started at");
	dr_doc_p_end(d);
	dr_doc_p(d, NULL,
	         "RTO targets below count from the moment the incident was "
	         "declared. Write times in UTC or say which zone you use.");
	free(dir);
}

static void
write_contacts(struct rb *r)
{
	static const char *const h[] = {"name", "role", "phone", "email"};
	struct dr_doc *d = r->d;
	size_t i;

	dr_doc_heading(d, 2, "contacts", NULL, "Contacts");
	if (r->p->ncontacts == 0) {
		dr_doc_p_begin(d, NULL);
		dr_doc_text(d, "The plan lists no contacts. Write the incident "
		               "lead's and the security team's numbers here: ");
		blank(r, "");
		dr_doc_p_end(d);
		return;
	}
	dr_doc_table_begin(d, NULL, 4, 0);
	dr_doc_table_head(d, h);
	for (i = 0; i < r->p->ncontacts; i++) {
		const struct dr_contact *c = &r->p->contacts[i];
		const char *v[] = {c->name, c->role, c->phone, c->email};
		dr_doc_row(d, v);
	}
	dr_doc_table_end(d);
}

/* An item of the list "Before you start": a bold lead, then text. */
static void
rule_begin(struct rb *r, const char *lead)
{
	dr_doc_item_begin(r->d);
	dr_doc_bold(r->d, lead);
	dr_doc_text(r->d, " ");
}

static void
write_before(struct rb *r, const char *from)
{
	const struct dr_plan *p = r->p;
	struct dr_doc *d = r->d;

	dr_doc_heading(d, 2, "before", NULL, "Before you start");
	dr_doc_list_begin(d, true);
	rule_begin(r, "Fence first.");
	dr_doc_textf(d,
	             "The lost sites (%s) must be isolated (replication cut, "
	             "keys revoked, routes withdrawn) before anything trusts "
	             "them again. A fence step that fails blocks the "
	             "failover: stop and call the incident lead, do not skip "
	             "it.",
	             from);
	dr_doc_item_end(d);
	rule_begin(r, "Restore only from verified backups.");
	dr_doc_text(d, "A replica is not a backup. Use immutable backups taken "
	               "before the compromise, and check every sha256 as the "
	               "steps say. Never promote or copy from a lost site.");
	dr_doc_item_end(d);
	rule_begin(r, "Verify host keys before typing yes.");
	dr_doc_text(d, "When ssh asks to confirm a host key, compare its "
	               "SHA256 fingerprint with the table \"Sites and "
	               "hosts\". If it differs, stop: you may be talking to "
	               "the attacker.");
	if (p->defaults.known_hosts) {
		char *o = dr_xasprintf("-o StrictHostKeyChecking=yes -o "
		                       "UserKnownHostsFile=%s",
		                       p->defaults.known_hosts);
		dr_doc_text(d, " With the plan's known_hosts file ssh checks "
		               "for you: add ");
		dr_doc_code(d, o);
		dr_doc_text(d, " to ssh and scp.");
		free(o);
	}
	dr_doc_item_end(d);
	rule_begin(r, "Work in order, one step at a time.");
	dr_doc_text(d, "Every command is typed on your workstation: an ssh "
	               "line logs in to the host the step names and runs one "
	               "command there. Tick each box and write the time when "
	               "the step is done. A tier starts only when the tier "
	               "before it has ended. Nothing starts at the target "
	               "before what it depends on is verified healthy.");
	dr_doc_item_end(d);
	rule_begin(r, "Secrets stay out of writing.");
	dr_doc_text(d, "Commands show secrets as placeholders such as ");
	dr_doc_code(d, "<secret:NAME>");
	dr_doc_text(d, "; the table \"Secrets\" says where each value is "
	               "kept. Never write a value on this paper, in a ticket "
	               "or in a chat.");
	dr_doc_item_end(d);
	if (p->defaults.identity) {
		rule_begin(r, "Your key.");
		dr_doc_text(d, "The plan logs in with the key ");
		dr_doc_code(d, p->defaults.identity);
		dr_doc_text(d, "; add ");
		dr_doc_code(d, "-i FILE");
		dr_doc_text(d, " to ssh and scp if yours is elsewhere. Never "
		               "forward your agent (-A) to any host.");
		dr_doc_item_end(d);
	}
	if (r->g->mode == DR_MODE_DRILL) {
		rule_begin(r, "This is a drill.");
		dr_doc_text(d, "Production must not be changed. Steps marked "
		               "\"refused in a drill\" are not to be run.");
		dr_doc_item_end(d);
	}
	dr_doc_list_end(d);
}

static void
write_hosts(struct rb *r)
{
	static const char *const h[] = {"site",           "site role", "host",
	                                "address",        "user",      "roles",
	                                "pinned host key"};
	const struct dr_plan *p = r->p;
	struct dr_doc *d = r->d;
	size_t i, j, k, ncols = r->kh ? 7 : 6;

	dr_doc_heading(d, 2, "hosts", NULL, "Sites and hosts");
	if (r->kh == NULL)
		dr_doc_p(d, NULL,
		         "No known_hosts file was given: get the host key "
		         "fingerprints from the security team before "
		         "connecting.");
	dr_doc_table_begin(d, "hosts", ncols, 0);
	dr_doc_table_head(d, h);
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
		if (s->provisioned && s->nhosts == 0) {
			struct dr_buf roles;
			dr_buf_init(&roles, 0);
			for (k = 0; k < s->nroles; k++)
				dr_buf_printf(&roles, "%s%s", k ? ", " : "",
				              s->roles[k]);
			{
				const char *v[] = {
				    s->name,
				    role,
				    "known after provisioning",
				    "from the inventory",
				    r->p->defaults.user ? r->p->defaults.user
				                        : "root",
				    roles.data ? roles.data : "",
				    "the keys you generate (see its provision "
				    "step)"};
				dr_doc_row(d, v);
			}
			dr_buf_free(&roles);
		}
		for (j = 0; j < s->nhosts; j++) {
			const struct dr_host *ho = &s->hosts[j];
			struct dr_buf roles;
			char *addr;
			char *kt = host_keys(r, ho);

			dr_buf_init(&roles, 0);
			for (k = 0; k < ho->nroles; k++)
				dr_buf_printf(&roles, "%s%s", k ? ", " : "",
				              ho->roles[k]);
			addr = dr_xasprintf("%s:%d", ho->address,
			                    dr_byhand_port(r->p, ho));
			{
				const char *v[] = {
				    j == 0 ? s->name : "",
				    j == 0 ? role : "",
				    ho->name,
				    addr,
				    dr_byhand_user(r->p, ho),
				    roles.data ? roles.data : "",
				    kt ? kt : "not pinned: verify by phone"};
				dr_doc_row(d, v);
			}
			free(kt);
			free(addr);
			dr_buf_free(&roles);
		}
		free(role);
	}
	dr_doc_table_end(d);
}

static void
write_secrets(struct rb *r)
{
	static const char *const h[] = {"placeholder",
	                                "where the value is kept"};
	const struct dr_plan *p = r->p;
	struct dr_doc *d = r->d;
	size_t i;

	if (p->nsecrets == 0)
		return;
	dr_doc_heading(d, 2, "secrets", NULL, "Secrets");
	dr_doc_p(d, NULL,
	         "Replace a placeholder by the value where a command needs it "
	         "(keep the double quotes around it). Type it, do not write it "
	         "down; start the command line with a space so that it stays "
	         "out of shell history.");
	dr_doc_table_begin(d, NULL, 2, 0);
	dr_doc_table_head(d, h);
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
		dr_doc_row_begin(d);
		dr_doc_cell_begin(d, NULL);
		dr_doc_code(d, ph);
		dr_doc_cell_end(d);
		dr_doc_cell(d, NULL, w.data);
		dr_doc_row_end(d);
		dr_buf_free(&w);
		free(ph);
	}
	dr_doc_table_end(d);
}

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
			         dur(st->probe.within_ms, d, sizeof(d)));
			return buf;
		}
		if (st->probe.expect_status)
			snprintf(code, sizeof(code), "%d",
			         st->probe.expect_status);
		snprintf(buf, len, "HTTP %s from %s within %s%s%s%s.", code,
		         t->target ? t->target : "the URL",
		         dur(st->probe.within_ms, d, sizeof(d)),
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

/* A block of commands, one per line, copyable as is. */
static void
pre(struct rb *r, const char *s)
{
	dr_doc_pre(r->d, NULL, "sh", s, DR_DOC_PRE_LINES);
}

/* A copy relayed through the workstation, step by step. */
static void
write_copy(struct rb *r, const struct dr_task *t)
{
	struct dr_byhand_step s[DR_BYHAND_MAX];
	size_t n = dr_byhand_copy(r->p, t, s), i;

	dr_doc_p(r->d, NULL,
	         "The file passes through your workstation. Never give the "
	         "destination host credentials for the source, and never copy "
	         "directly between the two hosts.");
	for (i = 0; i < n; i++) {
		dr_doc_p(r->d, NULL, s[i].say);
		pre(r, s[i].lines);
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
	pre(r, cmd);
	free(cmd);
	if (pr->within_ms == 0)
		return;
	dr_doc_p_begin(r->d, NULL);
	dr_doc_textf(
	    r->d, "Repeat every %s until it succeeds, for at most %s.",
	    dur(pr->interval_ms ? pr->interval_ms : 5000, d1, sizeof(d1)),
	    dur(pr->within_ms, d2, sizeof(d2)));
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
	}
	dr_doc_text(r->d,
	            ". Its read line waits for the value: type it and press "
	            "Enter, so it stays out of the command line and the shell "
	            "history; never write it down.");
	dr_doc_note_end(r->d);
}

/* The step's title line: a box to tick, number, name, where it runs. */
static void
step_header(struct rb *r, const struct dr_task *t, int num, const char *where)
{
	const struct dr_step *st = t->step;
	bool gate = st->action == DR_ACT_APPROVE;
	struct dr_doc *d = r->d;

	if (!HTML(r)) {
		dr_doc_heading_begin(d, 4, NULL, NULL);
		dr_doc_checkbox(d);
		dr_doc_textf(d, " %s %d \xc2\xb7 ", gate ? "Decision" : "Step",
		             num);
		dr_doc_text(d, st->name);
		dr_doc_text(d, " \xc2\xb7 ");
		dr_doc_text(d, where);
		dr_doc_heading_end(d);
		return;
	}
	dr_doc_htmlf(d, "<div class=\"step%s%s\" id=\"step-%d\">\n",
	             gate ? " gate" : "", t->refused ? " refused" : "", num);
	dr_doc_raw(d, "<div class=\"sh\">", NULL);
	dr_doc_span_begin(d, "box");
	dr_doc_checkbox(d);
	dr_doc_span_end(d);
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

	facts_begin(r);
	if (h && (!local || st->action == DR_ACT_COPY)) {
		fact(r, "host");
		dr_doc_textf(d, " %s/%s (%s:%d)", h->site ? h->site->name : "?",
		             h->name, h->address, dr_byhand_port(r->p, h));
		fact(r, "user");
		dr_doc_textf(d, " %s", dr_byhand_user(r->p, h));
	}
	if (st->action == DR_ACT_PROBE) {
		fact(r, "keep trying for");
		dr_doc_textf(d, " %s",
		             dur(st->probe.within_ms, d1, sizeof(d1)));
	} else {
		fact(r, "timeout");
		dr_doc_textf(d, " %s", dur(st->timeout_ms, d1, sizeof(d1)));
	}
	fact(r, "retries");
	if (st->retries > 0)
		dr_doc_textf(d, " %d, %s apart", st->retries,
		             dur(st->retry_delay_ms, d1, sizeof(d1)));
	else
		dr_doc_text(d, " none");
	fact(r, "idempotent");
	dr_doc_text(d, st->readonly     ? " yes (read-only)"
	               : st->idempotent ? " yes (safe to re-run)"
	                                : " no (check before re-running)");
	facts_end(r);
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
		pre(r, t->display ? t->display : "");
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
	    strchr(t->display, '\n') != NULL) {
		/* A script with its variables: log in, then paste it as it is
		 * (the shell reads it line by line). */
		dr_doc_p(d, NULL, "Log in to the host:");
		line = dr_byhand_login(r->p, t->host);
		pre(r, line);
		free(line);
		dr_doc_p(d, NULL, "and paste this script into its shell:");
		pre(r, t->display);
		return;
	}
	if (st->action == DR_ACT_SCRIPT && st->script && t->display &&
	    strstr(t->display, "sh -s") != NULL)
		input = st->script[0] == '/' || r->p->dir == NULL
		            ? dr_xstrdup(st->script)
		            : dr_xasprintf("%s/%s", r->p->dir, st->script);
	line = dr_byhand_ssh(r->p, t->host, t->display, input);
	pre(r, line);
	free(line);
	free(input);
}

#define GATE_WAIT                                                              \
	"Do not go on until the decision is made and signed. If the answer "   \
	"is no, stop: the steps after this one wait."

/* An approval: the question, and where to write the decision. */
static void
step_gate(struct rb *r, const struct dr_task *t)
{
	const char *q = t->prompt ? t->prompt : t->step->prompt;
	struct dr_doc *d = r->d;

	if (HTML(r)) {
		dr_doc_p(d, "q", q);
		dr_doc_p(d, NULL, GATE_WAIT);
		dr_doc_p_begin(d, NULL);
	} else {
		dr_doc_note_begin(d, NULL);
		dr_doc_bold(d, "DECISION:");
		dr_doc_text(d, " ");
		dr_doc_text(d, q);
		dr_doc_raw(d, NULL, "\n>\n> ");
		dr_doc_text(d, GATE_WAIT);
		dr_doc_raw(d, NULL, "\n>\n> ");
	}
	dr_doc_checkbox(d);
	dr_doc_text(d, " yes   ");
	dr_doc_checkbox(d);
	dr_doc_text(d, " no   ");
	blank(r, "Approved by");
	dr_doc_raw(d, NULL, "  ");
	blank(r, "at");
	if (HTML(r))
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
		             dur(st->retry_delay_ms, d1, sizeof(d1)), check);
	else if (st->retries > 1)
		dr_doc_textf(d, "retry up to %d times, %s apart%s; then ",
		             st->retries,
		             dur(st->retry_delay_ms, d1, sizeof(d1)), check);
	sentence(r,
	         st->on_error_hint ? st->on_error_hint : default_failure(st));
	if (st->unreachable == DR_UNREACH_CONTINUE)
		dr_doc_text(d, " If the host cannot be reached at all, record "
		               "it as unreachable and go on.");
	dr_doc_p_end(d);
}

/* Where to write when the step was done and by whom. */
static void
step_done(struct rb *r)
{
	struct dr_doc *d = r->d;

	if (HTML(r)) {
		dr_doc_p_begin(d, "done");
		blank(r, "done at");
		dr_doc_raw(d, " &nbsp; ", NULL);
		blank(r, "by");
		dr_doc_raw(d, " &nbsp; ", NULL);
		blank(r, "notes");
		dr_doc_p_end(d);
		return;
	}
	dr_doc_list_begin(d, false);
	dr_doc_item_begin(d);
	dr_doc_checkbox(d);
	dr_doc_text(d, " ");
	blank(r, "done at:");
	dr_doc_text(d, "  ");
	blank(r, "by:");
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
	pre(r, b);
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
	pre(r, b);
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
	pre(r, b);
	free(b);
	dr_doc_p(d, NULL,
	         "Connect only with that file and strict checking. A host that "
	         "shows another key is not the one you created: stop, and call "
	         "the incident commander.");
	b = dr_xasprintf("ssh -o UserKnownHostsFile=known_hosts.%s -o "
	                 "StrictHostKeyChecking=yes -p %d USER@ADDRESS true",
	                 s->name, r->p->defaults.port);
	pre(r, b);
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
		pre(r, b.data);
		dr_buf_free(&b);
		return;
	}
	if (t->display)
		pre(r, t->display);
	else if (t->target)
		pre(r, t->target);
}

static void
write_step(struct rb *r, const struct dr_task *t, int num)
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
	step_header(r, t, num, where);
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
			pre(r, t->display ? t->display : "");
			break;
		case DR_ACT_RUN:
		case DR_ACT_SCRIPT:
			step_command(r, t);
			break;
		case DR_ACT_LOCAL:
			dr_doc_p(r->d, NULL, "On your workstation:");
			pre(r, t->display ? t->display : "");
			break;
		case DR_ACT_COPY:
			write_copy(r, t);
			break;
		case DR_ACT_PROBE:
			write_probe(r, t);
			break;
		case DR_ACT_APPROVE:
			step_gate(r, t);
			break;
		case DR_ACT_NONE:
			break;
		}
		write_secret_note(r, t);
		if (!gate)
			step_outcome(r, t);
	}
	if (!gate)
		step_done(r);
	dr_doc_raw(r->d, "</div>\n", NULL);
	free(where);
}

static void
tenant_vars(struct rb *r, const struct dr_tenant *tn)
{
	size_t i;

	if (tn->nvars == 0)
		return;
	dr_doc_p_begin(r->d, NULL);
	dr_doc_bold(r->d, "Values:");
	for (i = 0; i < tn->nvars; i++) {
		dr_doc_textf(r->d, "%s%s = ", i ? ", " : " ", tn->vars[i].name);
		dr_doc_code(r->d, tn->vars[i].value);
	}
	dr_doc_p_end(r->d);
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
		dr_doc_p_begin(r->d, NULL);
		dr_doc_text(r->d, sv->description);
		dr_doc_p_end(r->d);
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
	facts_begin(r);
	fact(r, "scope");
	dr_doc_text(r->d, sv->scope == DR_SCOPE_TENANT ? " per tenant"
	                                               : " global, once");
	fact(r, "RTO");
	dr_doc_text(r->d, sv->rto_ms ? " " : " none set");
	if (sv->rto_ms)
		dr_doc_text(r->d, dur(sv->rto_ms, d, sizeof(d)));
	if (sv->rpo_ms) {
		fact(r, "RPO");
		dr_doc_textf(r->d, " %s", dur(sv->rpo_ms, d, sizeof(d)));
	}
	if (sv->nafter) {
		fact(r, "after");
		for (i = 0; i < sv->nafter; i++)
			dr_doc_textf(r->d, "%s%s", i ? ", " : " ",
			             sv->after[i]);
	}
	facts_end(r);
	if (ntn) {
		dr_doc_p_begin(r->d, NULL);
		dr_doc_bold(r->d, "Tenants, in priority order:");
		dr_doc_text(r->d, " ");
		dr_doc_text(r->d, tn.data);
		dr_doc_p_end(r->d);
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

	dr_doc_heading(r->d, 2, "overview", NULL, "Recovery order at a glance");
	dr_doc_table_begin(r->d, "toc", 7, 0);
	dr_doc_table_head(r->d, h);
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
			dr_doc_row(r->d, v);
		}
	}
	dr_doc_table_end(r->d);
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
				dr_doc_heading(r->d, 2, "cleanup", "tier",
				               "After the run: cleanup");
				dr_doc_p_begin(r->d, NULL);
				dr_doc_text(r->d,
				            "These steps run after the plan, "
				            "whatever its outcome.");
				dr_doc_p_end(r->d);
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
				dr_doc_heading(r->d, 2, id, "tier", title);
				dr_doc_p_begin(r->d, NULL);
				if (first_tier)
					dr_doc_text(r->d, "Start here.");
				else
					dr_doc_text(
					    r->d,
					    "Start this tier only when "
					    "every step of the tier before "
					    "has ended.");
				dr_doc_text(r->d, " ");
				blank(r, "Tier started at");
				dr_doc_text(r->d, "   ");
				blank(r, "ended at");
				dr_doc_p_end(r->d);
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
				dr_doc_raw(r->d, "<div class=\"intro\">\n",
				           NULL);
				dr_doc_heading(r->d, 3, id, NULL, title);
				service_intro(r, cur_sv, order, i, g->ntasks);
				dr_doc_raw(r->d, "</div>\n", NULL);
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
				dr_doc_raw(r->d, "<div class=\"intro\">\n",
				           NULL);
				dr_doc_heading(r->d, 4, NULL, NULL, title);
				tenant_vars(r, cur_tn);
				dr_doc_raw(r->d, "</div>\n", NULL);
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
					dr_doc_p_begin(r->d, NULL);
					if (cur_tn)
						dr_doc_textf(r->d, "%s for %s ",
						             cur_sv->name,
						             cur_tn->name);
					else
						dr_doc_textf(r->d, "%s ",
						             cur_sv->name);
					blank(r, "recovered at");
					dr_doc_p_end(r->d);
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
	size_t *order = NULL, nsec;
	struct section *sec = NULL;
	char *from = NULL, *title = NULL, *foot = NULL;
	uint64_t now;
	int rc = 0;

	if (g == NULL || opts == NULL || out == NULL || g->to == NULL)
		return DR_EINVAL;
	if (opts->format != DR_RUNBOOK_MD && opts->format != DR_RUNBOOK_HTML)
		return DR_EINVAL;
	memset(&r, 0, sizeof(r));
	r.g = g;
	r.p = g->plan;

	if (opts->known_hosts &&
	    (rc = dr_hostkeys_load(opts->known_hosts, &r.kh)) != 0) {
		fprintf(stderr, "drover: runbook: %s: %s\n", opts->known_hosts,
		        rc == DR_EIO ? strerror(errno)
		                     : "libssh2 cannot start");
		goto out;
	}

	order = dr_xmalloc(sizeof(size_t) * (g->ntasks ? g->ntasks : 1));
	if ((rc = dr_byhand_order(g, order)) != 0)
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

	r.d = dr_doc_new(out, opts->format == DR_RUNBOOK_HTML ? DR_DOC_HTML
	                                                      : DR_DOC_MD);
	dr_doc_begin(r.d, title, foot, css);
	write_header(&r, from, now);
	write_contacts(&r);
	write_before(&r, from);
	write_hosts(&r);
	write_secrets(&r);
	write_overview(&r, sec, nsec);
	memset(sec, 0, sizeof(*sec) * (g->ntasks + 1));
	walk(&r, order, true, sec);

	dr_doc_heading(r.d, 2, "end", NULL, "Sign-off");
	dr_doc_p(r.d, NULL,
	         "Every service is verified healthy at the target, credentials "
	         "are rotated, and the lost sites stay fenced until they are "
	         "rebuilt.");
	dr_doc_p_begin(r.d, NULL);
	blank(&r, "Recovery complete at");
	dr_doc_text(r.d, "   ");
	blank(&r, "Signed");
	dr_doc_p_end(r.d);
	rc = dr_doc_end(r.d);
out:
	dr_doc_free(r.d);
	dr_hostkeys_free(r.kh);
	free(order);
	free(sec);
	free(from);
	free(title);
	free(foot);
	return rc;
}
