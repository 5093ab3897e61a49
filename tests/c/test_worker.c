/* A worker process for test_procs: opens the container, writes its files
 * (half whole-file, half through a handle), closes, one file at a time.
 * The busy timeout is generous: while a read-write open excludes other
 * opens, workers take turns.
 *
 * usage: test_worker CONTAINER ID COUNT */
#define _POSIX_C_SOURCE 200809L

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whefs_test.h"
#include "worker_content.h"

int main(int argc, char **argv)
{
    unsigned char data[WORKER_MAX_SIZE];
    char path[64];
    int id, count, j;
    size_t len, n = 0;
    whefs_fs *fs = NULL;
    whefs_file *f = NULL;

    if (argc != 4) {
        fprintf(stderr, "usage: %s CONTAINER ID COUNT\n", argv[0]);
        return 2;
    }
    id = atoi(argv[2]);
    count = atoi(argv[3]);
    for (j = 0; j < count; j++) {
        worker_path(path, sizeof path, id, j);
        len = worker_content(data, id, j);
        OK(whefs_fs_open_ex(argv[1], WHEFS_OPEN_READWRITE, 120000, 0, NULL, &fs));
        if (j % 2 == 0) {
            OK(whefs_write_file(fs, path, data, len));
        } else {
            OK(whefs_file_open(fs, path, "x", &f));
            OK(whefs_file_write(f, data, len / 2, &n));
            OK(whefs_file_pwrite(f, data + len / 2, len - len / 2, len / 2, &n));
            OK(whefs_file_close(f));
        }
        OK(whefs_fs_close(fs));
    }
    return 0;
}
