// SPDX-License-Identifier: Apache-2.0
// A fresh SQLite queue in its own temp directory, with one of each backend class.
#pragma once

#include <gqs/sqlite.hpp>

#include "test_support.hpp"

#include <memory>

namespace gqs::test {

struct SqliteQueue {
    TempDb tmp;
    std::shared_ptr<sqlite::Connection> db = open_and_init(tmp.path());
    sqlite::Pusher pusher{db};
    sqlite::Puller puller{db};
    sqlite::Observer observer{db};
    sqlite::Cleaner cleaner{db};

    /// Another connection to the same file, as another process would have.
    [[nodiscard]] std::shared_ptr<sqlite::Connection> second_connection() const {
        return sqlite::Connection::open(tmp.path());
    }

    static std::shared_ptr<sqlite::Connection> open_and_init(const std::filesystem::path& p) {
        auto c = sqlite::Connection::open(p);
        sqlite::init_db(*c);
        return c;
    }

    /// Pushes one message with the given payload; returns it.
    Message push(std::string payload = "p", Duration delay = {}) {
        Message m;
        m.payload = std::move(payload);
        pusher.push(m, delay);
        return m;
    }

    /// The stored job (it must exist).
    Job stored(const Uuid& id) { return observer.get(id).value(); }
};

} // namespace gqs::test
