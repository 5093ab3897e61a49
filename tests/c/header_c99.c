/* The header compiles as C99 with -Wall -Wextra -Werror -pedantic, and its
 * version macros agree with the library. */
#include "whefs.h"
#include "whefs.h" /* the include guard works */

#include <stdio.h>
#include <string.h>

#if !defined(WHEFS_VERSION_MAJOR) || !defined(WHEFS_VERSION_MINOR) || !defined(WHEFS_VERSION_PATCH)
#error "version macros missing"
#endif

int main(void)
{
    char expect[64];
    whefs_stat_t st;
    whefs_dirent de;
    whefs_info info;
    whefs_info_v2 info2;
    whefs_snapshot_info si;
    whefs_ls_callback cb = 0;
    whefs_diff_callback diff_cb = 0;
    whefs_progress_callback progress_cb = 0;
    whefs_backup_report backup;
    whefs_compact_report compact;
    (void)cb;
    (void)diff_cb;
    (void)progress_cb;
    memset(&backup, 0, sizeof backup);
    memset(&compact, 0, sizeof compact);
    memset(&info2, 0, sizeof info2);
    memset(&si, 0, sizeof si);
    memset(&st, 0, sizeof st);
    memset(&de, 0, sizeof de);
    memset(&info, 0, sizeof info);
    snprintf(expect, sizeof expect, "%d.%d.%d", WHEFS_VERSION_MAJOR, WHEFS_VERSION_MINOR, WHEFS_VERSION_PATCH);
    if (strcmp(expect, WHEFS_VERSION_STRING) != 0) return 1;
    if (strcmp(whefs_version(), WHEFS_VERSION_STRING) != 0) return 2;
    return 0;
}
