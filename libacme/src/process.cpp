// run_process: posix_spawn (vfork-like, safe in a threaded process) with the child's
// descriptors, process group and signals set up by the spawn attributes and file actions;
// glibc's closefrom action uses close_range(2) and falls back to walking /proc/self/fd.
#include "acme/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "acme/unique_fd.hpp"

extern char** environ;

namespace acme {
namespace {

using SteadyClock = std::chrono::steady_clock;

std::vector<char*> c_array(std::vector<std::string>& v) {
  std::vector<char*> out;
  out.reserve(v.size() + 1);
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

bool starts_with(std::string_view s, std::string_view prefix) {
  return s.substr(0, prefix.size()) == prefix;
}

// Owns posix_spawn's attribute and file-action objects.
struct SpawnSetup {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  SpawnSetup() {
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
  }
  ~SpawnSetup() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
  }
  SpawnSetup(const SpawnSetup&) = delete;
  SpawnSetup& operator=(const SpawnSetup&) = delete;
};

void set_status(ProcessResult& r, int status) {
  if (WIFEXITED(status)) {
    r.exited = true;
    r.exit_code = WEXITSTATUS(status);
  } else if (WIFSIGNALED(status)) {
    r.exited = false;
    r.signal = WTERMSIG(status);
  }
}

int wait_blocking(pid_t pid) {
  int status = 0;
  while (::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  return status;
}

// SIGTERM to the group, SIGKILL after the grace period; reaps the child.
int stop_group(pid_t pid, std::chrono::milliseconds grace) {
  ::kill(-pid, SIGTERM);
  const auto until = SteadyClock::now() + grace;
  int status = 0;
  while (SteadyClock::now() < until) {
    if (::waitpid(pid, &status, WNOHANG) == pid) {
      ::kill(-pid, SIGKILL);  // what it started goes too
      return status;
    }
    ::usleep(20'000);
  }
  ::kill(-pid, SIGKILL);
  return wait_blocking(pid);
}

Error spawn_error(const ProcessSpec& spec, const char* call, int err) {
  return make_error(Errc::kIo, "run " + spec.argv[0] + ": " + call + ": " + std::strerror(err));
}

}  // namespace

ProcessSpec ProcessSpec::shell(std::string command) {
  ProcessSpec s;
  s.argv = {"/bin/sh", "-c", std::move(command)};
  return s;
}

std::string format_duration(std::chrono::milliseconds d) {
  const auto ms = d.count();
  return ms % 1000 == 0 ? std::to_string(ms / 1000) + "s" : std::to_string(ms) + "ms";
}

std::string ProcessResult::describe(std::chrono::milliseconds timeout) const {
  if (timed_out) return "timed out after " + format_duration(timeout) + " and was stopped";
  if (exec_errno != 0) return std::string("could not be executed: ") + std::strerror(exec_errno);
  if (exited) return "exited with status " + std::to_string(exit_code);
  return "was killed by signal " + std::to_string(signal);
}

std::vector<std::string> child_environment(char* const* base, const ProcessSpec& spec) {
  std::vector<std::string> env;
  for (char* const* e = base; e != nullptr && *e != nullptr; ++e) {
    const std::string_view entry(*e);
    const std::string_view name = entry.substr(0, entry.find('='));
    bool drop = false;
    for (const auto& p : spec.drop_env_prefixes) drop = drop || starts_with(name, p);
    for (const auto& [k, v] : spec.env) drop = drop || name == k;
    if (!drop) env.emplace_back(entry);
  }
  for (const auto& [k, v] : spec.env) env.push_back(k + "=" + v);
  return env;
}

Result<ProcessResult> run_process(const ProcessSpec& spec) {
  if (spec.argv.empty() || spec.argv[0].empty()) {
    return make_error(Errc::kInvalidInput, "run: no program given");
  }
  for (const auto& a : spec.argv) {
    if (a.find('\0') != std::string::npos) {
      return make_error(Errc::kInvalidInput, "run " + spec.argv[0] + ": an argument holds a NUL");
    }
  }
  for (const auto& [k, v] : spec.env) {
    if (k.empty() || k.find_first_of(std::string_view("=\0", 2)) != std::string::npos ||
        v.find('\0') != std::string::npos) {
      return make_error(Errc::kInvalidInput,
                        "run " + spec.argv[0] + ": bad environment variable '" + k + "'");
    }
  }
  // Built before spawning: the child only runs the spawn actions, then execve.
  std::vector<std::string> argv = spec.argv;
  std::vector<std::string> env = child_environment(environ, spec);
  auto c_argv = c_array(argv);
  auto c_env = c_array(env);

  int p[2];
  if (::pipe2(p, O_CLOEXEC) != 0) return spawn_error(spec, "pipe", errno);
  UniqueFd out_r(p[0]);
  UniqueFd out_w(p[1]);

  // stdin: `input` already in a pipe whose write end is closed, or /dev/null.
  UniqueFd in_r;
  if (!spec.input.empty()) {
    if (spec.input.size() > ProcessSpec::kMaxInput) {
      return make_error(Errc::kInvalidInput, "run " + spec.argv[0] + ": input larger than " +
                                                 std::to_string(ProcessSpec::kMaxInput) + " bytes");
    }
    int q[2];
    if (::pipe2(q, O_CLOEXEC) != 0) return spawn_error(spec, "pipe", errno);
    in_r.reset(q[0]);
    UniqueFd in_w(q[1]);
    size_t off = 0;
    while (off < spec.input.size()) {
      const ssize_t n = ::write(in_w.get(), spec.input.data() + off, spec.input.size() - off);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return spawn_error(spec, "write input", errno);
      off += static_cast<size_t>(n);
    }
  }

  SpawnSetup s;
  int rc =
      in_r ? posix_spawn_file_actions_adddup2(&s.actions, in_r.get(), STDIN_FILENO)
           : posix_spawn_file_actions_addopen(&s.actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
  if (rc == 0 && spec.capture_stdout) {
    rc = posix_spawn_file_actions_adddup2(&s.actions, out_w.get(), STDOUT_FILENO);
  } else if (rc == 0) {
    rc = posix_spawn_file_actions_addopen(&s.actions, STDOUT_FILENO, "/dev/null", O_WRONLY, 0);
  }
  if (rc == 0) rc = posix_spawn_file_actions_adddup2(&s.actions, out_w.get(), STDERR_FILENO);
  // Issue 13 finding 6: the child sees 0, 1 and 2 only, close-on-exec or not.
  if (rc == 0) rc = posix_spawn_file_actions_addclosefrom_np(&s.actions, STDERR_FILENO + 1);
  sigset_t none;
  sigset_t all;
  sigemptyset(&none);
  sigfillset(&all);
  if (rc == 0) {
    rc = posix_spawnattr_setflags(
        &s.attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
  }
  if (rc == 0) rc = posix_spawnattr_setpgroup(&s.attr, 0);  // own group: a timeout stops it all
  if (rc == 0) rc = posix_spawnattr_setsigmask(&s.attr, &none);
  if (rc == 0) rc = posix_spawnattr_setsigdefault(&s.attr, &all);
  if (rc != 0) return spawn_error(spec, "posix_spawn setup", rc);

  ProcessResult result;
  const auto started = SteadyClock::now();
  pid_t pid = -1;
  rc = spec.argv[0].find('/') == std::string::npos
           ? posix_spawnp(&pid, c_argv[0], &s.actions, &s.attr, c_argv.data(), c_env.data())
           : posix_spawn(&pid, c_argv[0], &s.actions, &s.attr, c_argv.data(), c_env.data());
  if (rc == ENOEXEC && spec.argv[0].find('/') != std::string::npos) {
    // A script without "#!": run it with /bin/sh, as execvp(3) and the shell do.
    std::vector<std::string> sh_argv = {"/bin/sh"};
    sh_argv.insert(sh_argv.end(), argv.begin(), argv.end());
    auto c_sh_argv = c_array(sh_argv);
    rc = posix_spawn(&pid, c_sh_argv[0], &s.actions, &s.attr, c_sh_argv.data(), c_env.data());
  }
  out_w.reset();
  in_r.reset();
  if (rc != 0) {
    // glibc reports a failed execve here (ENOENT, EACCES, ENOEXEC...). Resource errors
    // (EAGAIN, ENOMEM) are the runner's failure, not the program's.
    if (rc == EAGAIN || rc == ENOMEM) return spawn_error(spec, "posix_spawn", rc);
    result.exited = true;
    result.exit_code = 127;
    result.exec_errno = rc;
    return result;
  }

  const auto deadline = started + spec.timeout;
  bool exited = false;
  int status = 0;
  // Read until EOF; once the program has exited, stop at the first quiet moment (a daemon
  // it started may hold the pipe open) and in any case at the deadline.
  for (;;) {
    const auto now = SteadyClock::now();
    if (now >= deadline) break;
    if (!exited) exited = ::waitpid(pid, &status, WNOHANG) == pid;
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - now);
    pollfd pfd{out_r.get(), POLLIN, 0};
    const int r =
        ::poll(&pfd, 1, exited ? 0 : static_cast<int>(std::min<int64_t>(left.count(), 50)));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) break;
    if (r == 0) {
      if (exited) break;
      continue;
    }
    char buf[4096];
    const ssize_t n = ::read(out_r.get(), buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;  // EOF: every writer is gone
    const auto take = std::min(static_cast<std::size_t>(n),
                               spec.max_output - std::min(spec.max_output, result.output.size()));
    result.output.append(buf, take);
    if (take < static_cast<std::size_t>(n)) result.output_truncated = true;
  }
  out_r.reset();
  // The output may end before the program does (it closed its stdout and stderr).
  while (!exited && SteadyClock::now() < deadline) {
    exited = ::waitpid(pid, &status, WNOHANG) == pid;
    if (!exited) ::usleep(10'000);
  }
  if (!exited) {
    result.timed_out = true;
    status = stop_group(pid, spec.kill_grace);
  }
  set_status(result, status);
  result.took = std::chrono::duration_cast<std::chrono::milliseconds>(SteadyClock::now() - started);
  return result;
}

}  // namespace acme
