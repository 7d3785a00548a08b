// `acmectl gen systemd` as text. systemd-analyze verify/security run on the output in
// tests/integration/gen_systemd.sh.
#include <doctest/doctest.h>

#include <string>

#include "gen/systemd.hpp"

using namespace agent::gen;

namespace {

bool has(const std::string& text, const std::string& needle) {
  return text.find(needle) != std::string::npos;
}

AppUnitOptions app() {
  AppUnitOptions o;
  o.name = "api";
  o.exec = "/usr/local/bin/api --port 8080";
  return o;
}

}  // namespace

TEST_CASE("systemd: the guide's app unit") {
  auto o = app();
  o.user = "www-api";
  o.workdir = "/opt/api";
  o.env = {"PORT=8080", "DSN=postgres://u@h/db?sslmode=disable&x=100%"};
  auto r = app_unit(o);
  REQUIRE(r);
  CHECK(r->first == "api.service");
  const std::string& u = r->second;
  CHECK(has(u, "\nUser=www-api\n"));
  CHECK_FALSE(has(u, "Group="));  // the user's primary group
  CHECK_FALSE(has(u, "DynamicUser"));
  CHECK(has(u, "\nWorkingDirectory=/opt/api\n"));
  CHECK(has(u, "\nExecStart=/usr/local/bin/api --port 8080\n"));
  CHECK(has(u, "\nRestart=always\n"));
  CHECK(has(u, "\nEnvironment=\"GIN_MODE=release\"\n"));
  CHECK(has(u, "\nEnvironment=\"PORT=8080\"\n"));
  // '%' is a systemd specifier: doubled.
  CHECK(has(u, "\nEnvironment=\"DSN=postgres://u@h/db?sslmode=disable&x=100%%\"\n"));
  CHECK(has(u, "\nNoNewPrivileges=yes\n"));
  CHECK(has(u, "\nProtectSystem=strict\n"));
  CHECK(has(u, "\nCapabilityBoundingSet=\n"));
  CHECK_FALSE(has(u, "AmbientCapabilities"));
  CHECK(has(u, "\nSystemCallErrorNumber=EPERM\n"));
  CHECK(has(u, "\n[Install]\nWantedBy=multi-user.target\n"));
}

TEST_CASE("systemd: defaults and options") {
  auto o = app();
  o.name = "api.service";
  o.env = {"GIN_MODE=debug"};
  o.read_write_paths = {"/srv/uploads"};
  o.bind_low_port = true;
  auto r = app_unit(o);
  REQUIRE(r);
  const std::string& u = r->second;
  CHECK(r->first == "api.service");
  CHECK(has(u, "\nDynamicUser=yes\n"));
  CHECK(has(u, "\nWorkingDirectory=/var/lib/api\n"));
  CHECK(has(u, "\nStateDirectory=api\n"));
  CHECK(has(u, "\nEnvironment=\"GIN_MODE=debug\"\n"));
  CHECK_FALSE(has(u, "GIN_MODE=release"));
  CHECK(has(u, "\nReadWritePaths=/srv/uploads\n"));
  CHECK(has(u, "\nCapabilityBoundingSet=CAP_NET_BIND_SERVICE\n"));
  CHECK(has(u, "\nAmbientCapabilities=CAP_NET_BIND_SERVICE\n"));
}

TEST_CASE("systemd: app unit refusals") {
  struct Case {
    const char* needle;
    void (*tweak)(AppUnitOptions&);
  };
  const Case cases[] = {
      {"--name", [](AppUnitOptions& o) { o.name = "my app"; }},
      {"--name", [](AppUnitOptions& o) { o.name = ""; }},
      {"--exec", [](AppUnitOptions& o) { o.exec = "api --port 1"; }},
      {"--exec", [](AppUnitOptions& o) { o.exec = "/bin/sh -c 'echo hi'"; }},
      {"--exec", [](AppUnitOptions& o) { o.exec = "/usr/bin/api $HOME"; }},
      {"--user", [](AppUnitOptions& o) { o.user = "Bad User"; }},
      {"must not run as root", [](AppUnitOptions& o) { o.user = "root"; }},
      {"--workdir", [](AppUnitOptions& o) { o.workdir = "srv"; }},
      {"--env 'NOEQUALS'", [](AppUnitOptions& o) { o.env = {"NOEQUALS"}; }},
      {"--env '1X=2'", [](AppUnitOptions& o) { o.env = {"1X=2"}; }},
      {"twice",
       [](AppUnitOptions& o) {
         o.env = {"A=1", "A=2"};
       }},
      {"control character", [](AppUnitOptions& o) { o.env = {"A=1\n[Service]"}; }},
      {"--read-write-path", [](AppUnitOptions& o) { o.read_write_paths = {"tmp"}; }},
  };
  for (const auto& c : cases) {
    auto o = app();
    c.tweak(o);
    auto r = app_unit(o);
    CAPTURE(c.needle);
    REQUIRE_FALSE(r);
    CAPTURE(r.error().message);
    CHECK(r.error().message.find(c.needle) != std::string::npos);
  }
}

TEST_CASE("systemd: the agent's units") {
  auto r = agent_units({});
  REQUIRE(r);
  REQUIRE(r->size() == 3);
  CHECK((*r)[0].first == "acmectl-agent.service");
  CHECK((*r)[1].first == "acmectl-renew.service");
  CHECK((*r)[2].first == "acmectl-renew.timer");
  CHECK(has((*r)[0].second, "\nType=notify\n"));
  CHECK(has((*r)[0].second,
            "\nExecStart=/usr/bin/acmectl agent --config /etc/acmectl/acmectl.toml\n"));
  CHECK(has((*r)[1].second, "\nType=oneshot\nExecStart=/usr/bin/acmectl renew\n"));
  CHECK(has((*r)[2].second, "\nUnit=acmectl-renew.service\n"));
  CHECK(has((*r)[0].second, "\nUser=acmectl\nGroup=acmectl\n"));  // the package's system user
  // /etc/acmectl as the package makes it (0750 root:acmectl): no mode warning at start.
  CHECK(has((*r)[0].second, "\nConfigurationDirectory=acmectl\nConfigurationDirectoryMode=0750\n"));
  CHECK(has((*r)[1].second, "\nUser=acmectl\nGroup=acmectl\n"));

  AgentUnitOptions o;
  o.acmectl = "/usr/local/bin/acmectl";
  o.config = "/etc/acmectl/site.toml";
  auto c = agent_units(o);
  REQUIRE(c);
  CHECK(has((*c)[0].second,
            "\nExecStart=/usr/local/bin/acmectl agent --config /etc/acmectl/site.toml\n"));
  CHECK(has((*c)[1].second, "\nExecStart=/usr/local/bin/acmectl renew\n"));
  o.read_write_paths = {"/var/www/acme"};
  c = agent_units(o);
  REQUIRE(c);
  CHECK(has((*c)[0].second, "\nReadWritePaths=/etc/acmectl\nReadWritePaths=/var/www/acme\n"));
  CHECK(has((*c)[1].second, "\nReadWritePaths=/etc/acmectl\nReadWritePaths=/var/www/acme\n"));
  o.read_write_paths = {"www"};
  CHECK_FALSE(agent_units(o));
  o.read_write_paths.clear();
  o.acmectl = "acmectl";
  CHECK_FALSE(agent_units(o));
}
