#pragma once
// Internals of the DNS-01 sources shared between them and with the unit tests. Not part of
// libacme's public interface.

#include <chrono>
#include <string>
#include <string_view>
#include <vector>

#include "acme/dns01.hpp"

namespace acme::detail {

// RFC 8945 §6 algorithm names as DNS names, as they go on the wire: "hmac-sha256.".
std::string_view tsig_algorithm_dname(TsigAlgorithm algorithm) noexcept;
// RFC 8945 §5.3 / RFC 6895 TSIG error codes: 16 "BADSIG", 17 "BADKEY", 18 "BADTIME", ...
std::string tsig_error_name(int error);
// Base64 as TSIG secrets are written in named.conf (RFC 4648 §4, padding optional).
bool is_base64(std::string_view text) noexcept;

// The exec provider's command line: PROGRAM ACTION FQDN VALUE (no shell involved).
std::vector<std::string> exec_hook_argv(const std::string& program, std::string_view action,
                                        const std::string& fqdn, const std::string& value);
// The hook's environment: ours, minus ACMECTL_DNS01_*, plus ACMECTL_DNS01_ACTION, _FQDN,
// _VALUE (so a hook may read either).
std::vector<std::string> exec_hook_env(char* const* base, std::string_view action,
                                       const std::string& fqdn, const std::string& value);
// The last non-empty line of a program's stderr, trimmed and at most 300 characters.
std::string last_line(std::string_view output);

// The RFC 2136 UPDATE message for one TXT value (RFC 2136 §2.5.1 add, §2.5.4 delete one
// RR), TSIG-signed (RFC 8945 §5.1), in wire format. `mac` receives the request MAC, which
// the reply's TSIG covers (RFC 8945 §5.3).
struct UpdateMessage {
  std::string wire;
  std::string mac;  // opaque: the request's MAC rdata, kept for verifying the reply
  uint16_t id = 0;
};
Result<UpdateMessage> build_txt_update(const std::string& zone, const std::string& fqdn,
                                       const std::string& value, bool add, uint32_t ttl,
                                       const Rfc2136Options& options);

// What an UPDATE reply says, checked against the request: success, or an Error naming the
// rcode and, when the server refused the TSIG, its TSIG error (BADSIG, BADKEY, BADTIME).
Result<void> check_update_reply(const std::string& reply_wire, const UpdateMessage& request,
                                const Rfc2136Options& options);

}  // namespace acme::detail
