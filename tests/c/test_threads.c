/* Many threads on one whefs_fs: writers of different files, several
 * threads sharing one whefs_file through pwrite/pread at distinct offsets,
 * readers racing a writer that replaces a file (each read sees one whole
 * version), and per-thread error messages.
 *
 * usage: test_threads SCRATCH_DIR */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whefs_test.h"

#define THREADS 8
#define FILES_PER_THREAD 12
#define CHUNK 4096
#define CHUNKS_PER_THREAD 16

static whefs_fs *shared_fs;
static whefs_file *shared_file;

static void fill(unsigned char *buf, size_t len, unsigned seed)
{
    size_t i;
    for (i = 0; i < len; i++) buf[i] = (unsigned char)((seed * 31u + i * 7u) % 251u);
}

static void *own_files_worker(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    unsigned char data[3 * CHUNK], back[3 * CHUNK];
    char path[64];
    size_t n = 0;
    unsigned j;
    whefs_file *f = NULL;

    snprintf(path, sizeof path, "t%u", id);
    OK(whefs_mkdir(shared_fs, path));
    for (j = 0; j < FILES_PER_THREAD; j++) {
        size_t len = 100 + (j * 997u) % sizeof data;
        fill(data, len, id * 1000u + j);
        snprintf(path, sizeof path, "t%u/f%u", id, j);
        if (j % 2 == 0) {
            OK(whefs_write_file(shared_fs, path, data, len));
        } else {
            OK(whefs_file_open(shared_fs, path, "w", &f));
            OK(whefs_file_write(f, data, len, &n));
            CHECK(n == len);
            OK(whefs_file_close(f));
        }
        OK(whefs_read_file(shared_fs, path, back, sizeof back, &n));
        CHECK(n == len && memcmp(data, back, len) == 0);
    }
    return NULL;
}

static void *shared_handle_writer(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    unsigned char chunk[CHUNK];
    size_t n = 0;
    unsigned k;
    for (k = 0; k < CHUNKS_PER_THREAD; k++) {
        unsigned index = k * THREADS + id; /* distinct offsets, interleaved */
        fill(chunk, sizeof chunk, index);
        OK(whefs_file_pwrite(shared_file, chunk, sizeof chunk, (uint64_t)index * CHUNK, &n));
        CHECK(n == sizeof chunk);
    }
    return NULL;
}

static void *shared_handle_reader(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    unsigned char chunk[CHUNK], want[CHUNK];
    size_t n = 0;
    unsigned k;
    for (k = 0; k < THREADS * CHUNKS_PER_THREAD; k++) {
        unsigned index = (k + id * 5u) % (THREADS * CHUNKS_PER_THREAD);
        fill(want, sizeof want, index);
        OK(whefs_file_pread(shared_file, chunk, sizeof chunk, (uint64_t)index * CHUNK, &n));
        CHECK(n == sizeof chunk && memcmp(chunk, want, sizeof chunk) == 0);
    }
    return NULL;
}

static void run_threads(void *(*body)(void *))
{
    pthread_t threads[THREADS];
    uintptr_t i;
    for (i = 0; i < THREADS; i++) CHECK(pthread_create(&threads[i], NULL, body, (void *)i) == 0);
    for (i = 0; i < THREADS; i++) CHECK(pthread_join(threads[i], NULL) == 0);
}

static void threads_write_their_own_files_on_one_fs(void)
{
    whefs_info info;
    OK(whefs_fs_set_durability(shared_fs, WHEFS_DURABLE_OFF));
    run_threads(own_files_worker);
    OK(whefs_fs_info(shared_fs, &info));
    CHECK(info.files == THREADS * FILES_PER_THREAD);
    OK(whefs_fs_check(shared_fs));
}

static void threads_share_one_file_handle_with_positional_io(void)
{
    unsigned char *all, want[CHUNK];
    size_t n = 0, size = (size_t)THREADS * CHUNKS_PER_THREAD * CHUNK;
    unsigned index;
    uint64_t len = 0;

    OK(whefs_file_open(shared_fs, "shared.bin", "w+", &shared_file));
    run_threads(shared_handle_writer);
    OK(whefs_file_size(shared_file, &len));
    CHECK(len == size);
    run_threads(shared_handle_reader); /* sees its own uncommitted writes */
    OK(whefs_file_flush(shared_file));
    run_threads(shared_handle_reader);
    OK(whefs_file_close(shared_file));
    shared_file = NULL;

    all = (unsigned char *)malloc(size);
    CHECK(all != NULL);
    OK(whefs_read_file(shared_fs, "shared.bin", all, size, &n));
    CHECK(n == size);
    for (index = 0; index < THREADS * CHUNKS_PER_THREAD; index++) {
        fill(want, sizeof want, index);
        CHECK(memcmp(all + (size_t)index * CHUNK, want, CHUNK) == 0);
    }
    free(all);
}

/* Replacing a file is atomic for every reader: each read sees one version,
 * all bytes equal to that version's number. */
#define VERSION_SIZE 20000
#define VERSIONS 30
static int writer_done;
static pthread_mutex_t writer_done_lock = PTHREAD_MUTEX_INITIALIZER;

static void set_writer_done(int value)
{
    CHECK(pthread_mutex_lock(&writer_done_lock) == 0);
    writer_done = value;
    CHECK(pthread_mutex_unlock(&writer_done_lock) == 0);
}

static int is_writer_done(void)
{
    int value;
    CHECK(pthread_mutex_lock(&writer_done_lock) == 0);
    value = writer_done;
    CHECK(pthread_mutex_unlock(&writer_done_lock) == 0);
    return value;
}

static void *replacing_writer(void *arg)
{
    static unsigned char data[VERSION_SIZE];
    int v;
    (void)arg;
    for (v = 1; v <= VERSIONS; v++) {
        memset(data, v, sizeof data);
        OK(whefs_write_file(shared_fs, "versioned", data, sizeof data));
    }
    set_writer_done(1);
    return NULL;
}

static void *version_reader(void *arg)
{
    unsigned char *buf = (unsigned char *)malloc(VERSION_SIZE);
    int reads = 0;
    size_t n = 0, i;
    (void)arg;
    CHECK(buf != NULL);
    while (!is_writer_done() || reads < 3) {
        OK(whefs_read_file(shared_fs, "versioned", buf, VERSION_SIZE, &n));
        CHECK(n == VERSION_SIZE);
        for (i = 1; i < n; i++)
            if (buf[i] != buf[0]) FAIL("torn read: byte %zu is %d, byte 0 is %d", i, buf[i], buf[0]);
        reads++;
    }
    free(buf);
    return NULL;
}

static void readers_never_see_a_torn_replacement(void)
{
    pthread_t writer, readers[THREADS - 1];
    unsigned char first[VERSION_SIZE];
    int i;
    memset(first, 0, sizeof first);
    OK(whefs_write_file(shared_fs, "versioned", first, sizeof first));
    set_writer_done(0);
    CHECK(pthread_create(&writer, NULL, replacing_writer, NULL) == 0);
    for (i = 0; i < THREADS - 1; i++) CHECK(pthread_create(&readers[i], NULL, version_reader, NULL) == 0);
    CHECK(pthread_join(writer, NULL) == 0);
    for (i = 0; i < THREADS - 1; i++) CHECK(pthread_join(readers[i], NULL) == 0);
}

static void *error_message_worker(void *arg)
{
    uintptr_t id = (uintptr_t)arg;
    whefs_stat_t st;
    char path[64], want[64];
    int round;
    for (round = 0; round < 50; round++) {
        snprintf(path, sizeof path, "missing-%u-%d", (unsigned)id, round);
        CHECK_RC(whefs_stat(shared_fs, path, &st), WHEFS_ERR_NOT_FOUND);
        snprintf(want, sizeof want, "missing-%u-%d", (unsigned)id, round);
        if (strstr(whefs_errmsg(), want) == NULL)
            FAIL("thread %u sees another thread's message: %s", (unsigned)id, whefs_errmsg());
    }
    return NULL;
}

static void error_messages_are_per_thread(void)
{
    run_threads(error_message_worker);
}

int main(int argc, char **argv)
{
    char path[512];
    if (argc > 1) scratch_dir = argv[1];
    scratch_path(path, sizeof path, "threads.whefs");
    remove(path);
    OK(whefs_fs_open(path, WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE, &shared_fs));
    RUN(threads_write_their_own_files_on_one_fs);
    RUN(threads_share_one_file_handle_with_positional_io);
    RUN(readers_never_see_a_torn_replacement);
    RUN(error_messages_are_per_thread);
    OK(whefs_fs_check(shared_fs));
    OK(whefs_fs_close(shared_fs));
    printf("all C thread tests passed\n");
    return 0;
}
