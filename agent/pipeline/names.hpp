#pragma once
// Certificate names: the one rule for `issue --name`, [[certificate]] name and the store.

#include <string>
#include <string_view>

namespace agent {

// Default certificate name: the first name with "*." written as "_wildcard."; an IPv4
// address as it is; an IPv6 address as "ip-" + its RFC 5952 form with '_' for ':'
// ("2001:DB8::1" -> "ip-2001_db8__1").
std::string default_cert_name(const std::string& first_name);

// The name becomes a directory (OUT/NAME), a lock file and a store key: letters, digits,
// '.', '-', '_', not starting with '.', at most 255 bytes. Compared lower-cased, so
// "a.test" and "A.TEST" are one certificate.
bool valid_cert_name(std::string_view name);
std::string normalize_cert_name(std::string_view name);

}  // namespace agent
