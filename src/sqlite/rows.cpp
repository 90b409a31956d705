// SPDX-License-Identifier: Apache-2.0
// Decoding a jobs row into a Job, tolerant of rows other programs wrote by hand.
#include "connection_impl.hpp"

#include <algorithm>
#include <cstring>

namespace gqs::sqlite::detail {

namespace {

std::int64_t int_or(sqlite3_stmt* stmt, int col, std::int64_t fallback) {
    return sqlite3_column_type(stmt, col) == SQLITE_NULL ? fallback
                                                         : sqlite3_column_int64(stmt, col);
}

std::string bytes(sqlite3_stmt* stmt, int col) {
    // Blob first, then the size (the order SQLite documents as safe).
    const void* data = sqlite3_column_blob(stmt, col);
    int size = sqlite3_column_bytes(stmt, col);
    if (data == nullptr || size <= 0) return {};
    return std::string(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

} // namespace

Uuid read_id(sqlite3_stmt* stmt, int col) {
    std::string id = bytes(stmt, col);
    Uuid::Bytes raw{};
    // The schema's CHECK keeps ids at 16 bytes; a shorter one (CHECKs off) is zero-padded.
    std::memcpy(raw.data(), id.data(), std::min(id.size(), raw.size()));
    return Uuid(raw);
}

Job read_job(sqlite3_stmt* stmt) {
    Job job;
    job.id = read_id(stmt, 0);
    job.created_at = from_micros(int_or(stmt, 1, 0));
    job.updated_at = from_micros(int_or(stmt, 2, 0));
    auto status = int_or(stmt, 3, 0);
    job.status = gqs::detail::status_of_code(status);
    job.attempts = static_cast<std::uint32_t>(
        std::clamp<std::int64_t>(int_or(stmt, 4, 0), 0, std::numeric_limits<std::uint32_t>::max()));
    if (sqlite3_column_type(stmt, 5) != SQLITE_NULL)
        job.locked_until = from_micros(sqlite3_column_int64(stmt, 5));
    job.next_run_at = from_micros(int_or(stmt, 6, 0));
    // Metadata as stored, unparsed: Message::get and gqs::metadata_json parse it when asked.
    if (sqlite3_column_type(stmt, 7) != SQLITE_NULL) job.metadata = bytes(stmt, 7);
    job.payload = bytes(stmt, 8);
    // Schema version 2. A hand-written value the CHECKs did not stop (CHECKs off) is read as
    // what gqs would have written nearest to it: the row stays readable and pullable.
    if (sqlite3_column_type(stmt, 9) != SQLITE_NULL) job.queue = bytes(stmt, 9);
    job.priority = static_cast<int>(std::clamp<std::int64_t>(int_or(stmt, 10, 0), 0, 9));
    if (sqlite3_column_type(stmt, 11) != SQLITE_NULL) job.unique_key = bytes(stmt, 11);
    if (sqlite3_column_type(stmt, 12) != SQLITE_NULL) job.errors = decode_errors(bytes(stmt, 12));
    job.cancel_requested = int_or(stmt, 13, 0) != 0;
    // Schema version 5.
    if (sqlite3_column_type(stmt, 14) != SQLITE_NULL) job.concurrency_key = bytes(stmt, 14);
    if (sqlite3_column_type(stmt, 15) != SQLITE_NULL) job.group = bytes(stmt, 15);
    return job;
}

} // namespace gqs::sqlite::detail
