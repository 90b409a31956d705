// SPDX-License-Identifier: Apache-2.0
// The gqs tool and schema version 2: named queues, priorities, unique keys, error history,
// on the backend under test.
#include "support/catch.hpp"

#include "cli_queue.hpp"

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdint>
#include <iterator>
#include <string>
#include <vector>

using namespace std::chrono_literals;
using gqs::Status;
using gqs::test::CliQueue;
using gqs::test::contains;
using gqs::test::id_of;
using gqs::test::line_starting;
using gqs::test::listed_ids;
using nlohmann::json;

namespace {

gqs::Message in_queue(const std::string& queue, int priority = 0, std::string payload = "p") {
    gqs::Message m;
    m.payload = std::move(payload);
    m.queue = queue;
    m.priority = priority;
    return m;
}

// A usage error: exit 2, nothing on stdout, one line on stderr that names the problem.
void check_usage_error(const gqs::test::CliResult& r, const std::string& fragment) {
    gqs::test::check_failure(r, gqs::test::cli_usage, fragment);
}

} // namespace

TEST_CASE("cli: push --queue and --priority store the job there", "[cli][queues]") {
    CliQueue q;
    SECTION("text prints the id") {
        auto r = q.run({"push", "--payload", "x", "--queue", "emails", "--priority", "7"});
        INFO(r.err);
        REQUIRE(r.status == 0);
        auto lines = gqs::test::lines(r.out);
        REQUIRE(lines.size() == 1);
        auto job = q.get(id_of(lines[0]));
        REQUIRE(job.has_value());
        CHECK(job->queue == "emails");
        CHECK(job->priority == 7);
        CHECK(!job->unique_key.has_value());
    }
    SECTION("the defaults are queue default, priority 0") {
        auto doc = q.run_json({"push", "--payload", "x"});
        CHECK(doc.at("duplicate") == false);
        CHECK(doc.at("queue") == "default");
        CHECK(doc.at("priority") == 0);
        CHECK(doc.at("unique_key").is_null());
        auto job = q.get(id_of(doc.at("id").get<std::string>()));
        REQUIRE(job.has_value());
        CHECK(job->queue == "default");
        CHECK(job->priority == 0);
        // The list of ids earlier versions printed is still there.
        CHECK(doc.at("ids") == json::array({doc.at("id")}));
    }
    SECTION("--json names the queue and priority") {
        auto doc = q.run_json({"push", "--payload", "x", "--queue", "reports", "--priority", "9"});
        CHECK(doc.at("duplicate") == false);
        CHECK(doc.at("queue") == "reports");
        CHECK(doc.at("priority") == 9);
        auto job = q.get(id_of(doc.at("id").get<std::string>()));
        REQUIRE(job.has_value());
        CHECK(job->queue == "reports");
        CHECK(job->priority == 9);
    }
    SECTION("--stdin puts every line in the queue") {
        gqs::test::CliInput input;
        input.stdin_text = "a\nb\n";
        auto r = q.run({"push", "--stdin", "--queue", "bulk", "--priority", "4"}, input);
        INFO(r.err);
        REQUIRE(r.status == 0);
        auto ids = gqs::test::lines(r.out);
        REQUIRE(ids.size() == 2);
        for (const auto& id : ids) {
            auto job = q.get(id_of(id));
            REQUIRE(job.has_value());
            CHECK(job->queue == "bulk");
            CHECK(job->priority == 4);
        }
    }
}

TEST_CASE("cli: push --unique-key stores nothing while the key is held", "[cli][queues]") {
    CliQueue q;
    auto first = q.run({"push", "--payload", "one", "--unique-key", "nightly-report"});
    INFO(first.err);
    REQUIRE(first.status == 0);
    const auto holder = id_of(gqs::test::lines(first.out).at(0));
    REQUIRE(q.get(holder)->unique_key == "nightly-report");

    // The same key again: exit 0, the holder's id, nothing stored.
    auto dup = q.run({"push", "--payload", "two", "--unique-key", "nightly-report"});
    INFO(dup.err);
    REQUIRE(dup.status == 0);
    CHECK(gqs::test::lines(dup.out) ==
          std::vector<std::string>{"duplicate of " + holder.to_string() +
                                   " (unique key nightly-report is held in queue default)"});
    CHECK(q.count() == 1);

    auto doc = q.run_json({"push", "--payload", "three", "--unique-key", "nightly-report"});
    CHECK(doc.at("id") == holder.to_string());
    CHECK(doc.at("duplicate") == true);
    CHECK(doc.at("queue") == "default");
    CHECK(doc.at("priority") == 0);
    CHECK(doc.at("unique_key") == "nightly-report");
    CHECK(q.count() == 1);

    // A key is held per queue.
    auto other = q.run_json(
        {"push", "--payload", "x", "--unique-key", "nightly-report", "--queue", "reports"});
    CHECK(other.at("duplicate") == false);
    CHECK(other.at("id") != holder.to_string());
    CHECK(other.at("queue") == "reports");
    CHECK(q.count() == 2);

    // Once the holder is done, the key is free again.
    auto job = q.puller.pull(1, 1h, std::vector<std::string>{"default"}).at(0);
    REQUIRE(job.id == holder);
    q.puller.complete(job);
    auto again = q.run_json({"push", "--payload", "four", "--unique-key", "nightly-report"});
    CHECK(again.at("duplicate") == false);
    CHECK(again.at("id") != holder.to_string());
    CHECK(q.count() == 3);
}

TEST_CASE("cli: a bad queue, priority or unique key is a usage error", "[cli][queues]") {
    CliQueue q;
    SECTION("priority outside 0..9 or not a number") {
        for (const char* bad : {"10", "-1", "x", "", "1.5", "3 "}) {
            INFO(bad);
            check_usage_error(q.run({"push", "--payload", "x", "--priority", bad}),
                              "--priority: bad priority");
        }
    }
    SECTION("queue name empty or too long") {
        check_usage_error(q.run({"push", "--payload", "x", "--queue", ""}),
                          "--queue: must not be empty");
        check_usage_error(q.run({"push", "--payload", "x", "--queue", std::string(128, 'q')}),
                          "is 128 bytes long; the most is 127");
        check_usage_error(q.run({"push", "--payload", "x", "--queue", "\xff"}), "not UTF-8");
        check_usage_error(q.run({"list", "--queue", ""}), "--queue");
        check_usage_error(q.run({"stats", "--queue", std::string(200, 'q')}), "--queue");
    }
    SECTION("unique key empty, too long, or with --stdin") {
        check_usage_error(q.run({"push", "--payload", "x", "--unique-key", ""}),
                          "--unique-key: must not be empty");
        check_usage_error(q.run({"push", "--payload", "x", "--unique-key", std::string(1025, 'k')}),
                          "the most is 1024");
        gqs::test::CliInput input;
        input.stdin_text = "a\nb\n";
        check_usage_error(q.run({"push", "--stdin", "--unique-key", "k"}, input),
                          "--unique-key names one job");
    }
    CHECK(q.count() == 0);
    // The longest names are fine.
    auto longest = q.run({"push", "--payload", "x", "--queue", std::string(127, 'q'),
                          "--unique-key", std::string(1024, 'k'), "--priority", "9"});
    INFO(longest.err);
    CHECK(longest.status == 0);
    CHECK(q.count() == 1);
}

TEST_CASE("cli: list --queue shows only that queue's jobs and pages", "[cli][queues]") {
    CliQueue q;
    const auto e1 = q.push(in_queue("emails"));
    // More jobs of another queue than one page the CLI reads, between the queue's jobs.
    std::vector<gqs::Message> bulk;
    for (int i = 0; i < 250; ++i)
        bulk.push_back(in_queue("bulk"));
    (void)q.pusher.push_batch(bulk);
    const auto e2 = q.push(in_queue("emails", 3));
    const auto e3 = q.push(in_queue("emails"));
    const std::vector<std::string> emails{e1.id.to_string(), e2.id.to_string(), e3.id.to_string()};

    auto all = q.run_json({"list", "--queue", "emails"});
    CHECK(listed_ids(all) == emails);
    for (const auto& job : all.at("jobs"))
        CHECK(job.at("queue") == "emails");
    CHECK(all.at("jobs").at(1).at("priority") == 3);
    CHECK(all.at("next_after").is_null());
    CHECK(listed_ids(q.run_json({"list", "--queue", "emails", "--limit", "0"})) == emails);

    SECTION("--limit counts the rows shown, --after continues") {
        auto first = q.run_json({"list", "--queue", "emails", "--limit", "2"});
        CHECK(listed_ids(first) == std::vector<std::string>{emails[0], emails[1]});
        CHECK(first.at("next_after") == emails[1]);
        auto second =
            q.run_json({"list", "--queue", "emails", "--limit", "2", "--after", emails[1]});
        CHECK(listed_ids(second) == std::vector<std::string>{emails[2]});
        CHECK(second.at("next_after").is_null());

        auto text = q.run({"list", "--queue", "emails", "--limit", "2"});
        REQUIRE(text.status == 0);
        const std::string tail = " list --queue emails --limit 2 --after " + emails[1];
        const auto next = gqs::test::lines(text.out).back();
        CHECK(next.rfind("next page: gqs --db ", 0) == 0);
        CHECK(contains(next, tail));
        if (const auto printed = q.backend->printed_target(); !printed.empty())
            CHECK(next == "next page: gqs " + printed + tail);
    }
    SECTION("with --status") {
        // Priority 0 first, then the oldest: e1.
        auto job = q.puller.pull(1, 1h, std::vector<std::string>{"emails"}).at(0);
        REQUIRE(job.id == e1.id);
        CHECK(listed_ids(q.run_json({"list", "--queue", "emails", "--status", "processing"})) ==
              std::vector<std::string>{emails[0]});
        CHECK(listed_ids(q.run_json({"list", "--queue", "emails", "--status", "pending"})) ==
              std::vector<std::string>{emails[1], emails[2]});
        auto none = q.run({"list", "--queue", "bulk", "--status", "processing"});
        CHECK(gqs::test::lines(none.out) ==
              std::vector<std::string>{"no processing jobs in queue bulk"});
    }
    SECTION("the text table has only the queue's rows") {
        auto text = q.run({"list", "--queue", "emails"});
        REQUIRE(text.status == 0);
        auto lines = gqs::test::lines(text.out);
        REQUIRE(lines.size() == 4);
        for (std::size_t i = 1; i < lines.size(); ++i) {
            CHECK(lines[i].rfind(emails[i - 1], 0) == 0);
            CHECK(contains(lines[i], " emails "));
        }
    }
    SECTION("a queue with no jobs says so") {
        auto none = q.run({"list", "--queue", "nowhere"});
        CHECK(none.status == 0);
        CHECK(gqs::test::lines(none.out) == std::vector<std::string>{"no jobs in queue nowhere"});
        CHECK(q.run_json({"list", "--queue", "nowhere"}).at("jobs").empty());
    }
    // Without --queue every queue's jobs are listed.
    CHECK(q.run_json({"list", "--limit", "0"}).at("jobs").size() == 253);
}

TEST_CASE("cli: list shows each job's queue, priority and last error", "[cli][queues]") {
    CliQueue q;
    gqs::Message keyed = in_queue("emails", 2);
    keyed.unique_key = "welcome-42";
    q.push(keyed);
    auto job = q.pull_one();
    q.puller.requeue(job, 0ms, "first failure");
    job = q.pull_one();
    // The last error is the one shown: one line, cut to fit.
    q.puller.requeue(job, 0ms, "smtp refused:\n" + std::string(200, 'x'));
    const auto plain = q.push(in_queue("reports", 9));

    auto r = q.run({"list"});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    auto lines = gqs::test::lines(r.out);
    REQUIRE(lines.size() == 3);
    for (const char* column : {"QUEUE", "PRI", "LAST ERROR"})
        CHECK(contains(lines[0], column));
    const auto queue_column = lines[0].find("QUEUE");
    const auto error_column = lines[0].find("LAST ERROR");
    REQUIRE(lines[1].rfind(keyed.id.to_string(), 0) == 0);
    CHECK(lines[1].compare(queue_column, 6, "emails") == 0);
    CHECK(lines[1].compare(error_column, 17, "smtp refused:\\nxx") == 0);
    CHECK(contains(lines[1], "..."));
    CHECK(!contains(lines[1], std::string(100, 'x')));
    CHECK(!contains(lines[1], "first failure"));
    REQUIRE(lines[2].rfind(plain.id.to_string(), 0) == 0);
    CHECK(lines[2].compare(queue_column, 7, "reports") == 0);
    CHECK(lines[2].compare(error_column, 1, "-") == 0);
    CHECK(lines[2].size() == error_column + 1);
    // The priority column holds each job's priority, right aligned under PRI.
    const auto pri_end = lines[0].find("PRI") + 3;
    CHECK(lines[1][pri_end - 1] == '2');
    CHECK(lines[2][pri_end - 1] == '9');

    auto doc = q.run_json({"list"});
    const auto& first = doc.at("jobs").at(0);
    CHECK(first.at("queue") == "emails");
    CHECK(first.at("priority") == 2);
    CHECK(first.at("unique_key") == "welcome-42");
    CHECK(first.at("cancel_requested") == false);
    const auto& errors = first.at("errors");
    REQUIRE(errors.size() == 2);
    CHECK(errors.at(0).at("attempt") == 1);
    CHECK(errors.at(0).at("message") == "first failure");
    CHECK(errors.at(0).at("at").get<std::string>().back() == 'Z');
    CHECK(errors.at(1).at("attempt") == 2);
    CHECK(errors.at(1).at("message") == "smtp refused:\n" + std::string(200, 'x'));
    const auto& second = doc.at("jobs").at(1);
    CHECK(second.at("unique_key").is_null());
    CHECK(second.at("errors") == json::array());
}

TEST_CASE("cli: stats shows every queue, and --queue one of them", "[cli][queues]") {
    CliQueue q;
    q.push(in_queue("default"));
    q.push(in_queue("emails"));
    q.push(in_queue("emails"));
    q.push(in_queue("emails"), 1h);
    REQUIRE(q.puller.pull(1, 1h, std::vector<std::string>{"emails"}).size() == 1);
    auto done = q.puller.pull(1, 1h, std::vector<std::string>{"default"}).at(0);
    q.puller.complete(done);
    q.push(in_queue("reports"));
    auto dead = q.puller.pull(1, 1h, std::vector<std::string>{"reports"}).at(0);
    q.puller.kill(dead, "gave up");

    auto doc = q.run_json({"stats"});
    CHECK(doc.at("pending") == 2);
    CHECK(doc.at("processing") == 1);
    CHECK(doc.at("done") == 1);
    CHECK(doc.at("dead") == 1);
    CHECK(doc.at("total") == 5);
    CHECK(!doc.contains("queue"));
    const auto& queues = doc.at("queues");
    REQUIRE(queues.size() == 3);
    const auto& emails = queues.at("emails");
    CHECK(emails.at("pending") == 2);
    CHECK(emails.at("processing") == 1);
    CHECK(emails.at("done") == 0);
    CHECK(emails.at("dead") == 0);
    CHECK(emails.at("total") == 3);
    CHECK(emails.at("expired_leases") == 0);
    CHECK(emails.at("lag_ms").get<std::int64_t>() >= 0);
    CHECK(emails.at("oldest_ready").is_string());
    CHECK(emails.at("next_scheduled").is_string());
    CHECK(queues.at("default").at("done") == 1);
    CHECK(queues.at("default").at("total") == 1);
    CHECK(queues.at("default").at("lag_ms").is_null());
    CHECK(queues.at("default").at("next_scheduled").is_null());
    CHECK(queues.at("reports").at("dead") == 1);

    SECTION("text: the totals, then one row per queue") {
        auto r = q.run({"stats"});
        INFO(r.out << r.err);
        REQUIRE(r.status == 0);
        CHECK(contains(line_starting(r.out, "total"), "5"));
        const auto header = line_starting(r.out, "QUEUE");
        REQUIRE(!header.empty());
        for (const char* column :
             {"PENDING", "PROCESSING", "DONE", "DEAD", "EXPIRED LEASES", "LAG", "NEXT SCHEDULED"})
            CHECK(contains(header, column));
        // The counts sit right-aligned under their headers.
        auto cell_ending_under = [&](const std::string& row, const char* column) {
            const auto end = header.find(column) + std::string(column).size();
            const auto start = row.find_last_of(' ', end - 1) + 1;
            return row.substr(start, end - start);
        };
        const auto row = line_starting(r.out, "emails ");
        REQUIRE(!row.empty());
        CHECK(cell_ending_under(row, "PENDING") == "2");
        CHECK(cell_ending_under(row, "PROCESSING") == "1");
        CHECK(cell_ending_under(row, "DONE") == "0");
        CHECK(contains(row, " in ")); // the delayed job, relative to now
        const auto reports = line_starting(r.out, "reports ");
        REQUIRE(!reports.empty());
        CHECK(cell_ending_under(reports, "DEAD") == "1");
        CHECK(!line_starting(r.out, "default ").empty());
    }
    SECTION("--queue shows that queue alone") {
        auto one = q.run_json({"stats", "--queue", "emails"});
        CHECK(one.at("queue") == "emails");
        CHECK(one.at("pending") == 2);
        CHECK(one.at("processing") == 1);
        CHECK(one.at("total") == 3);
        REQUIRE(one.at("queues").size() == 1);
        CHECK(one.at("queues").at("emails").at("pending") == 2);

        auto r = q.run({"stats", "--queue", "emails"});
        INFO(r.out << r.err);
        REQUIRE(r.status == 0);
        CHECK(contains(line_starting(r.out, "queue"), "emails"));
        CHECK(contains(line_starting(r.out, "pending"), "2"));
        CHECK(contains(line_starting(r.out, "total"), "3"));
        CHECK(line_starting(r.out, "QUEUE").empty());
    }
    SECTION("an unknown queue shows zeros") {
        auto none = q.run_json({"stats", "--queue", "nowhere"});
        CHECK(none.at("total") == 0);
        CHECK(none.at("pending") == 0);
        CHECK(none.at("lag_ms").is_null());
        CHECK(none.at("queues").at("nowhere").at("total") == 0);
        auto r = q.run({"stats", "--queue", "nowhere"});
        CHECK(r.status == 0);
        CHECK(contains(line_starting(r.out, "total"), "0"));
    }
}

TEST_CASE("cli: get shows queue, priority, unique key, cancel flag and error history",
          "[cli][queues]") {
    CliQueue q;
    gqs::Message m = in_queue("emails", 7, "hello");
    m.unique_key = "welcome-42";
    q.push(m);
    auto job = q.pull_one();
    q.puller.requeue(job, 0ms, "boom");
    job = q.pull_one();
    // A handler's message may hold anything: it is shown on one line, escapes defused.
    q.puller.requeue(job, 0ms, "second\nline \x1b[2J");
    job = q.pull_one();

    auto r = q.run({"get", m.id.to_string()});
    INFO(r.out << r.err);
    REQUIRE(r.status == 0);
    auto value = [&](const std::string& field) {
        auto line = line_starting(r.out, field + " ");
        auto start = line.find_first_not_of(' ', field.size());
        return start == std::string::npos ? std::string() : line.substr(start);
    };
    CHECK(value("queue") == "emails");
    CHECK(value("priority") == "7");
    CHECK(value("unique key") == "welcome-42");
    CHECK(value("status") == "processing");
    CHECK(value("cancel requested") == "no");
    CHECK(value("attempts") == "3");
    // One line per entry, oldest first: time, attempt, message.
    const auto lines = gqs::test::lines(r.out);
    auto errors = std::find_if(lines.begin(), lines.end(), [](const std::string& line) {
        return line.rfind("errors ", 0) == 0;
    });
    REQUIRE(errors != lines.end());
    REQUIRE(std::next(errors) != lines.end());
    const auto first_entry = errors->substr(errors->find_first_not_of(' ', 6));
    const auto second_entry = *std::next(errors);
    CHECK(first_entry.find("Z  attempt 1  boom") != std::string::npos);
    CHECK(first_entry.size() == std::string("2025-06-20T02:00:32.536964Z  attempt 1  boom").size());
    CHECK(second_entry.find_first_not_of(' ') == errors->find_first_not_of(' ', 6));
    CHECK(contains(second_entry, "Z  attempt 2  second\\nline \\x1b[2J"));
    CHECK(std::next(errors, 2)->rfind("payload", 0) == 0);
    CHECK(!contains(r.out, "\x1b"));

    auto doc = q.run_json({"get", m.id.to_string()});
    CHECK(doc.at("queue") == "emails");
    CHECK(doc.at("priority") == 7);
    CHECK(doc.at("unique_key") == "welcome-42");
    CHECK(doc.at("cancel_requested") == false);
    REQUIRE(doc.at("errors").size() == 2);
    CHECK(doc.at("errors").at(0).at("attempt") == 1);
    CHECK(doc.at("errors").at(0).at("message") == "boom");
    CHECK(doc.at("errors").at(1).at("attempt") == 2);
    CHECK(doc.at("errors").at(1).at("message") == "second\nline \x1b[2J");
    for (const auto& e : doc.at("errors"))
        CHECK(e.at("at").get<std::string>().size() ==
              std::string("2025-06-20T02:00:32.536964Z").size());
    CHECK(doc.at("payload") == "hello");

    SECTION("a job with no errors says so") {
        auto fresh = q.push();
        auto plain = q.run({"get", fresh.id.to_string()});
        REQUIRE(plain.status == 0);
        CHECK(contains(line_starting(plain.out, "errors"), "-"));
        CHECK(contains(line_starting(plain.out, "unique key"), "-"));
        CHECK(contains(line_starting(plain.out, "queue"), "default"));
        CHECK(q.run_json({"get", fresh.id.to_string()}).at("errors") == json::array());
    }
    SECTION("kill of the running job shows as cancel requested") {
        auto kill = q.run({"kill", m.id.to_string()});
        INFO(kill.err);
        REQUIRE(kill.status == 0);
        CHECK(contains(kill.out, "cancel requested"));
        auto after = q.run({"get", m.id.to_string()});
        CHECK(contains(line_starting(after.out, "cancel requested"), "yes"));
        CHECK(q.run_json({"get", m.id.to_string()}).at("cancel_requested") == true);
    }
}
