/* Transactions through the C API: whefs_txn_begin, the recording calls,
 * whefs_txn_commit (all or nothing, frees the handle either way) and
 * whefs_txn_abort — seen from another handle of the same container, with
 * failing operations, bad arguments, a read-only open and threads sharing
 * one transaction.
 *
 * usage: test_txn SCRATCH_DIR */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whefs_test.h"

#define RW_CREATE (WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE)

static whefs_fs *memory_fs(void)
{
    whefs_fs *fs = NULL;
    OK(whefs_fs_open(":memory:", RW_CREATE, &fs));
    return fs;
}

/* A new container file in the scratch directory. */
static whefs_fs *new_container(const char *name, char *path, size_t cap)
{
    whefs_fs *fs = NULL;
    scratch_path(path, cap, name);
    remove(path);
    OK(whefs_fs_open(path, RW_CREATE, &fs));
    return fs;
}

static int exists(whefs_fs *fs, const char *path)
{
    int found = -1;
    OK(whefs_exists(fs, path, &found));
    return found;
}

static uint64_t generation(whefs_fs *fs)
{
    whefs_info info;
    OK(whefs_fs_info(fs, &info));
    return info.generation;
}

/* Binary content with NUL bytes, different per seed. */
static unsigned char *pattern(size_t len, unsigned seed)
{
    unsigned char *p = (unsigned char *)malloc(len);
    size_t i;
    CHECK(p != NULL);
    for (i = 0; i < len; i++) p[i] = (unsigned char)((i * 31 + seed) % 256);
    return p;
}

/* Names the directory entries of `d` (one snapshot), space-separated. */
static const char *listing(whefs_dir *d)
{
    static char names[1024];
    whefs_dirent de;
    int has = 0;
    names[0] = 0;
    for (;;) {
        OK(whefs_dir_next(d, &de, &has));
        if (!has) break;
        if (names[0]) strcat(names, " ");
        CHECK(strlen(names) + strlen(de.name) < sizeof names - 1);
        strcat(names, de.name);
    }
    return names;
}

/* ---- commit ----------------------------------------------------------- */

static void commit_publishes_every_operation_at_once(void)
{
    char path[512];
    whefs_fs *fs, *reader = NULL;
    whefs_txn *t = NULL;
    whefs_dir *before_listing = NULL, *after_listing = NULL;
    whefs_file *old_file = NULL;
    whefs_info info;
    unsigned char *big = pattern(300000, 7), *back = (unsigned char *)malloc(300000);
    char buf[16], label[80];
    size_t n = 0;
    uint64_t g;

    CHECK(back != NULL);
    fs = new_container("commit.whefs", path, sizeof path);
    put_text(fs, "old.txt", "old");
    put_text(fs, "victim.txt", "victim");
    OK(whefs_fs_open(path, WHEFS_OPEN_READONLY, &reader)); /* another handle */
    OK(whefs_dir_open(reader, "/", &before_listing));       /* opened before */
    OK(whefs_file_open(reader, "victim.txt", "r", &old_file));
    g = generation(fs);

    OK(whefs_txn_begin(fs, &t));
    CHECK(t != NULL);
    OK(whefs_txn_mkdir(t, "out"));
    OK(whefs_txn_write(t, "out/big.bin", big, 300000));
    OK(whefs_txn_write(t, "tmp", "fresh", 5));
    OK(whefs_txn_rename(t, "tmp", "out/renamed")); /* renames its own write */
    OK(whefs_txn_rename(t, "old.txt", "out/old.txt"));
    OK(whefs_txn_unlink(t, "victim.txt"));
    OK(whefs_txn_mkdir_all(t, "x/y/z"));
    OK(whefs_txn_write(t, "x/y/z/empty", NULL, 0));
    OK(whefs_txn_label_set(t, "after the commit"));

    /* Nothing is visible before the commit, through either handle. */
    CHECK(generation(fs) == g);
    CHECK(!exists(fs, "out") && !exists(reader, "out") && !exists(reader, "x"));
    CHECK(exists(fs, "victim.txt") && exists(reader, "old.txt"));
    CHECK(strcmp(get_text(reader, "old.txt"), "old") == 0);

    OK(whefs_txn_commit(t)); /* frees t */

    /* All visible after, in one commit. */
    CHECK(generation(fs) == g + 1);
    CHECK(generation(reader) == g + 1);
    OK(whefs_read_file(reader, "out/big.bin", back, 300000, &n));
    CHECK(n == 300000 && memcmp(big, back, n) == 0);
    CHECK(strcmp(get_text(reader, "out/renamed"), "fresh") == 0);
    CHECK(strcmp(get_text(reader, "out/old.txt"), "old") == 0);
    CHECK(!exists(reader, "tmp") && !exists(reader, "old.txt") && !exists(reader, "victim.txt"));
    CHECK(exists(reader, "x/y/z/empty"));
    OK(whefs_fs_label_get(reader, label, sizeof label, &n));
    CHECK(strcmp(label, "after the commit") == 0);
    OK(whefs_dir_open(reader, "/", &after_listing));
    CHECK(strcmp(listing(after_listing), "out x") == 0);
    OK(whefs_dir_close(after_listing));
    OK(whefs_fs_info(reader, &info));
    CHECK(info.files == 4 && info.dirs == 5);

    /* Handles opened before keep the state they were opened at. */
    CHECK(strcmp(listing(before_listing), "old.txt victim.txt") == 0);
    OK(whefs_dir_close(before_listing));
    OK(whefs_file_pread(old_file, buf, sizeof buf, 0, &n));
    CHECK(n == 6 && memcmp(buf, "victim", 6) == 0);
    OK(whefs_file_close(old_file));

    OK(whefs_fs_check(reader));
    OK(whefs_fs_close(reader));
    OK(whefs_fs_close(fs));
    free(big);
    free(back);
}

static void empty_transaction_commits_nothing(void)
{
    whefs_fs *fs = memory_fs();
    whefs_txn *t = NULL;
    uint64_t g = generation(fs);
    OK(whefs_txn_begin(fs, &t));
    OK(whefs_txn_commit(t));
    CHECK(generation(fs) == g);
    OK(whefs_fs_close(fs));
}

/* ---- failure ---------------------------------------------------------- */

/* Container-wide figures that a transaction that commits nothing must not
 * change (its pages are free again). */
static void check_unchanged(whefs_fs *fs, const whefs_info *before, const char *what)
{
    whefs_info now;
    OK(whefs_fs_info(fs, &now));
    if (now.generation != before->generation || now.files != before->files ||
        now.dirs != before->dirs || now.pages_used != before->pages_used ||
        now.pages_total != before->pages_total)
        FAIL("%s: generation %llu -> %llu, files %llu -> %llu, pages used %llu -> %llu", what,
             (unsigned long long)before->generation, (unsigned long long)now.generation,
             (unsigned long long)before->files, (unsigned long long)now.files,
             (unsigned long long)before->pages_used, (unsigned long long)now.pages_used);
    OK(whefs_fs_check(fs));
}

static void failing_operation_commits_nothing(void)
{
    char path[512];
    whefs_fs *fs, *reader = NULL;
    whefs_txn *t = NULL;
    whefs_info before;
    unsigned char *big = pattern(200000, 3);

    fs = new_container("failing.whefs", path, sizeof path);
    put_text(fs, "keep", "keep");
    OK(whefs_mkdir(fs, "full"));
    put_text(fs, "full/f", "f");
    OK(whefs_fs_open(path, WHEFS_OPEN_READONLY, &reader));
    OK(whefs_fs_info(fs, &before));

    /* The rename of a missing file fails the whole commit. */
    OK(whefs_txn_begin(fs, &t));
    OK(whefs_txn_write(t, "new.bin", big, 200000));
    OK(whefs_txn_mkdir(t, "newdir"));
    OK(whefs_txn_unlink(t, "keep"));
    OK(whefs_txn_rename(t, "missing", "elsewhere")); /* recorded: checked at the commit */
    OK(whefs_txn_label_set(t, "never"));
    CHECK_RC(whefs_txn_commit(t), WHEFS_ERR_NOT_FOUND);
    CHECK(strstr(whefs_errmsg(), "missing") != NULL);
    check_unchanged(fs, &before, "rename of a missing file");
    CHECK(!exists(reader, "new.bin") && !exists(reader, "newdir"));
    CHECK(strcmp(get_text(reader, "keep"), "keep") == 0);

    /* Other operations that cannot be done, each with its code. */
    OK(whefs_txn_begin(fs, &t));
    OK(whefs_txn_write(t, "small", "s", 1));
    OK(whefs_txn_rmdir(t, "full"));
    CHECK_RC(whefs_txn_commit(t), WHEFS_ERR_NOT_EMPTY);
    check_unchanged(fs, &before, "rmdir of a full directory");

    OK(whefs_txn_begin(fs, &t));
    OK(whefs_txn_mkdir(t, "twice"));
    OK(whefs_txn_mkdir(t, "twice"));
    CHECK_RC(whefs_txn_commit(t), WHEFS_ERR_EXISTS);
    check_unchanged(fs, &before, "mkdir twice");

    OK(whefs_txn_begin(fs, &t));
    OK(whefs_txn_write(t, "big", big, 200000));
    OK(whefs_txn_write(t, "keep/under-a-file", "x", 1));
    CHECK_RC(whefs_txn_commit(t), WHEFS_ERR_NOT_DIR);
    check_unchanged(fs, &before, "write under a file");

    OK(whefs_txn_begin(fs, &t));
    OK(whefs_txn_remove_all(t, "keep"));
    CHECK_RC(whefs_txn_commit(t), WHEFS_ERR_NOT_DIR);
    OK(whefs_txn_begin(fs, &t));
    OK(whefs_txn_unlink(t, "full"));
    CHECK_RC(whefs_txn_commit(t), WHEFS_ERR_IS_DIR);
    check_unchanged(fs, &before, "remove_all of a file, unlink of a directory");

    /* A recording call with a bad argument fails at once, records nothing
     * and leaves the transaction usable. */
    OK(whefs_txn_begin(fs, &t));
    OK(whefs_txn_mkdir(t, "made"));
    CHECK_RC(whefs_txn_write(t, "a/../b", "x", 1), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_rename(t, "keep", ""), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_mkdir(t, "/"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_remove_all(t, "/"), WHEFS_ERR_ARG);
    {
        char long_label[80];
        memset(long_label, 'L', 65);
        long_label[65] = 0;
        CHECK_RC(whefs_txn_label_set(t, long_label), WHEFS_ERR_ARG);
        CHECK(strstr(whefs_errmsg(), "label") != NULL);
    }
    OK(whefs_txn_commit(t));
    CHECK(generation(fs) == before.generation + 1);
    CHECK(exists(reader, "made") && !exists(reader, "b"));

    OK(whefs_fs_close(reader));
    OK(whefs_fs_close(fs));
    free(big);
}

/* ---- abort ------------------------------------------------------------ */

static void abort_discards_everything(void)
{
    whefs_fs *fs = memory_fs();
    whefs_txn *t = NULL;
    whefs_info before;
    unsigned char *big = pattern(500000, 9);

    put_text(fs, "keep", "keep");
    OK(whefs_mkdir_all(fs, "tree/sub"));
    OK(whefs_fs_info(fs, &before));

    OK(whefs_txn_begin(fs, &t));
    OK(whefs_txn_write(t, "big", big, 500000));
    OK(whefs_txn_mkdir(t, "d"));
    OK(whefs_txn_unlink(t, "keep"));
    OK(whefs_txn_remove_all(t, "tree"));
    OK(whefs_txn_label_set(t, "discarded"));
    OK(whefs_txn_abort(t)); /* frees t */
    check_unchanged(fs, &before, "abort");
    CHECK(strcmp(get_text(fs, "keep"), "keep") == 0);
    CHECK(exists(fs, "tree/sub") && !exists(fs, "big") && !exists(fs, "d"));

    /* The pages the aborted write took are free again: the same write
     * committed now does not grow the container by two files' worth. */
    OK(whefs_txn_begin(fs, &t));
    OK(whefs_txn_write(t, "big", big, 500000));
    OK(whefs_txn_commit(t));
    {
        whefs_info after;
        OK(whefs_fs_info(fs, &after));
        CHECK(after.pages_total < before.pages_total + 500000 / after.page_size + 40);
    }

    OK(whefs_txn_abort(NULL)); /* NULL is fine */
    OK(whefs_fs_check(fs));
    OK(whefs_fs_close(fs));
    free(big);
}

/* ---- arguments and read-only ------------------------------------------ */

static void null_arguments_are_arg_errors(void)
{
    whefs_fs *fs = memory_fs();
    whefs_txn *t = NULL, *t_out = (whefs_txn *)&t_out; /* a sentinel the calls must not touch */

    CHECK_RC(whefs_txn_begin(NULL, &t_out), WHEFS_ERR_ARG);
    CHECK(strstr(whefs_errmsg(), "NULL") != NULL);
    CHECK_RC(whefs_txn_begin(fs, NULL), WHEFS_ERR_ARG);
    CHECK(t_out == (whefs_txn *)&t_out);

    OK(whefs_txn_begin(fs, &t));
    CHECK_RC(whefs_txn_write(NULL, "a", "x", 1), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_write(t, NULL, "x", 1), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_write(t, "a", NULL, 1), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_mkdir(NULL, "d"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_mkdir(t, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_mkdir_all(NULL, "d"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_mkdir_all(t, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_unlink(NULL, "a"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_unlink(t, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_rmdir(NULL, "d"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_rmdir(t, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_remove_all(NULL, "d"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_remove_all(t, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_rename(NULL, "a", "b"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_rename(t, NULL, "b"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_rename(t, "a", NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_label_set(NULL, "l"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_label_set(t, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_txn_commit(NULL), WHEFS_ERR_ARG); /* a commit of nothing is a bug */
    /* The transaction still works after all that, and recorded nothing. */
    OK(whefs_txn_write(t, "a", "x", 1));
    OK(whefs_txn_commit(t));
    CHECK(strcmp(get_text(fs, "a"), "x") == 0);
    OK(whefs_fs_close(fs));
}

static void read_only_open_refuses_to_begin(void)
{
    char path[512];
    whefs_fs *fs, *ro = NULL;
    whefs_txn *t = NULL;

    fs = new_container("readonly.whefs", path, sizeof path);
    put_text(fs, "f", "f");
    OK(whefs_fs_close(fs));
    OK(whefs_fs_open(path, WHEFS_OPEN_READONLY, &ro));
    CHECK_RC(whefs_txn_begin(ro, &t), WHEFS_ERR_ACCESS);
    CHECK(t == NULL);
    CHECK(strcmp(get_text(ro, "f"), "f") == 0);
    OK(whefs_fs_close(ro));
}

/* ---- threads ---------------------------------------------------------- */

#define THREADS 4
#define FILES_PER_THREAD 50

struct recorder {
    whefs_txn *t;
    int id;
};

static void *record_files(void *arg)
{
    struct recorder *r = (struct recorder *)arg;
    char name[64], text[64];
    int i;
    for (i = 0; i < FILES_PER_THREAD; i++) {
        snprintf(name, sizeof name, "t%d/f%02d", r->id, i);
        snprintf(text, sizeof text, "thread %d file %d", r->id, i);
        OK(whefs_txn_write(r->t, name, text, strlen(text)));
    }
    return NULL;
}

static void threads_may_record_into_one_transaction(void)
{
    whefs_fs *fs = memory_fs();
    whefs_txn *t = NULL;
    pthread_t threads[THREADS];
    struct recorder recorders[THREADS];
    whefs_info info;
    char name[64], text[64];
    uint64_t g = generation(fs);
    int i;

    OK(whefs_txn_begin(fs, &t));
    for (i = 0; i < THREADS; i++) {
        snprintf(name, sizeof name, "t%d", i);
        OK(whefs_txn_mkdir(t, name));
    }
    for (i = 0; i < THREADS; i++) {
        recorders[i].t = t;
        recorders[i].id = i;
        CHECK(pthread_create(&threads[i], NULL, record_files, &recorders[i]) == 0);
    }
    for (i = 0; i < THREADS; i++) CHECK(pthread_join(threads[i], NULL) == 0);
    CHECK(generation(fs) == g);
    OK(whefs_txn_commit(t));
    CHECK(generation(fs) == g + 1);
    OK(whefs_fs_info(fs, &info));
    CHECK(info.files == THREADS * FILES_PER_THREAD);
    snprintf(text, sizeof text, "thread %d file %d", 3, 49);
    CHECK(strcmp(get_text(fs, "t3/f49"), text) == 0);
    OK(whefs_fs_check(fs));
    OK(whefs_fs_close(fs));
}

int main(int argc, char **argv)
{
    if (argc > 1) scratch_dir = argv[1];
    RUN(commit_publishes_every_operation_at_once);
    RUN(empty_transaction_commits_nothing);
    RUN(failing_operation_commits_nothing);
    RUN(abort_discards_everything);
    RUN(null_arguments_are_arg_errors);
    RUN(read_only_open_refuses_to_begin);
    RUN(threads_may_record_into_one_transaction);
    printf("all C transaction tests passed\n");
    return 0;
}
