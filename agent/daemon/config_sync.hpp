#pragma once
// The config's [[certificate]] list applied to the store: by the agent at start and on
// SIGHUP, and by `acmectl renew` (the timer's one-shot pass) before it looks for what is
// due, so both deployments issue what the config lists. A certificate never issued
// becomes due; one whose names (or CSR) changed is reissued; an existing record gets only
// the settings the config owns (never the issued state a concurrent renewal may write);
// one the config no longer lists stops being renewed (unmanaged, files and record kept).

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "acme/result.hpp"
#include "config/config.hpp"
#include "session/options.hpp"
#include "store/store.hpp"

namespace agent {

struct ConfigSync {
  // Installed certificates whose names changed (and not backing off): renew them even
  // though they are not due.
  std::set<std::string> reissue;
};

// `each`, when given, sees every record of the store once, as the sweep leaves it (the
// agent notes what its shared listeners need from it: start-up reads the store once).
acme::Result<ConfigSync> sync_configured_certificates(
    Store& store, const std::vector<CertificateConfig>& certs, const GlobalOptions& g,
    const std::function<void(const CertificateRecord&)>& each = {});

}  // namespace agent
