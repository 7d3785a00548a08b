#include "store/open_store.hpp"

#include "store/postgres_store.hpp"

namespace agent {

Result<std::unique_ptr<Store>> open_configured_store(const std::string& state_dir,
                                                     const FleetSettings& store) {
  if (store.enabled()) return PostgresStore::open(store);
  return Store::open(state_dir + "/acmectl.db");
}

}  // namespace agent
