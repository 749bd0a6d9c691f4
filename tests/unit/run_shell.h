/*
 * run_shell.h: for unit tests that check what a generated command does when
 * a real shell runs it. Include after cmocka.h.
 */
#ifndef DROVER_TEST_RUN_SHELL_H
#define DROVER_TEST_RUN_SHELL_H

#include <signal.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "drover/common.h"

/*
 * Runs script with `shell -c` in dir (NULL: here), in on stdin (NULL:
 * none), stderr discarded, killed after 10 s. Returns the exit status (128
 * when killed) and sets *out (caller frees) and *outlen to its stdout.
 */
static inline int
test_run_shell(const char *shell, const char *dir, const char *script,
               const char *in, char **out, size_t *outlen)
{
	int ip[2], op[2], status;
	pid_t pid;
	struct dr_buf b;
	char chunk[4096];
	ssize_t n;

	assert_int_equal(pipe(ip), 0);
	assert_int_equal(pipe(op), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		if (dir != NULL && chdir(dir) != 0)
			_exit(126);
		dup2(ip[0], 0);
		dup2(op[1], 1);
		if (freopen("/dev/null", "w", stderr) == NULL)
			_exit(126);
		close(ip[0]);
		close(ip[1]);
		close(op[0]);
		close(op[1]);
		alarm(10);
		execl(shell, shell, "-c", script, (char *)NULL);
		_exit(127);
	}
	close(ip[0]);
	close(op[1]);
	signal(SIGPIPE, SIG_IGN);
	if (in != NULL && write(ip[1], in, strlen(in)) < 0)
		fail_msg("write stdin");
	close(ip[1]);
	dr_buf_init(&b, 0);
	while ((n = read(op[0], chunk, sizeof(chunk))) > 0)
		dr_buf_append(&b, chunk, (size_t)n);
	close(op[0]);
	assert_int_equal(waitpid(pid, &status, 0), pid);
	if (outlen)
		*outlen = b.len;
	*out = b.data ? dr_buf_steal(&b) : dr_xstrdup("");
	dr_buf_free(&b);
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
}

#endif
