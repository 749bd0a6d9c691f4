/* cmd-validate.c: drover validate PLAN... */
#include <stdio.h>
#include <string.h>

#include "drover/cmd.h"
#include "drover/plan.h"
#include "drover/preflight.h"

static void
summary(const struct dr_plan *p)
{
	size_t i, hosts = 0, steps = 0;

	for (i = 0; i < p->nsites; i++)
		hosts += p->sites[i].nhosts;
	for (i = 0; i < p->nservices; i++)
		steps += p->services[i].nsteps;
	printf("%s: valid: plan \"%s\", %zu sites, %zu hosts, %zu tenants, "
	       "%zu services, %zu steps\n",
	       p->path, p->name, p->nsites, hosts, p->ntenants, p->nservices,
	       steps);
}

int
dr_cmd_validate(int argc, char **argv)
{
	int i, rc = DR_EXIT_OK;

	if (argc < 2 || argv[1][0] == '-') {
		if (argc >= 2 && (strcmp(argv[1], "--help") == 0 ||
		                  strcmp(argv[1], "-h") == 0)) {
			dr_cmd_help("validate");
			return DR_EXIT_OK;
		}
		return dr_cmd_usage("validate");
	}
	for (i = 1; i < argc; i++) {
		struct dr_plan *p = NULL;
		if (dr_cmd_load_plan(argv[i], &p) != 0) {
			rc = DR_EXIT_FAIL;
			continue;
		}
		summary(p);
		{
			/* What a run would need from this controller: said
			 * now, as warnings, since validate may run elsewhere.
			 */
			struct dr_diags d = {0};
			dr_preflight(p, NULL, true, &d);
			dr_diag_print(&d, stderr);
			dr_diag_clear(&d);
		}
		dr_plan_free(p);
	}
	return rc;
}
