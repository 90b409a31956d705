// SPDX-License-Identifier: Apache-2.0
// Where the CLI's queue lives (--db, --schema): a SQLite file or a PostgreSQL schema.
#include "target.hpp"

#include "commands.hpp"
#include "format.hpp"

#include <gqs/errors.hpp>

#include <algorithm>
#include <array>
#include <cctype>
#include <optional>
#include <string>
#include <utility>

namespace gqs::cli {

namespace {

// PostgreSQL keeps 63 bytes of a name (NAMEDATALEN - 1) and silently cuts a longer one: the
// queue would live in a schema of another name than the one given.
constexpr std::size_t max_schema_bytes = 63;

// libpq's two URI prefixes (it compares them case-sensitively too).
constexpr std::array<std::string_view, 2> uri_prefixes = {"postgresql://", "postgres://"};

std::size_t uri_prefix_length(std::string_view db) noexcept {
    for (auto prefix : uri_prefixes) {
        if (db.substr(0, prefix.size()) == prefix) return prefix.size();
    }
    return 0;
}

bool is_space(char c) noexcept { return std::isspace(static_cast<unsigned char>(c)) != 0; }

// One `keyword=value` of a conninfo string: the decoded keyword and value, and where the pair
// is in the text.
struct Pair {
    std::string key;
    std::string value;
    std::size_t begin = 0;
    std::size_t end = 0;
};

// Splits a conninfo string as libpq's conninfo_parse does (blanks around `=`, values in single
// quotes, backslash escapes); nullopt where libpq would refuse the text.
std::optional<std::vector<Pair>> parse_keywords(std::string_view text) {
    std::vector<Pair> pairs;
    const std::size_t n = text.size();
    std::size_t i = 0;
    while (i < n) {
        if (is_space(text[i])) {
            ++i;
            continue;
        }
        Pair pair;
        pair.begin = i;
        while (i < n && text[i] != '=' && !is_space(text[i]))
            pair.key += text[i++];
        while (i < n && is_space(text[i]))
            ++i;
        if (i == n || text[i] != '=') return std::nullopt;
        ++i;
        while (i < n && is_space(text[i]))
            ++i;
        if (i < n && text[i] == '\'') {
            ++i;
            for (;;) {
                if (i == n) return std::nullopt; // unterminated quoted value
                if (text[i] == '\\') {
                    if (++i < n) pair.value += text[i++];
                    continue;
                }
                if (text[i] == '\'') {
                    ++i;
                    break;
                }
                pair.value += text[i++];
            }
        } else {
            while (i < n && !is_space(text[i])) {
                if (text[i] == '\\') {
                    if (++i < n) pair.value += text[i++];
                } else {
                    pair.value += text[i++];
                }
            }
        }
        pair.end = i;
        pairs.push_back(std::move(pair));
    }
    return pairs;
}

// %XX decoded; a malformed escape is kept as written.
std::string percent_decode(std::string_view text) {
    auto hex = [](char c) -> int {
        if (c >= '0' && c <= '9') return c - '0';
        if (c >= 'a' && c <= 'f') return c - 'a' + 10;
        if (c >= 'A' && c <= 'F') return c - 'A' + 10;
        return -1;
    };
    std::string out;
    for (std::size_t i = 0; i < text.size(); ++i) {
        if (text[i] == '%' && i + 2 < text.size() && hex(text[i + 1]) >= 0 &&
            hex(text[i + 2]) >= 0) {
            out += static_cast<char>(hex(text[i + 1]) * 16 + hex(text[i + 2]));
            i += 2;
        } else {
            out += text[i];
        }
    }
    return out;
}

void add_secret(std::vector<std::string>& secrets, std::string secret) {
    if (!secret.empty() && std::find(secrets.begin(), secrets.end(), secret) == secrets.end())
        secrets.push_back(std::move(secret));
}

// A value in single quotes, as conninfo writes it.
std::string quoted_value(std::string_view value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    return out + "'";
}

std::string redact(std::string_view db, std::vector<std::string>& secrets);

// The user part of a URI loses its `:password`, the query its `password` parameters (libpq
// ends the user part at the first '@' before any '/').
std::string redact_uri(std::string_view uri, std::size_t start, std::vector<std::string>& secrets) {
    std::string out(uri.substr(0, start));
    std::size_t i = start;
    const auto stop = uri.find_first_of("@/", i);
    if (stop != std::string_view::npos && uri[stop] == '@') {
        const auto user_info = uri.substr(i, stop - i);
        const auto colon = user_info.find(':');
        if (colon != std::string_view::npos) {
            const auto password = user_info.substr(colon + 1);
            add_secret(secrets, std::string(password));
            add_secret(secrets, percent_decode(password));
        }
        out += user_info.substr(0, colon);
        out += '@';
        i = stop + 1;
    }
    const auto query = uri.find('?', i);
    out += uri.substr(i, query == std::string_view::npos ? std::string_view::npos : query - i);
    if (query == std::string_view::npos) return out;
    std::string kept;
    std::string_view params = uri.substr(query + 1);
    while (true) {
        const auto amp = params.find('&');
        const auto param = params.substr(0, amp);
        const auto eq = param.find('=');
        if (percent_decode(param.substr(0, eq)) == "password") {
            if (eq != std::string_view::npos) {
                add_secret(secrets, std::string(param.substr(eq + 1)));
                add_secret(secrets, percent_decode(param.substr(eq + 1)));
            }
        } else {
            if (!kept.empty()) kept += '&';
            kept += param;
        }
        if (amp == std::string_view::npos) break;
        params.remove_prefix(amp + 1);
    }
    if (!kept.empty()) {
        out += '?';
        out += kept;
    }
    return out;
}

// The pairs of a conninfo string but `password`, one space apart. A value that is itself a
// conninfo string or URI (a `dbname` libpq may expand) is redacted too.
std::string redact_keywords(std::string_view text, std::vector<std::string>& secrets) {
    const auto pairs = parse_keywords(text);
    if (!pairs) return "(a PostgreSQL conninfo string)";
    std::string out;
    for (const auto& pair : *pairs) {
        if (pair.key == "password") {
            add_secret(secrets, pair.value);
            add_secret(secrets, std::string(text.substr(pair.begin, pair.end - pair.begin)));
            continue;
        }
        std::string written(text.substr(pair.begin, pair.end - pair.begin));
        if (backend_of(pair.value) == BackendKind::Postgres) {
            const auto before = secrets.size();
            std::string inner = redact(pair.value, secrets);
            if (secrets.size() != before) written = pair.key + "=" + quoted_value(inner);
        }
        if (!out.empty()) out += ' ';
        out += written;
    }
    return out;
}

std::string redact(std::string_view db, std::vector<std::string>& secrets) {
    if (const auto start = uri_prefix_length(db); start > 0) return redact_uri(db, start, secrets);
    return redact_keywords(db, secrets);
}

} // namespace

std::string without_password(std::string_view conninfo) {
    std::vector<std::string> secrets;
    return redact(conninfo, secrets);
}

std::vector<std::string> passwords_in(std::string_view db) {
    std::vector<std::string> secrets;
    if (backend_of(db) == BackendKind::Postgres) (void)redact(db, secrets);
    return secrets;
}

std::string Target::display() const {
    return backend == BackendKind::Sqlite ? db : without_password(db);
}

std::string Target::where() const {
    if (backend == BackendKind::Sqlite) return db;
    return "schema " + escape_text(schema, false) + " at " + display();
}

std::string Target::db_arguments() const {
    std::string out = "--db " + shell_word(display());
    if (backend == BackendKind::Postgres && schema != default_schema)
        out += " --schema " + shell_word(schema);
    if (pooler) out += " --pooler";
    return out;
}

Target target_of(std::string db, const std::optional<std::string>& schema,
                 const std::optional<std::string>& env_schema) {
    Target target;
    target.backend = backend_of(db);
    target.db = std::move(db);
    if (target.backend == BackendKind::Sqlite) {
        if (schema)
            throw UsageError("--schema is for a PostgreSQL queue, and --db " +
                             shell_word(target.db) + " names a SQLite file");
        return target;
    }
    // libpq's own message for a malformed string may quote part of a password.
    if (uri_prefix_length(target.db) == 0 && !parse_keywords(target.db))
        throw UsageError("--db: libpq cannot parse this conninfo string (keyword=value pairs "
                         "separated by spaces; quote a value with spaces in single quotes)");
    target.schema = schema ? *schema : env_schema.value_or(std::string(default_schema));
    if (target.schema.empty()) throw UsageError("--schema: must not be empty");
    if (target.schema.size() > max_schema_bytes)
        throw UsageError("--schema: '" + truncate(escape_text(target.schema, true), 60) + "' is " +
                         std::to_string(target.schema.size()) +
                         " bytes long; PostgreSQL names hold at most " +
                         std::to_string(max_schema_bytes));
#ifndef GQS_CLI_HAS_POSTGRES
    throw Error("--db names a PostgreSQL database, but this gqs was built without PostgreSQL "
                "support (libpq was not found when it was built); rebuild it with libpq "
                "(Debian: libpq-dev) or use a SQLite file");
#else
    return target;
#endif
}

} // namespace gqs::cli
