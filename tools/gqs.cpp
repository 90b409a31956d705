// SPDX-License-Identifier: Apache-2.0
// The `gqs` command-line tool: inspect and repair a gqs queue without writing code.
#include "commands.hpp"
#include "format.hpp"

#include <gqs/version.hpp>

#include <CLI/CLI.hpp>

#include <algorithm>
#include <cstdlib>
#include <exception>
#include <functional>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

namespace {

using namespace gqs::cli;

// One line on stderr, whatever the message holds; the library's own "gqs: " prefix is
// dropped so it is not printed twice, and the passwords of --db are masked (libpq may quote
// a malformed part of a URI).
void print_error(std::string message, std::vector<std::string> secrets) {
    if (message.rfind("gqs: ", 0) == 0) message.erase(0, 5);
    // The longest first: a password that holds a shorter one is masked whole.
    std::sort(secrets.begin(), secrets.end(),
              [](const std::string& a, const std::string& b) { return a.size() > b.size(); });
    for (const auto& secret : secrets) {
        for (auto at = message.find(secret); at != std::string::npos;
             at = message.find(secret, at + 3))
            message.replace(at, secret.size(), "***");
    }
    for (char& c : message) {
        if (c == '\n' || c == '\r') c = ' ';
    }
    std::cerr << "gqs: error: " << message << std::endl;
}

std::optional<std::string> given(const CLI::Option* option, const std::string& value) {
    if (option->count() == 0) return std::nullopt;
    return value;
}

std::optional<std::string> environment(const char* name) {
    const char* value = std::getenv(name);
    if (value == nullptr || *value == '\0') return std::nullopt;
    return std::string(value);
}

// `secrets` gets the passwords --db holds as soon as it is known, for print_error.
int run(int argc, char** argv, std::vector<std::string>& secrets) {
    CLI::App app{"Inspect and repair a gqs job queue (a SQLite file or a PostgreSQL schema).",
                 "gqs"};
    app.set_version_flag("--version", std::string(gqs::version_string));
    app.require_subcommand(1);
    // Options of the main command (--db, --json) may also follow the subcommand.
    app.fallthrough();
    app.footer("Every command takes --db (or GQS_DB), --schema (or GQS_SCHEMA; PostgreSQL only),\n"
               "--pooler (or GQS_POOLER; PostgreSQL only) and --json, before or after it.\n"
               "--db is a SQLite file, or a PostgreSQL URI\n"
               "(postgresql://user@host/dbname) or conninfo string ('host=... dbname=...').\n"
               "Durations: 500ms, 30s, 5m, 2h, 7d, or sums such as 1h30m.\n"
               "Exit status: 0 on success, 1 when the command fails, 2 on a usage error.");

    std::string db;
    std::string schema;
    bool json = false;
    app.add_option("--db", db,
                   "The queue's SQLite file, or a PostgreSQL URI or conninfo string (or set "
                   "GQS_DB)")
        ->envname("GQS_DB")
        ->required()
        ->type_name("FILE|URI");
    auto* schema_opt = app.add_option("--schema", schema,
                                      "PostgreSQL: the schema that holds the queue (default: "
                                      "public; or set GQS_SCHEMA)")
                           ->type_name("NAME");
    app.add_flag("--json", json, "Print one JSON document instead of text");
    bool pooler = false;
    app.add_flag("--pooler", pooler,
                 "PostgreSQL: --db is a pooler in transaction mode (PgBouncer): gqs prepares "
                 "no statements and sets nothing on the session (or set GQS_POOLER=1)")
        ->envname("GQS_POOLER");

    std::vector<std::pair<CLI::App*, std::function<void(const Context&)>>> commands;

    auto* init =
        app.add_subcommand("init", "Create the queue's schema (and the file); safe to repeat");
    commands.emplace_back(init, [](const Context& ctx) { run_init(ctx); });

    auto* push = app.add_subcommand(
        "push", "Push a job (or one job per line of standard input); prints the id(s)");
    std::string payload, payload_file, metadata, delay, push_id;
    bool from_stdin = false;
    auto* payload_opt =
        push->add_option("--payload", payload, "The payload text")->type_name("TEXT");
    auto* payload_file_opt =
        push->add_option("--payload-file", payload_file, "Read the payload (bytes) from a file")
            ->type_name("PATH");
    auto* stdin_opt = push->add_flag("--stdin", from_stdin,
                                     "One job per non-empty line of standard input, all in "
                                     "one transaction");
    payload_opt->excludes(payload_file_opt)->excludes(stdin_opt);
    payload_file_opt->excludes(stdin_opt);
    auto* metadata_opt =
        push->add_option("--metadata", metadata, "Metadata, a JSON document")->type_name("JSON");
    auto* push_delay_opt =
        push->add_option("--delay", delay, "Runnable after this long")->type_name("DURATION");
    auto* push_id_opt = push->add_option("--id", push_id, "The job's id (default: a new UUIDv7)")
                            ->type_name("UUID");
    std::string push_queue, priority, unique_key;
    auto* push_queue_opt =
        push->add_option("--queue", push_queue, "The named queue to join (default: default)")
            ->type_name("NAME");
    auto* priority_opt =
        push->add_option("--priority", priority, "0 runs first, 9 last (default: 0)")
            ->type_name("N");
    auto* unique_key_opt =
        push->add_option("--unique-key", unique_key,
                         "Store nothing while a pending or processing job of the queue holds "
                         "this key; print that job's id")
            ->type_name("KEY");
    commands.emplace_back(push, [&](const Context& ctx) {
        PushOptions o;
        o.payload = given(payload_opt, payload);
        if (payload_file_opt->count() > 0) o.payload_file = payload_file;
        o.from_stdin = from_stdin;
        o.metadata = given(metadata_opt, metadata);
        o.delay = given(push_delay_opt, delay);
        o.id = given(push_id_opt, push_id);
        o.queue = given(push_queue_opt, push_queue);
        o.priority = given(priority_opt, priority);
        o.unique_key = given(unique_key_opt, unique_key);
        run_push(ctx, o);
    });

    auto* stats = app.add_subcommand(
        "stats", "Jobs per status, lag, next scheduled run, expired leases; per queue too");
    std::string stats_queue;
    auto* stats_queue_opt =
        stats->add_option("--queue", stats_queue, "Only this queue")->type_name("NAME");
    bool stats_prometheus = false;
    stats->add_flag("--prometheus", stats_prometheus,
                    "Print gauges in the Prometheus text format (gqs_jobs, gqs_queue_lag_seconds, "
                    "gqs_expired_leases), per queue");
    commands.emplace_back(stats, [&](const Context& ctx) {
        StatsOptions o;
        o.queue = given(stats_queue_opt, stats_queue);
        o.prometheus = stats_prometheus;
        run_stats(ctx, o);
    });

    auto* list = app.add_subcommand(
        "list", "List jobs, oldest first, one page at a time, with their last error");
    ListOptions list_options;
    std::string after;
    list->add_option("--status", list_options.status, "pending, processing, done, dead or all")
        ->type_name("STATUS")
        ->capture_default_str();
    list->add_option("--limit", list_options.limit, "At most this many jobs (0: no limit)")
        ->type_name("N")
        ->capture_default_str();
    auto* after_opt = list->add_option("--after,--after-id", after,
                                       "Start after this job (the last id of the previous page)")
                          ->type_name("UUID");
    std::string list_queue;
    auto* list_queue_opt =
        list->add_option("--queue", list_queue, "Only this queue's jobs")->type_name("NAME");
    commands.emplace_back(list, [&](const Context& ctx) {
        list_options.after = given(after_opt, after);
        list_options.queue = given(list_queue_opt, list_queue);
        run_list(ctx, list_options);
    });

    auto* get = app.add_subcommand("get", "Show every field of one job and its error history");
    GetOptions get_options;
    std::string payload_out;
    get->add_option("id", get_options.id, "The job's id")->required()->type_name("UUID");
    auto* payload_out_opt =
        get->add_option("--payload-out", payload_out, "Write the payload's bytes to this file")
            ->type_name("FILE");
    commands.emplace_back(get, [&](const Context& ctx) {
        if (payload_out_opt->count() > 0) get_options.payload_out = payload_out;
        run_get(ctx, get_options);
    });

    auto* retry = app.add_subcommand("retry", "Make a dead job (or every dead job) pending again");
    std::string retry_id, retry_delay;
    bool all_dead = false;
    auto* retry_id_opt = retry->add_option("id", retry_id, "The job's id")->type_name("UUID");
    auto* all_dead_opt = retry->add_flag("--all-dead", all_dead, "Retry every dead job");
    retry_id_opt->excludes(all_dead_opt);
    auto* retry_delay_opt = retry->add_option("--delay", retry_delay, "Runnable after this long")
                                ->type_name("DURATION");
    commands.emplace_back(retry, [&](const Context& ctx) {
        RetryOptions o;
        o.id = given(retry_id_opt, retry_id);
        o.all_dead = all_dead;
        o.delay = given(retry_delay_opt, retry_delay);
        run_retry(ctx, o);
    });

    auto* kill = app.add_subcommand(
        "kill", "Give up on a pending job (pending -> dead), or ask a processing one to stop");
    std::string kill_id;
    kill->add_option("id", kill_id, "The job's id")->required()->type_name("UUID");
    commands.emplace_back(kill, [&](const Context& ctx) { run_kill(ctx, kill_id); });

    auto* remove = app.add_subcommand("delete", "Delete a job that is not processing");
    std::string delete_id;
    remove->add_option("id", delete_id, "The job's id")->required()->type_name("UUID");
    commands.emplace_back(remove, [&](const Context& ctx) { run_delete(ctx, delete_id); });

    auto* clean = app.add_subcommand("clean", "Delete finished (done and/or dead) jobs");
    CleanOptions clean_options;
    std::string older_than;
    clean->add_option("--status", clean_options.status, "done, dead or all")
        ->type_name("STATUS")
        ->capture_default_str();
    auto* older_than_opt = clean
                               ->add_option("--older-than", older_than,
                                            "Only jobs last updated at least this long ago")
                               ->type_name("DURATION");
    commands.emplace_back(clean, [&](const Context& ctx) {
        clean_options.older_than = given(older_than_opt, older_than);
        run_clean(ctx, clean_options);
    });

    try {
        app.parse(argc, argv);
    } catch (const CLI::Success& e) {
        return app.exit(e); // --help, --version
    } catch (const CLI::ParseError& e) {
        secrets = passwords_in(db);
        if (app.get_subcommands().empty() && !app.remaining().empty()) {
            std::string names;
            for (const auto* sub : app.get_subcommands({})) {
                names += (names.empty() ? "" : ", ") + sub->get_name();
            }
            throw UsageError("unknown command '" + app.remaining().front() +
                             "' (commands: " + names + ")");
        }
        std::string where = "gqs";
        for (const auto* sub : app.get_subcommands())
            where += " " + sub->get_name();
        throw UsageError(std::string(e.what()) + " (see `" + where + " --help`)");
    }

    secrets = passwords_in(db);
    Context ctx;
    ctx.target = target_of(db, given(schema_opt, schema), environment("GQS_SCHEMA"));
    if (pooler && ctx.target.backend == gqs::BackendKind::Sqlite)
        throw UsageError("--pooler is for a PostgreSQL queue, and --db " + shell_word(db) +
                         " names a SQLite file");
    ctx.target.pooler = pooler;
    ctx.json = json;
    ctx.out = &std::cout;
    for (auto& [sub, command] : commands) {
        if (sub->parsed()) command(ctx);
    }
    std::cout.flush();
    if (!std::cout) throw std::runtime_error("cannot write to standard output");
    return 0;
}

} // namespace

int main(int argc, char** argv) {
    std::vector<std::string> secrets;
    try {
        return run(argc, argv, secrets);
    } catch (const UsageError& e) {
        print_error(e.what(), secrets);
        return 2;
    } catch (const std::exception& e) {
        print_error(e.what(), secrets);
        return 1;
    } catch (...) {
        print_error("unexpected failure", secrets);
        return 1;
    }
}
