// The fleet's key-encryption key (agent/fleet/kek.cpp): AES-256-GCM sealing of private keys.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "fleet/fleet_store.hpp"
#include "fleet/kek.hpp"

namespace {

std::string temp_file(const std::string& content, mode_t mode) {
  char path[] = "/tmp/acmectl-kek-test.XXXXXX";
  const int fd = ::mkstemp(path);
  REQUIRE(fd >= 0);
  ::close(fd);
  std::ofstream(path) << content;
  ::chmod(path, mode);
  return path;
}

const std::string kHex = "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f";

}  // namespace

TEST_CASE("kek: sealed values open with the same key and the same binding only") {
  auto k = agent::Kek::from_bytes(std::string(32, '\x11'));
  REQUIRE(k);
  const std::string secret = "-----BEGIN PRIVATE KEY-----\nabc\n-----END PRIVATE KEY-----\n";
  auto sealed = k->seal(secret, "c01\n1");
  REQUIRE(sealed);
  CHECK(sealed->rfind("v1.", 0) == 0);
  CHECK(sealed->find("PRIVATE") == std::string::npos);
  auto again = k->seal(secret, "c01\n1");
  REQUIRE(again);
  CHECK(*again != *sealed);  // a fresh nonce every time
  auto opened = k->open(*sealed, "c01\n1");
  REQUIRE(opened);
  CHECK(*opened == secret);

  // Moved to another row (name or version): refused.
  CHECK_FALSE(k->open(*sealed, "c02\n1"));
  CHECK_FALSE(k->open(*sealed, "c01\n2"));
  // Another key: refused, and the message says why.
  auto other = agent::Kek::from_bytes(std::string(32, '\x22'));
  REQUIRE(other);
  CHECK(other->id() != k->id());
  auto wrong = other->open(*sealed, "c01\n1");
  REQUIRE_FALSE(wrong);
  CHECK(wrong.error().message.find("authentication failed") != std::string::npos);
  // One bit flipped in the ciphertext: refused.
  std::string tampered = *sealed;
  tampered[10] = tampered[10] == 'A' ? 'B' : 'A';
  CHECK_FALSE(k->open(tampered, "c01\n1"));
  CHECK_FALSE(k->open("v0.abc", "c01\n1"));
  CHECK_FALSE(k->open("v1.", "c01\n1"));
}

TEST_CASE("kek: the file holds 64 hex digits and is private") {
  const std::string good = temp_file(kHex + "\n", 0600);
  auto k = agent::Kek::load(good);
  REQUIRE(k);
  auto same = agent::Kek::from_bytes(
      std::string("\x00\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d\x0e\x0f"
                  "\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b\x1c\x1d\x1e\x1f",
                  32));
  REQUIRE(same);
  CHECK(k->id() == same->id());
  CHECK(k->id().size() == 16);

  const std::string open_to_all = temp_file(kHex, 0644);
  auto r = agent::Kek::load(open_to_all);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("readable by others") != std::string::npos);

  const std::string short_key = temp_file(kHex.substr(2), 0600);
  r = agent::Kek::load(short_key);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("64 hex digits") != std::string::npos);

  const std::string not_hex = temp_file(std::string(64, 'g'), 0600);
  CHECK_FALSE(agent::Kek::load(not_hex));
  CHECK_FALSE(agent::Kek::load("/nonexistent/kek"));
  for (const auto& p : {good, open_to_all, short_key, not_hex}) std::remove(p.c_str());
}

TEST_CASE("fleet: a password in the store URL is redacted in messages") {
  CHECK(agent::redact_url("postgresql://acme:s3cret@db:5432/x") ==
        "postgresql://acme:***@db:5432/x");
  CHECK(agent::redact_url("postgresql://acme@db:5432/x") == "postgresql://acme@db:5432/x");
  CHECK(agent::redact_url("postgresql://db/x") == "postgresql://db/x");
}
