// SPDX-License-Identifier: Apache-2.0
// Metadata codec and argument checks shared by every backend.
#include "codec.hpp"

#include <cmath>
#include <optional>
#include <stdexcept>

namespace gqs::detail {

namespace {

// A key as a JSON pointer token (RFC 6901): `~` and `/` escaped.
std::string pointer_token(const std::string& key) {
    std::string out;
    for (char c : key) {
        if (c == '~') {
            out += "~0";
        } else if (c == '/') {
            out += "~1";
        } else {
            out += c;
        }
    }
    return out;
}

// JSON has no NaN, no infinities and no binary values: nlohmann::json would write them as
// `null` and `{"bytes":…}`. Returns the JSON pointer of the first such value, or nullopt.
std::optional<std::string> unstorable(const nlohmann::json& value, const std::string& where) {
    switch (value.type()) {
    case nlohmann::json::value_t::number_float:
        if (std::isfinite(value.get<double>())) return std::nullopt;
        return (where.empty() ? "/" : where) + " (" +
               (std::isnan(value.get<double>()) ? "NaN" : "infinity") + ")";
    case nlohmann::json::value_t::binary: return (where.empty() ? "/" : where) + " (binary)";
    case nlohmann::json::value_t::array:
        for (std::size_t i = 0; i < value.size(); ++i) {
            if (auto bad = unstorable(value[i], where + "/" + std::to_string(i))) return bad;
        }
        return std::nullopt;
    case nlohmann::json::value_t::object:
        for (const auto& [key, item] : value.items()) {
            if (auto bad = unstorable(item, where + "/" + pointer_token(key))) return bad;
        }
        return std::nullopt;
    default: return std::nullopt;
    }
}

} // namespace

std::string encode_metadata(const Message& message) {
    if (message.metadata.is_null()) return {};
    if (auto bad = unstorable(message.metadata, ""))
        throw std::invalid_argument("gqs: metadata of job " + message.id.to_string() +
                                    " cannot be stored as JSON: the value at " + *bad +
                                    " has no JSON form");
    try {
        return message.metadata.dump();
    } catch (const nlohmann::json::exception& e) {
        // dump() refuses strings that are not valid UTF-8.
        throw std::invalid_argument("gqs: metadata of job " + message.id.to_string() +
                                    " cannot be stored as JSON: " + e.what());
    }
}

nlohmann::json decode_metadata(std::string text) {
    auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    // Metadata another program wrote that is not JSON comes back as the raw text instead of
    // failing every read of the row (and every pull that returns it).
    if (json.is_discarded()) return nlohmann::json(std::move(text));
    return json;
}

void check_delay(Duration delay, const char* what) {
    if (delay.count() < 0)
        throw std::invalid_argument(std::string("gqs: ") + what + " must not be negative");
}

void check_lock(Duration lock, const char* what) {
    if (lock.count() <= 0)
        throw std::invalid_argument(std::string("gqs: ") + what + " must be positive");
}

void check_pull(int batch, Duration lock) {
    if (batch <= 0) throw std::invalid_argument("gqs: pull batch must be positive");
    check_lock(lock, "pull lock");
}

} // namespace gqs::detail
