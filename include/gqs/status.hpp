// SPDX-License-Identifier: Apache-2.0
// The states of a job and their names.
#pragma once

#include <cstdint>
#include <optional>
#include <string_view>

namespace gqs {

/// The state of a job. The numeric values are stored in the database and never change.
/// Unknown is what a stored value outside the others reads as; it is no filter (Observer::list
/// and Cleaner::clean take std::nullopt for "any" and throw std::invalid_argument for it).
enum class Status : std::uint8_t { Unknown = 0, Pending = 1, Processing = 2, Done = 3, Dead = 4 };

/// The lowercase name of a status ("pending", ...); "unknown" for values outside the enum.
/// Thread-safety: pure function.
[[nodiscard]] constexpr std::string_view to_string(Status s) noexcept {
    switch (s) {
    case Status::Pending: return "pending";
    case Status::Processing: return "processing";
    case Status::Done: return "done";
    case Status::Dead: return "dead";
    case Status::Unknown: break;
    }
    return "unknown";
}

/// Parses a status name, case-insensitively ("Pending", "dead", ...); nullopt if unknown.
/// Thread-safety: pure function.
[[nodiscard]] constexpr std::optional<Status> parse_status(std::string_view text) noexcept {
    constexpr Status all[] = {Status::Unknown, Status::Pending, Status::Processing, Status::Done,
                              Status::Dead};
    for (Status s : all) {
        std::string_view name = to_string(s);
        if (name.size() != text.size()) continue;
        bool same = true;
        for (std::size_t i = 0; i < name.size() && same; ++i) {
            char c = text[i];
            if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
            same = c == name[i];
        }
        if (same) return s;
    }
    return std::nullopt;
}

/// True for the states a job never leaves on its own (Done, Dead).
[[nodiscard]] constexpr bool is_terminal(Status s) noexcept {
    return s == Status::Done || s == Status::Dead;
}

} // namespace gqs
