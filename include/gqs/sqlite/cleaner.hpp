// SPDX-License-Identifier: Apache-2.0
// gqs::Cleaner over SQLite.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/sqlite/connection.hpp>

#include <memory>
#include <optional>

namespace gqs::sqlite {

/// Deletes finished jobs from the `jobs` table in one statement. Thread-safety: safe from
/// any thread; shares the Connection's lock. Throws std::invalid_argument for a null
/// connection.
class Cleaner final : public gqs::Cleaner {
public:
    explicit Cleaner(std::shared_ptr<Connection> connection);
    [[nodiscard]] std::int64_t clean(std::optional<Status> status,
                                     std::optional<TimePoint> before) override;

private:
    std::shared_ptr<Connection> connection_;
};

} // namespace gqs::sqlite
