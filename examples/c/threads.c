/* threads: several pthreads write different files of one container at the
 * same time, then several more read them all back concurrently. One
 * whefs_fs handle is shared by every thread; no locking in sight.
 *
 *   threads [CONTAINER]     (default ":memory:")
 *
 * Build: cc -o threads threads.c $(pkg-config --cflags --libs whefs) -lpthread
 */
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <whefs.h>

#define WRITERS 4
#define READERS 4
#define SIZE (256 * 1024)
#define BLOCK 8192

static whefs_fs *fs;

static unsigned char expected_byte(unsigned writer, size_t offset)
{
    return (unsigned char)(writer * 41u + offset / BLOCK);
}

static void *writer(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg;
    unsigned char block[BLOCK];
    char name[32];
    whefs_file *f = NULL;
    size_t offset, n;
    int rc;

    snprintf(name, sizeof name, "out/writer-%u.bin", id);
    if ((rc = whefs_file_open(fs, name, "w", &f)) != WHEFS_OK) goto failed;
    for (offset = 0; offset < SIZE; offset += BLOCK) {
        memset(block, expected_byte(id, offset), sizeof block);
        if ((rc = whefs_file_write(f, block, sizeof block, &n)) != WHEFS_OK) {
            whefs_file_close(f);
            goto failed;
        }
    }
    if ((rc = whefs_file_close(f)) != WHEFS_OK) goto failed; /* commit */
    return NULL;
failed:
    fprintf(stderr, "writer %u: %s (%s)\n", id, whefs_errmsg(), whefs_rc_name(rc));
    return (void *)1;
}

static void *reader(void *arg)
{
    unsigned id = (unsigned)(uintptr_t)arg, w;
    unsigned char block[BLOCK];
    char name[32];
    whefs_file *f = NULL;
    size_t offset, n, i;
    int rc;

    for (w = 0; w < WRITERS; w++) {
        unsigned which = (w + id) % WRITERS;
        snprintf(name, sizeof name, "out/writer-%u.bin", which);
        if ((rc = whefs_file_open(fs, name, "r", &f)) != WHEFS_OK) goto failed;
        /* positional reads: no shared cursor, nothing to lock */
        for (offset = 0; offset < SIZE; offset += BLOCK) {
            if ((rc = whefs_file_pread(f, block, sizeof block, offset, &n)) != WHEFS_OK) {
                whefs_file_close(f);
                goto failed;
            }
            for (i = 0; i < n; i++) {
                if (block[i] != expected_byte(which, offset)) {
                    fprintf(stderr, "reader %u: wrong byte in %s at %zu\n", id, name, offset + i);
                    whefs_file_close(f);
                    return (void *)1;
                }
            }
        }
        whefs_file_close(f);
    }
    return NULL;
failed:
    fprintf(stderr, "reader %u: %s (%s)\n", id, whefs_errmsg(), whefs_rc_name(rc));
    return (void *)1;
}

static int run(void *(*body)(void *), unsigned count)
{
    pthread_t threads[8];
    void *result;
    unsigned i;
    int failures = 0;
    for (i = 0; i < count; i++) pthread_create(&threads[i], NULL, body, (void *)(uintptr_t)i);
    for (i = 0; i < count; i++) {
        pthread_join(threads[i], &result);
        failures += result != NULL;
    }
    return failures;
}

int main(int argc, char **argv)
{
    const char *path = argc > 1 ? argv[1] : ":memory:";
    whefs_info info;
    int rc;

    if ((rc = whefs_fs_open(path, WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE, &fs)) != WHEFS_OK ||
        (rc = whefs_mkdir_all(fs, "out")) != WHEFS_OK) {
        fprintf(stderr, "%s: %s (%s)\n", path, whefs_errmsg(), whefs_rc_name(rc));
        return 1;
    }
    if (run(writer, WRITERS) || run(reader, READERS)) {
        whefs_fs_close(fs);
        return 1;
    }
    if ((rc = whefs_fs_info(fs, &info)) != WHEFS_OK) return 1;
    printf("%d writers wrote, %d readers verified %d files of %d KiB; container has %llu files\n",
           WRITERS, READERS, WRITERS, SIZE / 1024, (unsigned long long)info.files);
    whefs_fs_close(fs);
    return 0;
}
