#pragma once
// The store the config chooses ([store] in the config, docs/fleet.md):
//   [store] url = "postgresql://..."  this host's records (agent_id, default hostname) in
//                                      the fleet's database: PostgresStore;
//   otherwise                          the SQLite store at STATE_DIR/acmectl.db.
// Either way the state dir keeps the lock, the control socket and the account keys.

#include <memory>
#include <string>

#include "fleet/fleet_store.hpp"
#include "store/store.hpp"

namespace agent {

Result<std::unique_ptr<Store>> open_configured_store(const std::string& state_dir,
                                                     const FleetSettings& store);

}  // namespace agent
