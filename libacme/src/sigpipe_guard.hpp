#pragma once
// Private to libacme: OpenSSL writes to sockets with write(2), which raises SIGPIPE on a
// connection the peer has closed. Used by the HTTP client and the TLS probe.

#include <pthread.h>
#include <signal.h>

#include <cerrno>
#include <ctime>

namespace acme::detail {

// OpenSSL writes to the socket with write(2): on a connection the server has closed,
// that raises SIGPIPE, which kills a process that does not ignore it. SIGPIPE is
// blocked in this thread while a request runs and a SIGPIPE raised meanwhile is
// consumed (libcurl sends with MSG_NOSIGNAL to the same end).
class SigpipeGuard {
 public:
  SigpipeGuard() noexcept {
    sigemptyset(&pipe_);
    sigaddset(&pipe_, SIGPIPE);
    sigset_t pending;
    sigemptyset(&pending);
    was_pending_ = sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1;
    blocked_ = pthread_sigmask(SIG_BLOCK, &pipe_, &old_) == 0;
  }
  ~SigpipeGuard() {
    if (!blocked_) return;
    sigset_t pending;
    sigemptyset(&pending);
    if (!was_pending_ && sigpending(&pending) == 0 && sigismember(&pending, SIGPIPE) == 1) {
      const timespec zero{};
      while (sigtimedwait(&pipe_, nullptr, &zero) == -1 && errno == EINTR) {
      }
    }
    pthread_sigmask(SIG_SETMASK, &old_, nullptr);
  }
  SigpipeGuard(const SigpipeGuard&) = delete;
  SigpipeGuard& operator=(const SigpipeGuard&) = delete;

 private:
  sigset_t pipe_{};
  sigset_t old_{};
  bool was_pending_ = false;
  bool blocked_ = false;
};

}  // namespace acme::detail
