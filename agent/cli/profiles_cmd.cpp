#include "cli/profiles_cmd.hpp"

#include <iostream>
#include <nlohmann/json.hpp>

#include "cli/common.hpp"

namespace agent::cli {

CLI::App* add_profiles_command(CLI::App& app) {
  return app.add_subcommand("profiles", "List the certificate profiles the CA offers");
}

int run_profiles(const GlobalOptions& g) {
  auto directory_url = resolve_server(g.server);
  if (!directory_url) return fail(directory_url.error());
  // Only the directory is read: no account, no state.
  auto session = connect(g, *directory_url);
  if (!session) return fail(session.error());
  const auto& profiles = session->client->directory().profiles;
  if (g.json) {
    nlohmann::json list = nlohmann::json::array();
    for (const auto& [name, description] : profiles) {
      list.push_back({{"name", name}, {"description", description}});
    }
    std::cout << nlohmann::json{{"server", *directory_url}, {"profiles", list}}.dump(2) << "\n";
    return kExitOk;
  }
  if (profiles.empty()) {
    std::cout << "the CA at " << *directory_url << " advertises no profiles\n";
    return kExitOk;
  }
  size_t width = 0;
  for (const auto& [name, _] : profiles) width = std::max(width, name.size());
  for (const auto& [name, description] : profiles) {
    std::cout << name << std::string(width - name.size() + 2, ' ') << description << "\n";
  }
  return kExitOk;
}

}  // namespace agent::cli
