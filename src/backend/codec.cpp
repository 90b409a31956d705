// SPDX-License-Identifier: Apache-2.0
// Metadata codec and argument checks shared by every backend.
#include "codec.hpp"

#include <gqs/json.hpp> // pointer_token, holds_nul: the same rules as the public walk

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <stdexcept>
#include <string>
#include <vector>

namespace gqs::detail {

namespace {

// One array or object open around the value the check stands at.
struct Level {
    bool array;
    std::size_t next = 0; // for an array: the index the next element gets
    std::size_t at = 0;   // for an array: the index of the element being read
    std::string key;      // for an object: the key of the member being read
};

// The JSON pointer of the value the first `levels` levels lead to ("/" for the top).
std::string pointer_of(const std::vector<Level>& levels, std::size_t count) {
    std::string out;
    for (std::size_t i = 0; i < count; ++i) {
        out += '/';
        out += levels[i].array ? std::to_string(levels[i].at)
                               : json_detail::pointer_token(levels[i].key);
    }
    return out.empty() ? "/" : out;
}

// Whether PostgreSQL's numeric (jsonb's numbers) holds the JSON number `text`, which a double
// holds: at most 16383 digits after the decimal point, counted as PostgreSQL does (the
// fraction's digits minus the exponent), and an exponent below 2^30 - 1 in magnitude. A double
// underflows to 0 long before that, so only text such as 1e-20000 or 0e-20000 fails here; without
// this check SQLite would store it and PostgreSQL refuse it.
bool numeric_holds(std::string_view text) {
    constexpr std::int64_t max_scale = 16383;
    constexpr std::int64_t max_exponent = (std::int64_t{1} << 30) - 1;
    std::int64_t fraction = 0;
    std::int64_t exponent = 0;
    std::size_t i = text.find_first_of(".eE");
    if (i != std::string_view::npos && text[i] == '.') {
        for (++i; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i)
            ++fraction;
    }
    if (i < text.size() && (text[i] == 'e' || text[i] == 'E')) {
        ++i;
        bool negative = false;
        if (i < text.size() && (text[i] == '-' || text[i] == '+')) negative = text[i++] == '-';
        for (; i < text.size() && text[i] >= '0' && text[i] <= '9'; ++i) {
            exponent = exponent * 10 + (text[i] - '0');
            if (exponent >= max_exponent) return false; // as PostgreSQL: INT_MAX / 2
        }
        if (negative) exponent = -exponent;
    }
    return fraction - exponent <= max_scale;
}

// The checks of metadata text before it is stored, as the events of nlohmann's SAX parser,
// which does not recurse: builds nothing, keeps one Level per open array or object (at most
// max_metadata_depth of them) and stops at the first refusal, which `why` then holds.
class MetadataCheck {
public:
    using json = nlohmann::json;

    std::string why;       // the refusal, after the parse stopped; "" when the text is fine
    bool top_null = false; // the whole text is `null`

    bool null() {
        top_null = levels_.empty();
        return scalar();
    }
    bool boolean(bool) { return scalar(); }
    bool number_integer(json::number_integer_t) { return scalar(); }
    bool number_unsigned(json::number_unsigned_t) { return scalar(); }
    bool number_float(json::number_float_t value, const json::string_t& text) {
        // JSON text has no NaN or infinities, and nlohmann refuses a number that overflows.
        if (!std::isfinite(value)) return refuse("holds a number no double holds");
        if (!numeric_holds(text))
            return refuse("holds the number " + text.substr(0, 40) +
                          (text.size() > 40 ? "..." : "") +
                          ", which PostgreSQL's numeric cannot hold");
        return scalar();
    }
    bool string(json::string_t& value) {
        if (!scalar()) return false;
        if (json_detail::holds_nul(value))
            return nul("the string at " + pointer_of(levels_, levels_.size()));
        return true;
    }
    bool binary(json::binary_t&) { return refuse("holds a binary value, which JSON cannot"); }
    bool start_object(std::size_t) { return open(false); }
    bool key(json::string_t& key) {
        if (json_detail::holds_nul(key))
            return nul("a key of the object at " + pointer_of(levels_, levels_.size() - 1));
        levels_.back().key = key;
        return true;
    }
    bool end_object() { return close(); }
    bool start_array(std::size_t) { return open(true); }
    bool end_array() { return close(); }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception& e) {
        std::string what = e.what();
        // "[json.exception.parse_error.101] parse error at ..." -> "parse error at ..."
        if (auto pos = what.find("] "); pos != std::string::npos) what.erase(0, pos + 2);
        return refuse("is not JSON text (UTF-8): " + what);
    }

private:
    std::vector<Level> levels_;

    bool refuse(std::string reason) {
        why = std::move(reason);
        return false;
    }
    bool nul(const std::string& where) {
        // The same refusal on every backend: PostgreSQL's jsonb cannot hold U+0000.
        return refuse("holds a NUL character (\\u0000) in " + where +
                      ", which gqs does not store (PostgreSQL's jsonb cannot)");
    }
    // A value starts at the current level.
    bool scalar() {
        if (levels_.empty()) return true;
        auto& level = levels_.back();
        if (level.array) level.at = level.next++;
        return true;
    }
    bool open(bool array) {
        scalar();
        if (levels_.size() + 1 > max_metadata_depth)
            return refuse("nests arrays and objects deeper than " +
                          std::to_string(max_metadata_depth) + " levels (gqs::max_metadata_depth)");
        levels_.push_back({array, 0, 0, {}});
        return true;
    }
    bool close() {
        levels_.pop_back();
        return true;
    }
};

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
// Message::concurrency_key and Message::group: the queue-name rule.
constexpr std::size_t max_key_bytes = 127;

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
    // A history another program nested deeper than any real one is no history: a value that
    // deep would recurse as deep when copied or destroyed.
    if (metadata_depth(text) > max_metadata_depth) return errors;
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
    if (message.concurrency_key)
        check_name(*message.concurrency_key, max_key_bytes, "the concurrency key", &message.id);
    if (message.group) check_name(*message.group, max_key_bytes, "the group", &message.id);
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
    const std::string& text = message.metadata;
    if (text.empty()) return {};
    const auto refuse = [&](const std::string& why) {
        throw std::invalid_argument("gqs: metadata of job " + message.id.to_string() + " " + why);
    };
    // nlohmann's parser takes a NUL byte for the end of the text.
    if (const auto at = text.find('\0'); at != std::string::npos)
        refuse("is not JSON text (UTF-8): byte " + std::to_string(at) + " is NUL");
    // nlohmann's parser skips a byte order mark; PostgreSQL's refuses it.
    if (text.starts_with("\xEF\xBB\xBF"))
        refuse("is not JSON text (UTF-8): it starts with a byte order mark");
    MetadataCheck check;
    if (!nlohmann::json::sax_parse(text, &check)) refuse(check.why);
    if (check.top_null) return {}; // `null`: no metadata, stored as NULL like ""
    return text;
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
