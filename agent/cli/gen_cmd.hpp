#pragma once
// `acmectl gen …`: configuration generators for the rest of a deployment. Each generator
// is a pure function in gen/; this file maps flags (and [gen.NAME] tables of the TOML
// config, the command line winning) onto their options and writes the result.

#include <CLI/CLI.hpp>

#include "cli/common.hpp"
#include "gen/alerts.hpp"
#include "gen/ci.hpp"
#include "gen/compose.hpp"
#include "gen/dockerfile.hpp"
#include "gen/nginx.hpp"
#include "gen/systemd.hpp"

namespace agent::cli {

struct GenOptions {
  gen::AlertOptions alerts;
  gen::NginxOptions nginx;
  gen::AppUnitOptions app_unit;
  gen::AgentUnitOptions agent_units;
  bool systemd_agent = false;  // gen systemd --agent
  std::string systemd_unit;    // gen systemd --agent --unit NAME: which one to print
  gen::DockerfileOptions dockerfile;
  gen::ComposeOptions compose;
  gen::CiOptions ci;
  bool no_hsts = false;       // gen nginx --no-hsts
  bool no_ipv6 = false;       // gen nginx --no-ipv6
  bool no_deploy = false;     // gen ci --no-deploy
  std::string config;         // --config FILE: [gen.NAME] tables supply options
  std::string out;            // --out FILE: write atomically instead of printing
  std::string out_dir;        // gen systemd --out-dir DIR: write every unit there
  std::string nginx_version;  // gen nginx --nginx-version V ("": `nginx -v` when installed)
  std::string go_mod;         // gen dockerfile --go-mod FILE ("": ./go.mod when present)
};

struct GenCommands {
  CLI::App* gen = nullptr;
  CLI::App* alerts = nullptr;
  CLI::App* nginx = nullptr;
  CLI::App* systemd = nullptr;
  CLI::App* dockerfile = nullptr;
  CLI::App* compose = nullptr;
  CLI::App* ci = nullptr;
};

GenCommands add_gen_command(CLI::App& app, GenOptions& o);
// `global_config`: --config / ACMECTL_CONFIG given to acmectl itself (the generator's own
// --config wins). Returns the exit code; usage errors (bad values) exit 2.
int run_gen(const GenCommands& cmds, GenOptions& o, const std::string& global_config);

}  // namespace agent::cli
