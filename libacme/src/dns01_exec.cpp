// The exec DnsProvider: runs the user's program as PROGRAM present|cleanup FQDN VALUE,
// without a shell (nothing is spliced into a command string), with a timeout, its stderr
// captured into the error. Contract in docs/dns-01.md.
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "acme/dns01.hpp"
#include "dns01_detail.hpp"

extern char** environ;

namespace acme {
namespace detail {

std::vector<std::string> exec_hook_argv(const std::string& program, std::string_view action,
                                        const std::string& fqdn, const std::string& value) {
  return {program, std::string(action), fqdn, value};
}

std::vector<std::string> exec_hook_env(char* const* base, std::string_view action,
                                       const std::string& fqdn, const std::string& value) {
  static constexpr std::string_view kPrefix = "ACMECTL_DNS01_";
  std::vector<std::string> env;
  for (char* const* e = base; e != nullptr && *e != nullptr; ++e) {
    if (std::string_view(*e).substr(0, kPrefix.size()) != kPrefix) env.emplace_back(*e);
  }
  env.push_back("ACMECTL_DNS01_ACTION=" + std::string(action));
  env.push_back("ACMECTL_DNS01_FQDN=" + fqdn);
  env.push_back("ACMECTL_DNS01_VALUE=" + value);
  return env;
}

std::string last_line(std::string_view output) {
  std::string_view best;
  while (!output.empty()) {
    const auto nl = output.find('\n');
    std::string_view line = output.substr(0, nl);
    output = nl == std::string_view::npos ? std::string_view() : output.substr(nl + 1);
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.back()))) {
      line.remove_suffix(1);
    }
    while (!line.empty() && std::isspace(static_cast<unsigned char>(line.front()))) {
      line.remove_prefix(1);
    }
    if (!line.empty()) best = line;
  }
  std::string out(best.substr(0, 300));
  for (char& c : out) {
    if (static_cast<unsigned char>(c) < 0x20) c = ' ';
  }
  return out;
}

}  // namespace detail

namespace {

std::vector<char*> c_array(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

void reap_after_kill(pid_t pid) {
  ::kill(-pid, SIGTERM);
  for (int i = 0; i < 20; ++i) {
    if (::waitpid(pid, nullptr, WNOHANG) == pid) return;
    ::usleep(100'000);
  }
  ::kill(-pid, SIGKILL);
  while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

class ExecProvider final : public DnsProvider {
 public:
  explicit ExecProvider(ExecOptions options) : options_(std::move(options)) {}
  std::string_view name() const noexcept override { return "exec"; }

  Result<void> add_txt(const std::string& fqdn, const std::string& value) override {
    return run("present", fqdn, value);
  }
  Result<void> remove_txt(const std::string& fqdn, const std::string& value) override {
    return run("cleanup", fqdn, value);
  }

 private:
  Result<void> run(std::string_view action, const std::string& fqdn, const std::string& value) {
    const std::string what =
        "dns exec hook " + options_.program + " " + std::string(action) + " " + fqdn + " " + value;
    // Everything the child needs is built before fork: only async-signal-safe calls after.
    auto argv = detail::exec_hook_argv(options_.program, action, fqdn, value);
    auto env = detail::exec_hook_env(environ, action, fqdn, value);
    auto c_argv = c_array(argv);
    auto c_env = c_array(env);
    int err_pipe[2];
    if (::pipe2(err_pipe, O_CLOEXEC) != 0) {
      return make_error(Errc::kIo, what + ": pipe: " + std::strerror(errno));
    }
    // A failed execve reports its errno here; a successful one closes it (O_CLOEXEC).
    int exec_pipe[2];
    if (::pipe2(exec_pipe, O_CLOEXEC) != 0) {
      const int e = errno;
      ::close(err_pipe[0]);
      ::close(err_pipe[1]);
      return make_error(Errc::kIo, what + ": pipe: " + std::strerror(e));
    }
    const int devnull = ::open("/dev/null", O_RDWR | O_CLOEXEC);
    const auto started = std::chrono::steady_clock::now();
    const pid_t pid = ::fork();
    if (pid < 0) {
      const int e = errno;
      for (int fd : {err_pipe[0], err_pipe[1], exec_pipe[0], exec_pipe[1], devnull}) {
        if (fd >= 0) ::close(fd);
      }
      return make_error(Errc::kIo, what + ": fork: " + std::strerror(e));
    }
    if (pid == 0) {
      ::setpgid(0, 0);  // its own group, so a timeout stops what it started too
      if (devnull >= 0) {
        ::dup2(devnull, STDIN_FILENO);
        ::dup2(devnull, STDOUT_FILENO);  // stdout is not part of the contract
      }
      ::dup2(err_pipe[1], STDERR_FILENO);
      ::execve(c_argv[0], c_argv.data(), c_env.data());
      const int e = errno;
      (void)!::write(exec_pipe[1], &e, sizeof e);
      ::_exit(127);
    }
    ::setpgid(pid, pid);
    ::close(err_pipe[1]);
    ::close(exec_pipe[1]);
    if (devnull >= 0) ::close(devnull);
    {
      // Returns at once: EOF when execve succeeded, its errno when it did not.
      int exec_errno = 0;
      ssize_t n;
      while ((n = ::read(exec_pipe[0], &exec_errno, sizeof exec_errno)) < 0 && errno == EINTR) {
      }
      ::close(exec_pipe[0]);
      if (n == static_cast<ssize_t>(sizeof exec_errno)) {
        ::close(err_pipe[0]);
        while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
        }
        return make_error(Errc::kIo, what + ": cannot execute " + options_.program + ": " +
                                         std::strerror(exec_errno));
      }
    }

    std::string output;
    const auto deadline = started + options_.timeout;
    bool timed_out = false;
    bool exited = false;
    int status = 0;
    // Read stderr until EOF; once the program itself has exited, stop at the first quiet
    // moment, so a daemon it started (holding stderr open) cannot keep us waiting.
    for (;;) {
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
          deadline - std::chrono::steady_clock::now());
      if (left.count() <= 0 && !exited) {
        timed_out = true;
        break;
      }
      pollfd p{err_pipe[0], POLLIN, 0};
      const int wait_ms = exited ? 0 : static_cast<int>(std::min<long long>(left.count(), 50));
      const int r = ::poll(&p, 1, wait_ms);
      if (r < 0 && errno == EINTR) continue;
      if (r < 0) break;
      if (r == 0) {
        if (exited) break;
        exited = ::waitpid(pid, &status, WNOHANG) == pid;
        continue;
      }
      char buf[4096];
      const ssize_t n = ::read(err_pipe[0], buf, sizeof buf);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) break;  // EOF
      if (output.size() < 65536) output.append(buf, static_cast<size_t>(n));
    }
    ::close(err_pipe[0]);
    if (timed_out) {
      reap_after_kill(pid);
      const auto ms = options_.timeout.count();
      return make_error(Errc::kTimeout, what + " timed out after " +
                                            (ms % 1000 == 0 ? std::to_string(ms / 1000) + "s"
                                                            : std::to_string(ms) + "ms") +
                                            " and was stopped");
    }
    if (!exited) {
      pid_t w;
      while ((w = ::waitpid(pid, &status, 0)) < 0 && errno == EINTR) {
      }
      if (w != pid) return make_error(Errc::kIo, what + ": waitpid: " + std::strerror(errno));
    }
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) return ok();
    std::string msg =
        what + (WIFEXITED(status) ? " exited with status " + std::to_string(WEXITSTATUS(status))
                                  : " was killed by signal " + std::to_string(WTERMSIG(status)));
    const std::string line = detail::last_line(output);
    if (!line.empty()) msg += ": " + line;
    return make_error(Errc::kIo, msg);
  }

  ExecOptions options_;
};

}  // namespace

std::unique_ptr<DnsProvider> make_exec_provider(ExecOptions options) {
  return std::make_unique<ExecProvider>(std::move(options));
}

}  // namespace acme
