/* A tiny harness for the whefs C tests: checks that print the call, the
 * status name and whefs_errmsg(), then stop the process with _Exit(1) (no
 * leak report on top of the real failure). */
#ifndef WHEFS_TEST_H
#define WHEFS_TEST_H

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "whefs.h"

/* Test-only entry point of the cargo feature `test-hooks`, which the
 * installed header does not declare. */
int whefs_test_panic(void);

#define FAIL(...)                                                   \
    do {                                                            \
        fprintf(stderr, "%s:%d: ", __FILE__, __LINE__);             \
        fprintf(stderr, __VA_ARGS__);                               \
        fprintf(stderr, "\n");                                      \
        fflush(stderr);                                             \
        _Exit(1);                                                   \
    } while (0)

#define CHECK(cond)                                                 \
    do {                                                            \
        if (!(cond)) FAIL("CHECK failed: %s", #cond);               \
    } while (0)

/* `call` must return `want`; on failure shows both names and the message. */
#define CHECK_RC(call, want)                                        \
    do {                                                            \
        int rc_ = (call);                                           \
        int want_ = (want);                                         \
        if (rc_ != want_)                                           \
            FAIL("%s returned %s (%d), want %s: %s", #call,         \
                 whefs_rc_name(rc_), rc_, whefs_rc_name(want_),     \
                 whefs_errmsg());                                   \
    } while (0)

#define OK(call) CHECK_RC(call, WHEFS_OK)

#define RUN(test)                                                   \
    do {                                                            \
        printf("%-50s", #test);                                     \
        fflush(stdout);                                             \
        test();                                                     \
        printf(" ok\n");                                            \
        fflush(stdout);                                             \
    } while (0)

/* A path inside the test's scratch directory (argv[1]). */
static const char *scratch_dir = ".";

static inline char *scratch_path(char *buf, size_t cap, const char *name)
{
    int n = snprintf(buf, cap, "%s/%s", scratch_dir, name);
    CHECK(n > 0 && (size_t)n < cap);
    return buf;
}

/* Writes a whole file from a C string. */
static inline void put_text(whefs_fs *fs, const char *path, const char *text)
{
    OK(whefs_write_file(fs, path, text, strlen(text)));
}

/* Reads a whole file into a static buffer, NUL-terminated. */
static inline const char *get_text(whefs_fs *fs, const char *path)
{
    static char buf[4096];
    size_t len = 0;
    OK(whefs_read_file(fs, path, buf, sizeof buf - 1, &len));
    buf[len] = 0;
    return buf;
}

#endif /* WHEFS_TEST_H */
