/* report-points.c: the report's restore points, per tenant and service. */
#include "drover/report-points.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "drover/common.h"
#include "drover/time.h"

static const char *
base(const char *p)
{
	const char *s = p ? strrchr(p, '/') : NULL;

	return s ? s + 1 : (p ? p : "-");
}

/* The data-loss window of task i's service instance, or -1. */
static int64_t
loss_of(const struct dr_rm *m, size_t i)
{
	size_t svc;

	if (i >= m->nt)
		return -1;
	svc = m->g[m->t[i].group].svc;
	return svc == SIZE_MAX ? -1 : m->s[svc].loss_ms;
}

void
dr_report_points(struct dr_doc *d, const struct dr_rm *m)
{
	static const char *const head[] = {"Service", "Tenant",   "Point used",
	                                   "Taken",   "Rejected", "Data lost"};
	const char *comp = m->compromise_at;
	size_t i, j, n = 0;
	char buf[48];

	for (i = 0; i < m->nt; i++)
		if (m->t[i].rp)
			n++;
	if (n == 0)
		return;
	dr_doc_heading(d, 2, "restore-points", NULL, "Restore points");
	dr_doc_p(d, NULL,
	         "Each copy from a restore-point set: the point restored, "
	         "and every newer one passed over with the reason (its "
	         "checksum, what its scan or the plan's indicators found, "
	         "or a time after the compromise).");
	if (comp) {
		dr_doc_p_begin(d, NULL);
		dr_doc_bold(d, "Compromise time:");
		dr_doc_text(d, " ");
		dr_doc_text(d, comp);
		dr_doc_text(d,
		            ". Every restore point was to be taken before it "
		            "(--clean-before, or the first point an indicator "
		            "was found in).");
		dr_doc_p_end(d);
	}
	dr_doc_table_begin(d, "points", 6, DR_DOC_THEAD);
	dr_doc_table_head(d, head);
	for (i = 0; i < m->nt; i++) {
		const struct dr_rm_task *t = &m->t[i];
		int64_t loss;

		if (!t->rp)
			continue;
		loss = loss_of(m, i);
		dr_doc_row_begin(d);
		dr_doc_cell(d, NULL, t->service);
		dr_doc_cell(d, NULL, t->tenant ? t->tenant : "-");
		dr_doc_cell_begin(d, NULL);
		if (t->backup)
			dr_doc_code(d, base(t->backup));
		else
			dr_doc_bold(d, "none: not restored");
		/* Restored before the indicator was found in another set:
		 * the same ISO form, so the strings compare as times. */
		if (comp && t->backup_at && strcmp(t->backup_at, comp) >= 0) {
			dr_doc_text(d, " ");
			dr_doc_bold(d, "taken after the compromise time");
			dr_doc_textf(
			    d,
			    " (restored before it was known): restore "
			    "it again with --clean-before %s --only %s",
			    comp, t->service);
		}
		dr_doc_cell_end(d);
		dr_doc_cell(d, NULL, t->backup_at ? t->backup_at : "-");
		dr_doc_cell_begin(d, NULL);
		if (t->nrej == 0)
			dr_doc_text(d, "-");
		for (j = 0; j < t->nrej; j++) {
			if (j)
				dr_doc_text(d, "; ");
			dr_doc_code(d, base(t->rej[j].backup));
			dr_doc_text(d, ": ");
			dr_doc_text(d,
			            t->rej[j].reason ? t->rej[j].reason : "?");
		}
		dr_doc_cell_end(d);
		dr_doc_cell(d, NULL,
		            loss >= 0 ? dr_duration_fmt((uint64_t)loss, buf,
		                                        sizeof(buf))
		                      : "-");
		dr_doc_row_end(d);
	}
	dr_doc_table_end(d);
}
