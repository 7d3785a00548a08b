#include "cli/hints.hpp"

namespace agent::cli {

namespace {

bool has(const std::string& s, const char* what) { return s.find(what) != std::string::npos; }

// The text between `open` and the next `close` after it, or "".
std::string between(const std::string& s, const std::string& open, char close) {
  const auto a = s.find(open);
  if (a == std::string::npos) return "";
  const auto b = s.find(close, a + open.size());
  if (b == std::string::npos) return "";
  return s.substr(a + open.size(), b - a - open.size());
}

// "ADDR:PORT" of "cannot listen on ADDR:PORT: ...".
std::string listen_address(const std::string& s) {
  const std::string key = "cannot listen on ";
  const auto a = s.find(key);
  if (a == std::string::npos) return "";
  const auto start = a + key.size();
  const auto end = s.find(": ", start);
  return s.substr(start, end == std::string::npos ? std::string::npos : end - start);
}

}  // namespace

std::optional<std::string> hint_for(const std::string& m) {
  if (has(m, "Address already in use")) {
    const std::string addr = listen_address(m);
    const std::string port = addr.empty() ? "80" : addr.substr(addr.rfind(':') + 1);
    return "another program holds " + (addr.empty() ? "the port" : addr) +
           " (on port 80 usually nginx, apache2, or another ACME client's standalone mode; `ss "
           "-ltnp 'sport = :" +
           port +
           "'` names it): stop it for the issue, use --webroot DIR, or run acmectl's responder "
           "behind it (--http01-listen 127.0.0.1:8402 and `acmectl gen nginx`)";
  }
  if (has(m, "Permission denied") && has(m, "cannot listen on")) {
    return "ports below 1024 need root or CAP_NET_BIND_SERVICE: run as root, or let nginx "
           "proxy /.well-known/acme-challenge/ to --http01-listen 127.0.0.1:8402";
  }
  if (has(m, "certificate verification failed") || has(m, "unable to get local issuer") ||
      has(m, "self-signed certificate") || has(m, "self signed certificate")) {
    return "this host does not trust the ACME server's TLS certificate: pass its CA with "
           "--ca-bundle FILE (or [acme] ca_bundle; env ACMECTL_CA_BUNDLE), or install it "
           "in the system store (update-ca-certificates)";
  }
  if (has(m, "authorization for") && has(m, "invalid") &&
      (has(m, "http-01") || has(m, "connection") || has(m, "Timeout") || has(m, "timeout"))) {
    std::string url = between(m, "Get \"", '"');
    std::string from = between(m, "dial tcp ", ':');
    std::string what = url.empty() ? "the challenge URL (http://NAME/.well-known/acme-challenge/"
                                     "TOKEN, port 80)"
                                   : url;
    return "the CA fetched " + what + (from.empty() ? "" : " at " + from) +
           " and did not get acmectl's answer: check that the name resolves to this host (A "
           "and AAAA), that port 80 is open and forwarded here, and that whatever listens "
           "there (--http01-listen, or nginx proxying /.well-known/acme-challenge/) is "
           "acmectl's responder";
  }
  if (has(m, "authorization for") && has(m, "dns") && has(m, "invalid")) {
    return "the CA looked up the _acme-challenge TXT record and did not find the value: check "
           "the zone's authoritative servers and any CNAME delegation (acmectl doctor)";
  }
  return std::nullopt;
}

}  // namespace agent::cli
