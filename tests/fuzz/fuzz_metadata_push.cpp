// SPDX-License-Identifier: Apache-2.0
// Fuzzes gqs::set_metadata_json on metadata built in memory (not parsed), up to 1,024 levels
// deep, with the values JSON has no form for: it refuses the value (std::invalid_argument
// naming the job, metadata unchanged) exactly when it nests deeper than max_metadata_depth or
// holds NaN, an infinity, a binary value or a NUL character, and otherwise writes text that a
// push stores as it is and that reads back equal.
#include "backend/codec.hpp"

#include <gqs/json.hpp>
#include <gqs/message.hpp>

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <limits>
#include <optional>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace {

struct Open {
    nlohmann::json value;
    std::string key; // its key in the enclosing object
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    // Built with moves and a stack of its own: copying a deep value would recurse.
    std::vector<Open> open;
    std::optional<nlohmann::json> root;
    std::size_t depth = 0;
    bool refused = false; // what the check must find
    std::size_t keys = 0;
    bool nul_key = false;
    const auto key = [&] {
        std::string k = nul_key ? std::string("n\0", 2) : std::string("k");
        refused = refused || nul_key;
        nul_key = false;
        return k + std::to_string(keys++); // unique: no value is replaced
    };
    const auto add = [&](nlohmann::json value, std::string k) {
        if (open.empty()) {
            root = std::move(value);
        } else if (open.back().value.is_array()) {
            open.back().value.push_back(std::move(value));
        } else {
            open.back().value[std::move(k)] = std::move(value);
        }
    };
    for (std::size_t i = 0; i < size && !(root && open.empty()); ++i) {
        const std::uint8_t op = data[i] % 12;
        const bool in_object = !open.empty() && open.back().value.is_object();
        const std::string k = in_object && op != 2 && op != 9 ? key() : std::string();
        switch (op) {
        case 0: open.push_back({nlohmann::json::array(), k}); break;
        case 1: open.push_back({nlohmann::json::object(), k}); break;
        case 2:
            if (!open.empty()) {
                Open done = std::move(open.back());
                open.pop_back();
                add(std::move(done.value), std::move(done.key));
            }
            break;
        case 3: add(static_cast<int>(data[i]), k); break;
        case 4: add("s", k); break;
        case 5:
            add(std::numeric_limits<double>::quiet_NaN(), k);
            refused = true;
            break;
        case 6:
            add(-std::numeric_limits<double>::infinity(), k);
            refused = true;
            break;
        case 7:
            add(nlohmann::json::binary({1, 2}), k);
            refused = true;
            break;
        case 8:
            add(std::string("a\0b", 3), k);
            refused = true;
            break;
        case 9: nul_key = true; break;
        case 10: add(0.5, k); break;
        default: add(nullptr, k); break;
        }
        depth = std::max(depth, open.size());
    }
    while (!open.empty()) {
        Open done = std::move(open.back());
        open.pop_back();
        add(std::move(done.value), std::move(done.key));
    }
    refused = refused || depth > gqs::max_metadata_depth;

    gqs::Message message;
    const nlohmann::json value = root ? std::move(*root) : nlohmann::json();
    try {
        gqs::set_metadata_json(message, value);
    } catch (const std::invalid_argument& e) {
        if (!refused) std::abort();
        if (std::string(e.what()).find(message.id.to_string()) == std::string::npos) std::abort();
        if (!message.metadata.empty()) std::abort(); // unchanged
        return 0;
    } catch (...) {
        std::abort();
    }
    if (refused) std::abort();
    // What set_metadata_json accepts, a push stores as it is.
    std::string stored;
    try {
        stored = gqs::detail::encode_metadata(message);
    } catch (...) {
        std::abort();
    }
    if (stored != message.metadata) std::abort();
    if (value.is_null()) {
        if (!stored.empty()) std::abort();
        return 0;
    }
    if (gqs::metadata_depth(stored) != depth) std::abort();
    if (gqs::metadata_json(message) != value) std::abort();
    return 0;
}
