// SPDX-License-Identifier: Apache-2.0
// A TCP server that takes connections and never answers: a hung database server, or a
// network that drops everything once connected.
#pragma once

#include <arpa/inet.h>
#include <atomic>
#include <chrono>
#include <future>
#include <netinet/in.h>
#include <stdexcept>
#include <string>
#include <sys/socket.h>
#include <thread>
#include <unistd.h>

namespace gqs::test {

/// Listens on 127.0.0.1 (the kernel completes each handshake) and never reads or writes.
/// close() resets the connections still waiting, so a client stuck on them fails.
class SilentServer {
public:
    SilentServer() {
        const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        socklen_t len = sizeof addr;
        if (fd < 0 || ::bind(fd, reinterpret_cast<sockaddr*>(&addr), len) != 0 ||
            ::listen(fd, 16) != 0 ||
            ::getsockname(fd, reinterpret_cast<sockaddr*>(&addr), &len) != 0) {
            if (fd >= 0) ::close(fd);
            throw std::runtime_error("cannot make a listening socket");
        }
        fd_ = fd;
        port_ = ntohs(addr.sin_port);
    }
    ~SilentServer() { close(); }
    SilentServer(const SilentServer&) = delete;
    SilentServer& operator=(const SilentServer&) = delete;

    /// A libpq conninfo for it.
    [[nodiscard]] std::string conninfo() const {
        return "host=127.0.0.1 port=" + std::to_string(port_) +
               " dbname=gqs user=gqs sslmode=disable";
    }
    /// Thread-safe; idempotent.
    void close() {
        const int fd = fd_.exchange(-1);
        if (fd >= 0) ::close(fd);
    }

private:
    std::atomic<int> fd_{-1};
    int port_ = 0;
};

/// Runs `body` on a thread and waits up to `limit` for it; if it has not returned by then,
/// calls `unblock` (which must make it return) and returns false.
template <class Body, class Unblock>
bool ends_within(std::chrono::seconds limit, Body&& body, Unblock&& unblock) {
    auto done = std::async(std::launch::async, std::forward<Body>(body));
    if (done.wait_for(limit) == std::future_status::ready) {
        done.get();
        return true;
    }
    unblock();
    done.wait();
    return false;
}

} // namespace gqs::test
