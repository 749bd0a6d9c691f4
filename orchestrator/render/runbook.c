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
#include "runbook-internal.h"

/* ---- small formatting helpers ----------------------------------------- */

const char *
rb_dur(uint64_t ms, char *buf, size_t len)
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
    /* a command is never hyphenated: a hyphen would be typed */
    "code{font-size:.92em;background:#f0f0f0;padding:0 .2em;"
    "hyphens:none}\n"
    "pre{font-size:8.6pt;line-height:1.35;white-space:pre-wrap;"
    "overflow-wrap:anywhere;hyphens:none;background:#f4f4f4;"
    "border:1px solid #bbb;border-left:4px solid #333;padding:.35em .55em;"
    "margin:.25em 0 .5em}\n"
    /* A line too long for the paper wraps under itself, indented, with a
     * mark in the margin of each continued line: a hook arrow drawn as a
     * path, one per line height, from the second line to the bottom of the
     * line's box. A picture, not text: neither a browser's copy nor a PDF's
     * text layer (pdftotext) carries it, so copying gives the command. */
    "pre .l{display:block;position:relative;overflow:hidden;"
    "padding-left:1.7em;text-indent:-1.7em}\n"
    "pre .l::after{content:\"\";position:absolute;left:.15em;top:1.35em;"
    "bottom:0;width:1.1em;background:url(\"data:image/svg+xml,"
    "%3Csvg xmlns='http://www.w3.org/2000/svg' viewBox='0 0 11 13.5'%3E"
    "%3Cpath d='M2 2.5v5.5h7M6.5 5.5l2.5 2.5-2.5 2.5' fill='none' "
    "stroke='%23666' stroke-width='1.2'/%3E%3C/svg%3E\") "
    "repeat-y left top/1.1em 1.35em}\n"
    "pre .w{white-space:nowrap}\n"
    ".intro{break-inside:avoid;page-break-inside:avoid;"
    "break-after:avoid;page-break-after:avoid}\n"
    ".step{border:1px solid #777;border-radius:3px;padding:.35em .65em "
    ".45em;margin:.6em 0}\n"
    /* A long step goes on over the page rather than leaving the rest of
     * it blank; a command never splits, nor leaves its title or the line
     * that introduces it behind. */
    "pre,.facts,.done,.gate{break-inside:avoid;page-break-inside:avoid}\n"
    ".sh,.step>p:has(+pre){break-after:avoid;page-break-after:avoid}\n"
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
    ".toc td,.toc th{white-space:nowrap}"
    ".toc td:nth-child(2){white-space:normal}\n"
    ".front a,.toc a{color:#1a3d7a}\n"
    /* Page numbers, written in when a first print told them (--format
     * pdf). Not target-counter(): Chromium takes it and prints nothing. */
    ".toc .pg{display:none;width:4em;text-align:right}\n"
    ".toc.pages .pg{display:table-cell}\n"
    "table.ph{width:auto}table.ph td{white-space:nowrap}\n"
    ".legend{font-size:8.6pt}\n"
    ".checklist{break-before:page;page-break-before:always}\n"
    ".keep{break-inside:avoid;page-break-inside:avoid}\n"
    /* two columns of tenants to a printed page; one list on screen */
    "@media print{.cols2{columns:2;column-gap:6mm}}\n"
    "table.grid{font-size:8pt;margin:.2em 0}\n"
    "table.grid th,table.grid td{padding:.12em .3em;height:1.9em;"
    "vertical-align:middle;white-space:nowrap;overflow-wrap:normal}\n"
    "table.grid td.box{text-align:center;font-size:10pt;padding:0 .15em}\n"
    "table.grid td.at{width:3.8em}\n"
    "table.grid td.n{text-align:right;color:#444}\n"
    "@media print{body{max-width:none;padding:0;font-size:9.8pt}"
    "a{color:inherit;text-decoration:none}}\n";

void
rb_blank(struct rb *r, const char *label)
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
void
rb_facts_begin(struct rb *r)
{
	r->nfacts = 0;
	dr_doc_raw(r->d, "<div class=\"facts\">", NULL);
}

/* Starts the next fact, labelled in bold. */
void
rb_fact(struct rb *r, const char *label)
{
	if (r->nfacts++)
		dr_doc_raw(r->d, "</span><span>", " \xc2\xb7 ");
	else
		dr_doc_raw(r->d, "<span>", NULL);
	dr_doc_bold(r->d, label);
}

void
rb_facts_end(struct rb *r)
{
	dr_doc_raw(r->d, "</span></div>\n", "\n\n");
}

static void
write_header(struct rb *r, const char *from, uint64_t now, const char *only,
             const char *remaining)
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
	    {"covers only", only},
	    {"remaining", remaining},
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
	rb_blank(r, "Incident declared at");
	dr_doc_text(d, "   ");
	rb_blank(r, "Incident lead");
	dr_doc_text(d, "   ");
	rb_blank(r, "Runbook started at");
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
		rb_blank(r, "");
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
	if (p->defaults.known_hosts) {
		dr_doc_text(d, "Every ssh and scp line below uses the plan's "
		               "known_hosts file ");
		dr_doc_code(d, p->defaults.known_hosts);
		dr_doc_text(d, " with ");
		dr_doc_code(d, "-o StrictHostKeyChecking=yes");
		dr_doc_text(d, ": ssh refuses a host whose key is not pinned "
		               "there. Copy that file to your workstation "
		               "first, at that path. Without it, drop the two "
		               "-o options and compare each SHA256 fingerprint "
		               "ssh shows with the table \"Sites and hosts\". "
		               "If it differs, stop: you may be talking to the "
		               "attacker.");
	} else {
		dr_doc_text(d, "When ssh asks to confirm a host key, compare "
		               "its SHA256 fingerprint with the table \"Sites "
		               "and hosts\". If it differs, stop: you may be "
		               "talking to the attacker.");
	}
	dr_doc_item_end(d);
	rule_begin(r, "Work in order, one step at a time.");
	dr_doc_text(d, "Every command is typed on your workstation: an ssh "
	               "line logs in to the host the step names and runs one "
	               "command there. A line too long for the paper goes on "
	               "below itself, indented, with a mark in the margin: "
	               "type it as one line. Tick each box and write the "
	               "time when the step is done. A tier starts only when "
	               "the tier before it has ended. Nothing starts at the "
	               "target before what it depends on is verified "
	               "healthy.");
	dr_doc_item_end(d);
	rule_begin(r, "Scripts are POSIX sh.");
	dr_doc_text(d, "Pasted into another shell a script can mean something "
	               "else (csh, tcsh and fish quote otherwise; bash and zsh "
	               "read a ");
	dr_doc_code(d, "!");
	dr_doc_text(d, " as history). After logging in, type ");
	dr_doc_code(d, "exec sh");
	dr_doc_text(d, " first, and where sh is bash (RHEL) also ");
	dr_doc_code(d, "set +H");
	dr_doc_text(d, ".");
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
		dr_doc_text(d, ", and every ssh and scp line names it with ");
		dr_doc_code(d, "-i");
		dr_doc_text(d,
		            ": change that path if yours is elsewhere. Never "
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
	                                "where the value is kept, where a "
	                                "person gets it"};
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
		if (s->hint)
			dr_buf_printf(&w, "\n%s", s->hint);
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

/* ---- the sections -------------------------------------------------------- */

/* One service of a tier (or the cleanup): a run of the document order. */
struct section {
	size_t from, to; /* in order[] */
	int tier;
	int num; /* service number in its tier */
	const struct dr_service *sv;
	bool cleanup;
	bool tier_start; /* the first of its tier: writes the tier heading */
	size_t ntenants;
	size_t ndone;         /* tasks the run finished */
	struct rb_shared *sh; /* one procedure for every tenant, or NULL */
	int first, last;      /* step numbers */
	char id[32], cid[32]; /* anchors: the section, its checklist */
};

/*
 * Cuts the document order into sections, counts each one's tenants and
 * finished tasks, and numbers the steps. Linear in the tasks: a tenant is
 * counted once per section by a stamp, not by looking back.
 */
static struct section *
cut_sections(struct rb *r, const size_t *order, size_t *nsec)
{
	const struct dr_graph *g = r->g;
	size_t *stamp = dr_xcalloc(r->p->ntenants + 1, sizeof(size_t));
	struct section *sec = dr_xcalloc(g->ntasks + 1, sizeof(*sec));
	int tier = -1, num = 0, step = 0;
	bool in_cleanup = false;
	size_t i, n = 0;

	for (i = 0; i < g->ntasks; i++) {
		const struct dr_task *t = &g->tasks[order[i]];
		bool cleanup = t->step->cleanup;
		struct section *s = n ? &sec[n - 1] : NULL;

		if (cleanup && !in_cleanup) {
			in_cleanup = true;
			s = &sec[n++];
			s->cleanup = true;
			s->sv = t->service;
			s->from = i;
			snprintf(s->id, sizeof(s->id), "cleanup");
		} else if (!in_cleanup &&
		           (t->tier != tier || t->service != s->sv)) {
			s = &sec[n++];
			s->tier_start = t->tier != tier;
			if (s->tier_start)
				num = 0;
			tier = t->tier;
			s->tier = tier;
			s->num = ++num;
			s->sv = t->service;
			s->from = i;
			snprintf(s->id, sizeof(s->id), "s-%d-%d", tier, num);
			snprintf(s->cid, sizeof(s->cid), "c-%d-%d", tier, num);
		}
		s->to = i + 1;
		if (rb_done(r, order[i]))
			s->ndone++;
		if (t->tenant) {
			size_t ti = (size_t)(t->tenant - r->p->tenants);
			if (ti < r->p->ntenants && stamp[ti] != n) {
				stamp[ti] = n;
				s->ntenants++;
			}
		}
	}
	for (i = 0; i < n; i++) {
		struct section *s = &sec[i];

		if (!s->cleanup && s->sv->scope == DR_SCOPE_TENANT)
			s->sh = rb_shared_new(r, order, s->from, s->to);
		s->first = step + 1;
		step += s->sh ? (int)rb_shared_nsteps(s->sh)
		              : (int)(s->to - s->from);
		s->last = step;
	}
	free(stamp);
	*nsec = n;
	return sec;
}

int
rb_page_of(const struct rb *r, const char *id)
{
	size_t i;

	for (i = 0; r->o->pages && i < r->o->npages; i++)
		if (strcmp(r->o->pages[i].id, id) == 0)
			return r->o->pages[i].page;
	return 0;
}

/* A table cell with the page the anchor id starts on (HTML only). */
static void
page_cell(struct rb *r, const char *id)
{
	int pg = id ? rb_page_of(r, id) : 0;

	if (!RB_HTML(r))
		return;
	dr_doc_cell_begin(r->d, "pg");
	if (id == NULL || *id == '\0') {
		dr_doc_text(r->d, "\xe2\x80\x94");
	} else if (pg > 0) {
		dr_doc_link_begin(r->d, id, NULL);
		dr_doc_textf(r->d, "%d", pg);
		dr_doc_link_end(r->d);
	} else {
		/* the first print: the link makes Chromium name the page */
		dr_doc_link_begin(r->d, id, NULL);
		dr_doc_link_end(r->d);
	}
	dr_doc_cell_end(r->d);
}

/* The front sections, as links. */
static void
write_front(struct rb *r)
{
	static const char *const part[][2] = {
	    {"overview", "Recovery order"}, {"contacts", "Contacts"},
	    {"before", "Before you start"}, {"hosts", "Sites and hosts"},
	    {"secrets", "Secrets"},         {"end", "Sign-off"}};
	size_t i;

	if (!RB_HTML(r))
		return;
	dr_doc_p_begin(r->d, "front");
	dr_doc_bold(r->d, "Contents:");
	for (i = 0; i < DR_NELEM(part); i++) {
		if (strcmp(part[i][0], "secrets") == 0 && r->p->nsecrets == 0)
			continue;
		dr_doc_text(r->d, i ? " \xc2\xb7 " : " ");
		dr_doc_link_begin(r->d, part[i][0], NULL);
		dr_doc_text(r->d, part[i][1]);
		dr_doc_link_end(r->d);
	}
	dr_doc_p_end(r->d);
}

/* The table of contents: every section, its steps, its pages. */
static void
write_overview(struct rb *r, const struct section *sec, size_t nsec)
{
	static const char *const hmd[] = {"section", "service", "tenants",
	                                  "RTO",     "steps",   "recovered at"};
	struct dr_doc *d = r->d;
	bool html = RB_HTML(r);
	char dd[32], num[32], tn[32], steps[64];
	size_t i;

	dr_doc_heading(d, 2, "overview", NULL, "Recovery order at a glance");
	dr_doc_table_begin(d, r->o->pages ? "toc pages" : "toc", html ? 8 : 6,
	                   0);
	if (html) {
		/* the page columns are the stylesheet's to show or hide */
		dr_doc_raw(d,
		           "<tr><th>section</th><th>service</th>"
		           "<th>tenants</th><th>RTO</th><th>steps</th>"
		           "<th class=\"pg\">page</th>"
		           "<th class=\"pg\">checklist</th>"
		           "<th>recovered at</th></tr>\n",
		           NULL);
	} else {
		dr_doc_table_head(d, hmd);
	}
	for (i = 0; i < nsec; i++) {
		const struct section *s = &sec[i];

		if (s->cleanup)
			snprintf(num, sizeof(num), "C");
		else
			snprintf(num, sizeof(num), "%d.%d", s->tier, s->num);
		snprintf(tn, sizeof(tn), "%zu", s->ntenants);
		if (s->first == s->last)
			snprintf(steps, sizeof(steps), "%d", s->first);
		else
			snprintf(steps, sizeof(steps), "%d\xe2\x80\x93%d",
			         s->first, s->last);
		if (s->sh)
			snprintf(steps + strlen(steps),
			         sizeof(steps) - strlen(steps),
			         " for each tenant");
		dr_doc_row_begin(d);
		dr_doc_cell_begin(d, NULL);
		dr_doc_link_begin(d, s->id, NULL);
		dr_doc_text(d, num);
		dr_doc_link_end(d);
		dr_doc_cell_end(d);
		dr_doc_cell(d, NULL, s->cleanup ? "cleanup" : s->sv->name);
		dr_doc_cell(d, NULL, s->ntenants ? tn : "\xe2\x80\x94");
		dr_doc_cell(d, NULL,
		            !s->cleanup && s->sv->rto_ms
		                ? rb_dur(s->sv->rto_ms, dd, sizeof(dd))
		                : "\xe2\x80\x94");
		dr_doc_cell(d, NULL, steps);
		page_cell(r, s->id);
		page_cell(r, s->sh ? s->cid : NULL);
		dr_doc_cell(d, NULL, "");
		dr_doc_row_end(d);
	}
	dr_doc_table_end(d);
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
service_intro(struct rb *r, const struct section *s, const size_t *order)
{
	const struct dr_service *sv = s->sv;
	const struct dr_graph *g = r->g;
	struct dr_doc *d = r->d;
	const struct dr_tenant *prev = NULL;
	char dd[32];
	size_t i, ntn = 0;

	if (sv->description)
		dr_doc_p(d, NULL, sv->description);
	rb_facts_begin(r);
	rb_fact(r, "scope");
	dr_doc_text(d, sv->scope == DR_SCOPE_TENANT ? " per tenant"
	                                            : " global, once");
	rb_fact(r, "RTO");
	dr_doc_text(d, sv->rto_ms ? " " : " none set");
	if (sv->rto_ms)
		dr_doc_text(d, rb_dur(sv->rto_ms, dd, sizeof(dd)));
	if (sv->rpo_ms) {
		rb_fact(r, "RPO");
		dr_doc_textf(d, " %s", rb_dur(sv->rpo_ms, dd, sizeof(dd)));
	}
	if (sv->nafter) {
		rb_fact(r, "after");
		for (i = 0; i < sv->nafter; i++)
			dr_doc_textf(d, "%s%s", i ? ", " : " ", sv->after[i]);
	}
	if (s->sh) {
		rb_fact(r, "tenants");
		dr_doc_textf(d, " %zu", s->ntenants);
	}
	rb_facts_end(r);
	if (s->sh || s->ntenants == 0)
		return;
	/* Written tenant by tenant: name them here, in document order (a
	 * section's tenant groups follow each other). */
	dr_doc_p_begin(d, NULL);
	dr_doc_bold(d, "Tenants, in priority order:");
	for (i = s->from; i < s->to; i++) {
		const struct dr_task *t = &g->tasks[order[i]];

		if (t->tenant == NULL || t->tenant == prev)
			continue;
		prev = t->tenant;
		dr_doc_textf(d, "%s%s (%d)", ntn++ ? ", " : " ", prev->name,
		             prev->priority);
	}
	dr_doc_p_end(d);
}

/* "3 of 7 steps were done in run R: left out." */
static void
done_line(struct rb *r, size_t ndone, size_t n)
{
	if (ndone == 0)
		return;
	dr_doc_p_begin(r->d, "note");
	if (ndone == n)
		dr_doc_textf(r->d, "All %zu steps were done in run %s.", n,
		             r->o->run_id ? r->o->run_id : "");
	else
		dr_doc_textf(r->d,
		             "%zu of these %zu steps were done in run %s and "
		             "are left out.",
		             ndone, n, r->o->run_id ? r->o->run_id : "");
	dr_doc_p_end(r->d);
}

static void
write_tier(struct rb *r, int tier, bool first)
{
	char title[32], id[32];

	snprintf(title, sizeof(title), "Tier %d", tier);
	snprintf(id, sizeof(id), "tier-%d", tier);
	dr_doc_heading(r->d, 2, id, "tier", title);
	dr_doc_p_begin(r->d, NULL);
	dr_doc_text(r->d, first ? "Start here."
	                        : "Start this tier only when every step of "
	                          "the tier before has ended.");
	dr_doc_text(r->d, " ");
	rb_blank(r, "Tier started at");
	dr_doc_text(r->d, "   ");
	rb_blank(r, "ended at");
	dr_doc_p_end(r->d);
}

/* A section written task by task: global services, the cleanup, and
 * tenant services whose tenants do not share one procedure. */
static void
write_tasks(struct rb *r, const struct section *s, const size_t *order)
{
	const struct dr_graph *g = r->g;
	const struct dr_tenant *cur = NULL;
	bool wrote = false; /* a step of the current tenant group */
	int step = s->first, tn_num = 0;
	char title[512];
	size_t i;

	for (i = s->from; i < s->to; i++, step++) {
		const struct dr_task *t = &g->tasks[order[i]];
		struct rb_how how = {NULL, false};
		bool end;

		if (!s->cleanup && t->tenant && t->tenant != cur) {
			cur = t->tenant;
			tn_num++;
			wrote = false;
		}
		if (rb_done(r, order[i]))
			goto next;
		if (!s->cleanup && cur && !wrote) {
			snprintf(title, sizeof(title),
			         "%d.%d.%d %s \xe2\x80\x94 %s, tenant "
			         "priority %d",
			         s->tier, s->num, tn_num, s->sv->name,
			         cur->name, cur->priority);
			dr_doc_raw(r->d, "<div class=\"intro\">\n", NULL);
			dr_doc_heading(r->d, 4, NULL, NULL, title);
			tenant_vars(r, cur);
			dr_doc_raw(r->d, "</div>\n", NULL);
		}
		wrote = true;
		how.dir = t->tenant ? t->tenant->name : NULL;
		rb_write_step(r, t, step, &how);
	next:
		if (s->cleanup || !wrote)
			continue;
		end = i + 1 == s->to || g->tasks[order[i + 1]].tenant != cur;
		if (end && (s->sv->rto_ms || cur)) {
			dr_doc_p_begin(r->d, NULL);
			if (cur)
				dr_doc_textf(r->d, "%s for %s ", s->sv->name,
				             cur->name);
			else
				dr_doc_textf(r->d, "%s ", s->sv->name);
			rb_blank(r, "recovered at");
			dr_doc_p_end(r->d);
		}
	}
}

static void
write_section(struct rb *r, const struct section *s, const size_t *order,
              bool first_tier)
{
	char title[512], dd[32];

	if (s->cleanup) {
		dr_doc_heading(r->d, 2, s->id, "tier",
		               "After the run: cleanup");
		dr_doc_p(r->d, NULL,
		         "These steps run after the plan, whatever its "
		         "outcome.");
		done_line(r, s->ndone, s->to - s->from);
		write_tasks(r, s, order);
		return;
	}
	if (s->tier_start)
		write_tier(r, s->tier, first_tier);
	if (s->sv->rto_ms)
		snprintf(title, sizeof(title), "%d.%d %s \xe2\x80\x94 RTO %s",
		         s->tier, s->num, s->sv->name,
		         rb_dur(s->sv->rto_ms, dd, sizeof(dd)));
	else
		snprintf(title, sizeof(title), "%d.%d %s", s->tier, s->num,
		         s->sv->name);
	dr_doc_raw(r->d, "<div class=\"intro\">\n", NULL);
	dr_doc_heading(r->d, 3, s->id, NULL, title);
	service_intro(r, s, order);
	dr_doc_raw(r->d, "</div>\n", NULL);
	if (s->sh == NULL) {
		done_line(r, s->ndone, s->to - s->from);
		write_tasks(r, s, order);
		return;
	}
	if (rb_shared_nleft(s->sh) == 0) {
		dr_doc_p_begin(r->d, "note");
		dr_doc_textf(r->d, "Every tenant's steps were done in run %s.",
		             r->o->run_id ? r->o->run_id : "");
		dr_doc_p_end(r->d);
		return;
	}
	rb_shared_write(r, s->sh, s->first, s->cid);
}

/* "payroll, comune-lodi" for --only; NULL when everything is covered. */
static char *
only_list(const struct dr_runbook_opts *o)
{
	struct dr_buf b;
	size_t i;

	if (o->nonly == 0)
		return NULL;
	dr_buf_init(&b, 0);
	for (i = 0; i < o->nonly; i++)
		dr_buf_printf(&b, "%s%s", i ? ", " : "", o->only[i]);
	return dr_buf_steal(&b);
}

static char *
remaining_line(const struct rb *r)
{
	size_t i, n = 0;

	if (r->o->done == NULL)
		return NULL;
	for (i = 0; i < r->g->ntasks; i++)
		n += r->o->done[i];
	return dr_xasprintf("what run %s has not done: %zu of its %zu tasks "
	                    "succeeded and are left out",
	                    r->o->run_id ? r->o->run_id : "?", n, r->g->ntasks);
}

int
dr_runbook_write(const struct dr_graph *g, const struct dr_runbook_opts *opts,
                 FILE *out)
{
	struct rb r;
	size_t *order = NULL, nsec = 0, i;
	struct section *sec = NULL;
	char *from = NULL, *title = NULL, *foot = NULL, *only = NULL;
	char *remaining = NULL;
	uint64_t now;
	int rc = 0;

	if (g == NULL || opts == NULL || out == NULL || g->to == NULL)
		return DR_EINVAL;
	if (opts->format == DR_RUNBOOK_PDF)
		return dr_runbook_write_pdf(g, opts, out);
	if (opts->format != DR_RUNBOOK_MD && opts->format != DR_RUNBOOK_HTML)
		return DR_EINVAL;
	memset(&r, 0, sizeof(r));
	r.g = g;
	r.p = g->plan;
	r.o = opts;

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
	sec = cut_sections(&r, order, &nsec);

	now = opts->now_wall_ms ? opts->now_wall_ms : dr_now_wall_ms();
	from = from_list(g);
	only = only_list(opts);
	remaining = remaining_line(&r);
	title = dr_xasprintf("Runbook %s: %s \xe2\x86\x92 %s (%s)",
	                     r.p->name ? r.p->name : "", from, g->to->name,
	                     g->mode == DR_MODE_DRILL ? "drill" : "failover");
	foot = dr_xasprintf("%s \xc2\xb7 %s \xe2\x86\x92 %s \xc2\xb7 %s",
	                    r.p->name ? r.p->name : "", from, g->to->name,
	                    g->mode == DR_MODE_DRILL ? "drill" : "failover");

	r.d = dr_doc_new(out, opts->format == DR_RUNBOOK_HTML ? DR_DOC_HTML
	                                                      : DR_DOC_MD);
	dr_doc_begin(r.d, title, foot, css);
	write_header(&r, from, now, only, remaining);
	write_front(&r);
	write_overview(&r, sec, nsec);
	write_contacts(&r);
	write_before(&r, from);
	write_hosts(&r);
	write_secrets(&r);
	for (i = 0; i < nsec; i++)
		write_section(&r, &sec[i], order, i == 0);

	dr_doc_heading(r.d, 2, "end", NULL, "Sign-off");
	dr_doc_p(r.d, NULL,
	         "Every service is verified healthy at the target, credentials "
	         "are rotated, and the lost sites stay fenced until they are "
	         "rebuilt.");
	dr_doc_p_begin(r.d, NULL);
	rb_blank(&r, "Recovery complete at");
	dr_doc_text(r.d, "   ");
	rb_blank(&r, "Signed");
	dr_doc_p_end(r.d);
	rc = dr_doc_end(r.d);
out:
	dr_doc_free(r.d);
	dr_hostkeys_free(r.kh);
	for (i = 0; sec && i < nsec; i++)
		rb_shared_free(sec[i].sh);
	free(order);
	free(sec);
	free(from);
	free(only);
	free(remaining);
	free(title);
	free(foot);
	return rc;
}
