// SPDX-License-Identifier: Apache-2.0
// Which backend a database string names: one rule for the CLI, the examples and programs
// that take "a SQLite file or a PostgreSQL database" from their user.
#pragma once

#include <cstdint>
#include <string_view>

namespace gqs {

/// The storage a database string names.
enum class BackendKind : std::uint8_t { Sqlite, Postgres };

/// Postgres for a libpq URI (`postgresql://` or `postgres://`) or a conninfo string whose first
/// token is `keyword=` (`host=/run/postgresql dbname=app`); Sqlite, a file name, for anything
/// else (so `./a=b.db` is a file). Reads only the text. Thread-safety: pure function.
[[nodiscard]] BackendKind backend_of(std::string_view db) noexcept;

} // namespace gqs
