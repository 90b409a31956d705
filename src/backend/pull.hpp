// SPDX-License-Identifier: Apache-2.0
// The rules of the Puller's calls, written once over a backend's data layer.
#pragma once

#include "codec.hpp"
#include "queue_rules.hpp"
#include "rules.hpp"
#include "settle.hpp"

#include <gqs/errors.hpp>
#include <gqs/interfaces.hpp>

#include <algorithm>
#include <atomic>
#include <cstdint>
#include <future>
#include <iterator>
#include <map>
#include <optional>
#include <span>
#include <string>
#include <system_error>
#include <vector>

namespace gqs::detail {

// A backend's Puller store is its dialect for leasing and settling. It provides:
//
//   template <class Fn> void locked(Fn&& fn);
//       runs fn under the Connection's lock
//   template <class Fn> void transaction(Fn&& fn);
//       runs fn in a write transaction (rolled back if it throws)
//   std::vector<QueueGate> gates(std::span<const std::string> queues, std::int64_t& now_us);
//       the queues among `queues` (every queue when empty) whose stored limits restrict a pull
//       (paused, max_running, rate, max_running_per_key or fair share), by name, with the fair
//       share's turn; now_us: the database's clock
//   std::optional<QueueGate> lock_gate(const std::string& queue, std::int64_t& now_us);
//       the gate read again and locked against other pulls until the transaction ends;
//       nullopt when the queue no longer has one
//   std::pair<int, std::optional<std::int64_t>> running(const std::string& queue);
//       the queue's jobs Processing with a live lease, and the earliest end of those leases
//   void save_bucket(const std::string& queue, const Bucket& bucket);
//       stores the token bucket's state
//   std::vector<Job> pull(int batch, Duration lock, std::span<const std::string> queues,
//                         std::span<const std::string> except);
//       leases up to `batch` jobs of `queues` (every queue but those in `except` when empty; a
//       non-empty `queues` comes with an empty `except`), in any order, leaving out cancelled
//       ones that went Dead
//   std::vector<Job> pull_unless_gated(int batch, Duration lock,
//                                      std::span<const std::string> queues);   (optional)
//       pull(batch, lock, queues, {}) when no queue it would serve has a gate, in one
//       statement; else takes nothing. For a backend whose every statement is a round trip:
//       a pull of open queues then costs one. With it:
//   bool try_unless_gated() const;  void note_gated(bool found);
//       whether to try it (a backend may skip it after a pull that found gates), and what the
//       last pull found
//   std::vector<Job> pull_keyed(int batch, Duration lock, const std::string& queue,
//                               int per_key, int window);
//       leases up to `batch` jobs of `queue` in pull order, no key getting more than its free
//       slots (per_key less its live leases), from the first `window` candidates whose key is
//       not at its cap; jobs without a key are not capped
//   bool has_ready_keyed(const std::string& queue, int per_key);
//       has_ready of one queue, counting only jobs whose key is not at its cap
//   FairGroups fair_groups(const std::string& queue, const std::optional<std::string>& from,
//                          int limit, int expired_limit);
//       of `queue`: the best priority with a ready job, its expired leases (at most
//       expired_limit), and up to `limit` groups with a ready job of that priority in round
//       order: from `from` (included) up, then from the lowest up to `from` (excluded).
//       "" stands for the jobs without a group; it is listed when one is among that
//       priority's fair_window oldest ready jobs
//   std::vector<Job> pull_fair(int expired, Duration lock, const std::string& queue,
//                              int priority, const std::vector<GroupQuota>& quotas,
//                              const std::optional<std::string>& turn, int used);
//       leases up to `expired` expired leases of `queue`, then per quota up to `quota` of its
//       group's oldest ready jobs of `priority` (for "", from the fair_window oldest); with
//       quotas and a turn, stores the fair share's turn (QueueGate::turn_group, turn_used)
//   void pulled(bool full);
//       the pulls of one call took (or did not take) all they asked for
//   bool extend(Job& job, Duration lock);
//       moves the lease's end and updates job.cancel_requested, locked_until and updated_at;
//       false when the caller's lease is gone
//   std::vector<SettleResult> settle(std::span<const Settlement>);
//       one transaction (or statement); lost leases marked per entry; throws StorageError
//       with nothing stored
//   template <class Fn> std::vector<SettleResult> settle_and(std::span<const Settlement>, Fn&&);
//       settles, then runs fn, both in one transaction; throws StorageError with nothing
//       committed
//   bool has_ready(std::span<const std::string> queues, std::span<const std::string> except);
//       a read-only look: could a pull of these queues now return a job
//
// each called with the lock held and its arguments checked.

/// A run of LeasedBatch::jobs that a fair pull leased, in its round-robin order.
struct FairRun {
    std::size_t first = 0;
    std::size_t count = 0;
};

/// What a pull leased, and when a queue limit that held ready jobs back may let one start.
struct LeasedBatch {
    std::vector<Job> jobs;
    std::optional<Duration> wait;
    std::vector<FairRun> fair; // for order_leased
};

/// Puts a pull's jobs in the order it promises (sort_pulled: priority, then age), except that
/// the jobs of a fair run keep their round-robin order within each priority: they take the
/// places their ages would give them, in turn order.
inline void order_leased(LeasedBatch& batch) {
    auto& jobs = batch.jobs;
    if (batch.fair.empty()) {
        sort_pulled(jobs);
        return;
    }
    // The time each job sorts by: its next_run_at, or, for the k-th job of a fair run (and
    // priority), the k-th earliest next_run_at of that run (and priority).
    std::vector<TimePoint> at(jobs.size());
    std::vector<std::size_t> run_of(jobs.size(), 0); // 0: no fair run; else its number
    std::vector<std::size_t> rank(jobs.size(), 0);   // the place in its run's turn order
    for (std::size_t i = 0; i < jobs.size(); ++i)
        at[i] = jobs[i].next_run_at;
    for (std::size_t r = 0; r < batch.fair.size(); ++r) {
        const auto& run = batch.fair[r];
        std::map<int, std::vector<std::size_t>> by_priority;
        for (std::size_t i = run.first; i < run.first + run.count && i < jobs.size(); ++i)
            by_priority[jobs[i].priority].push_back(i);
        for (const auto& [priority, places] : by_priority) {
            std::vector<TimePoint> times;
            for (const auto i : places)
                times.push_back(jobs[i].next_run_at);
            std::sort(times.begin(), times.end());
            for (std::size_t k = 0; k < places.size(); ++k) {
                at[places[k]] = times[k];
                run_of[places[k]] = r + 1;
                rank[places[k]] = k;
            }
        }
    }
    std::vector<std::size_t> order(jobs.size());
    for (std::size_t i = 0; i < order.size(); ++i)
        order[i] = i;
    // A lexicographic key per job, so the order is a strict weak one.
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) {
        if (jobs[a].priority != jobs[b].priority) return jobs[a].priority < jobs[b].priority;
        if (at[a] != at[b]) return at[a] < at[b];
        if (run_of[a] != run_of[b]) return run_of[a] < run_of[b];
        if (rank[a] != rank[b]) return rank[a] < rank[b];
        return jobs[a].id < jobs[b].id;
    });
    std::vector<Job> sorted;
    sorted.reserve(jobs.size());
    for (const auto i : order)
        sorted.push_back(std::move(jobs[i]));
    jobs = std::move(sorted);
}

/// The oldest ready jobs of a priority in which a fair pull looks for jobs without a group.
inline constexpr int fair_window = 64;

/// One group's share of a fair pull: up to `quota` of its oldest ready jobs ("": the jobs
/// without a group).
struct GroupQuota {
    std::string group;
    int quota = 0;
};

/// What a fair pull finds before it takes (Store::fair_groups). Value type.
struct FairGroups {
    std::optional<int> priority; // nullopt: no ready job
    int expired = 0;
    std::vector<std::string> groups;
};

/// Weighted round-robin: splits `want` starts over `groups` (round order, from the turn's
/// group when it is first) by `weights` (a group not listed weighs 1); `turn_group` may have
/// used `turn_used` of its current turn. Moves the turn to where the split ends. `turns`, when
/// given, gets each turn in order (a group and how many it takes).
inline std::vector<GroupQuota> fair_quotas(const std::vector<std::string>& groups,
                                           const std::map<std::string, int>& weights,
                                           std::optional<std::string>& turn_group, int& turn_used,
                                           int want, std::vector<GroupQuota>* turns = nullptr) {
    std::vector<GroupQuota> quotas;
    if (groups.empty() || want <= 0) return quotas;
    std::vector<int> weight;
    for (const auto& g : groups) {
        const auto found = weights.find(g);
        weight.push_back(found == weights.end() ? 1 : std::max(1, found->second));
        quotas.push_back({g, 0});
    }
    // The turn's group, listed first, finishes its turn before the others start theirs.
    int spent_first =
        turn_group && *turn_group == groups.front() ? std::clamp(turn_used, 0, weight.front()) : 0;
    int left = want;
    while (left > 0) {
        for (std::size_t i = 0; i < groups.size() && left > 0; ++i) {
            const int spent = i == 0 ? spent_first : 0;
            const int take = std::min(weight[i] - spent, left);
            if (take <= 0) continue;
            quotas[i].quota += take;
            if (turns != nullptr) turns->push_back({groups[i], take});
            left -= take;
            turn_group = groups[i];
            turn_used = spent + take;
        }
        spent_first = 0;
    }
    std::erase_if(quotas, [](const GroupQuota& q) { return q.quota == 0; });
    return quotas;
}

/// Puts the jobs a fair statement leased in the order of `turns`, oldest first within a
/// group; jobs no turn names (expired leases, which go first) lead.
inline void in_turns(std::vector<Job>& jobs, const std::vector<GroupQuota>& turns) {
    sort_pulled(jobs);                                        // oldest first within each group
    std::map<std::string, std::vector<std::size_t>> by_group; // positions, oldest first
    for (std::size_t i = 0; i < jobs.size(); ++i)
        by_group[jobs[i].group.value_or("")].push_back(i);
    std::map<std::string, std::size_t> next;
    std::vector<std::size_t> order;
    for (const auto& turn : turns) {
        auto& places = by_group[turn.group];
        auto& at = next[turn.group];
        for (int k = 0; k < turn.quota && at < places.size(); ++k)
            order.push_back(places[at++]);
    }
    std::vector<bool> placed(jobs.size(), false);
    for (const auto i : order)
        placed[i] = true;
    std::vector<Job> out;
    out.reserve(jobs.size());
    for (std::size_t i = 0; i < jobs.size(); ++i)
        if (!placed[i]) out.push_back(std::move(jobs[i]));
    for (const auto i : order)
        out.push_back(std::move(jobs[i]));
    jobs = std::move(out);
}

/// Leases up to `batch` jobs of a fair-share queue (docs/limits.md, "Fair share"): expired
/// leases first, then within the best ready priority, groups round-robin from the stored turn,
/// each up to its weight per turn. Repeats while a statement takes jobs and the batch is not
/// full (a group had fewer jobs than its share, or a priority ran out): at most batch + 1
/// rounds, most pulls one. Each round stores the turn where its split ended.
template <class Store>
std::vector<Job> pull_fair(Store& store, int batch, Duration lock, const QueueGate& gate) {
    std::vector<Job> jobs;
    auto turn_group = gate.turn_group;
    int turn_used = gate.turn_used;
    while (static_cast<int>(jobs.size()) < batch) {
        const int left = batch - static_cast<int>(jobs.size());
        const auto found = store.fair_groups(gate.queue, turn_group, left + 1, left);
        const int expired = std::min(found.expired, left);
        std::vector<GroupQuota> quotas;
        std::vector<GroupQuota> turns;
        if (found.priority)
            quotas = fair_quotas(found.groups, gate.group_weights, turn_group, turn_used,
                                 left - expired, &turns);
        if (expired == 0 && quotas.empty()) break;
        auto more = store.pull_fair(expired, lock, gate.queue, found.priority.value_or(0), quotas,
                                    turn_group, turn_used);
        if (more.empty()) break;
        in_turns(more, turns);
        jobs.insert(jobs.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
    }
    return jobs;
}

/// Keeps a pull's wait for Puller::limit_wait (in milliseconds; -1 for none).
inline void note_limit_wait(std::atomic<std::int64_t>& slot, std::optional<Duration> wait) {
    slot.store(wait ? wait->count() : -1, std::memory_order_relaxed);
}

/// Puller::limit_wait from what note_limit_wait kept.
inline std::optional<Duration> limit_wait_of(const std::atomic<std::int64_t>& slot) noexcept {
    const auto ms = slot.load(std::memory_order_relaxed);
    if (ms < 0) return std::nullopt;
    return Duration{ms};
}

/// The names of `queues` without those of `gates` (each once).
inline std::vector<std::string> open_queues(std::span<const std::string> queues,
                                            const std::vector<QueueGate>& gates) {
    std::vector<std::string> open;
    for (auto& name : distinct_queues(queues)) {
        const bool gated = std::any_of(gates.begin(), gates.end(),
                                       [&](const QueueGate& g) { return g.queue == name; });
        if (!gated) open.push_back(std::move(name));
    }
    return open;
}

/// The names of `gates`.
inline std::vector<std::string> gate_names(const std::vector<QueueGate>& gates) {
    std::vector<std::string> names;
    names.reserve(gates.size());
    for (const auto& g : gates)
        names.push_back(g.queue);
    return names;
}

/// Leases up to `batch` jobs of a queue with max_running_per_key: statement after statement,
/// each from a window of candidates of the keys not at their cap, until the batch is full or
/// one takes nothing. Each statement but the last takes a job, so there are at most
/// batch + 1; most pulls need one or two.
template <class Store>
std::vector<Job> pull_keyed(Store& store, int batch, Duration lock, const std::string& queue,
                            int per_key) {
    std::vector<Job> jobs;
    while (static_cast<int>(jobs.size()) < batch) {
        const int left = batch - static_cast<int>(jobs.size());
        auto more = store.pull_keyed(left, lock, queue, per_key, std::max(4 * left, 64));
        if (more.empty()) break;
        jobs.insert(jobs.end(), std::make_move_iterator(more.begin()),
                    std::make_move_iterator(more.end()));
    }
    return jobs;
}

/// Leases up to `batch` jobs of `queues` honouring the stored queue limits (docs/limits.md):
/// queues without limits are pulled as always; a paused queue not at all; a limited one, its
/// row locked, no more than its free slots (max_running less its live leases, so a dead
/// worker's slot frees itself when its lease ends), its whole tokens and its keys' free slots
/// (max_running_per_key) allow. `in_transaction`:
/// the caller's transaction holds the pull; else the limited part gets one of its own.
template <class Store>
LeasedBatch pull_limited(Store& store, int batch, Duration lock,
                         std::span<const std::string> queues, bool in_transaction) {
    LeasedBatch out;
    // Without a gate on the queues served, a backend that can do so pulls in one statement.
    // Having taken nothing, it has learned nothing: the gates decide, as below, but the pull
    // of open queues is not repeated when there is none (no job was ready a moment ago).
    bool tried_open = false;
    if constexpr (requires { store.pull_unless_gated(batch, lock, queues); }) {
        if (store.try_unless_gated()) {
            out.jobs = store.pull_unless_gated(batch, lock, queues);
            if (!out.jobs.empty()) {
                store.pulled(static_cast<int>(out.jobs.size()) >= batch);
                return out;
            }
            tried_open = true;
        }
    }
    std::int64_t now_us = 0;
    const auto gates = store.gates(queues, now_us);
    if constexpr (requires { store.note_gated(true); }) store.note_gated(!gates.empty());
    if (gates.empty()) {
        if (!tried_open) out.jobs = store.pull(batch, lock, queues, {});
    } else if (queues.empty()) {
        out.jobs = store.pull(batch, lock, queues, gate_names(gates));
    } else if (const auto open = open_queues(queues, gates); !open.empty()) {
        out.jobs = store.pull(batch, lock, open, {});
    }
    const bool limited =
        std::any_of(gates.begin(), gates.end(), [](const QueueGate& g) { return !g.paused; });
    auto take_limited = [&] {
        for (const auto& gate : gates) {
            const int left = batch - static_cast<int>(out.jobs.size());
            if (left <= 0) break;
            if (gate.paused) continue;
            std::int64_t at_us = 0;
            const std::string& queue = gate.queue;
            std::vector<Job> got;
            const auto locked = store.lock_gate(queue, at_us);
            if (!locked) {
                // Its limits were cleared since the first read: an open queue now.
                got = store.pull(left, lock, std::span<const std::string>(&queue, 1), {});
            } else if (!locked->paused) {
                std::pair<int, std::optional<std::int64_t>> running{0, std::nullopt};
                if (locked->max_running) running = store.running(queue);
                Bucket bucket = refill(*locked, at_us);
                const int allowed = allowed_starts(*locked, bucket, running.first, left);
                if (allowed > 0 && locked->max_running_per_key)
                    got = pull_keyed(store, allowed, lock, queue, *locked->max_running_per_key);
                else if (allowed > 0 && locked->fair) {
                    got = pull_fair(store, allowed, lock, *locked);
                    out.fair.push_back({out.jobs.size(), got.size()});
                } else if (allowed > 0)
                    got = store.pull(allowed, lock, std::span<const std::string>(&queue, 1), {});
                const int taken = static_cast<int>(got.size());
                // Stored only when tokens were taken: refilling later from the older state
                // gives the same bucket, and a pull that took nothing then writes nothing
                // (on SQLite a write would wake the other processes' idle workers).
                if (locked->rate && taken > 0) {
                    bucket.tokens -= taken;
                    store.save_bucket(queue, bucket);
                }
                // Held back by max_running or the rate (not by a lack of jobs, nor by the
                // keys' caps): when may it allow one more?
                if (taken == allowed && allowed < left) {
                    std::optional<Duration> wait;
                    if (locked->rate && bucket.tokens < 1)
                        wait = until_token(bucket, *locked->rate);
                    if (locked->max_running && running.first + taken >= *locked->max_running) {
                        const std::int64_t end_us =
                            running.second
                                ? *running.second
                                : at_us +
                                      std::chrono::duration_cast<std::chrono::microseconds>(lock)
                                          .count();
                        const Duration slot{
                            std::max<std::int64_t>(1, (end_us - at_us + 999) / 1000)};
                        wait = wait ? std::max(*wait, slot) : slot;
                    }
                    if (wait && (!out.wait || *wait < *out.wait)) out.wait = wait;
                }
            }
            out.jobs.insert(out.jobs.end(), std::make_move_iterator(got.begin()),
                            std::make_move_iterator(got.end()));
        }
    };
    if (limited && static_cast<int>(out.jobs.size()) < batch) {
        if (in_transaction) {
            take_limited();
        } else {
            store.transaction(take_limited);
        }
    }
    store.pulled(static_cast<int>(out.jobs.size()) >= batch);
    if (static_cast<int>(out.jobs.size()) >= batch) out.wait.reset();
    return out;
}

/// A pull whose arguments were checked: the jobs in the order a pull promises.
template <class Store>
LeasedBatch pull_checked(Store& store, int batch, Duration lock,
                         std::span<const std::string> queues) {
    LeasedBatch pulled;
    store.locked([&] { pulled = pull_limited(store, batch, lock, queues, false); });
    order_leased(pulled);
    return pulled;
}

/// Puller::pull.
template <class Store>
LeasedBatch pull_with(Store& store, int batch, Duration lock, std::span<const std::string> queues) {
    check_pull(batch, lock);
    check_queues(queues);
    return pull_checked(store, batch, lock, queues);
}

/// Puller::extend_lock: LockLost when the caller's lease is gone.
template <class Store>
void extend_with(Store& store, Job& job, Duration lock) {
    check_lock(lock, "extend_lock lock");
    bool extended = false;
    store.locked([&] { extended = store.extend(job, lock); });
    if (!extended) throw LockLost(lease_lost_message("extend the lease of", lease_of(job)));
}

/// A settle whose settlements were checked: a storage failure fails every entry (nothing was
/// stored).
template <class Store>
std::vector<SettleResult> settle_checked(Store& store, std::span<const Settlement> settlements) {
    if (settlements.empty()) return {};
    try {
        std::vector<SettleResult> results;
        store.locked([&] { results = store.settle(settlements); });
        return results;
    } catch (const StorageError& e) {
        return failed_settlements(settlements.size(), e);
    }
}

/// Puller::settle.
template <class Store>
std::vector<SettleResult> settle_with(Store& store, std::span<const Settlement> settlements) {
    check_settlements(settlements);
    return settle_checked(store, settlements);
}

/// Puller::settle_and_pull: with no batch only settles, with no settlements only pulls, else
/// both in one transaction. If that fails on storage, nothing was committed: the settlements
/// matter more than the next lease, so they are stored on their own, and the failure is
/// thrown as pull() would throw it (after `results` got the settlements' own results).
template <class Store>
LeasedBatch settle_and_pull_with(Store& store, std::span<const Settlement> settlements,
                                 std::vector<SettleResult>& results, int batch, Duration lock,
                                 std::span<const std::string> queues) {
    check_queues(queues);
    check_settlements(settlements);
    if (batch <= 0) {
        results = settle_checked(store, settlements);
        return {};
    }
    check_pull(batch, lock);
    if (settlements.empty()) {
        results.clear();
        return pull_checked(store, batch, lock, queues);
    }
    LeasedBatch pulled;
    try {
        store.locked([&] {
            results = store.settle_and(
                settlements, [&] { pulled = pull_limited(store, batch, lock, queues, true); });
        });
    } catch (const StorageError&) {
        results = settle_checked(store, settlements);
        throw;
    }
    order_leased(pulled);
    return pulled;
}

/// The fewest settlements, and the smallest batch, for which a backend stores a cycle's
/// settlements on a second session beside the pull (settle_beside_pull_with).
inline constexpr std::size_t beside_min = 8;

/// Puller::settle_and_pull on two sessions: the settlements are stored through `lane` (in a
/// transaction of their own, on another thread) while the pull runs through `store`, so that
/// the database works on both at once. Leases stay fenced: a settlement of a lease that the
/// pull takes back (it had expired) waits for the pull's commit and then finds it gone. Only
/// for queues without limits: a limited queue's pull has to see the slots the settlements free,
/// which settle_and_pull_with gives it in one transaction. `results` gets the settlements'
/// results before a failure of the pull is thrown. Without a thread to spare, it is
/// settle_and_pull_with.
template <class Store>
LeasedBatch settle_beside_pull_with(Store& store, Store& lane,
                                    std::span<const Settlement> settlements,
                                    std::vector<SettleResult>& results, int batch, Duration lock,
                                    std::span<const std::string> queues) {
    check_queues(queues);
    check_settlements(settlements);
    check_pull(batch, lock);
    std::future<std::vector<SettleResult>> settled;
    try {
        settled = std::async(std::launch::async,
                             [&lane, settlements] { return settle_checked(lane, settlements); });
    } catch (const std::system_error&) {
        return settle_and_pull_with(store, settlements, results, batch, lock, queues);
    }
    LeasedBatch pulled;
    try {
        pulled = pull_checked(store, batch, lock, queues);
    } catch (...) {
        results = settled.get();
        throw;
    }
    results = settled.get();
    return pulled;
}

/// Puller::has_ready: ready jobs in an open queue, or in a limited one whose limits allow a
/// start now.
template <class Store>
bool has_ready_with(Store& store, std::span<const std::string> queues) {
    check_queues(queues);
    bool ready = false;
    store.locked([&] {
        std::int64_t now_us = 0;
        const auto gates = store.gates(queues, now_us);
        if (gates.empty()) {
            ready = store.has_ready(queues, {});
            return;
        }
        if (queues.empty()) {
            ready = store.has_ready(queues, gate_names(gates));
        } else if (const auto open = open_queues(queues, gates); !open.empty()) {
            ready = store.has_ready(open, {});
        }
        for (const auto& gate : gates) {
            if (ready) return;
            const int running = gate.max_running ? store.running(gate.queue).first : 0;
            if (allowed_starts(gate, refill(gate, now_us), running, 1) <= 0) continue;
            ready = gate.max_running_per_key
                        ? store.has_ready_keyed(gate.queue, *gate.max_running_per_key)
                        : store.has_ready(std::span<const std::string>(&gate.queue, 1), {});
        }
    });
    return ready;
}

} // namespace gqs::detail
