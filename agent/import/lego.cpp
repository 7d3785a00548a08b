// import lego: accounts/HOST_PORT/EMAIL/{account.json,keys/EMAIL.key} and
// certificates/NAME.{json,crt,key} (NAME.crt holds the chain too; NAME.issuer.crt the chain).
// lego keeps no challenge settings (they are command-line flags), so certificates get the
// built-in responder unless --http01-listen or --webroot say otherwise.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <nlohmann/json.hpp>

#include "deploy/files.hpp"
#include "import/import.hpp"

namespace agent {

using acme::Errc;
using acme::make_error;

namespace {

bool is_dir(const std::string& path) {
  struct stat st {};
  return ::stat(path.c_str(), &st) == 0 && S_ISDIR(st.st_mode);
}

// lego's account folder for a server: the directory URL's host[:port], ':' written as '_'.
std::string lego_server_dir(const std::string& directory_url) {
  std::string host = directory_url.substr(directory_url.find("://") + 3);
  host = host.substr(0, host.find('/'));
  std::replace(host.begin(), host.end(), ':', '_');
  return host;
}

}  // namespace

acme::Result<ImportPlan> read_lego(const std::string& dir, const std::string& directory_url,
                                   const ImportOverrides& overrides) {
  if (!is_dir(dir + "/accounts") || !is_dir(dir + "/certificates")) {
    return make_error(Errc::kInvalidInput, dir +
                                               " is not lego state: it has no accounts/ and "
                                               "certificates/ directories (lego's --path)");
  }
  ImportPlan plan;
  plan.client = "lego";
  plan.directory_url = directory_url;

  // The account: accounts/HOST_PORT/EMAIL/.
  const std::string server_dir = dir + "/accounts/" + lego_server_dir(directory_url);
  std::vector<std::string> emails;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(server_dir, ec)) {
    if (e.is_directory()) emails.push_back(e.path().filename().string());
  }
  std::sort(emails.begin(), emails.end());
  if (emails.empty()) {
    std::vector<std::string> servers;
    for (const auto& e : std::filesystem::directory_iterator(dir + "/accounts", ec)) {
      servers.push_back(e.path().filename().string());
    }
    std::string found;
    for (const auto& s : servers) found += (found.empty() ? "" : ", ") + s;
    return make_error(Errc::kInvalidInput,
                      "lego state " + dir + " has no account for --server " + directory_url +
                          " (expected " + server_dir +
                          "; found: " + (found.empty() ? std::string("none") : found) + ")");
  }
  // --email picks one when lego holds several accounts for the server.
  std::string email = emails.front();
  const bool listed = std::find(emails.begin(), emails.end(), overrides.email) != emails.end();
  if (listed) {
    email = overrides.email;
  } else if (emails.size() > 1) {
    return make_error(
        Errc::kInvalidInput,
        "lego has several accounts under " + server_dir + ": pick one with --email" +
            (overrides.email.empty() ? std::string() : " (" + overrides.email + " is not one)"));
  }
  const std::string acct = server_dir + "/" + email;
  ACME_ASSIGN(const std::string account_text, read_file(acct + "/account.json"));
  const auto account = nlohmann::json::parse(account_text, nullptr, false);
  if (!account.is_object() || !account.contains("registration") ||
      !account["registration"].is_object() || !account["registration"].contains("uri") ||
      !account["registration"]["uri"].is_string()) {
    return make_error(Errc::kInvalidInput,
                      acct + "/account.json: no registration.uri (not what lego writes)");
  }
  auto key_text = read_file(acct + "/keys/" + email + ".key");
  if (!key_text) return std::move(key_text).error().context("lego account key");
  auto key = acme::PrivateKey::from_pem(*key_text);
  if (!key) return std::move(key).error().context(acct + "/keys/" + email + ".key");
  plan.account.key = std::make_shared<acme::PrivateKey>(std::move(*key));
  plan.account.account_url = account["registration"]["uri"].get<std::string>();
  plan.account.contact = "mailto:" + email;
  plan.account.source = acct + "/keys/" + email + ".key";

  // The certificates: every NAME.json with its NAME.crt and NAME.key.
  std::vector<std::string> metas;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/certificates", ec)) {
    const std::string p = e.path().string();
    if (e.is_regular_file() && e.path().extension() == ".json") metas.push_back(p);
  }
  std::sort(metas.begin(), metas.end());
  for (const auto& meta : metas) {
    const std::string base = meta.substr(0, meta.size() - 5);
    ImportedCertificate c;
    c.source = meta;
    ACME_ASSIGN(const std::string text, read_file(meta));
    const auto j = nlohmann::json::parse(text, nullptr, false);
    if (!j.is_object() || !j.contains("domain") || !j["domain"].is_string()) {
      return make_error(Errc::kInvalidInput, meta + ": no \"domain\" (not what lego writes)");
    }
    // lego names files after the domain with '*' written as '_'.
    c.name = std::filesystem::path(base).filename().string();
    if (c.name.rfind("_.", 0) == 0) c.name = "_wildcard." + c.name.substr(2);
    auto chain = read_file(base + ".crt");
    if (!chain) return std::move(chain).error().context(meta + ": certificate");
    auto pkey = read_file(base + ".key");
    if (!pkey) return std::move(pkey).error().context(meta + ": private key");
    ACME_CHECK(fill_certificate(c, *chain, *pkey, meta));
    c.challenge.challenge = "http-01";
    c.challenge.http01_listen = overrides.http01_listen;
    c.challenge.webroot = overrides.webroot;
    if (overrides.http01_listen.empty() && overrides.webroot.empty()) {
      c.notes.push_back(
          "lego keeps no challenge settings: http-01 through the built-in responder "
          "([agent] http01_listen, else :80); pass --http01-listen or --webroot to choose");
    }
    c.notes.push_back("lego's files stay as they are; acmectl renews into its own OUT/" + c.name +
                      ": point the server there");
    plan.certificates.push_back(std::move(c));
  }
  if (plan.certificates.empty()) {
    return make_error(Errc::kInvalidInput,
                      dir + "/certificates holds no NAME.json: nothing to import");
  }
  return plan;
}

}  // namespace agent
