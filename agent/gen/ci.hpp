#pragma once
// `acmectl gen ci`: a GitHub Actions workflow that builds and tests a Go service, builds
// and pushes its image, and deploys it; every action pinned to a version. Tests run
// actionlint and yamllint on it.

#include <string>

#include "acme/result.hpp"

namespace agent::gen {

struct CiOptions {
  std::string image;            // --image IMAGE (default ghcr.io/<owner>/<repo>)
  std::string branch = "main";  // --branch: pushes here build, push and deploy
  std::string go_version_file = "go.mod";
  bool deploy = true;                   // --no-deploy leaves the deploy job out
  std::string deploy_dir = "/srv/app";  // --deploy-dir: the compose project on the server
};

acme::Result<std::string> ci_workflow(const CiOptions& options);

}  // namespace agent::gen
