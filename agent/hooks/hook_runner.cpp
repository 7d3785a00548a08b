#include "hooks/hook_runner.hpp"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <sstream>

extern char** environ;

namespace agent {

using acme::Errc;
using acme::make_error;

bool needs_shell(const std::string& command) {
  return command.find_first_of("|&;<>()$`\\\"'*?[]#~=%{}\n") != std::string::npos;
}

namespace {

std::vector<std::string> split_words(const std::string& command) {
  std::istringstream in(command);
  std::vector<std::string> words;
  for (std::string w; in >> w;) words.push_back(w);
  return words;
}

std::vector<std::string> hook_environment(const HookContext& ctx) {
  std::vector<std::string> env;
  for (char** e = environ; e && *e; ++e) {
    if (std::strncmp(*e, "ACMECTL_", 8) != 0) env.emplace_back(*e);
  }
  std::string domains;
  for (const auto& d : ctx.domains) domains += (domains.empty() ? "" : " ") + d;
  env.push_back("ACMECTL_CERT_NAME=" + ctx.cert_name);
  env.push_back("ACMECTL_DOMAINS=" + domains);
  if (ctx.dir.empty()) {
    // The post hook: no one certificate, so no paths (they used to be "/cert.pem" etc.);
    // ACMECTL_DOMAINS keeps holding the installed certificates' names, as before.
    env.push_back("ACMECTL_CERT_NAMES=" + domains);
  } else {
    env.push_back("ACMECTL_CERT_DIR=" + ctx.dir);
    env.push_back("ACMECTL_CERT_PATH=" + ctx.dir + "/cert.pem");
    env.push_back("ACMECTL_CHAIN_PATH=" + ctx.dir + "/chain.pem");
    env.push_back("ACMECTL_FULLCHAIN_PATH=" + ctx.dir + "/fullchain.pem");
    env.push_back("ACMECTL_KEY_PATH=" + ctx.dir + "/privkey.pem");
  }
  env.push_back("ACMECTL_EVENT=" + ctx.event);
  return env;
}

std::vector<char*> c_array(std::vector<std::string>& v) {
  std::vector<char*> out;
  for (auto& s : v) out.push_back(s.data());
  out.push_back(nullptr);
  return out;
}

}  // namespace

acme::Result<void> run_hook(const std::string& command, const HookContext& ctx,
                            std::chrono::seconds timeout, spdlog::logger& log) {
  std::vector<std::string> argv = needs_shell(command)
                                      ? std::vector<std::string>{"/bin/sh", "-c", command}
                                      : split_words(command);
  if (argv.empty()) return make_error(Errc::kInvalidInput, "hook command is empty");
  std::vector<std::string> env = hook_environment(ctx);
  auto c_argv = c_array(argv);
  auto c_env = c_array(env);

  int out[2];
  if (::pipe2(out, O_CLOEXEC) != 0) {
    return make_error(Errc::kIo, std::string("hook: pipe: ") + std::strerror(errno));
  }
  const auto started = std::chrono::steady_clock::now();
  const pid_t pid = ::fork();
  if (pid < 0) {
    const int err = errno;
    ::close(out[0]);
    ::close(out[1]);
    return make_error(Errc::kIo, std::string("hook: fork: ") + std::strerror(err));
  }
  if (pid == 0) {
    // Child: only async-signal-safe calls until exec.
    ::setpgid(0, 0);
    ::dup2(out[1], STDOUT_FILENO);
    ::dup2(out[1], STDERR_FILENO);
    const int devnull = ::open("/dev/null", O_RDONLY);
    if (devnull >= 0) ::dup2(devnull, STDIN_FILENO);
    ::execvpe(c_argv[0], c_argv.data(), c_env.data());
    const char msg[] = "acmectl: cannot execute hook\n";
    (void)!::write(STDERR_FILENO, msg, sizeof msg - 1);
    ::_exit(127);
  }
  ::setpgid(pid, pid);
  ::close(out[1]);
  std::string output;
  bool timed_out = false;
  bool exited = false;
  int status = 0;
  const auto deadline = started + timeout;
  // Read until EOF; once the hook itself has exited, stop at the first quiet moment so a
  // daemon it started (holding the pipe open) cannot keep us waiting.
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0 && !exited) {
      timed_out = true;
      break;
    }
    pollfd p{out[0], POLLIN, 0};
    const int r = ::poll(&p, 1, exited ? 0 : static_cast<int>(std::min<long long>(left.count(), 50)));
    if (r < 0 && errno == EINTR) continue;
    if (r == 0) {
      if (exited) break;
      exited = ::waitpid(pid, &status, WNOHANG) == pid;
      continue;
    }
    if (r < 0) break;
    char buf[4096];
    const ssize_t n = ::read(out[0], buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    if (output.size() < 65536) output.append(buf, static_cast<size_t>(n));
  }
  ::close(out[0]);
  if (timed_out) {
    ::kill(-pid, SIGTERM);
    bool reaped = false;
    for (int i = 0; i < 20 && !reaped; ++i) {
      reaped = ::waitpid(pid, nullptr, WNOHANG) == pid;
      if (!reaped) ::usleep(100'000);
    }
    if (!reaped) {
      ::kill(-pid, SIGKILL);
      while (::waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
      }
    }
    return make_error(Errc::kTimeout, "hook \"" + command + "\" timed out after " +
                                          std::to_string(timeout.count()) + "s and was stopped");
  }
  {
    while (!exited && ::waitpid(pid, &status, 0) < 0 && errno == EINTR) {
    }
    std::string last_line;
    {
      std::istringstream in(output);
      for (std::string line; std::getline(in, line);) {
        if (!line.empty()) {
          log.info("hook cert={} output: {}", ctx.cert_name, line);
          last_line = line;
        }
      }
    }
    const auto took = std::chrono::duration_cast<std::chrono::milliseconds>(
        std::chrono::steady_clock::now() - started);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0) {
      log.info("hook cert={} command=\"{}\" exit=0 took_ms={}", ctx.cert_name, command,
               took.count());
      return acme::ok();
    }
    std::string why = WIFEXITED(status) ? "exited with status " + std::to_string(WEXITSTATUS(status))
                      : WIFSIGNALED(status) ? "killed by signal " + std::to_string(WTERMSIG(status))
                                            : "failed";
    std::string msg = "hook \"" + command + "\" " + why;
    if (!last_line.empty()) msg += ": " + last_line;
    log.warn("{}", msg);
    return make_error(Errc::kIo, msg);
  }
}

}  // namespace agent
