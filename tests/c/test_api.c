/* Every function of the whefs C API, and every error path a C program can
 * reach: NULL arguments, bad flags and modes, missing files, read-only
 * violations, a busy writer, a damaged container, binary data, offsets past
 * 4 GiB and a panic inside the library.
 *
 * usage: test_api SCRATCH_DIR */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "whefs_test.h"

#define RW_CREATE (WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE)
#define GIB ((uint64_t)1 << 30)

static whefs_fs *memory_fs(void)
{
    whefs_fs *fs = NULL;
    OK(whefs_fs_open(":memory:", RW_CREATE, &fs));
    CHECK(fs != NULL);
    return fs;
}

static int errmsg_mentions(const char *word)
{
    return strstr(whefs_errmsg(), word) != NULL;
}

/* ---- library ---------------------------------------------------------- */

static void version_matches_header_macros(void)
{
    char expect[64];
    snprintf(expect, sizeof expect, "%d.%d.%d", WHEFS_VERSION_MAJOR, WHEFS_VERSION_MINOR,
             WHEFS_VERSION_PATCH);
    CHECK(strcmp(whefs_version(), expect) == 0);
    CHECK(strcmp(whefs_version(), WHEFS_VERSION_STRING) == 0);
}

static void rc_names_cover_every_code(void)
{
    static const struct { int rc; const char *name; } codes[] = {
        {WHEFS_OK, "WHEFS_OK"},
        {WHEFS_ERR_ARG, "WHEFS_ERR_ARG"},
        {WHEFS_ERR_IO, "WHEFS_ERR_IO"},
        {WHEFS_ERR_NOMEM, "WHEFS_ERR_NOMEM"},
        {WHEFS_ERR_BAD_MAGIC, "WHEFS_ERR_BAD_MAGIC"},
        {WHEFS_ERR_INTERNAL, "WHEFS_ERR_INTERNAL"},
        {WHEFS_ERR_RANGE, "WHEFS_ERR_RANGE"},
        {WHEFS_ERR_FULL, "WHEFS_ERR_FULL"},
        {WHEFS_ERR_ACCESS, "WHEFS_ERR_ACCESS"},
        {WHEFS_ERR_CORRUPT, "WHEFS_ERR_CORRUPT"},
        {WHEFS_ERR_UNSUPPORTED, "WHEFS_ERR_UNSUPPORTED"},
        {WHEFS_ERR_NOT_FOUND, "WHEFS_ERR_NOT_FOUND"},
        {WHEFS_ERR_EXISTS, "WHEFS_ERR_EXISTS"},
        {WHEFS_ERR_BUSY, "WHEFS_ERR_BUSY"},
        {WHEFS_ERR_NOT_DIR, "WHEFS_ERR_NOT_DIR"},
        {WHEFS_ERR_IS_DIR, "WHEFS_ERR_IS_DIR"},
        {WHEFS_ERR_NOT_EMPTY, "WHEFS_ERR_NOT_EMPTY"},
        {WHEFS_ERR_CLOSED, "WHEFS_ERR_CLOSED"},
        {WHEFS_ERR_NAME_TOO_LONG, "WHEFS_ERR_NAME_TOO_LONG"},
    };
    size_t i;
    CHECK(WHEFS_OK == 0 && WHEFS_ERR_ARG == 1 && WHEFS_ERR_INTERNAL == 5 && WHEFS_ERR_BUSY == 14);
    for (i = 0; i < sizeof codes / sizeof codes[0]; i++)
        CHECK(strcmp(whefs_rc_name(codes[i].rc), codes[i].name) == 0);
    CHECK(strcmp(whefs_rc_name(10), "WHEFS_ERR_UNKNOWN") == 0);
    CHECK(strcmp(whefs_rc_name(-1), "WHEFS_ERR_UNKNOWN") == 0);
    CHECK(strcmp(whefs_rc_name(100000), "WHEFS_ERR_UNKNOWN") == 0);
    CHECK(whefs_errmsg() != NULL);
}

static void panic_inside_library_becomes_internal_error(void)
{
    whefs_fs *fs;
    CHECK_RC(whefs_test_panic(), WHEFS_ERR_INTERNAL);
    CHECK(errmsg_mentions("panic"));
    /* The process goes on and the library still works. */
    CHECK_RC(whefs_test_panic(), WHEFS_ERR_INTERNAL);
    fs = memory_fs();
    put_text(fs, "after-panic", "fine");
    CHECK(strcmp(get_text(fs, "after-panic"), "fine") == 0);
    OK(whefs_fs_close(fs));
}

/* ---- arguments -------------------------------------------------------- */

static void null_arguments_are_arg_errors_and_leave_outputs_alone(void)
{
    whefs_fs *fs = memory_fs();
    whefs_fs *fs_out = (whefs_fs *)&fs_out; /* a sentinel the calls must not touch */
    whefs_file *f = NULL, *f_out = (whefs_file *)&f_out;
    whefs_dir *d = NULL, *d_out = (whefs_dir *)&d_out;
    whefs_stat_t st;
    whefs_info info;
    whefs_dirent de;
    char buf[16];
    size_t n = 12345;
    uint64_t pos = 777;
    int flag = 42;

    CHECK_RC(whefs_fs_open(NULL, RW_CREATE, &fs_out), WHEFS_ERR_ARG);
    CHECK(errmsg_mentions("NULL"));
    CHECK_RC(whefs_fs_open(":memory:", RW_CREATE, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_open("", RW_CREATE, &fs_out), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_open_ex(NULL, RW_CREATE, 10, 0, NULL, &fs_out), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_open_ex(":memory:", RW_CREATE, 10, 0, NULL, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_open_image(NULL, 10, &fs_out), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_open_image(buf, sizeof buf, NULL), WHEFS_ERR_ARG);
    CHECK(fs_out == (whefs_fs *)&fs_out);

    CHECK_RC(whefs_fs_set_busy_timeout(NULL, 1), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_set_durability(NULL, WHEFS_DURABLE_FULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_check(NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_info(NULL, &info), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_info(fs, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_label_get(NULL, buf, sizeof buf, &n), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_label_get(fs, buf, sizeof buf, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_label_get(fs, NULL, sizeof buf, &n), WHEFS_ERR_ARG);
    CHECK(n == 12345);
    CHECK_RC(whefs_fs_label_set(NULL, "x"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_label_set(fs, NULL), WHEFS_ERR_ARG);

    CHECK_RC(whefs_write_file(NULL, "a", "x", 1), WHEFS_ERR_ARG);
    CHECK_RC(whefs_write_file(fs, NULL, "x", 1), WHEFS_ERR_ARG);
    CHECK_RC(whefs_write_file(fs, "a", NULL, 1), WHEFS_ERR_ARG);
    CHECK_RC(whefs_read_file(NULL, "a", buf, sizeof buf, &n), WHEFS_ERR_ARG);
    CHECK_RC(whefs_read_file(fs, NULL, buf, sizeof buf, &n), WHEFS_ERR_ARG);
    CHECK_RC(whefs_read_file(fs, "a", NULL, sizeof buf, &n), WHEFS_ERR_ARG);
    CHECK_RC(whefs_read_file(fs, "a", buf, sizeof buf, NULL), WHEFS_ERR_ARG);
    CHECK(n == 12345);

    CHECK_RC(whefs_stat(NULL, "a", &st), WHEFS_ERR_ARG);
    CHECK_RC(whefs_stat(fs, NULL, &st), WHEFS_ERR_ARG);
    CHECK_RC(whefs_stat(fs, "a", NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_exists(NULL, "a", &flag), WHEFS_ERR_ARG);
    CHECK_RC(whefs_exists(fs, NULL, &flag), WHEFS_ERR_ARG);
    CHECK_RC(whefs_exists(fs, "a", NULL), WHEFS_ERR_ARG);
    CHECK(flag == 42);
    CHECK_RC(whefs_unlink(NULL, "a"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_unlink(fs, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_rename(NULL, "a", "b"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_rename(fs, NULL, "b"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_rename(fs, "a", NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_mkdir(NULL, "d"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_mkdir(fs, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_mkdir_all(NULL, "d"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_mkdir_all(fs, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_rmdir(NULL, "d"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_rmdir(fs, NULL), WHEFS_ERR_ARG);

    CHECK_RC(whefs_file_open(NULL, "a", "w", &f_out), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_open(fs, NULL, "w", &f_out), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_open(fs, "a", NULL, &f_out), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_open(fs, "a", "w", NULL), WHEFS_ERR_ARG);
    CHECK(f_out == (whefs_file *)&f_out);

    OK(whefs_file_open(fs, "a", "w+", &f));
    CHECK_RC(whefs_file_read(NULL, buf, 1, &n), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_read(f, NULL, 1, &n), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_read(f, buf, 1, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_write(NULL, "x", 1, &n), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_write(f, NULL, 1, &n), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_write(f, "x", 1, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_pread(NULL, buf, 1, 0, &n), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_pread(f, NULL, 1, 0, &n), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_pread(f, buf, 1, 0, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_pwrite(NULL, "x", 1, 0, &n), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_pwrite(f, NULL, 1, 0, &n), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_pwrite(f, "x", 1, 0, NULL), WHEFS_ERR_ARG);
    CHECK(n == 12345);
    CHECK_RC(whefs_file_seek(NULL, 0, 0, &pos), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_tell(NULL, &pos), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_tell(f, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_size(NULL, &pos), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_size(f, NULL), WHEFS_ERR_ARG);
    CHECK(pos == 777);
    CHECK_RC(whefs_file_truncate(NULL, 0), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_stat(NULL, &st), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_stat(f, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_flush(NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_sync(NULL), WHEFS_ERR_ARG);
    /* The handle still works after all that. */
    OK(whefs_file_write(f, "x", 1, &n));
    CHECK(n == 1);
    OK(whefs_file_close(f));

    CHECK_RC(whefs_dir_open(NULL, "/", &d_out), WHEFS_ERR_ARG);
    CHECK_RC(whefs_dir_open(fs, NULL, &d_out), WHEFS_ERR_ARG);
    CHECK_RC(whefs_dir_open(fs, "/", NULL), WHEFS_ERR_ARG);
    CHECK(d_out == (whefs_dir *)&d_out);
    CHECK_RC(whefs_dir_next(NULL, &de, &flag), WHEFS_ERR_ARG);
    OK(whefs_dir_open(fs, "/", &d));
    CHECK_RC(whefs_dir_next(d, NULL, &flag), WHEFS_ERR_ARG);
    CHECK_RC(whefs_dir_next(d, &de, NULL), WHEFS_ERR_ARG);
    CHECK(flag == 42);
    OK(whefs_dir_close(d));
    CHECK_RC(whefs_ls(NULL, "*", NULL, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_ls(fs, NULL, NULL, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_ls(fs, "*", NULL, NULL), WHEFS_ERR_ARG);

    /* Every close accepts NULL. */
    OK(whefs_fs_close(NULL));
    OK(whefs_file_close(NULL));
    OK(whefs_dir_close(NULL));
    OK(whefs_fs_close(fs));
}

static void bad_flags_modes_and_whence_are_arg_errors(void)
{
    static const char *bad_modes[] = {"", "q", "rr", "r++", "w+x", "+", "rw", "a+b+", "R"};
    static const char *good_modes[] = {"r", "r+", "rb", "rb+", "r+b", "w", "w+", "a", "a+", "c", "c+", "wb"};
    whefs_fs *fs = memory_fs(), *other = NULL;
    whefs_file *f = NULL;
    uint64_t pos = 0;
    size_t i;

    CHECK_RC(whefs_fs_open(":memory:", 0, &other), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_open(":memory:", WHEFS_OPEN_READONLY | WHEFS_OPEN_READWRITE, &other), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_open(":memory:", WHEFS_OPEN_READONLY | WHEFS_OPEN_CREATE, &other), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_open(":memory:", WHEFS_OPEN_CREATE, &other), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_open(":memory:", RW_CREATE | 0x100, &other), WHEFS_ERR_ARG);
    CHECK(other == NULL);
    CHECK_RC(whefs_fs_set_durability(fs, 3), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_set_durability(fs, -1), WHEFS_ERR_ARG);

    put_text(fs, "m", "mode test");
    for (i = 0; i < sizeof bad_modes / sizeof bad_modes[0]; i++) {
        CHECK_RC(whefs_file_open(fs, "m", bad_modes[i], &f), WHEFS_ERR_ARG);
        CHECK(f == NULL);
    }
    CHECK(errmsg_mentions("mode"));
    for (i = 0; i < sizeof good_modes / sizeof good_modes[0]; i++) {
        OK(whefs_file_open(fs, "m", good_modes[i], &f));
        OK(whefs_file_close(f));
        f = NULL;
    }
    OK(whefs_file_open(fs, "m", "r", &f));
    CHECK_RC(whefs_file_seek(f, 0, 3, &pos), WHEFS_ERR_ARG);
    CHECK_RC(whefs_file_seek(f, 0, -1, &pos), WHEFS_ERR_ARG);
    OK(whefs_file_close(f));

    /* Bad paths. */
    CHECK_RC(whefs_write_file(fs, "a/../b", "x", 1), WHEFS_ERR_ARG);
    CHECK_RC(whefs_write_file(fs, "", "x", 1), WHEFS_ERR_ARG);
    CHECK_RC(whefs_write_file(fs, "\xff\xfe", "x", 1), WHEFS_ERR_ARG);
    OK(whefs_fs_close(fs));
}

/* ---- namespace -------------------------------------------------------- */

static void namespace_calls_work_and_report_their_errors(void)
{
    whefs_fs *fs = memory_fs();
    whefs_stat_t st;
    whefs_info info;
    char long_name[300];
    int exists = -1;
    size_t n = 0;
    char label[8];

    OK(whefs_mkdir(fs, "docs"));
    CHECK_RC(whefs_mkdir(fs, "docs"), WHEFS_ERR_EXISTS);
    CHECK_RC(whefs_mkdir(fs, "no/such/parent"), WHEFS_ERR_NOT_FOUND);
    OK(whefs_mkdir_all(fs, "a/b/c"));
    OK(whefs_mkdir_all(fs, "a/b/c")); /* existing is fine */
    OK(whefs_mkdir_all(fs, "/a/b/d"));
    put_text(fs, "docs/readme.txt", "hello");
    put_text(fs, "/top.txt", "top");

    OK(whefs_exists(fs, "docs/readme.txt", &exists));
    CHECK(exists == 1);
    OK(whefs_exists(fs, "docs/missing.txt", &exists));
    CHECK(exists == 0);
    OK(whefs_exists(fs, "/", &exists));
    CHECK(exists == 1);

    OK(whefs_stat(fs, "docs/readme.txt", &st));
    CHECK(st.kind == WHEFS_KIND_FILE && st.size == 5 && st.ino != 0);
    CHECK(st.mtime_ns > 0 && st.ctime_ns > 0);
    OK(whefs_stat(fs, "a/b", &st));
    CHECK(st.kind == WHEFS_KIND_DIR);
    CHECK_RC(whefs_stat(fs, "docs/missing.txt", &st), WHEFS_ERR_NOT_FOUND);
    CHECK_RC(whefs_stat(fs, "top.txt/x", &st), WHEFS_ERR_NOT_DIR);
    CHECK_RC(whefs_write_file(fs, "top.txt/x", "x", 1), WHEFS_ERR_NOT_DIR);
    CHECK_RC(whefs_read_file(fs, "docs", label, sizeof label, &n), WHEFS_ERR_IS_DIR);
    CHECK_RC(whefs_mkdir_all(fs, "top.txt/sub"), WHEFS_ERR_NOT_DIR);

    memset(long_name, 'n', 256);
    long_name[256] = 0;
    CHECK_RC(whefs_write_file(fs, long_name, "x", 1), WHEFS_ERR_NAME_TOO_LONG);
    long_name[255] = 0;
    OK(whefs_write_file(fs, long_name, "x", 1));

    OK(whefs_rename(fs, "top.txt", "docs/top.txt"));
    CHECK(strcmp(get_text(fs, "docs/top.txt"), "top") == 0);
    CHECK_RC(whefs_stat(fs, "top.txt", &st), WHEFS_ERR_NOT_FOUND);
    put_text(fs, "docs/other.txt", "other");
    OK(whefs_rename(fs, "docs/other.txt", "docs/top.txt")); /* replaces a file */
    CHECK(strcmp(get_text(fs, "docs/top.txt"), "other") == 0);
    CHECK_RC(whefs_rename(fs, "docs/missing", "docs/x"), WHEFS_ERR_NOT_FOUND);
    OK(whefs_rename(fs, "a/b", "a/moved"));
    OK(whefs_stat(fs, "a/moved/c", &st));

    CHECK_RC(whefs_rmdir(fs, "docs"), WHEFS_ERR_NOT_EMPTY);
    CHECK_RC(whefs_rmdir(fs, "docs/top.txt"), WHEFS_ERR_NOT_DIR);
    CHECK_RC(whefs_unlink(fs, "docs"), WHEFS_ERR_IS_DIR);
    CHECK_RC(whefs_unlink(fs, "docs/missing"), WHEFS_ERR_NOT_FOUND);
    OK(whefs_unlink(fs, "docs/top.txt"));
    OK(whefs_unlink(fs, "docs/readme.txt"));
    OK(whefs_rmdir(fs, "docs"));
    CHECK_RC(whefs_rmdir(fs, "docs"), WHEFS_ERR_NOT_FOUND);

    OK(whefs_fs_info(fs, &info));
    CHECK(info.page_size >= 4096 && info.page_size <= 65536);
    CHECK(info.files == 1);        /* the long name */
    CHECK(info.dirs == 5);         /* root, a, a/moved, a/moved/c, a/d */
    CHECK(info.generation > 0);
    CHECK(info.pages_total >= info.pages_used);
    OK(whefs_fs_label_get(fs, label, sizeof label, &n));
    CHECK(n == 0 && label[0] == 0);
    OK(whefs_fs_check(fs));
    OK(whefs_fs_set_busy_timeout(fs, 250));
    OK(whefs_fs_set_durability(fs, WHEFS_DURABLE_OFF));
    OK(whefs_fs_set_durability(fs, WHEFS_DURABLE_NORMAL));
    OK(whefs_fs_set_durability(fs, WHEFS_DURABLE_FULL));
    OK(whefs_fs_close(fs));
}

static void read_file_reports_the_size_needed(void)
{
    whefs_fs *fs = memory_fs();
    char small[4];
    char big[32];
    size_t n = 0;

    put_text(fs, "ten", "0123456789");
    CHECK_RC(whefs_read_file(fs, "ten", small, sizeof small, &n), WHEFS_ERR_RANGE);
    CHECK(n == 10);
    n = 0;
    CHECK_RC(whefs_read_file(fs, "ten", NULL, 0, &n), WHEFS_ERR_RANGE);
    CHECK(n == 10);
    OK(whefs_read_file(fs, "ten", big, 10, &n));
    CHECK(n == 10 && memcmp(big, "0123456789", 10) == 0);
    CHECK_RC(whefs_read_file(fs, "missing", big, sizeof big, &n), WHEFS_ERR_NOT_FOUND);
    OK(whefs_write_file(fs, "empty", NULL, 0));
    n = 99;
    OK(whefs_read_file(fs, "empty", NULL, 0, &n));
    CHECK(n == 0);
    OK(whefs_fs_close(fs));
}

static void binary_data_with_nul_bytes_round_trips(void)
{
    whefs_fs *fs = memory_fs();
    whefs_file *f = NULL;
    unsigned char data[3000], back[3000];
    size_t i, n = 0;

    for (i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7 % 256);
    data[0] = 0;
    data[1] = 0;
    data[sizeof data - 1] = 0;
    OK(whefs_write_file(fs, "bin", data, sizeof data));
    OK(whefs_read_file(fs, "bin", back, sizeof back, &n));
    CHECK(n == sizeof data && memcmp(data, back, n) == 0);

    OK(whefs_file_open(fs, "bin2", "w+", &f));
    OK(whefs_file_write(f, data, sizeof data, &n));
    CHECK(n == sizeof data);
    OK(whefs_file_seek(f, 0, SEEK_SET, NULL));
    memset(back, 0xaa, sizeof back);
    OK(whefs_file_read(f, back, sizeof back, &n));
    CHECK(n == sizeof data && memcmp(data, back, n) == 0);
    OK(whefs_file_close(f));
    OK(whefs_read_file(fs, "bin2", back, sizeof back, &n));
    CHECK(n == sizeof data && memcmp(data, back, n) == 0);
    OK(whefs_fs_close(fs));
}

/* ---- files ------------------------------------------------------------ */

static void file_handles_read_write_seek_and_truncate(void)
{
    whefs_fs *fs = memory_fs();
    whefs_file *f = NULL, *g = NULL;
    whefs_stat_t st;
    char buf[64];
    size_t n = 0;
    uint64_t pos = 0, size = 0;

    OK(whefs_file_open(fs, "f.txt", "w+", &f));
    OK(whefs_file_write(f, "hello world", 11, &n));
    CHECK(n == 11);
    OK(whefs_file_tell(f, &pos));
    CHECK(pos == 11);
    OK(whefs_file_size(f, &size));
    CHECK(size == 11);
    OK(whefs_file_seek(f, 6, SEEK_SET, &pos));
    CHECK(pos == 6);
    OK(whefs_file_read(f, buf, sizeof buf, &n));
    CHECK(n == 5 && memcmp(buf, "world", 5) == 0);
    OK(whefs_file_read(f, buf, sizeof buf, &n));
    CHECK(n == 0); /* end of file */
    OK(whefs_file_seek(f, -5, SEEK_CUR, &pos));
    CHECK(pos == 6);
    OK(whefs_file_seek(f, -11, SEEK_END, &pos));
    CHECK(pos == 0);
    CHECK_RC(whefs_file_seek(f, -12, SEEK_END, &pos), WHEFS_ERR_RANGE);
    CHECK_RC(whefs_file_seek(f, -1, SEEK_SET, &pos), WHEFS_ERR_RANGE);
    CHECK(pos == 0);
    OK(whefs_file_seek(f, 20, SEEK_SET, &pos)); /* past the end is allowed */
    CHECK(pos == 20);
    OK(whefs_file_tell(f, &pos));
    CHECK(pos == 20);

    OK(whefs_file_pwrite(f, "HELLO", 5, 0, &n));
    CHECK(n == 5);
    OK(whefs_file_pread(f, buf, 11, 0, &n));
    CHECK(n == 11 && memcmp(buf, "HELLO world", 11) == 0);
    OK(whefs_file_pread(f, buf, 10, 100, &n));
    CHECK(n == 0);
    OK(whefs_file_tell(f, &pos));
    CHECK(pos == 20); /* positional calls do not move the position */

    OK(whefs_file_truncate(f, 5));
    OK(whefs_file_size(f, &size));
    CHECK(size == 5);
    OK(whefs_file_truncate(f, 8)); /* extends with zeros */
    OK(whefs_file_pread(f, buf, sizeof buf, 0, &n));
    CHECK(n == 8 && memcmp(buf, "HELLO\0\0\0", 8) == 0);
    OK(whefs_file_stat(f, &st));
    CHECK(st.kind == WHEFS_KIND_FILE && st.size == 8);

    /* Writes are invisible to others until flushed. */
    OK(whefs_file_flush(f));
    OK(whefs_read_file(fs, "f.txt", buf, sizeof buf, &n));
    CHECK(n == 8 && memcmp(buf, "HELLO\0\0\0", 8) == 0);
    OK(whefs_file_pwrite(f, "!", 1, 7, &n));
    OK(whefs_file_sync(f));
    OK(whefs_read_file(fs, "f.txt", buf, sizeof buf, &n));
    CHECK(n == 8 && buf[7] == '!');
    OK(whefs_file_close(f));

    /* Modes. */
    CHECK_RC(whefs_file_open(fs, "missing", "r", &f), WHEFS_ERR_NOT_FOUND);
    CHECK_RC(whefs_file_open(fs, "missing", "r+", &f), WHEFS_ERR_NOT_FOUND);
    CHECK_RC(whefs_file_open(fs, "f.txt", "x", &f), WHEFS_ERR_EXISTS);
    OK(whefs_file_open(fs, "new.txt", "x+", &f));
    OK(whefs_file_close(f));

    OK(whefs_file_open(fs, "f.txt", "r", &f));
    CHECK_RC(whefs_file_write(f, "x", 1, &n), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_file_pwrite(f, "x", 1, 0, &n), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_file_truncate(f, 0), WHEFS_ERR_ACCESS);
    OK(whefs_file_close(f));

    OK(whefs_file_open(fs, "f.txt", "c", &f)); /* create, no truncate */
    OK(whefs_file_size(f, &size));
    CHECK(size == 8);
    OK(whefs_file_close(f));

    OK(whefs_file_open(fs, "f.txt", "a+", &f)); /* writes go to the end */
    OK(whefs_file_write(f, "tail", 4, &n));
    OK(whefs_file_seek(f, 0, SEEK_SET, NULL));
    OK(whefs_file_write(f, "more", 4, &n));
    OK(whefs_file_close(f));
    OK(whefs_read_file(fs, "f.txt", buf, sizeof buf, &n));
    CHECK(n == 16 && memcmp(buf + 8, "tailmore", 8) == 0);

    OK(whefs_file_open(fs, "f.txt", "w", &f)); /* truncates */
    OK(whefs_file_size(f, &size));
    CHECK(size == 0);
    CHECK_RC(whefs_file_read(f, buf, 1, &n), WHEFS_ERR_ACCESS); /* "w" cannot read */
    OK(whefs_file_close(f));

    /* Opening a directory as a file. */
    OK(whefs_mkdir(fs, "dir"));
    CHECK_RC(whefs_file_open(fs, "dir", "r", &g), WHEFS_ERR_IS_DIR);
    CHECK(g == NULL);
    OK(whefs_fs_close(fs));
}

static void reader_keeps_its_snapshot_while_a_writer_commits(void)
{
    whefs_fs *fs = memory_fs();
    whefs_file *r = NULL, *w = NULL;
    char buf[16];
    size_t n = 0;

    put_text(fs, "snap", "old!");
    OK(whefs_file_open(fs, "snap", "r", &r));
    OK(whefs_file_open(fs, "snap", "r+", &w));
    OK(whefs_file_pwrite(w, "new!", 4, 0, &n));
    OK(whefs_file_close(w));
    OK(whefs_file_pread(r, buf, sizeof buf, 0, &n));
    CHECK(n == 4 && memcmp(buf, "old!", 4) == 0);
    OK(whefs_file_close(r));
    CHECK(strcmp(get_text(fs, "snap"), "new!") == 0);
    OK(whefs_fs_close(fs));
}

/* ---- listings --------------------------------------------------------- */

static void directory_listing_is_ordered_and_keeps_its_snapshot(void)
{
    whefs_fs *fs = memory_fs();
    whefs_dir *d = NULL;
    whefs_dirent de;
    int has = -1;
    char names[8][32];
    int count = 0;

    OK(whefs_mkdir(fs, "d"));
    put_text(fs, "d/b.txt", "bb");
    put_text(fs, "d/a.txt", "a");
    OK(whefs_mkdir(fs, "d/c"));
    OK(whefs_dir_open(fs, "d", &d));
    put_text(fs, "d/0-added-later", "x"); /* after the listing was opened */
    for (;;) {
        OK(whefs_dir_next(d, &de, &has));
        if (!has) break;
        CHECK(count < 8);
        snprintf(names[count], sizeof names[count], "%s", de.name);
        if (strcmp(de.name, "b.txt") == 0) CHECK(de.kind == WHEFS_KIND_FILE && de.size == 2);
        if (strcmp(de.name, "c") == 0) CHECK(de.kind == WHEFS_KIND_DIR);
        CHECK(de.ino != 0);
        count++;
    }
    CHECK(count == 3);
    CHECK(strcmp(names[0], "a.txt") == 0 && strcmp(names[1], "b.txt") == 0 && strcmp(names[2], "c") == 0);
    OK(whefs_dir_next(d, &de, &has)); /* stays at the end */
    CHECK(has == 0);
    OK(whefs_dir_close(d));

    OK(whefs_dir_open(fs, "/", &d));
    OK(whefs_dir_next(d, &de, &has));
    CHECK(has == 1 && strcmp(de.name, "d") == 0);
    OK(whefs_dir_close(d));

    d = NULL;
    CHECK_RC(whefs_dir_open(fs, "missing", &d), WHEFS_ERR_NOT_FOUND);
    CHECK_RC(whefs_dir_open(fs, "d/a.txt", &d), WHEFS_ERR_NOT_DIR);
    CHECK(d == NULL);
    OK(whefs_fs_close(fs));
}

struct ls_result {
    int count;
    int stop_after;
    char paths[32][64];
};

static int collect(const char *path, const whefs_dirent *entry, void *userdata)
{
    struct ls_result *r = (struct ls_result *)userdata;
    size_t plen = strlen(path), nlen = strlen(entry->name);
    CHECK(r->count < 32);
    /* entry->name is the last component of path */
    CHECK(plen >= nlen && strcmp(path + plen - nlen, entry->name) == 0);
    CHECK(entry->kind == WHEFS_KIND_FILE || entry->kind == WHEFS_KIND_DIR);
    snprintf(r->paths[r->count], sizeof r->paths[r->count], "%s%s", path,
             entry->kind == WHEFS_KIND_DIR ? "/" : "");
    r->count++;
    return r->stop_after != 0 && r->count >= r->stop_after;
}

/* Runs whefs_ls and compares with the expected paths joined by spaces. */
static void expect_ls(whefs_fs *fs, const char *pattern, const char *expected)
{
    struct ls_result r;
    char got[2048] = "";
    int i;
    memset(&r, 0, sizeof r);
    OK(whefs_ls(fs, pattern, collect, &r));
    for (i = 0; i < r.count; i++) {
        if (i) strcat(got, " ");
        strcat(got, r.paths[i]);
    }
    if (strcmp(got, expected) != 0) FAIL("whefs_ls(\"%s\") gave \"%s\", want \"%s\"", pattern, got, expected);
}

static void glob_listing_matches_shell_patterns(void)
{
    whefs_fs *fs = memory_fs();
    struct ls_result r;

    OK(whefs_mkdir_all(fs, "docs/old"));
    OK(whefs_mkdir_all(fs, "src/net/tcp"));
    put_text(fs, "a.txt", "a");
    put_text(fs, "b.txt", "b");
    put_text(fs, "b.md", "b");
    put_text(fs, "docs/intro.md", "i");
    put_text(fs, "docs/old/v1.md", "v1");
    put_text(fs, "src/main.c", "m");
    put_text(fs, "src/net/io.c", "n");
    put_text(fs, "src/net/tcp/conn.c", "c");
    put_text(fs, "src/net/tcp/conn.h", "h");
    put_text(fs, "star*", "s");

    expect_ls(fs, "*.txt", "a.txt b.txt");
    expect_ls(fs, "/b.*", "b.md b.txt");
    expect_ls(fs, "?.txt", "a.txt b.txt");
    expect_ls(fs, "[a].*", "a.txt");
    expect_ls(fs, "[!a]*.txt", "b.txt");
    expect_ls(fs, "docs/*", "docs/intro.md docs/old/");
    expect_ls(fs, "*/*.md", "docs/intro.md");
    expect_ls(fs, "docs/*/*.md", "docs/old/v1.md");
    expect_ls(fs, "src/**/*.c", "src/main.c src/net/io.c src/net/tcp/conn.c");
    expect_ls(fs, "**/conn.?", "src/net/tcp/conn.c src/net/tcp/conn.h");
    expect_ls(fs, "src/net/**", "src/net/io.c src/net/tcp/ src/net/tcp/conn.c src/net/tcp/conn.h");
    expect_ls(fs, "docs", "docs/");
    expect_ls(fs, "src/main.c", "src/main.c");
    expect_ls(fs, "star\\*", "star*");
    expect_ls(fs, "missing/*", "");
    expect_ls(fs, "a.txt/*", "");
    expect_ls(fs, "*.none", "");

    /* A nonzero callback result stops the walk; still WHEFS_OK. */
    memset(&r, 0, sizeof r);
    r.stop_after = 2;
    OK(whefs_ls(fs, "**", collect, &r));
    CHECK(r.count == 2);

    memset(&r, 0, sizeof r);
    CHECK_RC(whefs_ls(fs, "", collect, &r), WHEFS_ERR_ARG);
    CHECK_RC(whefs_ls(fs, "/", collect, &r), WHEFS_ERR_ARG);
    CHECK(r.count == 0);
    OK(whefs_fs_close(fs));
}

/* ---- label, copy, remove_all ----------------------------------------- */

static const char *label_of(whefs_fs *fs)
{
    static char buf[80];
    size_t n = 0;
    OK(whefs_fs_label_get(fs, buf, sizeof buf, &n));
    CHECK(n == strlen(buf));
    return buf;
}

static void label_set_round_trips_and_refuses_long_labels(void)
{
    whefs_fs *fs = memory_fs();
    whefs_info before, after;
    char label[80];

    CHECK(strcmp(label_of(fs), "") == 0);
    OK(whefs_fs_info(fs, &before));
    OK(whefs_fs_label_set(fs, "first label"));
    CHECK(strcmp(label_of(fs), "first label") == 0);
    OK(whefs_fs_info(fs, &after));
    CHECK(after.generation == before.generation + 1); /* one commit */

    /* 64 bytes is the limit, counted in bytes of UTF-8. */
    memset(label, 'L', 64);
    label[64] = 0;
    OK(whefs_fs_label_set(fs, label));
    CHECK(strcmp(label_of(fs), label) == 0);
    label[64] = 'L';
    label[65] = 0;
    CHECK_RC(whefs_fs_label_set(fs, label), WHEFS_ERR_ARG);
    CHECK(errmsg_mentions("label"));
    label[64] = 0;
    CHECK(strcmp(label_of(fs), label) == 0); /* unchanged */
    OK(whefs_fs_label_set(fs, "\xc3\xa9t\xc3\xa9")); /* "ete" with accents: 6 bytes */
    CHECK(strcmp(label_of(fs), "\xc3\xa9t\xc3\xa9") == 0);
    CHECK_RC(whefs_fs_label_set(fs, "\xc3\x28"), WHEFS_ERR_ARG); /* not UTF-8 */

    OK(whefs_fs_label_set(fs, "")); /* removes it */
    CHECK(strcmp(label_of(fs), "") == 0);
    OK(whefs_fs_check(fs));
    OK(whefs_fs_close(fs));
}

static void copy_streams_a_big_binary_file_and_counts_its_bytes(void)
{
    whefs_fs *fs = memory_fs();
    whefs_file *old_reader = NULL;
    whefs_stat_t st;
    whefs_info before, after;
    unsigned char *data, *back;
    size_t size = 3 * 1024 * 1024 + 77, i, n = 0;
    uint64_t copied = 12345;
    char buf[16];
    int exists = -1;

    /* Binary data with NUL bytes, and a run of zero pages (a hole). */
    data = (unsigned char *)malloc(size);
    back = (unsigned char *)malloc(size);
    CHECK(data != NULL && back != NULL);
    for (i = 0; i < size; i++) data[i] = (unsigned char)(i * 13 % 251);
    memset(data + 1024 * 1024, 0, 256 * 1024);
    data[0] = 0;
    data[size - 1] = 0;
    OK(whefs_write_file(fs, "src.bin", data, size));
    OK(whefs_mkdir(fs, "dst"));
    put_text(fs, "dst/copy.bin", "old");
    OK(whefs_file_open(fs, "dst/copy.bin", "r", &old_reader));

    OK(whefs_fs_info(fs, &before));
    OK(whefs_copy(fs, "src.bin", "dst/copy.bin", &copied)); /* replaces the file */
    CHECK(copied == size);
    OK(whefs_fs_info(fs, &after));
    CHECK(after.generation == before.generation + 1); /* one commit */
    OK(whefs_read_file(fs, "dst/copy.bin", back, size, &n));
    CHECK(n == size && memcmp(data, back, size) == 0);
    OK(whefs_read_file(fs, "src.bin", back, size, &n)); /* the source is untouched */
    CHECK(n == size && memcmp(data, back, size) == 0);
    /* A reader opened before keeps the old file. */
    OK(whefs_file_pread(old_reader, buf, sizeof buf, 0, &n));
    CHECK(n == 3 && memcmp(buf, "old", 3) == 0);
    OK(whefs_file_close(old_reader));

    /* `copied` may be NULL; an empty file copies as 0 bytes. */
    OK(whefs_copy(fs, "src.bin", "again.bin", NULL));
    OK(whefs_stat(fs, "again.bin", &st));
    CHECK(st.size == size);
    OK(whefs_write_file(fs, "empty", NULL, 0));
    OK(whefs_copy(fs, "empty", "empty2", &copied));
    CHECK(copied == 0);

    copied = 999;
    CHECK_RC(whefs_copy(fs, "missing", "x", &copied), WHEFS_ERR_NOT_FOUND);
    CHECK_RC(whefs_copy(fs, "src.bin", "no/parent", &copied), WHEFS_ERR_NOT_FOUND);
    CHECK_RC(whefs_copy(fs, "src.bin", "dst", &copied), WHEFS_ERR_IS_DIR);
    CHECK_RC(whefs_copy(fs, "dst", "x", &copied), WHEFS_ERR_IS_DIR);
    CHECK_RC(whefs_copy(fs, "src.bin", "empty/x", &copied), WHEFS_ERR_NOT_DIR);
    CHECK_RC(whefs_copy(fs, "src.bin", "a/../b", &copied), WHEFS_ERR_ARG);
    CHECK_RC(whefs_copy(NULL, "src.bin", "x", &copied), WHEFS_ERR_ARG);
    CHECK_RC(whefs_copy(fs, NULL, "x", &copied), WHEFS_ERR_ARG);
    CHECK_RC(whefs_copy(fs, "src.bin", NULL, &copied), WHEFS_ERR_ARG);
    CHECK(copied == 999); /* not written on failure */
    OK(whefs_exists(fs, "x", &exists));
    CHECK(exists == 0);
    OK(whefs_fs_check(fs));
    OK(whefs_fs_close(fs));
    free(data);
    free(back);
}

static void remove_all_deletes_a_tree_in_one_commit(void)
{
    whefs_fs *fs = memory_fs();
    whefs_file *reader = NULL;
    whefs_info before, after;
    whefs_stat_t st;
    unsigned char big[20000];
    char buf[8];
    size_t n = 0;
    int exists = -1;

    memset(big, 0, sizeof big);
    big[sizeof big - 1] = 1;
    OK(whefs_mkdir_all(fs, "tree/a/b/c"));
    OK(whefs_mkdir_all(fs, "tree/empty"));
    put_text(fs, "tree/top.txt", "top");
    put_text(fs, "tree/a/one.txt", "one");
    OK(whefs_write_file(fs, "tree/a/b/big.bin", big, sizeof big));
    put_text(fs, "tree/a/b/c/deep.txt", "deep");
    put_text(fs, "sibling.txt", "stays");
    OK(whefs_file_open(fs, "tree/a/b/c/deep.txt", "r", &reader));

    OK(whefs_fs_info(fs, &before));
    CHECK(before.files == 5 && before.dirs == 6);
    OK(whefs_remove_all(fs, "/tree"));
    OK(whefs_fs_info(fs, &after));
    CHECK(after.generation == before.generation + 1); /* one commit */
    CHECK(after.files == 1 && after.dirs == 1);
    OK(whefs_exists(fs, "tree", &exists));
    CHECK(exists == 0);
    CHECK_RC(whefs_stat(fs, "tree/a/one.txt", &st), WHEFS_ERR_NOT_FOUND);
    CHECK(strcmp(get_text(fs, "sibling.txt"), "stays") == 0);
    /* A reader inside keeps its snapshot. */
    OK(whefs_file_pread(reader, buf, sizeof buf, 0, &n));
    CHECK(n == 4 && memcmp(buf, "deep", 4) == 0);
    OK(whefs_file_close(reader));

    CHECK_RC(whefs_remove_all(fs, "tree"), WHEFS_ERR_NOT_FOUND);
    CHECK_RC(whefs_remove_all(fs, "sibling.txt"), WHEFS_ERR_NOT_DIR);
    CHECK_RC(whefs_remove_all(fs, "/"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_remove_all(fs, "a/../b"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_remove_all(NULL, "tree"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_remove_all(fs, NULL), WHEFS_ERR_ARG);
    OK(whefs_mkdir(fs, "lonely"));
    OK(whefs_remove_all(fs, "lonely")); /* an empty directory too */
    OK(whefs_fs_check(fs));
    OK(whefs_fs_close(fs));
}

/* ---- containers on disk ----------------------------------------------- */

static void file_container_persists_label_page_size_and_read_only_opens(void)
{
    char path[512];
    whefs_fs *fs = NULL, *ro = NULL;
    whefs_file *f = NULL;
    whefs_info info;
    char label[64], tiny[4];
    size_t n = 0;

    scratch_path(path, sizeof path, "persist.whefs");
    remove(path);
    CHECK_RC(whefs_fs_open(path, WHEFS_OPEN_READWRITE, &fs), WHEFS_ERR_NOT_FOUND);
    CHECK_RC(whefs_fs_open(path, WHEFS_OPEN_READONLY, &fs), WHEFS_ERR_NOT_FOUND);
    CHECK(fs == NULL);
    OK(whefs_fs_open_ex(path, RW_CREATE, WHEFS_DEFAULT_BUSY_TIMEOUT_MS, 8192, "first", &fs));
    OK(whefs_mkdir(fs, "keep"));
    put_text(fs, "keep/me.txt", "persisted");
    OK(whefs_fs_label_set(fs, "my-label")); /* a changed label persists */
    OK(whefs_fs_close(fs));

    OK(whefs_fs_open(path, WHEFS_OPEN_READONLY, &ro));
    CHECK(strcmp(get_text(ro, "keep/me.txt"), "persisted") == 0);
    OK(whefs_fs_info(ro, &info));
    CHECK(info.page_size == 8192);
    CHECK(info.files == 1 && info.dirs == 2);
    OK(whefs_fs_label_get(ro, label, sizeof label, &n));
    CHECK(n == 8 && strcmp(label, "my-label") == 0);
    n = 0;
    CHECK_RC(whefs_fs_label_get(ro, tiny, sizeof tiny, &n), WHEFS_ERR_RANGE);
    CHECK(n == 8);
    CHECK_RC(whefs_fs_label_get(ro, NULL, 0, &n), WHEFS_ERR_RANGE);
    CHECK_RC(whefs_fs_label_set(ro, "other"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_copy(ro, "keep/me.txt", "keep/copy.txt", NULL), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_remove_all(ro, "keep"), WHEFS_ERR_ACCESS);

    /* Every write through a read-only open is WHEFS_ERR_ACCESS. */
    CHECK_RC(whefs_write_file(ro, "keep/me.txt", "x", 1), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_write_file(ro, "new.txt", "x", 1), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_file_open(ro, "keep/me.txt", "w", &f), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_file_open(ro, "keep/me.txt", "r+", &f), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_file_open(ro, "keep/me.txt", "a", &f), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_file_open(ro, "new.txt", "c", &f), WHEFS_ERR_ACCESS);
    CHECK(f == NULL);
    CHECK_RC(whefs_mkdir(ro, "d"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_mkdir_all(ro, "d/e"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_unlink(ro, "keep/me.txt"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_rename(ro, "keep/me.txt", "x"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_rmdir(ro, "keep"), WHEFS_ERR_ACCESS);
    OK(whefs_file_open(ro, "keep/me.txt", "r", &f)); /* reading is fine */
    OK(whefs_file_close(f));
    OK(whefs_fs_check(ro));
    OK(whefs_fs_close(ro));
}

static unsigned char *slurp(const char *path, size_t *len)
{
    FILE *fp = fopen(path, "rb");
    unsigned char *data;
    long size;
    CHECK(fp != NULL);
    CHECK(fseek(fp, 0, SEEK_END) == 0);
    size = ftell(fp);
    CHECK(size > 0);
    CHECK(fseek(fp, 0, SEEK_SET) == 0);
    data = (unsigned char *)malloc((size_t)size);
    CHECK(data != NULL);
    CHECK(fread(data, 1, (size_t)size, fp) == (size_t)size);
    fclose(fp);
    *len = (size_t)size;
    return data;
}

static void spill(const char *path, const void *data, size_t len)
{
    FILE *fp = fopen(path, "wb");
    CHECK(fp != NULL);
    CHECK(fwrite(data, 1, len, fp) == len);
    CHECK(fclose(fp) == 0);
}

static void image_in_memory_opens_read_only(void)
{
    char path[512];
    whefs_fs *fs = NULL, *img = NULL;
    unsigned char *bytes, garbage[8192];
    size_t len = 0;

    scratch_path(path, sizeof path, "image.whefs");
    remove(path);
    OK(whefs_fs_open(path, RW_CREATE, &fs));
    put_text(fs, "inside.txt", "from an image");
    OK(whefs_fs_close(fs));

    bytes = slurp(path, &len);
    OK(whefs_fs_open_image(bytes, len, &img));
    CHECK(strcmp(get_text(img, "inside.txt"), "from an image") == 0);
    CHECK_RC(whefs_write_file(img, "x", "x", 1), WHEFS_ERR_ACCESS);
    OK(whefs_fs_check(img));
    OK(whefs_fs_close(img));
    free(bytes);

    memset(garbage, 'g', sizeof garbage);
    img = NULL;
    CHECK_RC(whefs_fs_open_image(garbage, sizeof garbage, &img), WHEFS_ERR_BAD_MAGIC);
    CHECK_RC(whefs_fs_open_image(garbage, 0, &img), WHEFS_ERR_BAD_MAGIC);
    CHECK(img == NULL);
}

static void a_file_that_is_not_a_container_is_bad_magic(void)
{
    char path[512];
    whefs_fs *fs = NULL;
    char text[10000];
    memset(text, '#', sizeof text);
    scratch_path(path, sizeof path, "not-a-container.txt");
    spill(path, text, sizeof text);
    CHECK_RC(whefs_fs_open(path, WHEFS_OPEN_READONLY, &fs), WHEFS_ERR_BAD_MAGIC);
    CHECK_RC(whefs_fs_open(path, WHEFS_OPEN_READWRITE, &fs), WHEFS_ERR_BAD_MAGIC);
    CHECK(fs == NULL);
}

static void open_errors_name_the_problem(void)
{
    char path[512];
    whefs_fs *fs = NULL;
    char label[80];
    memset(label, 'L', 65);
    label[65] = 0;
    CHECK_RC(whefs_fs_open("/nonexistent-whefs-dir/c.whefs", RW_CREATE, &fs), WHEFS_ERR_NOT_FOUND);
    CHECK_RC(whefs_fs_open(scratch_dir, WHEFS_OPEN_READWRITE, &fs), WHEFS_ERR_IS_DIR);
    scratch_path(path, sizeof path, "options.whefs");
    remove(path);
    CHECK_RC(whefs_fs_open_ex(path, RW_CREATE, 100, 1000, NULL, &fs), WHEFS_ERR_ARG);
    CHECK(errmsg_mentions("page size"));
    CHECK_RC(whefs_fs_open_ex(path, RW_CREATE, 100, 0, label, &fs), WHEFS_ERR_ARG);
    CHECK(errmsg_mentions("label"));
    CHECK_RC(whefs_fs_open_ex(path, RW_CREATE, 100, 0, "\xc3\x28", &fs), WHEFS_ERR_ARG); /* not UTF-8 */
    CHECK(fs == NULL);
}

static void second_writer_gets_busy_after_the_timeout(void)
{
    char path[512];
    whefs_fs *fs = NULL, *other = NULL;
    whefs_file *w1 = NULL, *w2 = NULL, *r = NULL;
    size_t n = 0;

    /* One pseudofile has at most one writer. */
    scratch_path(path, sizeof path, "busy.whefs");
    remove(path);
    OK(whefs_fs_open(path, RW_CREATE, &fs));
    OK(whefs_fs_set_busy_timeout(fs, 100));
    OK(whefs_file_open(fs, "one", "w", &w1));
    CHECK_RC(whefs_file_open(fs, "one", "r+", &w2), WHEFS_ERR_BUSY);
    CHECK(w2 == NULL);
    OK(whefs_file_open(fs, "one", "r", &r)); /* readers never wait */
    OK(whefs_file_close(r));
    OK(whefs_file_write(w1, "first", 5, &n));
    OK(whefs_file_close(w1));
    OK(whefs_file_open(fs, "one", "r+", &w2)); /* free again */
    OK(whefs_file_close(w2));
    OK(whefs_fs_close(fs));

    /* The container lock excludes every other open, readers included. */
    OK(whefs_fs_open(path, WHEFS_OPEN_READWRITE | WHEFS_OPEN_CONTAINER_LOCK, &fs));
    CHECK_RC(whefs_fs_open_ex(path, WHEFS_OPEN_READWRITE, 100, 0, NULL, &other), WHEFS_ERR_BUSY);
    CHECK_RC(whefs_fs_open_ex(path, WHEFS_OPEN_READONLY, 100, 0, NULL, &other), WHEFS_ERR_BUSY);
    CHECK(other == NULL);
    OK(whefs_fs_close(fs));
    OK(whefs_fs_open_ex(path, WHEFS_OPEN_READONLY, 100, 0, NULL, &other));
    CHECK(strcmp(get_text(other, "one"), "first") == 0);
    OK(whefs_fs_close(other));
}

static void damaged_data_page_is_reported_as_corrupt(void)
{
    static const char marker[] = "WHEFS-DAMAGE-ME-";
    char path[512];
    whefs_fs *fs = NULL;
    unsigned char *bytes, *data, *back;
    size_t len = 0, i, n = 0, flipped = 0, size = 256 * 1024, mlen = sizeof marker - 1;

    data = (unsigned char *)malloc(size);
    back = (unsigned char *)malloc(size);
    CHECK(data != NULL && back != NULL);
    for (i = 0; i + mlen <= size; i += mlen) memcpy(data + i, marker, mlen);

    scratch_path(path, sizeof path, "corrupt.whefs");
    remove(path);
    OK(whefs_fs_open(path, RW_CREATE, &fs));
    OK(whefs_write_file(fs, "big.bin", data, size));
    put_text(fs, "small.txt", "untouched");
    OK(whefs_fs_close(fs));

    /* Flip one byte in every copy of the marker: every data page is hit. */
    bytes = slurp(path, &len);
    for (i = 0; i + mlen <= len; i++) {
        if (memcmp(bytes + i, marker, mlen) == 0) {
            bytes[i + 3] ^= 0x20;
            flipped++;
        }
    }
    CHECK(flipped > 0);
    spill(path, bytes, len);
    free(bytes);

    OK(whefs_fs_open(path, WHEFS_OPEN_READONLY, &fs));
    CHECK_RC(whefs_read_file(fs, "big.bin", back, size, &n), WHEFS_ERR_CORRUPT);
    CHECK(n == 0); /* not written on failure */
    CHECK(whefs_errmsg()[0] != 0);
    CHECK_RC(whefs_fs_check(fs), WHEFS_ERR_CORRUPT);
    OK(whefs_fs_close(fs));
    free(data);
    free(back);
}

static void sparse_writes_past_4_gib_read_back_with_zero_holes(void)
{
    char path[512];
    whefs_fs *fs = NULL;
    whefs_file *f = NULL;
    unsigned char buf[8192];
    uint64_t size = 0, pos = 0, far = 5 * GIB;
    size_t n = 0, i;
    struct stat host;

    scratch_path(path, sizeof path, "sparse.whefs");
    remove(path);
    OK(whefs_fs_open(path, RW_CREATE, &fs));
    OK(whefs_file_open(fs, "huge", "w+", &f));
    OK(whefs_file_pwrite(f, "tail", 4, far, &n));
    CHECK(n == 4);
    OK(whefs_file_size(f, &size));
    CHECK(size == far + 4);
    memset(buf, 0xee, sizeof buf);
    OK(whefs_file_pread(f, buf, sizeof buf, 4 * GIB + 12345, &n));
    CHECK(n == sizeof buf);
    for (i = 0; i < n; i++) CHECK(buf[i] == 0);
    OK(whefs_file_seek(f, (int64_t)far, SEEK_SET, &pos));
    CHECK(pos == far);
    OK(whefs_file_read(f, buf, sizeof buf, &n));
    CHECK(n == 4 && memcmp(buf, "tail", 4) == 0);
    OK(whefs_file_close(f));
    OK(whefs_fs_close(fs));

    OK(whefs_fs_open(path, WHEFS_OPEN_READONLY, &fs));
    OK(whefs_file_open(fs, "huge", "r", &f));
    OK(whefs_file_size(f, &size));
    CHECK(size == far + 4);
    OK(whefs_file_pread(f, buf, 4, far, &n));
    CHECK(n == 4 && memcmp(buf, "tail", 4) == 0);
    OK(whefs_file_pread(f, buf, 16, far - 8, &n));
    CHECK(n == 12 && memcmp(buf, "\0\0\0\0\0\0\0\0tail", 12) == 0);
    OK(whefs_file_close(f));
    OK(whefs_fs_check(fs));
    OK(whefs_fs_close(fs));

    /* The hole takes no space in the container. */
    CHECK(stat(path, &host) == 0);
    CHECK(host.st_size < 16 * 1024 * 1024);
}

int main(int argc, char **argv)
{
    if (argc > 1) scratch_dir = argv[1];
    RUN(version_matches_header_macros);
    RUN(rc_names_cover_every_code);
    RUN(panic_inside_library_becomes_internal_error);
    RUN(null_arguments_are_arg_errors_and_leave_outputs_alone);
    RUN(bad_flags_modes_and_whence_are_arg_errors);
    RUN(namespace_calls_work_and_report_their_errors);
    RUN(read_file_reports_the_size_needed);
    RUN(binary_data_with_nul_bytes_round_trips);
    RUN(file_handles_read_write_seek_and_truncate);
    RUN(reader_keeps_its_snapshot_while_a_writer_commits);
    RUN(directory_listing_is_ordered_and_keeps_its_snapshot);
    RUN(glob_listing_matches_shell_patterns);
    RUN(label_set_round_trips_and_refuses_long_labels);
    RUN(copy_streams_a_big_binary_file_and_counts_its_bytes);
    RUN(remove_all_deletes_a_tree_in_one_commit);
    RUN(file_container_persists_label_page_size_and_read_only_opens);
    RUN(image_in_memory_opens_read_only);
    RUN(a_file_that_is_not_a_container_is_bad_magic);
    RUN(open_errors_name_the_problem);
    RUN(second_writer_gets_busy_after_the_timeout);
    RUN(damaged_data_page_is_reported_as_corrupt);
    RUN(sparse_writes_past_4_gib_read_back_with_zero_holes);
    printf("all C API tests passed\n");
    return 0;
}
