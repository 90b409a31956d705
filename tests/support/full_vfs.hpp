// SPDX-License-Identifier: Apache-2.0
// A SQLite VFS for disk-full tests: SQLite's "unix" VFS with a quota on the bytes its
// database, journal and WAL files take together; a write that would grow them past it fails
// with SQLITE_FULL, as on a full disk, until the test frees space (raises the quota).
#pragma once

#include <cstdint>
#include <limits>
#include <memory>
#include <string>

namespace gqs::test {

/// A VFS registered under its own name (open a database with it through
/// gqs::sqlite::Options::vfs) that wraps SQLite's "unix" VFS. It tracks the size of every
/// database, rollback journal and WAL file opened through it; a write that would make their
/// sum exceed the quota fails with SQLITE_FULL and writes nothing. Writes inside a file's
/// current size (a WAL reused after a checkpoint, a page rewritten) cost nothing, and a
/// truncate or delete frees what it removes, as on a real file system. Temporary files
/// and the -shm (shared memory) are not counted. Memory-mapped I/O is not offered (the file
/// methods are version 2), so every write passes through xWrite. Thread-safe.
class FullVfs {
public:
    static constexpr std::uint64_t unlimited = std::numeric_limits<std::uint64_t>::max();
    /// Registers the VFS as `name` (not as the default); the quota starts unlimited.
    explicit FullVfs(std::string name = "gqs-full");
    /// Unregisters it. Every handle opened through it must be closed.
    ~FullVfs();
    FullVfs(const FullVfs&) = delete;
    FullVfs& operator=(const FullVfs&) = delete;

    [[nodiscard]] const std::string& name() const noexcept;
    /// The bytes the tracked files may take together (`unlimited`: no limit).
    void set_quota(std::uint64_t bytes);
    /// What the tracked files take now.
    [[nodiscard]] std::uint64_t used() const;
    /// How many writes were refused with SQLITE_FULL so far.
    [[nodiscard]] std::uint64_t refused() const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace gqs::test
