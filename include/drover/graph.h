/*
 * graph.h: expansion of a plan for one direction and mode into a task graph.
 *
 * A task is one step bound to one host (and tenant): global services expand
 * once, tenant services once per tenant, each step once per matched host.
 * Steps of one service instance run in order (every task of step k depends on
 * every task of step k-1); "after" adds edges between services, per tenant
 * where both are per tenant. Tiers are not edges: the scheduler applies them
 * (see dr_graph_order and sched.h).
 *
 * Every command, path and URL of a task is rendered here, once, with each
 * substituted value shell-quoted where it lands in a command. The graph owns
 * all of its strings; it borrows the plan, which must outlive it.
 */
#ifndef DROVER_GRAPH_H
#define DROVER_GRAPH_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "drover/diag.h"
#include "drover/plan.h"

/*
 * How to reach a host over SSH: its own settings over the plan's defaults,
 * resolved once here so that the executors need nothing of the plan.
 */
struct dr_conn {
	const struct dr_host *host;
	size_t index;      /* among every host of the plan, in plan order */
	size_t site_index; /* the host's site, in plan order */
	const char *address;
	int port;
	const char *user;
	const char *identity;    /* NULL: ssh-agent */
	const char *known_hosts; /* never NULL for a valid plan */
	uint64_t connect_timeout_ms;
	uint64_t keepalive_ms;
};

struct dr_task {
	size_t id; /* index in graph->tasks */
	const struct dr_service *service;
	const struct dr_step *step;
	const struct dr_tenant *tenant; /* NULL for global services */
	const struct dr_host *host;     /* NULL: runs on the controller */
	const struct dr_site *site;     /* host's site, or NULL */
	int tier;
	int priority; /* tenant priority; 0 for global services */
	char *key;    /* stable unique id: service[/tenant]/step[@site/host] */

	/* Rendered action. */
	char *command; /* run/local: shell command, values quoted;
	                  script: the remote invocation */
	char *display; /* command with secrets as placeholders, for
	                  show/runbook/logs */
	const char *const *secret_names; /* secrets fed on stdin, in order */
	size_t nsecrets;
	const struct dr_conn *conn;     /* how to reach host; NULL with it */
	const struct dr_host *src_host; /* copy: source host, NULL = local */
	const struct dr_conn *src_conn; /* how to reach src_host */
	char *src_path;                 /* copy: rendered source path */
	char *dst_path;                 /* copy: rendered destination path */
	char *sha256;                   /* copy: expected digest, or NULL */
	/* A copy from a restore-point set that is scanned (scan.h): its
	 * quarantine directory on the destination, drover's indicator
	 * script and the plan's scan script (each NULL when absent), and
	 * what names that pair of checks in verdicts. */
	char *qdir;
	char *ioc_script;
	char *scan_script;
	char *scan_id;
	char *target; /* probe: rendered host:port or URL */
	char *prompt; /* approve: rendered question */

	/* Dependencies: tasks that must end before this one starts. */
	size_t *deps;
	size_t ndeps;
	size_t *rdeps; /* tasks that depend on this one */
	size_t nrdeps;
	bool refused;        /* drill interlock: reaches production: refused
	                        before connecting */
	const char *refusal; /* why, when refused */
	bool drill_skip;     /* drill: fences a lost site; skipped by design */
	bool cleanup;        /* runs after the rest of the plan, whatever its
	                        outcome (drills) */
	/* A task on a provisioned site whose hosts are not known yet: one
	 * per step and role, shown as "hosts known after provisioning". It
	 * never runs; the site's tasks are expanded again, per host, once
	 * the provision step has reported the hosts (dr_graph_before_provision
	 * keeps it out of the first stage). */
	bool deferred;
	const char *role; /* deferred: the role selected; "*": every host */
	/* The hunt for indicators on one source host (key
	 * "hunt/indicators@SITE/HOST"): a readonly run of the vault-side look
	 * at every restore-point set the graph copies from that host
	 * (dr_check_set_script), before any of those copies chooses a point:
	 * each copy from a set depends on its source host's hunt. Its service
	 * and step are the graph's own, not the plan's (dr_task_svc_index). */
	bool hunt;
};

struct dr_graph {
	const struct dr_plan *plan;
	const struct dr_site *const *from; /* lost sites */
	size_t nfrom;
	const struct dr_site *to;
	unsigned mode; /* DR_MODE_FAILOVER or DR_MODE_DRILL */
	struct dr_task *tasks;
	size_t ntasks;
	const struct dr_conn *conns; /* every host of the plan, in plan order */
	size_t nconns;
	struct dr_limits limits; /* the plan's: sessions in all, per site, per
	                            host */
	const char *dir;         /* the plan's directory: scripts and local
	                            commands are relative to it */
	size_t provision;        /* the provision task's id; SIZE_MAX: none
	                            (the target is not provisioned) */
	size_t ndeferred;        /* tasks waiting for the site's hosts */
	struct dr_arena *arena;
};

struct dr_expand_opts {
	const char *const *from; /* site names, at least one */
	size_t nfrom;
	const char *to;
	unsigned mode;           /* DR_MODE_FAILOVER or DR_MODE_DRILL */
	const char *const *only; /* service or tenant names; NULL/0: all */
	size_t nonly;
};

/*
 * Expands plan into a graph. Problems (unknown site, a from site that is the
 * target, a copy source matching several hosts, ...) go to diags.
 * Returns 0 and sets *out, or DR_EINVAL. Caller owns *out; free with
 * dr_graph_free().
 */
int dr_graph_expand(const struct dr_plan *plan,
                    const struct dr_expand_opts *opts, struct dr_diags *diags,
                    struct dr_graph **out);

void dr_graph_free(struct dr_graph *g);

/*
 * The first stage of a run onto a provisioned site whose hosts are not
 * known yet: keeps the tasks that can run before them (the provision task,
 * what it depends on, and every other task of its tier or a lower one that
 * does not wait for the new hosts) and drops the rest, renumbering the
 * tasks. Cleanup tasks wait for the second stage. Returns the number of
 * tasks dropped.
 */
size_t dr_graph_before_provision(struct dr_graph *g);

/* The index of t's service in the plan, for arrays by service of
 * nservices + 1 entries: nservices for a hunt task. */
static inline size_t
dr_task_svc_index(const struct dr_plan *p, const struct dr_task *t)
{
	return t->hunt ? p->nservices : (size_t)(t->service - p->services);
}

/* How to reach host h of g's plan. */
const struct dr_conn *dr_graph_conn(const struct dr_graph *g,
                                    const struct dr_host *h);

/*
 * Compares two tasks in ready-queue order: tier, then tenant priority, then
 * service name, tenant name, step index, site, host. Returns <0, 0, >0.
 */
int dr_task_cmp(const struct dr_task *a, const struct dr_task *b);

/*
 * Fills order (g->ntasks entries, caller-allocated) with task ids in the
 * order a scheduler with one slot would start them, honouring tiers as
 * priority groups. Returns 0, or DR_EINVAL if the graph has a cycle.
 */
int dr_graph_order(const struct dr_graph *g, size_t *order);

/* A binary min-heap of task ids in dr_task_cmp order, room for every task. */
struct dr_task_heap {
	const struct dr_graph *g;
	size_t *v;
	size_t n;
};

void dr_task_heap_init(struct dr_task_heap *h, const struct dr_graph *g);
void dr_task_heap_push(struct dr_task_heap *h, size_t id);
size_t dr_task_heap_pop(struct dr_task_heap *h); /* h->n must be > 0 */
void dr_task_heap_free(struct dr_task_heap *h);

/* Writes the graph in Graphviz DOT, clustered by tier. */
void dr_graph_dot(const struct dr_graph *g, FILE *f);

/* Human-readable "from" list: "milan,rome". Static to the graph. */
const char *dr_graph_from_names(const struct dr_graph *g);

/*
 * The hosts task t holds an SSH session on: [0] its host (run, script and
 * copy), [1] a copy's source. NULL where it holds none.
 */
void dr_task_conns(const struct dr_task *t, const struct dr_conn *cs[2]);

/*
 * The direction with each site's role, for confirmations and boards:
 * "milan (primary, LOST), rome (secondary, LOST) -> torino (standby)".
 * Owned by the graph.
 */
const char *dr_graph_direction(const struct dr_graph *g);

#endif
