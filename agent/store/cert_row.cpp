#include "store/cert_row.hpp"

#include <nlohmann/json.hpp>

namespace agent::store_detail {

std::string outputs_json(const CertificateRecord& c) {
  nlohmann::json j = nlohmann::json::object();
  if (c.pkcs12) j["pkcs12"] = true;
  if (!c.pkcs12_password_file.empty()) j["pkcs12_password_file"] = c.pkcs12_password_file;
  return j.dump();
}

void read_outputs(const std::string& text, CertificateRecord& c) {
  auto j = nlohmann::json::parse(text, nullptr, false);
  if (!j.is_object()) return;
  if (auto it = j.find("pkcs12"); it != j.end() && it->is_boolean()) c.pkcs12 = it->get<bool>();
  if (auto it = j.find("pkcs12_password_file"); it != j.end() && it->is_string()) {
    c.pkcs12_password_file = it->get<std::string>();
  }
}

std::string domains_json(const CertificateRecord& c) { return nlohmann::json(c.domains).dump(); }

void read_domains(const std::string& text, CertificateRecord& c) {
  auto domains = nlohmann::json::parse(text, nullptr, false);
  if (!domains.is_array()) return;
  for (const auto& d : domains) {
    if (d.is_string()) c.domains.push_back(d.get<std::string>());
  }
}

}  // namespace agent::store_detail
