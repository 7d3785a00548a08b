#include "gen/dockerfile.hpp"

#include <algorithm>
#include <cctype>

#include "gen/values.hpp"

namespace agent::gen {

namespace {

using acme::Errc;
using acme::make_error;

// The pinned base images. Bump them deliberately (and the tests with them): a moving tag
// would make two builds of one commit differ.
constexpr const char* kGolangVariant = "bookworm";
// Alpine rather than distroless/static: its busybox wget runs the HEALTHCHECK and there
// is a shell for `docker exec`; still ~8 MB. ca-certificates for outgoing TLS.
constexpr const char* kFinalImage = "alpine:3.20.3";
// A fixed numeric uid:gid, so `runAsNonRoot` checks (Kubernetes) can verify it without
// reading /etc/passwd; not 65534 (nobody), which other processes share.
constexpr int kUid = 10001;

acme::Error invalid(std::string_view what, std::string_view value, std::string_view why) {
  return invalid_value(what, value, why, "gen dockerfile: ");
}

bool all_digits(std::string_view s) {
  return !s.empty() && s.size() <= 4 &&
         std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

// X.Y or X.Y.Z: the golang image tag then names one release line or one release.
bool valid_go_version(std::string_view v) {
  size_t parts = 0;
  size_t start = 0;
  while (true) {
    const size_t dot = v.find('.', start);
    if (!all_digits(v.substr(start, dot == std::string_view::npos ? dot : dot - start))) {
      return false;
    }
    ++parts;
    if (dot == std::string_view::npos) break;
    start = dot + 1;
  }
  return parts == 2 || parts == 3;
}

// Letters, digits, '.', '_', '-'; not starting with '.' or '-' (a hidden file, an option).
bool valid_binary(std::string_view b) {
  if (b.empty() || b.size() > 64 || b.front() == '.' || b.front() == '-') return false;
  return std::all_of(b.begin(), b.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-';
  });
}

// A Go package for `go build`: "." or "./dir/…" in the module, or an import path
// ("example.com/svc/cmd/api"). Import-path characters only: it lands in a shell command.
acme::Result<void> check_package(std::string_view p) {
  auto bad = [&](std::string_view why) { return invalid("--main", p, why); };
  if (p.empty()) return bad("empty package");
  // '-' would be an option of go build, '~' a home directory to the shell.
  if (p.front() == '-' || p.front() == '/' || p.front() == '~') {
    return bad("give \".\", \"./DIR\" or an import path");
  }
  for (char c : p) {
    if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '.' || c == '_' || c == '-' ||
          c == '/' || c == '~' || c == '+')) {
      return bad("only letters, digits and . _ - / ~ + are allowed in a package path");
    }
  }
  if (p == ".") return acme::ok();
  if (p.back() == '/' || p.find("//") != std::string_view::npos) return bad("empty path element");
  // Each element after a leading "./": not "..", no "..." pattern (it names many packages,
  // and -o wants one binary), not hidden (the go tool ignores dot directories).
  std::string_view rest = p.starts_with("./") ? p.substr(2) : p;
  size_t start = 0;
  while (start <= rest.size()) {
    size_t slash = rest.find('/', start);
    if (slash == std::string_view::npos) slash = rest.size();
    const std::string_view elem = rest.substr(start, slash - start);
    if (elem.find("...") != std::string_view::npos) {
      return bad("a package pattern builds several packages: name one main package");
    }
    if (elem.empty() || elem.front() == '.') {
      return bad("path elements must not be empty, '..' or start with '.'");
    }
    start = slash + 1;
  }
  return acme::ok();
}

// importpath.name for -X: identifier characters and '/', '.' (the importpath part).
bool valid_version_var(std::string_view v) {
  const size_t dot = v.rfind('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == v.size()) return false;
  return std::all_of(v.begin(), v.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '/' ||
           c == '-';
  });
}

}  // namespace

std::optional<std::string> go_version_from_mod(std::string_view go_mod) {
  // The toolchain line (go 1.21+) names the exact release; else the go line.
  std::optional<std::string> go, toolchain;
  std::size_t pos = 0;
  while (pos < go_mod.size()) {
    auto end = go_mod.find('\n', pos);
    if (end == std::string_view::npos) end = go_mod.size();
    std::string_view line = go_mod.substr(pos, end - pos);
    pos = end + 1;
    if (const auto c = line.find("//"); c != std::string_view::npos) line = line.substr(0, c);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\t' || line.back() == '\r')) {
      line.remove_suffix(1);
    }
    while (!line.empty() && (line.front() == ' ' || line.front() == '\t')) line.remove_prefix(1);
    if (line.starts_with("go ") || line.starts_with("go\t")) {
      std::string v(line.substr(3));
      v.erase(0, v.find_first_not_of(" \t"));
      if (valid_go_version(v)) go = v;
    } else if (line.starts_with("toolchain ")) {
      std::string v(line.substr(10));
      v.erase(0, v.find_first_not_of(" \t"));
      if (v.starts_with("go") && valid_go_version(v.substr(2))) toolchain = v.substr(2);
    }
  }
  return toolchain ? toolchain : go;
}

acme::Result<std::string> dockerfile(const DockerfileOptions& o) {
  if (o.binary.empty()) {
    return make_error(Errc::kInvalidInput, "gen dockerfile: give --binary NAME");
  }
  if (!valid_binary(o.binary)) {
    return invalid("--binary", o.binary,
                   "use letters, digits, '.', '_' and '-' (at most 64), not starting with '.' "
                   "or '-'");
  }
  ACME_CHECK(check_package(o.main_package));
  if (!valid_go_version(o.go_version)) {
    return invalid("--go-version", o.go_version,
                   "give a Go release as X.Y.Z (1.23.4) or X.Y: the golang image tag is pinned "
                   "to it");
  }
  if (o.port < 1 || o.port > 65535) {
    return invalid("--port", std::to_string(o.port), "the port must be from 1 to 65535");
  }
  if (!o.healthcheck_path.empty()) {
    if (auto r = check_url_path(o.healthcheck_path, "--healthcheck"); !r) {
      return make_error(Errc::kInvalidInput, "gen dockerfile: " + r.error().message);
    }
  }
  if (!valid_version_var(o.version_var)) {
    return invalid("version variable", o.version_var, "expected IMPORTPATH.NAME (main.version)");
  }

  const std::string& bin = o.binary;
  const std::string port = std::to_string(o.port);
  const std::string uid = std::to_string(kUid);
  std::string out;
  out += "# Dockerfile for the Go service " + bin + " (generated by `acmectl gen dockerfile`).\n";
  out += "#   docker build --build-arg VERSION=1.2.3 -t " + bin + ":1.2.3 .\n";
  out += "# Every base image is pinned to a version tag: bump them deliberately.\n";
  out += "\n";
  out += "# Build stage: runs on the builder's platform and cross-compiles for the target\n";
  out += "# (BuildKit sets BUILDPLATFORM, TARGETOS and TARGETARCH).\n";
  out += "FROM --platform=$BUILDPLATFORM golang:" + o.go_version + "-" + kGolangVariant +
         " AS build\n";
  out += "WORKDIR /src\n";
  out += "# Modules first: this layer is rebuilt only when go.mod or go.sum change.\n";
  out += "# (go.sum* because a module without dependencies has no go.sum.)\n";
  out += "COPY go.mod go.sum* ./\n";
  out += "RUN go mod download && go mod verify\n";
  out += "COPY . .\n";
  out += "ARG VERSION=dev\n";
  // No defaults: a default would replace the platform BuildKit passes (building an amd64
  // binary into an arm64 image). The fallbacks below are for builders without BuildKit.
  out += "ARG TARGETOS\n";
  out += "ARG TARGETARCH\n";
  out += "# CGO_ENABLED=0: a static binary that needs no libc in the final image. -s -w drop\n";
  out += "# the symbol and debug tables, -trimpath the build machine's paths.\n";
  out += "RUN CGO_ENABLED=0 GOOS=${TARGETOS:-linux} GOARCH=${TARGETARCH:-$(go env GOARCH)} \\\n";
  out += "    go build -trimpath -ldflags \"-s -w -X " + o.version_var + "=${VERSION}\" -o /out/" +
         bin + " " + o.main_package + "\n";
  out += "\n";
  out += "# Final stage: Alpine rather than distroless, for busybox wget (HEALTHCHECK) and a\n";
  out += "# shell to debug with; ca-certificates for outgoing TLS. Runs as an unprivileged\n";
  out += "# user with a fixed numeric uid, so runAsNonRoot checks can verify it.\n";
  out += std::string("FROM ") + kFinalImage + "\n";
  out += "RUN apk add --no-cache ca-certificates \\\n";
  out += "    && addgroup -S -g " + uid + " app \\\n";
  out += "    && adduser -S -D -H -h /nonexistent -s /sbin/nologin -u " + uid + " -G app app\n";
  out += "COPY --from=build /out/" + bin + " /usr/local/bin/" + bin + "\n";
  out += "# Release mode for Gin (and anything else reading GIN_MODE): no debug routes or logs.\n";
  out += "ENV GIN_MODE=release\n";
  out += "USER " + uid + ":" + uid + "\n";
  out += "EXPOSE " + port + "\n";
  if (!o.healthcheck_path.empty()) {
    out += "HEALTHCHECK --interval=30s --timeout=5s --start-period=15s --retries=3 \\\n";
    out += "    CMD [\"wget\", \"-q\", \"-O\", \"/dev/null\", \"http://127.0.0.1:" + port +
           o.healthcheck_path + "\"]\n";
  }
  out += "ENTRYPOINT [\"/usr/local/bin/" + bin + "\"]\n";
  return out;
}

}  // namespace agent::gen
