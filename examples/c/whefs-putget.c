/* whefs-putget: copy files into and out of a whefs container, list it.
 *
 *   whefs-putget CONTAINER put NAME [LOCAL]   store LOCAL (or stdin) as NAME
 *   whefs-putget CONTAINER get NAME [LOCAL]   write NAME to LOCAL (or stdout)
 *   whefs-putget CONTAINER ls [PATTERN]       list matches (default "**")
 *   whefs-putget CONTAINER rm NAME            remove a file
 *
 * `put` creates the container and NAME's parent directories as needed.
 * Build: cc -o whefs-putget whefs-putget.c $(pkg-config --cflags --libs whefs)
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <whefs.h>

#define CHUNK 65536

static int fail(const char *what, int rc)
{
    fprintf(stderr, "whefs-putget: %s: %s (%s)\n", what, whefs_errmsg(), whefs_rc_name(rc));
    return 1;
}

/* mkdir -p of NAME's parent, if it has one. */
static int make_parents(whefs_fs *fs, const char *name)
{
    char parent[4096];
    char *slash;
    size_t len = strlen(name);
    if (len >= sizeof parent) return WHEFS_ERR_NAME_TOO_LONG;
    memcpy(parent, name, len + 1);
    slash = strrchr(parent, '/');
    if (slash == NULL || slash == parent) return WHEFS_OK;
    *slash = 0;
    return whefs_mkdir_all(fs, parent);
}

static int put(whefs_fs *fs, const char *name, const char *local)
{
    static unsigned char buf[CHUNK];
    FILE *in = local ? fopen(local, "rb") : stdin;
    whefs_file *f = NULL;
    size_t got, written;
    int rc;

    if (in == NULL) {
        perror(local);
        return 1;
    }
    if ((rc = make_parents(fs, name)) != WHEFS_OK) return fail(name, rc);
    if ((rc = whefs_file_open(fs, name, "w", &f)) != WHEFS_OK) return fail(name, rc);
    while ((got = fread(buf, 1, sizeof buf, in)) > 0) {
        if ((rc = whefs_file_write(f, buf, got, &written)) != WHEFS_OK) {
            whefs_file_close(f);
            return fail(name, rc);
        }
    }
    if (local) fclose(in);
    /* close commits: only now is the new content visible, all at once */
    if ((rc = whefs_file_close(f)) != WHEFS_OK) return fail(name, rc);
    return 0;
}

static int get(whefs_fs *fs, const char *name, const char *local)
{
    static unsigned char buf[CHUNK];
    FILE *out;
    whefs_file *f = NULL;
    size_t got = 0;
    int rc;

    if ((rc = whefs_file_open(fs, name, "r", &f)) != WHEFS_OK) return fail(name, rc);
    out = local ? fopen(local, "wb") : stdout;
    if (out == NULL) {
        perror(local);
        whefs_file_close(f);
        return 1;
    }
    while ((rc = whefs_file_read(f, buf, sizeof buf, &got)) == WHEFS_OK && got > 0) {
        if (fwrite(buf, 1, got, out) != got) {
            perror("write");
            break;
        }
    }
    whefs_file_close(f);
    if (local) fclose(out);
    return rc == WHEFS_OK ? 0 : fail(name, rc);
}

static int print_entry(const char *path, const whefs_dirent *entry, void *userdata)
{
    (void)userdata;
    printf("%c %12llu  %s%s\n", entry->kind == WHEFS_KIND_DIR ? 'd' : '-',
           (unsigned long long)entry->size, path, entry->kind == WHEFS_KIND_DIR ? "/" : "");
    return 0;
}

static int usage(void)
{
    fprintf(stderr,
            "usage: whefs-putget CONTAINER put NAME [LOCAL]\n"
            "       whefs-putget CONTAINER get NAME [LOCAL]\n"
            "       whefs-putget CONTAINER ls [PATTERN]\n"
            "       whefs-putget CONTAINER rm NAME\n");
    return 2;
}

int main(int argc, char **argv)
{
    whefs_fs *fs = NULL;
    const char *cmd;
    unsigned flags;
    int rc, status;

    if (argc < 3) return usage();
    cmd = argv[2];
    if ((strcmp(cmd, "put") == 0 || strcmp(cmd, "get") == 0 || strcmp(cmd, "rm") == 0) && argc < 4)
        return usage();
    flags = strcmp(cmd, "put") == 0 ? WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE
          : strcmp(cmd, "rm") == 0  ? WHEFS_OPEN_READWRITE
                                    : WHEFS_OPEN_READONLY;
    if ((rc = whefs_fs_open(argv[1], flags, &fs)) != WHEFS_OK) return fail(argv[1], rc);

    if (strcmp(cmd, "put") == 0) {
        status = put(fs, argv[3], argc > 4 ? argv[4] : NULL);
    } else if (strcmp(cmd, "get") == 0) {
        status = get(fs, argv[3], argc > 4 ? argv[4] : NULL);
    } else if (strcmp(cmd, "ls") == 0) {
        rc = whefs_ls(fs, argc > 3 ? argv[3] : "**", print_entry, NULL);
        status = rc == WHEFS_OK ? 0 : fail("ls", rc);
    } else if (strcmp(cmd, "rm") == 0) {
        rc = whefs_unlink(fs, argv[3]);
        status = rc == WHEFS_OK ? 0 : fail(argv[3], rc);
    } else {
        status = usage();
    }
    whefs_fs_close(fs);
    return status;
}
