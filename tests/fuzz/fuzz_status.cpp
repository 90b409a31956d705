// SPDX-License-Identifier: Apache-2.0
// Fuzzes parse_status: never crashes; whatever it accepts is a status whose name matches.
#include <gqs/status.hpp>

#include <cstddef>
#include <cstdint>
#include <cstdlib>
#include <string_view>

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    std::string_view text(reinterpret_cast<const char*>(data), size);
    auto status = gqs::parse_status(text);
    if (!status) return 0;
    auto name = gqs::to_string(*status);
    if (name.size() != text.size()) std::abort();
    if (gqs::parse_status(name) != status) std::abort();
    return 0;
}
