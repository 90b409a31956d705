// SPDX-License-Identifier: Apache-2.0
// Sequence fuzzer: the input drives push, push_batch, pull, complete, requeue, kill,
// extend_lock, settle, lease expiry and clean on a fresh database, and after every step the
// stored jobs must match a model of the state machine (status, attempts, lease) exactly, and
// every operation must succeed or fail exactly when the model says it should.
#include "backend/settle.hpp"

#include <gqs/sqlite.hpp>

#include <SQLiteCpp/Statement.h>

#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <map>
#include <optional>
#include <vector>

namespace {

using namespace std::chrono_literals;
using gqs::Status;

struct Model {
    Status status = Status::Pending;
    std::uint32_t attempts = 0;
    bool future = false;  // next_run_at an hour ahead
    bool expired = false; // Processing with locked_until forced into the past
};

[[noreturn]] void fail(const char* what) {
    std::fprintf(stderr, "queue_ops invariant broken: %s\n", what);
    std::abort();
}

class Input {
public:
    Input(const std::uint8_t* data, std::size_t size) : data_(data), size_(size) {}
    bool more() const { return pos_ < size_; }
    std::uint8_t next() { return pos_ < size_ ? data_[pos_++] : 0; }

private:
    const std::uint8_t* data_;
    std::size_t size_;
    std::size_t pos_ = 0;
};

struct Harness {
    std::shared_ptr<gqs::sqlite::Connection> db = gqs::sqlite::Connection::open(":memory:");
    gqs::sqlite::Pusher pusher{(gqs::sqlite::init_db(*db), db)};
    gqs::sqlite::Puller puller{db};
    gqs::sqlite::Observer observer{db};
    gqs::sqlite::Cleaner cleaner{db};
    std::map<gqs::Uuid, Model> model;
    std::vector<gqs::Job> snapshots; // what callers hold, possibly stale

    bool eligible(const Model& m) const {
        return (m.status == Status::Pending && !m.future) ||
               (m.status == Status::Processing && m.expired);
    }

    bool holds(const gqs::Job& snap) const {
        auto it = model.find(snap.id);
        return it != model.end() && it->second.status == Status::Processing &&
               it->second.attempts == snap.attempts;
    }

    bool can_kill(const gqs::Job& snap) const {
        auto it = model.find(snap.id);
        return it != model.end() && it->second.status == snap.status &&
               (snap.status == Status::Pending || snap.status == Status::Processing) &&
               it->second.attempts == snap.attempts;
    }

    gqs::Job* pick(Input& in) {
        if (snapshots.empty()) return nullptr;
        return &snapshots[in.next() % snapshots.size()];
    }

    void after(gqs::Job& snap, Status status, bool future = false) {
        auto& m = model[snap.id];
        m.status = status;
        m.future = future;
        m.expired = false;
        if (snap.status != status) fail("snapshot not updated after a transition");
    }

    void step(Input& in) {
        const int code = in.next() % 11;
        switch (code) {
        case 0: { // push
            gqs::Message msg;
            bool future = in.next() & 1;
            pusher.push(msg, future ? 1h : 0ms);
            model[msg.id] = Model{Status::Pending, 0, future, false};
            break;
        }
        case 1: { // push_batch, sometimes with a duplicate: all or nothing
            std::vector<gqs::Message> batch(1 + in.next() % 8);
            bool dup = (in.next() % 4 == 0) && !model.empty();
            if (dup) batch.back().id = model.begin()->first;
            try {
                pusher.push_batch(batch);
                if (dup) fail("push_batch accepted a duplicate id");
                for (auto& msg : batch)
                    model[msg.id] = Model{};
            } catch (const gqs::DuplicateJob&) {
                if (!dup) fail("push_batch refused a batch without duplicates");
            }
            break;
        }
        case 2: { // pull
            int n = 1 + in.next() % 5;
            std::size_t ready = 0;
            for (auto& [id, m] : model)
                ready += eligible(m);
            auto jobs = puller.pull(n, 1h);
            if (jobs.size() != std::min<std::size_t>(ready, static_cast<std::size_t>(n)))
                fail("pull returned the wrong number of jobs");
            for (auto& job : jobs) {
                auto& m = model.at(job.id);
                if (!eligible(m)) fail("pull returned a job that was not eligible");
                m = Model{Status::Processing, m.attempts + 1, false, false};
                if (job.attempts != m.attempts) fail("pull attempts");
                snapshots.push_back(job);
            }
            break;
        }
        case 3:
        case 4:
        case 5:
        case 6: { // complete, requeue, kill, extend_lock
            const int op = code - 3;
            gqs::Job* snap = pick(in);
            if (!snap) break;
            bool ok = op == 2 ? can_kill(*snap) : holds(*snap);
            bool future = in.next() & 1;
            try {
                switch (op) {
                case 0: puller.complete(*snap); break;
                case 1: puller.requeue(*snap, future ? 1h : 0ms); break;
                case 2: puller.kill(*snap); break;
                default: puller.extend_lock(*snap, 1h); break;
                }
                if (!ok) fail("a transition succeeded without the lease");
                if (op == 0) after(*snap, Status::Done);
                if (op == 1) after(*snap, Status::Pending, future);
                if (op == 2) after(*snap, Status::Dead);
                if (op == 3) model[snap->id].expired = false;
            } catch (const gqs::CompleteFailed&) {
                if (ok || op != 0) fail("complete failed wrongly");
            } catch (const gqs::JobLost&) {
                if (ok || (op != 1 && op != 2)) fail("requeue/kill failed wrongly");
            } catch (const gqs::LockLost&) {
                if (ok || op != 3) fail("extend_lock failed wrongly");
            }
            break;
        }
        case 7: { // a lease runs out (a worker died): move locked_until into the past
            gqs::Job* snap = pick(in);
            if (!snap) break;
            const bool expired = db->with_database([&](SQLite::Database& raw) {
                SQLite::Statement st(
                    raw, "UPDATE jobs SET locked_until = 0 WHERE id = ? AND status = 2");
                st.bind(1, snap->id.bytes().data(), 16);
                return st.exec() == 1;
            });
            if (expired) model.at(snap->id).expired = true;
            break;
        }
        case 8: { // clean
            static constexpr std::optional<Status> choices[] = {std::nullopt, Status::Done,
                                                                Status::Dead};
            const std::optional<Status> s = choices[in.next() % 3];
            std::int64_t expected = 0;
            for (auto it = model.begin(); it != model.end();) {
                bool match = !s ? gqs::is_terminal(it->second.status) : it->second.status == *s;
                if (match) {
                    ++expected;
                    it = model.erase(it);
                } else {
                    ++it;
                }
            }
            if (cleaner.clean(s, std::nullopt) != expected) fail("clean count");
            break;
        }
        case 9: { // settle a few snapshots at once
            std::vector<gqs::Settlement> batch;
            std::vector<gqs::Job*> snaps;
            std::vector<bool> ok;
            std::size_t count = 1 + in.next() % 4;
            std::map<gqs::Uuid, int> seen;
            for (std::size_t i = 0; i < count; ++i) {
                gqs::Job* snap = pick(in);
                if (!snap || seen[snap->id]++) continue; // one settlement per job
                auto action = static_cast<gqs::Action>(in.next() % 4);
                ok.push_back(action == gqs::Action::Kill ? can_kill(*snap) : holds(*snap));
                batch.push_back({gqs::lease_of(*snap), action, 0ms});
                snaps.push_back(snap);
            }
            auto results = puller.settle(batch);
            for (std::size_t i = 0; i < batch.size(); ++i) {
                if (results[i].applied() != ok[i]) fail("settle result");
                if (!ok[i]) continue;
                auto* snap = snaps[i];
                const auto action = batch[i].action;
                gqs::detail::apply_settlement(*snap, action, results[i]);
                after(*snap, action == gqs::Action::Complete ? Status::Done
                             : action == gqs::Action::Kill   ? Status::Dead
                                                             : Status::Pending);
                if (action == gqs::Action::Release) {
                    // The pull's attempt is taken back.
                    auto& m = model[snap->id];
                    --m.attempts;
                    if (snap->attempts != m.attempts) fail("release attempts");
                }
            }
            break;
        }
        default: { // an observer snapshot (lets kill act on Pending jobs)
            if (model.empty()) break;
            auto it = model.begin();
            std::advance(it, in.next() % model.size());
            snapshots.push_back(observer.get(it->first).value());
            break;
        }
        }
        if (snapshots.size() > 64) snapshots.erase(snapshots.begin(), snapshots.begin() + 32);
    }

    void check() {
        auto stored = observer.list(std::nullopt, 0);
        if (stored.size() != model.size()) fail("job count differs from the model");
        for (auto& job : stored) {
            auto it = model.find(job.id);
            if (it == model.end()) fail("a job the model does not know");
            if (job.status != it->second.status) fail("status");
            if (job.attempts != it->second.attempts) fail("attempts");
            if (job.locked_until.has_value() != (job.status == Status::Processing))
                fail("locked_until set exactly while Processing");
        }
    }
};

} // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
    Harness h;
    Input in(data, size);
    for (int steps = 0; in.more() && steps < 200; ++steps) {
        h.step(in);
        h.check();
    }
    return 0;
}
