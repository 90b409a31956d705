// SPDX-License-Identifier: Apache-2.0
// PowerLossVfs: the unix VFS, with every write recorded until the file's next sync.
#include "powerloss_vfs.hpp"
#include "vfs_forward.hpp"

#include <sqlite3.h>

#include <algorithm>
#include <cstddef>
#include <fstream>
#include <map>
#include <mutex>
#include <random>
#include <stdexcept>
#include <string_view>
#include <system_error>
#include <utility>
#include <vector>

namespace gqs::test {

namespace {

constexpr std::int64_t sector = 512;

// A write or a truncate not yet synced.
struct Pending {
    bool truncate = false;
    std::int64_t offset = 0; // a truncate's new size
    std::string data;
};

// One file as the disk holds it: `durable` survives a power loss, `pending` may in part.
struct FileState {
    std::string durable;
    std::vector<Pending> pending;
    std::uint64_t syncs = 0;
    bool log = false; // a rollback journal or a WAL
};

void put(std::string& image, std::int64_t offset, std::string_view bytes) {
    const auto at = static_cast<std::size_t>(offset);
    if (image.size() < at + bytes.size()) image.resize(at + bytes.size(), '\0');
    image.replace(at, bytes.size(), bytes);
}

void apply_pending(std::string& image, const Pending& p) {
    if (p.truncate)
        image.resize(static_cast<std::size_t>(p.offset), '\0');
    else
        put(image, p.offset, p.data);
}

// The key a file is known by: SQLite's name for it and a directory listing's agree on it.
std::string key_of(const std::filesystem::path& path) {
    std::error_code ec;
    auto canonical = std::filesystem::weakly_canonical(path, ec);
    return ec ? path.string() : canonical.string();
}

} // namespace

struct PowerLossVfs::Impl {
    sqlite3_vfs vfs{};
    sqlite3_vfs* real = nullptr;
    std::string name;
    mutable std::mutex mutex; // guards everything below
    std::map<std::string, std::unique_ptr<FileState>> files;
    // States of deleted files, kept while a handle may still point at them.
    std::vector<std::unique_ptr<FileState>> deleted;
    std::uint64_t events = 0;
    std::uint64_t cut = never;
    std::uint64_t last_log_sync = never;
    bool lost = false;

    // Counts one I/O event; false if the power is off for it (and from then on).
    bool event() {
        const std::uint64_t n = events++;
        if (n >= cut) lost = true;
        return !lost;
    }
};

namespace {

using Impl = PowerLossVfs::Impl;

// Our file: the real (unix) file follows it in the same allocation.
struct File {
    sqlite3_file base;
    Impl* vfs;
    FileState* state; // null for an untracked (temporary) file
    sqlite3_file* real;
};

constexpr int file_header = static_cast<int>((sizeof(File) + 15) / 16 * 16);

Impl& impl_of(sqlite3_vfs* vfs) { return *static_cast<Impl*>(vfs->pAppData); }
File& file_of(sqlite3_file* file) { return *reinterpret_cast<File*>(file); }
sqlite3_file* real_of(sqlite3_file* file) { return file_of(file).real; }

int x_close(sqlite3_file* file) { return real_of(file)->pMethods->xClose(real_of(file)); }

int x_read(sqlite3_file* file, void* buffer, int amount, sqlite3_int64 offset) {
    return real_of(file)->pMethods->xRead(real_of(file), buffer, amount, offset);
}

int x_write(sqlite3_file* file, const void* buffer, int amount, sqlite3_int64 offset) {
    File& f = file_of(file);
    if (f.state == nullptr) return f.real->pMethods->xWrite(f.real, buffer, amount, offset);
    std::lock_guard lock(f.vfs->mutex);
    if (!f.vfs->event()) return SQLITE_IOERR_WRITE;
    const int rc = f.real->pMethods->xWrite(f.real, buffer, amount, offset);
    if (rc == SQLITE_OK)
        f.state->pending.push_back(
            {false, offset,
             std::string(static_cast<const char*>(buffer), static_cast<std::size_t>(amount))});
    return rc;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
    File& f = file_of(file);
    if (f.state == nullptr) return f.real->pMethods->xTruncate(f.real, size);
    std::lock_guard lock(f.vfs->mutex);
    if (!f.vfs->event()) return SQLITE_IOERR_TRUNCATE;
    const int rc = f.real->pMethods->xTruncate(f.real, size);
    if (rc == SQLITE_OK) f.state->pending.push_back({true, size, {}});
    return rc;
}

// The real fsync is skipped: the real file is a scratch copy, and the durable content is ours.
int x_sync(sqlite3_file* file, int flags) {
    File& f = file_of(file);
    if (f.state == nullptr) return f.real->pMethods->xSync(f.real, flags);
    std::lock_guard lock(f.vfs->mutex);
    const std::uint64_t n = f.vfs->events;
    if (!f.vfs->event()) return SQLITE_IOERR_FSYNC;
    for (const auto& p : f.state->pending)
        apply_pending(f.state->durable, p);
    f.state->pending.clear();
    ++f.state->syncs;
    if (f.state->log) f.vfs->last_log_sync = n;
    return SQLITE_OK;
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

// Version 2: shared memory (WAL) but no xFetch, so SQLite never writes through a mapping.
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

std::string read_all(sqlite3_file* real) {
    sqlite3_int64 size = 0;
    if (real->pMethods->xFileSize(real, &size) != SQLITE_OK || size <= 0) return {};
    std::string bytes(static_cast<std::size_t>(size), '\0');
    if (real->pMethods->xRead(real, bytes.data(), static_cast<int>(size), 0) != SQLITE_OK)
        throw std::runtime_error("PowerLossVfs: cannot read a file it opens");
    return bytes;
}

int x_open(sqlite3_vfs* vfs, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
    Impl& self = impl_of(vfs);
    File& f = file_of(file);
    f.base.pMethods = nullptr;
    f.vfs = &self;
    f.state = nullptr;
    f.real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + file_header);
    const bool tracked =
        name != nullptr &&
        (flags & (SQLITE_OPEN_MAIN_DB | SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL)) != 0;
    std::lock_guard lock(self.mutex);
    if (tracked && self.lost && (flags & SQLITE_OPEN_CREATE) != 0) {
        // No power: no new files either.
        int exists = 0;
        self.real->xAccess(self.real, name, SQLITE_ACCESS_EXISTS, &exists);
        if (exists == 0) return SQLITE_CANTOPEN;
    }
    const int rc = self.real->xOpen(self.real, name, f.real, flags, out_flags);
    if (rc != SQLITE_OK) {
        if (f.real->pMethods != nullptr) f.real->pMethods->xClose(f.real);
        return rc;
    }
    if (tracked) {
        auto& state = self.files[key_of(name)];
        if (!state) {
            // First seen: what is on disk now is durable.
            state = std::make_unique<FileState>();
            state->log = (flags & (SQLITE_OPEN_MAIN_JOURNAL | SQLITE_OPEN_WAL)) != 0;
            try {
                state->durable = read_all(f.real);
            } catch (const std::exception&) {
                f.real->pMethods->xClose(f.real);
                return SQLITE_IOERR_READ;
            }
        }
        f.state = state.get();
    }
    f.base.pMethods = &io_methods;
    return SQLITE_OK;
}

int x_delete(sqlite3_vfs* vfs, const char* name, int sync_dir) {
    Impl& self = impl_of(vfs);
    std::lock_guard lock(self.mutex);
    if (!self.event()) return SQLITE_IOERR_DELETE;
    const int rc = self.real->xDelete(self.real, name, sync_dir);
    if (rc == SQLITE_OK || rc == SQLITE_IOERR_DELETE_NOENT) {
        auto it = self.files.find(key_of(name));
        if (it != self.files.end()) {
            self.deleted.push_back(std::move(it->second));
            self.files.erase(it);
        }
    }
    return rc;
}

// The wrapped VFS, for the methods that only pass through (forward_vfs_methods).
sqlite3_vfs* real_vfs(sqlite3_vfs* vfs) { return impl_of(vfs).real; }

} // namespace

PowerLossVfs::PowerLossVfs(std::string name) : impl_(std::make_unique<Impl>()) {
    Impl& self = *impl_;
    self.real = sqlite3_vfs_find("unix");
    if (self.real == nullptr) throw std::runtime_error("PowerLossVfs: SQLite has no unix VFS");
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
        throw std::runtime_error("PowerLossVfs: cannot register " + self.name);
}

PowerLossVfs::~PowerLossVfs() { sqlite3_vfs_unregister(&impl_->vfs); }

const std::string& PowerLossVfs::name() const noexcept { return impl_->name; }

void PowerLossVfs::reset() {
    std::lock_guard lock(impl_->mutex);
    impl_->files.clear();
    impl_->deleted.clear();
    impl_->events = 0;
    impl_->cut = never;
    impl_->last_log_sync = never;
    impl_->lost = false;
}

void PowerLossVfs::cut_power_at(std::uint64_t event) {
    std::lock_guard lock(impl_->mutex);
    impl_->cut = event;
}

std::uint64_t PowerLossVfs::events() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->events;
}

bool PowerLossVfs::lost_power() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->lost;
}

std::uint64_t PowerLossVfs::last_log_sync() const {
    std::lock_guard lock(impl_->mutex);
    return impl_->last_log_sync;
}

std::uint64_t PowerLossVfs::syncs(const std::filesystem::path& file) const {
    std::lock_guard lock(impl_->mutex);
    auto it = impl_->files.find(key_of(file));
    return it == impl_->files.end() ? 0 : it->second->syncs;
}

void PowerLossVfs::write_after_power_loss(const std::filesystem::path& from,
                                          const std::filesystem::path& to, std::uint64_t seed,
                                          double keep) const {
    std::vector<std::filesystem::path> names;
    for (const auto& entry : std::filesystem::directory_iterator(from))
        if (entry.is_regular_file()) names.push_back(entry.path().filename());
    std::sort(names.begin(), names.end()); // the same draws for the same seed
    std::mt19937_64 random(seed);
    std::bernoulli_distribution kept(keep);
    std::lock_guard lock(impl_->mutex);
    for (const auto& name : names) {
        const std::string text = name.string();
        if (text.size() >= 4 && text.compare(text.size() - 4, 4, "-shm") == 0) continue;
        auto it = impl_->files.find(key_of(from / name));
        if (it == impl_->files.end()) {
            std::filesystem::copy_file(from / name, to / name,
                                       std::filesystem::copy_options::overwrite_existing);
            continue;
        }
        const FileState& state = *it->second;
        std::string image = state.durable;
        for (const auto& p : state.pending) {
            if (p.truncate) {
                if (kept(random)) apply_pending(image, p);
                continue;
            }
            const std::int64_t end = p.offset + static_cast<std::int64_t>(p.data.size());
            for (std::int64_t at = p.offset; at < end;) {
                const std::int64_t next = std::min(end, (at / sector + 1) * sector);
                if (kept(random))
                    put(image, at,
                        std::string_view(p.data).substr(static_cast<std::size_t>(at - p.offset),
                                                        static_cast<std::size_t>(next - at)));
                at = next;
            }
        }
        std::ofstream out(to / name, std::ios::binary | std::ios::trunc);
        out.write(image.data(), static_cast<std::streamsize>(image.size()));
        if (!out) throw std::runtime_error("PowerLossVfs: cannot write " + (to / name).string());
    }
}

} // namespace gqs::test
