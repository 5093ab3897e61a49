/* POSIX metadata through the C API: whefs_statx (and WHEFS_STAT_NOFOLLOW),
 * whefs_chmod, whefs_chown, whefs_utimens, whefs_symlink, whefs_readlink,
 * whefs_link, whefs_truncate and whefs_fs_sync, with their error codes and
 * bad arguments.
 *
 * usage: test_posix SCRATCH_DIR */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "whefs_test.h"

static whefs_fs *memory_fs(void)
{
    whefs_fs *fs = NULL;
    OK(whefs_fs_open(":memory:", WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE, &fs));
    return fs;
}

static whefs_statx_t statx_of(whefs_fs *fs, const char *path, unsigned flags)
{
    whefs_statx_t st;
    memset(&st, 0xAB, sizeof st);
    OK(whefs_statx(fs, path, flags, &st));
    return st;
}

static void modes_owners_and_times(void)
{
    whefs_fs *fs = memory_fs();
    whefs_statx_t st;
    put_text(fs, "f", "data");
    st = statx_of(fs, "f", 0);
    CHECK(st.kind == WHEFS_KIND_FILE && st.mode == 0644 && st.nlink == 1 && st.size == 4);
    OK(whefs_chmod(fs, "f", 0100600));
    OK(whefs_chown(fs, "f", 1000, WHEFS_ID_KEEP));
    OK(whefs_chown(fs, "f", WHEFS_ID_KEEP, 50));
    OK(whefs_utimens(fs, "f", 1234567890123456789LL, WHEFS_TIME_OMIT));
    st = statx_of(fs, "f", 0);
    CHECK(st.mode == 0600 && st.uid == 1000 && st.gid == 50);
    CHECK(st.atime_ns == 1234567890123456789LL);
    OK(whefs_utimens(fs, "f", WHEFS_TIME_OMIT, WHEFS_TIME_NOW));
    CHECK(statx_of(fs, "f", 0).mtime_ns > 1600000000000000000LL);
    CHECK(statx_of(fs, "f", 0).atime_ns == 1234567890123456789LL);
    CHECK_RC(whefs_chmod(fs, "missing", 0600), WHEFS_ERR_NOT_FOUND);
    CHECK_RC(whefs_chmod(NULL, "f", 0600), WHEFS_ERR_ARG);
    CHECK_RC(whefs_statx(fs, "f", 0x80, &st), WHEFS_ERR_ARG);
    CHECK_RC(whefs_statx(fs, "f", 0, NULL), WHEFS_ERR_ARG);
    {
        whefs_file *f = NULL;
        OK(whefs_file_open(fs, "f", "r", &f));
        OK(whefs_file_statx(f, &st));
        CHECK(st.uid == 1000 && st.gid == 50 && st.nlink == 1 && st.mode == 0600);
        OK(whefs_file_close(f));
    }
    OK(whefs_fs_sync(fs));
    OK(whefs_fs_check(fs));
    OK(whefs_fs_close(fs));
}

static void symbolic_links(void)
{
    whefs_fs *fs = memory_fs();
    char buf[64];
    size_t len = 0;
    whefs_statx_t st;
    OK(whefs_mkdir(fs, "d"));
    put_text(fs, "d/target", "pointed at");
    OK(whefs_symlink(fs, "d/target", "link"));
    CHECK(strcmp(get_text(fs, "link"), "pointed at") == 0);
    st = statx_of(fs, "link", WHEFS_STAT_NOFOLLOW);
    CHECK(st.kind == WHEFS_KIND_SYMLINK && st.size == 8 && st.mode == 0777);
    CHECK(statx_of(fs, "link", 0).kind == WHEFS_KIND_FILE);
    OK(whefs_readlink(fs, "link", buf, sizeof buf, &len));
    CHECK(len == 8 && strcmp(buf, "d/target") == 0);
    /* Too small a buffer: RANGE, and *len says what is needed. */
    len = 0;
    CHECK_RC(whefs_readlink(fs, "link", buf, 8, &len), WHEFS_ERR_RANGE);
    CHECK(len == 8);
    CHECK_RC(whefs_readlink(fs, "link", NULL, 0, &len), WHEFS_ERR_RANGE);
    CHECK_RC(whefs_readlink(fs, "d/target", buf, sizeof buf, &len), WHEFS_ERR_ARG);
    CHECK_RC(whefs_symlink(fs, "x", "link"), WHEFS_ERR_EXISTS);
    CHECK_RC(whefs_symlink(fs, "", "empty"), WHEFS_ERR_ARG);
    OK(whefs_symlink(fs, "nowhere", "dangling"));
    CHECK_RC(whefs_stat(fs, "dangling", NULL), WHEFS_ERR_ARG);
    {
        whefs_stat_t plain;
        CHECK_RC(whefs_stat(fs, "dangling", &plain), WHEFS_ERR_NOT_FOUND);
    }
    OK(whefs_unlink(fs, "link"));
    CHECK(strcmp(get_text(fs, "d/target"), "pointed at") == 0);
    OK(whefs_fs_check(fs));
    OK(whefs_fs_close(fs));
}

static void hard_links_and_truncate(void)
{
    whefs_fs *fs = memory_fs();
    whefs_statx_t a, b;
    OK(whefs_mkdir(fs, "d"));
    put_text(fs, "a", "one inode");
    OK(whefs_link(fs, "a", "d/b"));
    a = statx_of(fs, "a", 0);
    b = statx_of(fs, "d/b", 0);
    CHECK(a.ino == b.ino && a.nlink == 2 && b.nlink == 2);
    CHECK(statx_of(fs, "d", 0).nlink == 2 && statx_of(fs, "/", 0).nlink == 3);
    CHECK_RC(whefs_link(fs, "d", "d2"), WHEFS_ERR_IS_DIR);
    CHECK_RC(whefs_link(fs, "a", "d/b"), WHEFS_ERR_EXISTS);
    OK(whefs_unlink(fs, "a"));
    CHECK(statx_of(fs, "d/b", 0).nlink == 1);
    CHECK(strcmp(get_text(fs, "d/b"), "one inode") == 0);
    OK(whefs_truncate(fs, "d/b", 3));
    CHECK(strcmp(get_text(fs, "d/b"), "one") == 0);
    CHECK_RC(whefs_truncate(fs, "d", 0), WHEFS_ERR_IS_DIR);
    OK(whefs_fs_check(fs));
    OK(whefs_fs_close(fs));
}

static void read_only_opens_refuse_changes(void)
{
    char path[4096];
    whefs_fs *fs = NULL;
    scratch_path(path, sizeof path, "posix-ro.whefs");
    remove(path);
    OK(whefs_fs_open(path, WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE, &fs));
    put_text(fs, "f", "x");
    OK(whefs_fs_close(fs));
    OK(whefs_fs_open(path, WHEFS_OPEN_READONLY, &fs));
    CHECK_RC(whefs_chmod(fs, "f", 0600), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_symlink(fs, "f", "l"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_link(fs, "f", "g"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_utimens(fs, "f", 0, 0), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_truncate(fs, "f", 0), WHEFS_ERR_ACCESS);
    OK(whefs_fs_close(fs));
    remove(path);
}

int main(int argc, char **argv)
{
    if (argc > 1) scratch_dir = argv[1];
    RUN(modes_owners_and_times);
    RUN(symbolic_links);
    RUN(hard_links_and_truncate);
    RUN(read_only_opens_refuse_changes);
    printf("all C POSIX tests passed\n");
    return 0;
}
