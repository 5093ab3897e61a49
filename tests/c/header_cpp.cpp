// The header compiles as C++ with -Wall -Wextra -Werror -pedantic and
// declares the functions with C linkage.
#include "whefs.h"

#include <cstring>

int main()
{
    whefs_fs *fs = nullptr;
    int rc = whefs_fs_open(":memory:", WHEFS_OPEN_READWRITE | WHEFS_OPEN_CREATE, &fs);
    if (rc != WHEFS_OK) return 1;
    static const char data[] = "from C++";
    rc = whefs_write_file(fs, "cpp.txt", data, sizeof data - 1);
    if (rc != WHEFS_OK) return 2;
    whefs_stat_t st;
    rc = whefs_stat(fs, "cpp.txt", &st);
    if (rc != WHEFS_OK || st.size != sizeof data - 1 || st.kind != WHEFS_KIND_FILE) return 3;
    whefs_txn *t = nullptr;
    if (whefs_txn_begin(fs, &t) != WHEFS_OK) return 5;
    if (whefs_txn_rename(t, "cpp.txt", "renamed.txt") != WHEFS_OK) return 6;
    if (whefs_txn_commit(t) != WHEFS_OK) return 7;
    if (whefs_stat(fs, "renamed.txt", &st) != WHEFS_OK) return 8;
    whefs_fs_close(fs);
    return std::strcmp(whefs_version(), WHEFS_VERSION_STRING) == 0 ? 0 : 4;
}
