// SPDX-License-Identifier: Apache-2.0
// gqs::Cleaner over PostgreSQL.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/postgres/connection.hpp>

#include <memory>
#include <optional>

namespace gqs::postgres {

/// Deletes finished jobs from the schema's `jobs` table, 10,000 per statement (each its own
/// transaction, so locks and dead rows stay bounded): a failure part way leaves the earlier
/// batches deleted. Thread-safety: safe from any thread; shares the Connection's lock.
/// Throws std::invalid_argument for a null connection.
class Cleaner final : public gqs::Cleaner {
public:
    explicit Cleaner(std::shared_ptr<Connection> connection);
    [[nodiscard]] std::int64_t clean(std::optional<Status> status,
                                     std::optional<TimePoint> before) override;

private:
    std::shared_ptr<Connection> connection_;
};

} // namespace gqs::postgres
