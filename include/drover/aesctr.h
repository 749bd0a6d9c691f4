/*
 * aesctr.h: the AES-CTR that libssh2 gets from EVP_aes_*_ctr() in drover
 * (orchestrator/exec/aesctr.c): OpenSSL's, its keystream made ahead.
 */
#ifndef DROVER_AESCTR_H
#define DROVER_AESCTR_H

#include <stdbool.h>

/*
 * True when the process's EVP_aes_128_ctr, the one libssh2's call binds
 * to, is drover's: the executable exports it. False in a program linked
 * without the export, where libssh2 gets the provider's.
 */
bool dr_aesctr_bound(void);

/* How many times a context of it was keyed: a session's two directions
 * count two each time their keys are set. */
unsigned long dr_aesctr_inits(void);

#endif
