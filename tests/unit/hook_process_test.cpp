// The hook runner on acme::run_process: extra environment, descriptors, escaped output
// (issue 10's one process runner; issue 13 findings 6 and 7).
#include <doctest/doctest.h>
#include <fcntl.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <sys/socket.h>

#include <sstream>

#include "acme/unique_fd.hpp"
#include "hooks/hook_runner.hpp"

namespace {

struct Capture {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> log;
  Capture() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    sink->set_pattern("%v");
    log = std::make_shared<spdlog::logger>("hook-process-test", sink);
  }
};

agent::HookContext post_ctx() {
  agent::HookContext c;
  c.cert_name = "";
  c.domains = {"a.test", "b.test"};
  c.event = "post";
  c.extra_env = {{"ACMECTL_RENEWED_NAMES", "a b"}, {"ACMECTL_FAILED_NAMES", "c"}};
  return c;
}

}  // namespace

TEST_CASE("hooks: extra_env reaches the hook as it is and wins over the defaults") {
  Capture c;
  auto ctx = post_ctx();
  ctx.extra_env.emplace_back("ACMECTL_EVENT", "overridden");
  REQUIRE(agent::run_hook(
      "echo "
      "\"[$ACMECTL_RENEWED_NAMES][$ACMECTL_FAILED_NAMES][$ACMECTL_EVENT][$ACMECTL_CERT_NAMES]\"",
      ctx, std::chrono::seconds(5), *c.log));
  CHECK(c.out.str().find("output: [a b][c][overridden][a.test b.test]") != std::string::npos);
}

TEST_CASE("hooks: a stale ACMECTL_* in our environment never reaches a hook") {
  REQUIRE(::setenv("ACMECTL_FAILED_NAMES", "stale", 1) == 0);
  Capture c;
  agent::HookContext ctx{"n", {"n.test"}, "/live/n", "renewed"};
  auto r = agent::run_hook("echo \"[${ACMECTL_FAILED_NAMES-unset}]\"", ctx, std::chrono::seconds(5),
                           *c.log);
  ::unsetenv("ACMECTL_FAILED_NAMES");
  REQUIRE(r);
  CHECK(c.out.str().find("output: [unset]") != std::string::npos);
}

TEST_CASE("hooks: a hook sees only descriptors 0, 1 and 2 (issue 13 finding 6)") {
  // Non-close-on-exec descriptors like the ones curl opens for its connections.
  acme::UniqueFd plain(::open("/dev/null", O_RDONLY));
  int sv[2];
  REQUIRE(::socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
  acme::UniqueFd s0(sv[0]), s1(sv[1]);
  Capture c;
  agent::HookContext ctx{"n", {"n.test"}, "/live/n", "renewed"};
  // ls opens the directory itself: 3 is its own descriptor.
  REQUIRE(agent::run_hook("/bin/ls /proc/self/fd", ctx, std::chrono::seconds(5), *c.log));
  std::istringstream lines(c.out.str());
  std::string seen;
  for (std::string line; std::getline(lines, line);) {
    if (line.rfind("hook cert=n output: ", 0) == 0) seen += line.substr(20) + " ";
  }
  CHECK(seen == "0 1 2 3 ");
}

TEST_CASE("hooks: terminal escapes in a hook's output are logged escaped (issue 13 finding 7)") {
  Capture c;
  agent::HookContext ctx{"n", {"n.test"}, "/live/n", "renewed"};
  REQUIRE(
      agent::run_hook("printf 'ok \\033[31mred\\033[0m\\n'", ctx, std::chrono::seconds(5), *c.log));
  CHECK(c.out.str().find("output: ok \\x1b[31mred\\x1b[0m") != std::string::npos);
  CHECK(c.out.str().find('\x1b') == std::string::npos);

  auto r = agent::run_hook("printf '\\033]0;owned\\007bad\\n' >&2; exit 4", ctx,
                           std::chrono::seconds(5), *c.log);
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "hook \"printf '\\033]0;owned\\007bad\\n' >&2; exit 4\" exited with status 4: "
        "\\x1b]0;owned\\x07bad");
  CHECK(r.error().message.find('\x1b') == std::string::npos);
}

TEST_CASE("hooks: a program that cannot be executed says why, status 127 as a shell would") {
  Capture c;
  agent::HookContext ctx{"n", {"n.test"}, "/live/n", "renewed"};
  auto r = agent::run_hook("/nonexistent/hook arg", ctx, std::chrono::seconds(5), *c.log);
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "hook \"/nonexistent/hook arg\" exited with status 127: cannot execute "
        "/nonexistent/hook: No such file or directory");
}
