// SPDX-License-Identifier: Apache-2.0
// The outbox: an app's own row and the job it needs, committed (or rolled back) together.
#include <gqs/sqlite.hpp>
#include <gqs/worker.hpp>

#include <SQLiteCpp/Database.h>
#include <SQLiteCpp/Statement.h>

#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <exception>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <optional>
#include <set>
#include <stop_token>
#include <string>
#include <string_view>

using namespace std::chrono_literals;

namespace {

// Inserts an order and pushes the job that sends its receipt, both inside `tx`: the job
// exists exactly when the order does, without a second system to keep in step.
gqs::Message place_order(gqs::sqlite::Transaction& tx, gqs::sqlite::Pusher& pusher,
                         const std::string& item) {
    SQLite::Statement insert(tx.database(), "INSERT INTO orders (item) VALUES (?)");
    insert.bind(1, item);
    insert.exec();
    gqs::Message receipt;
    receipt.queue = "receipts";
    receipt.set("order", tx.database().getLastInsertRowid()).set("item", item);
    pusher.push(tx, receipt);
    return receipt;
}

std::int64_t order_of(const gqs::Message& receipt) {
    return receipt.get<std::int64_t>("order").value_or(-1);
}

int run(int argc, char** argv) {
    // A real file: the queue survives the process. Start fresh for the demo.
    const std::filesystem::path path =
        argc > 1 ? std::filesystem::path(argv[1])
                 : std::filesystem::temp_directory_path() / "gqs-outbox-example.db";
    for (const char* suffix : {"", "-wal", "-shm"})
        std::filesystem::remove(path.string() + suffix);

    auto db = gqs::sqlite::Connection::open(path);
    gqs::sqlite::init_db(*db);
    // The app's own table lives in the queue's file; with_database runs the statement under
    // gqs's lock, so it never interleaves with a worker's.
    db->with_database([](SQLite::Database& raw) {
        raw.exec("CREATE TABLE orders (id INTEGER PRIMARY KEY, item TEXT NOT NULL)");
    });
    gqs::sqlite::Pusher pusher(db);
    gqs::sqlite::Puller puller(db);
    gqs::sqlite::Observer observer(db);

    // The worker "sends" a receipt by noting its order. Jobs pushed in a transaction wake it
    // only once the transaction commits.
    std::mutex mutex;
    std::condition_variable sent_cv;
    std::set<std::int64_t> sent; // orders whose receipt was sent
    auto send_receipt = [&](const gqs::Job& job, std::stop_token) {
        {
            std::lock_guard lock(mutex);
            sent.insert(job.get<std::int64_t>("order").value_or(-1));
        }
        sent_cv.notify_all();
    };
    const auto wait_for_receipt = [&](std::int64_t order) {
        std::unique_lock lock(mutex);
        return sent_cv.wait_for(lock, 30s, [&] { return sent.contains(order); });
    };

    gqs::WorkerConfig config;
    config.concurrency = 1;
    config.queues = {"receipts"};
    // No polling to speak of: the commit itself wakes the idle worker.
    config.pull_interval = 10s;
    gqs::Worker worker(puller, send_receipt, config);
    worker.start();

    int wrong = 0;
    const auto check = [&](bool ok, std::string_view what) {
        if (!ok) {
            std::cout << "unexpected: " << what << '\n';
            ++wrong;
        }
    };

    // A book: the row and its receipt job commit together.
    gqs::Message book;
    {
        // BEGIN IMMEDIATE: the write lock is taken now, so the transaction cannot fail halfway
        // for want of it. It also holds the Connection's lock: the worker waits meanwhile,
        // so keep it short (or give long transactions a Connection of their own).
        auto tx = db->begin();
        book = place_order(tx, pusher, "book");
        tx.commit();
    }
    std::cout << "order " << order_of(book) << " (book) committed with its receipt job\n";
    check(wait_for_receipt(order_of(book)), "the book's receipt was sent within 30 s");
    std::cout << "worker sent the receipt for order " << order_of(book) << '\n';

    // A lamp: the payment is declined, so nothing of the order may remain, its receipt job
    // included. Destroying an uncommitted Transaction (an exception) rolls back the same way.
    gqs::Message lamp;
    {
        auto tx = db->begin();
        lamp = place_order(tx, pusher, "lamp");
        tx.rollback();
    }
    const auto lamp_rows = db->with_database([](SQLite::Database& raw) {
        return raw.execAndGet("SELECT count(*) FROM orders WHERE item = 'lamp'").getInt();
    });
    const bool lamp_job = observer.get(lamp.id).has_value();
    std::cout << "order " << order_of(lamp) << " (lamp) rolled back: order rows " << lamp_rows
              << ", receipt job " << (lamp_job ? "stored" : "none") << '\n';
    check(lamp_rows == 0 && !lamp_job, "a rolled-back order leaves no row and no job");

    // A vase (SQLite hands it the lamp's unused id). A push that fails inside a transaction
    // fails alone, under a savepoint, so the app decides: here it carries on and commits.
    gqs::Message vase;
    {
        auto tx = db->begin();
        vase = place_order(tx, pusher, "vase");
        try {
            pusher.push(tx, vase); // the same id again, as a retried step of the app might
            check(false, "pushing an id twice throws DuplicateJob");
        } catch (const gqs::DuplicateJob&) {
            std::cout << "order " << order_of(vase)
                      << " (vase): a second push of its receipt threw DuplicateJob\n";
        }
        tx.commit();
    }
    std::cout << "order " << order_of(vase) << " (vase) committed with its receipt job\n";
    check(wait_for_receipt(order_of(vase)), "the vase's receipt was sent within 30 s");
    std::cout << "worker sent the receipt for order " << order_of(vase) << '\n';
    worker.stop(5s); // waits until the results of the handlers that returned are stored

    const auto items = db->with_database([](SQLite::Database& raw) {
        return raw
            .execAndGet("SELECT group_concat(item, ',') FROM (SELECT item FROM orders "
                        "ORDER BY id)")
            .getString();
    });
    const gqs::Stats stats = observer.stats();
    std::cout << "orders: " << items << "; receipt jobs: " << stats.done << " done, "
              << stats.pending + stats.processing + stats.dead << " other\n";
    check(items == "book,vase", "the committed orders are book and vase");
    for (const auto* message : {&book, &vase}) {
        const auto job = observer.get(message->id);
        check(job && job->status == gqs::Status::Done, "each committed order's receipt is Done");
    }
    check(stats.done == 2 && stats.pending + stats.processing + stats.dead == 0,
          "exactly two receipt jobs exist: the duplicate push stored nothing");

    if (wrong != 0) {
        std::cout << wrong << " checks failed\n";
        return 1;
    }
    std::cout << "all orders accounted for\n";
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    try {
        return run(argc, argv);
    } catch (const std::exception& e) {
        std::cerr << "failed: " << e.what() << '\n';
        return 1;
    }
}
