// SPDX-License-Identifier: Apache-2.0
// libpq's binary format: big-endian integers, uuid as 16 bytes, timestamptz as microseconds
// since 2000-01-01 UTC, jsonb as a version byte and text, arrays with a header.
#include "wire.hpp"

#include "backend/codec.hpp"

#include <algorithm>
#include <bit>
#include <cstring>
#include <limits>

namespace gqs::postgres::detail {

namespace {

template <class T>
std::string big_endian(T v) {
    using U = std::make_unsigned_t<T>;
    auto u = static_cast<U>(v);
    std::string out(sizeof(T), '\0');
    for (std::size_t i = 0; i < sizeof(T); ++i)
        out[sizeof(T) - 1 - i] = static_cast<char>((u >> (8 * i)) & 0xFF);
    return out;
}

template <class T>
T read_big_endian(const char* p) {
    using U = std::make_unsigned_t<T>;
    U u = 0;
    for (std::size_t i = 0; i < sizeof(T); ++i)
        u = static_cast<U>((u << 8) | static_cast<unsigned char>(p[i]));
    return static_cast<T>(u);
}

// PostgreSQL's epoch (2000-01-01 UTC) in Unix microseconds.
constexpr std::int64_t pg_epoch_us = 946'684'800'000'000;

} // namespace

std::string be16(std::int16_t v) { return big_endian(v); }
std::string be32(std::int32_t v) { return big_endian(v); }
std::string be64(std::int64_t v) { return big_endian(v); }

std::string uuid_bytes(const Uuid& id) {
    return std::string(reinterpret_cast<const char*>(id.bytes().data()), id.bytes().size());
}

std::string jsonb_bytes(std::string_view json) {
    std::string out;
    out.reserve(json.size() + 1);
    out += '\x01';
    out += json;
    return out;
}

void Array::add(std::string_view binary) {
    elements_ += be32(static_cast<std::int32_t>(binary.size()));
    elements_ += binary;
    ++count_;
}

void Array::add_null() {
    elements_ += be32(-1);
    has_null_ = true;
    ++count_;
}

std::string Array::finish() const {
    std::string out;
    out.reserve(20 + elements_.size());
    out += be32(count_ == 0 ? 0 : 1); // dimensions (an empty array has none)
    out += be32(has_null_ ? 1 : 0);
    out += be32(static_cast<std::int32_t>(element_));
    if (count_ > 0) {
        out += be32(count_);
        out += be32(1); // lower bound
    }
    out += elements_;
    return out;
}

void Params::null() {
    values_.push_back(nullptr);
    lengths_.push_back(0);
    formats_.push_back(1);
}

void Params::time(TimePoint t) {
    const std::int64_t us = gqs::detail::to_micros(t);
    // 'infinity' is the largest int64 in timestamptz's binary form.
    constexpr auto max = std::numeric_limits<std::int64_t>::max();
    constexpr auto min = std::numeric_limits<std::int64_t>::min();
    if (us >= max - pg_epoch_us) return i64(max);
    if (us <= min + pg_epoch_us) return i64(min); // '-infinity'
    i64(us - pg_epoch_us);
}

void Params::own(std::string bytes) {
    owned_.push_back(std::move(bytes));
    borrow(owned_.back());
}

void Params::borrow(std::string_view bytes) {
    // libpq wants a non-null pointer for an empty non-NULL value.
    values_.push_back(bytes.data() != nullptr ? bytes.data() : "");
    lengths_.push_back(static_cast<int>(bytes.size()));
    formats_.push_back(1);
}

std::int64_t int_at(const PGresult* r, int row, int col, std::int64_t fallback) {
    if (PQgetisnull(r, row, col)) return fallback;
    const char* p = PQgetvalue(r, row, col);
    switch (PQgetlength(r, row, col)) {
    case 2: return read_big_endian<std::int16_t>(p);
    case 4: return read_big_endian<std::int32_t>(p);
    case 8: return read_big_endian<std::int64_t>(p);
    default: return fallback;
    }
}

bool bool_at(const PGresult* r, int row, int col) {
    return !PQgetisnull(r, row, col) && PQgetlength(r, row, col) == 1 &&
           PQgetvalue(r, row, col)[0] != 0;
}

std::optional<double> double_at(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col) || PQgetlength(r, row, col) != 8) return std::nullopt;
    return std::bit_cast<double>(read_big_endian<std::int64_t>(PQgetvalue(r, row, col)));
}

Uuid uuid_at(const PGresult* r, int row, int col) {
    Uuid::Bytes raw{};
    if (!PQgetisnull(r, row, col) && PQgetlength(r, row, col) == 16)
        std::memcpy(raw.data(), PQgetvalue(r, row, col), raw.size());
    return Uuid(raw);
}

std::string bytes_at(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return {};
    return std::string(PQgetvalue(r, row, col), static_cast<std::size_t>(PQgetlength(r, row, col)));
}

std::string json_at(const PGresult* r, int row, int col) {
    std::string raw = bytes_at(r, row, col);
    if (!raw.empty() && raw.front() == '\x01') raw.erase(0, 1);
    return raw;
}

TimePoint time_at(const PGresult* r, int row, int col) {
    const std::int64_t us = int_at(r, row, col, -pg_epoch_us);
    // +-infinity are the int64 extremes; from_micros saturates them.
    if (us > std::numeric_limits<std::int64_t>::max() - pg_epoch_us)
        return gqs::detail::from_micros(std::numeric_limits<std::int64_t>::max());
    if (us < std::numeric_limits<std::int64_t>::min() + pg_epoch_us)
        return gqs::detail::from_micros(std::numeric_limits<std::int64_t>::min());
    return gqs::detail::from_micros(us + pg_epoch_us);
}

std::optional<TimePoint> optional_time_at(const PGresult* r, int row, int col) {
    if (PQgetisnull(r, row, col)) return std::nullopt;
    return time_at(r, row, col);
}

Job read_job(const PGresult* r, int row, int first) {
    Job job;
    const int c = first;
    job.id = uuid_at(r, row, c);
    job.created_at = time_at(r, row, c + 1);
    job.updated_at = time_at(r, row, c + 2);
    const auto status = int_at(r, row, c + 3);
    job.status = gqs::detail::status_of_code(status);
    job.attempts = static_cast<std::uint32_t>(std::clamp<std::int64_t>(
        int_at(r, row, c + 4), 0, std::numeric_limits<std::uint32_t>::max()));
    job.locked_until = optional_time_at(r, row, c + 5);
    job.next_run_at = time_at(r, row, c + 6);
    // jsonb's text, unparsed: Message::get and gqs::metadata_json parse it when asked.
    if (!null_at(r, row, c + 7)) job.metadata = json_at(r, row, c + 7);
    job.payload = bytes_at(r, row, c + 8);
    job.queue = bytes_at(r, row, c + 9);
    job.priority = static_cast<int>(std::clamp<std::int64_t>(int_at(r, row, c + 10), 0, 9));
    if (!null_at(r, row, c + 11)) job.unique_key = bytes_at(r, row, c + 11);
    if (!null_at(r, row, c + 12)) job.errors = gqs::detail::decode_errors(json_at(r, row, c + 12));
    job.cancel_requested = bool_at(r, row, c + 13);
    // Schema version 5.
    if (!null_at(r, row, c + 14)) job.concurrency_key = bytes_at(r, row, c + 14);
    if (!null_at(r, row, c + 15)) job.group = bytes_at(r, row, c + 15);
    return job;
}

} // namespace gqs::postgres::detail
