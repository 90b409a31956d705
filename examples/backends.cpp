// SPDX-License-Identifier: Apache-2.0
// One producer + worker program on either backend: a SQLite file or a PostgreSQL database.
#include <gqs/gqs.hpp>
#include <gqs/sqlite.hpp>
#include <gqs/worker.hpp>
#ifdef GQS_EXAMPLE_POSTGRES
#include <gqs/postgres.hpp>

#include <libpq-fe.h>
#include <unistd.h>
#endif

#include <chrono>
#include <condition_variable>
#include <cstdlib>
#include <exception>
#include <iostream>
#include <memory>
#include <mutex>
#include <optional>
#include <stdexcept>
#include <stop_token>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

using namespace std::chrono_literals;

namespace {

constexpr std::string_view usage =
    "usage: backends --db PATH|CONNINFO [--schema NAME] [--jobs N]\n"
    "  --db      a SQLite file, or a PostgreSQL database: a URI (postgresql://user@host/db,\n"
    "            postgres://...) or a key=value conninfo (\"host=/run/postgresql dbname=app\")\n"
    "  --schema  PostgreSQL only: the schema that holds the queue (default public)\n"
    "  --jobs    how many jobs to push and work (default 20)\n"
    "       backends --test-postgres\n"
    "            (ctest) the server in GQS_TEST_POSTGRES, in a schema of its own that is\n"
    "            dropped at the end; prints GQS_SKIP when the variable is unset\n";

// The backend-neutral view of a queue: everything after opening uses only these.
struct Queue {
    std::string backend; // "sqlite" or "postgresql"
    std::unique_ptr<gqs::Pusher> pusher;
    std::unique_ptr<gqs::Puller> puller;
    std::unique_ptr<gqs::Observer> observer;
};

// The only backend-specific code: open a Connection, create the tables if needed, and build
// the classes on it. One Connection per process is shared by all of them.
Queue open_queue(const std::string& db, const std::optional<std::string>& schema) {
    // gqs::backend_of: a libpq URI or a conninfo starting `keyword=`; anything else is a
    // SQLite file name (so ./a=b.db is a file).
    if (gqs::backend_of(db) == gqs::BackendKind::Postgres) {
#ifdef GQS_EXAMPLE_POSTGRES
        auto connection =
            gqs::postgres::Connection::open(db, {.schema = schema.value_or("public")});
        gqs::postgres::init_db(*connection); // creates the schema and tables if missing
        return {"postgresql", std::make_unique<gqs::postgres::Pusher>(connection),
                std::make_unique<gqs::postgres::Puller>(connection),
                std::make_unique<gqs::postgres::Observer>(connection)};
#else
        throw std::runtime_error("this build has no PostgreSQL backend (libpq was not found)");
#endif
    }
    if (schema) throw std::invalid_argument("--schema is for PostgreSQL only");
    auto connection = gqs::sqlite::Connection::open(db);
    gqs::sqlite::init_db(*connection);
    return {"sqlite", std::make_unique<gqs::sqlite::Pusher>(connection),
            std::make_unique<gqs::sqlite::Puller>(connection),
            std::make_unique<gqs::sqlite::Observer>(connection)};
}

// Pushes `total` jobs, works them with a gqs::Worker until every one is Done, and stops.
// Knows nothing about the backend.
int run(Queue& queue, int total) {
    std::mutex mutex;
    std::condition_variable progress;
    int finished = 0; // handlers that returned or threw

    // Job 3 fails on its first attempt, to show a retry; every other job succeeds.
    auto handler = [&](const gqs::Job& job, std::stop_token) {
        struct Wake {
            std::mutex& mutex;
            std::condition_variable& cv;
            int& count;
            ~Wake() {
                std::lock_guard lock(mutex);
                ++count;
                cv.notify_all();
            }
        } wake{mutex, progress, finished};
        if (job.get<int>("n") == 3 && job.attempts == 1)
            throw std::runtime_error("flaky on the first attempt");
    };

    gqs::WorkerConfig config;
    config.concurrency = 4;
    config.batch_size = 8;
    config.pull_interval = 200ms; // the fallback: pushes wake an idle worker at once
    config.lock_timeout = 10s;
    config.backoff.initial_interval = 100ms;
    config.backoff.max_retries = 3;
    gqs::Worker worker(*queue.puller, handler, config);
    worker.start();

    // The producer pushes one job at a time while the worker runs, so each push wakes it (on
    // PostgreSQL through NOTIFY, on SQLite through the Connection).
    std::vector<gqs::Uuid> ids;
    for (int i = 0; i < total; ++i) {
        gqs::Message message;
        message.set("n", i);
        message.payload = "job #" + std::to_string(i);
        ids.push_back(queue.pusher->push(message).id);
    }

    // Wait until every job of this run is Done (the queue may hold older jobs too).
    const auto all_done = [&] {
        for (const auto& id : ids) {
            const auto job = queue.observer->get(id);
            if (!job || job->status != gqs::Status::Done) return false;
        }
        return true;
    };
    const auto deadline = std::chrono::steady_clock::now() + 60s;
    bool done = false;
    while (!(done = all_done()) && std::chrono::steady_clock::now() < deadline) {
        std::unique_lock lock(mutex);
        const int seen = finished;
        progress.wait_for(lock, 100ms, [&] { return finished != seen; });
    }
    worker.stop(5s);
    if (!done) {
        std::cout << "backends: not every job was done within 60 s on " << queue.backend << '\n';
        return 1;
    }
    std::cout << "backends: " << total << " jobs done on " << queue.backend << '\n';
    return 0;
}

#ifdef GQS_EXAMPLE_POSTGRES
// For the ctest entry: a schema of this process's own, dropped (with the queue in it) when
// the test ends, through a gqs Transaction's libpq connection.
class TempSchema {
public:
    TempSchema(std::string conninfo, std::string name)
        : conninfo_(std::move(conninfo)), name_(std::move(name)) {}
    TempSchema(const TempSchema&) = delete;
    TempSchema& operator=(const TempSchema&) = delete;
    ~TempSchema() {
        try {
            auto connection = gqs::postgres::Connection::open(conninfo_, {.schema = name_});
            auto tx = connection->begin();
            PGresult* result =
                PQexec(tx.native(), ("DROP SCHEMA IF EXISTS \"" + name_ + "\" CASCADE").c_str());
            const bool ok = PQresultStatus(result) == PGRES_COMMAND_OK;
            if (!ok) std::cerr << "drop schema: " << PQresultErrorMessage(result);
            PQclear(result);
            if (ok) tx.commit();
        } catch (const std::exception& e) {
            std::cerr << "drop schema " << name_ << ": " << e.what() << '\n';
        }
    }

private:
    std::string conninfo_;
    std::string name_;
};
#endif

int test_postgres(int total) {
#ifdef GQS_EXAMPLE_POSTGRES
    const char* conninfo = std::getenv("GQS_TEST_POSTGRES");
    if (conninfo == nullptr || *conninfo == '\0') {
        // CI sets GQS_REQUIRE_POSTGRES=1: there a missing server is a failure, not a skip.
        const char* require = std::getenv("GQS_REQUIRE_POSTGRES");
        if (require != nullptr && std::string_view(require) == "1") {
            std::cout << "backends: GQS_REQUIRE_POSTGRES=1 but GQS_TEST_POSTGRES is not set\n";
            return 1;
        }
        std::cout << "GQS_SKIP: GQS_TEST_POSTGRES is not set (no PostgreSQL server)\n";
        return 0;
    }
    const std::string schema = "gqs_example_" + std::to_string(::getpid());
    TempSchema drop_at_end(conninfo, schema);
    Queue queue = open_queue(conninfo, schema);
    return run(queue, total);
#else
    (void)total;
    std::cout << "GQS_SKIP: this build has no PostgreSQL backend\n";
    return 0;
#endif
}

int run_main(int argc, char** argv) {
    std::optional<std::string> db;
    std::optional<std::string> schema;
    int total = 20;
    bool test = false;
    for (int i = 1; i < argc; ++i) {
        const std::string_view arg = argv[i];
        const bool has_value = i + 1 < argc;
        if (arg == "--db" && has_value) {
            db = argv[++i];
        } else if (arg == "--schema" && has_value) {
            schema = argv[++i];
        } else if (arg == "--jobs" && has_value) {
            total = std::stoi(argv[++i]);
        } else if (arg == "--test-postgres") {
            test = true;
        } else {
            std::cerr << usage;
            return 2;
        }
    }
    if (total <= 0 || test == db.has_value()) {
        std::cerr << usage;
        return 2;
    }
    if (test) return test_postgres(total);
    Queue queue = open_queue(*db, schema);
    return run(queue, total);
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run_main(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "backends: failed: " << e.what() << '\n';
        return 1;
    }
}
