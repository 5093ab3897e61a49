/* Several processes write different files of one container at once: the
 * driver forks and execs test_worker WORKERS times, waits for all, then
 * checks that every file is there with the right content and that the
 * container is consistent.
 *
 * usage: test_procs SCRATCH_DIR WORKER_BINARY */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "whefs_test.h"
#include "worker_content.h"

#define WORKERS 4
#define FILES_PER_WORKER 6

static int count_matches(const char *path, const whefs_dirent *entry, void *userdata)
{
    (void)path;
    (void)entry;
    (*(int *)userdata)++;
    return 0;
}

static void processes_write_different_files_of_one_container(const char *worker)
{
    char container[512], id[16], count[16], path[64];
    pid_t pids[WORKERS];
    whefs_fs *fs = NULL;
    unsigned char want[WORKER_MAX_SIZE], got[WORKER_MAX_SIZE];
    size_t want_len, n = 0;
    int i, j, status, matches = 0;

    scratch_path(container, sizeof container, "procs.whefs");
    remove(container);
    OK(whefs_fs_open(container, WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE, &fs));
    OK(whefs_mkdir(fs, "w"));
    OK(whefs_fs_close(fs));

    snprintf(count, sizeof count, "%d", FILES_PER_WORKER);
    for (i = 0; i < WORKERS; i++) {
        snprintf(id, sizeof id, "%d", i);
        fflush(NULL);
        pids[i] = fork();
        CHECK(pids[i] >= 0);
        if (pids[i] == 0) {
            execl(worker, worker, container, id, count, (char *)NULL);
            perror("execl");
            _exit(127);
        }
    }
    for (i = 0; i < WORKERS; i++) {
        CHECK(waitpid(pids[i], &status, 0) == pids[i]);
        if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
            FAIL("worker %d ended with status 0x%x", i, status);
    }

    OK(whefs_fs_open(container, WHEFS_OPEN_READONLY, &fs));
    for (i = 0; i < WORKERS; i++) {
        for (j = 0; j < FILES_PER_WORKER; j++) {
            worker_path(path, sizeof path, i, j);
            want_len = worker_content(want, i, j);
            OK(whefs_read_file(fs, path, got, sizeof got, &n));
            CHECK(n == want_len && memcmp(got, want, n) == 0);
        }
    }
    OK(whefs_ls(fs, "w/*", count_matches, &matches));
    CHECK(matches == WORKERS * FILES_PER_WORKER);
    OK(whefs_fs_check(fs));
    OK(whefs_fs_close(fs));
}

int main(int argc, char **argv)
{
    if (argc < 3) {
        fprintf(stderr, "usage: %s SCRATCH_DIR WORKER_BINARY\n", argv[0]);
        return 2;
    }
    scratch_dir = argv[1];
    printf("%-50s", "processes_write_different_files_of_one_container");
    fflush(stdout);
    processes_write_different_files_of_one_container(argv[2]);
    printf(" ok\nall C multi-process tests passed\n");
    return 0;
}
