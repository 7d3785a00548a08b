#include "cli/fleet_cmds.hpp"

#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <map>
#include <set>

#include "acme/certificate.hpp"
#include "acme/key.hpp"
#include "base/time.hpp"
#include "cli/common.hpp"
#include "config/config.hpp"
#include "deploy/files.hpp"
#include "fleet/fleet_store.hpp"
#include "store/postgres_store.hpp"
#include "store/store.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;
using cli::fail;
using cli::kExitFailure;
using cli::kExitOk;
using cli::usage_fail;

bool add_fleet_to_list(const GlobalOptions& g, nlohmann::json* json_out) {
  auto settings = fleet_settings(g.config);
  if (!settings) {
    fail(settings.error());
    return false;
  }
  if (!settings->enabled()) return true;
  auto fs = FleetStore::open(*settings);
  if (!fs) {
    fail(fs.error());
    return false;
  }
  auto leases = (*fs)->leases();
  auto installs = (*fs)->installs();
  auto latest = (*fs)->latest_versions();
  if (!leases || !installs || !latest) {
    fail(!leases ? leases.error() : !installs ? installs.error() : latest.error());
    return false;
  }
  std::map<std::string, FleetLease> lease_of;
  for (const auto& l : *leases) lease_of[l.cert_name] = l;
  std::map<std::string, std::vector<FleetInstall>> installs_of;
  for (const auto& i : *installs) installs_of[i.cert_name].push_back(i);
  std::map<std::string, int64_t> latest_of(latest->begin(), latest->end());
  std::set<std::string> names;
  for (const auto& [n, _] : latest_of) names.insert(n);
  for (const auto& [n, _] : lease_of) names.insert(n);

  if (json_out != nullptr) {
    for (auto& entry : *json_out) {
      const std::string name = entry.value("name", "");
      nlohmann::json f = {{"latest_version", latest_of.count(name) ? latest_of[name] : 0},
                          {"lease_holder", nullptr},
                          {"lease_expires", nullptr},
                          {"installs", nlohmann::json::array()}};
      if (auto it = lease_of.find(name); it != lease_of.end() && it->second.live) {
        f["lease_holder"] = it->second.holder;
        f["lease_expires"] = rfc3339(it->second.expires_at);
      }
      for (const auto& i : installs_of[name]) {
        f["installs"].push_back({{"host", i.host},
                                 {"version", i.version},
                                 {"serial", i.serial},
                                 {"installed_at", rfc3339(i.installed_at)}});
      }
      entry["fleet"] = std::move(f);
    }
    return true;
  }
  std::printf("\nFLEET %s (this host: %s%s)\n", redact_url(settings->url).c_str(),
              (*fs)->settings().agent_id.c_str(),
              (*fs)->kek_mismatch().empty() ? "" : ", WRONG KEK");
  std::printf("%-28s %7s %-24s %s\n", "NAME", "VERSION", "LEASE", "INSTALLED (HOST=vVERSION@TIME)");
  for (const auto& name : names) {
    std::string lease = "-";
    if (auto it = lease_of.find(name); it != lease_of.end() && it->second.live) {
      lease = it->second.holder + " until " + rfc3339(it->second.expires_at).substr(11);
    }
    std::string inst;
    for (const auto& i : installs_of[name]) {
      inst += (inst.empty() ? "" : " ") + i.host + "=v" + std::to_string(i.version) + "@" +
              rfc3339(i.installed_at);
    }
    std::printf("%-28s %7lld %-24s %s\n", name.c_str(),
                static_cast<long long>(latest_of.count(name) ? latest_of[name] : 0), lease.c_str(),
                inst.empty() ? "-" : inst.c_str());
  }
  return true;
}

StoreCommands add_store_command(CLI::App& app, StoreMigrateOptions& o) {
  StoreCommands c;
  c.store = app.add_subcommand("store", "Manage the state store (fleet: docs/fleet.md)");
  c.store->require_subcommand(1);
  c.migrate = c.store->add_subcommand(
      "migrate", "Copy a single host's certificates, keys and account into a fleet store");
  c.migrate->add_option("--from", o.from, "sqlite:PATH of the acmectl.db to copy from")->required();
  c.migrate->add_option("--to", o.to,
                        "postgresql://USER@HOST:PORT/DB (default: [store] url of the config)");
  c.migrate->add_option("--kek-file", o.kek_file,
                        "Key-encryption key file (default: [store] kek_file)");
  c.migrate->add_option("--password-file", o.password_file,
                        "Database password file (default: [store] password_file, else PGPASSFILE)");
  c.migrate->add_option("--agent-id", o.agent_id,
                        "This host's name in the fleet (default: [store] agent_id, else hostname)");
  return c;
}

namespace {

struct MigrateCounts {
  int copied = 0;
  int present = 0;
  int skipped = 0;
  int accounts = 0;
};

acme::Result<MigrateCounts> migrate(Store& local, FleetStore& fs) {
  MigrateCounts n;
  ACME_ASSIGN(auto certs, local.list_certificates());
  std::set<std::string> servers;
  for (const auto& c : certs) {
    if (!c.server.empty()) servers.insert(c.server);
    if (c.serial.empty() || c.out_dir.empty()) {
      ++n.skipped;
      continue;
    }
    FleetVersion v;
    ACME_ASSIGN(v.cert_pem, read_file(c.out_dir + "/cert.pem"));
    ACME_ASSIGN(v.chain_pem, read_file(c.out_dir + "/chain.pem"));
    ACME_ASSIGN(v.fullchain_pem, read_file(c.out_dir + "/fullchain.pem"));
    ACME_ASSIGN(v.key_pem, read_file(c.out_dir + "/privkey.pem"));
    ACME_ASSIGN(auto info, acme::inspect_certificate(v.cert_pem));
    ACME_ASSIGN(auto key, acme::PrivateKey::from_pem(v.key_pem));
    if (!acme::key_matches_certificate(key, v.cert_pem)) {
      return make_error(Errc::kInvalidInput,
                        c.out_dir + "/privkey.pem does not match cert.pem: nothing more copied");
    }
    v.serial = info.serial_hex;
    v.not_before = to_unix(info.not_before);
    v.not_after = to_unix(info.not_after);
    ACME_ASSIGN(auto latest, fs.latest(c.name));
    if (latest && (latest->serial == v.serial || latest->not_after >= v.not_after)) {
      ++n.present;
      continue;
    }
    ACME_ASSIGN(auto lease, fs.try_lease(c.name));
    if (!lease) {
      return make_error(Errc::kIo, "another agent holds the lease on " + c.name +
                                       ": run the migration again in a moment");
    }
    auto version = fs.publish(c.name, *lease, v);
    (void)fs.release_lease(c.name, *lease);
    if (!version) return std::move(version).error();
    ACME_CHECK(fs.record_install(c.name, *version, v.serial));
    ++n.copied;
  }
  for (const auto& url : servers) {
    ACME_ASSIGN(auto rec, local.find_account(url));
    if (!rec || rec->account_url.empty()) continue;
    ACME_CHECK(fs.lock_account(url));
    auto shared = fs.find_account(url);
    acme::Result<void> r = acme::ok();
    if (shared && !*shared) {
      auto pem = read_file(rec->key_path);
      r = pem ? fs.put_account(url, {*pem, rec->account_url, rec->contact})
              : acme::Result<void>(pem.error());
      if (r) ++n.accounts;
    } else if (!shared) {
      r = shared.error();
    }
    fs.unlock_account(url);
    ACME_CHECK(r);
  }
  return n;
}

}  // namespace

int run_store_migrate(const GlobalOptions& g, const StoreMigrateOptions& o) {
  std::string path = o.from;
  if (path.rfind("sqlite:", 0) == 0) path = path.substr(7);
  if (path.empty()) return usage_fail("--from must be sqlite:PATH");
  if (::access(path.c_str(), R_OK) != 0) {
    return fail(make_error(Errc::kInvalidInput, "--from " + o.from + ": no readable database"));
  }
  auto cfg = fleet_settings(g.config);
  if (!cfg) return fail(cfg.error());
  FleetSettings s = *cfg;
  if (!o.to.empty()) s.url = o.to;
  if (!o.kek_file.empty()) s.kek_file = o.kek_file;
  if (!o.password_file.empty()) s.password_file = o.password_file;
  if (!o.agent_id.empty()) s.agent_id = o.agent_id;
  if (s.url.empty()) return usage_fail("--to postgresql://… is required (or [store] url)");
  if (redact_url(s.url) != s.url) {
    return usage_fail("--to must not contain a password: use --password-file or PGPASSFILE");
  }
  auto local = Store::open(path);
  if (!local) return fail(local.error());
  auto fs = FleetStore::open(s);
  if (!fs) return fail(fs.error());
  if (!(*fs)->kek_mismatch().empty()) {
    return fail(make_error(Errc::kCrypto, (*fs)->kek_mismatch()));
  }
  auto n = migrate(**local, **fs);
  if (!n) return fail(n.error());
  // This host's own records (schedule, failures, history, counters, orders, CA health)
  // move into the database too: with [store] url the agent keeps them there.
  auto host_store = PostgresStore::open(s);
  if (!host_store) return fail(host_store.error());
  auto& pg_store = static_cast<PostgresStore&>(**host_store);
  auto h = import_host_records(**local, pg_store);
  if (!h) return fail(h.error());
  if (g.json) {
    std::cout << nlohmann::json{{"copied", n->copied},
                                {"already_present", n->present},
                                {"not_issued", n->skipped},
                                {"accounts", n->accounts},
                                {"host", pg_store.host()},
                                {"host_records",
                                 {{"certificates", h->certificates},
                                  {"already_present", h->present},
                                  {"accounts", h->accounts},
                                  {"orders", h->orders},
                                  {"ca_health", h->ca_health}}}}
                     .dump()
              << "\n";
  } else {
    std::printf(
        "copied %d certificate(s) into %s (%d already there, %d never issued), %d account(s)\n",
        n->copied, redact_url(s.url).c_str(), n->present, n->skipped, n->accounts);
    std::printf(
        "host %s: %d certificate record(s) with their history (%d already there), %d "
        "account record(s), %d order(s), %d CA health record(s)\n",
        pg_store.host().c_str(), h->certificates, h->present, h->accounts, h->orders, h->ca_health);
  }
  return kExitOk;
}

}  // namespace agent
