#include "cli/account_cmds.hpp"

#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <iostream>
#include <nlohmann/json.hpp>

#include "acme/certificate.hpp"
#include "deploy/files.hpp"
#include "events/event_sink.hpp"
#include "session/account.hpp"

namespace agent::cli {

using acme::Errc;
using acme::make_error;

namespace {

acme::Result<void> rename_file(const std::string& from, const std::string& to) {
  if (::rename(from.c_str(), to.c_str()) != 0) {
    return make_error(Errc::kIo, "rename " + from + " to " + to + ": " + std::strerror(errno));
  }
  return acme::ok();
}

// A session with the stored account of the --server directory (or a new one when
// `create` is set and none is stored). The account record comes back too.
struct AccountSession {
  Session session;
  std::unique_ptr<Store> store;
  AccountRecord record;
  std::string state_dir;
};

acme::Result<AccountSession> open_account(const GlobalOptions& g, bool create) {
  AccountSession a;
  ACME_ASSIGN(const std::string url, resolve_server(g.server));
  a.state_dir = resolve_state_dir(g.state_dir);
  if (create) {
    ACME_ASSIGN(a.store, open_store(g, a.state_dir));
  } else {
    ACME_ASSIGN(a.store, open_existing_store(g));
    ACME_ASSIGN(auto rec, a.store->find_account(url));
    if (!rec || rec->account_url.empty()) {
      return make_error(Errc::kInvalidInput, "no account for " + url + " in " + a.state_dir +
                                                 " (acmectl account register)");
    }
  }
  ACME_ASSIGN(a.session, connect(g, url));
  ACME_CHECK(ensure_account(a.session, *a.store, g, a.state_dir));
  ACME_ASSIGN(auto rec, a.store->find_account(url));
  if (!rec) return make_error(Errc::kInternal, "the account record vanished");
  a.record = std::move(*rec);
  return a;
}

void print_account(const GlobalOptions& g, const AccountSession& a, const acme::Account& acct) {
  const auto& key = *a.session.account_key;
  if (g.json) {
    nlohmann::json j{{"directory", a.session.directory_url},
                     {"url", acct.url},
                     {"status", acct.status},
                     {"contact", acct.contact},
                     {"key_path", a.record.key_path},
                     {"key_thumbprint", key.thumbprint()}};
    std::cout << j.dump(2) << "\n";
    return;
  }
  std::string contact;
  for (const auto& c : acct.contact) contact += (contact.empty() ? "" : ", ") + c;
  std::cout << "directory:   " << a.session.directory_url << "\n"
            << "account:     " << acct.url << "\n"
            << "status:      " << acct.status << "\n"
            << "contact:     " << (contact.empty() ? "-" : contact) << "\n"
            << "key:         " << a.record.key_path << "\n"
            << "thumbprint:  " << key.thumbprint() << "\n";
}

int run_account_register(const GlobalOptions& g) {
  auto a = open_account(g, /*create=*/true);
  if (!a) return fail(a.error());
  auto acct = a->session.client->find_account(*a->session.account_key);
  if (!acct && is_account_does_not_exist(acct.error())) {
    // The CA forgot the stored account (a restart, a staging reset): the same key again.
    GlobalOptions ga = g;
    ga.agree_tos = true;  // agreed when this key's account was created
    if (auto r = reregister_account(a->session, *a->store, ga, a->state_dir); !r) {
      return fail(r.error());
    }
    auto rec = a->store->find_account(a->session.directory_url);
    if (rec && *rec) a->record = **rec;
    acct = a->session.client->find_account(*a->session.account_key);
  }
  if (!acct) return fail(acct.error());
  print_account(g, *a, *acct);
  return kExitOk;
}

int run_account_show(const GlobalOptions& g) {
  auto a = open_account(g, /*create=*/false);
  if (!a) return fail(a.error());
  auto acct = a->session.client->find_account(*a->session.account_key);
  if (!acct) return fail(std::move(acct).error().context("account " + a->record.account_url));
  print_account(g, *a, *acct);
  return kExitOk;
}

int run_account_rollover(const GlobalOptions& g, const AccountCmdOptions& o) {
  auto key_type = acme::parse_key_type(o.key_type);
  if (!key_type) return usage_fail(key_type.error().message);
  auto a = open_account(g, /*create=*/false);
  if (!a) return fail(a.error());
  const std::string key_path = a->record.key_path;
  const std::string next_path = rollover_key_path(key_path);

  auto generated = acme::PrivateKey::generate(*key_type);
  if (!generated) return fail(generated.error());
  auto new_key = std::make_unique<acme::PrivateKey>(std::move(*generated));
  auto pem = new_key->to_pem();
  if (!pem) return fail(pem.error());
  // On disk before the CA hears of it: a crash after the CA switched keys loses nothing.
  if (auto w = atomic_write(next_path, *pem, 0600); !w) return fail(w.error());

  auto changed = a->session.client->change_key(*new_key);
  if (!changed) {
    if (changed.error().problem) {
      // The CA answered and refused: the new key was never the account's.
      ::unlink(next_path.c_str());
    } else {
      std::fprintf(stderr,
                   "acmectl: the CA's answer was lost; %s is kept and the next command that "
                   "uses the account finds out which key is valid\n",
                   next_path.c_str());
    }
    return fail(std::move(changed).error().context("account key rollover"));
  }
  auto prev = promote_rollover_key(key_path);
  if (!prev) return fail(prev.error());
  a->session.account_key = std::move(new_key);
  logger("account")->info("account url={} key rolled over to {} (old key kept as {})",
                          a->record.account_url, o.key_type, *prev);
  auto acct = a->session.client->find_account(*a->session.account_key);
  if (!acct) return fail(std::move(acct).error().context("account after rollover"));
  print_account(g, *a, *acct);
  return kExitOk;
}

int run_account_deactivate(const GlobalOptions& g, const AccountCmdOptions& o) {
  if (!o.yes) {
    return usage_fail(
        "account deactivate is permanent (the CA never accepts this account again): "
        "pass --yes");
  }
  auto a = open_account(g, /*create=*/false);
  if (!a) return fail(a.error());
  auto acct = a->session.client->deactivate_account();
  if (!acct) return fail(std::move(acct).error().context("deactivate account"));
  // The key is useless now but kept; the store forgets the account so the next command
  // registers a new one.
  const std::string aside = a->record.key_path + ".deactivated-" + std::to_string(unix_now());
  if (auto r = rename_file(a->record.key_path, aside); !r) return fail(r.error());
  if (auto r = a->store->remove_account(a->session.directory_url); !r) return fail(r.error());
  a->record.key_path = aside;
  print_account(g, *a, *acct);
  return kExitOk;
}

}  // namespace

std::optional<int> revocation_reason(const std::string& text) {
  static const std::pair<const char*, int> kReasons[] = {
      {"unspecified", 0}, {"keyCompromise", 1},        {"affiliationChanged", 3},
      {"superseded", 4},  {"cessationOfOperation", 5},
  };
  for (const auto& [name, code] : kReasons) {
    if (text == name || text == std::to_string(code)) return code;
  }
  return std::nullopt;
}

AccountCommands add_account_command(CLI::App& app, AccountCmdOptions& o,
                                    const std::function<void(CLI::App&)>& add_globals) {
  AccountCommands c;
  c.account = app.add_subcommand("account", "Manage the ACME account of --server");
  c.account->require_subcommand(1);
  c.register_ = c.account->add_subcommand("register", "Register (or find) the account");
  c.show = c.account->add_subcommand("show", "Show the account as the CA sees it");
  c.rollover = c.account->add_subcommand("rollover", "Replace the account key (RFC 8555 §7.3.5)");
  c.rollover->add_option("--key-type", o.key_type, "ec256 (default), ec384, rsa2048…rsa4096");
  c.deactivate = c.account->add_subcommand("deactivate", "Deactivate the account for good");
  c.deactivate->add_flag("--yes", o.yes, "Yes, deactivate it");
  for (CLI::App* sub : {c.register_, c.show, c.rollover, c.deactivate}) add_globals(*sub);
  return c;
}

int run_account(const AccountCommands& cmds, const GlobalOptions& g, const AccountCmdOptions& o) {
  if (cmds.register_->parsed()) return run_account_register(g);
  if (cmds.show->parsed()) return run_account_show(g);
  if (cmds.rollover->parsed()) return run_account_rollover(g, o);
  return run_account_deactivate(g, o);
}

CLI::App* add_revoke_command(CLI::App& app, RevokeCmdOptions& o) {
  auto* cmd = app.add_subcommand(
      "revoke",
      "Revoke a recorded certificate, or any certificate with its own key (RFC 8555 §7.6)");
  cmd->add_option("name", o.name, "Certificate name (or --cert-file with --key-file)");
  cmd->add_option("--reason", o.reason,
                  "unspecified (default), keyCompromise, affiliationChanged, superseded, "
                  "cessationOfOperation, or the RFC 5280 code");
  cmd->add_option("--cert-file", o.cert_file,
                  "Certificate to revoke (PEM), signed by its own key: no account needed");
  cmd->add_option("--key-file", o.key_file, "The private key of --cert-file (PEM)");
  return cmd;
}

namespace {

// `revoke --cert-file F --key-file K`: the request is signed by the certificate's key, so
// a subscriber who lost the account (or never had it here) can still revoke. Nothing is
// read from or written to the state dir but the record of a certificate with that serial,
// when there is one, so `list` shows it revoked and the agent replaces it.
int run_revoke_by_key(const GlobalOptions& g, const RevokeCmdOptions& o, int reason) {
  auto pem = read_file(o.cert_file);
  if (!pem) return fail(pem.error());
  auto info = acme::inspect_certificate(*pem);
  if (!info) return fail(std::move(info).error().context(o.cert_file));
  auto der = acme::certificate_der(*pem);
  if (!der) return fail(std::move(der).error().context(o.cert_file));
  auto key_pem = read_file(o.key_file);
  if (!key_pem) return fail(key_pem.error());
  auto key = acme::PrivateKey::from_pem(*key_pem);
  if (!key) return fail(std::move(key).error().context(o.key_file));
  if (!acme::key_matches_certificate(*key, *pem)) {
    return fail(make_error(Errc::kInvalidInput, o.key_file + " is not the key of " + o.cert_file +
                                                    " (serial " + info->serial_hex + ")"));
  }
  auto server = resolve_server(g.server);
  if (!server) return fail(server.error());
  auto session = connect(g, *server);
  if (!session) return fail(session.error());
  auto revoked = session->client->revoke_certificate_with_key(*der, reason, *key);
  bool already = false;
  if (!revoked) {
    const auto& e = revoked.error();
    already = e.problem && e.problem->acme_type() == "alreadyRevoked";
    if (!already) return fail(std::move(revoked).error().context("revoke " + o.cert_file));
  }
  // A recorded certificate with this serial: mark it, so it is replaced.
  std::string recorded;
  if (auto store = open_existing_store(g); store) {
    if (auto all = (*store)->list_certificates(); all) {
      for (const auto& c : *all) {
        if (c.serial != info->serial_hex) continue;
        recorded = c.name;
        if (auto r = (*store)->mark_revoked(c.name, info->serial_hex); !r) {
          logger("store")->error("recording the revocation of {}: {}", c.name,
                                 r.error().to_string());
        }
        (void)(*store)->add_event({c.name, std::string(event::kRevoked), unix_now(),
                                   "serial " + info->serial_hex + " reason " + o.reason +
                                       " (signed by the certificate key)"});
      }
    }
  }
  logger("revoke")->info("serial={} revoked reason={} signed_by=certificate-key{}",
                         info->serial_hex, o.reason, already ? " (already)" : "");
  if (g.json) {
    nlohmann::json out{{"cert_file", o.cert_file},
                       {"serial", info->serial_hex},
                       {"reason", o.reason},
                       {"already_revoked", already},
                       {"signed_by", "certificate key"}};
    out["name"] = recorded.empty() ? nlohmann::json(nullptr) : nlohmann::json(recorded);
    std::cout << out.dump(2) << "\n";
    return kExitOk;
  }
  std::cout << "certificate " << o.cert_file << " serial " << info->serial_hex
            << (already ? " was already revoked" : " revoked") << " (" << o.reason
            << "), signed by its own key"
            << (recorded.empty() ? "" : "; recorded certificate " + recorded + " marked revoked")
            << "\n";
  return kExitOk;
}

}  // namespace

int run_revoke(const GlobalOptions& g, const RevokeCmdOptions& o) {
  const auto reason = revocation_reason(o.reason);
  if (!reason) {
    return usage_fail("--reason '" + o.reason +
                      "': use unspecified, keyCompromise, affiliationChanged, superseded or "
                      "cessationOfOperation (or 0, 1, 3, 4, 5)");
  }
  if (!o.cert_file.empty() || !o.key_file.empty()) {
    if (!o.name.empty()) {
      return usage_fail("give a certificate NAME or --cert-file with --key-file, not both");
    }
    if (o.cert_file.empty() || o.key_file.empty()) {
      return usage_fail(
          "--cert-file and --key-file go together (the certificate and its own key; "
          "`acmectl revoke NAME` signs with the account instead)");
    }
    return run_revoke_by_key(g, o, *reason);
  }
  if (o.name.empty()) {
    return usage_fail("revoke needs a certificate NAME, or --cert-file FILE --key-file FILE");
  }
  auto store = open_existing_store(g);
  if (!store) return fail(store.error());
  auto found = (*store)->find_certificate(o.name);
  if (!found) return fail(found.error());
  if (!*found) return fail(make_error(Errc::kInvalidInput, "no certificate named " + o.name));
  const CertificateRecord rec = **found;
  const std::string cert_path = rec.out_dir + "/cert.pem";
  auto pem = read_file(cert_path);
  if (!pem) return fail(pem.error());
  auto info = acme::inspect_certificate(*pem);
  if (!info) return fail(std::move(info).error().context(cert_path));
  auto der = acme::certificate_der(*pem);
  if (!der) return fail(std::move(der).error().context(cert_path));

  GlobalOptions ga = g;
  if (ga.ca_bundle.empty()) ga.ca_bundle = rec.ca_bundle;  // as recorded at issue time
  std::string server = rec.server;
  if (server.empty()) {
    auto resolved = resolve_server(g.server);
    if (!resolved) return fail(resolved.error());
    server = *resolved;
  }
  auto session = connect(ga, server);
  if (!session) return fail(session.error());
  const std::string state_dir = resolve_state_dir(g.state_dir);
  if (auto r = ensure_account(*session, **store, ga, state_dir); !r) return fail(r.error());
  auto revoked = session->client->revoke_certificate(*der, *reason);
  bool already = false;
  if (!revoked) {
    const auto& e = revoked.error();
    already = e.problem && e.problem->acme_type() == "alreadyRevoked";
    if (!already) return fail(std::move(revoked).error().context("revoke " + o.name));
  }
  if (auto r = (*store)->mark_revoked(o.name, info->serial_hex); !r) return fail(r.error());
  if (auto r = (*store)->add_event({o.name, std::string(event::kRevoked), unix_now(),
                                    "serial " + info->serial_hex + " reason " + o.reason +
                                        (already ? " (the CA had it revoked already)" : "")});
      !r) {
    logger("store")->error("recording the revocation of {}: {}", o.name, r.error().to_string());
  }
  logger("revoke")->info("cert={} serial={} revoked reason={}{}", o.name, info->serial_hex,
                         o.reason, already ? " (already)" : "");
  if (g.json) {
    std::cout << nlohmann::json{{"name", o.name},
                                {"serial", info->serial_hex},
                                {"reason", o.reason},
                                {"already_revoked", already},
                                {"replaced_by", "the agent or acmectl renew, at its next pass"}}
                     .dump(2)
              << "\n";
    return kExitOk;
  }
  std::cout << "certificate " << o.name << " serial " << info->serial_hex
            << (already ? " was already revoked" : " revoked") << " (" << o.reason
            << "); the agent or `acmectl renew` replaces it at its next pass\n";
  return kExitOk;
}

}  // namespace agent::cli
