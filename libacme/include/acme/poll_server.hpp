#pragma once
// The connection loop both challenge responders run (HTTP-01, tls-alpn-01): one thread
// polls the listening socket, a wake-up pipe and every open connection, so a slow or idle
// client never delays another. Each connection has a total deadline; when the table is
// full the server makes room (or refuses the newcomer); accept() pauses for a moment when
// the process is out of descriptors instead of spinning on a listener that stays readable.
//
// CRTP: Derived provides
//   std::optional<Conn> adopt(UniqueFd fd)     a new connection (nullopt: dropped)
//   bool make_room()                           the table is full: evict one, or false
//   short events(const Conn& c)                POLLIN or POLLOUT
//   bool step(Conn& c, short revents)          advance it; false when it is finished
// and may provide before_loop() (run first on the loop's thread) and on_notify() (run on
// the loop's thread after another thread called notify(): e.g. a worker finished a job
// for a connection, whose events() may be 0 while it waits). Conn has `fd` (UniqueFd) and
// `deadline` (steady_clock time point).
#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "acme/host_port.hpp"
#include "acme/result.hpp"
#include "acme/unique_fd.hpp"

namespace acme::detail {

template <class Derived, class Conn>
class PollServer {
 public:
  using SteadyClock = std::chrono::steady_clock;

  std::atomic<std::size_t> dropped{0};
  std::atomic<std::size_t> open{0};

  int port() const noexcept { return port_; }

  // Binds `listen` (already parsed into addr) and makes the wake-up pipe. `who` prefixes
  // errors ("http-01 responder").
  Result<void> bind_listener(const std::string& listen, const SocketAddress& addr,
                             std::size_t max_connections, const std::string& who) {
    who_ = who;
    max_connections_ = std::max<std::size_t>(1, max_connections);
    listen_fd_.reset(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
    if (!listen_fd_.valid()) return errno_error("socket");
    const int one = 1;
    ::setsockopt(listen_fd_.get(), SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
    if (::bind(listen_fd_.get(), addr.get(), addr.length) != 0) {
      return errno_error("cannot listen on " + listen);
    }
    if (::listen(listen_fd_.get(), 128) != 0) return errno_error("listen " + listen);
    SocketAddress bound;
    bound.length = sizeof bound.storage;
    ::getsockname(listen_fd_.get(), bound.get(), &bound.length);
    port_ = bound.port();
    int pipefd[2];
    if (::pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) != 0) return errno_error("pipe");
    wake_read_.reset(pipefd[0]);
    wake_write_.reset(pipefd[1]);
    return ok();
  }

  void start() {
    thread_ = std::thread([this] {
      derived().before_loop();
      loop();
    });
  }

  // Wakes the loop and waits for it (the destructor of the owner calls it).
  void stop() noexcept {
    stopping_.store(true);
    const char c = 'x';
    if (wake_write_.valid()) (void)!::write(wake_write_.get(), &c, 1);
    if (thread_.joinable()) thread_.join();
  }

  // From any thread: the loop wakes up and runs derived().on_notify().
  void notify() noexcept {
    const char c = 'n';
    if (wake_write_.valid()) (void)!::write(wake_write_.get(), &c, 1);
  }

  void before_loop() {}
  void on_notify() {}

 protected:
  std::vector<Conn> conns_;  // the loop's thread only

  // Closes the connection at index i (the last one takes its place).
  void close_at(std::size_t i) {
    if (i + 1 != conns_.size()) std::swap(conns_[i], conns_.back());
    conns_.pop_back();
    open.store(conns_.size());
  }

  Result<void> errno_error(const std::string& what) const {
    return make_error(Errc::kIo, who_ + ": " + what + ": " + std::strerror(errno));
  }

 private:
  Derived& derived() { return static_cast<Derived&>(*this); }

  void loop() {
    std::vector<pollfd> fds;
    while (true) {
      const auto now = SteadyClock::now();
      expire(now);
      fds.clear();
      fds.push_back({wake_read_.get(), POLLIN, 0});
      // Out of descriptors (EMFILE): the listener stays readable, so it is left out of
      // the poll set for a moment instead of spinning on accept().
      const bool accepting = now >= accept_paused_until_;
      fds.push_back({listen_fd_.get(), static_cast<short>(accepting ? POLLIN : 0), 0});
      auto next = accepting ? now + std::chrono::seconds(60) : accept_paused_until_;
      for (const auto& c : conns_) {
        fds.push_back({c.fd.get(), derived().events(c), 0});
        next = std::min(next, c.deadline);
      }
      const auto wait = std::chrono::ceil<std::chrono::milliseconds>(next - now);
      const int r =
          ::poll(fds.data(), fds.size(),
                 static_cast<int>(std::max<int64_t>(0, static_cast<int64_t>(wait.count()))));
      if (r < 0) {
        if (errno == EINTR) continue;
        return;  // EFAULT/EINVAL/ENOMEM: nothing sensible left to serve with
      }
      const bool notified = fds[0].revents != 0;
      if (notified) {
        char drain[64];
        while (::read(wake_read_.get(), drain, sizeof drain) > 0) {
        }
        if (stopping_.load()) return;
      }
      // Connections first (indices shift once new ones are appended or old ones removed).
      for (std::size_t i = fds.size(); i-- > 2;) {
        if (fds[i].revents == 0) continue;
        if (!derived().step(conns_[i - 2], fds[i].revents)) close_at(i - 2);
      }
      if ((fds[1].revents & POLLIN) != 0) accept_all();
      if (notified) derived().on_notify();
    }
  }

  void expire(SteadyClock::time_point now) {
    for (std::size_t i = conns_.size(); i-- > 0;) {
      if (conns_[i].deadline <= now) {
        dropped.fetch_add(1);
        close_at(i);
      }
    }
  }

  void accept_all() {
    while (true) {
      UniqueFd fd(::accept4(listen_fd_.get(), nullptr, nullptr, SOCK_CLOEXEC | SOCK_NONBLOCK));
      if (!fd.valid()) {
        if (errno == EMFILE || errno == ENFILE || errno == ENOBUFS || errno == ENOMEM) {
          accept_paused_until_ = SteadyClock::now() + std::chrono::milliseconds(100);
        }
        return;  // EAGAIN: nothing more; ECONNABORTED & co: the next readiness
      }
      if (conns_.size() >= max_connections_ && !derived().make_room()) continue;
      std::optional<Conn> c = derived().adopt(std::move(fd));
      if (!c) {
        dropped.fetch_add(1);
        continue;
      }
      conns_.push_back(std::move(*c));
      open.store(conns_.size());
    }
  }

  std::string who_;
  std::size_t max_connections_ = 1;
  UniqueFd listen_fd_;
  UniqueFd wake_read_, wake_write_;
  int port_ = 0;
  std::thread thread_;
  std::atomic<bool> stopping_{false};
  SteadyClock::time_point accept_paused_until_{};
};

}  // namespace acme::detail
