// doctor: the checks in the order an order would meet them, run for every target.
#include "doctor/doctor.hpp"

#include <unistd.h>

#include <chrono>
#include <ctime>
#include <filesystem>
#include <map>
#include <set>

#include "acme/host_port.hpp"
#include "config/config.hpp"
#include "deploy/permissions.hpp"
#include "doctor/checks.hpp"
#include "session/session.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

std::string_view to_string(Severity s) noexcept {
  switch (s) {
    case Severity::kOk: return "ok";
    case Severity::kWarning: return "warning";
    case Severity::kError: return "error";
    case Severity::kSkipped: return "skipped";
  }
  return "?";
}

namespace {

std::optional<std::time_t> parse_http_date(const std::string& text) {
  std::tm tm{};
  const char* end = ::strptime(text.c_str(), "%a, %d %b %Y %H:%M:%S GMT", &tm);
  if (end == nullptr || *end != '\0') return std::nullopt;
  const std::time_t t = ::timegm(&tm);
  if (t == static_cast<std::time_t>(-1)) return std::nullopt;
  return t;
}

}  // namespace

Finding clock_finding(const std::string& url, const std::optional<std::string>& date,
                      std::time_t now) {
  Finding clock{"clock", url, Severity::kOk, ""};
  const auto t = date ? parse_http_date(*date) : std::nullopt;
  if (!t) {
    clock.severity = Severity::kWarning;
    clock.message = "the CA sent no usable Date header";
    return clock;
  }
  const long long skew = static_cast<long long>(now) - *t;
  const long long abs_skew = skew < 0 ? -skew : skew;
  if (abs_skew > 60) {
    clock.severity = Severity::kError;
    clock.message = "the local clock is " + std::to_string(abs_skew) + " s " +
                    (skew > 0 ? "ahead of" : "behind") + " the CA's (Date: " + *date +
                    "): fix the time (NTP) first";
  } else {
    clock.message =
        "the local clock agrees with the CA's Date within " + std::to_string(abs_skew) + " s";
  }
  return clock;
}

namespace doctor_detail {

Finding check_dns01(const DoctorOptions& options, const DoctorTarget& target) {
  std::string names;
  for (const auto& d : target.domains) names += (names.empty() ? "" : ", ") + d;
  Finding f{"dns-01", names, Severity::kOk, ""};
  ChallengeSettings s = target.challenge;
  apply_challenge_env(s);
  if (s.dns_resolvers.empty()) {
    for (const auto& r : options.resolvers) s.dns_resolvers.push_back(r.to_string());
  }
  if (auto c = check_challenge_settings(s); !c) {
    f.severity = Severity::kError;
    f.message = c.error().message;
    return f;
  }
  auto solver = make_solver(s);
  if (!solver) {
    f.severity = Severity::kError;
    f.message = solver.error().message;
    return f;
  }
  // One test value per record name (a wildcard and its apex share one).
  std::vector<acme::ChallengeContext> placed;
  std::set<std::string> seen;
  acme::Result<void> result = acme::ok();
  for (const auto& d : target.domains) {
    if (!seen.insert(acme::dns01_record_name(d)).second) continue;
    acme::ChallengeContext ctx;
    ctx.identifier = {"dns", d};
    ctx.challenge_type = "dns-01";
    ctx.token = random_token();
    ctx.key_authorization = ctx.token + ".acmectl-doctor";
    placed.push_back(ctx);
    result = solver->solver->present(ctx);
    if (!result) break;
  }
  if (result) result = solver->solver->wait_ready();
  for (const auto& ctx : placed) solver->solver->cleanup(ctx);
  if (!result) {
    f.severity = Severity::kError;
    f.message = "test TXT record through " + s.dns_provider + ": " + result.error().message;
    return f;
  }
  std::string records;
  for (const auto& r : seen) records += (records.empty() ? "" : ", ") + r;
  f.message =
      "test TXT at " + records + " added through " + s.dns_provider + ", seen by " +
      (s.dns_resolvers.empty() ? std::string("the authoritative servers") : "the resolver(s)") +
      ", removed";
  return f;
}

}  // namespace doctor_detail

namespace {

using namespace doctor_detail;

// (e) The directory loads, and the CA's clock (its Date header) agrees with ours.
std::vector<std::string> check_directory(const GlobalOptions& g, const std::string& url,
                                         std::vector<Finding>& out) {
  Finding dir{"directory", url, Severity::kOk, ""};
  auto s = connect(g, url);
  if (!s) {
    dir.severity = Severity::kError;
    dir.message = s.error().message;
    out.push_back(dir);
    return {};
  }
  const auto& d = s->client->directory();
  std::vector<std::string> ids = d.caa_identities;
  dir.message = "directory loaded (newOrder " + d.new_order + ")";
  if (!ids.empty()) {
    std::string joined;
    for (const auto& i : ids) joined += (joined.empty() ? "" : ", ") + i;
    dir.message += "; caaIdentities " + joined;
  }
  out.push_back(dir);

  auto r = s->http->send({"GET", url, {}, ""});
  if (!r) {
    out.push_back({"clock", url, Severity::kWarning, r.error().message});
  } else {
    out.push_back(clock_finding(url, r->header("date"), std::time(nullptr)));
  }
  return ids;
}

Finding permission_finding(const std::string& path, const acme::Result<void>& r) {
  Finding f{"permissions", path, Severity::kOk, "safe"};
  if (!r) {
    f.severity = Severity::kError;
    f.message = r.error().message;
  }
  return f;
}

// (f) The files acmectl trusts, checked as the commands that use them check them.
void check_permissions(const DoctorOptions& o, std::vector<Finding>& out) {
  const std::string& state = o.globals.state_dir;
  if (::access(state.c_str(), F_OK) != 0) {
    out.push_back({"permissions", state, Severity::kWarning,
                   "the state dir does not exist yet (the first issue creates it, 0700)"});
  } else {
    out.push_back(permission_finding(state, check_not_writable_by_others(state, "state dir")));
    const std::string db = state + "/acmectl.db";
    if (::access(db.c_str(), F_OK) == 0) {
      out.push_back(permission_finding(db, check_not_writable_by_others(db, "database")));
    }
    std::error_code ec;
    for (const auto& e : std::filesystem::directory_iterator(state + "/accounts", ec)) {
      const std::string key = e.path().string() + "/account.key";
      if (::access(key.c_str(), F_OK) == 0) {
        out.push_back(permission_finding(key, check_private_file(key, "account key")));
      }
    }
  }
  std::set<std::string> hooks_seen;
  for (const auto& t : o.targets) {
    if (!t.out_dir.empty()) {
      const std::string key = t.out_dir + "/privkey.pem";
      if (::access(key.c_str(), F_OK) == 0) {
        out.push_back(permission_finding(key, check_private_file(key, "private key")));
      }
    }
    if (!t.deploy_hook.empty() && hooks_seen.insert(t.deploy_hook).second) {
      out.push_back(
          permission_finding(t.deploy_hook, check_hook_command(t.deploy_hook, "deploy hook")));
    }
  }
  if (!o.post_hook.empty()) {
    out.push_back(permission_finding(o.post_hook, check_hook_command(o.post_hook, "post hook")));
  }
}

}  // namespace

std::vector<Finding> run_doctor(const DoctorOptions& o,
                                std::shared_ptr<acme::DnsResolver> resolver) {
  if (!resolver) resolver = acme::make_cares_resolver();
  std::vector<Finding> out;
  // (g) The config.
  if (o.config_path.empty()) {
    out.push_back({"config", "-", Severity::kOk, "no config file: command line and defaults"});
  } else if (auto c = load_config(o.config_path); !c) {
    out.push_back({"config", o.config_path, Severity::kError, c.error().message});
  } else {
    out.push_back({"config", o.config_path, Severity::kOk,
                   "valid (" + std::to_string(c->certificates.size()) + " certificate(s))"});
  }
  check_permissions(o, out);

  // (e) Each CA once.
  std::map<std::string, std::vector<std::string>> identities;  // by directory URL
  std::map<std::string, std::string> server_of;                // target name -> URL
  for (const auto& t : o.targets) {
    GlobalOptions g = o.globals;
    if (!t.server.empty()) g.server = t.server;
    if (!t.ca_bundle.empty()) g.ca_bundle = t.ca_bundle;
    auto url = resolve_server(g.server);
    if (!url) {
      out.push_back({"directory", g.server, Severity::kError, url.error().message});
      continue;
    }
    if (!identities.count(*url)) identities[*url] = check_directory(g, *url, out);
    server_of[t.name + "\n" + (t.domains.empty() ? "" : t.domains.front())] = *url;
  }
  if (o.targets.empty()) {
    auto url = resolve_server(o.globals.server);
    if (url) {
      check_directory(o.globals, *url, out);
    } else {
      out.push_back({"directory", o.globals.server, Severity::kError, url.error().message});
    }
  }

  for (const auto& t : o.targets) {
    const auto it = server_of.find(t.name + "\n" + (t.domains.empty() ? "" : t.domains.front()));
    std::vector<std::string> ids;
    if (!o.caa_identity.empty()) {
      ids.push_back(o.caa_identity);
    } else if (it != server_of.end()) {
      ids = identities[it->second];
    }
    const bool http = t.challenge.challenge == "http-01";
    for (const auto& d : t.domains) {
      if (http && acme::is_ip_literal(d)) {
        // RFC 8738: the CA connects to the address itself; no DNS, no CAA to ask.
        out.push_back(check_http01(o, t, d, {d}));
      } else if (http) {
        std::vector<std::string> addresses;
        out.push_back(check_resolve(*resolver, o, d, addresses));
        out.push_back(check_caa(*resolver, o, d, ids));
        out.push_back(check_http01(o, t, d, addresses));
      } else {
        out.push_back(check_caa(*resolver, o, d, ids));
      }
    }
    if (t.challenge.challenge == "dns-01") {
      out.push_back(check_dns01(o, t));
    } else if (!http) {
      out.push_back({t.challenge.challenge, t.name, Severity::kSkipped,
                     "doctor checks http-01 and dns-01 only"});
    }
  }
  return out;
}

}  // namespace agent
