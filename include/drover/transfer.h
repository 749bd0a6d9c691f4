/*
 * transfer.h: copies one file from a host (or a local file) to another host,
 * relayed through the controller so that the target never holds credentials
 * for the source (the vault).
 *
 * The bytes flow src -> controller -> dst with backpressure: the controller
 * holds at most a 1 MiB ring per transfer (plus the source channel's 2 MiB
 * receive window), and the source stream is paused while the ring is full;
 * the destination is written while the source is read. The controller
 * hashes the stream (SHA-256, on a libuv worker thread); the destination
 * writes a temporary file next to the target (umask 077), then reads it
 * back and hashes it itself before renaming it into place. On any failure
 * the temporary file is removed. Remote tools used: sh, cat, mkdir,
 * openssl dgst when installed (else sha256sum), chmod, mv.
 */
#ifndef DROVER_TRANSFER_H
#define DROVER_TRANSFER_H

#include <stdint.h>

#include <uv.h>

#include "drover/sha256.h"
#include "drover/ssh.h"

struct dr_transfer;

struct dr_transfer_opts {
	const char *label;  /* for messages, e.g. "fetch-backup"; may be NULL */
	struct dr_ssh *src; /* connected, with a free channel (one command at
	                       a time is used on it); NULL: src_path is
	                       local */
	const char *src_path; /* file to read */
	struct dr_ssh *dst;   /* connected, with a free channel; may be src
	                         when it has two */
	const char *dst_path; /* target file; ending in '/': a directory,
	                         the source's base name is kept */
	const char *sha256;   /* expected hex digest; "manifest": read
	                         SRC_PATH.sha256 (sha256sum format) first;
	                         NULL: only check the destination against
	                         what the controller relayed */
	const char *mode;     /* octal file mode ("0640"); NULL: 0600 */
	uint64_t timeout_ms;  /* whole transfer; 0: none */
};

struct dr_transfer_result {
	int status;     /* 0, DR_ECHECKSUM, DR_ETIMEDOUT, DR_ECANCELED, DR_EEXIT
	                   (a remote command failed), DR_EIO (local read),
	                   DR_EDISCONNECT, DR_EPROTO, DR_EINVAL (bad manifest),
	                   DR_EBUSY (a session refused a channel: run it
	                   again on another) */
	uint64_t bytes; /* bytes relayed */
	char sha256[DR_SHA256_HEX]; /* digest of the file that landed: the
	                               one expected (sha256, manifest), which
	                               the destination matched, or else the
	                               controller's of the relayed bytes */
	const char *dst_path;       /* final path on the destination */
	uint64_t elapsed_ms;
	const char *message; /* "label: copied 8.0 MiB ...", or the failure
	                        with both digests for a mismatch */
};

typedef void (*dr_transfer_cb)(const struct dr_transfer_result *res, void *arg);

/*
 * Starts a transfer on loop. Returns 0 and cb runs exactly once (the
 * result is valid during the call; the transfer is freed right after), or
 * DR_EINVAL (missing paths, a session not ready, a bad mode or digest)
 * without calling cb. *out (may be NULL) lets the caller cancel.
 * The sessions stay open and owned by the caller; do not close them before
 * cb.
 */
int dr_transfer_start(uv_loop_t *loop, const struct dr_transfer_opts *opts,
                      dr_transfer_cb cb, void *arg, struct dr_transfer **out);

/* Stops the transfer: remote commands are killed, the temporary file
 * removed, cb gets DR_ECANCELED. Returns 0 or DR_EINVAL when ending. */
int dr_transfer_cancel(struct dr_transfer *t);

#endif
