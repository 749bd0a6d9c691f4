/*
 * replay.c: runs a fuzz target's LLVMFuzzerTestOneInput on inputs from
 * files, without libFuzzer, so that the seed corpus and the regression
 * inputs run as ordinary tests in every build (plain, ASan + UBSan).
 *
 *   fuzz_plan_replay DIR|FILE...
 *
 * Each directory's regular files are run in name order; names starting
 * with '.' are skipped. Each input's path is printed before it runs, so a
 * crash names its input. Exit 0 when every input ran, 1 when a file or a
 * directory could not be read (a crash ends the process on its own).
 */
#include <dirent.h>
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "drover/common.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static int
run_file(const char *path)
{
	struct dr_buf b;
	char chunk[65536];
	size_t n;
	FILE *f;
	int r = 0;

	printf("replay: %s\n", path);
	fflush(stdout);
	if ((f = fopen(path, "rb")) == NULL) {
		fprintf(stderr, "replay: %s: %s\n", path, strerror(errno));
		return 1;
	}
	dr_buf_init(&b, 0);
	while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
		dr_buf_append(&b, chunk, n);
	if (ferror(f)) {
		fprintf(stderr, "replay: %s: read error\n", path);
		r = 1;
	} else {
		/*
		 * A copy of exactly the file's size: ASan then reports a
		 * read past the input's end, as under libFuzzer.
		 */
		uint8_t *data = dr_xmalloc(b.len ? b.len : 1);
		memcpy(data, b.data ? b.data : "", b.len);
		LLVMFuzzerTestOneInput(data, b.len);
		free(data);
	}
	fclose(f);
	dr_buf_free(&b);
	return r;
}

static int
is_input(const struct dirent *e)
{
	return e->d_name[0] != '.';
}

static int
run_dir(const char *dir, size_t *count)
{
	struct dirent **names;
	struct stat st;
	int i, n, r = 0;

	if ((n = scandir(dir, &names, is_input, alphasort)) < 0) {
		fprintf(stderr, "replay: %s: %s\n", dir, strerror(errno));
		return 1;
	}
	for (i = 0; i < n; i++) {
		char *path = dr_xasprintf("%s/%s", dir, names[i]->d_name);
		if (stat(path, &st) == 0 && S_ISREG(st.st_mode)) {
			r |= run_file(path);
			(*count)++;
		}
		free(path);
		free(names[i]);
	}
	free(names);
	return r;
}

int
main(int argc, char **argv)
{
	struct stat st;
	size_t count = 0;
	int i, r = 0;

	if (argc < 2) {
		fprintf(stderr, "usage: %s DIR|FILE...\n", argv[0]);
		return 2;
	}
	for (i = 1; i < argc; i++) {
		if (stat(argv[i], &st) != 0) {
			fprintf(stderr, "replay: %s: %s\n", argv[i],
			        strerror(errno));
			r = 1;
		} else if (S_ISDIR(st.st_mode)) {
			r |= run_dir(argv[i], &count);
		} else {
			r |= run_file(argv[i]);
			count++;
		}
	}
	printf("replay: %zu inputs, %s\n", count, r ? "errors" : "ok");
	return r;
}
