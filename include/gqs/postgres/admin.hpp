// SPDX-License-Identifier: Apache-2.0
// gqs::Admin over PostgreSQL.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/postgres/connection.hpp>

#include <memory>

namespace gqs::postgres {

/// Operator actions on the schema's `jobs` table, each one transaction. Thread-safety: safe
/// from any thread; shares the Connection's lock. Throws std::invalid_argument for a null
/// connection.
class Admin final : public gqs::Admin {
public:
    explicit Admin(std::shared_ptr<Connection> connection);
    void retry(const Uuid& id, Duration delay = {}) override;
    std::int64_t retry_all_dead(Duration delay = {}) override;
    void cancel(const Uuid& id) override;
    void remove(const Uuid& id) override;

private:
    std::shared_ptr<Connection> connection_;
};

} // namespace gqs::postgres
