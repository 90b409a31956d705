// SPDX-License-Identifier: Apache-2.0
// Benchmark plumbing: settings, temporary database files, clocks and statistics.
#pragma once

#include <gqs/sqlite.hpp>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <filesystem>
#include <string>
#include <vector>

namespace gqs_bench {

using Clock = std::chrono::steady_clock;

/// What the command line asked for.
struct Settings {
    bool quick = false;
    bool full_sync = false;
    bool inline_checkpoint = false; // gqs side: SQLite's own checkpoints, as the raw side
    int runs = 7;
    bool runs_given = false;
    std::filesystem::path dir;

    [[nodiscard]] gqs::sqlite::Synchronous synchronous() const noexcept {
        return full_sync ? gqs::sqlite::Synchronous::Full : gqs::sqlite::Synchronous::Normal;
    }
    [[nodiscard]] gqs::sqlite::Options options() const {
        gqs::sqlite::Options o;
        o.busy_timeout = gqs::Duration(5000);
        o.wal = true;
        o.synchronous = synchronous();
        o.background_checkpoint = !inline_checkpoint;
        return o;
    }
};

/// A fresh database path under the temp dir; the file and its -wal, -shm and -journal
/// companions are removed when this goes away.
class TempDb {
public:
    explicit TempDb(const Settings& settings);
    ~TempDb();
    TempDb(const TempDb&) = delete;
    TempDb& operator=(const TempDb&) = delete;
    [[nodiscard]] const std::filesystem::path& path() const noexcept { return path_; }

private:
    std::filesystem::path path_;
};

/// Seconds elapsed since `start`.
inline double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

/// `value` printed with a printf `format` of one double (at most 63 characters).
inline std::string fmt(const char* format, double value) {
    char text[64];
    std::snprintf(text, sizeof text, format, value);
    return text;
}

/// The median (mean of the two middle values for an even count); 0 for none.
inline double median(std::vector<double> values) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    const std::size_t n = values.size();
    return n % 2 == 1 ? values[n / 2] : (values[n / 2 - 1] + values[n / 2]) / 2;
}

/// Nearest-rank percentile (p in (0, 100]) of `values`; 0 for none.
inline double percentile(std::vector<double> values, double p) {
    if (values.empty()) return 0;
    std::sort(values.begin(), values.end());
    auto rank = static_cast<std::size_t>(std::ceil(p / 100.0 * static_cast<double>(values.size())));
    return values[std::clamp<std::size_t>(rank, 1, values.size()) - 1];
}

/// The metadata every benchmark job carries, as JSON and as the text gqs stores for it.
inline constexpr const char* metadata_text = R"({"k":"v"})";

/// `prefix` followed by `n` in decimal ("k" + std::to_string(n) makes GCC 12 warn, -Wrestrict).
inline std::string numbered(std::string prefix, std::size_t n) {
    prefix += std::to_string(n);
    return prefix;
}

/// A ~100-byte payload.
std::string make_payload();

/// `count` messages with fresh ids, metadata {"k":"v"} and a ~100-byte payload.
std::vector<gqs::Message> make_messages(std::size_t count);

/// `count` fresh ids (the same generator gqs's Message uses).
std::vector<gqs::Uuid> make_ids(std::size_t count);

} // namespace gqs_bench
