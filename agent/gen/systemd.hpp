#pragma once
// `acmectl gen systemd`: a hardened unit for the application acmectl fronts (the guide's
// Gin service: User, WorkingDirectory, ExecStart, Restart=always, GIN_MODE=release) and
// the agent's own units. Tests run `systemd-analyze verify` and `security` on them.

#include <string>
#include <utility>
#include <vector>

#include "acme/result.hpp"

namespace agent::gen {

struct AppUnitOptions {
  std::string name;                           // --name: unit name and description
  std::string exec;                           // --exec: absolute path, optionally with arguments
  std::string user;                           // --user: run as this user (default: DynamicUser=yes)
  std::string workdir;                        // --workdir (default: /var/lib/NAME, its state dir)
  std::vector<std::string> env;               // --env K=V (GIN_MODE=release unless given)
  std::vector<std::string> read_write_paths;  // --read-write-path DIR
  bool bind_low_port = false;                 // --bind-low-port: CAP_NET_BIND_SERVICE (port < 1024)
};

struct AgentUnitOptions {
  std::string acmectl = "/usr/bin/acmectl";
  std::string config = "/etc/acmectl/acmectl.toml";
  std::vector<std::string> read_write_paths;  // --read-write-path: webroot, output dirs
};

// A generated file: its name (e.g. "api.service") and text.
using UnitFile = std::pair<std::string, std::string>;

acme::Result<UnitFile> app_unit(const AppUnitOptions& options);
// acmectl-agent.service, acmectl-renew.service, acmectl-renew.timer (in that order).
acme::Result<std::vector<UnitFile>> agent_units(const AgentUnitOptions& options);

}  // namespace agent::gen
