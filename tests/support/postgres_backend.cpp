// SPDX-License-Identifier: Apache-2.0
// The factory of the suites written once, for PostgreSQL: each queue is a PgQueue, a fresh
// schema in the test server (GQS_TEST_POSTGRES; without one the test is skipped, or fails in
// CI), reached directly, or through PgBouncer in transaction mode when GQS_TEST_VIA=pgbouncer
// (GQS_TEST_PGBOUNCER; ctest runs each suite both ways: gqs_add_route_tests).
#include "support/backend.hpp"
#include "support/postgres_queue.hpp"

#include <gqs/postgres.hpp>

#include <libpq-fe.h>

#include <chrono>
#include <cstddef>
#include <cstdlib>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <vector>

namespace gqs::test {
namespace {

using PostgresSession =
    SessionOf<postgres::Connection, postgres::Pusher, postgres::Puller, postgres::Observer,
              postgres::Cleaner, postgres::Admin, postgres::Schedules, postgres::Queues>;

/// The app's statement through libpq on the transaction's connection; false if it failed.
bool run_in(postgres::Transaction& tx, const std::string& sql) {
    PGresult* r = PQexec(tx.native(), sql.c_str());
    const auto status = PQresultStatus(r);
    PQclear(r);
    return status == PGRES_COMMAND_OK || status == PGRES_TUPLES_OK;
}

/// The suites' queue on PostgreSQL: a fresh PgQueue, reached `via` the server or the pooler.
class PostgresBackend final : public Backend {
public:
    explicit PostgresBackend(PgVia via) : queue_(via) {}

    Pusher& pusher() override { return queue_.pusher; }
    Puller& puller() override { return queue_.puller; }
    Observer& observer() override { return queue_.observer; }
    Cleaner& cleaner() override { return queue_.cleaner; }
    Admin& admin() override { return queue_.admin; }
    Schedules& schedules() override { return queue_.schedules; }
    Queues& queues() override { return queue_.queues; }

    std::unique_ptr<Session> open_second() override {
        return std::make_unique<PostgresSession>(queue_.connect());
    }

    std::string db() const override { return queue_.schema.conninfo(); }
    std::vector<std::string> db_options() const override {
        return {"--schema", queue_.schema.name()};
    }
    std::string printed_target() const override {
        if (!conninfo_printed_as_given(db())) return {};
        return "--db " + shell_word(db()) + " --schema " + queue_.schema.name();
    }
    int schema_version() const override { return postgres::schema_version; }

    void exec_sql(const std::string& sql) override { (void)queue_.schema.exec(in_schema() + sql); }

    // The server's jsonb parser recurses too: 40,000 levels need a superuser's larger
    // max_stack_depth, otherwise 10,000 (the tool once crashed from about 50,000).
    std::string nest_metadata_deep() override {
        const auto store = [&](std::size_t levels, const std::string& first) {
            std::string deep = std::string(levels, '[') + "1" + std::string(levels, ']');
            (void)queue_.schema.exec(first + in_schema() + "UPDATE jobs SET metadata = '" + deep +
                                     "'");
            return deep;
        };
        try {
            return store(40000, "SET max_stack_depth = '7680kB'; ");
        } catch (const std::runtime_error&) {
            return store(10000, "");
        }
    }

    std::unique_ptr<AppTransaction> begin_app() override {
        if (!app_table_) {
            (void)queue_.schema.exec("CREATE TABLE " + app_table() + " (x integer)");
            app_table_ = true;
        }
        return std::make_unique<AppTransactionOf<postgres::Transaction, postgres::Pusher>>(
            queue_.db->begin(), queue_.pusher, "INSERT INTO " + app_table() + " (x) VALUES (1)",
            run_in);
    }

    long app_rows() override {
        if (!app_table_) return 0;
        return std::stol(queue_.schema.exec("SELECT count(*) FROM " + app_table()));
    }

    std::string sql_duration(Duration duration) const override {
        return "interval '" +
               std::to_string(
                   std::chrono::duration_cast<std::chrono::microseconds>(duration).count()) +
               " microseconds'";
    }

private:
    // The app's table, in the queue's schema (the app's connection has no search_path).
    [[nodiscard]] std::string app_table() const {
        return "\"" + queue_.schema.name() + "\".app_rows";
    }

    [[nodiscard]] std::string in_schema() const {
        return "SET search_path TO \"" + queue_.schema.name() + "\"; ";
    }

    PgQueue queue_;
    bool app_table_ = false;
};

} // namespace

std::unique_ptr<Backend> make_backend() {
    const char* via = std::getenv("GQS_TEST_VIA");
    const bool pooler = via != nullptr && std::string_view(via) == "pgbouncer";
    return std::make_unique<PostgresBackend>(pooler ? PgVia::Pooler : PgVia::Direct);
}

} // namespace gqs::test
