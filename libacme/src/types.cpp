// RFC 8555 §7.1 resource objects from JSON. Unknown fields ignored; required ones checked.
#include "acme/types.hpp"

#include <time.h>

#include <array>
#include <initializer_list>
#include <utility>

#include "acme/escape.hpp"
#include "acme/problem.hpp"

namespace acme {
namespace {

using nlohmann::json;

std::string str(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

Error missing(const char* what, const char* field) {
  return make_error(Errc::kProtocol,
                    std::string(what) + " object has no valid \"" + field + "\" field");
}

template <class E, std::size_t N>
std::string_view name_of(const std::array<std::pair<E, std::string_view>, N>& table, E value) {
  for (const auto& [v, name] : table) {
    if (v == value) return name;
  }
  return "unknown";
}

template <class E, std::size_t N>
std::optional<E> value_of(const std::array<std::pair<E, std::string_view>, N>& table,
                          std::string_view text) {
  for (const auto& [v, name] : table) {
    if (name == text) return v;
  }
  return std::nullopt;
}

constexpr std::array<std::pair<OrderStatus, std::string_view>, 5> kOrderStatuses{{
    {OrderStatus::kPending, "pending"},
    {OrderStatus::kReady, "ready"},
    {OrderStatus::kProcessing, "processing"},
    {OrderStatus::kValid, "valid"},
    {OrderStatus::kInvalid, "invalid"},
}};
constexpr std::array<std::pair<AuthorizationStatus, std::string_view>, 6> kAuthorizationStatuses{{
    {AuthorizationStatus::kPending, "pending"},
    {AuthorizationStatus::kValid, "valid"},
    {AuthorizationStatus::kInvalid, "invalid"},
    {AuthorizationStatus::kDeactivated, "deactivated"},
    {AuthorizationStatus::kExpired, "expired"},
    {AuthorizationStatus::kRevoked, "revoked"},
}};
constexpr std::array<std::pair<ChallengeStatus, std::string_view>, 4> kChallengeStatuses{{
    {ChallengeStatus::kPending, "pending"},
    {ChallengeStatus::kProcessing, "processing"},
    {ChallengeStatus::kValid, "valid"},
    {ChallengeStatus::kInvalid, "invalid"},
}};

// The "status" member through `parse`; a missing or unknown value is a kProtocol error.
template <class E, class Parse>
Result<E> status_member(const json& j, const char* what, Parse parse) {
  const std::string text = str(j, "status");
  if (text.empty()) return missing(what, "status");
  if (auto v = parse(text)) return *v;
  return make_error(Errc::kProtocol, std::string(what) + " has an unknown status \"" +
                                         escape_control(text.substr(0, 40)) + "\"");
}

// Copies the members `names` of `from` that are strings into `to`.
void copy_strings(const json& from, std::initializer_list<const char*> names, json& to) {
  for (const char* name : names) {
    if (auto it = from.find(name); it != from.end() && it->is_string()) to[name] = *it;
  }
}

// An embedded problem document (an order's or a challenge's "error") goes through
// parse_problem, the one problem parser. Only the members it reads (RFC 8555 §6.7, §6.7.1)
// are handed over, so the text is small and flat: dumping the whole member let a CA put a
// deeply nested extra field in it ({"x":[[[[...]]]]}, 400 KB) and overflow the stack in
// nlohmann's recursive dump(). A member parse_problem starts to read must be added here.
std::optional<Problem> problem_member(const json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_object()) return std::nullopt;
  json flat = json::object();
  copy_strings(*it, {"type", "title", "detail"}, flat);
  if (auto st = it->find("status"); st != it->end() && st->is_number()) flat["status"] = *st;
  if (auto subs = it->find("subproblems"); subs != it->end() && subs->is_array()) {
    json out = json::array();
    for (const auto& s : *subs) {
      if (!s.is_object()) continue;
      json sub = json::object();
      copy_strings(s, {"type", "detail"}, sub);
      if (auto id = s.find("identifier"); id != s.end() && id->is_object()) {
        json ident = json::object();
        copy_strings(*id, {"type", "value"}, ident);
        sub["identifier"] = std::move(ident);
      }
      out.push_back(std::move(sub));
    }
    flat["subproblems"] = std::move(out);
  }
  return parse_problem(flat.dump());
}

Result<Identifier> parse_identifier(const json& j) {
  if (!j.is_object()) return missing("identifier", "type");
  Identifier id{str(j, "type"), str(j, "value")};
  if (id.type.empty()) return missing("identifier", "type");
  if (id.value.empty()) return missing("identifier", "value");
  return id;
}

// RFC 3339 timestamps as used by ARI: "2025-01-02T04:00:00Z", fractions and offsets allowed.
std::optional<std::chrono::system_clock::time_point> parse_rfc3339(const std::string& s) {
  struct tm tm {};
  const char* p = strptime(s.c_str(), "%Y-%m-%dT%H:%M:%S", &tm);
  if (p == nullptr) return std::nullopt;
  if (*p == '.') {
    ++p;
    while (*p >= '0' && *p <= '9') ++p;
  }
  long offset = 0;
  if (*p == 'Z' || *p == 'z') {
    ++p;
  } else if (*p == '+' || *p == '-') {
    // RFC 3339 §5.6 time-numoffset: exactly ("+" / "-") 2DIGIT ":" 2DIGIT. Checked digit by
    // digit: sscanf("%2d") also takes "+1:5", and stepping 6 characters past that read
    // beyond the string.
    const auto digit = [](char c) { return c >= '0' && c <= '9'; };
    if (!digit(p[1]) || !digit(p[2]) || p[3] != ':' || !digit(p[4]) || !digit(p[5])) {
      return std::nullopt;
    }
    const int hh = (p[1] - '0') * 10 + (p[2] - '0');
    const int mm = (p[4] - '0') * 10 + (p[5] - '0');
    if (hh > 23 || mm > 59) return std::nullopt;
    offset = (hh * 3600L + mm * 60L) * (*p == '+' ? 1 : -1);
    p += 6;
  } else {
    return std::nullopt;
  }
  if (*p != '\0') return std::nullopt;
  const time_t t = timegm(&tm);
  // system_clock counts nanoseconds in 64 bits (years 1678 to 2262 with libstdc++): a time
  // outside that overflowed in from_time_t (UB). No renewal window lies there.
  constexpr auto kLimit =
      std::chrono::duration_cast<std::chrono::seconds>(std::chrono::system_clock::duration::max())
          .count() -
      86400;
  if (t == static_cast<time_t>(-1) || t < -kLimit || t > kLimit) return std::nullopt;
  return std::chrono::system_clock::from_time_t(t - offset);
}

}  // namespace

std::string_view to_string(OrderStatus status) noexcept { return name_of(kOrderStatuses, status); }
std::string_view to_string(AuthorizationStatus status) noexcept {
  return name_of(kAuthorizationStatuses, status);
}
std::string_view to_string(ChallengeStatus status) noexcept {
  return name_of(kChallengeStatuses, status);
}
std::optional<OrderStatus> parse_order_status(std::string_view text) noexcept {
  return value_of(kOrderStatuses, text);
}
std::optional<AuthorizationStatus> parse_authorization_status(std::string_view text) noexcept {
  return value_of(kAuthorizationStatuses, text);
}
std::optional<ChallengeStatus> parse_challenge_status(std::string_view text) noexcept {
  return value_of(kChallengeStatuses, text);
}

const Challenge* Authorization::find_challenge(std::string_view type) const {
  for (const auto& c : challenges) {
    if (c.type == type) return &c;
  }
  return nullptr;
}

Result<Directory> parse_directory(const json& j) {
  if (!j.is_object()) return make_error(Errc::kProtocol, "directory is not a JSON object");
  Directory d;
  d.new_nonce = str(j, "newNonce");
  d.new_account = str(j, "newAccount");
  d.new_order = str(j, "newOrder");
  d.revoke_cert = str(j, "revokeCert");
  d.key_change = str(j, "keyChange");
  d.new_authz = str(j, "newAuthz");
  d.renewal_info = str(j, "renewalInfo");
  if (d.new_nonce.empty()) return missing("directory", "newNonce");
  if (d.new_account.empty()) return missing("directory", "newAccount");
  if (d.new_order.empty()) return missing("directory", "newOrder");
  if (auto m = j.find("meta"); m != j.end() && m->is_object()) {
    d.terms_of_service = str(*m, "termsOfService");
    d.website = str(*m, "website");
    if (auto c = m->find("caaIdentities"); c != m->end() && c->is_array()) {
      for (const auto& v : *c) {
        if (v.is_string()) d.caa_identities.push_back(v.get<std::string>());
      }
    }
    if (auto c = m->find("issuerDomainNames"); c != m->end() && c->is_array()) {
      for (const auto& v : *c) {
        if (v.is_string()) d.issuer_domain_names.push_back(v.get<std::string>());
      }
    }
    if (auto e = m->find("externalAccountRequired"); e != m->end() && e->is_boolean()) {
      d.external_account_required = e->get<bool>();
    }
    if (auto pr = m->find("profiles"); pr != m->end() && pr->is_object()) {
      for (const auto& [name, description] : pr->items()) {
        d.profiles[name] = description.is_string() ? description.get<std::string>() : "";
      }
    }
  }
  return d;
}

Result<Account> parse_account(const json& j) {
  if (!j.is_object()) return make_error(Errc::kProtocol, "account is not a JSON object");
  Account a;
  a.status = str(j, "status");
  if (a.status.empty()) return missing("account", "status");
  a.orders = str(j, "orders");
  if (auto c = j.find("contact"); c != j.end() && c->is_array()) {
    for (const auto& v : *c) {
      if (v.is_string()) a.contact.push_back(v.get<std::string>());
    }
  }
  return a;
}

Result<Challenge> parse_challenge(const json& j) {
  if (!j.is_object()) return make_error(Errc::kProtocol, "challenge is not a JSON object");
  Challenge c;
  c.type = str(j, "type");
  c.url = str(j, "url");
  c.token = str(j, "token");
  if (auto n = j.find("issuerDomainNames"); n != j.end() && n->is_array()) {
    for (const auto& v : *n) {
      if (v.is_string()) c.issuer_domain_names.push_back(v.get<std::string>());
    }
  }
  c.error = problem_member(j, "error");
  if (c.type.empty()) return missing("challenge", "type");
  if (c.url.empty()) return missing("challenge", "url");
  ACME_ASSIGN(c.status, status_member<ChallengeStatus>(j, "challenge", parse_challenge_status));
  return c;
}

Result<Authorization> parse_authorization(const json& j) {
  if (!j.is_object()) return make_error(Errc::kProtocol, "authorization is not a JSON object");
  Authorization a;
  auto id_it = j.find("identifier");
  if (id_it == j.end()) return missing("authorization", "identifier");
  ACME_ASSIGN(a.identifier, parse_identifier(*id_it));
  ACME_ASSIGN(a.status,
              status_member<AuthorizationStatus>(j, "authorization", parse_authorization_status));
  a.expires = str(j, "expires");
  if (auto w = j.find("wildcard"); w != j.end() && w->is_boolean()) a.wildcard = w->get<bool>();
  auto ch = j.find("challenges");
  if (ch == j.end() || !ch->is_array()) return missing("authorization", "challenges");
  for (const auto& c : *ch) {
    auto parsed = parse_challenge(c);
    // RFC 8555 §7.1.4: clients ignore challenges they cannot parse or do not support.
    if (parsed) a.challenges.push_back(std::move(*parsed));
  }
  return a;
}

Result<Order> parse_order(const json& j) {
  if (!j.is_object()) return make_error(Errc::kProtocol, "order is not a JSON object");
  Order o;
  ACME_ASSIGN(o.status, status_member<OrderStatus>(j, "order", parse_order_status));
  o.expires = str(j, "expires");
  o.finalize = str(j, "finalize");
  o.certificate = str(j, "certificate");
  o.replaces = str(j, "replaces");
  o.profile = str(j, "profile");
  o.error = problem_member(j, "error");
  if (auto ids = j.find("identifiers"); ids != j.end() && ids->is_array()) {
    for (const auto& i : *ids) {
      ACME_ASSIGN(auto id, parse_identifier(i));
      o.identifiers.push_back(std::move(id));
    }
  }
  auto az = j.find("authorizations");
  if (az == j.end() || !az->is_array()) return missing("order", "authorizations");
  for (const auto& u : *az) {
    if (!u.is_string()) return missing("order", "authorizations");
    o.authorizations.push_back(u.get<std::string>());
  }
  if (o.finalize.empty()) return missing("order", "finalize");
  return o;
}

Result<RenewalInfo> parse_renewal_info(const json& j) {
  if (!j.is_object()) return make_error(Errc::kProtocol, "renewalInfo is not a JSON object");
  auto sw = j.find("suggestedWindow");
  if (sw == j.end() || !sw->is_object()) return missing("renewalInfo", "suggestedWindow");
  auto start = parse_rfc3339(str(*sw, "start"));
  auto end = parse_rfc3339(str(*sw, "end"));
  if (!start) return missing("renewalInfo suggestedWindow", "start");
  if (!end) return missing("renewalInfo suggestedWindow", "end");
  // RFC 9773 §4.2: a window whose end is not after its start is invalid.
  if (*end <= *start) {
    return make_error(Errc::kProtocol, "renewalInfo suggestedWindow ends before it starts");
  }
  RenewalInfo r;
  r.window_start = *start;
  r.window_end = *end;
  r.explanation_url = str(j, "explanationURL");
  return r;
}

}  // namespace acme
