/* Named snapshots through the C API: whefs_snapshot_create/_delete, the
 * whefs_snapshot_list listing, read-only views (whefs_fs_open_snapshot,
 * which refuse writes with WHEFS_ERR_ACCESS), whefs_fs_restore, whefs_diff
 * and whefs_fs_info_v2 — isolation seen across a reopen and from another
 * process, and every argument error.
 *
 * usage: test_snapshots SCRATCH_DIR */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

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

/* The snapshots' names, space-separated, in listing order. */
static const char *snapshot_names(whefs_fs *fs)
{
    static char names[1024];
    whefs_snapshot_list *l = NULL;
    whefs_snapshot_info si;
    int has = 0;
    names[0] = 0;
    OK(whefs_snapshot_list_open(fs, &l));
    for (;;) {
        OK(whefs_snapshot_list_next(l, &si, &has));
        if (!has) break;
        if (names[0]) strcat(names, " ");
        CHECK(strlen(names) + strlen(si.name) < sizeof names - 1);
        strcat(names, si.name);
    }
    OK(whefs_snapshot_list_close(l));
    return names;
}

/* The entries of a directory, space-separated. */
static const char *listing(whefs_fs *fs, const char *path)
{
    static char names[1024];
    whefs_dir *d = NULL;
    whefs_dirent de;
    int has = 0;
    names[0] = 0;
    OK(whefs_dir_open(fs, path, &d));
    for (;;) {
        OK(whefs_dir_next(d, &de, &has));
        if (!has) break;
        if (names[0]) strcat(names, " ");
        CHECK(strlen(names) + strlen(de.name) < sizeof names - 1);
        strcat(names, de.name);
    }
    OK(whefs_dir_close(d));
    return names;
}

/* What the snapshot "before" of the isolation tests holds. */
static void check_before_state(whefs_fs *view)
{
    CHECK(strcmp(get_text(view, "a.txt"), "alpha") == 0);
    CHECK(strcmp(get_text(view, "b.txt"), "bravo") == 0);
    CHECK(strcmp(get_text(view, "d/c.txt"), "charlie") == 0);
    CHECK(!exists(view, "e.txt") && !exists(view, "new.txt"));
    CHECK(strcmp(listing(view, "/"), "a.txt b.txt d") == 0);
}

/* whefs_diff's callback: "+/path -/path ~/path" into a buffer. */
struct changes {
    int count;
    char text[2048];
};

static int collect_change(uint32_t kind, const char *path, void *userdata)
{
    struct changes *c = (struct changes *)userdata;
    const char *sign = kind == WHEFS_CHANGE_ADDED     ? "+"
                       : kind == WHEFS_CHANGE_REMOVED ? "-"
                       : kind == WHEFS_CHANGE_CHANGED ? "~"
                                                      : "?";
    CHECK(strlen(c->text) + strlen(path) + 3 < sizeof c->text);
    if (c->count++) strcat(c->text, " ");
    strcat(c->text, sign);
    strcat(c->text, path);
    return 0;
}

static int stop_after_first(uint32_t kind, const char *path, void *userdata)
{
    (void)kind;
    (void)path;
    ++*(int *)userdata;
    return 1;
}

/* This program's path (argv[0]), to start it again as another process. */
static const char *self_path = "test_snapshots";

/* ---- isolation ---------------------------------------------------------- */

static void snapshot_keeps_its_state_while_files_change(void)
{
    char path[512];
    whefs_fs *fs, *view = NULL, *again = NULL;
    whefs_snapshot_info si;
    whefs_info info;
    whefs_file *f = NULL;
    char buf[16];
    size_t n = 0;
    pid_t child;
    int status = 0;

    fs = new_container("isolation.whefs", path, sizeof path);
    put_text(fs, "a.txt", "alpha");
    put_text(fs, "b.txt", "bravo");
    OK(whefs_mkdir(fs, "d"));
    put_text(fs, "d/c.txt", "charlie");
    OK(whefs_fs_info(fs, &info));

    memset(&si, 0xAB, sizeof si);
    OK(whefs_snapshot_create(fs, "before", &si));
    CHECK(si.name != NULL && strcmp(si.name, "before") == 0);
    CHECK(si.generation == info.generation); /* the state it was taken of */
    CHECK(si.files == 3 && si.dirs == 2 && si.exclusive_pages == 0);
    CHECK(si.created_ns > 0);

    /* Rewrite, delete, rename and add, through a file handle too. */
    put_text(fs, "a.txt", "ALPHA, rewritten");
    OK(whefs_unlink(fs, "b.txt"));
    OK(whefs_rename(fs, "d/c.txt", "e.txt"));
    OK(whefs_file_open(fs, "new.txt", "w", &f));
    OK(whefs_file_write(f, "fresh", 5, &n));
    OK(whefs_file_close(f));

    OK(whefs_fs_open_snapshot(fs, "before", &view));
    CHECK(view != NULL && view != fs);
    check_before_state(view);
    OK(whefs_file_open(view, "a.txt", "r", &f));
    OK(whefs_file_read(f, buf, sizeof buf, &n));
    CHECK(n == 5 && memcmp(buf, "alpha", 5) == 0);
    OK(whefs_file_close(f));
    OK(whefs_fs_info(view, &info));
    CHECK(info.generation == si.generation && info.files == 3 && info.dirs == 2);
    /* The container itself has the new state. */
    CHECK(strcmp(get_text(fs, "a.txt"), "ALPHA, rewritten") == 0);
    CHECK(strcmp(listing(fs, "/"), "a.txt d e.txt new.txt") == 0);
    OK(whefs_fs_close(view));
    OK(whefs_fs_close(fs));

    /* Across a reopen, read-only. */
    OK(whefs_fs_open(path, WHEFS_OPEN_READONLY, &again));
    CHECK(strcmp(snapshot_names(again), "before") == 0);
    OK(whefs_fs_open_snapshot(again, "before", &view));
    check_before_state(view);
    OK(whefs_fs_close(view));

    /* From another process, while this one holds the container open: this
     * program again (exec'd, so that the child has its own library state,
     * not a forked copy of this one's threads), see main(). */
    fflush(NULL);
    child = fork();
    CHECK(child >= 0);
    if (child == 0) {
        execl(self_path, self_path, "--read-snapshot", path, (char *)NULL);
        _exit(127);
    }
    CHECK(waitpid(child, &status, 0) == child);
    CHECK(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    OK(whefs_fs_close(again));
}

/* The other process of the test above: reads the snapshot "before". */
static int read_snapshot_in_this_process(const char *path)
{
    whefs_fs *reader = NULL, *view = NULL;
    OK(whefs_fs_open(path, WHEFS_OPEN_READONLY, &reader));
    OK(whefs_fs_open_snapshot(reader, "before", &view));
    check_before_state(view); /* _Exit(1) on a mismatch */
    OK(whefs_fs_close(view));
    OK(whefs_fs_close(reader));
    return 0;
}

/* ---- create, list, delete ------------------------------------------------ */

static void snapshots_are_listed_in_name_order_and_deleted(void)
{
    whefs_fs *fs = memory_fs();
    whefs_snapshot_list *l = NULL, *old_listing = NULL;
    whefs_snapshot_info si, untouched;
    whefs_info_v2 info;
    uint64_t freed = 12345, g_one;
    char big[20000];
    int has = -1;

    CHECK(strcmp(snapshot_names(fs), "") == 0);
    put_text(fs, "f", "1");
    OK(whefs_snapshot_create(fs, "one", NULL)); /* out may be NULL */
    OK(whefs_fs_info_v2(fs, &info));
    g_one = info.generation - 1; /* the snapshot's commit came after the state it keeps */
    memset(big, 'x', sizeof big);
    OK(whefs_write_file(fs, "f", big, sizeof big)); /* "one" now holds the old f alone */
    OK(whefs_snapshot_create(fs, "two", NULL));
    OK(whefs_snapshot_create(fs, "Zero", NULL)); /* byte order: 'Z' < 'o' < 't' */
    CHECK(strcmp(snapshot_names(fs), "Zero one two") == 0);

    OK(whefs_snapshot_list_open(fs, &l));
    OK(whefs_snapshot_list_next(l, &si, &has));
    CHECK(has == 1 && strcmp(si.name, "Zero") == 0);
    OK(whefs_snapshot_list_next(l, &si, &has));
    CHECK(has == 1 && strcmp(si.name, "one") == 0);
    CHECK(si.generation == g_one && si.files == 1 && si.dirs == 1);
    CHECK(si.exclusive_pages >= 1); /* the first version of f */
    OK(whefs_snapshot_list_next(l, &si, &has));
    CHECK(has == 1 && strcmp(si.name, "two") == 0);
    memset(&untouched, 0x5A, sizeof untouched);
    si = untouched;
    OK(whefs_snapshot_list_next(l, &si, &has));
    CHECK(has == 0 && memcmp(&si, &untouched, sizeof si) == 0); /* the end leaves *out alone */
    OK(whefs_snapshot_list_next(l, &si, &has));                  /* and stays the end */
    CHECK(has == 0);
    OK(whefs_snapshot_list_close(l));

    /* A taken name, a bad name: nothing changes, *out stays as it was. */
    si = untouched;
    CHECK_RC(whefs_snapshot_create(fs, "one", &si), WHEFS_ERR_EXISTS);
    CHECK(memcmp(&si, &untouched, sizeof si) == 0);
    CHECK_RC(whefs_snapshot_create(fs, "", &si), WHEFS_ERR_ARG);
    CHECK_RC(whefs_snapshot_create(fs, "a/b", &si), WHEFS_ERR_ARG);
    CHECK_RC(whefs_snapshot_create(fs, "..", &si), WHEFS_ERR_ARG);

    /* A listing opened before a delete keeps the list it was opened with. */
    OK(whefs_snapshot_list_open(fs, &old_listing));
    OK(whefs_snapshot_delete(fs, "one", &freed));
    CHECK(freed >= 1);
    CHECK(strcmp(snapshot_names(fs), "Zero two") == 0);
    OK(whefs_snapshot_list_next(old_listing, &si, &has));
    OK(whefs_snapshot_list_next(old_listing, &si, &has));
    CHECK(has == 1 && strcmp(si.name, "one") == 0);
    OK(whefs_snapshot_list_close(old_listing));

    freed = 777;
    CHECK_RC(whefs_snapshot_delete(fs, "one", &freed), WHEFS_ERR_NOT_FOUND);
    CHECK(freed == 777);
    OK(whefs_snapshot_delete(fs, "two", NULL)); /* pages_freed may be NULL */
    OK(whefs_snapshot_delete(fs, "Zero", &freed));
    CHECK(strcmp(snapshot_names(fs), "") == 0);
    OK(whefs_fs_info_v2(fs, &info));
    CHECK(info.snapshots == 0 && info.pages_snapshot == 0);
    OK(whefs_fs_check(fs));
    OK(whefs_fs_close(fs));
}

/* ---- views ------------------------------------------------------------- */

static void view_refuses_every_write_with_access(void)
{
    whefs_fs *fs = memory_fs(), *view = NULL, *inner = NULL;
    whefs_file *f = NULL, *f_out = (whefs_file *)&f_out;
    whefs_txn *t = (whefs_txn *)&t;
    whefs_snapshot_list *l = NULL;
    whefs_snapshot_info si;
    whefs_stat_t st;
    int has = 0;

    put_text(fs, "keep.txt", "kept");
    OK(whefs_mkdir(fs, "dir"));
    OK(whefs_snapshot_create(fs, "s", NULL));
    OK(whefs_fs_open_snapshot(fs, "s", &view));

    CHECK_RC(whefs_write_file(view, "keep.txt", "x", 1), WHEFS_ERR_ACCESS);
    CHECK(strstr(whefs_errmsg(), "read-only") != NULL);
    CHECK_RC(whefs_write_file(view, "other.txt", "x", 1), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_mkdir(view, "new"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_mkdir_all(view, "new/deeper"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_rmdir(view, "dir"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_remove_all(view, "dir"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_unlink(view, "keep.txt"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_rename(view, "keep.txt", "moved.txt"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_copy(view, "keep.txt", "copy.txt", NULL), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_file_open(view, "keep.txt", "w", &f_out), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_file_open(view, "keep.txt", "r+", &f_out), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_file_open(view, "keep.txt", "a", &f_out), WHEFS_ERR_ACCESS);
    CHECK(f_out == (whefs_file *)&f_out);
    CHECK_RC(whefs_fs_label_set(view, "label"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_chmod(view, "keep.txt", 0600), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_truncate(view, "keep.txt", 0), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_symlink(view, "keep.txt", "link"), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_txn_begin(view, &t), WHEFS_ERR_ACCESS);
    CHECK(t == (whefs_txn *)&t);
    CHECK_RC(whefs_snapshot_create(view, "s2", NULL), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_snapshot_delete(view, "s", NULL), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_fs_restore(view, "s", "/"), WHEFS_ERR_ACCESS);

    /* Reading works, and the view lists the container's snapshots. */
    CHECK(strcmp(get_text(view, "keep.txt"), "kept") == 0);
    OK(whefs_stat(view, "dir", &st));
    CHECK(st.kind == WHEFS_KIND_DIR);
    OK(whefs_file_open(view, "keep.txt", "r", &f));
    OK(whefs_file_close(f));
    OK(whefs_fs_check(view));
    OK(whefs_snapshot_list_open(view, &l));
    OK(whefs_snapshot_list_next(l, &si, &has));
    CHECK(has == 1 && strcmp(si.name, "s") == 0);
    OK(whefs_snapshot_list_close(l));
    /* A view of a view is a view of the same container. */
    OK(whefs_fs_open_snapshot(view, "s", &inner));
    CHECK(strcmp(get_text(inner, "keep.txt"), "kept") == 0);
    OK(whefs_fs_close(inner));
    /* Nothing was written. */
    CHECK(strcmp(listing(fs, "/"), "dir keep.txt") == 0);
    OK(whefs_fs_close(view));

    CHECK_RC(whefs_fs_open_snapshot(fs, "missing", &view), WHEFS_ERR_NOT_FOUND);
    CHECK_RC(whefs_fs_open_snapshot(fs, "", &view), WHEFS_ERR_ARG);
    OK(whefs_fs_close(fs));
}

static void read_only_open_can_list_and_view_but_not_change_snapshots(void)
{
    char path[512];
    whefs_fs *fs, *ro = NULL, *view = NULL;

    fs = new_container("readonly.whefs", path, sizeof path);
    put_text(fs, "f", "v1");
    OK(whefs_snapshot_create(fs, "v1", NULL));
    OK(whefs_fs_close(fs));

    OK(whefs_fs_open(path, WHEFS_OPEN_READONLY, &ro));
    CHECK(strcmp(snapshot_names(ro), "v1") == 0);
    OK(whefs_fs_open_snapshot(ro, "v1", &view));
    CHECK(strcmp(get_text(view, "f"), "v1") == 0);
    CHECK_RC(whefs_snapshot_create(ro, "v2", NULL), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_snapshot_delete(ro, "v1", NULL), WHEFS_ERR_ACCESS);
    CHECK_RC(whefs_fs_restore(ro, "v1", "/"), WHEFS_ERR_ACCESS);
    OK(whefs_fs_close(view));
    OK(whefs_fs_close(ro));
}

static void view_outlives_its_container_handle_and_its_snapshot(void)
{
    whefs_fs *fs = memory_fs(), *view = NULL;
    whefs_info_v2 info;
    char big[50000];

    memset(big, 'q', sizeof big);
    OK(whefs_write_file(fs, "big", big, sizeof big));
    OK(whefs_snapshot_create(fs, "s", NULL));
    OK(whefs_fs_open_snapshot(fs, "s", &view));
    OK(whefs_unlink(fs, "big"));
    OK(whefs_snapshot_delete(fs, "s", NULL));
    put_text(fs, "other", "reuses whatever pages are free");
    OK(whefs_fs_info_v2(fs, &info));
    CHECK(info.snapshots == 0);
    /* The deleted snapshot's pages are kept for the view that reads them. */
    OK(whefs_fs_close(fs));
    {
        static char back[50000];
        size_t len = 0;
        OK(whefs_read_file(view, "big", back, sizeof back, &len));
        CHECK(len == sizeof big && memcmp(back, big, len) == 0);
    }
    CHECK(!exists(view, "other"));
    OK(whefs_fs_close(view));
}

/* ---- restore ------------------------------------------------------------- */

static void restore_brings_back_exactly_the_snapshot(void)
{
    char path[512];
    whefs_fs *fs, *view = NULL;
    whefs_statx_t sx;
    whefs_stat_t st;
    size_t len = 0;
    static unsigned char data[70000], back[70000];
    size_t i;

    for (i = 0; i < sizeof data; i++) data[i] = (unsigned char)(i * 7 % 256);
    fs = new_container("restore.whefs", path, sizeof path);
    OK(whefs_mkdir_all(fs, "site/img"));
    OK(whefs_write_file(fs, "site/img/logo.bin", data, sizeof data));
    put_text(fs, "site/index.html", "<h1>v1</h1>");
    OK(whefs_chmod(fs, "site/index.html", 0640));
    OK(whefs_link(fs, "site/index.html", "site/home.html"));
    put_text(fs, "notes.txt", "v1 notes");
    OK(whefs_snapshot_create(fs, "v1", NULL));

    /* Change everything, including outside the subtree restored first. */
    put_text(fs, "site/index.html", "<h1>v2</h1>");
    OK(whefs_unlink(fs, "site/home.html"));
    OK(whefs_remove_all(fs, "site/img"));
    put_text(fs, "site/extra.html", "only in v2");
    put_text(fs, "notes.txt", "v2 notes");
    put_text(fs, "added.txt", "only in v2");

    /* A subtree: only it comes back. */
    OK(whefs_fs_restore(fs, "v1", "/site"));
    CHECK(strcmp(listing(fs, "site"), "home.html img index.html") == 0);
    CHECK(strcmp(get_text(fs, "site/index.html"), "<h1>v1</h1>") == 0);
    OK(whefs_read_file(fs, "site/img/logo.bin", back, sizeof back, &len));
    CHECK(len == sizeof data && memcmp(back, data, len) == 0);
    OK(whefs_statx(fs, "site/index.html", 0, &sx));
    CHECK(sx.mode == 0640 && sx.nlink == 2); /* metadata and the hard link */
    CHECK(strcmp(get_text(fs, "notes.txt"), "v2 notes") == 0);
    CHECK(exists(fs, "added.txt"));

    /* A path the snapshot does not have is removed. */
    OK(whefs_fs_restore(fs, "v1", "added.txt"));
    CHECK(!exists(fs, "added.txt"));

    /* The whole container. */
    put_text(fs, "added.txt", "again");
    OK(whefs_fs_restore(fs, "v1", "/"));
    CHECK(strcmp(listing(fs, "/"), "notes.txt site") == 0);
    CHECK(strcmp(get_text(fs, "notes.txt"), "v1 notes") == 0);
    OK(whefs_fs_check(fs));

    /* The restored state is what the snapshot holds, and the snapshot stays. */
    OK(whefs_fs_open_snapshot(fs, "v1", &view));
    {
        struct changes c = {0, {0}};
        OK(whefs_diff(view, fs, collect_change, &c));
        CHECK(c.count == 0);
    }
    OK(whefs_fs_close(view));
    CHECK(strcmp(snapshot_names(fs), "v1") == 0);

    CHECK_RC(whefs_fs_restore(fs, "nope", "/"), WHEFS_ERR_NOT_FOUND);
    CHECK_RC(whefs_fs_restore(fs, "v1", "bad//"), WHEFS_ERR_ARG);
    OK(whefs_stat(fs, "site", &st));
    OK(whefs_fs_close(fs));
}

/* ---- diff ------------------------------------------------------------- */

static void diff_lists_added_removed_and_changed_paths_in_order(void)
{
    whefs_fs *fs = memory_fs(), *old = NULL, *mid = NULL;
    struct changes c = {0, {0}};
    int calls = 0;

    put_text(fs, "same.txt", "same");
    put_text(fs, "edit.txt", "before");
    put_text(fs, "gone.txt", "bye");
    OK(whefs_mkdir_all(fs, "tree/sub"));
    put_text(fs, "tree/sub/leaf", "leaf");
    OK(whefs_snapshot_create(fs, "old", NULL));

    put_text(fs, "edit.txt", "after!");
    OK(whefs_unlink(fs, "gone.txt"));
    OK(whefs_remove_all(fs, "tree"));
    OK(whefs_mkdir(fs, "fresh"));
    put_text(fs, "fresh/new.txt", "hi");
    OK(whefs_snapshot_create(fs, "mid", NULL));
    put_text(fs, "late.txt", "after mid");

    OK(whefs_fs_open_snapshot(fs, "old", &old));
    OK(whefs_fs_open_snapshot(fs, "mid", &mid));
    OK(whefs_diff(old, mid, collect_change, &c));
    CHECK(strcmp(c.text, "~/edit.txt +/fresh +/fresh/new.txt -/gone.txt "
                         "-/tree -/tree/sub -/tree/sub/leaf") == 0);

    /* Snapshot to now; and the other way round. */
    memset(&c, 0, sizeof c);
    OK(whefs_diff(mid, fs, collect_change, &c));
    CHECK(strcmp(c.text, "+/late.txt") == 0);
    memset(&c, 0, sizeof c);
    OK(whefs_diff(fs, mid, collect_change, &c));
    CHECK(strcmp(c.text, "-/late.txt") == 0);
    memset(&c, 0, sizeof c);
    OK(whefs_diff(fs, fs, collect_change, &c));
    CHECK(c.count == 0);

    /* A nonzero result stops the walk, and it still succeeds. */
    OK(whefs_diff(old, fs, stop_after_first, &calls));
    CHECK(calls == 1);

    CHECK_RC(whefs_diff(NULL, fs, collect_change, &c), WHEFS_ERR_ARG);
    CHECK_RC(whefs_diff(old, NULL, collect_change, &c), WHEFS_ERR_ARG);
    CHECK_RC(whefs_diff(old, fs, NULL, &c), WHEFS_ERR_ARG);
    OK(whefs_fs_close(mid));
    OK(whefs_fs_close(old));
    OK(whefs_fs_close(fs));
}

/* ---- figures ------------------------------------------------------------ */

static void info_v2_counts_snapshots_and_the_pages_they_hold(void)
{
    whefs_fs *fs = memory_fs();
    whefs_info v1;
    whefs_info_v2 v2;
    static char big[200000];
    uint64_t freed = 0;

    memset(big, 'z', sizeof big);
    OK(whefs_write_file(fs, "big", big, sizeof big));
    OK(whefs_fs_info(fs, &v1));
    OK(whefs_fs_info_v2(fs, &v2));
    /* The fields whefs_info has read the same. */
    CHECK(v2.page_size == v1.page_size && v2.generation == v1.generation);
    CHECK(v2.pages_total == v1.pages_total && v2.pages_used == v1.pages_used);
    CHECK(v2.pages_free == v1.pages_free && v2.pages_pending == v1.pages_pending);
    CHECK(v2.files == v1.files && v2.dirs == v1.dirs);
    CHECK(v2.snapshots == 0 && v2.pages_snapshot == 0);
    CHECK(v2.pages_reclaimable == v2.pages_free + v2.pages_pending);

    OK(whefs_snapshot_create(fs, "s", NULL));
    OK(whefs_unlink(fs, "big"));
    OK(whefs_fs_info_v2(fs, &v2));
    CHECK(v2.snapshots == 1);
    CHECK(v2.pages_snapshot * v2.page_size >= sizeof big); /* the snapshot alone holds big */
    CHECK(v2.files == 0);
    OK(whefs_snapshot_delete(fs, "s", &freed));
    CHECK(freed == v2.pages_snapshot);
    OK(whefs_fs_info_v2(fs, &v2));
    CHECK(v2.snapshots == 0 && v2.pages_snapshot == 0);
    CHECK(v2.pages_reclaimable >= freed);
    OK(whefs_fs_close(fs));
}

/* ---- arguments ---------------------------------------------------------- */

static void null_arguments_are_arg_errors_and_leave_outputs_alone(void)
{
    whefs_fs *fs = memory_fs();
    whefs_fs *fs_out = (whefs_fs *)&fs_out;
    whefs_snapshot_list *l = NULL, *l_out = (whefs_snapshot_list *)&l_out;
    whefs_snapshot_info si;
    whefs_info_v2 info;
    int has = 42;

    OK(whefs_snapshot_create(fs, "s", NULL));
    CHECK_RC(whefs_snapshot_create(NULL, "x", NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_snapshot_create(fs, NULL, NULL), WHEFS_ERR_ARG);
    CHECK(strstr(whefs_errmsg(), "NULL") != NULL);
    CHECK_RC(whefs_snapshot_delete(NULL, "s", NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_snapshot_delete(fs, NULL, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_snapshot_list_open(NULL, &l_out), WHEFS_ERR_ARG);
    CHECK_RC(whefs_snapshot_list_open(fs, NULL), WHEFS_ERR_ARG);
    CHECK(l_out == (whefs_snapshot_list *)&l_out);
    OK(whefs_snapshot_list_open(fs, &l));
    CHECK_RC(whefs_snapshot_list_next(NULL, &si, &has), WHEFS_ERR_ARG);
    CHECK_RC(whefs_snapshot_list_next(l, NULL, &has), WHEFS_ERR_ARG);
    CHECK_RC(whefs_snapshot_list_next(l, &si, NULL), WHEFS_ERR_ARG);
    CHECK(has == 42);
    OK(whefs_snapshot_list_next(l, &si, &has)); /* the failures consumed nothing */
    CHECK(has == 1 && strcmp(si.name, "s") == 0);
    OK(whefs_snapshot_list_close(l));
    OK(whefs_snapshot_list_close(NULL));
    CHECK_RC(whefs_fs_open_snapshot(NULL, "s", &fs_out), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_open_snapshot(fs, NULL, &fs_out), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_open_snapshot(fs, "s", NULL), WHEFS_ERR_ARG);
    CHECK(fs_out == (whefs_fs *)&fs_out);
    CHECK_RC(whefs_fs_restore(NULL, "s", "/"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_restore(fs, NULL, "/"), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_restore(fs, "s", NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_info_v2(NULL, &info), WHEFS_ERR_ARG);
    CHECK_RC(whefs_fs_info_v2(fs, NULL), WHEFS_ERR_ARG);
    CHECK_RC(whefs_snapshot_create(fs, "\xff\xfe", NULL), WHEFS_ERR_ARG); /* not UTF-8 */
    OK(whefs_fs_close(fs));
}

int main(int argc, char **argv)
{
    self_path = argv[0];
    if (argc > 2 && strcmp(argv[1], "--read-snapshot") == 0)
        return read_snapshot_in_this_process(argv[2]);
    if (argc > 1) scratch_dir = argv[1];
    RUN(snapshot_keeps_its_state_while_files_change);
    RUN(snapshots_are_listed_in_name_order_and_deleted);
    RUN(view_refuses_every_write_with_access);
    RUN(read_only_open_can_list_and_view_but_not_change_snapshots);
    RUN(view_outlives_its_container_handle_and_its_snapshot);
    RUN(restore_brings_back_exactly_the_snapshot);
    RUN(diff_lists_added_removed_and_changed_paths_in_order);
    RUN(info_v2_counts_snapshots_and_the_pages_they_hold);
    RUN(null_arguments_are_arg_errors_and_leave_outputs_alone);
    printf("all C snapshot tests passed\n");
    return 0;
}
