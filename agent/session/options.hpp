#pragma once
// The settings every command shares (INTERFACE.md "Global options"), after the command
// line, the environment and the config file were merged.

#include <string>

namespace agent {

struct GlobalOptions {
  std::string state_dir;
  std::string config;
  std::string server;
  std::string ca_bundle;
  std::string email;
  bool agree_tos = false;
  // External Account Binding (RFC 8555 §7.3.4), used when the account is registered. The
  // MAC key (base64url) comes from --eab-hmac-key / ACMECTL_EAB_HMAC_KEY or is read from
  // eab_hmac_key_file; it is never stored in the database nor logged.
  std::string eab_kid;
  std::string eab_hmac_key;
  std::string eab_hmac_key_file;
  std::string eab_alg;  // "": HS256
  bool json = false;
  std::string log_level = "info";
  std::string log_format = "text";
};

}  // namespace agent
