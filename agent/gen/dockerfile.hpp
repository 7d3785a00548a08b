#pragma once
// `acmectl gen dockerfile`: a multi-stage Dockerfile for a Go service: a pinned golang
// build stage (CGO_ENABLED=0, GOOS/GOARCH, -ldflags "-s -w -X main.version=…"), then a
// small pinned final stage running as a non-root USER. No image can be built on the test
// machines, so tests check these properties as a policy on the text.

#include <optional>
#include <string>
#include <string_view>

#include "acme/result.hpp"

namespace agent::gen {

struct DockerfileOptions {
  std::string binary;                        // --binary NAME (required)
  std::string main_package = ".";            // --main PKG ("./cmd/api")
  std::string go_version = "1.23.4";         // --go-version V (X.Y.Z, or X.Y for a release line)
  int port = 8080;                           // --port N (EXPOSE)
  std::string healthcheck_path;              // --healthcheck PATH ("/healthz"): adds HEALTHCHECK
  std::string version_var = "main.version";  // -X target for the version
};

acme::Result<std::string> dockerfile(const DockerfileOptions& options);

// The Go release go.mod asks for: its `toolchain goX.Y.Z` line, else its `go X.Y[.Z]`
// line; nothing when neither is there or valid. `gen ci` builds with go-version-file:
// go.mod, so the image and CI use the same release.
std::optional<std::string> go_version_from_mod(std::string_view go_mod);

}  // namespace agent::gen
