// SPDX-License-Identifier: Apache-2.0
// Fuzzes Uuid::parse: never crashes; whatever it accepts formats back to the same id.
#include <gqs/uuid.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto id = gqs::Uuid::parse(text);
    if (!id) return 0;
    if (size != 36) std::abort();
    auto canonical = id->to_string();
    auto again = gqs::Uuid::parse(canonical);
    if (!again || *again != *id) std::abort();
    for (std::size_t i = 0; i < 36; ++i) {
        char a = text[i], b = canonical[i];
        if (a >= 'A' && a <= 'F') a = static_cast<char>(a - 'A' + 'a');
        if (a != b) std::abort();
    }
    return 0;
}
