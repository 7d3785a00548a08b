#include "cli/doc_tree.hpp"

#include <algorithm>
#include <cctype>
#include <map>
#include <string_view>

namespace agent::cli {

namespace {

// Values the definitions describe in prose only (their checks live below cli/, so that a
// bad value is reported with the config file's spelling too). Options checked with
// CLI::IsMember need no entry: their values come from the check.
const std::map<std::string, std::vector<std::string>>& known_values() {
  static const std::map<std::string, std::vector<std::string>> kValues = {
      {"--key-type", {"ec256", "ec384", "rsa2048", "rsa3072", "rsa4096"}},
      {"--challenge", {"http-01", "dns-01", "tls-alpn-01", "dns-persist-01"}},
      {"--policy", {"wildcard"}},
      {"--dns-provider", {"rfc2136", "exec"}},
      {"--rfc2136-tsig-algorithm", {"hmac-sha256", "hmac-sha512", "hmac-sha1"}},
      {"--log-level", {"trace", "debug", "info", "warn", "error", "off"}},
      {"--log-format", {"text", "json"}},
      {"--server", {"letsencrypt", "letsencrypt-staging"}},
      {"--reason",
       {"unspecified", "keyCompromise", "affiliationChanged", "superseded",
        "cessationOfOperation"}},
  };
  return kValues;
}

// "TEXT:{a,b,c}" (CLI::IsMember) -> a, b, c.
std::vector<std::string> member_values(const std::string& type_name) {
  std::vector<std::string> out;
  const auto open = type_name.find(":{");
  const auto close = type_name.rfind('}');
  if (open == std::string::npos || close == std::string::npos || close < open) return out;
  std::string list = type_name.substr(open + 2, close - open - 2);
  std::size_t start = 0;
  while (start <= list.size()) {
    const auto comma = list.find(',', start);
    const std::string v =
        list.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    if (!v.empty()) out.push_back(v);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// `word` in `text` with no letter, digit or '_' right before or after it. (Plain string
// search: std::regex's libstdc++ internals warn under the sanitizer build.)
bool has_word(const std::string& text, std::string_view word) {
  auto is_word = [](char c) { return std::isalnum(static_cast<unsigned char>(c)) || c == '_'; };
  for (size_t at = text.find(word); at != std::string::npos; at = text.find(word, at + 1)) {
    const size_t end = at + word.size();
    if ((at == 0 || !is_word(text[at - 1])) && (end == text.size() || !is_word(text[end]))) {
      return true;
    }
  }
  return false;
}

OptionDoc::Kind kind_of(const OptionDoc& o) {
  if (o.metavar.empty()) return OptionDoc::Kind::kPlain;
  const std::string& d = o.description;
  if (d.rfind("Certificate name", 0) == 0) return OptionDoc::Kind::kCertName;
  const std::string& last = o.names.back();
  if (last == "--ca-bundle") return OptionDoc::Kind::kFile;
  if (has_word(d, "DIR") || d.find("irectory") != std::string::npos) {
    return OptionDoc::Kind::kDir;
  }
  if (has_word(d, "FILE") || has_word(d, "File") || has_word(d, "file") || has_word(d, "PATH") ||
      d.find("rogram") != std::string::npos) {
    return OptionDoc::Kind::kFile;
  }
  return OptionDoc::Kind::kPlain;
}

OptionDoc option_doc(const CLI::Option& opt) {
  OptionDoc o;
  o.positional = opt.nonpositional() == false;
  if (o.positional) {
    o.names.push_back(opt.get_name(/*positional=*/true));
  } else {
    for (const auto& s : opt.get_snames()) o.names.push_back("-" + s);
    for (const auto& l : opt.get_lnames()) o.names.push_back("--" + l);
  }
  const std::string type = opt.get_type_name();
  // As CLI11's help shows it: a flag has no type name.
  if ((opt.get_type_size() != 0 && !type.empty()) || o.positional) {
    o.metavar = type.substr(0, type.find(':'));
    if (o.metavar.empty()) o.metavar = "VALUE";
  }
  o.description = opt.get_description();
  o.required = opt.get_required();
  o.repeatable = opt.get_items_expected_max() > 1;
  o.values = member_values(type);
  if (o.values.empty() && !o.metavar.empty()) {
    const auto it = known_values().find(o.names.back());
    if (it != known_values().end()) o.values = it->second;
  }
  o.kind = kind_of(o);
  return o;
}

CommandDoc describe_at(const CLI::App& app, const std::string& path) {
  CommandDoc c;
  c.name = app.get_name();
  c.path = path;
  c.description = app.get_description();
  c.footer = app.get_footer();
  for (const CLI::Option* opt : app.get_options()) {
    if (opt->get_group().empty()) continue;  // hidden
    c.options.push_back(option_doc(*opt));
  }
  for (const CLI::App* sub : app.get_subcommands(
           [](const CLI::App* s) { return !s->get_group().empty() && !s->get_name().empty(); })) {
    c.subcommands.push_back(
        describe_at(*sub, path.empty() ? sub->get_name() : path + " " + sub->get_name()));
  }
  return c;
}

}  // namespace

const OptionDoc* CommandDoc::find(const std::string& option_name) const {
  for (const auto& o : options) {
    if (std::find(o.names.begin(), o.names.end(), option_name) != o.names.end()) return &o;
  }
  return nullptr;
}

CommandDoc describe(const CLI::App& app) {
  CommandDoc root = describe_at(app, "");
  root.name = "acmectl";
  return root;
}

}  // namespace agent::cli
