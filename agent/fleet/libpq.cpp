#include "fleet/libpq.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>

namespace agent::pq {

namespace {

Api g_api;
std::string g_error;  // empty once loaded
bool g_loaded = false;

void load_once() {
  // RTLD_LOCAL: libpq's own dependencies stay out of the global namespace.
  void* lib = ::dlopen("libpq.so.5", RTLD_NOW | RTLD_LOCAL);
  if (lib == nullptr) {
    const char* why = ::dlerror();
    g_error = std::string(
                  "cannot load libpq.so.5 (install Debian's libpq5 to use a fleet "
                  "store): ") +
              (why != nullptr ? why : "unknown error");
    return;
  }
  Api api;
#define ACMECTL_PQ_RESOLVE(name)                                        \
  api.name = reinterpret_cast<decltype(api.name)>(::dlsym(lib, #name)); \
  if (api.name == nullptr) {                                            \
    g_error = "libpq.so.5 has no " #name " (libpq5 too old?)";          \
    return;                                                             \
  }
  ACMECTL_PQ_FUNCTIONS(ACMECTL_PQ_RESOLVE)
#undef ACMECTL_PQ_RESOLVE
  g_api = api;
  g_loaded = true;  // the library stays loaded for the life of the process
}

}  // namespace

acme::Result<void> load() {
  static std::once_flag once;
  std::call_once(once, load_once);
  if (!g_loaded) return acme::make_error(acme::Errc::kIo, g_error);
  return acme::ok();
}

const Api& fn() {
  if (!g_loaded) {
    std::fputs("acmectl: internal error: libpq used before pq::load()\n", stderr);
    std::abort();
  }
  return g_api;
}

}  // namespace agent::pq
