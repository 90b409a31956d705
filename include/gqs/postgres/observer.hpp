// SPDX-License-Identifier: Apache-2.0
// gqs::Observer over PostgreSQL.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/postgres/connection.hpp>

#include <memory>
#include <optional>

namespace gqs::postgres {

/// Reads jobs from the schema's `jobs` table. Thread-safety: safe from any thread; shares
/// the Connection's lock. Throws std::invalid_argument for a null connection.
class Observer final : public gqs::Observer {
public:
    explicit Observer(std::shared_ptr<Connection> connection);
    [[nodiscard]] std::optional<Job> get(const Uuid& id) override;
    [[nodiscard]] std::vector<Job> list(std::optional<Status> status, int limit) override;
    /// The page after `after` (keyset paging: stable while jobs are added or removed).
    [[nodiscard]] std::vector<Job> list_after(std::optional<Status> status, int limit,
                                              const Cursor& after) override;
    /// One read-only query; counting reads the status indexes, proportional to the jobs.
    [[nodiscard]] Stats stats() override;

private:
    std::shared_ptr<Connection> connection_;
};

} // namespace gqs::postgres
