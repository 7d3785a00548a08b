#include "cli/doctor_cmd.hpp"

#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <map>
#include <nlohmann/json.hpp>

#include "acme/host_port.hpp"
#include "cli/challenge_options.hpp"
#include "config/config.hpp"
#include "doctor/doctor.hpp"
#include "pipeline/names.hpp"

namespace agent::cli {

CLI::App* add_doctor_command(CLI::App& app, DoctorCmdOptions& o) {
  auto* cmd = app.add_subcommand(
      "doctor", "Check that an order would succeed: DNS, CAA, the challenge path, CA, files");
  cmd->add_option("-d,--domain", o.domains,
                  "Name to check (repeatable, or a,b; default: every recorded certificate)")
      ->delimiter(',');
  add_challenge_options(*cmd, o.challenge);
  cmd->add_option("--caa-identity", o.caa_identity,
                  "The CA's CAA issuer domain (default: the directory's meta.caaIdentities)");
  cmd->add_option("--http-port", o.http_port,
                  "Port http://NAME:PORT/ is fetched on for http-01 (default 80)")
      ->check(CLI::Range(1, 65535));
  cmd->add_option("--expect-ip", o.expect_ips,
                  "An address the names may resolve to besides this host's (repeatable)");
  o.cmd = cmd;
  return cmd;
}

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

DoctorTarget target_of(const CertificateRecord& c) {
  DoctorTarget t;
  t.name = c.name;
  t.domains = c.domains;
  t.challenge = challenge_settings_from_json(c.challenge_settings);
  t.challenge.challenge = c.challenge;
  if (t.challenge.http01_listen.empty()) t.challenge.http01_listen = c.http01_listen;
  if (t.challenge.webroot.empty()) t.challenge.webroot = c.webroot;
  t.server = c.server;
  t.ca_bundle = c.ca_bundle;
  t.out_dir = c.out_dir;
  t.deploy_hook = c.deploy_hook;
  return t;
}

void print_table(const std::vector<Finding>& findings) {
  size_t wc = 5, ws = 7, wst = 6;
  for (const auto& f : findings) {
    wc = std::max(wc, f.check.size());
    ws = std::max(ws, f.subject.size());
    wst = std::max(wst, to_string(f.severity).size());
  }
  ws = std::min<size_t>(ws, 60);
  auto pad = [](const std::string& s, size_t w) {
    return s.size() >= w ? s + "  " : s + std::string(w - s.size() + 2, ' ');
  };
  std::cout << pad("CHECK", wc) << pad("SUBJECT", ws) << pad("STATUS", wst) << "DETAIL\n";
  for (const auto& f : findings) {
    std::cout << pad(f.check, wc) << pad(f.subject, ws)
              << pad(std::string(to_string(f.severity)), wst) << f.message << "\n";
  }
}

}  // namespace

int run_doctor_cmd(const GlobalOptions& cmdline, const DoctorCmdOptions& o) {
  DoctorOptions d;
  d.config_path = config_path(cmdline.config);
  // A broken config is reported as a finding; the command line still says enough to go on.
  auto eff = with_config(cmdline);
  d.globals = eff ? *eff : cmdline;
  d.globals.state_dir = resolve_state_dir(d.globals.state_dir);
  if (auto a = agent_settings(cmdline.config)) {
    d.shared_listen = a->http01_listen;
    d.post_hook = a->post_hook;
  }
  for (const auto& r : o.challenge.dns_resolvers) {
    auto s = acme::parse_dns_server(r);
    if (!s) return usage_fail("--dns-resolver " + r + ": " + s.error().message);
    d.resolvers.push_back(*s);
  }
  for (const auto& ip : o.expect_ips) {
    if (!acme::is_ip_literal(ip)) return usage_fail("--expect-ip " + ip + ": not an IP address");
  }
  d.caa_identity = o.caa_identity;
  d.http_port = o.http_port;
  d.expect_ips = o.expect_ips;

  std::vector<CertificateRecord> records;
  // A config that does not load names no store (it may choose PostgreSQL): the config
  // check reports it, and the names given are checked without records.
  if (fleet_settings(d.globals.config) && store_exists(d.globals)) {
    auto store = open_existing_store(d.globals);
    if (!store) return fail(store.error());
    auto all = (*store)->list_certificates();
    if (!all) return fail(all.error());
    records = std::move(*all);
  }
  const bool settings_given =
      o.cmd != nullptr && (o.cmd->count("--challenge") + o.cmd->count("--http01-listen") +
                           o.cmd->count("--webroot") + o.cmd->count("--dns-provider")) > 0;
  // [[certificate]] entries the agent has not recorded yet count as recorded.
  if (!d.config_path.empty()) {
    if (auto cfg = load_config(d.config_path)) {
      for (const auto& cc : cfg->certificates) {
        const std::string name = normalize_cert_name(cc.name);
        const bool known = std::any_of(records.begin(), records.end(),
                                       [&](const CertificateRecord& r) { return r.name == name; });
        if (known) continue;
        CertificateRecord r;
        r.name = name;
        r.domains = cc.domains;
        r.challenge = cc.challenge.challenge;
        r.challenge_settings = to_json(cc.challenge);
        r.http01_listen = cc.challenge.http01_listen;
        r.webroot = cc.challenge.webroot;
        r.server = cc.server;
        r.deploy_hook = cc.deploy_hook;
        records.push_back(std::move(r));
      }
    }
  }
  if (o.domains.empty()) {
    for (const auto& c : records) {
      if (c.managed) d.targets.push_back(target_of(c));
    }
  } else {
    std::map<std::string, DoctorTarget> by_cert;  // recorded names, grouped per certificate
    DoctorTarget adhoc;
    adhoc.challenge = o.challenge;
    for (const auto& raw : o.domains) {
      const std::string name = lower(raw);
      auto it = std::find_if(records.begin(), records.end(), [&](const CertificateRecord& c) {
        return c.name == normalize_cert_name(name) ||
               std::find(c.domains.begin(), c.domains.end(), name) != c.domains.end();
      });
      if (it != records.end() && !settings_given) {
        auto [slot, fresh] = by_cert.try_emplace(it->name, target_of(*it));
        if (fresh) slot->second.domains.clear();
        const bool is_domain =
            std::find(it->domains.begin(), it->domains.end(), name) != it->domains.end();
        if (is_domain) {
          slot->second.domains.push_back(name);
        } else {
          slot->second.domains = it->domains;  // the certificate's name: all its domains
        }
      } else if (settings_given) {
        adhoc.domains.push_back(name);
      } else {
        std::fprintf(stderr,
                     "acmectl: error: %s is not a recorded certificate or name: give its "
                     "settings (--http01-listen, --webroot, or --challenge dns-01 with its "
                     "provider options)\n",
                     raw.c_str());
        return kExitFailure;
      }
    }
    for (auto& [_, t] : by_cert) d.targets.push_back(std::move(t));
    if (!adhoc.domains.empty()) {
      if (auto c = check_challenge_settings(adhoc.challenge); !c)
        return usage_fail(c.error().message);
      d.targets.push_back(std::move(adhoc));
    }
  }

  const auto findings = run_doctor(d);
  int errors = 0, warnings = 0;
  for (const auto& f : findings) {
    if (f.severity == Severity::kError) ++errors;
    if (f.severity == Severity::kWarning) ++warnings;
  }
  if (cmdline.json || ::isatty(STDOUT_FILENO) == 0) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& f : findings) {
      list.push_back({{"check", f.check},
                      {"subject", f.subject},
                      {"status", to_string(f.severity)},
                      {"message", f.message}});
    }
    std::cout << nlohmann::json{{"ok", errors == 0},
                                {"errors", errors},
                                {"warnings", warnings},
                                {"checks", list}}
                     .dump(2)
              << "\n";
  } else {
    print_table(findings);
    std::cout << "\n"
              << (errors == 0 ? "ready: " : "NOT ready: ") << errors << " error(s), " << warnings
              << " warning(s)\n";
  }
  if (errors > 0) {
    for (const auto& f : findings) {
      if (f.severity == Severity::kError) {
        std::fprintf(stderr, "acmectl: error: doctor: %s %s: %s\n", f.check.c_str(),
                     f.subject.c_str(), f.message.c_str());
        break;
      }
    }
    return kExitFailure;
  }
  return kExitOk;
}

}  // namespace agent::cli
