// SPDX-License-Identifier: Apache-2.0
// A PostgreSQL cluster of a test's own (scripts/pg-cluster.sh), for tests that crash and
// restart the server.
#pragma once

#include "support/catch.hpp"

#include <array>
#include <cstdio>
#include <cstdlib>
#include <string>

#include <stdlib.h>

namespace gqs::test {

/// Runs scripts/pg-cluster.sh; returns its stdout (the conninfo for start).
inline std::string pg_cluster(const std::string& command, const std::string& dir) {
    const std::string line =
        std::string("bash '") + GQS_PG_CLUSTER_SCRIPT + "' " + command + " '" + dir + "' 2>&1";
    std::string out;
    FILE* p = ::popen(line.c_str(), "r");
    REQUIRE(p != nullptr);
    std::array<char, 512> buffer{};
    while (std::fgets(buffer.data(), static_cast<int>(buffer.size()), p) != nullptr)
        out += buffer.data();
    const int status = ::pclose(p);
    INFO(line << ":\n" << out);
    REQUIRE(status == 0);
    // The conninfo is the last line (notes go to stderr, merged here).
    while (!out.empty() && out.back() == '\n')
        out.pop_back();
    return out.substr(out.rfind('\n') == std::string::npos ? 0 : out.rfind('\n') + 1);
}

/// A throwaway cluster of the test's own, stopped and removed at the end.
class Cluster {
public:
    Cluster() {
        char name[] = "/tmp/gqs-pgr.XXXXXX";
        REQUIRE(::mkdtemp(name) != nullptr);
        dir_ = name;
        conninfo_ = pg_cluster("start", dir_);
    }
    ~Cluster() {
        const std::string line =
            std::string("bash '") + GQS_PG_CLUSTER_SCRIPT + "' stop '" + dir_ + "' >/dev/null 2>&1";
        [[maybe_unused]] int rc = std::system(line.c_str());
    }
    Cluster(const Cluster&) = delete;
    Cluster& operator=(const Cluster&) = delete;
    [[nodiscard]] const std::string& conninfo() const { return conninfo_; }
    void crash_and_restart() {
        crash();
        restart();
    }
    /// pg_ctl -m immediate: every server process ends at once, as in a crash.
    void crash() { pg_cluster("crash", dir_); }
    /// Starts it again (crash recovery) and waits until it accepts connections.
    void restart() { pg_cluster("start", dir_); }

private:
    std::string dir_;
    std::string conninfo_;
};

} // namespace gqs::test
