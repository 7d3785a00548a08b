#pragma once
// The certificates table's columns and their mapping to CertificateRecord, shared by both
// store backends (store.cpp for SQLite, postgres_store.cpp): one list of columns, one row
// reader, one visitor over the values to write. Both schemas give every column the same
// name and kind (TEXT, or an integer: booleans are 0/1).

#include <cstdint>
#include <string>

#include "store/store.hpp"

namespace agent::store_detail {

// The columns read_cert expects, in its order (a SELECT list).
inline constexpr const char* kCertColumns =
    "name, domains, key_type, challenge, http01_listen, webroot, out_dir, server, deploy_hook, "
    "not_before, not_after, serial, ari_cert_id, ari_chosen_time, next_check, "
    "consecutive_failures, next_attempt, last_error, last_success, challenge_settings, "
    "ari_window_start, ari_window_end, hook_pending, ca_bundle, revoked_serial, "
    "renew_before_days, preferred_chain, origin, managed, profile, issued_by, outputs, "
    "reuse_key, csr_pem, chain_depth, chain_bytes, persist_until";

// The `outputs` column: extra output files, {"pkcs12": true, "pkcs12_password_file": F}.
std::string outputs_json(const CertificateRecord& c);
void read_outputs(const std::string& text, CertificateRecord& c);
// The `domains` column: a JSON array of names.
std::string domains_json(const CertificateRecord& c);
void read_domains(const std::string& text, CertificateRecord& c);

// Reads one row selected with kCertColumns. Row has text(i) and integer(i) (0-based).
template <typename Row>
CertificateRecord read_cert(const Row& r) {
  CertificateRecord c;
  c.name = r.text(0);
  read_domains(r.text(1), c);
  c.key_type = r.text(2);
  c.challenge = r.text(3);
  c.http01_listen = r.text(4);
  c.webroot = r.text(5);
  c.out_dir = r.text(6);
  c.server = r.text(7);
  c.deploy_hook = r.text(8);
  c.not_before = r.integer(9);
  c.not_after = r.integer(10);
  c.serial = r.text(11);
  c.ari_cert_id = r.text(12);
  c.ari_chosen_time = r.integer(13);
  c.next_check = r.integer(14);
  c.consecutive_failures = static_cast<int>(r.integer(15));
  c.next_attempt = r.integer(16);
  c.last_error = r.text(17);
  c.last_success = r.integer(18);
  c.challenge_settings = r.text(19);
  c.ari_window_start = r.integer(20);
  c.ari_window_end = r.integer(21);
  c.hook_pending = r.integer(22) != 0;
  c.ca_bundle = r.text(23);
  c.revoked_serial = r.text(24);
  c.renew_before_days = static_cast<int>(r.integer(25));
  c.preferred_chain = r.text(26);
  c.origin = r.text(27);
  c.managed = r.integer(28) != 0;
  c.profile = r.text(29);
  c.issued_by = r.text(30);
  read_outputs(r.text(31), c);
  c.reuse_key = r.integer(32) != 0;
  c.csr_pem = r.text(33);
  c.chain_depth = static_cast<int>(r.integer(34));
  c.chain_bytes = r.integer(35);
  c.persist_until = r.integer(36);
  return c;
}

// Calls f(column, value) for every column of kCertColumns in its order, value a
// std::string or an int64_t, normalized as both stores write it ("{}" settings, "issue"
// origin). settings_only: just the columns the config owns (update_certificate_settings).
template <typename F>
void for_each_cert_value(const CertificateRecord& c, F&& f, bool settings_only = false) {
  const auto s = [&](const char* col, const std::string& v) { f(col, v); };
  const auto i = [&](const char* col, int64_t v) { f(col, v); };
  const auto issued = [&](const char* col, auto v) {
    if (!settings_only) f(col, v);
  };
  issued("name", c.name);
  s("domains", domains_json(c));
  s("key_type", c.key_type);
  s("challenge", c.challenge);
  s("http01_listen", c.http01_listen);
  s("webroot", c.webroot);
  s("out_dir", c.out_dir);
  s("server", c.server);
  s("deploy_hook", c.deploy_hook);
  issued("not_before", c.not_before);
  issued("not_after", c.not_after);
  issued("serial", c.serial);
  issued("ari_cert_id", c.ari_cert_id);
  issued("ari_chosen_time", c.ari_chosen_time);
  issued("next_check", c.next_check);
  issued("consecutive_failures", int64_t{c.consecutive_failures});
  issued("next_attempt", c.next_attempt);
  issued("last_error", c.last_error);
  issued("last_success", c.last_success);
  s("challenge_settings", c.challenge_settings.empty() ? std::string("{}") : c.challenge_settings);
  issued("ari_window_start", c.ari_window_start);
  issued("ari_window_end", c.ari_window_end);
  issued("hook_pending", int64_t{c.hook_pending ? 1 : 0});
  s("ca_bundle", c.ca_bundle);
  issued("revoked_serial", c.revoked_serial);
  i("renew_before_days", c.renew_before_days);
  s("preferred_chain", c.preferred_chain);
  s("origin", c.origin.empty() ? std::string("issue") : c.origin);
  i("managed", c.managed ? 1 : 0);
  s("profile", c.profile);
  issued("issued_by", c.issued_by);
  s("outputs", outputs_json(c));
  i("reuse_key", c.reuse_key ? 1 : 0);
  s("csr_pem", c.csr_pem);
  issued("chain_depth", int64_t{c.chain_depth});
  issued("chain_bytes", c.chain_bytes);
  i("persist_until", c.persist_until);
}

}  // namespace agent::store_detail
