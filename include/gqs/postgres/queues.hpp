// SPDX-License-Identifier: Apache-2.0
// gqs::Queues over PostgreSQL.
#pragma once

#include <gqs/postgres/connection.hpp>
#include <gqs/queues.hpp>

#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace gqs::postgres {

/// The queue limits stored in the schema's `gqs_queues` table (schema version 4; init_db creates
/// it). Thread-safety: safe from any thread and process; shares the Connection's lock. Throws
/// std::invalid_argument for a null connection.
class Queues final : public gqs::Queues {
public:
    explicit Queues(std::shared_ptr<Connection> connection);
    void set_limits(const std::string& queue, const QueueLimits& limits) override;
    [[nodiscard]] QueueLimits limits(const std::string& queue) override;
    void pause(const std::string& queue) override;
    void resume(const std::string& queue) override;
    bool clear(const std::string& queue) override;
    [[nodiscard]] std::vector<std::pair<std::string, QueueLimits>> list() override;

private:
    std::shared_ptr<Connection> connection_;
};

} // namespace gqs::postgres
