#pragma once
// `acmectl delete --purge`: removes a certificate's files (OUT/NAME and OUT/.NAME.d) without
// ever following a symbolic link: everything is removed relative to directory fds opened
// with O_NOFOLLOW, so a link planted inside cannot make it delete anything elsewhere.

#include <string>

#include "acme/result.hpp"

namespace agent {

acme::Result<void> remove_certificate_files(const std::string& out_root, const std::string& name);

}  // namespace agent
