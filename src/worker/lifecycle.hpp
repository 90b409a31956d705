// SPDX-License-Identifier: Apache-2.0
// Lifecycle: the start/stop rules Worker and CleanWorker share, and the threads of a run.
#pragma once

#include <gqs/time.hpp>

#include <condition_variable>
#include <functional>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

namespace gqs::detail {

/// Owns the threads of a background object's runs and holds them to one set of rules:
/// start while running, or while a thread of a timed-out run still lives, throws
/// DoubleStarted; stop waits up to its timeout for the run's threads (StopTimeout, and a
/// later stop waits again) and throws DoubleStopped when there is nothing to stop; stop from
/// one of the run's own threads throws std::logic_error at once (it would wait for itself);
/// shutdown (for destructors) stops and waits however long it takes.
/// Thread-safety: start, stop and shutdown may be called from any thread; they are
/// serialised. The owner calls shutdown before anything its threads use is destroyed.
class Lifecycle {
public:
    /// `who` names the owner in messages ("gqs::Worker"); `threads` says what a stop waits
    /// for ("handlers").
    Lifecycle(std::string who, std::string threads);
    ~Lifecycle() = default;
    Lifecycle(const Lifecycle&) = delete;
    Lifecycle& operator=(const Lifecycle&) = delete;
    Lifecycle(Lifecycle&&) = delete;
    Lifecycle& operator=(Lifecycle&&) = delete;

    /// Starts a run: `launch` prepares the owner's state and creates the run's threads with
    /// spawn(). If it throws, `abort` asks the threads already started to return; they are
    /// joined and the exception goes on. Throws DoubleStarted as the class comment says.
    void start(const std::function<void()>& launch, const std::function<void()>& abort);

    /// A thread of the run being started; only from within start's `launch`. The thread
    /// counts as running until `body` returns. Throws std::system_error if it cannot be made.
    void spawn(std::function<void()> body);

    /// Ends the run: `request_stop` (called once per run, with the lifecycle serialised)
    /// asks the threads to return; then waits up to `timeout` for them.
    void stop(Duration timeout, const std::function<void()>& request_stop);

    /// stop without a timeout, for destructors; never throws.
    void shutdown(const std::function<void()>& request_stop) noexcept;

private:
    const std::string who_;
    const std::string threads_what_;

    std::mutex lifecycle_; // serialises start, stop and shutdown; guards the two below
    bool running_ = false;
    std::vector<std::jthread> threads_; // of the current run, or of a timed-out one

    std::mutex mutex_; // guards alive_
    std::condition_variable exited_;
    int alive_ = 0; // threads spawned whose body has not returned
};

} // namespace gqs::detail
