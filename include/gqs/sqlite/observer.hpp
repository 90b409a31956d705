// SPDX-License-Identifier: Apache-2.0
// gqs::Observer over SQLite.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/sqlite/connection.hpp>

#include <memory>
#include <optional>

namespace gqs::sqlite {

/// Reads jobs from the `jobs` table. A row written by another program with metadata that is
/// not valid JSON reads back as a JSON string holding the raw text; an unknown status value
/// reads as Status::Unknown. Thread-safety: safe from any thread; shares the Connection's
/// lock. Throws std::invalid_argument for a null connection.
class Observer final : public gqs::Observer {
public:
    explicit Observer(std::shared_ptr<Connection> connection);
    [[nodiscard]] std::optional<Job> get(const Uuid& id) override;
    [[nodiscard]] std::vector<Job> list(std::optional<Status> status, int limit) override;
    /// The page after `after` (keyset paging: stable while jobs are added or removed).
    [[nodiscard]] std::vector<Job> list_after(std::optional<Status> status, int limit,
                                              const Cursor& after) override;
    /// One read-only query. Counting reads a status index, not the table: proportional to
    /// the number of jobs, tens of milliseconds per million.
    [[nodiscard]] Stats stats() override;

private:
    std::shared_ptr<Connection> connection_;
};

} // namespace gqs::sqlite
