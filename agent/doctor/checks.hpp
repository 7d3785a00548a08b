#pragma once
// The individual doctor checks (doctor.cpp runs them in order). Internal to agent/doctor.

#include <string>
#include <vector>

#include "acme/dns01.hpp"
#include "doctor/doctor.hpp"

namespace agent::doctor_detail {

// (a) A and AAAA of `domain` through the options' resolvers; `addresses` receives every
// address found (the http-01 check connects to them).
Finding check_resolve(acme::DnsResolver& resolver, const DoctorOptions& options,
                      const std::string& domain, std::vector<std::string>& addresses);

// (b) RFC 8659 §3: the relevant CAA RRset, found by walking up from `domain`, must permit
// one of `identities` (empty: the CA names none; a CAA that restricts issuance is then a
// warning, since it cannot be told whether it allows this CA).
Finding check_caa(acme::DnsResolver& resolver, const DoctorOptions& options,
                  const std::string& domain, const std::vector<std::string>& identities);

// (c) A random token through the target's solver (the built-in responder on its listen
// address, or its webroot), fetched back at http://DOMAIN:PORT/ on `addresses`, removed.
Finding check_http01(const DoctorOptions& options, const DoctorTarget& target,
                     const std::string& domain, const std::vector<std::string>& addresses);

// (d) A test TXT value for every domain of the target through its DNS provider, waited for
// at the authoritative servers (or --dns-resolver), removed.
Finding check_dns01(const DoctorOptions& options, const DoctorTarget& target);

// A fresh random base64url token (32 bytes of entropy).
std::string random_token();

}  // namespace agent::doctor_detail
