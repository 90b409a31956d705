// SPDX-License-Identifier: Apache-2.0
// Private to the PostgreSQL backend: parameters and results in libpq's binary format.
#pragma once

#include <gqs/job.hpp>
#include <gqs/time.hpp>
#include <gqs/uuid.hpp>

#include <libpq-fe.h>

#include <bit>
#include <cstdint>
#include <deque>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace gqs::postgres::detail {

// Type OIDs of the built-in types gqs binds (pg_type.dat; fixed since PostgreSQL 8-9.4).
inline constexpr Oid oid_bytea = 17;
inline constexpr Oid oid_int8 = 20;
inline constexpr Oid oid_int2 = 21;
inline constexpr Oid oid_int4 = 23;
inline constexpr Oid oid_text = 25;
inline constexpr Oid oid_uuid = 2950;
inline constexpr Oid oid_jsonb = 3802;

/// One element of a binary array, or a binary scalar: the bytes of its binary form.
std::string be16(std::int16_t v);
std::string be32(std::int32_t v);
std::string be64(std::int64_t v);
std::string uuid_bytes(const Uuid& id);
/// jsonb's binary form: version byte 1, then the JSON text.
std::string jsonb_bytes(std::string_view json);

/// A one-dimensional array in PostgreSQL's binary array format.
class Array {
public:
    explicit Array(Oid element) : element_(element) {}
    void add(std::string_view binary);
    void add_null();
    /// The encoded array (header, dimension, elements).
    [[nodiscard]] std::string finish() const;

private:
    Oid element_;
    std::int32_t count_ = 0;
    bool has_null_ = false;
    std::string elements_;
};

/// The parameters of one statement, all in binary format. Values handed over as string_view
/// by borrow() must outlive the statement's execution (a payload is not copied).
class Params {
public:
    void null();
    void i16(std::int16_t v) { own(be16(v)); }
    void i32(std::int32_t v) { own(be32(v)); }
    void i64(std::int64_t v) { own(be64(v)); }
    /// A float8 (IEEE 754 binary64, as float8send writes it).
    void f64(double v) { own(be64(std::bit_cast<std::int64_t>(v))); }
    void uuid(const Uuid& id) { own(uuid_bytes(id)); }
    void jsonb(std::string_view json) { own(jsonb_bytes(json)); }
    /// A timestamptz; TimePoint::max() and later as 'infinity'.
    void time(TimePoint t);
    /// Text or bytea, copied.
    void own(std::string bytes);
    /// Text or bytea, not copied.
    void borrow(std::string_view bytes);

    [[nodiscard]] int size() const noexcept { return static_cast<int>(values_.size()); }
    [[nodiscard]] const char* const* values() const noexcept { return values_.data(); }
    [[nodiscard]] const int* lengths() const noexcept { return lengths_.data(); }
    [[nodiscard]] const int* formats() const noexcept { return formats_.data(); }

private:
    std::deque<std::string> owned_; // stable addresses
    std::vector<const char*> values_;
    std::vector<int> lengths_;
    std::vector<int> formats_;
};

/// Readers of one field of a binary result (row, column). NULL reads as the fallback.
std::int64_t int_at(const PGresult* r, int row, int col, std::int64_t fallback = 0);
bool bool_at(const PGresult* r, int row, int col);
/// A float8 column; nullopt for NULL (or a value of another width).
std::optional<double> double_at(const PGresult* r, int row, int col);
Uuid uuid_at(const PGresult* r, int row, int col);
std::string bytes_at(const PGresult* r, int row, int col);
/// jsonb as its JSON text ("" for NULL).
std::string json_at(const PGresult* r, int row, int col);
TimePoint time_at(const PGresult* r, int row, int col);
std::optional<TimePoint> optional_time_at(const PGresult* r, int row, int col);
[[nodiscard]] inline bool null_at(const PGresult* r, int row, int col) {
    return PQgetisnull(r, row, col) != 0;
}

/// A row of GQS_PG_JOB_COLUMNS (statements.hpp), starting at column `first`, as a Job.
Job read_job(const PGresult* r, int row, int first = 0);

} // namespace gqs::postgres::detail
