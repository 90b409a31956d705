// SPDX-License-Identifier: Apache-2.0
// The generic operations a backend may choose: settle_one_by_one, settle_then_pull,
// list_after_by_scan and stats_by_scan, over an in-memory double.
#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>

#include "support/catch.hpp"

#include <string>
#include <vector>

using namespace std::chrono_literals;
using gqs::Action;

namespace {

// A Puller that records single calls and uses every generic helper. A job with attempts 0
// stands for a lost lease.
struct RecordingPuller final : gqs::Puller {
    std::vector<std::string> calls;
    std::vector<gqs::Job> pull(int batch, gqs::Duration,
                               std::span<const std::string> = {}) override {
        calls.push_back("pull " + std::to_string(batch));
        return std::vector<gqs::Job>(static_cast<std::size_t>(batch));
    }
    void extend_lock(gqs::Job&, gqs::Duration) override {}
    void complete(gqs::Job& j) override { record("complete", j); }
    void requeue(gqs::Job& j, gqs::Duration, std::string_view) override { record("requeue", j); }
    void kill(gqs::Job& j, std::string_view) override { record("kill", j); }
    void snooze(gqs::Job& j, gqs::Duration) override { record("snooze", j); }
    void release(gqs::Job& j) override { record("release", j); }
    std::vector<gqs::SettleResult> settle(std::span<const gqs::Settlement> s) override {
        return gqs::settle_one_by_one(*this, s);
    }
    std::vector<gqs::Job> settle_and_pull(std::span<const gqs::Settlement> s,
                                          std::vector<gqs::SettleResult>& results, int batch,
                                          gqs::Duration lock,
                                          std::span<const std::string> queues = {}) override {
        return gqs::settle_then_pull(*this, s, results, batch, lock, queues);
    }
    gqs::Subscription on_push(std::function<void()>) override { return {}; }
    bool has_ready(std::span<const std::string>) override { return true; }
    gqs::PullerCapabilities capabilities() const noexcept override { return {}; }

private:
    void record(const char* verb, const gqs::Job& j) {
        if (j.attempts == 0) throw gqs::JobLost("lost");
        calls.emplace_back(verb);
    }
};

} // namespace

TEST_CASE("fallbacks: settle_one_by_one applies each through its single call", "[fallbacks]") {
    RecordingPuller puller;
    gqs::Job a, lost, c, d;
    a.attempts = c.attempts = d.attempts = 1;
    std::vector<gqs::Settlement> s{{gqs::lease_of(a), Action::Complete, {}},
                                   {gqs::lease_of(lost), Action::Complete, {}},
                                   {gqs::lease_of(c), Action::Requeue, 5ms},
                                   {gqs::lease_of(d), Action::Release, {}}};
    auto results = puller.settle(s);
    REQUIRE(results.size() == 4);
    CHECK(results[0].applied());
    CHECK(results[1].status == gqs::SettleStatus::LeaseLost);
    CHECK(results[1].error == "lost");
    CHECK(results[2].applied());
    CHECK(results[2].next_run_at.has_value());
    CHECK(results[3].applied());
    CHECK(puller.calls == std::vector<std::string>{"complete", "requeue", "release"});

    // Bad entries throw before anything is applied.
    puller.calls.clear();
    std::vector<gqs::Settlement> bad{{gqs::lease_of(a), Action::Complete, {}},
                                     {gqs::lease_of(c), Action::Requeue, -1ms}};
    CHECK_THROWS_AS(puller.settle(bad), std::invalid_argument);
    CHECK(puller.calls.empty());
}

TEST_CASE("fallbacks: settle_then_pull settles, then pulls only for a positive batch",
          "[fallbacks]") {
    RecordingPuller puller;
    gqs::Job a;
    a.attempts = 1;
    std::vector<gqs::Settlement> s{{gqs::lease_of(a), Action::Kill, {}}};
    std::vector<gqs::SettleResult> results;
    auto jobs = puller.settle_and_pull(s, results, 3, 1s);
    CHECK(jobs.size() == 3);
    CHECK(results.size() == 1);
    CHECK(puller.calls == std::vector<std::string>{"kill", "pull 3"});
    puller.calls.clear();
    CHECK(puller.settle_and_pull({}, results, 0, 1s).empty());
    CHECK(puller.calls.empty());
}

namespace {

struct ListObserver final : gqs::Observer {
    std::vector<gqs::Job> jobs; // in list order
    std::optional<gqs::Job> get(const gqs::Uuid&) override { return std::nullopt; }
    std::vector<gqs::Job> list(gqs::Status status, int) override {
        std::vector<gqs::Job> out;
        for (const auto& j : jobs)
            if (status == gqs::Status::Unknown || j.status == status) out.push_back(j);
        return out;
    }
    std::vector<gqs::Job> list_after(gqs::Status status, int limit,
                                     const gqs::Cursor& after) override {
        return gqs::list_after_by_scan(*this, status, limit, after);
    }
    gqs::Stats stats() override { return gqs::stats_by_scan(*this); }
};

gqs::Job job_at(int second, gqs::Status status) {
    gqs::Job j;
    j.created_at = gqs::TimePoint(std::chrono::seconds(second));
    j.status = status;
    j.next_run_at = j.created_at;
    return j;
}

} // namespace

TEST_CASE("fallbacks: list_after_by_scan pages and stats_by_scan counts", "[fallbacks]") {
    ListObserver observer;
    for (int i = 0; i < 5; ++i)
        observer.jobs.push_back(job_at(i, gqs::Status::Pending));
    observer.jobs.push_back(job_at(5, gqs::Status::Done));
    auto leased = job_at(6, gqs::Status::Processing);
    leased.locked_until = gqs::TimePoint(std::chrono::seconds(7)); // long expired
    observer.jobs.push_back(leased);

    auto page = observer.list_after(gqs::Status::Pending, 2, gqs::cursor_of(observer.jobs[1]));
    REQUIRE(page.size() == 2);
    CHECK(page[0].id == observer.jobs[2].id);
    CHECK(page[1].id == observer.jobs[3].id);
    CHECK(observer.list_after(gqs::Status::Pending, 0, gqs::cursor_of(observer.jobs[4])).empty());

    auto stats = observer.stats();
    CHECK(stats.pending == 5);
    CHECK(stats.done == 1);
    CHECK(stats.processing == 1);
    CHECK(stats.expired_leases == 1);
    REQUIRE(stats.oldest_ready.has_value());
    CHECK(*stats.oldest_ready == observer.jobs[0].next_run_at);
}
