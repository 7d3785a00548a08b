// import certbot: renewal/NAME.conf (ConfigObj: `key = value`, [renewalparams]), the account
// under accounts/SERVER-WITHOUT-SCHEME/ID/ (private_key.json is a JWK, regr.json holds the
// account URI), the live/NAME symlinks to archive/.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
#include <nlohmann/json.hpp>
#include <sstream>

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

std::string trim(std::string s) {
  const auto sp = [](unsigned char c) { return std::isspace(c) != 0; };
  while (!s.empty() && sp(s.back())) s.pop_back();
  size_t i = 0;
  while (i < s.size() && sp(s[i])) ++i;
  return s.substr(i);
}

std::string strip_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// section ("" for the top) -> key -> value. Quotes around a value are removed.
using Conf = std::map<std::string, std::map<std::string, std::string>>;

Conf parse_conf(const std::string& text) {
  Conf conf;
  std::string section;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    line = trim(line);
    if (line.empty() || line[0] == '#') continue;
    if (line[0] == '[') {
      section = line;
      section.erase(std::remove(section.begin(), section.end(), '['), section.end());
      section.erase(std::remove(section.begin(), section.end(), ']'), section.end());
      continue;
    }
    const size_t eq = line.find('=');
    if (eq == std::string::npos) continue;
    std::string value = trim(line.substr(eq + 1));
    if (value.size() >= 2 && (value.front() == '"' || value.front() == '\'') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    conf[section][trim(line.substr(0, eq))] = value;
  }
  return conf;
}

std::string get(const Conf& c, const std::string& section, const std::string& key) {
  auto s = c.find(section);
  if (s == c.end()) return "";
  auto k = s->second.find(key);
  return k == s->second.end() ? "" : k->second;
}

// The hook scripts certbot runs for every certificate (renewal-hooks/deploy, post).
std::vector<std::string> hook_scripts(const std::string& dir) {
  std::vector<std::string> out;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (e.is_regular_file()) out.push_back(e.path().string());
  }
  std::sort(out.begin(), out.end());
  return out;
}

}  // namespace

acme::Result<ImportPlan> read_certbot(const std::string& dir, const std::string& directory_url,
                                      const ImportOverrides& overrides) {
  if (!is_dir(dir + "/renewal") || !is_dir(dir + "/accounts")) {
    return make_error(Errc::kInvalidInput, dir +
                                               " is not certbot state: it has no renewal/ and "
                                               "accounts/ directories (certbot's --config-dir)");
  }
  ImportPlan plan;
  plan.client = "certbot";
  plan.directory_url = directory_url;
  std::vector<std::string> confs;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir + "/renewal", ec)) {
    const std::string p = e.path().string();
    if (e.is_regular_file() && p.size() > 5 && p.compare(p.size() - 5, 5, ".conf") == 0) {
      confs.push_back(p);
    }
  }
  std::sort(confs.begin(), confs.end());
  if (confs.empty()) {
    return make_error(Errc::kInvalidInput, dir + "/renewal holds no NAME.conf: nothing to import");
  }

  std::string account_id;
  std::vector<std::string> other_servers;
  for (const auto& path : confs) {
    ACME_ASSIGN(const std::string text, read_file(path));
    const Conf conf = parse_conf(text);
    const std::string rel = "renewal/" + std::filesystem::path(path).filename().string();
    const std::string server = get(conf, "renewalparams", "server");
    if (strip_slash(server) != strip_slash(directory_url)) {
      other_servers.push_back(rel + " (" + server + ")");
      plan.skipped.push_back(rel + ": its server is " + server + ", not " + directory_url);
      continue;
    }
    const std::string account = get(conf, "renewalparams", "account");
    if (account.empty()) {
      return make_error(Errc::kInvalidInput, dir + "/" + rel + ": no account in [renewalparams]");
    }
    if (!account_id.empty() && account != account_id) {
      plan.skipped.push_back(rel + ": uses certbot account " + account + ", not " + account_id +
                             " (acmectl keeps one account per CA)");
      continue;
    }
    ImportedCertificate c;
    c.source = dir + "/" + rel;
    c.name = std::filesystem::path(path).stem().string();
    const std::string fullchain = get(conf, "", "fullchain");
    const std::string privkey = get(conf, "", "privkey");
    if (fullchain.empty() || privkey.empty()) {
      return make_error(Errc::kInvalidInput, c.source + ": no fullchain or privkey path");
    }
    auto chain_text = read_file(fullchain);
    if (!chain_text) return std::move(chain_text).error().context(c.source + ": certificate");
    auto key_text = read_file(privkey);
    if (!key_text) return std::move(key_text).error().context(c.source + ": private key");
    ACME_CHECK(fill_certificate(c, *chain_text, *key_text, c.source));
    // Renewing in place: live/NAME keeps its paths (acmectl replaces certbot's symlinks
    // with its own versioned layout; see docs/operations.md).
    const std::string live = std::filesystem::path(fullchain).parent_path().string();
    if (std::filesystem::path(live).filename().string() == c.name) c.live_dir = live;

    const std::string auth = get(conf, "renewalparams", "authenticator");
    c.challenge.challenge = "http-01";
    bool mapped = true;
    if (auth == "standalone") {
      const std::string port = get(conf, "renewalparams", "http01_port");
      const std::string addr = get(conf, "renewalparams", "http01_address");
      if (!port.empty() && port != "80") {
        c.challenge.http01_listen =
            (addr.find(':') != std::string::npos ? "[" + addr + "]" : addr) + ":" + port;
      } else if (!addr.empty()) {
        c.challenge.http01_listen = addr + ":80";
      }
    } else if (auth == "webroot") {
      std::string webroot = get(conf, "renewalparams", "webroot_path");
      webroot = trim(webroot.substr(0, webroot.find(',')));
      if (auto it = conf.find("webroot_map");
          webroot.empty() && it != conf.end() && !it->second.empty()) {
        webroot = it->second.begin()->second;
      }
      c.challenge.webroot = webroot;
      if (webroot.empty()) mapped = false;
    } else if (auth == "nginx" || auth == "apache") {
      c.notes.push_back("authenticator " + auth +
                        ": acmectl does not edit the web server; the built-in responder "
                        "answers ([agent] http01_listen): proxy /.well-known/acme-challenge/ "
                        "to it (acmectl gen nginx --acme-proxy)");
    } else {
      mapped = false;
    }
    if (!overrides.http01_listen.empty() || !overrides.webroot.empty()) {
      c.challenge.http01_listen = overrides.http01_listen;
      c.challenge.webroot = overrides.webroot;
      mapped = true;
    }
    if (!mapped) {
      plan.skipped.push_back(rel + ": authenticator '" + auth +
                             "' cannot be mapped (give --http01-listen or --webroot, or issue "
                             "it with acmectl issue --challenge dns-01)");
      continue;
    }
    c.deploy_hook = get(conf, "renewalparams", "deploy_hook");
    if (c.deploy_hook.empty()) c.deploy_hook = get(conf, "renewalparams", "renew_hook");
    for (const char* key : {"pre_hook", "post_hook"}) {
      const std::string hook = get(conf, "renewalparams", key);
      if (!hook.empty()) {
        c.notes.push_back(std::string(key) + " '" + hook +
                          "' not mapped: acmectl runs one post hook per pass ([agent] post_hook)");
      }
    }
    const std::string installer = get(conf, "renewalparams", "installer");
    if (!installer.empty() && installer != "None" && installer != "null") {
      c.notes.push_back("installer " + installer +
                        " not mapped: reload the server from a deploy hook");
    }
    if (account_id.empty()) account_id = account;
    plan.certificates.push_back(std::move(c));
  }
  if (plan.certificates.empty()) {
    std::string found;
    for (const auto& s : other_servers) found += (found.empty() ? "" : ", ") + s;
    std::string why;
    for (const auto& s : plan.skipped) why += (why.empty() ? "" : "; ") + s;
    return make_error(Errc::kInvalidInput,
                      "certbot state " + dir + " has no certificate to import for --server " +
                          directory_url +
                          (!found.empty() ? " (found: " + found + ")"
                                          : (why.empty() ? std::string() : ": " + why)));
  }
  for (const char* d : {"deploy", "post", "pre"}) {
    for (const auto& h : hook_scripts(dir + "/renewal-hooks/" + d)) {
      plan.skipped.push_back("hook " + h + " (renewal-hooks/" + d +
                             ") not mapped: set it as a deploy hook or [agent] post_hook");
    }
  }

  // RFC 8555 accounts live at accounts/<directory URL without https://>/<id>/.
  std::string server_path = strip_slash(directory_url);
  server_path = server_path.substr(server_path.find("://") + 3);
  const std::string acct = dir + "/accounts/" + server_path + "/" + account_id;
  auto jwk_text = read_file(acct + "/private_key.json");
  if (!jwk_text) return std::move(jwk_text).error().context("certbot account " + account_id);
  auto regr_text = read_file(acct + "/regr.json");
  if (!regr_text) return std::move(regr_text).error().context("certbot account " + account_id);
  const auto jwk = nlohmann::json::parse(*jwk_text, nullptr, false);
  const auto regr = nlohmann::json::parse(*regr_text, nullptr, false);
  if (jwk.is_discarded() || !regr.is_object() || !regr.contains("uri") ||
      !regr["uri"].is_string()) {
    return make_error(Errc::kInvalidInput,
                      acct + ": private_key.json or regr.json is not what certbot writes");
  }
  auto key = acme::PrivateKey::from_jwk(jwk);
  if (!key) return std::move(key).error().context(acct + "/private_key.json");
  plan.account.key = std::make_shared<acme::PrivateKey>(std::move(*key));
  plan.account.account_url = regr["uri"].get<std::string>();
  plan.account.source = acct + "/private_key.json";
  if (regr.contains("body") && regr["body"].is_object() && regr["body"].contains("contact") &&
      regr["body"]["contact"].is_array() && !regr["body"]["contact"].empty() &&
      regr["body"]["contact"][0].is_string()) {
    plan.account.contact = regr["body"]["contact"][0].get<std::string>();
  }
  return plan;
}

}  // namespace agent
