#pragma once
// `acmectl gen compose`: docker-compose file with the app, nginx and the acmectl agent
// (sharing the certificate volume with nginx), optionally postgres; healthchecks and
// depends_on conditions. Tests run `docker-compose config` (Debian's v1) on it.

#include <string>
#include <vector>

#include "acme/result.hpp"

namespace agent::gen {

struct ComposeOptions {
  std::vector<std::string> domains;  // -d NAME (required)
  // --image IMAGE: the application's image, pinned (a tag other than latest, or a digest).
  // app:local is what `docker build -t app:local .` with `gen dockerfile` output builds.
  std::string image = "app:local";
  int app_port = 8080;           // --port N: what the app listens on
  std::string healthcheck_path;  // --healthcheck PATH: the app's health endpoint; "": none
  bool postgres = false;         // --postgres
  std::string acmectl_image;     // --acmectl-image; empty: acmectl:<this acmectl's version>
  std::string nginx_image = "nginx:1.27.3-alpine";
  std::string postgres_image = "postgres:16.6-alpine";
};

acme::Result<std::string> compose_file(const ComposeOptions& options);

}  // namespace agent::gen
