/*
 * plan.h: the recovery plan, loaded from a libconfig file and validated.
 *
 * A loaded plan is immutable: every string and array lives in one arena owned
 * by the plan and released by dr_plan_free(). Renderers, the expander and the
 * CLI read these structures directly; nothing writes to them after
 * dr_plan_load() returns. Every named struct (site, host, tenant, contact,
 * secret, service, step, var) starts with its name: the loader reads and
 * looks them up through it (checked at compile time).
 *
 * The language is documented in README.md ("Plan language").
 */
#ifndef DROVER_PLAN_H
#define DROVER_PLAN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "drover/diag.h"

#define DR_TIER_MAX 99
#define DR_PLAN_MAX (16 * 1024 * 1024) /* bytes a plan file may have */
#define DR_PRIORITY_MAX 100000

enum dr_site_role {
	DR_SITE_PRIMARY,
	DR_SITE_SECONDARY,
	DR_SITE_STANDBY,
	DR_SITE_VAULT,
	DR_SITE_DRILL
};

enum dr_action {
	DR_ACT_NONE = 0,
	DR_ACT_RUN,       /* remote command on each matched host */
	DR_ACT_SCRIPT,    /* local script file sent to and run on each host */
	DR_ACT_COPY,      /* file relayed host to host through the controller */
	DR_ACT_PROBE,     /* tcp or http check from the controller */
	DR_ACT_APPROVE,   /* manual gate answered by the operator */
	DR_ACT_LOCAL,     /* command on the controller (uv_spawn) */
	DR_ACT_PROVISION, /* local command that creates the target site's
	                     hosts and reports them (provisioned sites) */
	DR_ACT_DEPROVISION /* local cleanup command that removes them again
	                      (drills into a provisioned drill site) */
};

enum dr_on_failure {
	DR_FAIL_ABORT,    /* start nothing new; running tasks finish; exit 1 */
	DR_FAIL_CONTINUE, /* dependents are skipped, the rest goes on */
	DR_FAIL_PAUSE     /* wait for the operator */
};

enum dr_unreachable {
	DR_UNREACH_FAIL,    /* an unreachable host fails the task (default) */
	DR_UNREACH_CONTINUE /* recorded as unreachable; dependents go on */
};

/* Bit mask of the modes a step runs in. */
enum dr_mode { DR_MODE_FAILOVER = 1, DR_MODE_DRILL = 2 };

enum dr_scope { DR_SCOPE_GLOBAL, DR_SCOPE_TENANT };

enum dr_sel_kind {
	DR_SEL_NONE = 0, /* no selector: the step runs on the controller */
	DR_SEL_FROM,     /* from:ROLE, every lost site */
	DR_SEL_TO,       /* to:ROLE, the target site */
	DR_SEL_SITE      /* SITE:ROLE or SITE:HOST */
};

/* "from:db", "to:*", "vault:backup", "torino:to-db1". */
struct dr_selector {
	enum dr_sel_kind kind;
	const char *site; /* DR_SEL_SITE only */
	const char *name; /* role or host name; "*" for any role */
	bool is_host;     /* DR_SEL_SITE: name is a host, not a role */
	const char *text; /* as written, for messages */
};

struct dr_site;

struct dr_host {
	const char *name;
	const char *address;
	int port;
	const char *user; /* defaults.user when not given */
	const char *const *roles;
	size_t nroles;
	const struct dr_site *site;
	/* Hosts of a provisioned site (dr_plan_provide): the run's own
	 * known_hosts file, which pins the key the provisioner reported. NULL
	 * for the plan's hosts: defaults.known_hosts. */
	const char *known_hosts;
	const char *host_key;    /* provisioned: "TYPE BASE64", or NULL */
	const char *fingerprint; /* provisioned: "SHA256:...", or NULL */
	int line;
};

struct dr_site {
	const char *name;
	enum dr_site_role role;
	const struct dr_host *hosts;
	size_t nhosts;
	/* provisioned = true: the plan lists no hosts; a provision step
	 * creates them at run time and they are supplied with
	 * dr_plan_provide(). roles: what the provisioner must supply. */
	bool provisioned;
	const char *const *roles;
	size_t nroles;
	int max_hosts; /* host key pairs generated in advance */
	int line;
};

struct dr_var {
	const char *name;
	const char *value;
	bool integer; /* written as an integer: checked, safe in arithmetic */
	int line;
};

struct dr_tenant {
	const char *name;
	int priority; /* 1 is first; lower numbers recover earlier */
	const struct dr_var *vars;
	size_t nvars;
	int line;
};

/* A secret's value is read at run time only, never stored in the plan. */
struct dr_secret {
	const char *name;
	const char *env;  /* environment variable, or NULL */
	const char *file; /* path to a file of mode 0600 or stricter, or NULL */
	const char *hint; /* where a person gets the value (free text, for
	                     the runbook), or NULL */
	int line;
};

struct dr_contact {
	const char *name;
	const char *role;
	const char *phone;
	const char *email; /* may be NULL */
	int line;
};

/* One side of a copy: "vault:backup:/srv/backups/${tenant}/payroll.tar". */
struct dr_endpoint {
	struct dr_selector sel; /* kind DR_SEL_NONE: the controller's disk */
	const char *path;       /* template */
};

struct dr_copy {
	struct dr_endpoint from;
	struct dr_endpoint to; /* a path ending in '/' keeps the file name */
	const char *sha256;    /* template: 64 hex digits after expansion, or
	                          NULL; "manifest" reads PATH.sha256 beside
	                          the source */
	const char *mode; /* octal file mode for the destination, or NULL */
	/* A restore-point set's scan (scan.h): a template run on the
	 * destination in the quarantine directory ({} names it), exit 0
	 * clean, 1 infected; resolved from the copy, its service or the
	 * defaults; NULL: none. */
	const char *scan;
	uint64_t scan_timeout_ms;
	int max_fallback; /* older points tried after the newest */
};

enum dr_probe_kind { DR_PROBE_TCP, DR_PROBE_HTTP };

struct dr_probe {
	enum dr_probe_kind kind;
	const char *target;      /* template: "host:port" or an http:// URL */
	int expect_status;       /* http: 0 means any 2xx */
	const char *expect_body; /* http: substring that must appear, or NULL */
	uint64_t within_ms;      /* keep trying until healthy or this expires */
	uint64_t interval_ms;    /* between attempts */
};

/* provision = "COMMAND" or { command, inventory, check, host_keys }. */
struct dr_provision {
	const char *command;   /* template, run on the controller */
	const char *inventory; /* file it writes the inventory to (relative
	                          to the plan), or NULL: its stdout */
	const char *check;     /* dry-run hook for drover check, or NULL:
	                          the command's program with --help */
	bool reported_keys;    /* host_keys = "reported": the provisioner
	                          learned the keys out of band; drover
	                          generates none */
};

struct dr_step {
	const char *name;
	enum dr_action action;
	const char *command;     /* run and local: template */
	const char *script;      /* script: path relative to the plan file */
	const char *const *args; /* script: argument templates */
	size_t nargs;
	struct dr_copy copy;
	struct dr_probe probe;
	struct dr_provision provision;
	const char *prompt;    /* approve: the question for the operator */
	int approvers;         /* approve: distinct users needed (>= 1) */
	bool not_by_starter;   /* approve: the run's starter does not count */
	struct dr_selector on; /* where it runs; DR_SEL_NONE: controller */
	const char *const *requires; /* commands that must exist on the host,
	                                checked by drover check */
	size_t nrequires;
	const char *success; /* what success looks like, for the runbook */
	const char *on_error_hint; /* what to do on failure, for the runbook */
	uint64_t timeout_ms;
	int retries;
	uint64_t retry_delay_ms;
	bool idempotent;
	bool readonly; /* never changes anything: allowed on production in a
	                  drill */
	enum dr_on_failure on_failure;
	enum dr_unreachable unreachable;
	unsigned when; /* DR_MODE_* mask */
	bool cleanup;  /* runs after the plan, whatever its outcome */
	const struct dr_service *service;
	size_t index; /* position in the service */
	int line;
};

struct dr_service {
	const char *name;
	const char *description; /* may be NULL */
	int tier;
	uint64_t rto_ms; /* 0: no target */
	uint64_t rpo_ms; /* 0: no target */
	enum dr_scope scope;
	const char *const *after; /* service names */
	size_t nafter;
	const struct dr_service *const *after_svc; /* resolved */
	const struct dr_step *steps;
	size_t nsteps;
	const char *scan; /* for its copies from restore-point sets, or NULL */
	uint64_t scan_timeout_ms; /* 0: the defaults' */
	int line;
};

struct dr_defaults {
	const char *user;
	const char *identity;    /* private key file, "~" expanded */
	const char *known_hosts; /* relative to the plan file */
	int port;
	uint64_t connect_timeout_ms;
	uint64_t timeout_ms;
	int retries;
	uint64_t retry_delay_ms;
	uint64_t keepalive_ms;
	int approvers;       /* gates: distinct approvers, unless a step says */
	bool not_by_starter; /* gates: the starter does not count */
	const char *scan;    /* restore-point sets' scan, or NULL */
	uint64_t scan_timeout_ms;            /* default 10m */
	int max_fallback;                    /* default 3 */
	int identity_line, known_hosts_line; /* where they were given */
};

struct dr_limits {
	int sessions; /* tasks on SSH sessions (and local commands) in all */
	int per_site;
	int per_host; /* tasks at once on one host */
	int channels; /* commands at once on one SSH connection (1..64,
	                 default 8); one more channel is kept for kills */
};

/* notify: who is told when a run starts, waits at a gate, fails, pauses,
 * ends (engine/notify.c). */
struct dr_notify {
	const char *const *webhooks; /* http(s) URLs: POST JSON */
	size_t nwebhooks;
	const char *command; /* a local command, the event in its env */
	uint64_t timeout_ms; /* per attempt; default 5 s */
	int retries;         /* default 2 */
	int line;
};

/* controllers: HA over etcd (ha.h); netcd 0: no such section. */
struct dr_controllers {
	const char *const *etcd; /* client URLs, one per site */
	size_t netcd;
	uint64_t ttl_ms;          /* lease TTL (whole seconds); default 10s */
	const char *cacert;       /* TLS CA bundle, or NULL */
	const char *cert;         /* TLS client certificate, or NULL */
	const char *key;          /* its key, or NULL */
	const char *user;         /* etcd auth user, or NULL */
	const char *password_env; /* environment variable with its password */
	int line;
};

struct dr_plan {
	const char *path; /* as given */
	const char *dir;  /* directory of the plan file */
	const char *name;
	const char *description;
	int version;
	char sha256[65]; /* of the file's bytes */
	bool strict_tiers;
	struct dr_defaults defaults;
	struct dr_limits limits;
	struct dr_notify notify;
	struct dr_controllers controllers;
	const struct dr_site *sites;
	size_t nsites;
	const struct dr_tenant *tenants;
	size_t ntenants;
	const struct dr_service *services;
	size_t nservices;
	const struct dr_contact *contacts;
	size_t ncontacts;
	const struct dr_var *vars;
	size_t nvars;
	const struct dr_secret *secrets;
	size_t nsecrets;
	/* Indicators of compromise (scan.h): what drover itself looks for in
	 * every scanned restore point. */
	const char *const *ioc_names; /* file names: "README-LOCKBIT.txt" */
	size_t nioc_names;
	const char *const *ioc_extensions; /* ".lockbit" */
	size_t nioc_extensions;
	const char *const *ioc_sha256; /* files' digests, lower-case hex */
	size_t nioc_sha256;
	const char *ioc_yara; /* a YARA rules file on the destination hosts */
	int ioc_line;
	struct dr_arena *arena;
};

/*
 * Loads and validates the plan at path. Every problem found is added to
 * diags as "FILE:LINE: message"; loading goes on after an error so that one
 * run reports them all.
 * Returns 0 and sets *out, or DR_EPLAN (diags says why) or DR_EIO (the file
 * could not be read; diags says why). Caller owns *out; free with
 * dr_plan_free().
 */
int dr_plan_load(const char *path, struct dr_diags *diags,
                 struct dr_plan **out);

/* Same, from a string; path is used in messages only. */
int dr_plan_load_string(const char *text, const char *path,
                        struct dr_diags *diags, struct dr_plan **out);

void dr_plan_free(struct dr_plan *plan);

/* Lookups by name; NULL when absent. */
const struct dr_site *dr_plan_site(const struct dr_plan *p, const char *name);
const struct dr_tenant *dr_plan_tenant(const struct dr_plan *p,
                                       const char *name);
const struct dr_service *dr_plan_service(const struct dr_plan *p,
                                         const char *name);
const struct dr_secret *dr_plan_secret(const struct dr_plan *p,
                                       const char *name);
/* A variable: the tenant's own first (tenant may be NULL), then the plan's. */
const char *dr_plan_var(const struct dr_plan *p, const struct dr_tenant *t,
                        const char *name);
const struct dr_var *dr_plan_var_find(const struct dr_plan *p,
                                      const struct dr_tenant *t,
                                      const char *name);

bool dr_host_has_role(const struct dr_host *h, const char *role);

/* Whether site declares role (or has a host with it); "*" always. */
bool dr_site_has_role(const struct dr_site *s, const char *role);

/* The plan's provision step, or NULL. */
const struct dr_step *dr_plan_provision_step(const struct dr_plan *p);

/* A host a provisioner created, as the inventory reports it. */
struct dr_new_host {
	const char *name;
	const char *address;
	int port;         /* 0: defaults.port */
	const char *user; /* NULL: defaults.user */
	const char *const *roles;
	size_t nroles;
	const char *key;         /* "TYPE BASE64" */
	const char *fingerprint; /* "SHA256:..." */
};

/*
 * Gives provisioned site its hosts, copied into the plan's arena; each is
 * reached with known_hosts (the run's own file, holding their pinned keys).
 * The one change to a loaded plan, made once before expansion. Returns 0,
 * or DR_EINVAL when the site is not provisioned or already has hosts.
 */
int dr_plan_provide(struct dr_plan *p, const char *site,
                    const struct dr_new_host *hosts, size_t n,
                    const char *known_hosts);

/*
 * Calls fn for each host of site that sel matches (sel->kind must already be
 * bound to site: callers pass the site for from/to selectors). Returns the
 * number matched.
 */
size_t dr_selector_match(const struct dr_selector *sel,
                         const struct dr_site *site,
                         void (*fn)(const struct dr_host *h, void *arg),
                         void *arg);

const char *dr_site_role_name(enum dr_site_role r);
const char *dr_action_name(enum dr_action a);

#endif
