#include "gen/values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>

#include "acme/issuer.hpp"

namespace agent::gen {

using acme::Errc;
using acme::make_error;

acme::Error invalid_input(std::string message) {
  return make_error(Errc::kInvalidInput, std::move(message));
}

acme::Error invalid_value(std::string_view what, std::string_view value, std::string_view why,
                          std::string_view prefix) {
  return make_error(Errc::kInvalidInput, std::string(prefix) + std::string(what) + " '" +
                                             std::string(value) + "': " + std::string(why));
}

namespace {

bool is_unsafe(char c) {
  const auto u = static_cast<unsigned char>(c);
  return u < 0x21 || u == 0x7f || c == '"' || c == '\'' || c == ';' || c == '{' || c == '}' ||
         c == '#' || c == '$' || c == '\\' || c == '`';
}

}  // namespace

acme::Result<int> parse_port(std::string_view text, std::string_view what) {
  int port = 0;
  const auto* end = text.data() + text.size();
  auto [p, ec] = std::from_chars(text.data(), end, port);
  if (text.empty() || ec != std::errc{} || p != end || port < 1 || port > 65535) {
    return invalid_value(what, text, "the port must be a number from 1 to 65535");
  }
  return port;
}

acme::Result<HostPort> parse_host_port(std::string_view text, std::string_view what) {
  // The shared parser words its errors "WHAT 'TEXT': WHY" like invalid_value().
  return acme::parse_host_port(text, what);
}

acme::Result<std::string> check_server_name(std::string_view name, std::string_view what) {
  auto ids = acme::normalize_identifiers({std::string(name)}, /*allow_wildcard=*/true);
  if (!ids) return invalid_value(what, name, std::move(ids).error().message);
  if (ids->size() != 1) return invalid_value(what, name, "expected one name");
  return ids->front().value;
}

acme::Result<std::vector<std::string>> check_server_names(const std::vector<std::string>& names,
                                                          std::string_view what) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    auto v = check_server_name(n, what);
    if (!v) return std::move(v).error();
    if (std::find(out.begin(), out.end(), *v) != out.end()) {
      return invalid_value(what, n, "given twice");
    }
    out.push_back(*v);
  }
  return out;
}

acme::Result<void> check_abs_path(std::string_view path, std::string_view what) {
  if (path.empty() || path.front() != '/')
    return invalid_value(what, path, "must be an absolute path");
  if (std::any_of(path.begin(), path.end(), is_unsafe)) {
    return invalid_value(
        what, path,
        "contains whitespace, a quote or one of ; { } # $ \\ ` (not allowed in a path "
        "written into a config)");
  }
  if (path.find("/../") != std::string_view::npos || path.ends_with("/..")) {
    return invalid_value(what, path, "must not contain '..'");
  }
  return acme::ok();
}

acme::Result<void> check_url_path(std::string_view path, std::string_view what) {
  if (path.empty() || path.front() != '/') return invalid_value(what, path, "must start with '/'");
  if (std::any_of(path.begin(), path.end(), is_unsafe) ||
      path.find_first_of("?*()|^[]~<>") != std::string_view::npos) {
    return invalid_value(what, path, "contains characters not allowed in a location prefix");
  }
  if (path.find("/../") != std::string_view::npos || path.ends_with("/..") ||
      path.find("//") != std::string_view::npos) {
    return invalid_value(what, path, "must not contain '..' or '//'");
  }
  return acme::ok();
}

acme::Result<void> check_nginx_time(std::string_view value, std::string_view what) {
  size_t digits = 0;
  while (digits < value.size() && std::isdigit(static_cast<unsigned char>(value[digits]))) {
    ++digits;
  }
  const std::string_view unit = value.substr(digits);
  // Seconds and up: expires and fail_timeout take no milliseconds.
  static constexpr std::string_view kUnits[] = {"", "s", "m", "h", "d", "w", "M", "y"};
  if (digits == 0 || digits > 9 ||
      std::find(std::begin(kUnits), std::end(kUnits), unit) == std::end(kUnits)) {
    return invalid_value(what, value, "expected a time in seconds or longer, such as 10s, 1m, 30d");
  }
  return acme::ok();
}

std::string cert_dir_name(const std::string& first_name) {
  if (first_name.starts_with("*.")) return "_wildcard." + first_name.substr(2);
  return first_name;
}

std::string identifier_from(std::string_view text) {
  std::string out;
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (std::isalnum(u)) {
      out += static_cast<char>(std::tolower(u));
    } else if (!out.empty() && out.back() != '_') {
      out += '_';
    }
  }
  while (!out.empty() && out.back() == '_') out.pop_back();
  return out.empty() ? "root" : out;
}

std::string double_quoted(std::string_view text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    out += c;
  }
  return out + "\"";
}

}  // namespace agent::gen

// Container image references: Docker's distribution/reference grammar.
namespace agent::gen {

namespace {

bool lower_alnum(char c) { return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9'); }

// path-component: [a-z0-9]+ ((\.|_|__|-+) [a-z0-9]+)*
bool valid_path_component(std::string_view c) {
  if (c.empty() || !lower_alnum(c.front()) || !lower_alnum(c.back())) return false;
  for (size_t i = 0; i < c.size();) {
    if (lower_alnum(c[i])) {
      ++i;
      continue;
    }
    size_t j = i;
    while (j < c.size() && !lower_alnum(c[j])) ++j;
    const std::string_view sep = c.substr(i, j - i);
    const bool dashes = sep.find_first_not_of('-') == std::string_view::npos;
    if (!(sep == "." || sep == "_" || sep == "__" || dashes)) return false;
    i = j;
  }
  return true;
}

// domain: DNS labels joined by '.', an optional :PORT.
bool valid_registry(std::string_view r) {
  std::string_view host = r;
  if (const size_t colon = r.rfind(':'); colon != std::string_view::npos) {
    host = r.substr(0, colon);
    const std::string_view port = r.substr(colon + 1);
    if (port.empty() || port.size() > 5 ||
        port.find_first_not_of("0123456789") != std::string_view::npos) {
      return false;
    }
  }
  if (host.empty()) return false;
  size_t start = 0;
  while (start <= host.size()) {
    size_t dot = host.find('.', start);
    if (dot == std::string_view::npos) dot = host.size();
    const std::string_view label = host.substr(start, dot - start);
    if (label.empty() || label.size() > 63 || label.front() == '-' || label.back() == '-') {
      return false;
    }
    for (char c : label) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '-') return false;
    }
    start = dot + 1;
  }
  return true;
}

bool valid_tag(std::string_view t) {
  if (t.empty() || t.size() > 128 || t.front() == '.' || t.front() == '-') return false;
  return std::all_of(t.begin(), t.end(), [](char c) {
    return std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '.' || c == '-';
  });
}

bool valid_digest(std::string_view d) {
  size_t hex = 0;
  if (d.starts_with("sha256:")) {
    hex = 64;
  } else if (d.starts_with("sha512:")) {
    hex = 128;
  } else {
    return false;
  }
  const std::string_view h = d.substr(7);
  return h.size() == hex && h.find_first_not_of("0123456789abcdef") == std::string_view::npos;
}

}  // namespace

std::string ImageRef::name() const { return registry.empty() ? path : registry + "/" + path; }

std::string ImageRef::str() const {
  std::string out = name();
  if (!tag.empty()) out += ":" + tag;
  if (!digest.empty()) out += "@" + digest;
  return out;
}

acme::Result<ImageRef> parse_image_ref(std::string_view text, std::string_view what) {
  auto bad = [&](std::string_view why) { return invalid_value(what, text, why); };
  if (text.empty()) return bad("empty image name");
  ImageRef ref;
  std::string_view rest = text;
  if (const size_t at = rest.find('@'); at != std::string_view::npos) {
    ref.digest = std::string(rest.substr(at + 1));
    rest = rest.substr(0, at);
    if (!valid_digest(ref.digest)) {
      return bad("the digest must be sha256: and 64 lower-case hex digits");
    }
  }
  const size_t slash = rest.rfind('/');
  if (const size_t colon = rest.rfind(':');
      colon != std::string_view::npos && (slash == std::string_view::npos || colon > slash)) {
    ref.tag = std::string(rest.substr(colon + 1));
    rest = rest.substr(0, colon);
    if (!valid_tag(ref.tag)) {
      return bad(
          "the tag must be letters, digits, '_', '.' and '-' (at most 128, not starting "
          "with '.' or '-')");
    }
  }
  // The first component is a registry when it looks like a host (Docker's rule).
  if (const size_t first = rest.find('/'); first != std::string_view::npos) {
    const std::string_view head = rest.substr(0, first);
    if (head.find_first_of(".:") != std::string_view::npos || head == "localhost") {
      ref.registry = std::string(head);
      rest = rest.substr(first + 1);
      if (!valid_registry(ref.registry)) {
        return bad("'" + ref.registry + "' is not a registry host");
      }
    }
  }
  ref.path = std::string(rest);
  if (ref.name().size() > 255) return bad("the name is longer than 255 characters");
  size_t start = 0;
  while (start <= rest.size()) {
    size_t next = rest.find('/', start);
    if (next == std::string_view::npos) next = rest.size();
    if (!valid_path_component(rest.substr(start, next - start))) {
      return bad(
          "not an image reference: the name is lower-case letters and digits, "
          "separated by '/', '.', '_' or '-' ([REGISTRY/]NAME[:TAG])");
    }
    start = next + 1;
  }
  return ref;
}

acme::Result<ImageRef> parse_pinned_image(std::string_view text, std::string_view what) {
  auto ref = parse_image_ref(text, what);
  if (!ref) return ref;
  if (!ref->digest.empty()) return ref;
  if (ref->tag.empty()) {
    return invalid_value(what, text,
                         "no tag: pin a version (" + ref->name() +
                             ":1.2.3) or a digest; an untagged image means 'latest'");
  }
  if (ref->tag == "latest") {
    return invalid_value(what, text,
                         "'latest' moves: pin a version (" + ref->name() + ":1.2.3) or a digest");
  }
  return ref;
}

}  // namespace agent::gen
