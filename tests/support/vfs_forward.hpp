// SPDX-License-Identifier: Apache-2.0
// The part of a test VFS (support/powerloss_vfs.*, support/full_vfs.*) that only passes calls
// through to the VFS it wraps: everything but opening and deleting files.
#pragma once

#include <sqlite3.h>

namespace gqs::test {

/// Sets every method of `vfs` but xOpen and xDelete to call the same method of the VFS that
/// `real(vfs)` returns (the wrapped one, e.g. SQLite's unix VFS).
template <sqlite3_vfs* (*real)(sqlite3_vfs*)>
void forward_vfs_methods(sqlite3_vfs& vfs) {
    vfs.xAccess = [](sqlite3_vfs* v, const char* name, int flags, int* out) {
        return real(v)->xAccess(real(v), name, flags, out);
    };
    vfs.xFullPathname = [](sqlite3_vfs* v, const char* name, int size, char* out) {
        return real(v)->xFullPathname(real(v), name, size, out);
    };
    vfs.xDlOpen = [](sqlite3_vfs* v, const char* name) { return real(v)->xDlOpen(real(v), name); };
    vfs.xDlError = [](sqlite3_vfs* v, int size, char* out) {
        real(v)->xDlError(real(v), size, out);
    };
    vfs.xDlSym = [](sqlite3_vfs* v, void* handle, const char* symbol) {
        return real(v)->xDlSym(real(v), handle, symbol);
    };
    vfs.xDlClose = [](sqlite3_vfs* v, void* handle) { real(v)->xDlClose(real(v), handle); };
    vfs.xRandomness = [](sqlite3_vfs* v, int size, char* out) {
        return real(v)->xRandomness(real(v), size, out);
    };
    vfs.xSleep = [](sqlite3_vfs* v, int microseconds) {
        return real(v)->xSleep(real(v), microseconds);
    };
    vfs.xCurrentTime = [](sqlite3_vfs* v, double* out) {
        return real(v)->xCurrentTime(real(v), out);
    };
    vfs.xGetLastError = [](sqlite3_vfs* v, int size, char* out) {
        return real(v)->xGetLastError(real(v), size, out);
    };
    vfs.xCurrentTimeInt64 = [](sqlite3_vfs* v, sqlite3_int64* out) {
        return real(v)->xCurrentTimeInt64(real(v), out);
    };
}

} // namespace gqs::test
