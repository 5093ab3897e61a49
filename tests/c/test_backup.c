/* Online backup and compaction through the C API: whefs_fs_backup (one
 * committed state, compact, clean, while a writer commits from inside the
 * progress callback; of a snapshot view; refusing an existing destination)
 * and whefs_fs_compact (shrinks the file, keeps every file and snapshot,
 * WHEFS_ERR_BUSY while others have the container open, WHEFS_ERR_ACCESS on
 * a read-only open or a view).
 *
 * usage: test_backup SCRATCH_DIR */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "whefs_test.h"

#define RW_CREATE (WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE)

/* A new container file in the scratch directory. */
static whefs_fs *new_container(const char *name, char *path, size_t cap)
{
    whefs_fs *fs = NULL;
    scratch_path(path, cap, name);
    remove(path);
    OK(whefs_fs_open(path, RW_CREATE, &fs));
    return fs;
}

static uint64_t host_size(const char *path)
{
    struct stat st;
    CHECK(stat(path, &st) == 0);
    return (uint64_t)st.st_size;
}

static int host_exists(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0;
}

/* Content that differs per file, with NUL bytes. */
static void put_pattern(whefs_fs *fs, const char *path, size_t len, unsigned seed)
{
    unsigned char *p = (unsigned char *)malloc(len ? len : 1);
    size_t i;
    CHECK(p != NULL);
    for (i = 0; i < len; i++) p[i] = (unsigned char)((i * 2654435761u + seed) >> 3);
    OK(whefs_write_file(fs, path, p, len));
    free(p);
}

static int same_pattern(whefs_fs *fs, const char *path, size_t len, unsigned seed)
{
    unsigned char *p = (unsigned char *)malloc(len + 1);
    size_t i, got = 0;
    int same;
    CHECK(p != NULL);
    OK(whefs_read_file(fs, path, p, len + 1, &got));
    same = got == len;
    for (i = 0; same && i < len; i++)
        same = p[i] == (unsigned char)((i * 2654435761u + seed) >> 3);
    free(p);
    return same;
}

static int exists(whefs_fs *fs, const char *path)
{
    int found = -1;
    OK(whefs_exists(fs, path, &found));
    return found;
}

/* ---- backup ------------------------------------------------------------ */

/* The progress callback's record; it also commits through another handle. */
struct progress {
    int calls;
    uint64_t last_done, total;
    int out_of_order;
    whefs_fs *writer; /* a second open of the source container, or NULL */
};

static void on_progress(uint64_t done, uint64_t total, void *userdata)
{
    struct progress *p = (struct progress *)userdata;
    if (done > total || done < p->last_done || (p->calls && total != p->total))
        p->out_of_order = 1;
    p->last_done = done;
    p->total = total;
    if (p->writer != NULL && p->calls == 0) {
        /* A writer commits while the backup runs: it is not blocked, and
         * its commit is not in the copy. */
        put_text(p->writer, "written-during-backup", "not in the copy");
        OK(whefs_unlink(p->writer, "f/3"));
    }
    p->calls++;
}

static void backup_copies_one_state_compactly_while_a_writer_commits(void)
{
    char src[512], dest[512], name[32];
    whefs_fs *fs, *writer = NULL, *copy = NULL;
    whefs_backup_report report, untouched;
    whefs_info_v2 before, info;
    struct progress p = {0, 0, 0, 0, NULL};
    uint64_t copy_size;
    unsigned i;

    fs = new_container("source.whefs", src, sizeof src);
    OK(whefs_mkdir(fs, "f"));
    for (i = 0; i < 120; i++) {
        snprintf(name, sizeof name, "f/%u", i);
        put_pattern(fs, name, (i * 977) % 30000, i);
    }
    for (i = 0; i < 120; i += 2) { /* free space the copy must not have */
        snprintf(name, sizeof name, "f/%u", i);
        OK(whefs_unlink(fs, name));
    }
    OK(whefs_symlink(fs, "f/1", "link"));
    OK(whefs_snapshot_create(fs, "s", NULL));
    OK(whefs_fs_info_v2(fs, &before));
    OK(whefs_fs_open(src, WHEFS_OPEN_READWRITE, &writer));
    p.writer = writer;

    scratch_path(dest, sizeof dest, "copy.whefs");
    remove(dest);
    memset(&report, 0, sizeof report);
    OK(whefs_fs_backup(fs, dest, on_progress, &p, &report));
    CHECK(p.calls > 0 && !p.out_of_order && p.last_done == p.total);
    CHECK(report.generation == before.generation);
    CHECK(report.files == before.files && report.dirs == before.dirs);
    CHECK(report.bytes == report.pages * before.page_size);
    CHECK(report.bytes == host_size(dest));
    CHECK(report.bytes < host_size(src)); /* only live pages */

    /* The copy is the state the backup started with, clean and compact. */
    OK(whefs_fs_open(dest, WHEFS_OPEN_READONLY, &copy));
    OK(whefs_fs_check(copy));
    OK(whefs_fs_info_v2(copy, &info));
    CHECK(info.pages_total == report.pages);
    CHECK(info.pages_free == 0 && info.pages_pending == 0);
    CHECK(info.snapshots == 0 && info.files == before.files);
    for (i = 1; i < 120; i += 2) {
        snprintf(name, sizeof name, "f/%u", i);
        CHECK(same_pattern(copy, name, (i * 977) % 30000, i));
    }
    CHECK(!exists(copy, "f/0"));
    CHECK(exists(copy, "f/3")); /* removed by the writer after the backup began */
    CHECK(!exists(copy, "written-during-backup"));
    OK(whefs_fs_close(copy));
    /* ... while the source has the writer's commit. */
    CHECK(exists(fs, "written-during-backup") && !exists(fs, "f/3"));

    /* An existing destination is refused and left alone; so is a missing
     * directory. */
    copy_size = host_size(dest);
    memset(&untouched, 0x3C, sizeof untouched);
    report = untouched;
    CHECK_RC(whefs_fs_backup(fs, dest, NULL, NULL, &report), WHEFS_ERR_EXISTS);
    CHECK(memcmp(&report, &untouched, sizeof report) == 0);
    CHECK(host_size(dest) == copy_size);
    scratch_path(dest, sizeof dest, "no-such-dir/copy.whefs");
    CHECK_RC(whefs_fs_backup(fs, dest, NULL, NULL, NULL), WHEFS_ERR_NOT_FOUND);
    CHECK(!host_exists(dest));

    OK(whefs_fs_close(writer));
    OK(whefs_fs_close(fs));
}

static void backup_of_a_view_copies_its_snapshot(void)
{
    char src[512], dest[512];
    whefs_fs *fs, *view = NULL, *copy = NULL;
    whefs_backup_report report;
    whefs_snapshot_info si;

    fs = new_container("view-source.whefs", src, sizeof src);
    put_text(fs, "doc", "version 1");
    OK(whefs_snapshot_create(fs, "v1", &si));
    put_text(fs, "doc", "version 2");
    put_text(fs, "later", "after v1");
    OK(whefs_fs_open_snapshot(fs, "v1", &view));

    scratch_path(dest, sizeof dest, "v1-copy.whefs");
    remove(dest);
    OK(whefs_fs_backup(view, dest, NULL, NULL, &report)); /* no callback, a report */
    CHECK(report.generation == si.generation && report.files == 1);
    OK(whefs_fs_open(dest, WHEFS_OPEN_READONLY, &copy));
    OK(whefs_fs_check(copy));
    CHECK(strcmp(get_text(copy, "doc"), "version 1") == 0);
    CHECK(!exists(copy, "later"));
    OK(whefs_fs_close(copy));
    OK(whefs_fs_close(view));

    /* A container in memory backs up to a file too. */
    {
        whefs_fs *mem = NULL;
        OK(whefs_fs_open(":memory:", RW_CREATE, &mem));
        put_text(mem, "m", "from memory");
        scratch_path(dest, sizeof dest, "memory-copy.whefs");
        remove(dest);
        OK(whefs_fs_backup(mem, dest, NULL, NULL, NULL));
        OK(whefs_fs_close(mem));
        OK(whefs_fs_open(dest, WHEFS_OPEN_READONLY, &copy));
        CHECK(strcmp(get_text(copy, "m"), "from memory") == 0);
        OK(whefs_fs_close(copy));
    }
    OK(whefs_fs_close(fs));
}

/* ---- compact ------------------------------------------------------------ */

static void compact_shrinks_the_file_and_keeps_files_and_snapshots(void)
{
    char path[512], name[32];
    whefs_fs *fs, *view = NULL;
    whefs_compact_report report;
    whefs_info_v2 info;
    uint64_t size_before;
    unsigned i;

    fs = new_container("compact.whefs", path, sizeof path);
    OK(whefs_fs_set_durability(fs, WHEFS_DURABLE_OFF)); /* many small commits */
    OK(whefs_mkdir(fs, "d"));
    for (i = 0; i < 400; i++) {
        snprintf(name, sizeof name, "d/%u", i);
        put_pattern(fs, name, 3000 + i * 7, i);
    }
    put_text(fs, "kept-by-snapshot", "old");
    OK(whefs_snapshot_create(fs, "s", NULL));
    put_text(fs, "kept-by-snapshot", "new");
    for (i = 0; i < 400; i++) {
        if (i % 4 == 0) continue; /* keep a quarter, spread through the file */
        snprintf(name, sizeof name, "d/%u", i);
        OK(whefs_unlink(fs, name));
    }
    OK(whefs_fs_info_v2(fs, &info));
    size_before = host_size(path);
    CHECK(info.pages_reclaimable > 0);

    memset(&report, 0, sizeof report);
    OK(whefs_fs_compact(fs, &report));
    CHECK(report.pages_before * info.page_size == size_before);
    CHECK(report.pages_after < report.pages_before);
    CHECK(report.commits >= 1);
    CHECK(host_size(path) == report.pages_after * info.page_size);
    OK(whefs_fs_check(fs));
    for (i = 0; i < 400; i += 4) {
        snprintf(name, sizeof name, "d/%u", i);
        CHECK(same_pattern(fs, name, 3000 + i * 7, i));
    }
    CHECK(strcmp(get_text(fs, "kept-by-snapshot"), "new") == 0);
    OK(whefs_fs_open_snapshot(fs, "s", &view));
    CHECK(strcmp(get_text(view, "kept-by-snapshot"), "old") == 0);
    CHECK(same_pattern(view, "d/1", 3000 + 7, 1));
    OK(whefs_fs_close(view));

    /* Again at once: nothing more to give back; NULL report is fine. */
    OK(whefs_fs_compact(fs, NULL));
    OK(whefs_fs_compact(fs, &report));
    CHECK(report.pages_after <= report.pages_before);
    OK(whefs_fs_close(fs));

    /* Across a reopen, everything is there. */
    OK(whefs_fs_open(path, WHEFS_OPEN_READWRITE, &fs));
    OK(whefs_fs_check(fs));
    CHECK(same_pattern(fs, "d/396", 3000 + 396 * 7, 396));
    OK(whefs_fs_close(fs));
}

static void compact_is_busy_while_others_have_the_container_open(void)
{
    char path[512];
    whefs_fs *fs, *other = NULL, *ro = NULL, *view = NULL;
    whefs_compact_report report, untouched;
    whefs_file *f = NULL;
    whefs_dir *d = NULL;
    whefs_txn *t = NULL;

    fs = new_container("busy.whefs", path, sizeof path);
    put_text(fs, "a", "a");
    OK(whefs_snapshot_create(fs, "s", NULL));
    OK(whefs_fs_set_busy_timeout(fs, 50));
    memset(&untouched, 0x77, sizeof untouched);
    report = untouched;

    /* Another open of the container (another process would be the same). */
    OK(whefs_fs_open(path, WHEFS_OPEN_READONLY, &other));
    CHECK_RC(whefs_fs_compact(fs, &report), WHEFS_ERR_BUSY);
    CHECK(strstr(whefs_errmsg(), "compaction") != NULL);
    CHECK(memcmp(&report, &untouched, sizeof report) == 0);
    OK(whefs_fs_close(other));

    /* This open's own file, listing, transaction and view. */
    OK(whefs_file_open(fs, "a", "r", &f));
    CHECK_RC(whefs_fs_compact(fs, &report), WHEFS_ERR_BUSY);
    OK(whefs_file_close(f));
    OK(whefs_dir_open(fs, "/", &d));
    CHECK_RC(whefs_fs_compact(fs, &report), WHEFS_ERR_BUSY);
    OK(whefs_dir_close(d));
    OK(whefs_fs_open_snapshot(fs, "s", &view));
    CHECK_RC(whefs_fs_compact(fs, &report), WHEFS_ERR_BUSY);
    CHECK_RC(whefs_fs_compact(view, &report), WHEFS_ERR_ACCESS);
    OK(whefs_fs_close(view));
    OK(whefs_txn_begin(fs, &t));
    OK(whefs_txn_write(t, "b", "b", 1));
    CHECK_RC(whefs_fs_compact(fs, &report), WHEFS_ERR_BUSY);
    OK(whefs_txn_commit(t));
    CHECK(memcmp(&report, &untouched, sizeof report) == 0);

    OK(whefs_fs_compact(fs, &report)); /* alone now */
    OK(whefs_fs_close(fs));

    OK(whefs_fs_open(path, WHEFS_OPEN_READONLY, &ro));
    CHECK_RC(whefs_fs_compact(ro, NULL), WHEFS_ERR_ACCESS);
    CHECK(strcmp(get_text(ro, "b"), "b") == 0);
    OK(whefs_fs_close(ro));
}

/* ---- arguments ---------------------------------------------------------- */

static void null_arguments_are_arg_errors(void)
{
    whefs_fs *fs = NULL;
    whefs_backup_report report;
    whefs_compact_report compact;

    OK(whefs_fs_open(":memory:", RW_CREATE, &fs));
    CHECK_RC(whefs_fs_backup(NULL, "x.whefs", NULL, NULL, &report), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_backup(fs, NULL, NULL, NULL, &report), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_backup(fs, "", NULL, NULL, &report), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_compact(NULL, &compact), WHEFS_ERR_ARG);
    OK(whefs_fs_close(fs));
}

int main(int argc, char **argv)
{
    if (argc > 1) scratch_dir = argv[1];
    RUN(backup_copies_one_state_compactly_while_a_writer_commits);
    RUN(backup_of_a_view_copies_its_snapshot);
    RUN(compact_shrinks_the_file_and_keeps_files_and_snapshots);
    RUN(compact_is_busy_while_others_have_the_container_open);
    RUN(null_arguments_are_arg_errors);
    printf("all C backup tests passed\n");
    return 0;
}
