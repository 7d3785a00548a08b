// DNS-01 vocabulary: server addresses, names, record types, rcodes, TSIG algorithm names.
#include <arpa/inet.h>

#include <cctype>

#include "acme/dns01.hpp"
#include "dns01_detail.hpp"

namespace acme {
namespace {

bool is_ip_literal(const std::string& text) {
  unsigned char buf[16];
  return ::inet_pton(AF_INET, text.c_str(), buf) == 1 ||
         ::inet_pton(AF_INET6, text.c_str(), buf) == 1;
}

Result<uint16_t> parse_port(std::string_view text, std::string_view whole) {
  if (text.empty() || text.size() > 5) {
    return make_error(Errc::kInvalidInput,
                      "DNS server \"" + std::string(whole) + "\": port must be 1-65535");
  }
  unsigned value = 0;
  for (char c : text) {
    if (c < '0' || c > '9') {
      return make_error(Errc::kInvalidInput,
                        "DNS server \"" + std::string(whole) + "\": port must be 1-65535");
    }
    value = value * 10 + static_cast<unsigned>(c - '0');
  }
  if (value == 0 || value > 65535) {
    return make_error(Errc::kInvalidInput,
                      "DNS server \"" + std::string(whole) + "\": port must be 1-65535");
  }
  return static_cast<uint16_t>(value);
}

}  // namespace

std::string DnsServer::to_string() const {
  if (address.find(':') != std::string::npos) {
    return "[" + address + "]:" + std::to_string(port);
  }
  return address + ":" + std::to_string(port);
}

Result<DnsServer> parse_dns_server(std::string_view text) {
  const std::string whole(text);
  DnsServer out;
  std::string_view addr = text;
  std::string_view port;
  bool has_port = false;
  if (!text.empty() && text.front() == '[') {
    const auto close = text.find(']');
    if (close == std::string_view::npos) {
      return make_error(Errc::kInvalidInput, "DNS server \"" + whole + "\": missing ']'");
    }
    addr = text.substr(1, close - 1);
    std::string_view rest = text.substr(close + 1);
    if (!rest.empty()) {
      if (rest.front() != ':') {
        return make_error(Errc::kInvalidInput,
                          "DNS server \"" + whole + "\": expected ADDR:PORT or [ADDR]:PORT");
      }
      port = rest.substr(1);
      has_port = true;
    }
  } else if (const auto colon = text.find(':');
             colon != std::string_view::npos &&
             text.find(':', colon + 1) == std::string_view::npos) {
    addr = text.substr(0, colon);
    port = text.substr(colon + 1);
    has_port = true;
  }
  out.address = std::string(addr);
  if (out.address.empty() || !is_ip_literal(out.address)) {
    return make_error(Errc::kInvalidInput, "DNS server \"" + whole +
                                               "\": expected an IP address and port, "
                                               "ADDR:PORT or [IPv6]:PORT");
  }
  if (has_port) {
    ACME_ASSIGN(out.port, parse_port(port, text));
  }
  return out;
}

std::string dns_fqdn(std::string_view name) {
  std::string out;
  out.reserve(name.size() + 1);
  for (char c : name) out.push_back(static_cast<char>(std::tolower(static_cast<unsigned char>(c))));
  while (out.size() > 1 && out.back() == '.' && out[out.size() - 2] == '.') out.pop_back();
  if (out.empty() || out.back() != '.') out.push_back('.');
  return out;
}

std::string dns01_record_name(std::string_view identifier) {
  if (identifier.substr(0, 2) == "*.") identifier.remove_prefix(2);
  return dns_fqdn("_acme-challenge." + std::string(identifier));
}

std::string_view to_string(DnsType type) noexcept {
  switch (type) {
    case DnsType::kA: return "A";
    case DnsType::kNs: return "NS";
    case DnsType::kCname: return "CNAME";
    case DnsType::kSoa: return "SOA";
    case DnsType::kTxt: return "TXT";
    case DnsType::kAaaa: return "AAAA";
    case DnsType::kCaa: return "CAA";
  }
  return "?";
}

std::string dns_rcode_name(int rcode) {
  // RFC 1035 §4.1.1, RFC 2136 §2.2.
  static constexpr const char* kNames[] = {"NOERROR", "FORMERR", "SERVFAIL", "NXDOMAIN",
                                           "NOTIMP",  "REFUSED", "YXDOMAIN", "YXRRSET",
                                           "NXRRSET", "NOTAUTH", "NOTZONE"};
  if (rcode >= 0 && rcode < static_cast<int>(std::size(kNames))) return kNames[rcode];
  return "RCODE" + std::to_string(rcode);
}

Result<TsigAlgorithm> parse_tsig_algorithm(std::string_view name) {
  std::string n = dns_fqdn(name);
  if (n == "hmac-sha256.") return TsigAlgorithm::kHmacSha256;
  if (n == "hmac-sha512.") return TsigAlgorithm::kHmacSha512;
  if (n == "hmac-sha1.") return TsigAlgorithm::kHmacSha1;
  return make_error(Errc::kInvalidInput, "TSIG algorithm \"" + std::string(name) +
                                             "\": use hmac-sha256, hmac-sha512 or hmac-sha1");
}

std::string_view to_string(TsigAlgorithm algorithm) noexcept {
  switch (algorithm) {
    case TsigAlgorithm::kHmacSha256: return "hmac-sha256";
    case TsigAlgorithm::kHmacSha512: return "hmac-sha512";
    case TsigAlgorithm::kHmacSha1: return "hmac-sha1";
  }
  return "?";
}

namespace detail {

std::string_view tsig_algorithm_dname(TsigAlgorithm algorithm) noexcept {
  switch (algorithm) {
    case TsigAlgorithm::kHmacSha256: return "hmac-sha256.";
    case TsigAlgorithm::kHmacSha512: return "hmac-sha512.";
    case TsigAlgorithm::kHmacSha1: return "hmac-sha1.";
  }
  return "hmac-sha256.";
}

std::string tsig_error_name(int error) {
  // RFC 8945 §5.3 and the IANA "TSIG Error values" (RFC 6895 §2.3).
  switch (error) {
    case 0: return "NOERROR";
    case 16: return "BADSIG";
    case 17: return "BADKEY";
    case 18: return "BADTIME";
    case 19: return "BADMODE";
    case 20: return "BADNAME";
    case 21: return "BADALG";
    case 22: return "BADTRUNC";
    default: return "error " + std::to_string(error);
  }
}

bool is_base64(std::string_view text) noexcept {
  size_t n = 0;
  size_t pad = 0;
  for (char c : text) {
    const bool alnum = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
    if (c == '=') {
      ++pad;
      continue;
    }
    if (pad > 0) return false;  // data after padding
    if (!alnum && c != '+' && c != '/') return false;
    ++n;
  }
  if (n == 0 || pad > 2) return false;
  if (pad > 0 && (n + pad) % 4 != 0) return false;
  return n % 4 != 1;
}

}  // namespace detail
}  // namespace acme
