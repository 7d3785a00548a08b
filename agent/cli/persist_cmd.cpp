#include "cli/persist_cmd.hpp"

#include <iostream>
#include <nlohmann/json.hpp>

#include "acme/dns_persist.hpp"
#include "acme/issuer.hpp"
#include "cli/common.hpp"
#include "session/account.hpp"

namespace agent::cli {

using acme::Errc;
using acme::make_error;

CLI::App* add_persist_record_command(CLI::App& app, PersistRecordOptions& o) {
  auto* cmd = app.add_subcommand(
      "persist-record",
      "Print the dns-persist-01 TXT record to publish once per name (experimental)");
  cmd->add_option("-d,--domain", o.domains, "Name the record is for (repeatable, or a,b)")
      ->required()
      ->take_all()
      ->delimiter(',');
  cmd->add_option("--policy", o.policy, "wildcard: the record also covers subdomains and *.NAME");
  cmd->add_option("--persist-until", o.persist_until,
                  "CAs stop accepting the record after this (unix seconds or YYYY-MM-DD)");
  return cmd;
}

int run_persist_record(const GlobalOptions& g, const PersistRecordOptions& o) {
  // Everything typed is checked before the CA or the state dir is touched.
  if (!o.policy.empty() && o.policy != "wildcard") {
    return usage_fail("--policy " + o.policy + ": the only policy is wildcard");
  }
  acme::PersistRecord record;
  record.wildcard = o.policy == "wildcard";
  if (!o.persist_until.empty()) {
    auto until = acme::parse_persist_until(o.persist_until);
    if (!until) return usage_fail(until.error().message);
    if (*until <= unix_now()) {
      return fail(make_error(Errc::kInvalidInput,
                             "--persist-until " + o.persist_until + " is in the past"));
    }
    record.persist_until = *until;
  }
  auto ids = acme::normalize_identifiers(o.domains, /*allow_wildcard=*/true);
  if (!ids) return fail(ids.error());
  for (const auto& id : *ids) {
    if (id.type == "ip") {
      return usage_fail("persist-record -d " + id.value +
                        ": dns-persist-01 proves DNS names, not IP addresses");
    }
    if (id.value.rfind("*.", 0) == 0 && !record.wildcard) {
      return usage_fail("-d " + id.value + " needs --policy wildcard (the record for " +
                        id.value.substr(2) + " then covers it)");
    }
  }
  auto directory_url = resolve_server(g.server);
  if (!directory_url) return fail(directory_url.error());
  const std::string state_dir = resolve_state_dir(g.state_dir);
  // The record names the account: the one of this state dir (registered once if needed).
  auto session = connect(g, *directory_url);
  if (!session) return fail(session.error());
  const auto& dir_info = session->client->directory();
  auto issuer = acme::dns_persist_issuer(dir_info.issuer_domain_names, dir_info.caa_identities,
                                         *directory_url);
  if (!issuer) return fail(issuer.error());
  auto store = open_store(g, state_dir);
  if (!store) return fail(store.error());
  if (auto r = ensure_account(*session, **store, g, state_dir); !r) return fail(r.error());
  record.issuer_domain = *issuer;
  record.account_uri = session->client->account_url();
  const std::string value = acme::dns_persist_record_value(record);
  nlohmann::json out = nlohmann::json::array();
  for (const auto& id : *ids) {
    const std::string name = acme::dns_persist_record_name(id.value);
    if (g.json) {
      out.push_back(
          {{"domain", id.value},
           {"record", name},
           {"type", "TXT"},
           {"value", value},
           {"issuer_domain", record.issuer_domain},
           {"account_uri", record.account_uri},
           {"wildcard", record.wildcard},
           {"persist_until", record.persist_until ? rfc3339(*record.persist_until) : ""}});
    } else {
      std::cout << name << " IN TXT \"" << value << "\"\n";
    }
  }
  if (g.json) std::cout << out.dump(2) << "\n";
  return kExitOk;
}

}  // namespace agent::cli
