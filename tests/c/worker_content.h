/* What worker ID writes as its file J: shared by test_worker (which writes
 * it) and test_procs (which checks it). */
#ifndef WORKER_CONTENT_H
#define WORKER_CONTENT_H

#include <stddef.h>
#include <stdio.h>

#define WORKER_MAX_SIZE 40000

static inline void worker_path(char *buf, size_t cap, int id, int j)
{
    snprintf(buf, cap, "w/worker%d-file%d", id, j);
}

/* Fills buf (WORKER_MAX_SIZE bytes) and returns the length. */
static inline size_t worker_content(unsigned char *buf, int id, int j)
{
    size_t len = 500 + (size_t)((id * 7919 + j * 104729) % (WORKER_MAX_SIZE - 500)), i;
    for (i = 0; i < len; i++) buf[i] = (unsigned char)((unsigned)id * 13u + (unsigned)j * 3u + i % 241u);
    return len;
}

#endif
