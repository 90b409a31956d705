// SPDX-License-Identifier: Apache-2.0
// The factory of the suites written once, for SQLite: each queue is a SqliteQueue, a fresh
// file in its own temp dir.
#include "support/backend.hpp"
#include "support/sqlite_queue.hpp"

#include <gqs/sqlite.hpp>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <chrono>
#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace gqs::test {
namespace {

using SqliteSession =
    SessionOf<sqlite::Connection, sqlite::Pusher, sqlite::Puller, sqlite::Observer, sqlite::Cleaner,
              sqlite::Admin, sqlite::Schedules, sqlite::Queues>;

// The app's statement on the transaction's handle; false if SQLite refused it.
bool run_in(sqlite::Transaction& tx, const std::string& sql) {
    try {
        tx.database().exec(sql);
        return true;
    } catch (const SQLite::Exception&) {
        return false;
    }
}

class SqliteBackend final : public Backend {
public:
    Pusher& pusher() override { return queue_.pusher; }
    Puller& puller() override { return queue_.puller; }
    Observer& observer() override { return queue_.observer; }
    Cleaner& cleaner() override { return queue_.cleaner; }
    Admin& admin() override { return queue_.admin; }
    Schedules& schedules() override { return queue_.schedules; }
    Queues& queues() override { return queue_.queues; }

    std::unique_ptr<Session> open_second() override {
        return std::make_unique<SqliteSession>(queue_.second_connection());
    }

    std::string db() const override { return queue_.tmp.path().string(); }
    std::vector<std::string> db_options() const override { return {}; }
    std::string printed_target() const override { return "--db " + shell_word(db()); }
    int schema_version() const override { return sqlite::schema_version; }

    void exec_sql(const std::string& sql) override { open_file().exec(sql); }

    // SQLite stores any text: 100,000 levels (the tool once crashed from about 50,000).
    std::string nest_metadata_deep() override {
        const std::size_t levels = 100000;
        std::string deep = std::string(levels, '[') + "1" + std::string(levels, ']');
        auto file = open_file();
        SQLite::Statement update(file, "UPDATE jobs SET metadata = ?");
        update.bind(1, deep);
        (void)update.exec();
        return deep;
    }

    std::unique_ptr<AppTransaction> begin_app() override {
        if (!app_table_) {
            // As the README's outbox does: the app's table in the queue's file, made under
            // gqs's lock.
            queue_.db->with_database(
                [](SQLite::Database& raw) { raw.exec("CREATE TABLE app_rows (x INTEGER)"); });
            app_table_ = true;
        }
        return std::make_unique<AppTransactionOf<sqlite::Transaction, sqlite::Pusher>>(
            queue_.db->begin(), queue_.pusher, "INSERT INTO app_rows (x) VALUES (1)", run_in);
    }

    long app_rows() override {
        if (!app_table_) return 0;
        auto file = open_file();
        return file.execAndGet("SELECT count(*) FROM app_rows").getInt64();
    }

    // Times are integer microseconds since the epoch.
    std::string sql_duration(Duration duration) const override {
        return std::to_string(
            std::chrono::duration_cast<std::chrono::microseconds>(duration).count());
    }

private:
    // The file as another program opens it: a connection of its own, not gqs's.
    [[nodiscard]] SQLite::Database open_file() const {
        SQLite::Database file(db(), SQLite::OPEN_READWRITE);
        file.setBusyTimeout(30000);
        return file;
    }

    SqliteQueue queue_;
    bool app_table_ = false;
};

} // namespace

std::unique_ptr<Backend> make_backend() { return std::make_unique<SqliteBackend>(); }

} // namespace gqs::test
