/* cmd-audit.c: drover audit verify|show RUN: the run's hash-chained trail. */
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "drover/cmd.h"
#include "drover/audit.h"
#include "drover/common.h"
#include "drover/journal.h"
#include "drover/records.h"

static int
show_record(uint64_t seq, const char *payload, size_t len, void *arg)
{
	json_t *o = json_loadb(payload, len, 0, NULL);
	char when[40];
	const char *tok;

	(void)arg;
	if (o == NULL)
		return 0;
	tok = json_string_value(json_object_get(o, "fencing_token"));
	printf(
	    "%4llu  %s  %-15s %s@%s  %s%s%s%s\n", (unsigned long long)seq,
	    dr_time_fmt((uint64_t)json_integer_value(json_object_get(o, "t")),
	                when, sizeof(when)),
	    json_string_value(json_object_get(o, "event")) ?: "?",
	    json_string_value(json_object_get(o, "user")) ?: "?",
	    json_string_value(json_object_get(o, "host")) ?: "?",
	    json_string_value(json_object_get(o, "detail")) ?: "",
	    tok ? " [fencing token " : "", tok ? tok : "", tok ? "]" : "");
	{ /* a person's decision through the control socket (team.h) */
		json_t *by = json_object_get(o, "by");
		const char *c =
		    json_string_value(json_object_get(o, "comment"));
		if (json_is_object(by))
			printf("      by %s (uid %lld)%s%s\n",
			       json_string_value(json_object_get(by, "user"))
			           ?: "?",
			       (long long)json_integer_value(
			           json_object_get(by, "uid")),
			       c ? ": " : "", c ? c : "");
	}
	json_decref(o);
	return 0;
}

int
dr_cmd_audit(int argc, char **argv)
{
	struct dr_rs_run rs;
	char *sdir, *run_dir, *path, *why = NULL, *id = NULL;
	size_t n = 0;
	int i, r, rc = DR_EXIT_FAIL;
	bool loaded;

	for (i = 1; i < argc; i++)
		if (strcmp(argv[i], "--help") == 0 ||
		    strcmp(argv[i], "-h") == 0) {
			dr_cmd_help("audit");
			return DR_EXIT_OK;
		}
	if (argc != 3 ||
	    (strcmp(argv[1], "verify") != 0 && strcmp(argv[1], "show") != 0))
		return dr_cmd_usage("audit");
	sdir = dr_state_dir();
	if ((rc = dr_cmd_resolve_run(sdir, argv[2], &id)) != 0) {
		free(sdir);
		return rc;
	}
	rc = DR_EXIT_FAIL;
	r = dr_cmd_open_run(sdir, id, &run_dir, &rs, &why);
	path = dr_xasprintf("%s/audit", run_dir);
	loaded = r != DR_ENOTFOUND;
	if (r == DR_ENOTFOUND)
		goto out;
	free(why);
	why = NULL;
	if (strcmp(argv[1], "show") == 0) {
		struct dr_journal_info info;
		r = dr_journal_replay(path, show_record, NULL, &info);
		if (r != 0)
			fprintf(stderr, "drover: %s\n",
			        info.error[0] ? info.error : dr_strerror(r));
		rc = r == 0 ? DR_EXIT_OK : DR_EXIT_FAIL;
		goto out;
	}
	/* A finished run recorded its last audit hash in the journal. */
	if (dr_audit_verify(path, rs.final_state ? rs.audit_head : NULL, &n,
	                    NULL, &why) != 0) {
		printf("audit %s: BROKEN: %s\n", id, why);
		goto out;
	}
	printf("audit %s: %zu records, chain intact%s\n", id, n,
	       rs.final_state ? ", ends where the run ended"
	                      : " (run not finished)");
	rc = DR_EXIT_OK;
out:
	if (loaded)
		dr_rs_run_free(&rs);
	free(why);
	free(path);
	free(run_dir);
	free(id);
	free(sdir);
	return rc;
}
