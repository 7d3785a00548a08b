#include "cli/common.hpp"

#include <pwd.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>
#include <spdlog/pattern_formatter.h>
#include <spdlog/sinks/base_sink.h>
#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include "acme/base64url.hpp"
#include "deploy/files.hpp"

namespace agent::cli {

using acme::Errc;
using acme::make_error;

acme::Result<std::string> resolve_server(const std::string& server) {
  if (server.empty() || server == "letsencrypt") {
    return std::string("https://acme-v02.api.letsencrypt.org/directory");
  }
  if (server == "letsencrypt-staging") {
    return std::string("https://acme-staging-v02.api.letsencrypt.org/directory");
  }
  if (server.rfind("https://", 0) != 0) {
    return make_error(Errc::kInvalidInput,
                      "--server " + server + ": must be an https:// URL (RFC 8555 §6.1) or "
                                             "one of letsencrypt, letsencrypt-staging");
  }
  return server;
}

std::string resolve_state_dir(const std::string& flag) {
  if (!flag.empty()) return flag;
  if (::geteuid() == 0) return "/var/lib/acmectl";
  if (const char* xdg = std::getenv("XDG_STATE_HOME"); xdg && *xdg) {
    return std::string(xdg) + "/acmectl";
  }
  const char* home = std::getenv("HOME");
  if (!home || !*home) {
    if (const passwd* pw = getpwuid(::geteuid())) home = pw->pw_dir;
  }
  return std::string(home ? home : ".") + "/.local/state/acmectl";
}

namespace {

// One JSON object per line: {"ts","level","logger","msg"}.
class JsonSink final : public spdlog::sinks::base_sink<std::mutex> {
 protected:
  void sink_it_(const spdlog::details::log_msg& msg) override {
    const auto t = std::chrono::system_clock::to_time_t(msg.time);
    char ts[32];
    std::tm tm{};
    gmtime_r(&t, &tm);
    std::strftime(ts, sizeof ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    nlohmann::json j{{"ts", ts},
                     {"level", std::string(spdlog::level::to_string_view(msg.level).data(),
                                           spdlog::level::to_string_view(msg.level).size())},
                     {"logger", std::string(msg.logger_name.data(), msg.logger_name.size())},
                     {"msg", std::string(msg.payload.data(), msg.payload.size())}};
    const std::string line = j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace) + "\n";
    std::fwrite(line.data(), 1, line.size(), stderr);
  }
  void flush_() override { std::fflush(stderr); }
};

spdlog::sink_ptr& shared_sink() {
  static spdlog::sink_ptr sink;
  return sink;
}

}  // namespace

acme::Result<void> setup_logging(const std::string& level, const std::string& format) {
  const auto lvl = spdlog::level::from_str(level);
  if (lvl == spdlog::level::off && level != "off") {
    return make_error(Errc::kInvalidInput, "--log-level " + level +
                                               ": use trace, debug, info, warn, error or off");
  }
  if (format == "json") {
    shared_sink() = std::make_shared<JsonSink>();
  } else if (format == "text") {
    shared_sink() = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    shared_sink()->set_formatter(std::make_unique<spdlog::pattern_formatter>(
        "%Y-%m-%dT%H:%M:%S.%eZ %l %n: %v", spdlog::pattern_time_type::utc));
  } else {
    return make_error(Errc::kInvalidInput, "--log-format " + format + ": use text or json");
  }
  shared_sink()->set_level(lvl);
  spdlog::set_level(lvl);
  return acme::ok();
}

std::shared_ptr<spdlog::logger> logger(const std::string& component) {
  if (auto existing = spdlog::get(component)) return existing;
  if (!shared_sink()) (void)setup_logging("info", "text");
  auto l = std::make_shared<spdlog::logger>(component, shared_sink());
  l->set_level(spdlog::get_level());
  spdlog::register_logger(l);
  return l;
}

acme::Result<std::unique_ptr<Store>> open_store(const std::string& state_dir) {
  ACME_CHECK(make_dirs(state_dir, 0700));
  return Store::open(state_dir + "/acmectl.db");
}

acme::Result<Session> connect(const GlobalOptions& g, const std::string& directory_url,
                              acme::Clock* clock) {
  acme::HttpOptions opts;
  opts.ca_bundle = g.ca_bundle;
  opts.user_agent = "acmectl/" ACMECTL_VERSION " libacme";
  Session s;
  s.directory_url = directory_url;
  ACME_ASSIGN(s.http, acme::make_curl_http_client(opts));
  s.client = std::make_unique<acme::Client>(*s.http, clock ? *clock : acme::system_clock(),
                                            directory_url);
  auto loaded = s.client->load_directory();
  if (!loaded) return std::move(loaded).error().context("ACME directory");
  return s;
}

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

}  // namespace

int64_t unix_now() {
  return std::chrono::duration_cast<std::chrono::seconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

acme::Result<std::string> promote_rollover_key(const std::string& key_path) {
  const std::string next_path = rollover_key_path(key_path);
  const std::string prev = key_path + ".prev-" + std::to_string(unix_now());
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
  ACME_ASSIGN(auto pem, read_file(next_path));
  auto next = acme::PrivateKey::from_pem(pem);
  if (!next) return std::move(next).error().context("account key " + next_path);
  auto next_key = std::make_unique<acme::PrivateKey>(std::move(*next));
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
  if (!found && found.error().problem &&
      found.error().problem->acme_type() == "accountDoesNotExist") {
    // The rollover never reached the CA: the old key is still the account's.
    const std::string aside = next_path + ".abandoned-" + std::to_string(unix_now());
    if (::rename(next_path.c_str(), aside.c_str()) != 0) {
      return make_error(Errc::kIo, "cannot move aside " + next_path + ": " + std::strerror(errno));
    }
    log->warn("account url={} an unfinished key rollover did not reach the CA; its key was "
              "moved to {}", record.account_url, aside);
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
  ACME_ASSIGN(auto record, store.find_account(s.directory_url));
  const std::string dir = account_dir(state_dir, s.directory_url);
  const std::string key_path = record ? record->key_path : dir + "/account.key";
  bool created_key = false;
  if (::access(key_path.c_str(), F_OK) == 0) {
    ACME_ASSIGN(auto pem, read_file(key_path));
    auto key = acme::PrivateKey::from_pem(pem);
    if (!key) return std::move(key).error().context("account key " + key_path);
    s.account_key = std::make_unique<acme::PrivateKey>(std::move(*key));
  } else {
    if (record && !record->account_url.empty()) {
      // Never silently replace a registered account's key.
      return make_error(Errc::kIo, "account key " + key_path + " is missing for the account " +
                                       record->account_url + " recorded in the store");
    }
    ACME_ASSIGN(auto key, acme::PrivateKey::generate(acme::KeyType::kEc256));
    ACME_ASSIGN(auto pem, key.to_pem());
    ACME_CHECK(make_dirs(dir, 0700));
    ACME_CHECK(atomic_write(key_path, pem, 0600));
    s.account_key = std::make_unique<acme::PrivateKey>(std::move(key));
    created_key = true;
  }
  std::string contact = g.email.empty() ? std::string() : "mailto:" + g.email;
  if (record && !record->account_url.empty() && !created_key &&
      ::access(rollover_key_path(key_path).c_str(), F_OK) == 0) {
    ACME_CHECK(finish_rollover(s, *record));
  }
  if (record && !record->account_url.empty() && !created_key) {
    s.client->set_account(*s.account_key, record->account_url);
    log->info("account url={} (stored) took_ms={}", record->account_url,
              std::chrono::duration_cast<std::chrono::milliseconds>(
                  std::chrono::steady_clock::now() - start).count());
    return acme::ok();
  }
  const auto& dir_info = s.client->directory();
  acme::NewAccountOptions opts;
  if (!contact.empty()) opts.contact.push_back(contact);
  opts.terms_agreed = g.agree_tos;
  if (!dir_info.terms_of_service.empty() && !g.agree_tos) {
    // The key may already be registered (state lost): look it up before asking for terms.
    auto existing = s.client->find_account(*s.account_key);
    if (!existing) {
      return make_error(Errc::kInvalidInput, "the CA requires agreeing to its terms of service (" +
                                                 dir_info.terms_of_service +
                                                 "): pass --agree-tos");
    }
  } else {
    auto account = s.client->new_account(*s.account_key, opts);
    if (!account) return std::move(account).error();
  }
  ACME_CHECK(store.upsert_account({s.directory_url, key_path, s.client->account_url(), contact}));
  log->info("account url={} ({}) took_ms={}", s.client->account_url(),
            created_key ? "registered" : "found",
            std::chrono::duration_cast<std::chrono::milliseconds>(
                std::chrono::steady_clock::now() - start).count());
  return acme::ok();
}

acme::Result<std::unique_ptr<Store>> open_existing_store(const GlobalOptions& g) {
  const std::string state_dir = resolve_state_dir(g.state_dir);
  const std::string db = state_dir + "/acmectl.db";
  if (::access(db.c_str(), F_OK) != 0) {
    return make_error(Errc::kInvalidInput,
                      "no store at " + db + ": issue a certificate first (acmectl issue)");
  }
  return Store::open(db);
}

int fail(const acme::Error& e) {
  std::fprintf(stderr, "acmectl: error: %s\n", e.to_string().c_str());
  return kExitFailure;
}

int usage_fail(const std::string& message) {
  std::fprintf(stderr, "acmectl: usage error: %s\n", message.c_str());
  return kExitUsage;
}

std::string rfc3339(int64_t unix_seconds) {
  const time_t t = static_cast<time_t>(unix_seconds);
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[32];
  std::strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return buf;
}

}  // namespace agent::cli
