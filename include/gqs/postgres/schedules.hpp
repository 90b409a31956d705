// SPDX-License-Identifier: Apache-2.0
// gqs::Schedules over PostgreSQL.
#pragma once

#include <gqs/postgres/connection.hpp>
#include <gqs/schedules.hpp>

#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace gqs::postgres {

/// The schedules stored in the schema's `gqs_schedules` table (schema version 3; init_db creates
/// it). Thread-safety: safe from any thread and process; shares the Connection's lock. Throws
/// std::invalid_argument for a null connection.
class Schedules final : public gqs::Schedules {
public:
    explicit Schedules(std::shared_ptr<Connection> connection);
    void put(const Schedule& schedule) override;
    bool remove(const std::string& name) override;
    void pause(const std::string& name) override;
    void resume(const std::string& name) override;
    [[nodiscard]] std::vector<ScheduleInfo> list() override;
    [[nodiscard]] std::optional<ScheduleInfo> get(const std::string& name) override;
    PushResult run_now(const std::string& name) override;
    int tick() override;
    [[nodiscard]] std::optional<Duration> next_due_in() override;
    /// Registers with the Connection's push callbacks (see Puller::on_push), which put,
    /// pause, resume and remove call too.
    [[nodiscard]] Subscription on_change(std::function<void()> notify) override;

private:
    std::shared_ptr<Connection> connection_;
};

} // namespace gqs::postgres
