#pragma once
// `acmectl persist-record -d NAME [-d NAME…] [--policy wildcard] [--persist-until DATE]`
// (dns-persist-01, EXPERIMENTAL): prints the _validation-persist TXT record to publish once
// for each name, for this state dir's account at the CA (registered first when needed).

#include <CLI/CLI.hpp>
#include <string>
#include <vector>

#include "session/options.hpp"

namespace agent::cli {

struct PersistRecordOptions {
  std::vector<std::string> domains;
  std::string policy;         // "" or "wildcard"
  std::string persist_until;  // unix seconds, YYYY-MM-DD or YYYY-MM-DDTHH:MM:SSZ
};

CLI::App* add_persist_record_command(CLI::App& app, PersistRecordOptions& o);
int run_persist_record(const GlobalOptions& g, const PersistRecordOptions& o);

}  // namespace agent::cli
