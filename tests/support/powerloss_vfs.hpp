// SPDX-License-Identifier: Apache-2.0
// A SQLite VFS for power-loss tests: it records what each file holds as of its last sync and
// the writes since, cuts the power at a chosen I/O event, and writes the files a machine
// would find after rebooting.
#pragma once

#include <cstdint>
#include <filesystem>
#include <limits>
#include <memory>
#include <string>

namespace gqs::test {

/// A VFS registered under its own name (open a database with it through
/// gqs::sqlite::Options::vfs) that wraps SQLite's "unix" VFS.
///
/// What it models. Every write, truncate and sync of a database, rollback journal or WAL
/// file goes to the real file (so reads see it, as a page cache would) and is also recorded:
/// per file, its content as of its last xSync ("durable") and the writes and truncates since
/// then. A sync makes that file's recorded writes durable (the real fsync is skipped: the
/// real files are scratch copies). Each write, truncate, sync and delete is one I/O event,
/// numbered from 0 across every file and thread. cut_power_at(n) makes event n and every
/// later one fail with SQLITE_IOERR, without touching the file: the machine lost power
/// there. write_after_power_loss then writes what a disk could hold after the reboot: each
/// file's durable content, plus, for every write since its last sync (in order), a random
/// subset of the write's 512-byte sectors (each sector all new or all old), and each
/// truncate since then applied or not; the -shm files (shared memory) are gone.
///
/// What it does not model. A delete (of a journal or WAL) is durable at once, as are file
/// creations (directory syncs are not tracked): a journaled file system makes them durable
/// at its next commit, and SQLite's EXTRA level is what covers the other case. Sectors are
/// never garbled (a sector holds either its old or its new bytes, never noise) and a file
/// that grew never shows blocks that were not written. Memory-mapped I/O is not offered
/// (the file methods are version 2), so every page write passes through xWrite. Temporary
/// files are forwarded untracked.
///
/// Thread-safety: every method and every file operation is serialised by one mutex, so the
/// event numbers order the operations of all threads.
class PowerLossVfs {
public:
    static constexpr std::uint64_t never = std::numeric_limits<std::uint64_t>::max();

    /// Registers the VFS as `name` (not as the default). Throws std::runtime_error if SQLite
    /// has no "unix" VFS or the registration fails.
    explicit PowerLossVfs(std::string name = "gqs-powerloss");
    /// Unregisters it. Every handle opened through it must be closed.
    ~PowerLossVfs();
    PowerLossVfs(const PowerLossVfs&) = delete;
    PowerLossVfs& operator=(const PowerLossVfs&) = delete;

    /// The name to pass to sqlite3_open_v2 or Options::vfs.
    [[nodiscard]] const std::string& name() const noexcept;

    /// Forgets every file and event and restores power. The next file opened through it is
    /// taken as durable as it is on disk. Every handle opened through it must be closed.
    void reset();
    /// I/O event `event` (counted from 0 since reset) and every later one fail: the power is
    /// lost there. `never`: it stays on.
    void cut_power_at(std::uint64_t event);
    /// How many I/O events were attempted since reset (failed ones included).
    [[nodiscard]] std::uint64_t events() const;
    /// Whether an event failed because the power was cut.
    [[nodiscard]] bool lost_power() const;
    /// The number of the last sync of a rollback journal or WAL that happened, or `never` if
    /// none did: a commit that returned before it is durable (in WAL mode its frames were
    /// synced; in rollback mode it was durable when it returned, and this is a later one).
    [[nodiscard]] std::uint64_t last_log_sync() const;
    /// How many syncs of `file` (as SQLite named it: an absolute path) happened.
    [[nodiscard]] std::uint64_t syncs(const std::filesystem::path& file) const;

    /// Writes into `to` (an existing directory) the files of `from` as they would be after
    /// the power loss: each tracked file as described above, each unsynced sector (and
    /// truncate) kept with probability `keep`, drawn from `seed` (1: everything written
    /// reached the disk; 0: only what was synced); files of `from` it never opened are
    /// copied as they are; -shm files are left out. May be called again with other seeds.
    void write_after_power_loss(const std::filesystem::path& from, const std::filesystem::path& to,
                                std::uint64_t seed, double keep = 0.5) const;

    struct Impl;

private:
    std::unique_ptr<Impl> impl_;
};

} // namespace gqs::test
