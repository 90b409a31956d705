// SPDX-License-Identifier: Apache-2.0
// Queue rules every backend applies the same way: what clean deletes, why an action failed.
#pragma once

#include <gqs/interfaces.hpp>
#include <gqs/status.hpp>
#include <gqs/uuid.hpp>

#include <optional>
#include <utility>

namespace gqs::detail {

/// The action's verb in messages: "complete", "requeue", "kill", "release".
[[nodiscard]] const char* verb_of(Action action) noexcept;

/// The statuses clean(status) deletes, as a pair (equal when one): Done, Dead, or both for
/// Unknown. Throws BadStatus for Pending, Processing or a value outside the enum.
[[nodiscard]] std::pair<Status, Status> clean_statuses(Status status);

/// After an Admin action matched no row: throws JobLost when the job does not exist
/// (`found` is nullopt), else BadStatus naming its status and what `action` takes (`wanted`,
/// e.g. "a dead job"). Backends call it with the status read in the action's transaction.
[[noreturn]] void explain_no_match(const Uuid& id, const char* action, const char* wanted,
                                   std::optional<Status> found);

} // namespace gqs::detail
