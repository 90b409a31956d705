// SPDX-License-Identifier: Apache-2.0
// The gqs CLI's commands, one function each, independent of how arguments are parsed.
#include "commands.hpp"

#include "format.hpp"
#include "opened_queue.hpp"

#include "backend/codec.hpp"
#include "backend/queue_rules.hpp"

#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>
#include <gqs/job.hpp>
#include <gqs/json.hpp>
#include <gqs/message.hpp>
#include <gqs/queues.hpp>
#include <gqs/schedule.hpp>
#include <gqs/schedules.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <array>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <iostream>
#include <iterator>
#include <map>
#include <set>
#include <sstream>
#include <system_error>
#include <utility>
#include <vector>

namespace gqs::cli {

namespace {

namespace fs = std::filesystem;
// Output documents keep their keys in the order written (id first, ...).
using json = nlohmann::ordered_json;

// `get` shows at most this much of a payload; --payload-out writes all of it.
constexpr std::size_t text_limit = 64 * 1024;
constexpr std::size_t hex_limit = 1024;
// Widths of the metadata, queue and last-error columns in `list`.
constexpr std::size_t metadata_width = 40;
constexpr std::size_t queue_width = 24;
constexpr std::size_t error_width = 40;
// What Message promises for a queue name and a unique key (push refuses anything else).
constexpr std::size_t max_queue_bytes = 127;
constexpr std::size_t max_unique_key_bytes = 1024;
// `list --queue` reads pages of max(--limit, min_scan_page) jobs (scan_page with --limit 0)
// and keeps the queue's own: a rare queue costs a few large reads, not many tiny ones.
constexpr int min_scan_page = 100;
constexpr int scan_page = 500;

Uuid parse_id(std::string_view text) {
    if (auto id = Uuid::parse(text)) return *id;
    throw UsageError("bad job id '" + truncate(text, 60) +
                     "' (expected a UUID such as 0190a5d2-7c3e-7b1a-9f00-2b1e3c4d5e6f)");
}

Duration parse_duration_option(const char* option, const std::string& text) {
    if (auto d = parse_duration(text)) return *d;
    if (duration_too_long(text))
        throw UsageError(std::string(option) + ": '" + truncate(text, 60) +
                         "' is longer than the most the CLI accepts, " +
                         format_duration(max_duration) + " (100 years)");
    throw UsageError(std::string(option) + ": bad duration '" + truncate(text, 60) +
                     "' (use e.g. 500ms, 30s, 5m, 2h, 7d or 1h30m)");
}

// A queue name or unique key as Message promises it: 1..`most` bytes of UTF-8 without NUL.
void check_name_option(const char* option, const std::string& text, std::size_t most) {
    if (text.empty()) throw UsageError(std::string(option) + ": must not be empty");
    if (text.size() > most)
        throw UsageError(std::string(option) + ": '" + truncate(escape_text(text, true), 60) +
                         "' is " + std::to_string(text.size()) + " bytes long; the most is " +
                         std::to_string(most));
    if (!is_utf8(text) || text.find('\0') != std::string::npos)
        throw UsageError(std::string(option) + ": '" + truncate(escape_text(text, true), 60) +
                         "' is not UTF-8 text");
}

int parse_priority_option(const std::string& text) {
    if (text.size() == 1 && text[0] >= '0' && text[0] <= '9') return text[0] - '0';
    throw UsageError("--priority: bad priority '" + truncate(escape_text(text, true), 60) +
                     "' (expected a whole number from 0, runs first, to 9, runs last)");
}

// "all" (nullopt) or a status name.
std::optional<Status> parse_status_option(const std::string& text) {
    if (text == "all") return std::nullopt;
    auto status = parse_status(text);
    if (!status || *status == Status::Unknown)
        throw UsageError("--status: unknown status '" + truncate(text, 60) +
                         "' (expected pending, processing, done, dead or all)");
    return *status;
}

void print_json(const Context& ctx, const json& document) {
    // Metadata written by other programs may hold invalid UTF-8: replace, never throw.
    *ctx.out << document.dump(2, ' ', false, json::error_handler_t::replace) << '\n';
}

json time_json(const std::optional<TimePoint>& t) {
    return t ? json(format_time(*t, true)) : json(nullptr);
}

json errors_json(const std::vector<AttemptError>& errors) {
    json list = json::array();
    for (const auto& e : errors)
        list.push_back(
            {{"at", format_time(e.at, true)}, {"attempt", e.attempt}, {"message", e.message}});
    return list;
}

json job_json(const Job& job) {
    return json{{"id", job.id.to_string()},
                {"status", std::string(to_string(job.status))},
                {"queue", job.queue},
                {"priority", job.priority},
                {"unique_key", job.unique_key ? json(*job.unique_key) : json(nullptr)},
                {"attempts", job.attempts},
                {"created_at", format_time(job.created_at, true)},
                {"updated_at", format_time(job.updated_at, true)},
                {"next_run_at", format_time(job.next_run_at, true)},
                {"locked_until", time_json(job.locked_until)},
                {"cancel_requested", job.cancel_requested},
                {"metadata", metadata_json(job)},
                {"payload_size", job.payload.size()},
                {"errors", errors_json(job.errors)}};
}

// Metadata on one line; non-ASCII escaped when `ascii` (table columns) or when the text
// would not be safe on a terminal. Metadata that is not JSON, or nests deeper than a push
// accepts (a row another program wrote), is shown as a JSON string of its raw text.
std::string metadata_text(const Job& job, bool ascii) {
    const nlohmann::json metadata = metadata_json(job);
    if (metadata.is_null()) return "-";
    auto text = metadata.dump(-1, ' ', ascii, json::error_handler_t::replace);
    if (!ascii && !is_printable_text(text))
        text = metadata.dump(-1, ' ', true, json::error_handler_t::replace);
    return text;
}

std::string read_payload_file(const fs::path& path) {
    // A directory opens as a stream that reads nothing: it would store an empty payload.
    std::error_code ec;
    if (fs::is_directory(path, ec))
        throw Error("cannot read " + path.string() + ": it is a directory");
    std::ifstream in(path, std::ios::binary);
    if (!in) throw Error("cannot read " + path.string() + ": " + std::strerror(errno));
    std::ostringstream bytes;
    bytes << in.rdbuf();
    if (in.bad()) throw Error("cannot read " + path.string());
    return std::move(bytes).str();
}

void write_payload_file(const fs::path& path, const std::string& payload) {
    std::ofstream out(path, std::ios::binary | std::ios::trunc);
    if (!out) throw Error("cannot write " + path.string() + ": " + std::strerror(errno));
    out.write(payload.data(), static_cast<std::streamsize>(payload.size()));
    out.close();
    if (!out) throw Error("cannot write " + path.string());
}

// Cuts `text` to at most `limit` bytes without splitting a UTF-8 sequence.
std::string_view utf8_prefix(std::string_view text, std::size_t limit) {
    if (text.size() <= limit) return text;
    std::size_t end = limit;
    while (end > 0 && (static_cast<unsigned char>(text[end]) & 0xC0) == 0x80)
        --end;
    return text.substr(0, end);
}

std::string plural(std::int64_t n, const char* one, const char* many) {
    return std::to_string(n) + " " + (n == 1 ? one : many);
}

// The message --queue, --priority, --unique-key and --metadata describe, checked as a push
// checks it (usage errors); its payload is payload_of's.
Message message_of(const MessageOptions& options) {
    Message message;
    if (options.queue) {
        check_name_option("--queue", *options.queue, max_queue_bytes);
        message.queue = *options.queue;
    }
    if (options.priority) message.priority = parse_priority_option(*options.priority);
    if (options.unique_key) {
        check_name_option("--unique-key", *options.unique_key, max_unique_key_bytes);
        message.unique_key = options.unique_key;
    }
    // --metadata is stored as given (push checks it again, as for any Message); parsed here
    // only to report bad JSON as a usage error.
    if (options.metadata) {
        try {
            [[maybe_unused]] const auto parsed = nlohmann::json::parse(*options.metadata);
        } catch (const nlohmann::json::exception& e) {
            // parse_error, or out_of_range for a number no double holds (1e400).
            std::string what = e.what();
            // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
            if (auto pos = what.find("] "); pos != std::string::npos) what.erase(0, pos + 2);
            throw UsageError("--metadata is not valid JSON: " + what);
        }
        // Checked after the parse (which does not recurse), so bad JSON says so first.
        if (metadata_depth(*options.metadata) > max_metadata_depth)
            throw UsageError("--metadata nests arrays and objects deeper than " +
                             std::to_string(max_metadata_depth) + " levels, the most gqs stores");
        message.metadata = *options.metadata;
    }
    return message;
}

// The payload --payload or --payload-file gives; empty when neither does.
std::string payload_of(const MessageOptions& options) {
    if (options.payload) return *options.payload;
    if (options.payload_file) return read_payload_file(*options.payload_file);
    return {};
}

// What a push whose unique key is held prints instead of a new id.
std::string duplicate_text(const Uuid& holder, const Message& message) {
    std::string text = "duplicate of ";
    text += holder.to_string();
    text += " (unique key ";
    text += escape_text(message.unique_key.value_or(""), false);
    text += " is held in queue ";
    text += escape_text(message.queue, false);
    text += ")";
    return text;
}

// std::invalid_argument's message from the library, without its "gqs: " prefix, after
// `command` ("push: ..."): a usage error, since every argument came from the command line.
UsageError usage_error_of(const char* command, const std::invalid_argument& e) {
    std::string what = e.what();
    if (what.rfind("gqs: ", 0) == 0) what.erase(0, 5);
    // validate's messages quote the parser's ("schedule \"x\": gqs: cron: ..."): one prefix.
    for (auto at = what.find(": gqs: "); at != std::string::npos; at = what.find(": gqs: ", at))
        what.erase(at + 2, 5);
    return UsageError(std::string(command).append(": ").append(what));
}

} // namespace

void run_init(const Context& ctx) {
    const int version = init_queue(ctx.target);
    const bool postgres = ctx.target.backend == BackendKind::Postgres;
    if (ctx.json) {
        print_json(ctx, {{"db", ctx.target.display()},
                         {"schema", postgres ? json(ctx.target.schema) : json(nullptr)},
                         {"schema_version", version}});
    } else {
        *ctx.out << "initialised " << ctx.target.where() << " (gqs schema version " << version
                 << ")\n";
    }
}

void run_push(const Context& ctx, const PushOptions& options) {
    const int sources = static_cast<int>(options.message.payload.has_value()) +
                        static_cast<int>(options.message.payload_file.has_value()) +
                        static_cast<int>(options.from_stdin);
    if (sources != 1)
        throw UsageError("push: give exactly one of --payload, --payload-file, --stdin");
    if (options.id && options.from_stdin)
        throw UsageError("push: --id names one job; it cannot be used with --stdin");
    // Every line would carry the key, so only the first line would be stored.
    if (options.message.unique_key && options.from_stdin)
        throw UsageError("push: --unique-key names one job; it cannot be used with --stdin");
    const Message base = message_of(options.message);
    Duration delay{};
    if (options.delay) delay = parse_duration_option("--delay", *options.delay);
    std::optional<Uuid> id;
    if (options.id) id = parse_id(*options.id);

    std::vector<Message> messages;
    auto add = [&](std::string payload) {
        Message m = base;
        m.id = Uuid::generate(); // each line is a job of its own
        m.payload = std::move(payload);
        messages.push_back(std::move(m));
    };
    if (!options.from_stdin) add(payload_of(options.message));
    if (id) messages.front().id = *id;

    OpenedQueue opened(ctx.target);
    if (options.from_stdin) {
        std::string input{std::istreambuf_iterator<char>(std::cin), {}};
        if (std::cin.bad()) throw Error("cannot read standard input");
        std::size_t start = 0;
        while (start < input.size()) {
            auto end = input.find('\n', start);
            if (end == std::string::npos) end = input.size();
            if (end > start) add(input.substr(start, end - start));
            start = end + 1;
        }
    }

    Pusher& pusher = opened.pusher();
    std::vector<PushResult> results;
    try {
        if (messages.size() == 1) {
            results.push_back(pusher.push(messages.front(), delay));
        } else if (!messages.empty()) {
            results = pusher.push_batch(messages, delay); // all lines or none
        }
    } catch (const std::invalid_argument& e) {
        // Every argument came from the command line (the checks above should catch them).
        throw usage_error_of("push", e);
    }

    if (ctx.json) {
        json ids = json::array();
        for (const auto& r : results)
            ids.push_back(r.id.to_string());
        json document;
        if (!options.from_stdin && results.size() == 1) {
            document["id"] = results.front().id.to_string();
            document["duplicate"] = results.front().duplicate;
        }
        document["queue"] = base.queue;
        document["priority"] = base.priority;
        if (!options.from_stdin)
            document["unique_key"] = base.unique_key ? json(*base.unique_key) : json(nullptr);
        document["ids"] = ids;
        print_json(ctx, document);
        return;
    }
    for (const auto& r : results) {
        if (r.duplicate) {
            // Only a single push carries a unique key.
            *ctx.out << duplicate_text(r.id, base) << '\n';
        } else {
            *ctx.out << r.id.to_string() << '\n';
        }
    }
}

namespace {

// A label value of the Prometheus text format: backslash, double quote and newline escaped.
std::string prometheus_label(std::string_view value) {
    std::string out;
    for (const char c : value) {
        if (c == '\\') {
            out += "\\\\";
        } else if (c == '"') {
            out += "\\\"";
        } else if (c == '\n') {
            out += "\\n";
        } else {
            out += c;
        }
    }
    return out;
}

// The gauges of the stored limits: whether each queue (of `names`) is paused, and each limit
// set for one (`limits`: the queues with stored limits, by name).
void print_limit_gauges(std::ostream& out, const std::set<std::string, std::less<>>& names,
                        const std::map<std::string, QueueLimits, std::less<>>& limits) {
    out << "# HELP gqs_queue_paused Whether the queue is paused (1) or not (0).\n"
           "# TYPE gqs_queue_paused gauge\n";
    for (const auto& name : names) {
        const auto it = limits.find(name);
        out << "gqs_queue_paused{queue=\"" << prometheus_label(name) << "\"} "
            << (it != limits.end() && it->second.paused ? 1 : 0) << '\n';
    }
    out << "# HELP gqs_queue_limit A limit stored for the queue (docs/limits.md); none when "
           "unset.\n# TYPE gqs_queue_limit gauge\n";
    for (const auto& [name, l] : limits) {
        if (!names.contains(name)) continue;
        const std::string queue = prometheus_label(name);
        auto gauge = [&](const char* limit, double value) {
            out << "gqs_queue_limit{queue=\"" << queue << "\",limit=\"" << limit << "\"} " << value
                << '\n';
        };
        if (l.max_running) gauge("max_running", *l.max_running);
        if (l.rate) {
            gauge("rate", *l.rate);
            gauge("burst", l.burst);
        }
        if (l.max_running_per_key) gauge("max_running_per_key", *l.max_running_per_key);
        if (l.fair_share || !l.group_weights.empty()) gauge("fair_share", 1);
    }
}

// The gauges of `queues` (name -> counts) as of `at`, in the Prometheus text format.
void print_prometheus(std::ostream& out,
                      const std::map<std::string, QueueStats, std::less<>>& queues, TimePoint at) {
    out << "# HELP gqs_jobs Jobs per queue and status.\n# TYPE gqs_jobs gauge\n";
    for (const auto& [name, q] : queues) {
        const std::string queue = prometheus_label(name);
        const std::array<std::pair<const char*, std::int64_t>, 4> counts{
            {{"pending", q.pending},
             {"processing", q.processing},
             {"done", q.done},
             {"dead", q.dead}}};
        for (const auto& [status, n] : counts)
            out << "gqs_jobs{queue=\"" << queue << "\",status=\"" << status << "\"} " << n << '\n';
    }
    out << "# HELP gqs_queue_lag_seconds How long the oldest runnable Pending job has waited "
           "(0: none).\n# TYPE gqs_queue_lag_seconds gauge\n";
    for (const auto& [name, q] : queues) {
        const double lag =
            q.oldest_ready
                ? std::max(0.0, std::chrono::duration<double>(at - *q.oldest_ready).count())
                : 0.0;
        out << "gqs_queue_lag_seconds{queue=\"" << prometheus_label(name) << "\"} " << lag << '\n';
    }
    out << "# HELP gqs_expired_leases Processing jobs whose lease ran out (pulled again).\n"
           "# TYPE gqs_expired_leases gauge\n";
    for (const auto& [name, q] : queues)
        out << "gqs_expired_leases{queue=\"" << prometheus_label(name) << "\"} " << q.expired_leases
            << '\n';
}

} // namespace

void run_stats(const Context& ctx, const StatsOptions& options) {
    if (options.queue) check_name_option("--queue", *options.queue, max_queue_bytes);
    if (options.prometheus && ctx.json)
        throw UsageError("stats: --prometheus and --json cannot be used together");
    OpenedQueue opened(ctx.target);
    const Stats s = opened.observer().stats();

    // With --queue, that queue alone (zeros when it holds no job) stands for the totals.
    QueueStats total{.pending = s.pending,
                     .processing = s.processing,
                     .done = s.done,
                     .dead = s.dead,
                     .expired_leases = s.expired_leases,
                     .oldest_ready = s.oldest_ready,
                     .next_scheduled = s.next_scheduled};
    std::map<std::string, QueueStats, std::less<>> queues = s.queues;
    if (options.queue) {
        auto it = s.queues.find(*options.queue);
        total = it != s.queues.end() ? it->second : QueueStats{};
        queues = {{*options.queue, total}};
    }
    auto lag_of = [&](const QueueStats& q) -> std::optional<Duration> {
        if (!q.oldest_ready) return std::nullopt;
        return std::chrono::duration_cast<Duration>(s.at - *q.oldest_ready);
    };
    auto sum = [](const QueueStats& q) { return q.pending + q.processing + q.done + q.dead; };

    if (options.prometheus) {
        print_prometheus(*ctx.out, queues, s.at);
        // A database older than the current queue limits (version 5 or less; `init` upgrades
        // it) has none to print; a failure to read them is an error as any other.
        Queues* stored = nullptr;
        try {
            stored = &opened.queues();
        } catch (const gqs::Error&) {
        }
        std::map<std::string, QueueLimits, std::less<>> limits;
        if (stored != nullptr) {
            for (auto& [name, l] : stored->list())
                limits.emplace(name, std::move(l));
        }
        std::set<std::string, std::less<>> names;
        for (const auto& [name, q] : queues)
            names.insert(name);
        if (options.queue) {
            names = {*options.queue};
        } else {
            for (const auto& [name, l] : limits)
                names.insert(name);
        }
        print_limit_gauges(*ctx.out, names, limits);
        return;
    }
    if (ctx.json) {
        auto counts_json = [&](const QueueStats& q) {
            const auto lag = lag_of(q);
            return json{{"pending", q.pending},
                        {"processing", q.processing},
                        {"done", q.done},
                        {"dead", q.dead},
                        {"total", sum(q)},
                        {"expired_leases", q.expired_leases},
                        {"oldest_ready", time_json(q.oldest_ready)},
                        {"lag_ms", lag ? json(lag->count()) : json(nullptr)},
                        {"next_scheduled", time_json(q.next_scheduled)}};
        };
        json document{{"at", format_time(s.at, true)}};
        if (options.queue) document["queue"] = *options.queue;
        document.update(counts_json(total));
        json per_queue = json::object();
        for (const auto& [name, q] : queues)
            per_queue[name] = counts_json(q);
        document["queues"] = per_queue;
        print_json(ctx, document);
        return;
    }
    const auto lag = lag_of(total);
    Table table({"", ""});
    if (options.queue) table.add({"queue", escape_text(*options.queue, false)});
    auto count = [&](const char* name, std::int64_t n) { table.add({name, std::to_string(n)}); };
    count("pending", total.pending);
    count("processing", total.processing);
    count("done", total.done);
    count("dead", total.dead);
    count("total", sum(total));
    table.add({"expired leases",
               std::to_string(total.expired_leases) +
                   (total.expired_leases > 0 ? " (processing jobs whose lease ran out)" : "")});
    table.add({"lag", lag ? format_duration(*lag) + " (oldest ready job due " +
                                format_time(*total.oldest_ready) + ")"
                          : "- (no pending job is due)"});
    table.add({"next scheduled", total.next_scheduled
                                     ? format_time(*total.next_scheduled) + " (" +
                                           format_relative(*total.next_scheduled, s.at) + ")"
                                     : "- (no delayed job)"});
    table.print(*ctx.out, false);
    if (options.queue || queues.empty()) return;

    // One row per queue that holds any job, by name.
    Table per_queue({"QUEUE", "PENDING", "PROCESSING", "DONE", "DEAD", "EXPIRED LEASES", "LAG",
                     "NEXT SCHEDULED"});
    for (std::size_t column = 1; column <= 6; ++column)
        per_queue.align_right(column);
    for (const auto& [name, q] : queues) {
        const auto queue_lag = lag_of(q);
        per_queue.add({escape_text(name, true), std::to_string(q.pending),
                       std::to_string(q.processing), std::to_string(q.done), std::to_string(q.dead),
                       std::to_string(q.expired_leases),
                       queue_lag ? format_duration(*queue_lag) : "-",
                       q.next_scheduled ? format_relative(*q.next_scheduled, s.at) : "-"});
    }
    *ctx.out << '\n';
    per_queue.print(*ctx.out);
}

void run_list(const Context& ctx, const ListOptions& options) {
    const std::optional<Status> status = parse_status_option(options.status);
    if (options.limit < 0) throw UsageError("--limit must be 0 (no limit) or more");
    std::optional<Uuid> after;
    if (options.after) after = parse_id(*options.after);
    if (options.queue) check_name_option("--queue", *options.queue, max_queue_bytes);

    OpenedQueue opened(ctx.target);
    Observer& observer = opened.observer();
    std::optional<Cursor> cursor;
    if (after) {
        auto job = observer.get(*after);
        if (!job) throw JobLost("list: --after: no job " + after->to_string());
        cursor = cursor_of(*job);
    }
    auto page = [&](int limit) {
        return cursor ? observer.list_after(status, limit, *cursor) : observer.list(status, limit);
    };
    std::vector<Job> jobs;
    if (!options.queue) {
        jobs = page(options.limit);
    } else {
        // The Observer has no queue filter: read the pages in order and keep the queue's jobs
        // until --limit of them are found or the jobs run out.
        const int page_size =
            options.limit > 0 ? std::max(options.limit, min_scan_page) : scan_page;
        auto full = [&] {
            return options.limit > 0 && jobs.size() == static_cast<std::size_t>(options.limit);
        };
        for (;;) {
            auto read = page(page_size);
            if (read.empty()) break;
            const Cursor last = cursor_of(read.back());
            for (auto& job : read) {
                if (job.queue != *options.queue) continue;
                jobs.push_back(std::move(job));
                if (full()) break;
            }
            if (full() || read.size() < static_cast<std::size_t>(page_size)) break;
            cursor = last;
        }
    }
    // A full page may have a next one; the caller pages with --after.
    std::optional<std::string> next;
    if (options.limit > 0 && jobs.size() == static_cast<std::size_t>(options.limit))
        next = jobs.back().id.to_string();

    if (ctx.json) {
        json list = json::array();
        for (const auto& job : jobs)
            list.push_back(job_json(job));
        print_json(ctx, {{"jobs", list}, {"next_after", next ? json(*next) : json(nullptr)}});
        return;
    }
    if (jobs.empty()) {
        *ctx.out << "no " << (status ? options.status + " " : "") << "jobs"
                 << (options.queue ? " in queue " + escape_text(*options.queue, false)
                                   : std::string())
                 << (after ? " after " + after->to_string() : std::string()) << '\n';
        return;
    }
    Table table({"ID", "QUEUE", "PRI", "STATUS", "ATTEMPTS", "CREATED", "UPDATED", "NEXT RUN",
                 "LOCKED UNTIL", "SIZE", "METADATA", "LAST ERROR"});
    table.align_right(2).align_right(4).align_right(9);
    for (const auto& job : jobs) {
        table.add(
            {job.id.to_string(), truncate(escape_text(job.queue, true), queue_width),
             std::to_string(job.priority), std::string(to_string(job.status)),
             std::to_string(job.attempts), format_time(job.created_at), format_time(job.updated_at),
             format_time(job.next_run_at), job.locked_until ? format_time(*job.locked_until) : "-",
             std::to_string(job.payload.size()), truncate(metadata_text(job, true), metadata_width),
             job.errors.empty()
                 ? "-"
                 : truncate(escape_text(job.errors.back().message, true), error_width)});
    }
    table.print(*ctx.out);
    if (next) {
        // The command that shows the next page, ready to paste.
        *ctx.out << "next page: gqs " << ctx.target.db_arguments() << " list";
        if (status) *ctx.out << " --status " << to_string(*status);
        if (options.queue) *ctx.out << " --queue " << shell_word(*options.queue);
        *ctx.out << " --limit " << options.limit << " --after " << *next << '\n';
    }
}

void run_get(const Context& ctx, const GetOptions& options) {
    const Uuid id = parse_id(options.id);
    OpenedQueue opened(ctx.target);
    auto found = opened.observer().get(id);
    if (!found) throw JobLost("get: no job " + id.to_string());
    const Job& job = *found;
    if (options.payload_out) write_payload_file(*options.payload_out, job.payload);

    if (ctx.json) {
        json document = job_json(job);
        if (options.payload_out) {
            document["payload_file"] = options.payload_out->string();
        } else if (is_utf8(job.payload)) {
            document["payload_encoding"] = "utf8";
            document["payload"] = job.payload;
        } else {
            document["payload_encoding"] = "base64";
            document["payload"] = base64(job.payload);
        }
        print_json(ctx, document);
        return;
    }
    const auto now = std::chrono::system_clock::now();
    auto when = [&](TimePoint t) {
        return format_time(t, true) + " (" + format_relative(t, now) + ")";
    };
    Table table({"", ""});
    table.add({"id", job.id.to_string()});
    table.add({"queue", escape_text(job.queue, false)});
    table.add({"priority", std::to_string(job.priority)});
    table.add({"unique key", job.unique_key ? escape_text(*job.unique_key, false) : "-"});
    table.add({"status", std::string(to_string(job.status))});
    table.add({"cancel requested", job.cancel_requested ? "yes" : "no"});
    table.add({"attempts", std::to_string(job.attempts)});
    table.add({"created", when(job.created_at)});
    table.add({"updated", when(job.updated_at)});
    table.add({"next run", when(job.next_run_at)});
    table.add({"locked until", job.locked_until ? when(*job.locked_until) : "-"});
    table.add({"metadata", metadata_text(job, false)});
    // The error history, oldest first, one entry a line.
    if (job.errors.empty()) table.add({"errors", "-"});
    for (std::size_t i = 0; i < job.errors.size(); ++i) {
        const auto& e = job.errors[i];
        table.add({i == 0 ? "errors" : "", format_time(e.at, true) + "  attempt " +
                                               std::to_string(e.attempt) + "  " +
                                               escape_text(e.message, false)});
    }

    const std::string size = plural(static_cast<std::int64_t>(job.payload.size()), "byte", "bytes");
    std::string body;
    std::size_t shown = job.payload.size();
    if (options.payload_out) {
        table.add({"payload", size + ", written to " + options.payload_out->string()});
    } else if (job.payload.empty()) {
        table.add({"payload", size});
    } else if (is_printable_text(job.payload)) {
        table.add({"payload", size + ", text:"});
        body = std::string(utf8_prefix(job.payload, text_limit));
        shown = body.size();
        if (!body.empty() && body.back() != '\n') body += '\n';
    } else {
        table.add({"payload", size + ", binary (hex):"});
        shown = std::min(job.payload.size(), hex_limit);
        body = hex_dump(std::string_view(job.payload).substr(0, shown));
    }
    table.print(*ctx.out, false);
    *ctx.out << body;
    if (shown < job.payload.size())
        *ctx.out << "... "
                 << plural(static_cast<std::int64_t>(job.payload.size() - shown), "more byte",
                           "more bytes")
                 << " (write them all with --payload-out FILE)\n";
}

void run_retry(const Context& ctx, const RetryOptions& options) {
    if (options.id.has_value() == options.all_dead)
        throw UsageError(options.all_dead ? "retry: give a job id or --all-dead, not both"
                                          : "retry: give a job id or --all-dead");
    Duration delay{};
    if (options.delay) delay = parse_duration_option("--delay", *options.delay);
    std::optional<Uuid> id;
    if (options.id) id = parse_id(*options.id);

    OpenedQueue opened(ctx.target);
    Admin& admin = opened.admin();
    std::int64_t retried = 1;
    if (id) {
        admin.retry(*id, delay);
    } else {
        retried = admin.retry_all_dead(delay);
    }
    if (ctx.json) {
        json document{{"retried", retried}, {"delay_ms", delay.count()}};
        if (id) document["id"] = id->to_string();
        print_json(ctx, document);
        return;
    }
    std::string when = delay.count() > 0 ? ", runnable in " + format_duration(delay) : "";
    if (id) {
        *ctx.out << "retried " << id->to_string() << " (dead -> pending" << when << ")\n";
    } else {
        *ctx.out << "retried " << plural(retried, "dead job", "dead jobs")
                 << (retried > 0 ? " (dead -> pending" + when + ")" : std::string()) << '\n';
    }
}

void run_kill(const Context& ctx, const std::string& text) {
    const Uuid id = parse_id(text);
    OpenedQueue opened(ctx.target);
    try {
        opened.admin().cancel(id);
    } catch (const BadStatus&) {
        // The library names the action "cancel"; say it in the CLI's words.
        auto job = opened.observer().get(id);
        std::string status(to_string(job ? job->status : Status::Unknown));
        throw BadStatus("kill: job " + id.to_string() + " is " + status +
                        "; kill takes a pending or processing job");
    } catch (const JobLost&) {
        throw JobLost("kill: no job " + id.to_string());
    }
    // A running job is only flagged: its worker asks the handler to stop.
    auto job = opened.observer().get(id);
    const bool running = job && job->status == Status::Processing;
    if (ctx.json) {
        print_json(ctx, {{running ? "cancel_requested" : "killed", id.to_string()}});
    } else if (running) {
        *ctx.out << "cancel requested for " << id.to_string()
                 << " (processing: its worker stops the handler; the job ends dead, or done if "
                    "the handler finishes first)\n";
    } else {
        *ctx.out << "killed " << id.to_string() << " (pending -> dead)\n";
    }
}

void run_delete(const Context& ctx, const std::string& text) {
    const Uuid id = parse_id(text);
    OpenedQueue opened(ctx.target);
    opened.admin().remove(id);
    if (ctx.json) {
        print_json(ctx, {{"deleted", id.to_string()}});
    } else {
        *ctx.out << "deleted " << id.to_string() << '\n';
    }
}

void run_clean(const Context& ctx, const CleanOptions& options) {
    std::optional<Status> status; // nullopt: "all", done and dead
    if (options.status == "done") {
        status = Status::Done;
    } else if (options.status == "dead") {
        status = Status::Dead;
    } else if (options.status != "all") {
        throw UsageError("--status: clean takes done, dead or all (got '" +
                         truncate(options.status, 60) + "')");
    }
    std::optional<Duration> older_than;
    if (options.older_than) older_than = parse_duration_option("--older-than", *options.older_than);

    OpenedQueue opened(ctx.target);
    std::optional<TimePoint> before;
    if (older_than) before = std::chrono::system_clock::now() - *older_than;
    const std::int64_t deleted = opened.cleaner().clean(status, before);

    if (ctx.json) {
        print_json(
            ctx, {{"deleted", deleted}, {"status", options.status}, {"before", time_json(before)}});
        return;
    }
    const char* which = status == Status::Done   ? "done"
                        : status == Status::Dead ? "dead"
                                                 : "done and dead";
    *ctx.out << "deleted " << plural(deleted, "job", "jobs") << " (" << which;
    if (before) *ctx.out << ", updated before " << format_time(*before);
    *ctx.out << ")\n";
}

namespace {

const char* catch_up_name(CatchUp catch_up) {
    switch (catch_up) {
    case CatchUp::Latest: return "latest";
    case CatchUp::All: return "all";
    case CatchUp::None: return "none";
    }
    return "latest";
}

CatchUp parse_catch_up_option(const std::string& text) {
    if (text == "latest") return CatchUp::Latest;
    if (text == "all") return CatchUp::All;
    if (text == "none") return CatchUp::None;
    throw UsageError("--catch-up: unknown policy '" + truncate(escape_text(text, true), 60) +
                     "' (expected latest, all or none)");
}

// `t` on the wall clock of the schedule's zone; nullopt for a zone the tz database no longer
// has (the schedule stops firing then), so one such row does not fail the whole list.
std::optional<std::string> local_time(TimePoint t, const std::string& zone, bool micros) {
    try {
        return format_time_in(t, zone, micros);
    } catch (const std::invalid_argument&) {
        return std::nullopt;
    }
}

// local_time in text: UTC with a note when the zone is unknown.
std::string local_time_text(TimePoint t, const std::string& zone) {
    if (auto local = local_time(t, zone, false)) return *local;
    return format_time(t) + " (unknown zone)";
}

// The slot a schedule will push next: none while it is paused (resume picks a new one).
std::optional<TimePoint> next_slot(const ScheduleInfo& info) {
    if (info.schedule.paused) return std::nullopt;
    return info.next_fire;
}

json schedule_json(const ScheduleInfo& info) {
    const Schedule& s = info.schedule;
    const std::optional<TimePoint> next = next_slot(info);
    const std::optional<std::string> local =
        next ? local_time(*next, s.zone, true) : std::optional<std::string>();
    const nlohmann::json metadata = metadata_json(s.message);
    return json{{"name", s.name},
                {"cron", s.cron},
                {"zone", s.zone},
                {"queue", s.message.queue},
                {"priority", s.message.priority},
                {"unique_key", s.message.unique_key ? json(*s.message.unique_key) : json(nullptr)},
                {"metadata", metadata.is_null() ? json(nullptr) : json(metadata)},
                {"payload_size", s.message.payload.size()},
                {"catch_up", catch_up_name(s.catch_up)},
                {"paused", s.paused},
                {"next_fire", time_json(next)},
                {"next_fire_local", local ? json(*local) : json(nullptr)},
                {"last_fire", time_json(info.last_fire)},
                {"last_job", info.last_job ? json(info.last_job->to_string()) : json(nullptr)}};
}

// The next fire in words: both clocks, or why there is none.
std::string next_fire_text(const ScheduleInfo& info) {
    if (info.schedule.paused) return "- (paused)";
    if (!info.next_fire) return "- (never fires again)";
    return local_time_text(*info.next_fire, info.schedule.zone) + " = " +
           format_time(*info.next_fire);
}

// "no schedule named ..." after `command`, as the library says it for pause and resume.
ScheduleNotFound not_found(const char* command, const std::string& name) {
    return ScheduleNotFound(std::string(command)
                                .append(": no schedule named \"")
                                .append(escape_text(name, false))
                                .append("\""));
}

// The stored schedule `name`; ScheduleNotFound naming `command` when there is none.
ScheduleInfo stored_schedule(Schedules& schedules, const char* command, const std::string& name) {
    auto info = schedules.get(name);
    if (!info) throw not_found(command, name);
    return *info;
}

} // namespace

void run_schedule_add(const Context& ctx, const ScheduleAddOptions& options) {
    if (options.message.payload && options.message.payload_file)
        throw UsageError("schedule add: give at most one of --payload, --payload-file");
    Schedule schedule;
    schedule.name = options.name;
    schedule.cron = options.cron;
    schedule.zone = options.zone;
    schedule.catch_up = parse_catch_up_option(options.catch_up);
    schedule.paused = options.paused;
    schedule.message = message_of(options.message);
    try {
        // The name, cron expression and zone, before any file is read or database opened.
        validate(schedule);
    } catch (const std::invalid_argument& e) {
        throw usage_error_of("schedule add", e);
    }
    schedule.message.payload = payload_of(options.message);

    OpenedQueue opened(ctx.target);
    Schedules& schedules = opened.schedules();
    const bool replaced = schedules.get(schedule.name).has_value();
    try {
        schedules.put(schedule);
    } catch (const std::invalid_argument& e) {
        throw usage_error_of("schedule add", e);
    }
    const ScheduleInfo info = stored_schedule(schedules, "schedule add", schedule.name);
    if (ctx.json) {
        json document = schedule_json(info);
        document["replaced"] = replaced;
        print_json(ctx, document);
        return;
    }
    *ctx.out << (replaced ? "replaced" : "added") << " schedule "
             << escape_text(schedule.name, false) << " (" << escape_text(schedule.cron, false)
             << " in " << escape_text(schedule.zone, false) << ", pushes to queue "
             << escape_text(schedule.message.queue, false) << ")\n"
             << "next fire: " << next_fire_text(info) << '\n';
}

void run_schedule_list(const Context& ctx) {
    OpenedQueue opened(ctx.target);
    const std::vector<ScheduleInfo> infos = opened.schedules().list();
    if (ctx.json) {
        json list = json::array();
        for (const auto& info : infos)
            list.push_back(schedule_json(info));
        print_json(ctx, list);
        return;
    }
    if (infos.empty()) {
        *ctx.out << "no schedules\n";
        return;
    }
    Table table({"NAME", "CRON", "ZONE", "QUEUE", "CATCH-UP", "STATE", "NEXT FIRE (ZONE)",
                 "NEXT FIRE (UTC)", "LAST FIRE (UTC)", "LAST JOB"});
    for (const auto& info : infos) {
        const Schedule& s = info.schedule;
        std::string next_local = "-";
        std::string next_utc = "-";
        if (const auto next = next_slot(info)) {
            next_local = local_time_text(*next, s.zone);
            next_utc = format_time(*next);
        } else if (!s.paused) {
            next_local = "never";
        }
        table.add({escape_text(s.name, true), escape_text(s.cron, true), escape_text(s.zone, true),
                   truncate(escape_text(s.message.queue, true), queue_width),
                   catch_up_name(s.catch_up), s.paused ? "paused" : "active", next_local, next_utc,
                   info.last_fire ? format_time(*info.last_fire) : "-",
                   info.last_job ? info.last_job->to_string() : "-"});
    }
    table.print(*ctx.out);
}

void run_schedule_pause(const Context& ctx, const std::string& name) {
    OpenedQueue opened(ctx.target);
    try {
        opened.schedules().pause(name);
    } catch (const ScheduleNotFound&) {
        throw not_found("schedule pause", name);
    }
    if (ctx.json) {
        print_json(ctx, {{"paused", name}});
    } else {
        *ctx.out << "paused schedule " << escape_text(name, false)
                 << " (it pushes nothing until `gqs schedule resume`)\n";
    }
}

void run_schedule_resume(const Context& ctx, const std::string& name) {
    OpenedQueue opened(ctx.target);
    Schedules& schedules = opened.schedules();
    try {
        schedules.resume(name);
    } catch (const ScheduleNotFound&) {
        throw not_found("schedule resume", name);
    }
    const ScheduleInfo info = stored_schedule(schedules, "schedule resume", name);
    if (ctx.json) {
        print_json(ctx, {{"resumed", name}, {"next_fire", time_json(info.next_fire)}});
    } else {
        *ctx.out << "resumed schedule " << escape_text(name, false)
                 << "\nnext fire: " << next_fire_text(info) << '\n';
    }
}

void run_schedule_remove(const Context& ctx, const std::string& name) {
    OpenedQueue opened(ctx.target);
    if (!opened.schedules().remove(name)) throw not_found("schedule remove", name);
    if (ctx.json) {
        print_json(ctx, {{"removed", name}});
    } else {
        *ctx.out << "removed schedule " << escape_text(name, false)
                 << " (the jobs it pushed stay)\n";
    }
}

void run_schedule_run(const Context& ctx, const std::string& name) {
    OpenedQueue opened(ctx.target);
    Schedules& schedules = opened.schedules();
    PushResult result;
    try {
        result = schedules.run_now(name);
    } catch (const ScheduleNotFound&) {
        throw not_found("schedule run", name);
    }
    if (ctx.json) {
        print_json(ctx, {{"id", result.id.to_string()}, {"duplicate", result.duplicate}});
        return;
    }
    if (!result.duplicate) {
        *ctx.out << result.id.to_string() << '\n';
        return;
    }
    // Only the schedule's own unique key makes a duplicate: name it and its queue.
    const ScheduleInfo info = stored_schedule(schedules, "schedule run", name);
    *ctx.out << duplicate_text(result.id, info.schedule.message) << '\n';
}

namespace {

// What `none` means to --max-running, --rate, --max-running-per-key and --weight.
constexpr std::string_view no_limit = "none";

// `text` quoted for an error message: one line, at most 60 bytes.
std::string quoted(const std::string& text) {
    return std::string("'").append(truncate(escape_text(text, true), 60)).append("'");
}

// A whole-number option's value (`expected` says what it takes, for the error).
int parse_int_option(const std::string& option, const std::string& text, const char* expected) {
    int value = 0;
    const char* first = text.data();
    const char* last = first + text.size();
    const auto [end, error] = std::from_chars(first, last, value);
    if (error == std::errc() && end == last && first != last) return value;
    if (error == std::errc::result_out_of_range && end == last)
        throw UsageError(option + ": " + quoted(text) + " is out of range (expected " + expected +
                         ")");
    throw UsageError(option + ": bad value " + quoted(text) + " (expected " + expected + ")");
}

// A limit that `none` lifts: nullopt for `none`.
std::optional<int> parse_limit_option(const std::string& option, const std::string& text) {
    if (text == no_limit) return std::nullopt;
    return parse_int_option(option, text, "a whole number of at least 1, or none");
}

// --rate: starts per second (fractional allowed), nullopt for `none`.
std::optional<double> parse_rate_option(const std::string& text) {
    if (text == no_limit) return std::nullopt;
    double value = 0;
    const char* first = text.data();
    const char* last = first + text.size();
    const auto [end, error] = std::from_chars(first, last, value);
    if (error == std::errc() && end == last && first != last) return value;
    if (error == std::errc::result_out_of_range && end == last)
        throw UsageError(std::string("--rate: ") + quoted(text) + " is out of range");
    throw UsageError(std::string("--rate: bad value ") + quoted(text) +
                     " (expected starts per second above 0, such as 10 or 0.5, or none)");
}

// The changes `queue limits` was asked for, parsed; nullopt: not given (the stored value
// stays). An inner nullopt is `none`.
struct LimitChanges {
    std::optional<std::optional<int>> max_running;
    std::optional<std::optional<double>> rate;
    std::optional<int> burst;
    std::optional<std::optional<int>> max_running_per_key;
    // Group -> weight, nullopt to remove it; in the order given (the last one wins).
    std::vector<std::pair<std::string, std::optional<int>>> weights;
    std::optional<bool> fair_share;

    [[nodiscard]] bool any() const {
        return max_running || rate || burst || max_running_per_key || !weights.empty() ||
               fair_share;
    }

    // `limits` with these changes made.
    void apply(QueueLimits& limits) const {
        if (max_running) limits.max_running = *max_running;
        if (rate) limits.rate = *rate;
        if (burst) limits.burst = *burst;
        if (max_running_per_key) limits.max_running_per_key = *max_running_per_key;
        if (fair_share) limits.fair_share = *fair_share;
        for (const auto& [group, weight] : weights) {
            if (weight) {
                limits.group_weights[group] = *weight;
            } else {
                limits.group_weights.erase(group);
            }
        }
    }
};

LimitChanges parse_changes(const QueueLimitsOptions& options) {
    LimitChanges changes;
    if (options.max_running)
        changes.max_running = parse_limit_option("--max-running", *options.max_running);
    if (options.rate) changes.rate = parse_rate_option(*options.rate);
    if (options.burst)
        changes.burst = parse_int_option("--burst", *options.burst, "a whole number of at least 1");
    if (options.max_running_per_key)
        changes.max_running_per_key =
            parse_limit_option("--max-running-per-key", *options.max_running_per_key);
    if (options.fair_share) {
        if (*options.fair_share != "on" && *options.fair_share != "off")
            throw UsageError(std::string("--fair-share: bad value ") + quoted(*options.fair_share) +
                             " (expected on or off)");
        changes.fair_share = *options.fair_share == "on";
    }
    for (const auto& text : options.weights) {
        // The weight follows the last '=': a group name may hold one.
        const auto at = text.rfind('=');
        if (at == std::string::npos || at == 0)
            throw UsageError(std::string("--weight: bad value ") + quoted(text) +
                             " (expected GROUP=WEIGHT, or GROUP=none to remove the group's "
                             "weight)");
        const std::string group = text.substr(0, at);
        const std::string weight = text.substr(at + 1);
        if (weight == no_limit) {
            changes.weights.emplace_back(group, std::nullopt);
        } else {
            changes.weights.emplace_back(
                group, parse_int_option(std::string("--weight ") + escape_text(group, true), weight,
                                        "a whole number from 1 to 1000, or none"));
        }
    }
    return changes;
}

// validate's message (or set_limits') as a usage error of `queue limits`, said once:
// "queue limits: burst must be at least 1 (got 0)".
UsageError limits_error(const std::invalid_argument& e) {
    std::string what = e.what();
    if (what.rfind("gqs: ", 0) == 0) what.erase(0, 5);
    if (what.rfind("queue limits: ", 0) == 0) return UsageError(what);
    return UsageError(std::string("queue limits: ").append(what));
}

// The queue name a `queue` command names, checked as the library checks it (a usage error).
void check_queue_argument(const char* command, const std::string& queue) {
    try {
        detail::check_queue_name(queue);
    } catch (const std::invalid_argument& e) {
        throw usage_error_of(command, e);
    }
}

// A rate in its shortest exact decimal form: 2.5, 0.1, 1e-05.
std::string rate_text(double rate) {
    std::array<char, 32> buffer{};
    const auto [end, error] = std::to_chars(buffer.data(), buffer.data() + buffer.size(), rate);
    if (error != std::errc()) return std::to_string(rate);
    return {buffer.data(), end};
}

json optional_json(const std::optional<int>& value) { return value ? json(*value) : json(nullptr); }

json limits_json(const std::string& queue, const QueueLimits& limits) {
    json weights = json::object();
    for (const auto& [group, weight] : limits.group_weights)
        weights[group] = weight;
    return json{{"queue", queue},
                {"paused", limits.paused},
                {"max_running", optional_json(limits.max_running)},
                {"rate", limits.rate ? json(*limits.rate) : json(nullptr)},
                {"burst", limits.burst},
                {"max_running_per_key", optional_json(limits.max_running_per_key)},
                {"fair_share", limits.fair_share},
                {"group_weights", weights}};
}

// "a=3 b=2", group names escaped (ASCII only when `ascii`, for table cells).
std::string weights_text(const std::map<std::string, int>& weights, bool ascii) {
    std::string text;
    for (const auto& [group, weight] : weights) {
        if (!text.empty()) text += ' ';
        text += escape_text(group, ascii);
        text += '=';
        text += std::to_string(weight);
    }
    return text;
}

// Whether the pulls share the queue round-robin by group: "on", "on (group weights set)", "off".
std::string fair_text(const QueueLimits& limits) {
    if (limits.fair_share) return "on";
    return limits.group_weights.empty() ? "off" : "on (group weights set)";
}

// One queue's limits, a field a line.
void print_limits(const Context& ctx, const std::string& queue, const QueueLimits& limits) {
    auto limit = [](const std::optional<int>& value) {
        return value ? std::to_string(*value) : std::string("- (no limit)");
    };
    Table table({"", ""});
    table.add({"queue", escape_text(queue, false)});
    table.add({"state", limits.paused ? "paused" : "active"});
    table.add({"max running", limit(limits.max_running)});
    table.add({"rate", limits.rate ? rate_text(*limits.rate) + " starts per second"
                                   : std::string("- (no limit)")});
    table.add({"burst", std::to_string(limits.burst)});
    table.add({"max running per key", limit(limits.max_running_per_key)});
    table.add({"fair share", fair_text(limits)});
    table.add(
        {"group weights", limits.group_weights.empty()
                              ? std::string("- (every group weighs 1)")
                              : weights_text(limits.group_weights, false) + " (other groups 1)"});
    table.print(*ctx.out, false);
}

} // namespace

void run_queue_list(const Context& ctx) {
    OpenedQueue opened(ctx.target);
    const auto queues = opened.queues().list();
    if (ctx.json) {
        json list = json::array();
        for (const auto& [queue, limits] : queues)
            list.push_back(limits_json(queue, limits));
        print_json(ctx, list);
        return;
    }
    if (queues.empty()) {
        *ctx.out << "no queue limits\n";
        return;
    }
    Table table(
        {"QUEUE", "STATE", "MAX RUNNING", "RATE/S", "BURST", "MAX PER KEY", "FAIR", "WEIGHTS"});
    table.align_right(2).align_right(3).align_right(4).align_right(5);
    auto limit = [](const std::optional<int>& value) {
        return value ? std::to_string(*value) : std::string("-");
    };
    for (const auto& [queue, limits] : queues) {
        table.add({truncate(escape_text(queue, true), queue_width),
                   limits.paused ? "paused" : "active", limit(limits.max_running),
                   limits.rate ? rate_text(*limits.rate) : "-", std::to_string(limits.burst),
                   limit(limits.max_running_per_key),
                   limits.fair_share || !limits.group_weights.empty() ? "on" : "off",
                   limits.group_weights.empty() ? "-" : weights_text(limits.group_weights, true)});
    }
    table.print(*ctx.out);
}

void run_queue_limits(const Context& ctx, const QueueLimitsOptions& options) {
    check_queue_argument("queue limits", options.queue);
    const LimitChanges changes = parse_changes(options);
    if (changes.any()) {
        // The values given, before the database is opened: the defaults are valid, so what
        // fails here is an option.
        QueueLimits given;
        changes.apply(given);
        try {
            validate(given);
        } catch (const std::invalid_argument& e) {
            throw limits_error(e);
        }
    }

    OpenedQueue opened(ctx.target);
    Queues& queues = opened.queues();
    QueueLimits limits = queues.limits(options.queue);
    if (changes.any()) {
        // Read, change, write: the fields not given keep their stored value.
        changes.apply(limits);
        try {
            queues.set_limits(options.queue, limits);
        } catch (const std::invalid_argument& e) {
            throw limits_error(e);
        }
        limits = queues.limits(options.queue);
    }
    if (ctx.json) {
        print_json(ctx, limits_json(options.queue, limits));
        return;
    }
    if (changes.any())
        *ctx.out << "stored the limits of queue " << escape_text(options.queue, false) << "\n";
    print_limits(ctx, options.queue, limits);
}

void run_queue_pause(const Context& ctx, const std::string& queue) {
    check_queue_argument("queue pause", queue);
    OpenedQueue opened(ctx.target);
    Queues& queues = opened.queues();
    const bool was_paused = queues.limits(queue).paused;
    queues.pause(queue);
    if (ctx.json) {
        print_json(ctx, {{"paused", queue}});
    } else if (was_paused) {
        *ctx.out << "queue " << escape_text(queue, false) << " is paused already\n";
    } else {
        *ctx.out << "paused queue " << escape_text(queue, false)
                 << " (its other limits are kept; jobs already leased finish)\n";
    }
}

void run_queue_resume(const Context& ctx, const std::string& queue) {
    check_queue_argument("queue resume", queue);
    OpenedQueue opened(ctx.target);
    Queues& queues = opened.queues();
    const bool was_paused = queues.limits(queue).paused;
    queues.resume(queue);
    if (ctx.json) {
        print_json(ctx, {{"resumed", queue}});
    } else if (!was_paused) {
        *ctx.out << "queue " << escape_text(queue, false) << " is not paused\n";
    } else {
        *ctx.out << "resumed queue " << escape_text(queue, false)
                 << " (its other limits are kept)\n";
    }
}

void run_queue_clear(const Context& ctx, const std::string& queue) {
    check_queue_argument("queue clear", queue);
    OpenedQueue opened(ctx.target);
    const bool cleared = opened.queues().clear(queue);
    if (ctx.json) {
        print_json(ctx, {{"queue", queue}, {"cleared", cleared}});
    } else if (cleared) {
        *ctx.out << "cleared the limits of queue " << escape_text(queue, false)
                 << " (back to no limits)\n";
    } else {
        *ctx.out << "queue " << escape_text(queue, false) << " had no stored limits\n";
    }
}

} // namespace gqs::cli
