// SPDX-License-Identifier: Apache-2.0
// Fuzzes metadata text as rows are read, then as a push checks it: reading it (metadata_json,
// Message::get, get_json) never throws, crashes or gives a value deeper than
// max_metadata_depth; text that is not JSON, or nests deeper, comes back as a JSON string
// holding exactly that text; encode_metadata stores the text as it is (null as nothing), or
// refuses it (std::invalid_argument naming the job) exactly when it is not JSON, nests deeper
// than max_metadata_depth, holds a NUL byte or character, starts with a byte order mark, or
// holds a number PostgreSQL's numeric cannot hold.
#include "backend/codec.hpp"

#include <gqs/json.hpp>
#include <gqs/message.hpp>

#include <algorithm>
#include <charconv>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

struct Facts {
    std::size_t depth = 0; // arrays and objects nested
    bool nul = false;      // a string or key holds U+0000
};

// Walked with a stack of its own: the parsed value may be as deep as the input is long.
Facts facts_of(const nlohmann::json& root) {
    Facts facts;
    std::vector<std::pair<const nlohmann::json*, std::size_t>> todo{{&root, 0}};
    while (!todo.empty()) {
        const auto [value, depth] = todo.back();
        todo.pop_back();
        if (value->is_string() &&
            value->get_ref<const std::string&>().find('\0') != std::string::npos)
            facts.nul = true;
        if (!value->is_structured()) continue;
        facts.depth = std::max(facts.depth, depth + 1);
        for (auto it = value->cbegin(); it != value->cend(); ++it) {
            if (value->is_object() && it.key().find('\0') != std::string::npos) facts.nul = true;
            todo.emplace_back(&*it, depth + 1);
        }
    }
    return facts;
}

// Whether PostgreSQL's numeric refuses a JSON number token: more than 16383 digits after
// the decimal point once the exponent is applied, or an exponent of 2^30 - 1 or more in
// magnitude (checked on PostgreSQL 15).
bool numeric_refuses(const std::string& token) {
    const auto e = token.find_first_of("eE");
    const std::string mantissa = token.substr(0, e);
    const auto dot = mantissa.find('.');
    const long long fraction =
        dot == std::string::npos ? 0 : static_cast<long long>(mantissa.size() - dot - 1);
    long long exponent = 0;
    if (e != std::string::npos) {
        std::string digits = token.substr(e + 1);
        if (!digits.empty() && digits[0] == '+') digits.erase(0, 1);
        const auto [end, error] =
            std::from_chars(digits.data(), digits.data() + digits.size(), exponent);
        if (error != std::errc{} || end != digits.data() + digits.size()) return true;
        if (exponent >= 1073741823 || exponent <= -1073741823) return true;
    }
    return fraction - exponent > 16383;
}

// Whether any number in the text is one numeric refuses, from nlohmann's SAX events.
struct NumberScan {
    bool refused = false;
    using json = nlohmann::json;
    bool null() { return true; }
    bool boolean(bool) { return true; }
    bool number_integer(json::number_integer_t) { return true; }
    bool number_unsigned(json::number_unsigned_t) { return true; }
    bool number_float(json::number_float_t, const json::string_t& token) {
        refused = refused || numeric_refuses(token);
        return true;
    }
    bool string(json::string_t&) { return true; }
    bool binary(json::binary_t&) { return true; }
    bool start_object(std::size_t) { return true; }
    bool key(json::string_t&) { return true; }
    bool end_object() { return true; }
    bool start_array(std::size_t) { return true; }
    bool end_array() { return true; }
    bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
        return false;
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    gqs::Message message;
    message.metadata.assign(reinterpret_cast<const char*>(data), size);
    const std::string& text = message.metadata;
    nlohmann::json json;
    try {
        json = gqs::metadata_json(message);
        (void)message.get<int>("k");
        (void)message.get<std::string>("k");
        (void)gqs::get_json<std::vector<int>>(message, "k");
    } catch (...) {
        std::abort();
    }
    if (json.is_discarded()) std::abort();
    // The parser builds any depth without recursing, and 3.11's destructor does not recurse.
    const auto parsed = nlohmann::json::parse(text, nullptr, false);
    const auto facts = parsed.is_discarded() ? Facts{} : facts_of(parsed);
    // The scan decides what is parsed: it must never count less than the parse builds, and
    // counts exactly on JSON (nlohmann's parser ends the text at a NUL byte; the scan does not).
    const std::size_t scanned = gqs::metadata_depth(text);
    if (!parsed.is_discarded()) {
        if (scanned < facts.depth) std::abort();
        if (text.find('\0') == std::string::npos && scanned != facts.depth) std::abort();
    }
    const bool unparsed =
        text.empty() || parsed.is_discarded() || scanned > gqs::max_metadata_depth;
    if (text.empty()) {
        if (!json.is_null()) std::abort();
    } else if (unparsed) {
        if (!json.is_string() || json.get_ref<const std::string&>() != text) std::abort();
    } else if (parsed != json) { // both at most max_metadata_depth deep
        std::abort();
    }

    // A push stores the text exactly when it is JSON text (no NUL byte, which the parser
    // would take for its end; no byte order mark, which it skips) of a storable depth,
    // without a NUL character in it, and every number in it is one PostgreSQL holds.
    NumberScan numbers;
    if (!unparsed) (void)nlohmann::json::sax_parse(text, &numbers);
    const bool refused =
        !text.empty() && (text.find('\0') != std::string::npos || unparsed || facts.nul ||
                          text.starts_with("\xEF\xBB\xBF") || numbers.refused);
    std::string stored;
    try {
        stored = gqs::detail::encode_metadata(message);
    } catch (const std::invalid_argument& e) {
        if (!refused) std::abort();
        if (std::string(e.what()).find(message.id.to_string()) == std::string::npos) std::abort();
        return 0;
    } catch (...) {
        std::abort();
    }
    if (refused) std::abort();
    if (stored != (json.is_null() ? std::string() : text)) std::abort();
    return 0;
}
