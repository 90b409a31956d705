// SPDX-License-Identifier: Apache-2.0
// What the suites written once use: a fresh queue from the backend's factory, and shorthands.
#pragma once

#include "support/backend.hpp"
#include "support/queue_ops.hpp"
#include "support/test_support.hpp"

#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>

#include <chrono>
#include <cstddef>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gqs::test {

/// A fresh, empty queue of the backend under test, with its first Session's objects.
struct Queue {
    std::unique_ptr<Backend> backend = make_backend();
    Pusher& pusher = backend->pusher();
    Puller& puller = backend->puller();
    Observer& observer = backend->observer();
    Cleaner& cleaner = backend->cleaner();
    Admin& admin = backend->admin();
    Schedules& schedules = backend->schedules();
    Queues& queues = backend->queues();

    /// Another connection to the same queue (see Backend::open_second); destroy it first.
    [[nodiscard]] std::unique_ptr<Session> open_second() { return backend->open_second(); }

    /// Pushes one message with the given payload; returns it.
    Message push(std::string payload = "p", Duration delay = {}) {
        return push_one(pusher, std::move(payload), delay);
    }

    /// Pushes this message; returns it.
    Message push(Message m, Duration delay = {}) {
        (void)pusher.push(m, delay);
        return m;
    }

    /// The stored job; throws (failing the test) if it is missing.
    Job stored(const Uuid& id) { return stored_job(observer, id); }

    /// How many jobs the queue holds, in every status.
    std::size_t count() { return observer.list(std::nullopt, 0).size(); }

    /// How many jobs have this status.
    std::size_t count(Status status) { return observer.list(status, 0).size(); }

    /// True when the job exists with this status.
    bool has_status(const Uuid& id, Status status) {
        auto found = observer.get(id);
        return found && found->status == status;
    }

    /// Leases the one runnable job for `lock`; throws unless exactly one was leased.
    Job pull_one(Duration lock = std::chrono::hours(1)) {
        auto jobs = puller.pull(1, lock);
        if (jobs.size() != 1)
            throw std::runtime_error("pull_one: pulled " + std::to_string(jobs.size()) + " jobs");
        return jobs.front();
    }

    /// Pushes a job, pulls it and kills it with `error`; returns it as pulled.
    Job dead_job(const std::string& error = {}) {
        push();
        auto job = pull_one();
        puller.kill(job, error);
        return job;
    }

    /// Leaves the queue with 2 Pending, 1 Processing, 2 Done and 1 Dead jobs: pushes six,
    /// pulls the four oldest, completes the first two and kills the third. Returns the ids in
    /// push order: 0, 1 Done; 2 Dead; 3 Processing; 4, 5 Pending.
    std::vector<Uuid> mixed() {
        std::vector<Uuid> ids;
        for (int i = 0; i < 6; ++i)
            ids.push_back(push(std::to_string(i)).id);
        auto jobs = puller.pull(4, std::chrono::hours(1)); // ids 0..3, oldest first
        if (jobs.size() != 4)
            throw std::runtime_error("mixed: pulled " + std::to_string(jobs.size()) + ", not 4");
        puller.complete(jobs[0]);
        puller.complete(jobs[1]);
        puller.kill(jobs[2]);
        return ids;
    }
};

} // namespace gqs::test
