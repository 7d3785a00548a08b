#pragma once
// certbot-style hints after an error line: what usually causes it and what to do, for
// the failures people meet on their first day (port taken, validation unreachable, a
// CA certificate this host does not trust).

#include <optional>
#include <string>

namespace agent::cli {

// A one-line hint for an error message, or nothing when there is no useful advice.
std::optional<std::string> hint_for(const std::string& error_message);

}  // namespace agent::cli
