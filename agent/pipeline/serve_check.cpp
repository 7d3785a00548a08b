#include "pipeline/serve_check.hpp"

#include <algorithm>

#include "acme/certificate.hpp"
#include "acme/host_port.hpp"
#include "acme/tls_probe.hpp"

namespace agent {

using std::chrono::milliseconds;

std::string serve_check_sni(const std::vector<std::string>& domains) {
  if (domains.empty() || acme::is_ip_literal(domains.front())) return "";
  // A wildcard is not a name a client sends: the first plain name of the certificate, else
  // a host under the wildcard.
  for (const auto& d : domains) {
    if (d.rfind("*.", 0) != 0 && !acme::is_ip_literal(d)) return d;
  }
  return "www." + domains.front().substr(2);
}

namespace {

ServedResult ask(const std::string& endpoint, const std::string& sni, const std::string& serial,
                 milliseconds timeout) {
  ServedResult r;
  r.endpoint = endpoint;
  auto hp = acme::parse_host_port(endpoint, "verify_endpoints");
  if (!hp) {
    r.error = hp.error().message;
    return r;
  }
  auto pem = acme::fetch_served_certificate(hp->host, hp->port, sni, timeout);
  if (!pem) {
    r.error = pem.error().message;
    return r;
  }
  auto info = acme::inspect_certificate(*pem);
  if (!info) {
    r.error = endpoint + ": served certificate unreadable: " + info.error().message;
    return r;
  }
  r.served_serial = info->serial_hex;
  r.ok = r.served_serial == serial;
  return r;
}

}  // namespace

std::vector<ServedResult> check_served(const ServeCheckConfig& cfg, const std::string& sni,
                                       const std::string& serial, acme::Clock& clock) {
  std::vector<ServedResult> out;
  const auto deadline = clock.steady_now() + std::chrono::seconds(cfg.timeout_seconds);
  for (const auto& endpoint : cfg.endpoints) {
    milliseconds backoff{250};
    for (;;) {
      const auto left = std::chrono::duration_cast<milliseconds>(deadline - clock.steady_now());
      // One attempt gets at most 5 s; the last one whatever is left (at least 1 s).
      ServedResult r =
          ask(endpoint, sni, serial, std::clamp(left, milliseconds(1000), milliseconds(5000)));
      const auto after = std::chrono::duration_cast<milliseconds>(deadline - clock.steady_now());
      if (r.ok || after <= milliseconds(0) || clock.cancelled()) {
        out.push_back(std::move(r));
        break;
      }
      clock.sleep_for(std::min(backoff, after));
      backoff = std::min(backoff * 2, milliseconds(4000));
    }
  }
  return out;
}

std::string describe(const ServedResult& r, const std::string& installed_serial) {
  if (!r.served_serial.empty()) {
    return r.endpoint + " serves serial " + r.served_serial + ", installed " + installed_serial;
  }
  return r.error + " (installed serial " + installed_serial + ")";
}

}  // namespace agent
