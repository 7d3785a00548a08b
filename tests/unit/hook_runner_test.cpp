#include "hooks/hook_runner.hpp"

#include <doctest/doctest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>

#include <sstream>

namespace {

struct CapturingLogger {
  std::ostringstream out;
  std::shared_ptr<spdlog::logger> log;
  CapturingLogger() {
    auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out);
    sink->set_pattern("%v");
    log = std::make_shared<spdlog::logger>("hook-test", sink);
  }
};

agent::HookContext ctx() {
  return {"example", {"example.com", "www.example.com"}, "/live/ex", "renewed"};
}

}  // namespace

TEST_CASE("hooks: a plain command runs without a shell") {
  CHECK_FALSE(agent::needs_shell("/usr/sbin/nginx -s reload"));
  CHECK(agent::needs_shell("nginx -t && nginx -s reload"));
  CHECK(agent::needs_shell("echo $ACMECTL_CERT_NAME"));
  CapturingLogger c;
  REQUIRE(agent::run_hook("/bin/echo plain   words", ctx(), std::chrono::seconds(5), *c.log));
  CHECK(c.out.str().find("output: plain words") != std::string::npos);
}

TEST_CASE("hooks: the environment carries the certificate, never the command line") {
  CapturingLogger c;
  REQUIRE(agent::run_hook(
      "echo \"$ACMECTL_CERT_NAME|$ACMECTL_DOMAINS|$ACMECTL_KEY_PATH|$ACMECTL_FULLCHAIN_PATH|"
      "$ACMECTL_CERT_PATH|$ACMECTL_CHAIN_PATH|$ACMECTL_EVENT\"",
      ctx(), std::chrono::seconds(5), *c.log));
  CHECK(c.out.str().find("output: example|example.com www.example.com|/live/ex/privkey.pem|"
                         "/live/ex/fullchain.pem|/live/ex/cert.pem|/live/ex/chain.pem|renewed") !=
        std::string::npos);
}

TEST_CASE("hooks: a failing hook is an error naming the command, status and its output") {
  CapturingLogger c;
  auto r =
      agent::run_hook("echo broken config >&2; exit 3", ctx(), std::chrono::seconds(5), *c.log);
  REQUIRE_FALSE(r);
  CHECK(r.error().message ==
        "hook \"echo broken config >&2; exit 3\" exited with status 3: broken config");
  auto missing = agent::run_hook("/nonexistent/hook", ctx(), std::chrono::seconds(5), *c.log);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message.find("exited with status 127") != std::string::npos);
}

TEST_CASE("hooks: a hook that outlives its timeout is stopped with its children") {
  CapturingLogger c;
  auto r = agent::run_hook("sleep 30 & sleep 30", ctx(), std::chrono::seconds(1), *c.log);
  REQUIRE_FALSE(r);
  CHECK(r.error().code == acme::Errc::kTimeout);
  CHECK(r.error().message == "hook \"sleep 30 & sleep 30\" timed out after 1s and was stopped");
}
