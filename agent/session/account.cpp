#include "session/account.hpp"

#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <chrono>
#include <cstring>

#include "acme/base64url.hpp"
#include "base/file_lock.hpp"
#include "base/time.hpp"
#include "deploy/files.hpp"
#include "deploy/permissions.hpp"
#include "log/log.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

namespace {

std::string hex(std::string_view bytes) {
  static const char* digits = "0123456789abcdef";
  std::string out;
  for (unsigned char c : bytes) {
    out += digits[c >> 4];
    out += digits[c & 15];
  }
  return out;
}

// STATE/accounts/HOST-HASH: one directory per ACME server, readable by the owner only.
std::string account_dir(const std::string& state_dir, const std::string& directory_url) {
  std::string host = directory_url.substr(directory_url.find("://") + 3);
  host = host.substr(0, host.find('/'));
  for (char& c : host) {
    if (!std::isalnum(static_cast<unsigned char>(c)) && c != '.' && c != '-') c = '_';
  }
  return state_dir + "/accounts/" + host + "-" + hex(acme::sha256(directory_url)).substr(0, 12);
}

// Registration can wait for a slow CA: the lock is held for one newAccount at most.
constexpr std::chrono::minutes kAccountLockWait{5};

acme::Result<std::unique_ptr<FileLock>> lock_accounts(const std::string& state_dir) {
  ACME_CHECK(make_dirs(state_dir + "/locks", 0700));
  return FileLock::take(state_dir + "/locks/account.lock", kAccountLockWait);
}

acme::Result<std::unique_ptr<acme::PrivateKey>> load_key(const std::string& key_path) {
  ACME_CHECK(check_private_file(key_path, "account key"));
  ACME_ASSIGN(auto pem, read_file(key_path));
  auto key = acme::PrivateKey::from_pem(pem);
  if (!key) return std::move(key).error().context("account key " + key_path);
  return std::make_unique<acme::PrivateKey>(std::move(*key));
}

int64_t ms_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

// Asks the CA for the account of s.account_key (registering it when allowed) and records it.
acme::Result<void> register_key(Session& s, Store& store, const GlobalOptions& g,
                                const std::string& key_path) {
  const std::string contact = g.email.empty() ? std::string() : "mailto:" + g.email;
  const auto& dir_info = s.client->directory();
  ACME_ASSIGN(auto eab, eab_from(g));
  if (dir_info.external_account_required && !eab) {
    // Before any request: without EAB the CA refuses newAccount anyway.
    return make_error(Errc::kInvalidInput,
                      "the CA at " + s.directory_url +
                          " requires External Account Binding (meta.externalAccountRequired): "
                          "pass --eab-kid and --eab-hmac-key (or set eab_kid and "
                          "eab_hmac_key_file in [acme]) with the values the CA gave you");
  }
  if (!dir_info.terms_of_service.empty() && !g.agree_tos) {
    // The key may already be registered (state lost): look it up before asking for terms.
    auto existing = s.client->find_account(*s.account_key);
    if (!existing) {
      return make_error(Errc::kInvalidInput, "the CA requires agreeing to its terms of service (" +
                                                 dir_info.terms_of_service + "): pass --agree-tos");
    }
  } else {
    acme::NewAccountOptions opts;
    if (!contact.empty()) opts.contact.push_back(contact);
    opts.terms_agreed = g.agree_tos;
    auto account = s.client->new_account(*s.account_key, opts, eab ? &*eab : nullptr);
    if (!account && eab && account.error().problem) {
      // A refusal of newAccount with EAB is, in practice, the binding: name it.
      return std::move(account).error().context("External Account Binding (kid " + eab->kid +
                                                ") refused by the CA; check --eab-kid and "
                                                "--eab-hmac-key");
    }
    if (!account) return std::move(account).error();
  }
  return store.upsert_account({s.directory_url, key_path, s.client->account_url(), contact});
}

}  // namespace

acme::Result<std::optional<acme::ExternalAccountBinding>> eab_from(const GlobalOptions& g) {
  std::string key_b64 = g.eab_hmac_key;
  if (key_b64.empty() && !g.eab_hmac_key_file.empty()) {
    auto text = read_file(g.eab_hmac_key_file);
    if (!text) {
      return std::move(text).error().context("External Account Binding: eab_hmac_key_file");
    }
    key_b64 = std::move(*text);
    while (!key_b64.empty() && std::isspace(static_cast<unsigned char>(key_b64.back()))) {
      key_b64.pop_back();
    }
  }
  if (g.eab_kid.empty() && key_b64.empty()) return std::optional<acme::ExternalAccountBinding>();
  if (g.eab_kid.empty()) {
    return make_error(Errc::kInvalidInput,
                      "External Account Binding: --eab-hmac-key needs --eab-kid (env "
                      "ACMECTL_EAB_KID, config eab_kid)");
  }
  if (key_b64.empty()) {
    return make_error(Errc::kInvalidInput,
                      "External Account Binding: --eab-kid needs --eab-hmac-key (env "
                      "ACMECTL_EAB_HMAC_KEY, config eab_hmac_key_file)");
  }
  // CAs hand the key out base64url-encoded (RFC 8555 §7.3.4); tolerate trailing padding.
  while (!key_b64.empty() && key_b64.back() == '=') key_b64.pop_back();
  auto raw = acme::is_base64url(key_b64) ? acme::base64url_decode(key_b64) : std::nullopt;
  if (!raw || raw->empty()) {
    return make_error(Errc::kInvalidInput,
                      "External Account Binding: the MAC key (--eab-hmac-key) is not base64url");
  }
  acme::ExternalAccountBinding eab;
  eab.kid = g.eab_kid;
  eab.hmac_key = std::move(*raw);
  eab.alg = g.eab_alg.empty() ? "HS256" : g.eab_alg;
  if (eab.alg != "HS256" && eab.alg != "HS384" && eab.alg != "HS512") {
    return make_error(Errc::kInvalidInput, "External Account Binding: --eab-alg " + eab.alg +
                                               ": use HS256, HS384 or HS512");
  }
  return std::optional<acme::ExternalAccountBinding>(std::move(eab));
}

bool is_account_does_not_exist(const acme::Error& e) {
  return e.problem && e.problem->acme_type() == "accountDoesNotExist";
}

acme::Result<std::string> promote_rollover_key(const std::string& key_path) {
  const std::string next_path = rollover_key_path(key_path);
  // Never over an older kept key (two rollovers in one second): add a counter.
  std::string prev = key_path + ".prev-" + std::to_string(unix_now());
  for (int i = 1; ::access(prev.c_str(), F_OK) == 0; ++i) {
    prev = key_path + ".prev-" + std::to_string(unix_now()) + "-" + std::to_string(i);
  }
  if (::rename(key_path.c_str(), prev.c_str()) != 0 ||
      ::rename(next_path.c_str(), key_path.c_str()) != 0) {
    return make_error(Errc::kIo, "account key rollover: cannot rename " + next_path + " to " +
                                     key_path + ": " + std::strerror(errno));
  }
  return prev;
}

std::string rollover_key_path(const std::string& key_path) { return key_path + ".next"; }

acme::Result<void> finish_rollover(Session& s, const AccountRecord& record) {
  auto log = logger("account");
  const std::string next_path = rollover_key_path(record.key_path);
  ACME_ASSIGN(auto next_key, load_key(next_path));
  auto found = s.client->find_account(*next_key);
  s.client->set_account(*s.account_key, record.account_url);  // find_account switched keys
  if (found && found->url == record.account_url) {
    // The CA took the new key: it becomes account.key, the old one is kept aside.
    ACME_ASSIGN(const std::string prev, promote_rollover_key(record.key_path));
    s.account_key = std::move(next_key);
    s.client->set_account(*s.account_key, record.account_url);
    log->info("account url={} key rollover completed (old key kept as {})", record.account_url,
              prev);
    return acme::ok();
  }
  if (!found && is_account_does_not_exist(found.error())) {
    // The rollover never reached the CA: the old key is still the account's.
    const std::string aside = next_path + ".abandoned-" + std::to_string(unix_now());
    if (::rename(next_path.c_str(), aside.c_str()) != 0) {
      return make_error(Errc::kIo, "cannot move aside " + next_path + ": " + std::strerror(errno));
    }
    log->warn(
        "account url={} an unfinished key rollover did not reach the CA; its key was "
        "moved to {}",
        record.account_url, aside);
    return acme::ok();
  }
  if (!found) {
    return std::move(found).error().context("account key rollover left " + next_path +
                                            " behind and the CA could not be asked about it");
  }
  return make_error(Errc::kProtocol, "account key " + next_path + " belongs to " + found->url +
                                         ", not to the stored account " + record.account_url);
}

acme::Result<void> ensure_account(Session& s, Store& store, const GlobalOptions& g,
                                  const std::string& state_dir) {
  auto log = logger("account");
  const auto start = std::chrono::steady_clock::now();
  // Under the lock, on state re-read after taking it: the first start of an agent with
  // several certificates has every worker arrive here at once.
  ACME_ASSIGN(auto lock, lock_accounts(state_dir));
  const std::string dir = account_dir(state_dir, s.directory_url);
  remove_stale_temp_files(dir);  // a key write killed between write and rename
  ACME_ASSIGN(auto record, store.find_account(s.directory_url));
  if (record && !record->account_url.empty() && ::access(record->key_path.c_str(), F_OK) != 0 &&
      ::access(rollover_key_path(record->key_path).c_str(), F_OK) == 0) {
    // A rollover killed between its two renames: KEY is already KEY.prev-T and the CA took
    // KEY.next (the rename only happens after the CA said so). Finish it.
    if (::rename(rollover_key_path(record->key_path).c_str(), record->key_path.c_str()) != 0) {
      return make_error(Errc::kIo, "account key rollover: cannot rename " +
                                       rollover_key_path(record->key_path) + ": " +
                                       std::strerror(errno));
    }
    log->warn("account url={} finished a key rollover interrupted between its renames",
              record->account_url);
  }
  if (record && !record->account_url.empty() && ::access(record->key_path.c_str(), F_OK) == 0 &&
      ::access(rollover_key_path(record->key_path).c_str(), F_OK) != 0) {
    ACME_ASSIGN(s.account_key, load_key(record->key_path));
    s.client->set_account(*s.account_key, record->account_url);
    log->debug("account url={} (stored) took_ms={}", record->account_url, ms_since(start));
    return acme::ok();
  }

  const std::string key_path = record ? record->key_path : dir + "/account.key";
  bool created_key = false;
  if (::access(key_path.c_str(), F_OK) == 0) {
    ACME_ASSIGN(s.account_key, load_key(key_path));
  } else {
    if (record && !record->account_url.empty()) {
      // Never silently replace a registered account's key.
      return make_error(Errc::kIo, "account key " + key_path + " is missing for the account " +
                                       record->account_url + " recorded in the store");
    }
    ACME_ASSIGN(auto key, acme::PrivateKey::generate(acme::KeyType::kEc256));
    ACME_ASSIGN(auto pem, key.to_pem());
    ACME_CHECK(make_dirs(dir, 0700));
    // On disk before the CA hears of it: a crash after registration loses nothing.
    ACME_CHECK(atomic_write(key_path, pem, 0600));
    s.account_key = std::make_unique<acme::PrivateKey>(std::move(key));
    created_key = true;
  }
  if (record && !record->account_url.empty() && !created_key) {
    if (::access(rollover_key_path(key_path).c_str(), F_OK) == 0) {
      ACME_CHECK(finish_rollover(s, *record));
    }
    s.client->set_account(*s.account_key, record->account_url);
    log->info("account url={} (stored) took_ms={}", record->account_url, ms_since(start));
    return acme::ok();
  }
  ACME_CHECK(register_key(s, store, g, key_path));
  log->info("account url={} ({}) took_ms={}", s.client->account_url(),
            created_key ? "registered" : "found", ms_since(start));
  return acme::ok();
}

acme::Result<std::string> import_account(Store& store, const std::string& state_dir,
                                         const std::string& directory_url,
                                         const acme::PrivateKey& key,
                                         const std::string& account_url,
                                         const std::string& contact) {
  ACME_ASSIGN(auto lock, lock_accounts(state_dir));
  ACME_ASSIGN(auto record, store.find_account(directory_url));
  if (record && !record->account_url.empty()) {
    if (record->account_url == account_url) return record->key_path;
    return make_error(Errc::kInvalidInput,
                      "acmectl already has the account " + record->account_url + " for " +
                          directory_url + "; importing " + account_url +
                          " would replace it (a certificate renews under one account per CA)");
  }
  const std::string dir = account_dir(state_dir, directory_url);
  const std::string key_path = dir + "/account.key";
  ACME_ASSIGN(auto pem, key.to_pem());
  ACME_CHECK(make_dirs(dir, 0700));
  ACME_CHECK(atomic_write(key_path, pem, 0600));
  ACME_CHECK(store.upsert_account({directory_url, key_path, account_url, contact}));
  logger("account")->info("account url={} imported (key {})", account_url, key_path);
  return key_path;
}

acme::Result<void> ensure_fleet_account(Session& s, Store& store, FleetStore& fleet,
                                        const GlobalOptions& g, const std::string& state_dir) {
  ACME_CHECK(fleet.lock_account(s.directory_url));
  struct Unlock {
    FleetStore& f;
    const std::string& url;
    ~Unlock() { f.unlock_account(url); }
  } unlock{fleet, s.directory_url};
  ACME_ASSIGN(auto shared, fleet.find_account(s.directory_url));
  if (shared) {
    ACME_ASSIGN(auto lock, lock_accounts(state_dir));
    ACME_ASSIGN(auto local, store.find_account(s.directory_url));
    const std::string dir = account_dir(state_dir, s.directory_url);
    const std::string key_path = local ? local->key_path : dir + "/account.key";
    auto have = read_file(key_path);
    if (!local || local->account_url != shared->account_url || !have || *have != shared->key_pem) {
      ACME_CHECK(make_dirs(dir, 0700));
      if (have && *have != shared->key_pem) {
        const std::string aside = key_path + ".pre-fleet-" + std::to_string(unix_now());
        if (::rename(key_path.c_str(), aside.c_str()) != 0) {
          return make_error(Errc::kIo,
                            "cannot keep " + key_path + " aside: " + std::strerror(errno));
        }
        logger("account")->warn("local account key kept aside as {}: the fleet's account is used",
                                aside);
      }
      ACME_CHECK(atomic_write(key_path, shared->key_pem, 0600));
      ACME_CHECK(
          store.upsert_account({s.directory_url, key_path, shared->account_url, shared->contact}));
      logger("account")->info("account url={} (from the fleet store)", shared->account_url);
    }
  }
  ACME_CHECK(ensure_account(s, store, g, state_dir));
  if (!shared || shared->account_url != s.client->account_url()) {
    ACME_ASSIGN(auto record, store.find_account(s.directory_url));
    if (!record) return make_error(Errc::kInternal, "no account recorded for " + s.directory_url);
    ACME_ASSIGN(auto pem, read_file(record->key_path));
    ACME_CHECK(fleet.put_account(s.directory_url, {pem, s.client->account_url(), record->contact}));
    logger("account")->info("account url={} shared with the fleet", s.client->account_url());
  }
  return acme::ok();
}

acme::Result<void> use_account_for_dry_run(Session& s, Store* store, const GlobalOptions& g) {
  auto log = logger("account");
  if (store != nullptr) {
    ACME_ASSIGN(auto record, store->find_account(s.directory_url));
    if (record && !record->account_url.empty() && ::access(record->key_path.c_str(), F_OK) == 0) {
      ACME_ASSIGN(s.account_key, load_key(record->key_path));
      s.client->set_account(*s.account_key, record->account_url);
      log->info("dry run: account url={} (stored)", record->account_url);
      return acme::ok();
    }
  }
  const auto& dir_info = s.client->directory();
  ACME_ASSIGN(auto eab, eab_from(g));
  if (dir_info.external_account_required && !eab) {
    return make_error(Errc::kInvalidInput,
                      "the CA at " + s.directory_url +
                          " requires External Account Binding (meta.externalAccountRequired): "
                          "pass --eab-kid and --eab-hmac-key");
  }
  if (!dir_info.terms_of_service.empty() && !g.agree_tos) {
    return make_error(Errc::kInvalidInput,
                      "dry run without a stored account: the CA requires agreeing to its terms "
                      "of service (" +
                          dir_info.terms_of_service +
                          ") for the temporary account: pass --agree-tos");
  }
  ACME_ASSIGN(auto key, acme::PrivateKey::generate(acme::KeyType::kEc256));
  s.account_key = std::make_unique<acme::PrivateKey>(std::move(key));
  acme::NewAccountOptions opts;
  if (!g.email.empty()) opts.contact.push_back("mailto:" + g.email);
  opts.terms_agreed = g.agree_tos;
  ACME_CHECK(s.client->new_account(*s.account_key, opts, eab ? &*eab : nullptr));
  log->info(
      "dry run: no stored account for {}: registered a temporary one, url={} (its key is "
      "kept in memory only)",
      s.directory_url, s.client->account_url());
  return acme::ok();
}

acme::Result<void> reregister_account(Session& s, Store& store, const GlobalOptions& g,
                                      const std::string& state_dir) {
  ACME_ASSIGN(auto lock, lock_accounts(state_dir));
  ACME_ASSIGN(auto record, store.find_account(s.directory_url));
  if (!record || !s.account_key) {
    return make_error(Errc::kInternal, "no account recorded for " + s.directory_url);
  }
  // Another process may have registered it again meanwhile: take its URL.
  if (record->account_url != s.client->account_url()) {
    s.client->set_account(*s.account_key, record->account_url);
    return acme::ok();
  }
  const std::string old_url = record->account_url;
  ACME_CHECK(register_key(s, store, g, record->key_path));
  logger("account")->warn(
      "account url={} unknown to the CA (accountDoesNotExist): registered "
      "the same key again as {}",
      old_url, s.client->account_url());
  return acme::ok();
}

}  // namespace agent
