// SPDX-License-Identifier: Apache-2.0
// Two steps every queue test takes, on the interfaces: push one message, read one job back.
#pragma once

#include <gqs/interfaces.hpp>

#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

namespace gqs::test {

/// Pushes one message with the given payload, runnable after `delay`; returns it.
inline Message push_one(Pusher& pusher, std::string payload = "p", Duration delay = {}) {
    Message m;
    m.payload = std::move(payload);
    pusher.push(m, delay);
    return m;
}

/// The stored job; throws (failing the test) if it is missing.
/// Pushes `count` empty messages to `queue` in one push_batch.
inline void push_to(Pusher& pusher, const std::string& queue, int count) {
    std::vector<Message> batch(static_cast<std::size_t>(count));
    for (auto& m : batch)
        m.queue = queue;
    (void)pusher.push_batch(batch);
}

inline Job stored_job(Observer& observer, const Uuid& id) {
    auto found = observer.get(id);
    if (!found) throw std::runtime_error("job " + id.to_string() + " is missing");
    return *found;
}

} // namespace gqs::test
