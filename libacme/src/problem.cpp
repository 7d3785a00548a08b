#include "acme/problem.hpp"

#include <nlohmann/json.hpp>

namespace acme {
namespace {

std::string str_member(const nlohmann::json& j, const char* key) {
  auto it = j.find(key);
  if (it == j.end() || !it->is_string()) return {};
  return it->get<std::string>();
}

std::optional<Identifier> identifier_member(const nlohmann::json& j) {
  auto it = j.find("identifier");
  if (it == j.end() || !it->is_object()) return std::nullopt;
  return Identifier{str_member(*it, "type"), str_member(*it, "value")};
}

}  // namespace

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
      p.subproblems.push_back({str_member(s, "type"), str_member(s, "detail"),
                               identifier_member(s)});
    }
  }
  return p;
}

}  // namespace acme
