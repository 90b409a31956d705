// SPDX-License-Identifier: Apache-2.0
// FullVfs: the unix VFS with a quota on what its files take (full_vfs.hpp).
#include "full_vfs.hpp"
#include "vfs_forward.hpp"

#include <sqlite3.h>

#include <cstddef>
#include <filesystem>
#include <map>
#include <mutex>
#include <stdexcept>
#include <system_error>
#include <utility>

namespace gqs::test {

namespace {

std::string key_of(const char* name) {
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(name, ec);
    return ec ? std::string(name) : canonical.string();
}

} // namespace

struct FullVfs::Impl {
    sqlite3_vfs vfs{};
    sqlite3_vfs* real = nullptr;
    std::string name;
    mutable std::mutex mutex; // guards everything below
    std::map<std::string, std::uint64_t> sizes;
    std::uint64_t quota = unlimited;
    std::uint64_t refused = 0;

    std::uint64_t used() const {
        std::uint64_t sum = 0;
        for (const auto& [key, size] : sizes)
            sum += size;
        return sum;
    }
};

namespace {

using Impl = FullVfs::Impl;

struct File {
    sqlite3_file base;
    Impl* vfs;
    std::string* key; // its key in sizes (owned); null for an untracked file
    sqlite3_file* real;
};

constexpr int file_header = static_cast<int>((sizeof(File) + 15) / 16 * 16);

Impl& impl_of(sqlite3_vfs* vfs) { return *static_cast<Impl*>(vfs->pAppData); }
File& file_of(sqlite3_file* file) { return *reinterpret_cast<File*>(file); }
sqlite3_file* real_of(sqlite3_file* file) { return file_of(file).real; }

int x_close(sqlite3_file* file) {
    File& f = file_of(file);
    delete f.key;
    f.key = nullptr;
    return f.real->pMethods->xClose(f.real);
}

int x_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
    return real_of(file)->pMethods->xRead(real_of(file), buffer, amount, offset);
}

int x_write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
    File& f = file_of(file);
    if (f.key == nullptr) return f.real->pMethods->xWrite(f.real, buffer, amount, offset);
    std::lock_guard lock(f.vfs->mutex);
    std::uint64_t& size = f.vfs->sizes[*f.key];
    const auto end = static_cast<std::uint64_t>(offset) + static_cast<std::uint64_t>(amount);
    const std::uint64_t growth = end > size ? end - size : 0;
    if (growth > 0 && f.vfs->quota != FullVfs::unlimited && f.vfs->used() + growth > f.vfs->quota) {
        ++f.vfs->refused;
        return SQLITE_FULL;
    }
    const int rc = f.real->pMethods->xWrite(f.real, buffer, amount, offset);
    if (rc == SQLITE_OK && end > size) size = end;
    return rc;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 new_size) {
    File& f = file_of(file);
    if (f.key == nullptr) return f.real->pMethods->xTruncate(f.real, new_size);
    std::lock_guard lock(f.vfs->mutex);
    const int rc = f.real->pMethods->xTruncate(f.real, new_size);
    if (rc == SQLITE_OK) f.vfs->sizes[*f.key] = static_cast<std::uint64_t>(new_size);
    return rc;
}

int x_sync(sqlite3_file* file, int flags) {
    return real_of(file)->pMethods->xSync(real_of(file), flags);
}
int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
    return real_of(file)->pMethods->xFileSize(real_of(file), size);
}
int x_lock(sqlite3_file* file, int level) {
    return real_of(file)->pMethods->xLock(real_of(file), level);
}
int x_unlock(sqlite3_file* file, int level) {
    return real_of(file)->pMethods->xUnlock(real_of(file), level);
}
int x_check_reserved_lock(sqlite3_file* file, int* out) {
    return real_of(file)->pMethods->xCheckReservedLock(real_of(file), out);
}
int x_file_control(sqlite3_file* file, int op, void* arg) {
    // A size hint or chunk size would grow the file without a write: refused, so that every
    // byte passes the quota.
    if (op == SQLITE_FCNTL_SIZE_HINT || op == SQLITE_FCNTL_CHUNK_SIZE) return SQLITE_NOTFOUND;
    return real_of(file)->pMethods->xFileControl(real_of(file), op, arg);
}
int x_sector_size(sqlite3_file* file) {
    return real_of(file)->pMethods->xSectorSize(real_of(file));
}
int x_device_characteristics(sqlite3_file* file) {
    return real_of(file)->pMethods->xDeviceCharacteristics(real_of(file));
}
int x_shm_map(sqlite3_file* file, int page, int size, int extend, void volatile** out) {
    return real_of(file)->pMethods->xShmMap(real_of(file), page, size, extend, out);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
    return real_of(file)->pMethods->xShmLock(real_of(file), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* file) { real_of(file)->pMethods->xShmBarrier(real_of(file)); }
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
    return real_of(file)->pMethods->xShmUnmap(real_of(file), delete_flag);
}

const sqlite3_io_methods io_methods = {
    2,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    nullptr,
    nullptr,
};

int x_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    Impl& self = impl_of(vfs);
    File& f = file_of(file);
    f.base.pMethods = nullptr;
    f.vfs = &self;
    f.key = nullptr;
    f.real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + file_header);
    const int rc = self.real->xOpen(self.real, name, f.real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (f.real->pMethods != nullptr) f.real->pMethods->xClose(f.real);
        return rc;
    }
    const bool tracked =
        name != nullptr &&
        (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL)) != 0;
    if (tracked) {
        sqlite3_int64 size = 0;
        f.real->pMethods->xFileSize(f.real, &size);
        try {
            f.key = new std::string(key_of(name));
            std::lock_guard lock(self.mutex);
            self.sizes[*f.key] = static_cast<std::uint64_t>(size);
        } catch (...) {
            delete f.key;
            f.key = nullptr;
            f.real->pMethods->xClose(f.real);
            return SQLITE_NOMEM;
        }
    }
    f.base.pMethods = &io_methods;
    return SQLITE_OK;
}

int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
    Impl& self = impl_of(vfs);
    const int rc = self.real->xDelete(self.real, name, sync_dir);
    if (rc == SQLITE_OK || rc == SQLITE_IOERR_DELETE_NOENT) {
        std::lock_guard lock(self.mutex);
        self.sizes.erase(key_of(name));
    }
    return rc;
}

// The wrapped VFS, for the methods that only pass through (forward_vfs_methods).
sqlite3_vfs* real_vfs(sqlite3_vfs* vfs) { return impl_of(vfs).real; }

} // namespace

FullVfs::FullVfs(std::string name) : impl_(std::make_unique<Impl>()) {
    Impl& self = *impl_;
    self.real = sqlite3_vfs_find("unix");
    if (self.real == nullptr) throw std::runtime_error("FullVfs: SQLite has no unix VFS");
    self.name = std::move(name);
    sqlite3_vfs& v = self.vfs;
    v.iVersion = 2;
    v.szOsFile = file_header + self.real->szOsFile;
    v.mxPathname = self.real->mxPathname;
    v.zName = self.name.c_str();
    v.pAppData = &self;
    v.xOpen = x_open;
    v.xDelete = x_delete;
    gqs::test::forward_vfs_methods<real_vfs>(v);
    if (sqlite3_vfs_register(&v, 0) != SQLITE_OK)
        throw std::runtime_error("FullVfs: cannot register " + self.name);
}

FullVfs::~FullVfs() { sqlite3_vfs_unregister(&impl_->vfs); }

const std::string& FullVfs::name() const noexcept { return impl_->name; }

void FullVfs::set_quota(std::uint64_t bytes) {
    std::lock_guard lock(impl_->mutex);
    impl_->quota = bytes;
}

std::uint64_t FullVfs::used() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->used();
}

std::uint64_t FullVfs::refused() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->refused;
}

} // namespace gqs::test
