// SPDX-License-Identifier: Apache-2.0
// Fuzzes metadata as rows are read, then as a push checks it: decoding never throws, crashes
// or gives a value deeper than max_metadata_depth; text that is not JSON, or nests deeper,
// comes back as a JSON string holding exactly that text; a value that decodes goes through
// encode_metadata and reads back equal, or is refused (std::invalid_argument) exactly when it
// holds a NUL character.
#include "backend/codec.hpp"

#include <gqs/message.hpp>

#include <algorithm>
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

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    const std::string text(reinterpret_cast<const char*>(data), size);
    nlohmann::json json;
    try {
        json = gqs::detail::decode_metadata(text);
    } catch (...) {
        std::abort();
    }
    if (json.is_discarded()) std::abort();
    // The parser builds any depth without recursing, and 3.11's destructor does not recurse.
    const auto parsed = nlohmann::json::parse(text, nullptr, false);
    const auto facts = parsed.is_discarded() ? Facts{} : facts_of(parsed);
    // The scan decides what is parsed: it must never count less than the parse builds, and
    // counts exactly on JSON (nlohmann's parser ends the text at a NUL byte; the scan does not).
    const std::size_t scanned = gqs::detail::json_depth(text);
    if (!parsed.is_discarded()) {
        if (scanned < facts.depth) std::abort();
        if (text.find('\0') == std::string::npos && scanned != facts.depth) std::abort();
    }
    if (parsed.is_discarded() || scanned > gqs::max_metadata_depth) {
        if (!json.is_string() || json.get_ref<const std::string&>() != text) std::abort();
        return 0;
    }
    if (parsed != json) std::abort(); // both at most max_metadata_depth deep

    gqs::Message message;
    message.metadata = json;
    std::string stored;
    try {
        stored = gqs::detail::encode_metadata(message);
    } catch (const std::invalid_argument& e) {
        if (!facts.nul) std::abort();
        if (std::string(e.what()).find(message.id.to_string()) == std::string::npos) std::abort();
        return 0;
    } catch (...) {
        std::abort();
    }
    if (facts.nul) std::abort();
    if (json.is_null() ? !stored.empty() : gqs::detail::decode_metadata(stored) != json)
        std::abort();
    return 0;
}
