#include "cli/suggest.hpp"

#include <algorithm>
#include <cctype>

namespace agent::cli {

std::size_t edit_distance(const std::string& a, const std::string& b) {
  // Optimal string alignment distance: "isue" -> "issue" is 1, "domian" -> "domain" is 1.
  const std::size_t n = a.size(), m = b.size();
  std::vector<std::vector<std::size_t>> d(n + 1, std::vector<std::size_t>(m + 1));
  for (std::size_t i = 0; i <= n; ++i) d[i][0] = i;
  for (std::size_t j = 0; j <= m; ++j) d[0][j] = j;
  for (std::size_t i = 1; i <= n; ++i) {
    for (std::size_t j = 1; j <= m; ++j) {
      const std::size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
      d[i][j] = std::min({d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost});
      if (i > 1 && j > 1 && a[i - 1] == b[j - 2] && a[i - 2] == b[j - 1]) {
        d[i][j] = std::min(d[i][j], d[i - 2][j - 2] + 1);
      }
    }
  }
  return d[n][m];
}

std::optional<std::string> closest(const std::string& word,
                                   const std::vector<std::string>& candidates) {
  std::optional<std::string> best;
  std::size_t best_d = 0;
  for (const auto& c : candidates) {
    const std::size_t dist = edit_distance(word, c);
    if (!best || dist < best_d) {
      best = c;
      best_d = dist;
    }
  }
  // A third of the word (at least 1, at most 3) counts as a typo; beyond that the
  // suggestion would be a guess.
  const std::size_t limit = std::clamp<std::size_t>(word.size() / 3, 1, 3);
  if (best && best_d <= limit) return best;
  // A prefix ("--dom" for "--domain") is also a likely slip.
  for (const auto& c : candidates) {
    if (word.size() >= 4 && c.rfind(word, 0) == 0) return c;
  }
  return std::nullopt;
}

namespace {

bool hidden(const CLI::App* a) { return a->get_group().empty(); }

std::vector<const CLI::App*> commands(const CLI::App& app) {
  std::vector<const CLI::App*> out;
  for (const CLI::App* s : app.get_subcommands([](const CLI::App*) { return true; })) {
    if (!s->get_name().empty()) out.push_back(s);
  }
  return out;
}

bool has_positionals(const CLI::App& app) {
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_positional()) return true;
  }
  return false;
}

std::vector<std::string> option_names(const CLI::App& app, bool long_names) {
  std::vector<std::string> out;
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_group().empty()) continue;
    for (const auto& n : long_names ? o->get_lnames() : o->get_snames()) {
      out.push_back((long_names ? "--" : "-") + n);
    }
  }
  return out;
}

const CLI::Option* find_option(const CLI::App& app, const std::string& name) {
  for (const CLI::Option* o : app.get_options()) {
    if (o->get_positional()) continue;
    if (name.rfind("--", 0) == 0) {
      const auto& l = o->get_lnames();
      if (std::find(l.begin(), l.end(), name.substr(2)) != l.end()) return o;
    } else {
      const auto& s = o->get_snames();
      if (std::find(s.begin(), s.end(), name.substr(1)) != s.end()) return o;
    }
  }
  return nullptr;
}

// --version is registered on the root only but CLI11 takes it anywhere.
bool builtin(const std::string& name) { return name == "--version"; }

std::string unknown_option(const CLI::App& app, const std::string& name, const std::string& path) {
  std::string msg = "unknown option " + name + (path.empty() ? "" : " for '" + path + "'");
  if (auto s = closest(name, option_names(app, name.rfind("--", 0) == 0))) {
    msg += " (did you mean " + *s + "?)";
  }
  return msg;
}

}  // namespace

std::optional<std::string> check_spelling(const CLI::App& root, int argc, const char* const* argv) {
  const CLI::App* app = &root;
  std::string path;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--") break;  // the rest is positional
    if (arg.size() > 2 && arg.rfind("--", 0) == 0) {
      const std::string name = arg.substr(0, arg.find('='));
      const CLI::Option* o = find_option(*app, name);
      if (o == nullptr) {
        if (builtin(name)) continue;
        return unknown_option(*app, name, path);
      }
      if (o->get_expected_min() > 0 && arg.find('=') == std::string::npos) {
        if (o->get_expected_max() > 1) {
          // A list (-d a b): every word up to the next option.
          while (i + 1 < argc && argv[i + 1][0] != '-') ++i;
        } else if (i + 1 < argc) {
          ++i;  // its value, whatever it looks like
        }
      }
      continue;
    }
    if (arg.size() > 1 && arg[0] == '-' && !std::isdigit(static_cast<unsigned char>(arg[1]))) {
      // -qv: flags run together; -dNAME: a short option with its value attached.
      for (std::size_t k = 1; k < arg.size(); ++k) {
        const std::string name = std::string("-") + arg[k];
        const CLI::Option* o = find_option(*app, name);
        if (o == nullptr) return unknown_option(*app, name, path);
        if (o->get_expected_min() > 0) {
          if (k + 1 == arg.size()) {
            if (o->get_expected_max() > 1) {
              while (i + 1 < argc && argv[i + 1][0] != '-') ++i;
            } else if (i + 1 < argc) {
              ++i;
            }
          }
          break;
        }
      }
      continue;
    }
    // A word: a command of the current one, or a positional value.
    const auto subs = commands(*app);
    bool found = false;
    for (const CLI::App* s : subs) {
      if (s->check_name(arg)) {
        app = s;
        path += (path.empty() ? "" : " ") + s->get_name();
        found = true;
        break;
      }
    }
    if (found || subs.empty() || has_positionals(*app)) continue;
    std::vector<std::string> names;
    for (const CLI::App* s : subs) {
      if (!hidden(s)) names.push_back(s->get_name());
    }
    std::string msg = "unknown command '" + (path.empty() ? "" : path + " ") + arg + "'";
    if (auto s = closest(arg, names)) {
      msg += " (did you mean '" + (path.empty() ? "" : path + " ") + *s + "'?)";
    }
    return msg;
  }
  return std::nullopt;
}

}  // namespace agent::cli
