// doctor: does the name resolve to this host, and does its CAA let the CA issue?
#include <arpa/inet.h>
#include <ifaddrs.h>
#include <netinet/in.h>

#include <algorithm>
#include <cctype>
#include <memory>
#include <set>

#include "doctor/checks.hpp"

namespace agent {

using acme::DnsType;
using acme::Errc;
using acme::make_error;

namespace {

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string trim(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  return std::string(s);
}

std::string no_dot(std::string s) {
  if (!s.empty() && s.back() == '.') s.pop_back();
  return s;
}

std::string join(const std::vector<std::string>& v, const char* sep = ", ") {
  std::string out;
  for (const auto& s : v) out += (out.empty() ? "" : sep) + s;
  return out;
}

// RFC 8659 §4.2: tags a CA understands; a critical record with any other tag forbids issuance.
bool known_tag(const std::string& tag) {
  static const std::set<std::string> kKnown = {"issue",        "issuewild",    "iodef",
                                               "contactemail", "contactphone", "issuemail",
                                               "issuevmc",     "accounturi",   "validationmethods"};
  return kKnown.count(tag) != 0;
}

// RFC 8659 §4.2: issuer-domain-name before the first ';' (empty: nobody may issue).
std::string issuer_domain(const std::string& value) {
  return lower(no_dot(trim(std::string_view(value).substr(0, value.find(';')))));
}

std::string describe_servers(const std::vector<acme::DnsServer>& servers) {
  if (servers.empty()) return "the system resolver";
  std::vector<std::string> out;
  for (const auto& s : servers) out.push_back(s.to_string());
  return join(out);
}

}  // namespace

std::string CaaRecord::text() const {
  return std::to_string(flags) + " " + tag + " \"" + value + "\"";
}

acme::Result<CaaRecord> parse_caa(const std::string& data) {
  const size_t a = data.find(' ');
  const size_t b = a == std::string::npos ? a : data.find(' ', a + 1);
  if (b == std::string::npos) return make_error(Errc::kProtocol, "malformed CAA data: " + data);
  CaaRecord r;
  try {
    r.flags = std::stoi(data.substr(0, a));
  } catch (...) {
    return make_error(Errc::kProtocol, "malformed CAA flags: " + data);
  }
  r.tag = lower(data.substr(a + 1, b - a - 1));
  r.value = data.substr(b + 1);
  return r;
}

std::string caa_refusal(const std::vector<CaaRecord>& rrset, const std::string& name,
                        const std::vector<std::string>& identities) {
  for (const auto& r : rrset) {
    // RFC 8659 §4.1: bit 0 (128) is the Issuer Critical flag.
    if ((r.flags & 128) != 0 && !known_tag(r.tag)) {
      return "the critical CAA record " + r.text() + " has a tag no CA understands";
    }
  }
  const bool wildcard = name.rfind("*.", 0) == 0;
  std::vector<const CaaRecord*> relevant;
  // RFC 8659 §4.3: for a wildcard, issuewild records (when any) take the place of issue.
  if (wildcard) {
    for (const auto& r : rrset) {
      if (r.tag == "issuewild") relevant.push_back(&r);
    }
  }
  if (relevant.empty()) {
    for (const auto& r : rrset) {
      if (r.tag == "issue") relevant.push_back(&r);
    }
  }
  if (relevant.empty()) return "";  // no issue property: any CA may issue
  std::vector<std::string> texts;
  for (const CaaRecord* r : relevant) {
    const std::string domain = issuer_domain(r->value);
    for (const auto& id : identities) {
      if (!domain.empty() && domain == lower(no_dot(id))) return "";
    }
    texts.push_back(r->text());
  }
  return join(texts) + " " + (texts.size() == 1 ? "does" : "do") + " not permit " +
         (identities.empty() ? std::string("the CA") : join(identities, " or "));
}

std::vector<std::string> local_addresses() {
  std::vector<std::string> out;
  ifaddrs* list = nullptr;
  if (::getifaddrs(&list) != 0) return out;
  std::unique_ptr<ifaddrs, void (*)(ifaddrs*)> owner(list, ::freeifaddrs);
  for (const ifaddrs* i = list; i != nullptr; i = i->ifa_next) {
    if (i->ifa_addr == nullptr) continue;
    char buf[INET6_ADDRSTRLEN] = {};
    if (i->ifa_addr->sa_family == AF_INET) {
      const auto* sin = reinterpret_cast<const sockaddr_in*>(i->ifa_addr);
      if (::inet_ntop(AF_INET, &sin->sin_addr, buf, sizeof buf)) out.emplace_back(buf);
    } else if (i->ifa_addr->sa_family == AF_INET6) {
      const auto* sin6 = reinterpret_cast<const sockaddr_in6*>(i->ifa_addr);
      if (::inet_ntop(AF_INET6, &sin6->sin6_addr, buf, sizeof buf)) out.emplace_back(buf);
    }
  }
  return out;
}

namespace doctor_detail {

Finding check_resolve(acme::DnsResolver& resolver, const DoctorOptions& options,
                      const std::string& domain, std::vector<std::string>& addresses) {
  Finding f{"resolve", domain, Severity::kOk, ""};
  const std::string fqdn = acme::dns_fqdn(domain);
  const std::string via = describe_servers(options.resolvers);
  bool nxdomain = false;
  for (DnsType type : {DnsType::kA, DnsType::kAaaa}) {
    auto r = resolver.query(fqdn, type, options.resolvers, true);
    if (!r) {
      f.severity = Severity::kError;
      f.message = r.error().message;
      return f;
    }
    if (r->rcode == 3) nxdomain = true;
    if (r->rcode != 0 && r->rcode != 3) {
      f.severity = Severity::kError;
      f.message = domain + " " + std::string(acme::to_string(type)) + ": " + via + " answered " +
                  acme::dns_rcode_name(r->rcode);
      return f;
    }
    for (const auto& rec : r->answers) {
      if (rec.type == type) addresses.push_back(rec.data);
    }
  }
  if (addresses.empty()) {
    f.severity = Severity::kError;
    f.message = domain + (nxdomain ? " does not exist (NXDOMAIN" : " has no A or AAAA record (") +
                " at " + via + "): the CA cannot reach it for http-01";
    return f;
  }
  std::vector<std::string> mine = local_addresses();
  mine.insert(mine.end(), options.expect_ips.begin(), options.expect_ips.end());
  std::vector<std::string> foreign;
  for (const auto& a : addresses) {
    if (std::find(mine.begin(), mine.end(), a) == mine.end()) foreign.push_back(a);
  }
  if (foreign.size() == addresses.size()) {
    f.severity = Severity::kError;
    f.message = domain + " resolves to " + join(addresses) + " (" + via +
                "), not to an address of this host" +
                (options.expect_ips.empty() ? std::string(" (pass --expect-ip when NAT or a "
                                                          "load balancer forwards to it)")
                                            : " nor to --expect-ip " + join(options.expect_ips));
  } else if (!foreign.empty()) {
    f.severity = Severity::kWarning;
    f.message = domain + " resolves to " + join(addresses) + "; " + join(foreign) +
                " is not this host: the CA may validate there";
  } else {
    f.message = domain + " resolves to " + join(addresses) + " (this host)";
  }
  return f;
}

Finding check_caa(acme::DnsResolver& resolver, const DoctorOptions& options,
                  const std::string& domain, const std::vector<std::string>& identities) {
  Finding f{"caa", domain, Severity::kOk, ""};
  std::string name = domain.rfind("*.", 0) == 0 ? domain.substr(2) : domain;
  name = acme::dns_fqdn(name);
  // RFC 8659 §3: the relevant RRset is the first non-empty one walking up from the name
  // (the root is never asked: no CA publishes CAA there).
  for (std::string at = name; !at.empty() && at != ".";) {
    auto r = resolver.query(at, DnsType::kCaa, options.resolvers, true);
    if (!r) {
      f.severity = Severity::kError;
      f.message = "CAA lookup failed (a CA refuses to issue then): " + r.error().message;
      return f;
    }
    if (r->rcode != 0 && r->rcode != 3) {
      f.severity = Severity::kError;
      f.message = "CAA " + no_dot(at) + ": " + describe_servers(options.resolvers) + " answered " +
                  acme::dns_rcode_name(r->rcode) + " (a CA refuses to issue then)";
      return f;
    }
    std::vector<CaaRecord> rrset;
    for (const auto& rec : r->answers) {
      if (rec.type != DnsType::kCaa) continue;
      if (auto c = parse_caa(rec.data)) rrset.push_back(*c);
    }
    if (!rrset.empty()) {
      const std::string refusal = caa_refusal(rrset, domain, identities);
      if (refusal.empty()) {
        f.message = "CAA at " + no_dot(at) + " permits " +
                    (identities.empty() ? std::string("any CA") : join(identities, " or "));
        return f;
      }
      if (identities.empty()) {
        f.severity = Severity::kWarning;
        f.message = "CAA at " + no_dot(at) + ": " + refusal +
                    "? The directory names no caaIdentities: pass --caa-identity DOMAIN";
        return f;
      }
      f.severity = Severity::kError;
      f.message = "CAA at " + no_dot(at) + ": " + refusal;
      return f;
    }
    const size_t dot = at.find('.');
    at = dot == std::string::npos ? std::string() : at.substr(dot + 1);
  }
  f.message = "no CAA record up the tree: any CA may issue";
  return f;
}

}  // namespace doctor_detail
}  // namespace agent
