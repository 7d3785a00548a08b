// acme::run_process: the one process runner of hooks and the dns-01 exec provider.
#include "acme/process.hpp"

#include <doctest/doctest.h>
#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdlib>
#include <fstream>
#include <sstream>
#include <string>

#include "acme/unique_fd.hpp"

namespace {

using std::chrono::milliseconds;
using Clock = std::chrono::steady_clock;

acme::ProcessResult run(const acme::ProcessSpec& spec) {
  auto r = acme::run_process(spec);
  REQUIRE(r);
  return *r;
}

acme::ProcessResult sh(const std::string& command, milliseconds timeout = milliseconds(10000)) {
  auto spec = acme::ProcessSpec::shell(command);
  spec.timeout = timeout;
  return run(spec);
}

// A process that is gone or a zombie (nobody may reap it inside a container).
bool gone(pid_t pid) {
  std::ifstream stat("/proc/" + std::to_string(pid) + "/stat");
  if (!stat) return true;
  std::string line;
  std::getline(stat, line);
  const auto close = line.rfind(')');
  return close != std::string::npos && line.substr(close + 2, 1) == "Z";
}

}  // namespace

TEST_CASE("process: argv runs without a shell, output and status come back") {
  auto r = run({.argv = {"/bin/echo", "a", "b c", "$HOME;"}});
  CHECK(r.success());
  CHECK(r.exited);
  CHECK(r.exit_code == 0);
  CHECK(r.output == "a b c $HOME;\n");

  auto path = run({.argv = {"true"}});  // a bare name is looked up in PATH
  CHECK(path.success());

  auto s = sh("echo out; echo err >&2; exit 3");
  CHECK_FALSE(s.success());
  CHECK(s.exited);
  CHECK(s.exit_code == 3);
  CHECK(s.output == "out\nerr\n");
  CHECK(s.describe(milliseconds(1000)) == "exited with status 3");
}

TEST_CASE("process: stdout can go to /dev/null while stderr is captured") {
  auto spec = acme::ProcessSpec::shell("echo out; echo err >&2");
  spec.capture_stdout = false;
  CHECK(run(spec).output == "err\n");
}

TEST_CASE("process: the environment is ours minus dropped prefixes, plus additions") {
  REQUIRE(::setenv("ACMECTL_TEST_STALE", "old", 1) == 0);
  REQUIRE(::setenv("ACMECTL_TEST_OVERRIDE", "old", 1) == 0);
  auto spec = acme::ProcessSpec::shell(
      "echo \"$ADDED|${ACMECTL_TEST_STALE-unset}|$ACMECTL_TEST_OVERRIDE|${HOME:+home}\"");
  spec.drop_env_prefixes = {"ACMECTL_TEST_S"};
  spec.env = {{"ADDED", "a b;$(c)"}, {"ACMECTL_TEST_OVERRIDE", "new"}};
  auto r = run(spec);
  ::unsetenv("ACMECTL_TEST_STALE");
  ::unsetenv("ACMECTL_TEST_OVERRIDE");
  CHECK(r.output ==
        std::string("a b;$(c)|unset|new|") + (std::getenv("HOME") ? "home" : "") + "\n");

  auto bad = acme::ProcessSpec::shell("true");
  bad.env = {{"A=B", "x"}};
  auto e = acme::run_process(bad);
  REQUIRE_FALSE(e);
  CHECK(e.error().code == acme::Errc::kInvalidInput);
}

TEST_CASE("process: a program that cannot be executed is a result, status 127") {
  auto r = run({.argv = {"/nonexistent/program"}});
  CHECK_FALSE(r.success());
  CHECK(r.exec_errno == ENOENT);
  CHECK(r.exit_code == 127);
  CHECK(r.describe(milliseconds(1)) == "could not be executed: No such file or directory");
}

TEST_CASE("process: a script without #! runs under /bin/sh, as execvp(3) would run it") {
  char path[] = "/tmp/acmectl-process-script-XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  const std::string body = "echo \"no shebang: $1\"\n";
  REQUIRE(::write(fd, body.data(), body.size()) == static_cast<ssize_t>(body.size()));
  ::fchmod(fd, 0700);
  ::close(fd);
  auto r = run({.argv = {path, "arg"}});
  ::unlink(path);
  CHECK(r.success());
  CHECK(r.output == "no shebang: arg\n");
}

TEST_CASE("process: a timeout stops the whole process group") {
  char dir[] = "/tmp/acmectl-process-XXXXXX";
  REQUIRE(::mkdtemp(dir) != nullptr);
  const std::string pidfile = std::string(dir) + "/pid";
  const auto t0 = Clock::now();
  auto r = sh("sleep 30 & echo $! > " + pidfile + "; sleep 30", milliseconds(300));
  const auto took = Clock::now() - t0;
  CHECK(r.timed_out);
  CHECK_FALSE(r.success());
  CHECK(r.signal == SIGTERM);
  CHECK(r.describe(milliseconds(300)) == "timed out after 300ms and was stopped");
  CHECK(took < milliseconds(3000));
  pid_t background = 0;
  std::ifstream(pidfile) >> background;
  REQUIRE(background > 0);
  bool stopped = false;
  for (int i = 0; i < 100 && !stopped; ++i) {
    stopped = gone(background);
    if (!stopped) ::usleep(20'000);
  }
  CHECK(stopped);
  ::unlink(pidfile.c_str());
  ::rmdir(dir);
}

TEST_CASE("process: a signal is reported") {
  auto r = sh("kill -9 $$");
  CHECK_FALSE(r.exited);
  CHECK(r.signal == SIGKILL);
  CHECK(r.describe(milliseconds(1)) == "was killed by signal 9");
}

TEST_CASE("process: output is bounded and the child never blocks on it") {
  auto spec = acme::ProcessSpec::shell("head -c 300000 /dev/zero; echo done >&2");
  spec.max_output = 1000;
  auto r = run(spec);
  CHECK(r.success());
  CHECK(r.output.size() == 1000);
  CHECK(r.output_truncated);
}

TEST_CASE("process: a daemon holding the output pipe does not keep the caller waiting") {
  const auto t0 = Clock::now();
  auto r = sh("sleep 3 & echo started");
  CHECK(r.success());
  CHECK(r.output == "started\n");
  CHECK(Clock::now() - t0 < milliseconds(2000));
}

TEST_CASE("process: the child sees only descriptors 0, 1 and 2 (issue 13 finding 6)") {
  // Descriptors without close-on-exec, as a library (curl, c-ares) might leave them.
  acme::UniqueFd plain(::open("/dev/null", O_RDONLY));
  REQUIRE(plain.valid());
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  acme::UniqueFd s0(sv[0]), s1(sv[1]);
  acme::UniqueFd high(::fcntl(plain.get(), F_DUPFD, 200));
  REQUIRE(high.valid());
  // ls opens /proc/self/fd itself: that is the one descriptor past 2, the lowest free (3).
  auto r = run({.argv = {"/bin/ls", "/proc/self/fd"}});
  CHECK(r.success());
  CHECK(r.output == "0\n1\n2\n3\n");
}

TEST_CASE("process: the child gets an empty signal mask and default dispositions") {
  sigset_t term, old_mask;
  sigemptyset(&term);
  sigaddset(&term, SIGTERM);
  REQUIRE(::pthread_sigmask(SIG_BLOCK, &term, &old_mask) == 0);
  struct sigaction ignore {
  }, old_pipe{};
  ignore.sa_handler = SIG_IGN;
  REQUIRE(::sigaction(SIGPIPE, &ignore, &old_pipe) == 0);

  auto status = run({.argv = {"/bin/grep", "-E", "^Sig(Blk|Ign)", "/proc/self/status"}});
  // A hook that blocks SIGTERM would only die of SIGKILL after the grace period.
  auto spec = acme::ProcessSpec::shell("exec sleep 30");
  spec.timeout = milliseconds(200);
  spec.kill_grace = milliseconds(5000);
  const auto t0 = Clock::now();
  auto stopped = run(spec);
  const auto took = Clock::now() - t0;

  ::sigaction(SIGPIPE, &old_pipe, nullptr);
  ::pthread_sigmask(SIG_SETMASK, &old_mask, nullptr);
  // Signals 1-31 (bits 0-30); glibc's own real-time signals (32, 33) are its business.
  const auto low_bits = [&](const std::string& key) {
    const auto at = status.output.find(key + ":\t");
    REQUIRE(at != std::string::npos);
    return std::stoull(status.output.substr(at + key.size() + 2, 16), nullptr, 16) & 0x7fffffffULL;
  };
  CHECK(low_bits("SigBlk") == 0);
  CHECK(low_bits("SigIgn") == 0);
  CHECK(stopped.timed_out);
  CHECK(stopped.signal == SIGTERM);
  CHECK(took < milliseconds(2000));
}

TEST_CASE("process: input goes to stdin, then end of file; none means /dev/null") {
  auto spec = acme::ProcessSpec::shell("cat; echo end");
  spec.input = "{\"event\":\"failure\"}\n";
  CHECK(run(spec).output == "{\"event\":\"failure\"}\nend\n");
  // A program that never reads its input neither blocks nor fails.
  auto ignore = acme::ProcessSpec::shell("exit 0");
  ignore.input = std::string(acme::ProcessSpec::kMaxInput, 'x');
  CHECK(run(ignore).success());
  CHECK(sh("cat; echo end").output == "end\n");
  auto big = acme::ProcessSpec::shell("cat");
  big.input = std::string(acme::ProcessSpec::kMaxInput + 1, 'x');
  auto r = acme::run_process(big);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("input larger than") != std::string::npos);
}
