#pragma once
// Checks shared by the generators: every value from the user is validated before it is
// written into a config, so a generated file is either correct or not written at all.
// Each check returns Errc::kInvalidInput with a message that names the option and value.

#include <string>
#include <string_view>
#include <vector>

#include "acme/host_port.hpp"
#include "acme/result.hpp"

namespace agent::gen {

// kInvalidInput with this message.
acme::Error invalid_input(std::string message);
// kInvalidInput "PREFIXWHAT 'VALUE': WHY" (e.g. "gen ci: --image 'x': ...").
acme::Error invalid_value(std::string_view what, std::string_view value, std::string_view why,
                          std::string_view prefix = {});

// HOST:PORT (HOST a name or an IP address), the shared acme::HostPort.
using HostPort = acme::HostPort;

// HOST:PORT, [V6]:PORT. `what` names the option in the error ("--upstream").
acme::Result<HostPort> parse_host_port(std::string_view text, std::string_view what);

// A DNS name for server_name / certificates (a leading "*." allowed): lower-cased.
acme::Result<std::string> check_server_name(std::string_view name, std::string_view what);
// Several names: each checked, duplicates are an error (they are a typo in a config).
acme::Result<std::vector<std::string>> check_server_names(const std::vector<std::string>& names,
                                                          std::string_view what);

// An absolute path made of characters safe in nginx, systemd and YAML values
// (no whitespace, quotes, ';', '{', '}', '#', '$', '\\', control characters).
acme::Result<void> check_abs_path(std::string_view path, std::string_view what);
// A URL path prefix ("/api/user", "/static/"): starts with '/', the same safe characters.
acme::Result<void> check_url_path(std::string_view path, std::string_view what);
// An nginx time in seconds or longer units ("10s", "1m", "30d", "3600"): what expires and
// fail_timeout accept (no "ms").
acme::Result<void> check_nginx_time(std::string_view value, std::string_view what);
// A port 1..65535 given as text.
acme::Result<int> parse_port(std::string_view text, std::string_view what);

// The certificate directory name acmectl uses for a name: "*." becomes "_wildcard.".
std::string cert_dir_name(const std::string& first_name);

// A name usable as an identifier in nginx/compose ("api_user"): [a-z0-9_] only.
std::string identifier_from(std::string_view text);

// Text for a double-quoted string in nginx / YAML / systemd (escapes '"' and '\\').
std::string double_quoted(std::string_view text);

// A container image reference in Docker's grammar: [REGISTRY/]PATH[:TAG][@DIGEST], PATH
// lower case ("ghcr.io/acme/api:1.4.2", "nginx:1.27.3-alpine", "app@sha256:…").
struct ImageRef {
  std::string registry;      // "ghcr.io", "localhost:5000"; empty: Docker Hub
  std::string path;          // "acme/api", "nginx"
  std::string tag;           // empty when none
  std::string digest;        // "sha256:<64 hex>", empty when none
  std::string name() const;  // REGISTRY/PATH (or PATH)
  std::string str() const;   // the whole reference
};
acme::Result<ImageRef> parse_image_ref(std::string_view text, std::string_view what);
// An image that names one build: a version tag other than "latest", or a digest.
acme::Result<ImageRef> parse_pinned_image(std::string_view text, std::string_view what);

}  // namespace agent::gen
