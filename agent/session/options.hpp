#pragma once
// The settings every command shares (INTERFACE.md "Global options"), after the command
// line, the environment and the config file were merged.

#include <string>

namespace agent {

struct GlobalOptions {
  std::string state_dir;
  std::string config;
  std::string server;
  std::string ca_bundle;
  std::string email;
  bool agree_tos = false;
  bool json = false;
  std::string log_level = "info";
  std::string log_format = "text";
};

}  // namespace agent
