// SPDX-License-Identifier: Apache-2.0
// The conformance suite's factory for PostgreSQL: each queue is a fresh schema in the test
// server (GQS_TEST_POSTGRES; without one the test is skipped, or fails in CI).
#include "conformance/backend.hpp"
#include "support/postgres_schema.hpp"

#include <gqs/postgres.hpp>

#include <memory>
#include <utility>

namespace gqs::conformance {
namespace {

// One Connection and the backend's objects on it.
class PostgresSession final : public Session {
public:
    explicit PostgresSession(std::shared_ptr<postgres::Connection> connection)
        : connection_(std::move(connection)), pusher_(connection_), puller_(connection_),
          observer_(connection_), cleaner_(connection_), admin_(connection_) {}

    Pusher& pusher() override { return pusher_; }
    Puller& puller() override { return puller_; }
    Observer& observer() override { return observer_; }
    Cleaner& cleaner() override { return cleaner_; }
    Admin& admin() override { return admin_; }

private:
    std::shared_ptr<postgres::Connection> connection_;
    postgres::Pusher pusher_;
    postgres::Puller puller_;
    postgres::Observer observer_;
    postgres::Cleaner cleaner_;
    postgres::Admin admin_;
};

std::shared_ptr<postgres::Connection> open_and_init(const test::PgSchema& schema) {
    auto connection = postgres::Connection::open(schema.conninfo(), {.schema = schema.name()});
    postgres::init_db(*connection);
    return connection;
}

class PostgresBackend final : public Backend {
public:
    Pusher& pusher() override { return first_.pusher(); }
    Puller& puller() override { return first_.puller(); }
    Observer& observer() override { return first_.observer(); }
    Cleaner& cleaner() override { return first_.cleaner(); }
    Admin& admin() override { return first_.admin(); }

    std::unique_ptr<Session> open_second() override {
        return std::make_unique<PostgresSession>(
            postgres::Connection::open(schema_.conninfo(), {.schema = schema_.name()}));
    }

private:
    test::PgSchema schema_; // declared first: dropped after the connections closed
    PostgresSession first_{open_and_init(schema_)};
};

} // namespace

std::unique_ptr<Backend> make_backend() { return std::make_unique<PostgresBackend>(); }

} // namespace gqs::conformance
