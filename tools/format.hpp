// SPDX-License-Identifier: Apache-2.0
// Text in and out of the gqs CLI: durations, timestamps, payload display, aligned tables.
#pragma once

#include <gqs/time.hpp>

#include <cstddef>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <vector>

namespace gqs::cli {

/// The longest duration the CLI accepts (100 years): keeps `now ± d` far from overflow.
inline constexpr Duration max_duration = std::chrono::hours(24 * 36500);

/// Parses `500ms`, `30s`, `5m`, `2h`, `7d`, sums of them (`1h30m`) and a bare `0`.
/// nullopt on anything else, on a value above max_duration, or a negative value.
[[nodiscard]] std::optional<Duration> parse_duration(std::string_view text);

/// True when `text` is a well-formed duration that parse_duration refuses for being above
/// max_duration (so the error can say so).
[[nodiscard]] bool duration_too_long(std::string_view text);

/// A short human form: `350ms`, `12.5s`, `4m59s`, `2h5m`, `3d4h`; a leading `-` if negative.
[[nodiscard]] std::string format_duration(Duration d);

/// UTC ISO 8601: `2024-05-01T12:00:03Z`, or with `micros` `2024-05-01T12:00:03.123456Z`.
[[nodiscard]] std::string format_time(TimePoint t, bool micros = false);

/// ISO 8601 on the wall clock of `zone` ("UTC", "local" or an IANA name), with its UTC
/// offset: `2026-12-14T09:00:00+01:00`, or with `micros` `2026-12-14T09:00:00.000000+01:00`.
/// "local" is the system's zone (UTC when the system names none, as gqs::Cron does). Throws
/// std::invalid_argument naming a zone the tz database does not have.
[[nodiscard]] std::string format_time_in(TimePoint t, std::string_view zone, bool micros = false);

/// `in 4m59s`, `3m12s ago` or `now`, relative to `now`.
[[nodiscard]] std::string format_relative(TimePoint t, TimePoint now);

/// True when `bytes` is UTF-8 text that is safe to print on a terminal: no control
/// characters other than tab and newline, no DEL, no C1 controls, no invalid sequences.
[[nodiscard]] bool is_printable_text(std::string_view bytes) noexcept;

/// True when `bytes` is valid UTF-8 (control characters allowed).
[[nodiscard]] bool is_utf8(std::string_view bytes) noexcept;

/// `text` on one line and safe on a terminal: printable characters as they are (only the
/// ASCII ones when `ascii`, for table cells); tab, newline and carriage return as `\t`, `\n`,
/// `\r`; other ASCII controls and invalid bytes as `\xNN`; C1 controls (and, when `ascii`,
/// every non-ASCII character) as `\uNNNN`, or `\UNNNNNNNN` beyond U+FFFF.
[[nodiscard]] std::string escape_text(std::string_view text, bool ascii);

/// A hex dump, 16 bytes a line: offset, hex bytes, then the printable ASCII (`.` otherwise).
[[nodiscard]] std::string hex_dump(std::string_view bytes);

/// Standard base64 (RFC 4648, with padding).
[[nodiscard]] std::string base64(std::string_view bytes);

/// `text` cut to at most `width` bytes, ending in `...` when cut.
[[nodiscard]] std::string truncate(std::string_view text, std::size_t width);

/// `text` as one POSIX shell word: as it is when it holds only characters no shell treats
/// specially, else in single quotes. For the commands that messages suggest.
[[nodiscard]] std::string shell_word(const std::string& text);

/// Rows of cells printed with every column padded to its widest cell, two spaces apart;
/// the last column is not padded. Cells are expected to be single-line ASCII.
class Table {
public:
    /// Which side a column's cells are aligned to.
    enum class Align { Left, Right };

    /// Starts a table with these column headers (all left aligned).
    explicit Table(std::vector<std::string> headers);
    /// Aligns column `column` to the right (numbers).
    Table& align_right(std::size_t column);
    /// Adds one row; it must have one cell per header.
    void add(std::vector<std::string> row);
    /// Writes the header line (unless `with_header` is false) and the rows.
    void print(std::ostream& out, bool with_header = true) const;

private:
    std::vector<std::string> headers_;
    std::vector<Align> align_;
    std::vector<std::vector<std::string>> rows_;
};

} // namespace gqs::cli
