// import acme.sh: NAME/NAME.conf (or NAME_ecc/NAME.conf for ECDSA keys) with Le_* shell
// assignments, NAME.cer / NAME.key / fullchain.cer beside it, and the account under
// ca/<directory URL without https://>/{account.key,ca.conf (ACCOUNT_URL=...)}.
// acme.sh is not a Debian package: this reader is tested with hand-made state only.
#include <sys/stat.h>

#include <algorithm>
#include <filesystem>
#include <map>
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

std::string strip_slash(std::string url) {
  while (!url.empty() && url.back() == '/') url.pop_back();
  return url;
}

// KEY='value' lines (acme.sh's _savedomainconf); quotes removed, nothing expanded.
std::map<std::string, std::string> parse_shell_conf(const std::string& text) {
  std::map<std::string, std::string> out;
  std::istringstream in(text);
  std::string line;
  while (std::getline(in, line)) {
    const size_t eq = line.find('=');
    if (line.empty() || line[0] == '#' || eq == std::string::npos) continue;
    std::string value = line.substr(eq + 1);
    while (!value.empty() && (value.back() == '\r' || value.back() == ' ')) value.pop_back();
    if (value.size() >= 2 && (value.front() == '\'' || value.front() == '"') &&
        value.back() == value.front()) {
      value = value.substr(1, value.size() - 2);
    }
    out[line.substr(0, eq)] = value;
  }
  return out;
}

std::string get(const std::map<std::string, std::string>& m, const std::string& k) {
  auto it = m.find(k);
  return it == m.end() ? "" : it->second;
}

}  // namespace

acme::Result<ImportPlan> read_acmesh(const std::string& dir, const std::string& directory_url,
                                     const ImportOverrides& overrides) {
  if (!is_dir(dir + "/ca")) {
    return make_error(Errc::kInvalidInput,
                      dir +
                          " is not acme.sh state: it has no ca/ directory (acme.sh's home, "
                          "e.g. ~/.acme.sh)");
  }
  ImportPlan plan;
  plan.client = "acme.sh";
  plan.directory_url = directory_url;
  std::vector<std::string> confs;
  std::error_code ec;
  for (const auto& e : std::filesystem::directory_iterator(dir, ec)) {
    if (!e.is_directory() || e.path().filename() == "ca") continue;
    std::string name = e.path().filename().string();
    if (name.size() > 4 && name.compare(name.size() - 4, 4, "_ecc") == 0) {
      name.resize(name.size() - 4);
    }
    const std::string conf = e.path().string() + "/" + name + ".conf";
    if (::access(conf.c_str(), F_OK) == 0) confs.push_back(conf);
  }
  std::sort(confs.begin(), confs.end());
  std::vector<std::string> other;
  for (const auto& conf_path : confs) {
    ACME_ASSIGN(const std::string text, read_file(conf_path));
    const auto conf = parse_shell_conf(text);
    const std::string api = get(conf, "Le_API");
    const std::string folder = std::filesystem::path(conf_path).parent_path().string();
    const std::string domain = get(conf, "Le_Domain");
    if (domain.empty()) {
      return make_error(Errc::kInvalidInput, conf_path + ": no Le_Domain (not acme.sh's)");
    }
    if (strip_slash(api) != strip_slash(directory_url)) {
      other.push_back(conf_path + " (" + api + ")");
      plan.skipped.push_back(conf_path + ": its server is " + api + ", not " + directory_url);
      continue;
    }
    ImportedCertificate c;
    c.source = conf_path;
    c.name = domain.rfind("*.", 0) == 0 ? "_wildcard." + domain.substr(2) : domain;
    auto chain = read_file(folder + "/fullchain.cer");
    if (!chain) return std::move(chain).error().context(conf_path + ": certificate");
    auto key = read_file(folder + "/" + domain + ".key");
    if (!key) return std::move(key).error().context(conf_path + ": private key");
    ACME_CHECK(fill_certificate(c, *chain, *key, conf_path));
    c.challenge.challenge = "http-01";
    const std::string webroot = get(conf, "Le_Webroot");
    bool mapped = true;
    if (webroot.empty() || webroot == "no") {
      const std::string port = get(conf, "Le_HTTPPort");
      if (!port.empty() && port != "80") c.challenge.http01_listen = ":" + port;
    } else if (webroot[0] == '/') {
      c.challenge.webroot = webroot.substr(0, webroot.find(','));
    } else if (webroot == "apache" || webroot == "nginx") {
      c.notes.push_back("mode " + webroot +
                        ": the built-in responder answers ([agent] http01_listen); proxy "
                        "/.well-known/acme-challenge/ to it");
    } else {
      mapped = false;
    }
    if (!overrides.http01_listen.empty() || !overrides.webroot.empty()) {
      c.challenge.http01_listen = overrides.http01_listen;
      c.challenge.webroot = overrides.webroot;
      mapped = true;
    }
    if (!mapped) {
      plan.skipped.push_back(conf_path + ": Le_Webroot '" + webroot +
                             "' (a DNS API) cannot be mapped: give --http01-listen or "
                             "--webroot, or issue it with acmectl issue --challenge dns-01");
      continue;
    }
    const std::string reload = get(conf, "Le_ReloadCmd");
    if (!reload.empty()) {
      c.notes.push_back("Le_ReloadCmd not mapped (acme.sh stores it encoded): set a deploy hook");
    }
    for (const char* k : {"Le_PreHook", "Le_PostHook", "Le_RenewHook"}) {
      if (!get(conf, k).empty()) c.notes.push_back(std::string(k) + " not mapped");
    }
    const std::string installed = get(conf, "Le_RealFullChainPath");
    if (!installed.empty()) {
      c.notes.push_back("acme.sh installed copies at " + installed +
                        ": acmectl installs into OUT/" + c.name + "; point the server there");
    }
    plan.certificates.push_back(std::move(c));
  }
  if (plan.certificates.empty()) {
    std::string found;
    for (const auto& s : other) found += (found.empty() ? "" : ", ") + s;
    return make_error(Errc::kInvalidInput,
                      "acme.sh state " + dir + " has no certificate to import for --server " +
                          directory_url +
                          (found.empty() ? std::string() : " (found: " + found + ")"));
  }
  std::string server_path = strip_slash(directory_url);
  server_path = server_path.substr(server_path.find("://") + 3);
  const std::string ca = dir + "/ca/" + server_path;
  auto ca_conf = read_file(ca + "/ca.conf");
  if (!ca_conf) return std::move(ca_conf).error().context("acme.sh account for " + directory_url);
  const auto ca_vars = parse_shell_conf(*ca_conf);
  const std::string account_url = get(ca_vars, "ACCOUNT_URL");
  if (account_url.empty()) {
    return make_error(Errc::kInvalidInput, ca + "/ca.conf: no ACCOUNT_URL");
  }
  auto key_text = read_file(ca + "/account.key");
  if (!key_text) return std::move(key_text).error().context("acme.sh account key");
  auto key = acme::PrivateKey::from_pem(*key_text);
  if (!key) return std::move(key).error().context(ca + "/account.key");
  plan.account.key = std::make_shared<acme::PrivateKey>(std::move(*key));
  plan.account.account_url = account_url;
  plan.account.source = ca + "/account.key";
  const std::string email = get(ca_vars, "CA_EMAIL");
  if (!email.empty()) plan.account.contact = "mailto:" + email;
  for (auto& c : plan.certificates) {
    c.notes.push_back("acme.sh's files stay as they are; acmectl renews into its own OUT/" +
                      c.name);
  }
  return plan;
}

}  // namespace agent
