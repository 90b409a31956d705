// SPDX-License-Identifier: Apache-2.0
// Metadata codec and argument checks shared by every backend.
#include "codec.hpp"

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <stdexcept>
#include <string>
#include <vector>

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

// Where the walk stands in one array or object: `at` is the child being looked at.
struct Frame {
    const nlohmann::json* node;
    nlohmann::json::const_iterator at;
    std::size_t index; // of `at`, for arrays (an array iterator has no key)
};

// The JSON pointer of the value the first `levels` frames lead to ("/" for the top); built
// only for the value a refusal names, never per level.
std::string pointer_of(const std::vector<Frame>& frames, std::size_t levels) {
    std::string out;
    for (std::size_t i = 0; i < levels; ++i) {
        const auto& f = frames[i];
        out += '/';
        out += f.node->is_array() ? std::to_string(f.index) : pointer_token(f.at.key());
    }
    return out.empty() ? "/" : out;
}

bool holds_nul(const std::string& text) { return text.find('\0') != std::string::npos; }

// Why a scalar cannot be stored ("" when it can). JSON has no NaN, no infinities and no
// binary values: nlohmann::json would write them as `null` and `{"bytes":…}`.
const char* unstorable(const nlohmann::json& value) {
    switch (value.type()) {
    case nlohmann::json::value_t::number_float: {
        const double d = value.get<double>();
        if (std::isfinite(d)) return "";
        return std::isnan(d) ? "NaN" : "infinity";
    }
    case nlohmann::json::value_t::binary: return "binary";
    default: return "";
    }
}

// Every check of metadata before it is stored, in one walk with its own stack: the depth
// comes from the caller's input, and nlohmann::json's dump(), copy and == recurse once per
// level, so nothing recursive may touch the value before its depth is known to be bounded.
void check_storable(const nlohmann::json& metadata, const Uuid& id) {
    const auto refuse = [&](const std::string& why) {
        throw std::invalid_argument("gqs: metadata of job " + id.to_string() + " " + why);
    };
    const auto no_json_form = [&](const std::string& where, const char* what) {
        refuse("cannot be stored as JSON: the value at " + where + " (" + what +
               ") has no JSON form");
    };
    // The same refusal on every backend: PostgreSQL's jsonb cannot hold U+0000.
    const auto nul = [&](const std::string& what) {
        refuse("holds a NUL character (\\u0000) in " + what +
               ", which gqs does not store (PostgreSQL's jsonb cannot)");
    };
    if (!metadata.is_structured()) {
        if (const char* what = unstorable(metadata); *what != '\0') no_json_form("/", what);
        if (metadata.is_string() && holds_nul(metadata.get_ref<const std::string&>()))
            nul("the string at /");
        return;
    }
    std::vector<Frame> frames;
    frames.push_back({&metadata, metadata.cbegin(), 0});
    while (!frames.empty()) {
        Frame& top = frames.back();
        if (top.at == top.node->cend()) {
            frames.pop_back();
            if (!frames.empty()) {
                ++frames.back().at;
                ++frames.back().index;
            }
            continue;
        }
        if (top.node->is_object() && holds_nul(top.at.key()))
            nul("a key of the object at " + pointer_of(frames, frames.size() - 1));
        const nlohmann::json& value = *top.at;
        if (value.is_structured()) {
            if (frames.size() + 1 > max_metadata_depth)
                refuse("nests arrays and objects deeper than " +
                       std::to_string(max_metadata_depth) + " levels (gqs::max_metadata_depth)");
            frames.push_back({&value, value.cbegin(), 0}); // `top` is invalid from here
            continue;
        }
        if (const char* what = unstorable(value); *what != '\0')
            no_json_form(pointer_of(frames, frames.size()), what);
        if (value.is_string() && holds_nul(value.get_ref<const std::string&>()))
            nul("the string at " + pointer_of(frames, frames.size()));
        ++top.at;
        ++top.index;
    }
}

// Length of the valid UTF-8 sequence at text[i], or 0 when it is not one (overlongs,
// surrogates and code points past U+10FFFF are invalid too).
std::size_t utf8_length(std::string_view text, std::size_t i) {
    const auto byte = [&](std::size_t k) { return static_cast<unsigned char>(text[k]); };
    const unsigned char c = byte(i);
    if (c < 0x80) return 1;
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n > text.size()) return 0;
    for (std::size_t k = 1; k < n; ++k) {
        if ((byte(i + k) & 0xC0) != 0x80) return 0;
        cp = (cp << 6) | (byte(i + k) & 0x3F);
    }
    constexpr std::uint32_t min_of[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_of[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return 0;
    return n;
}

bool valid_utf8_without_nul(std::string_view text) {
    for (std::size_t i = 0; i < text.size();) {
        const auto n = utf8_length(text, i);
        if (n == 0 || text[i] == '\0') return false;
        i += n;
    }
    return true;
}

// Queue names and unique keys: non-empty text every backend stores as it is.
// `id` names the job in the message, when there is one (built only on failure: push's path).
void check_name(std::string_view value, std::size_t max, const char* what, const Uuid* id) {
    if (!value.empty() && value.size() <= max && valid_utf8_without_nul(value)) return;
    throw std::invalid_argument(
        "gqs: " + std::string(what) + (id ? " of job " + id->to_string() : std::string()) +
        " must be 1 to " + std::to_string(max) + " bytes of UTF-8 without NUL (got " +
        std::to_string(value.size()) + " bytes)");
}

constexpr std::size_t max_queue_bytes = 127;
constexpr std::size_t max_unique_key_bytes = 1024;

} // namespace

std::string error_entry(std::string_view message) {
    std::string out;
    out.reserve(std::min(message.size(), max_error_bytes));
    for (std::size_t i = 0; i < message.size();) {
        const auto n = utf8_length(message, i);
        const std::string_view piece =
            n == 0 ? std::string_view("\xEF\xBF\xBD") : message.substr(i, n);
        if (out.size() + piece.size() > max_error_bytes) break;
        out += piece;
        i += n == 0 ? 1 : n;
    }
    return out;
}

std::vector<AttemptError> decode_errors(std::string_view text) {
    std::vector<AttemptError> errors;
    // A history another program nested deeper than any real one is no history (see
    // decode_metadata for why nothing that deep is parsed).
    if (json_depth(text) > max_metadata_depth) return errors;
    auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (!json.is_array()) return errors;
    const std::size_t skip =
        json.size() > max_attempt_errors ? json.size() - max_attempt_errors : 0;
    for (std::size_t i = skip; i < json.size(); ++i) {
        const auto& item = json[i];
        if (!item.is_object()) continue;
        AttemptError e;
        if (auto at = item.find("at"); at != item.end() && at->is_number_integer())
            e.at = from_micros(at->get<std::int64_t>());
        if (auto n = item.find("attempt"); n != item.end() && n->is_number_unsigned())
            e.attempt = static_cast<std::uint32_t>(
                std::min<std::uint64_t>(n->get<std::uint64_t>(), UINT32_MAX));
        if (auto m = item.find("message"); m != item.end() && m->is_string())
            e.message = m->get<std::string>();
        errors.push_back(std::move(e));
    }
    return errors;
}

void check_message(const Message& message) {
    check_name(message.queue, max_queue_bytes, "the queue name", &message.id);
    if (message.priority < 0 || message.priority > 9)
        throw std::invalid_argument("gqs: the priority of job " + message.id.to_string() +
                                    " must be 0 to 9 (got " + std::to_string(message.priority) +
                                    ")");
    if (message.unique_key)
        check_name(*message.unique_key, max_unique_key_bytes, "the unique key", &message.id);
}

void check_queues(std::span<const std::string> queues) {
    for (const auto& queue : queues)
        check_name(queue, max_queue_bytes, "a queue name to pull from", nullptr);
}

std::vector<std::string> distinct_queues(std::span<const std::string> queues) {
    std::vector<std::string> names(queues.begin(), queues.end());
    std::sort(names.begin(), names.end());
    names.erase(std::unique(names.begin(), names.end()), names.end());
    return names;
}

void sort_pulled(std::vector<Job>& jobs) {
    std::sort(jobs.begin(), jobs.end(), [](const Job& a, const Job& b) {
        if (a.priority != b.priority) return a.priority < b.priority;
        return a.next_run_at != b.next_run_at ? a.next_run_at < b.next_run_at : a.id < b.id;
    });
}

std::string encode_queues(std::span<const std::string> queues) {
    return nlohmann::json(distinct_queues(queues)).dump();
}

std::string encode_metadata(const Message& message) {
    if (message.metadata.is_null()) return {};
    check_storable(message.metadata, message.id);
    try {
        return message.metadata.dump();
    } catch (const nlohmann::json::exception& e) {
        // dump() refuses strings that are not valid UTF-8.
        throw std::invalid_argument("gqs: metadata of job " + message.id.to_string() +
                                    " cannot be stored as JSON: " + e.what());
    }
}

std::size_t json_depth(std::string_view text) noexcept {
    std::size_t depth = 0;
    std::size_t deepest = 0;
    bool in_string = false;
    bool escaped = false;
    for (const char c : text) {
        if (in_string) {
            if (escaped) {
                escaped = false;
            } else if (c == '\\') {
                escaped = true;
            } else if (c == '"') {
                in_string = false;
            }
        } else if (c == '"') {
            in_string = true;
        } else if (c == '[' || c == '{') {
            deepest = std::max(deepest, ++depth);
        } else if ((c == ']' || c == '}') && depth > 0) {
            --depth;
        }
    }
    return deepest;
}

nlohmann::json decode_metadata(std::string text) {
    // Metadata another program wrote that is not JSON, or nests deeper than a push accepts,
    // comes back as the raw text instead of failing every read of the row (and every pull
    // that returns it) or building a value whose copy, dump or comparison would recurse
    // deeper than the stack allows. The parser itself does not recurse.
    if (json_depth(text) > max_metadata_depth) return nlohmann::json(std::move(text));
    auto json = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
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
