// SPDX-License-Identifier: Apache-2.0
// backend_of: a SQLite file name or a PostgreSQL URI or conninfo string.
#include <gqs/backend_of.hpp>

#include <cstddef>

namespace gqs {

namespace {

bool is_space(char c) noexcept {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}

} // namespace

BackendKind backend_of(std::string_view db) noexcept {
    // libpq's two URI prefixes, compared case-sensitively as libpq does.
    if (db.starts_with("postgresql://") || db.starts_with("postgres://"))
        return BackendKind::Postgres;
    // A conninfo string starts with a keyword, lowercase letters and underscores, then `=`
    // (blanks allowed around both, as libpq allows): `host=`, ` dbname = `, ...
    std::size_t i = 0;
    while (i < db.size() && is_space(db[i]))
        ++i;
    const std::size_t start = i;
    while (i < db.size() && ((db[i] >= 'a' && db[i] <= 'z') || db[i] == '_'))
        ++i;
    if (i == start) return BackendKind::Sqlite;
    while (i < db.size() && is_space(db[i]))
        ++i;
    return i < db.size() && db[i] == '=' ? BackendKind::Postgres : BackendKind::Sqlite;
}

} // namespace gqs
