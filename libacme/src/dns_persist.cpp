// dns-persist-01 record layout (draft-ietf-acme-dns-persist-00/-01 §4.1).
#include "acme/dns_persist.hpp"

#include <cctype>
#include <charconv>
#include <ctime>

namespace acme {
namespace {

std::string lower(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

}  // namespace

std::string dns_persist_record_name(std::string_view name) {
  if (name.substr(0, 2) == "*.") name.remove_prefix(2);
  return "_validation-persist." + lower(name) + ".";
}

std::string dns_persist_record_value(const PersistRecord& r) {
  std::string out = r.issuer_domain + "; accounturi=" + r.account_uri;
  if (r.wildcard) out += "; policy=wildcard";
  if (r.persist_until) out += "; persistUntil=" + std::to_string(*r.persist_until);
  return out;
}

Result<PersistRecord> parse_dns_persist_record(std::string_view value) {
  PersistRecord r;
  std::size_t semi = value.find(';');
  r.issuer_domain = lower(trim(value.substr(0, semi)));
  if (r.issuer_domain.empty()) {
    return make_error(Errc::kInvalidInput, "dns-persist-01 record without an issuer domain name");
  }
  while (semi != std::string_view::npos) {
    value.remove_prefix(semi + 1);
    semi = value.find(';');
    const std::string_view param = trim(value.substr(0, semi));
    if (param.empty()) continue;
    const std::size_t eq = param.find('=');
    if (eq == std::string_view::npos) {
      return make_error(Errc::kInvalidInput,
                        "dns-persist-01 record parameter without '=': " + std::string(param));
    }
    const std::string tag = lower(trim(param.substr(0, eq)));
    const std::string_view val = trim(param.substr(eq + 1));
    if (tag == "accounturi") {
      r.account_uri = std::string(val);
    } else if (tag == "policy") {
      r.wildcard = lower(val) == "wildcard";
    } else if (tag == "persistuntil") {
      std::int64_t t = 0;
      auto [end, ec] = std::from_chars(val.data(), val.data() + val.size(), t);
      if (ec != std::errc() || end != val.data() + val.size() || t < 0) {
        return make_error(Errc::kInvalidInput,
                          "dns-persist-01 persistUntil is not unix seconds: " + std::string(val));
      }
      r.persist_until = t;
    }  // RFC 8659 §4.2 / the draft: unknown tags are ignored
  }
  if (r.account_uri.empty()) {
    return make_error(Errc::kInvalidInput, "dns-persist-01 record without accounturi");
  }
  return r;
}

Result<std::string> dns_persist_issuer(const std::vector<std::string>& issuer_domain_names,
                                       const std::vector<std::string>& caa_identities,
                                       const std::string& url) {
  const auto& names = !issuer_domain_names.empty() ? issuer_domain_names : caa_identities;
  if (names.empty() || names.front().empty()) {
    return make_error(Errc::kInvalidInput,
                      "the CA at " + url +
                          " names no issuer domain (meta.issuerDomainNames or caaIdentities): "
                          "it does not offer dns-persist-01");
  }
  std::string issuer = lower(names.front());
  if (!issuer.empty() && issuer.back() == '.') issuer.pop_back();
  return issuer;
}

Result<std::int64_t> parse_persist_until(std::string_view text) {
  auto bad = [&] {
    return make_error(Errc::kInvalidInput,
                      "--persist-until " + std::string(text) +
                          ": use unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ");
  };
  if (text.empty()) return bad();
  std::int64_t secs = 0;
  auto [end, ec] = std::from_chars(text.data(), text.data() + text.size(), secs);
  if (ec == std::errc() && end == text.data() + text.size()) {
    if (secs <= 0) return bad();
    return secs;
  }
  std::tm tm{};
  const std::string s(text);
  const char* rest = nullptr;
  if (s.size() == 10) {
    rest = strptime(s.c_str(), "%Y-%m-%d", &tm);
  } else if (s.size() == 20 && s.back() == 'Z') {
    rest = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%SZ", &tm);
  }
  if (rest == nullptr || *rest != '\0') return bad();
  const std::time_t t = timegm(&tm);
  if (t <= 0) return bad();
  return static_cast<std::int64_t>(t);
}

}  // namespace acme
