// SPDX-License-Identifier: Apache-2.0
// Fuzzes metadata decoding as rows are read: never throws or crashes; text that is not JSON
// comes back as a JSON string holding exactly that text.
#include "core/codec.hpp"

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string text(reinterpret_cast<const char*>(data), size);
    nlohmann::json json;
    try {
        json = gqs::detail::decode_metadata(text);
    } catch (...) {
        std::abort();
    }
    if (json.is_discarded()) std::abort();
    auto parsed = nlohmann::json::parse(text, nullptr, false);
    if (parsed.is_discarded()) {
        if (!json.is_string() || json.get_ref<const std::string&>() != text) std::abort();
    } else if (parsed != json) {
        std::abort();
    }
    return 0;
}
