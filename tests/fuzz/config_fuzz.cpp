// The agent's TOML config (agent::parse_config, docs/config.md): any text gives a config or
// an error naming the file, never a crash, a leak or an escaped exception.
#include <cstddef>
#include <cstdint>
#include <string>

#include "config/config.hpp"
#include "fuzz_check.hpp"

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string text(reinterpret_cast<const char*>(data), size);
  const auto cfg = agent::parse_config(text, "fuzz.toml");
  if (!cfg) {
    // Every message names the source (INTERFACE.md: "FILE:LINE:COL: what").
    FUZZ_CHECK(cfg.error().message.rfind("fuzz.toml", 0) == 0);
    return 0;
  }
  for (const auto& cert : cfg->certificates) {
    FUZZ_CHECK(!cert.name.empty());
    FUZZ_CHECK(!cert.domains.empty());
  }
  return 0;
}
