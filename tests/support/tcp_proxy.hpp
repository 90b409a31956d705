// SPDX-License-Identifier: Apache-2.0
// A TCP proxy in the test process, between a client and a PostgreSQL server, that the test
// switches between forwarding, a network that swallows everything, and one that resets every
// connection: the connection faults of the crash matrix.
#pragma once

#include <libpq-fe.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <list>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <utility>
#include <vector>

namespace gqs::test {

/// Where a libpq conninfo connects: its host (a directory for a unix socket) and port.
struct PgAddress {
    std::string host;
    std::string port;
};

namespace proxy_detail {

// The conninfo's options as libpq reads them (a URI or key=value); throws if it cannot.
inline std::vector<std::pair<std::string, std::string>> conninfo_options(const std::string& c) {
    char* error = nullptr;
    PQconninfoOption* options = PQconninfoParse(c.c_str(), &error);
    if (options == nullptr) {
        std::string what = "bad conninfo: ";
        what += error != nullptr ? error : "out of memory";
        PQfreemem(error);
        throw std::invalid_argument(what);
    }
    std::vector<std::pair<std::string, std::string>> out;
    for (auto* o = options; o->keyword != nullptr; ++o)
        if (o->val != nullptr && *o->val != '\0') out.emplace_back(o->keyword, o->val);
    PQconninfoFree(options);
    return out;
}

// A conninfo value in single quotes, as libpq reads it.
inline std::string quoted(const std::string& value) {
    std::string out = "'";
    for (char c : value) {
        if (c == '\'' || c == '\\') out += '\\';
        out += c;
    }
    out += '\'';
    return out;
}

inline void reset_and_close(int fd) {
    if (fd < 0) return;
    linger l{};
    l.l_onoff = 1;
    l.l_linger = 0; // close() sends a reset
    ::setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof l);
    ::close(fd);
}

inline void set_nonblocking(int fd) { ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK); }

} // namespace proxy_detail

/// The server a conninfo names: its first host (PGHOST, else /var/run/postgresql, if none)
/// and port (PGPORT, else 5432, if none). hostaddr, if given, is used rather than host.
inline PgAddress pg_address(const std::string& conninfo) {
    PgAddress a;
    std::string hostaddr;
    for (const auto& [key, value] : proxy_detail::conninfo_options(conninfo)) {
        if (key == "host") a.host = value;
        if (key == "hostaddr") hostaddr = value;
        if (key == "port") a.port = value;
    }
    if (!hostaddr.empty()) a.host = hostaddr;
    if (a.host.empty()) a.host = std::getenv("PGHOST") ? std::getenv("PGHOST") : "";
    if (a.host.empty()) a.host = "/var/run/postgresql";
    if (a.port.empty()) a.port = std::getenv("PGPORT") ? std::getenv("PGPORT") : "";
    if (a.port.empty()) a.port = "5432";
    // Several hosts: the first one.
    a.host = a.host.substr(0, a.host.find(','));
    a.port = a.port.substr(0, a.port.find(','));
    return a;
}

/// `conninfo` (a URI or key=value) as key=value, connecting to host:port instead.
inline std::string conninfo_via(const std::string& conninfo, const std::string& host, int port) {
    std::string out;
    for (const auto& [key, value] : proxy_detail::conninfo_options(conninfo)) {
        if (key == "host" || key == "hostaddr" || key == "port") continue;
        out += key;
        out += '=';
        out += proxy_detail::quoted(value);
        out += ' ';
    }
    out += "host=";
    out += host;
    out += " port=";
    out += std::to_string(port);
    return out;
}

/// Listens on 127.0.0.1 (an ephemeral port) and forwards each connection to `upstream`, on a
/// thread of its own. set_mode switches what the network does:
///  - Forward: bytes go both ways (held bytes and held connections go on);
///  - Blackhole: nothing is forwarded; connections stay open, new ones are accepted and
///    never answered (a partition: what was sent meanwhile arrives once it heals);
///  - Drop: every connection is reset and new ones are refused (the port is closed).
class TcpProxy {
public:
    enum class Mode : std::uint8_t { Forward, Blackhole, Drop };

    explicit TcpProxy(PgAddress upstream) : upstream_(std::move(upstream)) {
        if (::pipe2(wake_, O_CLOEXEC | O_NONBLOCK) != 0)
            throw std::runtime_error("proxy: cannot make a pipe");
        listen_fd_ = listen_on(0);
        sockaddr_in addr{};
        socklen_t len = sizeof addr;
        ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&addr), &len);
        port_ = ntohs(addr.sin_port);
        thread_ = std::thread([this] { run(); });
    }
    ~TcpProxy() {
        {
            std::lock_guard lock(mutex_);
            stopping_ = true;
        }
        wake();
        thread_.join();
        for (Link& link : links_) {
            proxy_detail::reset_and_close(link.client);
            proxy_detail::reset_and_close(link.server);
        }
        if (listen_fd_ >= 0) ::close(listen_fd_);
        ::close(wake_[0]);
        ::close(wake_[1]);
    }
    TcpProxy(const TcpProxy&) = delete;
    TcpProxy& operator=(const TcpProxy&) = delete;

    [[nodiscard]] int port() const noexcept { return port_; }

    /// Switches the mode; returns once the proxy's thread has applied it (from then on
    /// nothing is forwarded, or everything is reset). Throws if it could not (within 10 s).
    void set_mode(Mode mode) {
        std::unique_lock lock(mutex_);
        requested_ = mode;
        const auto generation = ++requests_;
        wake();
        if (!applied_cv_.wait_for(lock, std::chrono::seconds(10),
                                  [&] { return applied_ >= generation || !error_.empty(); }))
            throw std::runtime_error("proxy: the mode was not applied within 10 s");
        if (!error_.empty()) throw std::runtime_error("proxy: " + error_);
    }

    /// Connections accepted so far.
    [[nodiscard]] long accepted() const {
        std::lock_guard lock(mutex_);
        return accepted_;
    }

private:
    struct Link {
        int client = -1;
        int server = -1;  // -1: not connected yet (accepted while not forwarding)
        std::string up;   // client to server, not yet written
        std::string down; // server to client, not yet written
    };
    static constexpr std::size_t buffer_cap = 1 << 20;

    void wake() { [[maybe_unused]] auto n = ::write(wake_[1], "x", 1); }

    int listen_on(int port) {
        const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        const int on = 1;
        sockaddr_in addr{};
        addr.sin_family = AF_INET;
        addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        addr.sin_port = htons(static_cast<std::uint16_t>(port));
        if (fd < 0 || ::setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &on, sizeof on) != 0 ||
            ::bind(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0 ||
            ::listen(fd, 64) != 0) {
            const std::string why = std::strerror(errno);
            if (fd >= 0) ::close(fd);
            throw std::runtime_error("cannot listen on 127.0.0.1:" + std::to_string(port) + ": " +
                                     why);
        }
        return fd;
    }

    // A blocking connect to the server (local: it answers at once or refuses), then
    // non-blocking; -1 if it fails.
    [[nodiscard]] int connect_upstream() const {
        if (!upstream_.host.empty() && upstream_.host.front() == '/') {
            sockaddr_un addr{};
            addr.sun_family = AF_UNIX;
            const std::string path = upstream_.host + "/.s.PGSQL." + upstream_.port;
            if (path.size() >= sizeof addr.sun_path) return -1;
            std::memcpy(addr.sun_path, path.c_str(), path.size() + 1);
            const int fd = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
            if (fd < 0) return -1;
            if (::connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
                ::close(fd);
                return -1;
            }
            proxy_detail::set_nonblocking(fd);
            return fd;
        }
        addrinfo hints{};
        hints.ai_socktype = SOCK_STREAM;
        addrinfo* found = nullptr;
        if (::getaddrinfo(upstream_.host.c_str(), upstream_.port.c_str(), &hints, &found) != 0)
            return -1;
        int fd = -1;
        for (auto* a = found; a != nullptr && fd < 0; a = a->ai_next) {
            fd = ::socket(a->ai_family, a->ai_socktype | SOCK_CLOEXEC, a->ai_protocol);
            if (fd >= 0 && ::connect(fd, a->ai_addr, a->ai_addrlen) != 0) {
                ::close(fd);
                fd = -1;
            }
        }
        ::freeaddrinfo(found);
        if (fd >= 0) proxy_detail::set_nonblocking(fd);
        return fd;
    }

    // Moves what `from` has into `buffer`, and `buffer` into `to`. False when the link ends
    // (end of stream or an error on either side; what was not written yet is dropped).
    static bool pump(int from, short from_events, std::string& buffer, int to) {
        if ((from_events & (POLLIN | POLLHUP | POLLERR)) != 0 && buffer.size() < buffer_cap) {
            char chunk[16384];
            const ssize_t n = ::read(from, chunk, sizeof chunk);
            if (n == 0) return false;
            if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
            if (n > 0) buffer.append(chunk, static_cast<std::size_t>(n));
        }
        if (!buffer.empty()) {
            const ssize_t n = ::send(to, buffer.data(), buffer.size(), MSG_NOSIGNAL);
            if (n < 0 && errno != EAGAIN && errno != EINTR) return false;
            if (n > 0) buffer.erase(0, static_cast<std::size_t>(n));
        }
        return true;
    }

    // The proxy's thread: applies the requested mode, then waits for sockets or a request.
    void run() {
        Mode mode = Mode::Forward;
        std::uint64_t applied = 0;
        while (true) {
            {
                std::lock_guard lock(mutex_);
                if (stopping_) return;
                if (applied != requests_) {
                    try {
                        apply(requested_, mode);
                        mode = requested_;
                    } catch (const std::exception& e) {
                        error_ = e.what();
                    }
                    applied = requests_;
                    applied_ = applied;
                    applied_cv_.notify_all();
                }
            }
            if (mode == Mode::Forward) {
                for (auto it = links_.begin(); it != links_.end();) {
                    if (it->server < 0) it->server = connect_upstream();
                    if (it->server < 0) {
                        proxy_detail::reset_and_close(it->client);
                        it = links_.erase(it);
                    } else {
                        ++it;
                    }
                }
            }
            std::vector<pollfd> fds{{wake_[0], POLLIN, 0}};
            if (listen_fd_ >= 0) fds.push_back({listen_fd_, POLLIN, 0});
            if (mode == Mode::Forward) {
                for (const Link& link : links_) {
                    fds.push_back({link.client,
                                   static_cast<short>((link.up.size() < buffer_cap ? POLLIN : 0) |
                                                      (link.down.empty() ? 0 : POLLOUT)),
                                   0});
                    fds.push_back({link.server,
                                   static_cast<short>((link.down.size() < buffer_cap ? POLLIN : 0) |
                                                      (link.up.empty() ? 0 : POLLOUT)),
                                   0});
                }
            }
            if (::poll(fds.data(), fds.size(), -1) < 0) continue;
            if ((fds[0].revents & POLLIN) != 0) {
                // A request (or the end): applied before anything else is forwarded.
                char drain[64];
                while (::read(wake_[0], drain, sizeof drain) > 0) {
                }
                continue;
            }
            // The links polled (accept_all adds new ones at the end).
            const std::size_t polled = mode == Mode::Forward ? links_.size() : 0;
            std::size_t at = 1;
            if (listen_fd_ >= 0) {
                if ((fds[at].revents & POLLIN) != 0) accept_all();
                ++at;
            }
            auto it = links_.begin();
            for (std::size_t i = 0; i < polled; ++i, at += 2) {
                const short client_events = fds[at].revents;
                const short server_events = fds[at + 1].revents;
                const bool open = pump(it->client, client_events, it->up, it->server) &&
                                  pump(it->server, server_events, it->down, it->client);
                if (open) {
                    ++it;
                } else {
                    proxy_detail::reset_and_close(it->client);
                    proxy_detail::reset_and_close(it->server);
                    it = links_.erase(it);
                }
            }
        }
    }

    void accept_all() {
        while (true) {
            const int fd = ::accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
            if (fd < 0) return;
            const int on = 1;
            ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof on);
            links_.push_back(Link{fd, -1, {}, {}});
            std::lock_guard lock(mutex_);
            ++accepted_;
        }
    }

    // Caller holds mutex_ (the proxy's thread).
    void apply(Mode to, Mode from) {
        if (to == Mode::Drop) {
            for (Link& link : links_) {
                proxy_detail::reset_and_close(link.client);
                proxy_detail::reset_and_close(link.server);
            }
            links_.clear();
            if (listen_fd_ >= 0) ::close(listen_fd_);
            listen_fd_ = -1; // connecting is refused
        } else if (from == Mode::Drop) {
            listen_fd_ = listen_on(port_);
        }
    }

    PgAddress upstream_;
    int wake_[2] = {-1, -1};
    int listen_fd_ = -1; // only the proxy's thread uses it once that runs
    int port_ = 0;
    std::list<Link> links_; // only the proxy's thread uses it
    mutable std::mutex mutex_;
    std::condition_variable applied_cv_;
    Mode requested_ = Mode::Forward;
    std::uint64_t requests_ = 0;
    std::uint64_t applied_ = 0;
    bool stopping_ = false;
    std::string error_;
    long accepted_ = 0;
    std::thread thread_;
};

} // namespace gqs::test
