// SPDX-License-Identifier: Apache-2.0
// The conformance suite's factory for SQLite: each queue is a fresh file in its own temp dir.
#include "conformance/backend.hpp"
#include "support/test_support.hpp"

#include <gqs/sqlite.hpp>

#include <memory>
#include <utility>

namespace gqs::conformance {
namespace {

// One Connection and the backend's objects on it.
class SqliteSession final : public Session {
public:
    explicit SqliteSession(std::shared_ptr<sqlite::Connection> connection)
        : connection_(std::move(connection)), pusher_(connection_), puller_(connection_),
          observer_(connection_), cleaner_(connection_), admin_(connection_) {}

    Pusher& pusher() override { return pusher_; }
    Puller& puller() override { return puller_; }
    Observer& observer() override { return observer_; }
    Cleaner& cleaner() override { return cleaner_; }
    Admin& admin() override { return admin_; }

private:
    std::shared_ptr<sqlite::Connection> connection_;
    sqlite::Pusher pusher_;
    sqlite::Puller puller_;
    sqlite::Observer observer_;
    sqlite::Cleaner cleaner_;
    sqlite::Admin admin_;
};

std::shared_ptr<sqlite::Connection> open_and_init(const std::filesystem::path& path) {
    auto connection = sqlite::Connection::open(path);
    sqlite::init_db(*connection);
    return connection;
}

class SqliteBackend final : public Backend {
public:
    Pusher& pusher() override { return first_.pusher(); }
    Puller& puller() override { return first_.puller(); }
    Observer& observer() override { return first_.observer(); }
    Cleaner& cleaner() override { return first_.cleaner(); }
    Admin& admin() override { return first_.admin(); }

    std::unique_ptr<Session> open_second() override {
        return std::make_unique<SqliteSession>(sqlite::Connection::open(tmp_.path()));
    }

private:
    test::TempDb tmp_; // declared first: the file outlives the connections
    SqliteSession first_{open_and_init(tmp_.path())};
};

} // namespace

std::unique_ptr<Backend> make_backend() { return std::make_unique<SqliteBackend>(); }

} // namespace gqs::conformance
