#include "cli/gen_cmd.hpp"

#include <sys/stat.h>

#include <cstdio>
#include <iostream>

#include "acme/process.hpp"
#include "config/config.hpp"
#include "deploy/files.hpp"

namespace agent::cli {

namespace {

struct Generator {
  const char* name;
  const char* summary;
};

constexpr Generator kGenerators[] = {
    {"nginx", "TLS reverse proxy site: ACME path, HTTPS redirect, HSTS, upstreams, routes"},
    {"systemd", "hardened unit for your application (or --agent: acmectl's own units)"},
    {"dockerfile", "multi-stage Go build with a small non-root final image"},
    {"compose", "docker-compose: app, nginx, the acmectl agent, optional postgres"},
    {"ci", "GitHub Actions workflow: test, build and push the image, deploy"},
    {"alerts", "Prometheus alerting rules for acmectl's metrics"},
};

void add_out(CLI::App* cmd, GenOptions& o) {
  cmd->add_option("--out", o.out, "Write to FILE (atomically) instead of stdout");
  cmd->add_option("--config", o.config,
                  std::string("Take options from the [gen.") + cmd->get_name() +
                      "] table of this TOML config (the command line wins)");
}

void add_nginx(GenCommands& c, GenOptions& o) {
  auto& n = o.nginx;
  auto* cmd = c.nginx = c.gen->add_subcommand("nginx", kGenerators[0].summary);
  cmd->add_option("-d,--domain", n.domains,
                  "Server name (repeatable); the first names the "
                  "certificate directory");
  cmd->add_option("--upstream", n.upstreams,
                  "Backend HOST:PORT[,weight=N,max_fails=N,fail_timeout=T] (repeatable)");
  cmd->add_option("--balance", n.balance, "least_conn, round_robin (default) or ip_hash")
      ->check(CLI::IsMember({"least_conn", "round_robin", "ip_hash"}));
  cmd->add_option("--keepalive", n.keepalive, "Idle upstream connections kept (32; 0: none)")
      ->check(CLI::Range(0, 10000));
  cmd->add_option("--route", n.routes,
                  "PATH=HOST:PORT[,params]: send PATH to its own upstream (repeat for more "
                  "servers)");
  auto* proxy = cmd->add_option(
      "--acme-proxy", n.acme_proxy,
      std::string("The agent's HTTP-01 responder (default ") + gen::kDefaultAcmeProxy + ")");
  cmd->add_option("--webroot", n.webroot, "Serve ACME challenges from DIR instead")
      ->excludes(proxy);
  cmd->add_option("--cert-dir", n.cert_dir,
                  "Directory with fullchain.pem and privkey.pem (default STATE/live/NAME)");
  cmd->add_option("--state-dir", n.state_dir, "acmectl's state directory (/var/lib/acmectl)");
  cmd->add_option("--listen-http", n.listen_http, "[ADDR:]PORT for HTTP (80)");
  cmd->add_option("--listen-https", n.listen_https, "[ADDR:]PORT for HTTPS (443)");
  cmd->add_option("--nginx-version", o.nginx_version,
                  "nginx version the site is for (default: `nginx -v` when installed); >= "
                  "1.25.1 gets `http2 on;`");
  cmd->add_flag("--no-ipv6", o.no_ipv6,
                "Do not add [::]:PORT next to a port-only listen (hosts without IPv6)");
  auto* max_age = cmd->add_option("--hsts-max-age", n.hsts_max_age,
                                  "Strict-Transport-Security max-age in seconds (31536000)")
                      ->check(CLI::Range(0LL, 2LL * 31536000LL));
  auto* no_hsts = cmd->add_flag("--no-hsts", o.no_hsts, "Send no HSTS header")->excludes(max_age);
  cmd->add_flag("--hsts-include-subdomains", n.hsts_include_subdomains, "HSTS includeSubDomains")
      ->excludes(no_hsts);
  cmd->add_flag("--hsts-preload", n.hsts_preload,
                "HSTS preload (needs includeSubDomains and "
                "max-age >= 31536000)")
      ->excludes(no_hsts);
  cmd->add_option("--static-path", n.static_path, "URL prefix of static assets (/static/)");
  cmd->add_option("--static-root", n.static_root, "Directory the static assets are in");
  cmd->add_option("--static-expires", n.static_expires, "Cache lifetime of static assets (30d)");
  cmd->add_option("--cors-origin", n.cors_origins,
                  "Allow cross-origin requests from ORIGIN (repeatable; '*' for any)");
  cmd->add_flag("--cors-credentials", n.cors_credentials,
                "Allow credentials (cookies) on cross-origin requests (never with '*')");
  cmd->add_option("--client-max-body-size", n.client_max_body_size, "Request body limit (10m)");
  add_out(cmd, o);
}

void add_systemd(GenCommands& c, GenOptions& o) {
  auto& a = o.app_unit;
  auto* cmd = c.systemd = c.gen->add_subcommand("systemd", kGenerators[1].summary);
  auto* agent = cmd->add_flag("--agent", o.systemd_agent,
                              "acmectl's own units (agent service, renew service and timer)");
  auto* name = cmd->add_option("--name", a.name, "Unit name of the application (api)");
  auto* exec = cmd->add_option("--exec", a.exec, "Absolute path of the program, with arguments");
  name->excludes(agent);
  exec->excludes(agent);
  cmd->add_option("--user", a.user, "Run as this user (default: a dynamic user)")->excludes(agent);
  cmd->add_option("--workdir", a.workdir, "Working directory (default /var/lib/NAME)")
      ->excludes(agent);
  cmd->add_option("--env", a.env, "Environment K=V (repeatable; GIN_MODE=release by default)")
      ->excludes(agent);
  cmd->add_option("--read-write-path", a.read_write_paths,
                  "A directory the program (or with --agent: acmectl, e.g. a --webroot) may "
                  "write besides its state (repeatable)");
  cmd->add_flag("--bind-low-port", a.bind_low_port, "Allow binding ports below 1024")
      ->excludes(agent);
  cmd->add_option("--acmectl", o.agent_units.acmectl, "Path of acmectl (/usr/bin/acmectl)")
      ->needs(agent);
  cmd->add_option("--agent-config", o.agent_units.config,
                  "The agent's config file (/etc/acmectl/acmectl.toml)")
      ->needs(agent);
  cmd->add_option("--unit", o.systemd_unit,
                  "Print only this one of the agent's units (acmectl-agent.service)")
      ->needs(agent)
      ->check(
          CLI::IsMember({"acmectl-agent.service", "acmectl-renew.service", "acmectl-renew.timer"}));
  cmd->add_option("--out-dir", o.out_dir, "Write every unit into DIR instead of printing");
  add_out(cmd, o);
}

void add_dockerfile(GenCommands& c, GenOptions& o) {
  auto& d = o.dockerfile;
  auto* cmd = c.dockerfile = c.gen->add_subcommand("dockerfile", kGenerators[2].summary);
  cmd->add_option("--binary", d.binary, "Name of the Go binary (api)");
  cmd->add_option("--main", d.main_package, "Go package to build (.)");
  cmd->add_option("--go-version", d.go_version,
                  "Go toolchain version X.Y.Z (default: go.mod's toolchain or go line, else "
                  "1.23.4)");
  cmd->add_option("--go-mod", o.go_mod, "The module's go.mod (./go.mod)");
  cmd->add_option("--port", d.port, "Port the service listens on (8080)")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--healthcheck", d.healthcheck_path,
                  "HTTP path for a HEALTHCHECK (none by default)");
  add_out(cmd, o);
}

void add_compose(GenCommands& c, GenOptions& o) {
  auto& d = o.compose;
  auto* cmd = c.compose = c.gen->add_subcommand("compose", kGenerators[3].summary);
  cmd->add_option("-d,--domain", d.domains, "Server name (repeatable)");
  cmd->add_option("--image", d.image, "The application's image, pinned: NAME:TAG (app:local)");
  cmd->add_option("--port", d.app_port, "Port the application listens on (8080)")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--healthcheck", d.healthcheck_path,
                  "The application's health path: adds a healthcheck (none by default)");
  cmd->add_flag("--postgres", d.postgres, "Add a PostgreSQL service for the application");
  cmd->add_option("--acmectl-image", d.acmectl_image,
                  "Image of acmectl, pinned (acmectl:" ACMECTL_VERSION ")");
  add_out(cmd, o);
}

void add_ci(GenCommands& c, GenOptions& o) {
  auto& d = o.ci;
  auto* cmd = c.ci = c.gen->add_subcommand("ci", kGenerators[4].summary);
  cmd->add_option("--image", d.image, "Image to push (default ghcr.io/OWNER/REPO)");
  cmd->add_option("--branch", d.branch, "Branch whose pushes are deployed (main)");
  cmd->add_flag("--no-deploy", o.no_deploy, "Leave out the deploy job");
  cmd->add_option("--deploy-dir", d.deploy_dir,
                  "Directory of the compose project on the server (/srv/app)");
  add_out(cmd, o);
}

// [gen.NAME] settings become results of the subcommand's options that the command line
// did not set, then run through the same checks and callbacks as typed flags.
acme::Result<void> apply_config(CLI::App* cmd, const std::vector<GenSetting>& settings) {
  using acme::Errc;
  for (const auto& s : settings) {
    std::string flag = "--";
    for (char ch : s.key) flag += ch == '_' ? '-' : ch;
    CLI::Option* opt = nullptr;
    try {
      opt = cmd->get_option(flag);
    } catch (const CLI::OptionNotFound&) {
    }
    if (opt == nullptr || flag == "--out" || flag == "--config" || flag == "--help") {
      return acme::make_error(Errc::kInvalidInput, s.where + ": unknown key '" + s.key +
                                                       "' in [gen." + cmd->get_name() + "]");
    }
    if (opt->count() > 0) continue;  // the command line wins
    try {
      for (const auto& v : s.values) opt->add_result(v);
      opt->run_callback();
    } catch (const CLI::Error& e) {
      return acme::make_error(Errc::kInvalidInput, s.where + ": " + s.key + ": " + e.what());
    }
  }
  return acme::ok();
}

int write_text(const std::string& path, const std::string& text) {
  if (path.empty()) {
    std::cout << text;
    std::cout.flush();
    return std::cout ? kExitOk : kExitFailure;
  }
  if (auto r = atomic_write(path, text, 0644); !r) {
    std::fprintf(stderr, "acmectl: error: %s\n", r.error().to_string().c_str());
    return kExitFailure;
  }
  return kExitOk;
}

int run_systemd(GenOptions& o) {
  std::vector<gen::UnitFile> units;
  if (o.systemd_agent) {
    o.agent_units.read_write_paths = o.app_unit.read_write_paths;  // one flag for both
    auto r = gen::agent_units(o.agent_units);
    if (!r) return usage_fail(r.error().message);
    units = std::move(*r);
    if (o.out_dir.empty()) {
      const std::string want =
          o.systemd_unit.empty() ? std::string("acmectl-agent.service") : o.systemd_unit;
      std::erase_if(units, [&](const gen::UnitFile& u) { return u.first != want; });
    }
  } else {
    if (o.app_unit.name.empty() || o.app_unit.exec.empty()) {
      return usage_fail("gen systemd: give --name APP --exec PATH (or --agent)");
    }
    auto r = gen::app_unit(o.app_unit);
    if (!r) return usage_fail(r.error().message);
    units.push_back(std::move(*r));
  }
  if (o.out_dir.empty()) return write_text(o.out, units.front().second);
  struct stat st {};
  if (::stat(o.out_dir.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return usage_fail("--out-dir '" + o.out_dir + "': not a directory");
  }
  for (const auto& [file, text] : units) {
    if (int rc = write_text(o.out_dir + "/" + file, text); rc != kExitOk) return rc;
  }
  return kExitOk;
}

}  // namespace

GenCommands add_gen_command(CLI::App& app, GenOptions& o) {
  GenCommands c;
  c.gen = app.add_subcommand("gen", "Generate configuration for the rest of a deployment");
  c.gen->require_subcommand(0, 1);
  add_nginx(c, o);
  add_systemd(c, o);
  add_dockerfile(c, o);
  add_compose(c, o);
  add_ci(c, o);
  c.alerts = c.gen->add_subcommand("alerts", kGenerators[5].summary);
  c.alerts->add_option("--job", o.alerts.job, "Prometheus job name of the agent (acmectl)");
  c.alerts
      ->add_option("--warning-days", o.alerts.warning_days,
                   "Warn below a fifth of the lifetime, at most this many days (14)")
      ->check(CLI::Range(1, 365));
  c.alerts
      ->add_option("--critical-days", o.alerts.critical_days,
                   "Critical below a twentieth of the lifetime, at most this many days (3)")
      ->check(CLI::Range(1, 365));
  add_out(c.alerts, o);
  return c;
}

int run_gen(const GenCommands& cmds, GenOptions& o, const std::string& global_config) {
  CLI::App* sub = nullptr;
  for (CLI::App* c :
       {cmds.nginx, cmds.systemd, cmds.dockerfile, cmds.compose, cmds.ci, cmds.alerts}) {
    if (c->parsed()) sub = c;
  }
  if (sub == nullptr) {
    std::printf("acmectl gen GENERATOR [options]: print a config (or write --out FILE)\n\n");
    for (const auto& g : kGenerators) std::printf("  %-11s %s\n", g.name, g.summary);
    std::printf("\nacmectl gen GENERATOR --help lists a generator's options.\n");
    return kExitOk;
  }

  const std::string config = o.config.empty() ? global_config : o.config;
  if (!config.empty()) {
    auto cfg = load_config(config);
    if (!cfg) return usage_fail(cfg.error().message);
    if (auto it = cfg->gen.find(sub->get_name()); it != cfg->gen.end()) {
      if (auto r = apply_config(sub, it->second); !r) return usage_fail(r.error().message);
    }
  }
  // Required options may come from the config: the generators check them.
  o.nginx.hsts = !o.no_hsts;
  o.nginx.ipv6 = !o.no_ipv6;
  o.ci.deploy = !o.no_deploy;

  if (sub == cmds.systemd) return run_systemd(o);
  if (sub == cmds.nginx) {
    std::string version = o.nginx_version;
    if (version.empty()) {
      // The installed nginx decides, when there is one (`nginx -v` prints on stderr).
      acme::ProcessSpec spec;
      spec.argv = {"nginx", "-v"};
      spec.timeout = std::chrono::seconds(5);
      if (auto r = acme::run_process(spec); r && r->success()) version = r->output;
    }
    if (!version.empty()) {
      auto has = gen::nginx_has_http2_directive(version);
      if (!has) return usage_fail(has.error().message);
      o.nginx.http2_directive = *has;
    }
  }
  if (sub == cmds.dockerfile && sub->get_option("--go-version")->count() == 0) {
    const std::string mod = o.go_mod.empty() ? "go.mod" : o.go_mod;
    auto text = read_file(mod);
    if (!text && !o.go_mod.empty()) return usage_fail("--go-mod " + mod + ": cannot be read");
    if (text) {
      auto v = gen::go_version_from_mod(*text);
      if (!v) return usage_fail(mod + ": no valid go or toolchain line (or pass --go-version)");
      o.dockerfile.go_version = *v;
    }
  }
  acme::Result<std::string> text = std::string();
  if (sub == cmds.nginx) text = gen::nginx_site(o.nginx);
  if (sub == cmds.dockerfile) text = gen::dockerfile(o.dockerfile);
  if (sub == cmds.compose) text = gen::compose_file(o.compose);
  if (sub == cmds.ci) text = gen::ci_workflow(o.ci);
  if (sub == cmds.alerts) text = gen::alert_rules(o.alerts);
  if (!text) return usage_fail(text.error().message);
  return write_text(o.out, *text);
}

}  // namespace agent::cli
