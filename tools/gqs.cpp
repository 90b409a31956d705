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

// The options that describe a message, `push`'s and `schedule add`'s alike: where the
// values land, and the options (to tell which were given).
struct MessageArgs {
    std::string payload, payload_file, metadata, queue, priority, unique_key;
    CLI::Option* payload_opt = nullptr;
    CLI::Option* payload_file_opt = nullptr;
    CLI::Option* metadata_opt = nullptr;
    CLI::Option* queue_opt = nullptr;
    CLI::Option* priority_opt = nullptr;
    CLI::Option* unique_key_opt = nullptr;

    // Adds --payload, --payload-file (they exclude each other), --metadata, --queue (with
    // `queue_help`), --priority and --unique-key (with `unique_key_help`) to `command`.
    void add_to(CLI::App& command, const std::string& queue_help,
                const std::string& unique_key_help) {
        payload_opt =
            command.add_option("--payload", payload, "The payload text")->type_name("TEXT");
        payload_file_opt =
            command
                .add_option("--payload-file", payload_file, "Read the payload (bytes) from a file")
                ->type_name("PATH");
        payload_opt->excludes(payload_file_opt);
        metadata_opt = command.add_option("--metadata", metadata, "Metadata, a JSON document")
                           ->type_name("JSON");
        queue_opt = command.add_option("--queue", queue, queue_help)->type_name("NAME");
        priority_opt =
            command.add_option("--priority", priority, "0 runs first, 9 last (default: 0)")
                ->type_name("N");
        unique_key_opt =
            command.add_option("--unique-key", unique_key, unique_key_help)->type_name("KEY");
    }

    [[nodiscard]] MessageOptions options() const {
        MessageOptions o;
        o.payload = given(payload_opt, payload);
        if (payload_file_opt->count() > 0) o.payload_file = payload_file;
        o.metadata = given(metadata_opt, metadata);
        o.queue = given(queue_opt, queue);
        o.priority = given(priority_opt, priority);
        o.unique_key = given(unique_key_opt, unique_key);
        return o;
    }
};

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
    MessageArgs push_message;
    push_message.add_to(*push, "The named queue to join (default: default)",
                        "Store nothing while a pending or processing job of the queue holds "
                        "this key; print that job's id");
    bool from_stdin = false;
    auto* stdin_opt = push->add_flag("--stdin", from_stdin,
                                     "One job per non-empty line of standard input, all in "
                                     "one transaction");
    push_message.payload_opt->excludes(stdin_opt);
    push_message.payload_file_opt->excludes(stdin_opt);
    std::string delay, push_id;
    auto* push_delay_opt =
        push->add_option("--delay", delay, "Runnable after this long")->type_name("DURATION");
    auto* push_id_opt = push->add_option("--id", push_id, "The job's id (default: a new UUIDv7)")
                            ->type_name("UUID");
    commands.emplace_back(push, [&](const Context& ctx) {
        PushOptions o;
        o.message = push_message.options();
        o.from_stdin = from_stdin;
        o.delay = given(push_delay_opt, delay);
        o.id = given(push_id_opt, push_id);
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

    auto* schedule = app.add_subcommand(
        "schedule", "Add, list, pause, resume, remove or run the queue's cron schedules");
    schedule->require_subcommand(1);
    schedule->footer("A schedule's message is pushed at each fire time of its cron expression in "
                     "its zone,\nby the Workers and ScheduleWorkers that run on the queue "
                     "(docs/schedules.md).\nCron: 5 fields (minute hour day-of-month month "
                     "day-of-week), a macro such as @daily,\nor @every 10m. Every command "
                     "takes --db, --schema, --pooler and --json as `gqs` does.");

    auto* schedule_add = schedule->add_subcommand(
        "add", "Add a schedule, or replace the one of that name; prints its next fire");
    ScheduleAddOptions add_options;
    schedule_add->add_option("name", add_options.name, "The schedule's name (unique)")
        ->required()
        ->type_name("NAME");
    schedule_add
        ->add_option("cron", add_options.cron,
                     "When it fires: 5 fields ('0 9 * * MON'; quote it), @daily, @every 10m, ...")
        ->required()
        ->type_name("CRON");
    MessageArgs add_message;
    add_message.add_to(*schedule_add, "The named queue each fire pushes to",
                       "A fire stores nothing while a pending or processing job of the queue "
                       "holds this key (each fire has its own key cron:NAME:SLOT besides)");
    add_message.queue_opt->required();
    schedule_add
        ->add_option("--zone", add_options.zone,
                     "The zone the cron fields are read in: UTC, local (the system's) or an "
                     "IANA name such as Europe/Berlin")
        ->type_name("ZONE")
        ->capture_default_str();
    schedule_add
        ->add_option("--catch-up", add_options.catch_up,
                     "Slots missed while nothing ran: latest (push the last one), all (each, "
                     "at most 100) or none")
        ->type_name("POLICY")
        ->capture_default_str();
    schedule_add->add_flag("--paused", add_options.paused,
                           "Store it paused: it pushes nothing until `gqs schedule resume`");
    commands.emplace_back(schedule_add, [&](const Context& ctx) {
        add_options.message = add_message.options();
        run_schedule_add(ctx, add_options);
    });

    auto* schedule_list = schedule->add_subcommand(
        "list", "List the schedules: cron, zone, queue, state, next fire in its zone and in UTC, "
                "last fire and job");
    commands.emplace_back(schedule_list, [](const Context& ctx) { run_schedule_list(ctx); });

    // pause, resume, remove and run take a schedule's name only.
    std::string schedule_name;
    auto by_name = [&](const char* name, const char* help,
                       void (*command)(const Context&, const std::string&)) {
        auto* sub = schedule->add_subcommand(name, help);
        sub->add_option("name", schedule_name, "The schedule's name")
            ->required()
            ->type_name("NAME");
        commands.emplace_back(
            sub, [&schedule_name, command](const Context& ctx) { command(ctx, schedule_name); });
    };
    by_name("pause", "Pause a schedule: it pushes nothing until resumed", run_schedule_pause);
    by_name("resume",
            "Resume a paused schedule from its next slot (slots missed while paused are not "
            "pushed)",
            run_schedule_resume);
    by_name("remove", "Delete a schedule (the jobs it pushed stay)", run_schedule_remove);
    by_name("run", "Push the schedule's message once, now, outside its slots; prints the job's id",
            run_schedule_run);

    auto* queue = app.add_subcommand(
        "queue", "List, show, change, pause, resume or clear the queues' stored limits");
    queue->require_subcommand(1);
    queue->footer("A queue's limits are stored in its database for every process that opens it "
                  "(docs/limits.md).\nEvery pull honours pause, max running, rate, max running "
                  "per key and fair share at once.\nEvery command takes "
                  "--db, --schema, --pooler and "
                  "--json as `gqs` does.");

    auto* queue_list = queue->add_subcommand(
        "list", "List every queue with stored limits: state, max running, rate, burst, max "
                "running per key, fair share, group weights");
    commands.emplace_back(queue_list, [](const Context& ctx) { run_queue_list(ctx); });

    auto* queue_limits = queue->add_subcommand(
        "limits", "Show a queue's limits; with options, change those (the others keep their "
                  "stored value) and show the result");
    QueueLimitsOptions limits_options;
    std::string max_running, rate, burst, max_running_per_key;
    queue_limits->add_option("name", limits_options.queue, "The queue's name")
        ->required()
        ->type_name("NAME");
    auto* max_running_opt =
        queue_limits
            ->add_option("--max-running", max_running,
                         "The most jobs of the queue running at once (>= 1), or none")
            ->type_name("N|none");
    auto* rate_opt = queue_limits
                         ->add_option("--rate", rate,
                                      "Job starts per second (> 0; fractions allowed: 0.5 is "
                                      "one start every 2s), or none")
                         ->type_name("R|none");
    auto* burst_opt =
        queue_limits
            ->add_option("--burst", burst,
                         "How many starts may follow each other at once (>= 1; default 1)")
            ->type_name("N");
    auto* max_running_per_key_opt =
        queue_limits
            ->add_option("--max-running-per-key", max_running_per_key,
                         "The most running jobs that share one concurrency key (>= 1), or none")
            ->type_name("N|none");
    queue_limits
        ->add_option("--weight", limits_options.weights,
                     "A group's fair-share weight (1..1000; groups not listed weigh 1); "
                     "GROUP=none removes it. Repeatable")
        ->type_name("GROUP=W")
        ->allow_extra_args(false);
    std::string fair_share;
    auto* fair_share_opt =
        queue_limits
            ->add_option("--fair-share", fair_share,
                         "on: serve the queue's ready jobs round-robin by group (each group's "
                         "weight per turn); off: oldest first. Weights turn it on too")
            ->type_name("on|off");
    commands.emplace_back(queue_limits, [&](const Context& ctx) {
        limits_options.max_running = given(max_running_opt, max_running);
        limits_options.rate = given(rate_opt, rate);
        limits_options.burst = given(burst_opt, burst);
        limits_options.max_running_per_key = given(max_running_per_key_opt, max_running_per_key);
        limits_options.fair_share = given(fair_share_opt, fair_share);
        run_queue_limits(ctx, limits_options);
    });

    // pause, resume and clear take a queue's name only.
    std::string queue_name;
    auto queue_by_name = [&](const char* name, const char* help,
                             void (*command)(const Context&, const std::string&)) {
        auto* sub = queue->add_subcommand(name, help);
        sub->add_option("name", queue_name, "The queue's name")->required()->type_name("NAME");
        commands.emplace_back(
            sub, [&queue_name, command](const Context& ctx) { command(ctx, queue_name); });
    };
    queue_by_name("pause", "Pause a queue, keeping its other limits", run_queue_pause);
    queue_by_name("resume", "Resume a paused queue, keeping its other limits", run_queue_resume);
    queue_by_name("clear", "Delete a queue's stored limits (back to no limits)", run_queue_clear);

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
        // The command as far as it was parsed: `gqs schedule add`.
        std::string where = "gqs";
        const CLI::App* at = &app;
        while (!at->get_subcommands().empty()) {
            at = at->get_subcommands().front();
            where += " " + at->get_name();
        }
        // A group (`gqs schedule`) followed by a word that is none of its commands.
        if (at != &app && !at->get_subcommands({}).empty() && !app.remaining(true).empty()) {
            std::string names;
            for (const auto* sub : at->get_subcommands({}))
                names += (names.empty() ? "" : ", ") + sub->get_name();
            throw UsageError("unknown " + at->get_name() + " command '" +
                             app.remaining(true).front() + "' (commands: " + names + "; see `" +
                             where + " --help`)");
        }
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
