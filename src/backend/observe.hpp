// SPDX-License-Identifier: Apache-2.0
// The rules of the Observer's reads and the Cleaner's deletes, written once over a backend's
// data layer.
#pragma once

#include "rules.hpp"
#include "settle.hpp"

#include <gqs/interfaces.hpp>
#include <gqs/job.hpp>

#include <cstdint>
#include <optional>
#include <vector>

namespace gqs::detail {

// A backend's Observer store reads jobs; its Cleaner store deletes them. They provide:
//
//   template <class Fn> auto locked(Fn&& fn);   runs fn under the Connection's lock
//   std::optional<Job> get(const Uuid&);
//   std::vector<Job> list(std::int64_t status, std::int64_t limit, const Cursor* after);
//       status: list_status_code (0: any); limit: -1 for all; after: null for the first page
//   void stats(Stats&);
//       adds every row through add_stats_row and sets Stats::at (the database's now)
//   std::int64_t clean(Status first, Status second, std::optional<TimePoint> before);
//       deletes jobs in `first` or `second` last updated before `before` (nullopt: any
//       time); returns how many
//   (lock held for all but locked)

/// Observer::get.
template <class Store>
std::optional<Job> get_with(Store& store, const Uuid& id) {
    return store.locked([&] { return store.get(id); });
}

/// Observer::list (`after` null) and Observer::list_after.
template <class Store>
std::vector<Job> list_with(Store& store, std::optional<Status> status, int limit,
                           const Cursor* after) {
    const auto code = list_status_code(status); // std::invalid_argument before any lock
    const std::int64_t rows = limit <= 0 ? -1 : limit;
    return store.locked([&] { return store.list(code, rows, after); });
}

/// Observer::stats.
template <class Store>
Stats stats_with(Store& store) {
    Stats stats;
    store.locked([&] { store.stats(stats); });
    sum_queues(stats);
    return stats;
}

/// Cleaner::clean.
template <class Store>
std::int64_t clean_with(Store& store, std::optional<Status> status,
                        std::optional<TimePoint> before) {
    const auto statuses = clean_statuses(status); // std::invalid_argument before any lock
    return store.locked([&] { return store.clean(statuses.first, statuses.second, before); });
}

} // namespace gqs::detail
