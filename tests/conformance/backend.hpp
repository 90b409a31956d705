// SPDX-License-Identifier: Apache-2.0
// The seam between the conformance suite and a backend: what a backend's factory provides.
#pragma once

#include <gqs/interfaces.hpp>

#include <memory>

// The conformance suite (tests/conformance/*_test.cpp) is written once against this header
// and never names a backend. Each backend adds one factory file that defines make_backend()
// (sqlite_backend.cpp is the model) and one line of CMake:
// gqs_add_conformance(<backend> conformance/<backend>_backend.cpp [libraries...]).
namespace gqs::conformance {

/// The interface objects on one connection to a queue, as one process holds them. The
/// objects live as long as the Session and are safe to use from several threads at once
/// (the suite's thread tests share one Session between threads).
class Session {
public:
    Session() = default;
    virtual ~Session() = default;
    Session(const Session&) = delete;
    Session& operator=(const Session&) = delete;
    Session(Session&&) = delete;
    Session& operator=(Session&&) = delete;

    [[nodiscard]] virtual Pusher& pusher() = 0;
    [[nodiscard]] virtual Puller& puller() = 0;
    [[nodiscard]] virtual Observer& observer() = 0;
    [[nodiscard]] virtual Cleaner& cleaner() = 0;
    [[nodiscard]] virtual Admin& admin() = 0;
};

/// A queue owned by one test: initialised and empty when made, and gone (with every file or
/// schema it used) when destroyed. Its own interface objects are the test's first Session.
class Backend : public Session {
public:
    /// Another, independent Session on a connection of its own to the same queue, as
    /// another process would have: the fencing and "never share a lease" tests pull through
    /// both. The test destroys it before the Backend.
    [[nodiscard]] virtual std::unique_ptr<Session> open_second() = 0;
};

/// A fresh queue for one test. Defined once per test program, by the backend's factory file.
[[nodiscard]] std::unique_ptr<Backend> make_backend();

} // namespace gqs::conformance
