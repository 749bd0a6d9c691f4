/*
 * prompt.h: the operator's questions on the terminal during a run, one at
 * a time: approval gates (yes/no) and pauses (a task that failed: retry,
 * skip or abort; a task whose outcome is unknown: done, rerun or abort).
 *
 * Every answer is audited (the audit hook) before it acts. A terminal that
 * goes away refuses what is pending: gates "no", pauses "abort".
 */
#ifndef DROVER_PROMPT_H
#define DROVER_PROMPT_H

#include <stdbool.h>
#include <stddef.h>

#include <uv.h>

#include "drover/common.h"
#include "drover/exec.h"
#include "drover/graph.h"
#include "drover/sched.h"

struct dr_prompt;

struct dr_prompts {
	/* Set by the owner before the first question. */
	uv_loop_t *loop;
	const struct dr_graph *g;
	struct dr_sched *sched;
	struct dr_exec *ex;
	void (*audit)(void *arg, const char *event, const char *detail);
	void *arg;
	/* Set: a gate's yes/no goes here (it decides, audits and ends the
	 * gate: four eyes, engine/team.c), and a terminal that goes away
	 * drops its questions (the control socket still answers them). */
	void (*gate_answer)(void *arg, size_t task, bool yes);
	/* The prompts' own. */
	uv_tty_t tty;
	bool tty_open, tty_reading;
	struct dr_prompt *queue; /* the first is being asked */
	struct dr_buf line;
};

/* Asks approval for gate task (exec.h's gate hook). */
void dr_prompts_gate(struct dr_prompts *p, size_t task);

/* Asks what to do with a paused task (sched.h's pause hook). */
void dr_prompts_pause(struct dr_prompts *p, size_t task);

/* A question answered elsewhere (the control socket): no longer asked. */
void dr_prompts_drop(struct dr_prompts *p, size_t task);

/* At the end of the run: closes the terminal, drops what is unasked. */
void dr_prompts_close(struct dr_prompts *p);

#endif
