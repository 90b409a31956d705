// SPDX-License-Identifier: Apache-2.0
// The gqs tool's failures on the backend under test: non-zero exit, one line on stderr,
// storage left as it was.
#include "support/catch.hpp"

#include "cli_queue.hpp"

#include <gqs/job.hpp>

#include <cstddef>
#include <fstream>
#include <string>
#include <vector>

using gqs::test::check_failure;
using gqs::test::CliQueue;

namespace {

constexpr int failed = gqs::test::cli_failed;
constexpr int usage = gqs::test::cli_usage;
const std::string unknown_id = "0190a5d2-7c3e-7b1a-9f00-2b1e3c4d5e6f";

} // namespace

TEST_CASE("cli: an unknown job id fails", "[cli]") {
    CliQueue q;
    for (const char* command : {"get", "retry", "kill", "delete"}) {
        INFO(command);
        check_failure(q.run({command, unknown_id}), failed, "no job " + unknown_id);
    }
    check_failure(q.run({"list", "--after", unknown_id}), failed, "no job");
}

TEST_CASE("cli: bad arguments are usage errors and change nothing", "[cli]") {
    CliQueue q;
    SECTION("a malformed id") {
        check_failure(q.run({"get", "not-a-uuid"}), usage, "bad job id 'not-a-uuid'");
        check_failure(q.run({"kill", "1234"}), usage, "bad job id");
    }
    SECTION("a bad status name") {
        check_failure(q.run({"list", "--status", "stuck"}), usage, "unknown status 'stuck'");
        check_failure(q.run({"clean", "--status", "pending"}), usage,
                      "clean takes done, dead or all");
    }
    SECTION("a bad duration") {
        for (const char* bad : {"5", "5x", "-5s", "1.5h", "m", "99999999999x", ""}) {
            INFO(bad);
            check_failure(q.run({"push", "--payload", "x", "--delay", bad}), usage,
                          "--delay: bad duration");
        }
        check_failure(q.run({"retry", "--all-dead", "--delay", "soon"}), usage,
                      "bad duration 'soon'");
        check_failure(q.run({"clean", "--older-than", "1y"}), usage,
                      "--older-than: bad duration '1y'");
    }
    SECTION("a duration over the CLI's limit says what the limit is") {
        for (const char* long_one : {"36501d", "99999999999d", "99999999999999999999999ms"}) {
            INFO(long_one);
            check_failure(q.run({"push", "--payload", "x", "--delay", long_one}), usage,
                          "is longer than the most the CLI accepts, 36500d (100 years)");
        }
        check_failure(q.run({"clean", "--older-than", "876001h"}), usage,
                      "--older-than: '876001h' is longer than the most");
    }
    SECTION("metadata that is not JSON") {
        check_failure(q.run({"push", "--payload", "x", "--metadata", "{oops"}), usage,
                      "--metadata is not valid JSON");
        // Valid syntax, but no double holds the number.
        check_failure(q.run({"push", "--payload", "x", "--metadata", R"({"n":1e400})"}), usage,
                      "--metadata is not valid JSON: number overflow");
    }
    SECTION("metadata nested deeper than gqs stores") {
        for (const std::size_t levels : {gqs::max_metadata_depth + 1, std::size_t{20000}}) {
            INFO(levels << " levels");
            const std::string deep = std::string(levels, '[') + std::string(levels, ']');
            check_failure(q.run({"push", "--payload", "x", "--metadata", deep}), usage,
                          "--metadata nests arrays and objects deeper than 128 levels");
        }
    }
    SECTION("metadata with a NUL character, refused on every backend") {
        check_failure(q.run({"push", "--payload", "x", "--metadata", R"({"a":"\u0000"})"}), usage,
                      "holds a NUL character");
    }
    SECTION("push without exactly one payload source") {
        check_failure(q.run({"push"}), usage, "exactly one of");
        check_failure(q.run({"push", "--payload", "x", "--stdin"}), usage, "--stdin");
        check_failure(q.run({"push", "--stdin", "--id", unknown_id}), usage, "--id");
    }
    SECTION("retry without a target") { check_failure(q.run({"retry"}), usage, "--all-dead"); }
    SECTION("an unknown command or option") {
        check_failure(q.run({"frobnicate"}), usage, "unknown command 'frobnicate'");
        check_failure(q.run({"list", "--colour"}), usage, "--colour");
        check_failure(q.run({"list", "--limit", "-1"}), usage, "--limit");
    }
    SECTION("no --db") { check_failure(q.run_bare({"stats"}), usage, "--db"); }
    CHECK(q.count() == 0);
}

TEST_CASE("cli: a payload file that cannot be read fails and stores nothing", "[cli]") {
    CliQueue q;
    SECTION("a missing file") {
        check_failure(q.run({"push", "--payload-file", (q.files.dir() / "nope").string()}), failed,
                      "cannot read");
    }
    SECTION("a directory") {
        // It opens as a stream that reads nothing: an empty payload would be stored.
        check_failure(q.run({"push", "--payload-file", q.files.dir().string()}), failed,
                      "it is a directory");
    }
    CHECK(q.count() == 0);
}

TEST_CASE("cli: a queue of a newer gqs schema version is refused", "[cli]") {
    CliQueue q;
    q.backend->exec_sql("UPDATE gqs_schema SET version = 99");
    for (const char* command : {"stats", "list"}) {
        INFO(command);
        check_failure(q.run({command}), failed,
                      "has gqs schema version 99, newer than this gqs (" +
                          std::to_string(q.backend->schema_version()) + "); use a newer gqs");
    }
    check_failure(q.run({"push", "--payload", "x"}), failed, "newer than this gqs");
}
