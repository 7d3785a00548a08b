#include "acme/problem.hpp"

#include <nlohmann/json.hpp>

#include "acme/escape.hpp"

namespace acme {
namespace {

// Text from the CA is escaped as it arrives (issue 13 finding 7): no control character or
// terminal escape in a problem document reaches a log, the store or a terminal raw. Line
// breaks and tabs become spaces: a detail is read as one line.
std::string str_member(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  std::string text = it->get<std::string>();
  for (char& c : text) {
    if (c == '\n' || c == '\r' || c == '\t') c = ' ';
  }
  return escape_control(text);
}

std::optional<Identifier> identifier_member(const nlohmann::json& j) {
  auto it = j.find("identifier");
  if (it == j.end() || !it->is_object()) return std::nullopt;
  return Identifier{str_member(*it, "type"), str_member(*it, "value")};
}

}  // namespace

std::string Problem::acme_type() const {
  if (type.rfind(kAcmeErrorPrefix, 0) == 0) return type.substr(kAcmeErrorPrefix.size());
  return type;
}

std::string Problem::describe() const {
  std::string out = acme_type();
  if (!detail.empty()) out += ": " + detail;
  if (!subproblems.empty()) {
    out += " (";
    bool first = true;
    for (const auto& sub : subproblems) {
      if (!first) out += "; ";
      first = false;
      if (sub.identifier) out += sub.identifier->value + ": ";
      std::string t = sub.type;
      if (t.rfind(kAcmeErrorPrefix, 0) == 0) t = t.substr(kAcmeErrorPrefix.size());
      out += t;
      if (!sub.detail.empty()) out += ": " + sub.detail;
    }
    out += ")";
  }
  return out;
}

std::optional<Problem> parse_problem(std::string_view body) {
  nlohmann::json j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (!j.is_object()) return std::nullopt;
  Problem p;
  p.type = str_member(j, "type");
  if (p.type.empty()) return std::nullopt;
  p.title = str_member(j, "title");
  p.detail = str_member(j, "detail");
  if (auto it = j.find("status"); it != j.end() && it->is_number_integer()) {
    p.status = it->get<int>();
  }
  // RFC 8555 §6.7.1: subproblems, each with its own identifier.
  if (auto it = j.find("subproblems"); it != j.end() && it->is_array()) {
    for (const auto& s : *it) {
      if (!s.is_object()) continue;
      p.subproblems.push_back(
          {str_member(s, "type"), str_member(s, "detail"), identifier_member(s)});
    }
  }
  return p;
}

}  // namespace acme
