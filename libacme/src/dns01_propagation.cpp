// DNS lookups on the DnsResolver seam: CNAME chains, the zone of a name (walk up to the SOA),
// its authoritative servers, and the propagation check that asks each of them directly.
#include <algorithm>
#include <map>
#include <set>

#include "acme/dns01.hpp"

namespace acme {
namespace {

constexpr int kMaxCnameLinks = 16;

std::string parent(const std::string& fqdn) {
  if (fqdn == ".") return ".";
  const auto dot = fqdn.find('.');
  if (dot == std::string::npos || dot + 1 >= fqdn.size()) return ".";
  return fqdn.substr(dot + 1);
}

std::string describe_servers(const std::vector<DnsServer>& servers) {
  if (servers.empty()) return "the system resolvers";
  std::string out;
  for (const auto& s : servers) out += (out.empty() ? "" : ", ") + s.to_string();
  return out;
}

// What a server said, for messages: "NXDOMAIN", "NOERROR with no TXT record",
// "NOERROR with TXT \"a\", \"b\"".
std::string describe_txt_answer(const DnsResponse& r, const std::string& fqdn) {
  std::string out = dns_rcode_name(r.rcode);
  std::vector<std::string> values;
  for (const auto& rec : r.answers) {
    if (rec.type == DnsType::kTxt && rec.name == fqdn) values.push_back(rec.data);
  }
  if (r.rcode != 0) return out;
  if (values.empty()) return out + " with no TXT record";
  out += " with TXT";
  for (size_t i = 0; i < values.size() && i < 3; ++i)
    out += (i ? ", \"" : " \"") + values[i] + "\"";
  if (values.size() > 3) out += ", ...";
  return out;
}

struct Check {
  std::string fqdn;
  std::vector<std::string> values;
  std::vector<DnsServer> servers;
  bool recursion_desired = true;
};

// Which servers to ask for each name: the override, or the authoritative servers of the
// name's zone (each zone looked up once).
Result<std::vector<Check>> plan(DnsResolver& resolver, const std::vector<TxtExpectation>& expected,
                                const PropagationOptions& options) {
  std::vector<Check> checks;
  std::map<std::string, std::vector<DnsServer>> by_zone;
  for (const auto& e : expected) {
    Check c{dns_fqdn(e.fqdn), e.values, options.servers, true};
    if (c.servers.empty()) {
      ACME_ASSIGN(std::string zone, find_zone(resolver, c.fqdn, {}, true));
      auto it = by_zone.find(zone);
      if (it == by_zone.end()) {
        ACME_ASSIGN(auto servers, authoritative_servers(resolver, zone, {}));
        if (options.log) {
          options.log("propagation: zone " + zone + " for " + c.fqdn + ", authoritative servers " +
                      describe_servers(servers));
        }
        it = by_zone.emplace(zone, std::move(servers)).first;
      }
      c.servers = it->second;
      c.recursion_desired = false;  // ask the authoritative servers themselves
    }
    checks.push_back(std::move(c));
  }
  return checks;
}

}  // namespace

Result<std::string> follow_cnames(DnsResolver& resolver, std::string_view fqdn,
                                  const std::vector<DnsServer>& servers) {
  const std::string start = dns_fqdn(fqdn);
  std::string name = start;
  std::set<std::string> seen{name};
  int links = 0;
  for (;;) {
    auto r = resolver.query(name, DnsType::kCname, servers, true);
    if (!r) return std::move(r).error().context("following CNAMEs from " + start);
    // NXDOMAIN, REFUSED, ...: the chain ends here. The record will be created at `name`.
    if (r->rcode != 0) return name;
    // One answer may hold several links of the chain (a resolver that chased it).
    bool moved = false;
    for (;;) {
      auto it = std::find_if(r->answers.begin(), r->answers.end(), [&](const DnsRecord& rec) {
        return rec.type == DnsType::kCname && rec.name == name;
      });
      if (it == r->answers.end()) break;
      const std::string target = dns_fqdn(it->data);
      if (!seen.insert(target).second) {
        return make_error(Errc::kInvalidInput,
                          "CNAME loop from " + start + " at " + name + " -> " + target);
      }
      if (++links > kMaxCnameLinks) {
        return make_error(Errc::kInvalidInput,
                          "more than " + std::to_string(kMaxCnameLinks) + " CNAMEs from " + start);
      }
      name = target;
      moved = true;
    }
    if (!moved) return name;
  }
}

Result<std::string> find_zone(DnsResolver& resolver, std::string_view fqdn,
                              const std::vector<DnsServer>& servers, bool recursion_desired) {
  const std::string start = dns_fqdn(fqdn);
  std::string name = start;
  std::string last = "no answer";
  for (;;) {
    auto r = resolver.query(name, DnsType::kSoa, servers, recursion_desired);
    if (!r) return std::move(r).error().context("finding the zone of " + start);
    if (r->rcode == 0) {
      for (const auto& rec : r->answers) {
        if (rec.type == DnsType::kSoa && rec.name == name) return name;
      }
    }
    last = name + " SOA: " + dns_rcode_name(r->rcode);
    if (name == ".") break;
    name = parent(name);
  }
  return make_error(Errc::kInvalidInput, "no zone holds " + start + ": no SOA record found at " +
                                             describe_servers(servers) + " (last: " + last + ")");
}

Result<std::vector<DnsServer>> authoritative_servers(DnsResolver& resolver, std::string_view zone,
                                                     const std::vector<DnsServer>& servers) {
  const std::string z = dns_fqdn(zone);
  auto r = resolver.query(z, DnsType::kNs, servers, true);
  if (!r) return std::move(r).error().context("NS of zone " + z);
  std::vector<std::string> names;
  if (r->rcode == 0) {
    for (const auto& rec : r->answers) {
      if (rec.type == DnsType::kNs && rec.name == z) names.push_back(dns_fqdn(rec.data));
    }
  }
  if (names.empty()) {
    return make_error(Errc::kInvalidInput, "zone " + z + " has no NS records (" +
                                               dns_rcode_name(r->rcode) + " from " +
                                               describe_servers(servers) + ")");
  }
  std::vector<DnsServer> out;
  std::string unresolved;
  for (const auto& ns : names) {
    size_t found = 0;
    for (DnsType type : {DnsType::kA, DnsType::kAaaa}) {
      auto a = resolver.query(ns, type, servers, true);
      if (!a || a->rcode != 0) continue;
      for (const auto& rec : a->answers) {
        if (rec.type == type) {
          out.push_back(DnsServer{rec.data, 53});
          ++found;
        }
      }
      if (found > 0) break;  // IPv4 when there is one: IPv6 is often unreachable
    }
    if (found == 0) unresolved += (unresolved.empty() ? "" : ", ") + ns;
  }
  if (out.empty()) {
    return make_error(Errc::kNetwork,
                      "no address found for the name servers of " + z + ": " + unresolved);
  }
  std::sort(out.begin(), out.end(), [](const DnsServer& a, const DnsServer& b) {
    return a.address != b.address ? a.address < b.address : a.port < b.port;
  });
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

Result<void> wait_for_propagation(DnsResolver& resolver, Clock& clock,
                                  const std::vector<TxtExpectation>& expected,
                                  const PropagationOptions& options) {
  const auto start = clock.steady_now();
  const auto deadline = start + options.timeout;
  auto since = [&] {
    return std::to_string(
               std::chrono::duration_cast<std::chrono::seconds>(clock.steady_now() - start)
                   .count()) +
           "s";
  };
  std::vector<Check> checks;
  bool planned = false;
  std::set<std::pair<size_t, size_t>> done;  // (check, server) that served every value
  for (int round = 0;; ++round) {
    std::vector<std::string> pending;
    if (!planned) {
      auto p = plan(resolver, expected, options);
      if (p) {
        checks = std::move(*p);
        planned = true;
      } else if (p.error().code != Errc::kNetwork) {
        return std::move(p).error().context("DNS propagation check");
      } else {
        pending.push_back(p.error().message);  // maybe transient: try again next round
      }
    }
    size_t total = 0;
    for (size_t ci = 0; planned && ci < checks.size(); ++ci) {
      const Check& c = checks[ci];
      for (size_t si = 0; si < c.servers.size(); ++si) {
        ++total;
        if (done.count({ci, si}) != 0) continue;
        const DnsServer& server = c.servers[si];
        auto r = resolver.query(c.fqdn, DnsType::kTxt, {server}, c.recursion_desired);
        if (!r) {
          pending.push_back(r.error().message);
          continue;
        }
        std::set<std::string> have;
        if (r->rcode == 0) {
          for (const auto& rec : r->answers) {
            if (rec.type == DnsType::kTxt && rec.name == c.fqdn) have.insert(rec.data);
          }
        }
        auto missing = std::find_if(c.values.begin(), c.values.end(),
                                    [&](const std::string& v) { return have.count(v) == 0; });
        if (missing == c.values.end()) {
          done.insert({ci, si});
          continue;
        }
        pending.push_back(server.to_string() + " does not serve TXT \"" + *missing + "\" at " +
                          c.fqdn + " (answered " + describe_txt_answer(*r, c.fqdn) + ")");
      }
    }
    if (pending.empty()) {
      if (options.log) {
        options.log("propagation: " + std::to_string(total) +
                    " server answers hold every value (took " + since() + ")");
      }
      return ok();
    }
    const auto now = clock.steady_now();
    if (now >= deadline) {
      std::string msg = "DNS propagation timed out after " + since() + ": " + pending.front();
      if (pending.size() > 1) msg += " (and " + std::to_string(pending.size() - 1) + " more)";
      return make_error(Errc::kTimeout, msg);
    }
    if (clock.cancelled()) return make_error(Errc::kCancelled, "DNS propagation check cancelled");
    if (options.log && round % 5 == 0) {
      options.log("propagation: waiting (" + std::to_string(pending.size()) + " pending), e.g. " +
                  pending.front());
    }
    clock.sleep_for(std::min<Clock::Duration>(
        options.interval, std::chrono::duration_cast<Clock::Duration>(deadline - now)));
    if (clock.cancelled()) return make_error(Errc::kCancelled, "DNS propagation check cancelled");
  }
}

}  // namespace acme
