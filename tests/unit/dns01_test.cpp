// DNS-01: names, TSIG algorithms, the UPDATE messages (read back with ldns), the exec hook's
// command line, and the propagation logic against a fake resolver and a fake clock.
#include <doctest/doctest.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cstdlib>
#include <fstream>
#include <functional>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <tuple>
#include <vector>

// ldns/common.h defines `bool` as a macro unless stdbool.h came first.
// clang-format off
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)
#include <ldns/ldns.h>
// clang-format on

#include "acme/dns01.hpp"
#include "acme/key.hpp"
#include "dns01_detail.hpp"
#include "fake_clock.hpp"

using acme::DnsRecord;
using acme::DnsResponse;
using acme::DnsServer;
using acme::DnsType;
using acme::Errc;

namespace {

// Answers from a table keyed by (server, name, type); server "" is "the system resolvers".
// Every question is recorded. A handler may change the table as time passes.
class FakeResolver final : public acme::DnsResolver {
 public:
  struct Asked {
    std::string server;
    std::string name;
    DnsType type;
    bool rd;
  };

  void set(const std::string& server, const std::string& name, DnsType type, DnsResponse r) {
    table_[{server, name, type}] = std::move(r);
  }
  void fail(const std::string& server, const std::string& name, DnsType type) {
    failing_.insert({server, name, type});
  }
  void set_txt(const std::string& server, const std::string& name,
               const std::vector<std::string>& values) {
    DnsResponse r;
    r.authoritative = true;
    for (const auto& v : values) r.answers.push_back({name, DnsType::kTxt, 60, v});
    set(server, name, DnsType::kTxt, r);
  }

  acme::Result<DnsResponse> query(std::string_view name, DnsType type,
                                  const std::vector<DnsServer>& servers,
                                  bool recursion_desired) override {
    std::string server = servers.empty() ? "" : servers.front().to_string();
    asked.push_back({server, std::string(name), type, recursion_desired});
    if (failing_.count({server, std::string(name), type}) != 0) {
      return acme::make_error(Errc::kNetwork, "DNS query " + std::string(name) + ": no answer");
    }
    auto it = table_.find({server, std::string(name), type});
    if (it != table_.end()) return it->second;
    DnsResponse nx;
    nx.rcode = 3;  // NXDOMAIN for anything not in the table
    return nx;
  }

  std::vector<Asked> asked;

 private:
  std::map<std::tuple<std::string, std::string, DnsType>, DnsResponse> table_;
  std::set<std::tuple<std::string, std::string, DnsType>> failing_;
};

DnsResponse answer(std::vector<DnsRecord> records) {
  DnsResponse r;
  r.answers = std::move(records);
  return r;
}

DnsResponse soa(const std::string& zone) {
  return answer({{zone, DnsType::kSoa, 60, "ns1." + zone}});
}

// example.com. with two authoritative servers, as the system resolver sees it.
void add_example_zone(FakeResolver& dns) {
  dns.set("", "example.com.", DnsType::kSoa, soa("example.com."));
  dns.set("", "example.com.", DnsType::kNs,
          answer({{"example.com.", DnsType::kNs, 60, "ns1.example.com."},
                  {"example.com.", DnsType::kNs, 60, "ns2.example.net."}}));
  dns.set("", "ns1.example.com.", DnsType::kA,
          answer({{"ns1.example.com.", DnsType::kA, 60, "192.0.2.1"}}));
  dns.set("", "ns2.example.net.", DnsType::kA,
          answer({{"ns2.example.net.", DnsType::kA, 60, "198.51.100.2"}}));
}

// A fake clock that can run code on each sleep and be cancelled (FakeClock is final).
class HookClock final : public acme::Clock {
 public:
  std::chrono::system_clock::time_point now() const override { return inner_.now(); }
  std::chrono::steady_clock::time_point steady_now() const override { return inner_.steady_now(); }
  void sleep_for(Duration d) override {
    inner_.sleep_for(d);
    if (on_sleep) on_sleep(inner_.sleeps().size());
  }
  bool cancelled() const override { return cancel; }
  std::vector<Duration> sleeps() const { return inner_.sleeps(); }

  std::function<void(size_t)> on_sleep;
  bool cancel = false;

 private:
  acme::test::FakeClock inner_;
};

const std::string kNs1 = "192.0.2.1:53";
const std::string kNs2 = "198.51.100.2:53";

class RecordingProvider final : public acme::DnsProvider {
 public:
  std::string_view name() const noexcept override { return "fake"; }
  acme::Result<void> add_txt(const std::string& fqdn, const std::string& value) override {
    calls.push_back("add " + fqdn + " " + value);
    if (fail_add) return acme::make_error(Errc::kInvalidInput, "fake: add refused");
    records.insert({fqdn, value});
    return acme::ok();
  }
  acme::Result<void> remove_txt(const std::string& fqdn, const std::string& value) override {
    calls.push_back("remove " + fqdn + " " + value);
    records.erase({fqdn, value});
    return acme::ok();
  }
  std::vector<std::string> calls;
  std::set<std::pair<std::string, std::string>> records;
  bool fail_add = false;
};

}  // namespace

// ---- names, servers, algorithms -----------------------------------------------------------

TEST_CASE("DNS server addresses: ADDR:PORT, [IPv6]:PORT, a bare address means port 53") {
  auto a = acme::parse_dns_server("127.0.0.1:5353");
  REQUIRE(a);
  CHECK(a->address == "127.0.0.1");
  CHECK(a->port == 5353);
  CHECK(a->to_string() == "127.0.0.1:5353");
  auto b = acme::parse_dns_server("[::1]:53");
  REQUIRE(b);
  CHECK(b->address == "::1");
  CHECK(b->to_string() == "[::1]:53");
  auto c = acme::parse_dns_server("192.0.2.7");
  REQUIRE(c);
  CHECK(c->port == 53);
  auto d = acme::parse_dns_server("2001:db8::1");
  REQUIRE(d);
  CHECK(d->port == 53);

  CHECK(acme::parse_dns_server("ns1.example.com:53").error().message ==
        "DNS server \"ns1.example.com:53\": expected an IP address and port, ADDR:PORT or "
        "[IPv6]:PORT");
  CHECK(acme::parse_dns_server("127.0.0.1:0").error().message ==
        "DNS server \"127.0.0.1:0\": port must be 1-65535");
  CHECK(acme::parse_dns_server("127.0.0.1:65536").error().message ==
        "DNS server \"127.0.0.1:65536\": port must be 1-65535");
  CHECK(!acme::parse_dns_server("127.0.0.1:"));
  CHECK(!acme::parse_dns_server("[::1"));
  CHECK(!acme::parse_dns_server(""));
  CHECK(acme::parse_dns_server("127.0.0.1:x").error().code == Errc::kInvalidInput);
}

TEST_CASE("RFC 8555 §8.4: the record name; a wildcard validates at its base name") {
  CHECK(acme::dns01_record_name("www.Example.com") == "_acme-challenge.www.example.com.");
  CHECK(acme::dns01_record_name("*.example.com") == "_acme-challenge.example.com.");
  CHECK(acme::dns01_record_name("example.com.") == "_acme-challenge.example.com.");
  CHECK(acme::dns_fqdn("A.B") == "a.b.");
  CHECK(acme::dns_fqdn("") == ".");
}

TEST_CASE("TSIG algorithms (RFC 8945 §6): sha256 default, sha512 and sha1 accepted") {
  CHECK(*acme::parse_tsig_algorithm("hmac-sha256") == acme::TsigAlgorithm::kHmacSha256);
  CHECK(*acme::parse_tsig_algorithm("HMAC-SHA512.") == acme::TsigAlgorithm::kHmacSha512);
  CHECK(*acme::parse_tsig_algorithm("hmac-sha1") == acme::TsigAlgorithm::kHmacSha1);
  CHECK(acme::Rfc2136Options{}.tsig_algorithm == acme::TsigAlgorithm::kHmacSha256);
  for (const char* bad : {"hmac-md5", "hmac-md5.sig-alg.reg.int", "sha256", "", "hmac-sha384"}) {
    auto r = acme::parse_tsig_algorithm(bad);
    REQUIRE(!r);
    CHECK(r.error().message ==
          "TSIG algorithm \"" + std::string(bad) + "\": use hmac-sha256, hmac-sha512 or hmac-sha1");
  }
  CHECK(acme::to_string(acme::TsigAlgorithm::kHmacSha512) == "hmac-sha512");
  CHECK(acme::detail::tsig_algorithm_dname(acme::TsigAlgorithm::kHmacSha1) == "hmac-sha1.");
  CHECK(acme::detail::tsig_error_name(16) == "BADSIG");
  CHECK(acme::detail::tsig_error_name(17) == "BADKEY");
  CHECK(acme::detail::tsig_error_name(18) == "BADTIME");
  CHECK(acme::dns_rcode_name(5) == "REFUSED");
  CHECK(acme::dns_rcode_name(9) == "NOTAUTH");
  CHECK(acme::dns_rcode_name(23) == "RCODE23");
}

TEST_CASE("TSIG secrets are base64 as in named.conf") {
  CHECK(acme::detail::is_base64("c2VjcmV0"));
  CHECK(acme::detail::is_base64("c2VjcmV0cw=="));
  CHECK(acme::detail::is_base64("c2VjcmV0cw"));  // padding optional
  CHECK(!acme::detail::is_base64(""));
  CHECK(!acme::detail::is_base64("c2Vj cmV0"));
  CHECK(!acme::detail::is_base64("c2VjcmV0c-_"));
  CHECK(!acme::detail::is_base64("a=b"));
}

TEST_CASE("the provider registry is explicit and names what it knows") {
  CHECK(acme::dns_provider_names() == std::vector<std::string>{"rfc2136", "exec"});
  acme::DnsProviderOptions o;
  o.exec.program = "/bin/true";
  auto p = acme::make_dns_provider("exec", o);
  REQUIRE(p);
  CHECK((*p)->name() == "exec");
  auto bad = acme::make_dns_provider("route53", o);
  REQUIRE(!bad);
  CHECK(bad.error().message == "unknown DNS provider \"route53\" (known: rfc2136, exec)");
}

// ---- RFC 2136 UPDATE messages -------------------------------------------------------------

namespace {

struct PktFree {
  void operator()(ldns_pkt* p) const noexcept { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktFree>;

Pkt parse(const std::string& wire) {
  ldns_pkt* p = nullptr;
  REQUIRE(ldns_wire2pkt(&p, reinterpret_cast<const uint8_t*>(wire.data()), wire.size()) ==
          LDNS_STATUS_OK);
  return Pkt(p);
}

std::string wire_of(ldns_pkt* p) {
  uint8_t* buf = nullptr;
  size_t size = 0;
  REQUIRE(ldns_pkt2wire(&buf, p, &size) == LDNS_STATUS_OK);
  std::string out(reinterpret_cast<char*>(buf), size);
  std::free(buf);  // NOLINT: ldns allocates with malloc
  return out;
}

std::string text(const ldns_rdf* rdf) {
  char* s = ldns_rdf2str(rdf);
  std::string out(s);
  std::free(s);  // NOLINT
  return out;
}

acme::Rfc2136Options key(const std::string& secret = "c2VjcmV0LXNlY3JldC1zZWNyZXQtc2VjcmV0") {
  acme::Rfc2136Options o;
  o.server = {"127.0.0.1", 53};
  o.tsig_name = "acme-key";
  o.tsig_secret = secret;
  return o;
}

// The server's reply to `request`: same ID, QR set, `rcode`, signed with `secret` over the
// request MAC (RFC 8945 §5.3) unless secret is empty.
std::string reply_to(const acme::detail::UpdateMessage& request, int rcode,
                     const std::string& secret, int tsig_error = 0) {
  Pkt req = parse(request.wire);
  ldns_rr* request_tsig = ldns_pkt_tsig(req.get());
  ldns_pkt_set_tsig(req.get(), nullptr);  // the request's TSIG is not part of the reply
  ldns_rr_free(request_tsig);
  ldns_pkt_set_arcount(req.get(), 0);
  ldns_pkt_set_qr(req.get(), true);
  ldns_pkt_set_rcode(req.get(), static_cast<uint8_t>(rcode));
  if (!secret.empty()) {
    ldns_rdf* mac =
        ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, request.mac.size(), request.mac.data());
    REQUIRE(ldns_pkt_tsig_sign(req.get(), "acme-key.", secret.c_str(), 300, "hmac-sha256.", mac) ==
            LDNS_STATUS_OK);
    ldns_rdf_deep_free(mac);
    if (tsig_error != 0) {
      ldns_rr* tsig = ldns_pkt_tsig(req.get());
      ldns_rdf* old = ldns_rr_set_rdf(
          tsig, ldns_native2rdf_int16(LDNS_RDF_TYPE_INT16, static_cast<uint16_t>(tsig_error)), 5);
      ldns_rdf_deep_free(old);
    }
  }
  return wire_of(req.get());
}

}  // namespace

TEST_CASE("RFC 2136 §2.5.1: add one TXT RR, TSIG-signed (RFC 8945 §5.1)") {
  auto o = key();
  auto msg = acme::detail::build_txt_update("example.test.", "_acme-challenge.example.test.",
                                            "abc_DEF-123", true, 60, o);
  REQUIRE(msg);
  Pkt p = parse(msg->wire);
  CHECK(ldns_pkt_get_opcode(p.get()) == LDNS_PACKET_UPDATE);
  CHECK(ldns_pkt_id(p.get()) == msg->id);
  CHECK(!ldns_pkt_rd(p.get()));
  // Zone section: example.test. SOA IN.
  REQUIRE(ldns_pkt_qdcount(p.get()) == 1);
  const ldns_rr* zone = ldns_rr_list_rr(ldns_pkt_question(p.get()), 0);
  CHECK(text(ldns_rr_owner(zone)) == "example.test.");
  CHECK(ldns_rr_get_type(zone) == LDNS_RR_TYPE_SOA);
  // No prerequisites; one update.
  CHECK(ldns_pkt_ancount(p.get()) == 0);
  REQUIRE(ldns_pkt_nscount(p.get()) == 1);
  const ldns_rr* up = ldns_rr_list_rr(ldns_pkt_authority(p.get()), 0);
  CHECK(text(ldns_rr_owner(up)) == "_acme-challenge.example.test.");
  CHECK(ldns_rr_get_type(up) == LDNS_RR_TYPE_TXT);
  CHECK(ldns_rr_get_class(up) == LDNS_RR_CLASS_IN);
  CHECK(ldns_rr_ttl(up) == 60);
  CHECK(text(ldns_rr_rdf(up, 0)) == "\"abc_DEF-123\"");
  // TSIG: key name, algorithm, a MAC that verifies.
  const ldns_rr* tsig = ldns_pkt_tsig(p.get());
  REQUIRE(tsig != nullptr);
  CHECK(text(ldns_rr_owner(tsig)) == "acme-key.");
  CHECK(text(ldns_rr_rdf(tsig, 0)) == "hmac-sha256.");
  CHECK(ldns_pkt_tsig_verify(p.get(), reinterpret_cast<const uint8_t*>(msg->wire.data()),
                             msg->wire.size(), "acme-key.", o.tsig_secret.c_str(), nullptr));
  CHECK(!ldns_pkt_tsig_verify(p.get(), reinterpret_cast<const uint8_t*>(msg->wire.data()),
                              msg->wire.size(), "acme-key.", "b3RoZXItc2VjcmV0", nullptr));
}

TEST_CASE("RFC 2136 §2.5.4: delete exactly one TXT RR (class NONE, TTL 0)") {
  auto o = key();
  o.tsig_algorithm = acme::TsigAlgorithm::kHmacSha512;
  auto msg = acme::detail::build_txt_update("example.test.", "_acme-challenge.example.test.",
                                            "value1", false, 60, o);
  REQUIRE(msg);
  Pkt p = parse(msg->wire);
  const ldns_rr* up = ldns_rr_list_rr(ldns_pkt_authority(p.get()), 0);
  CHECK(ldns_rr_get_class(up) == LDNS_RR_CLASS_NONE);
  CHECK(ldns_rr_ttl(up) == 0);
  CHECK(text(ldns_rr_rdf(up, 0)) == "\"value1\"");
  CHECK(text(ldns_rr_rdf(ldns_pkt_tsig(p.get()), 0)) == "hmac-sha512.");
}

TEST_CASE("UPDATE refuses a secret that is not base64 and an over-long value") {
  auto bad = key("not base64!");
  auto r = acme::detail::build_txt_update("example.test.", "a.example.test.", "v", true, 60, bad);
  REQUIRE(!r);
  CHECK(r.error().message == "TSIG secret is not base64");
  auto o = key();
  CHECK(!acme::detail::build_txt_update("example.test.", "a.example.test.", std::string(256, 'a'),
                                        true, 60, o));
}

TEST_CASE("UPDATE replies: signed NOERROR passes; TSIG errors, REFUSED and forgeries do not") {
  auto o = key();
  auto msg = acme::detail::build_txt_update("example.test.", "_acme-challenge.example.test.", "v",
                                            true, 60, o);
  REQUIRE(msg);
  CHECK(acme::detail::check_update_reply(reply_to(*msg, 0, o.tsig_secret), *msg, o));

  auto forged = acme::detail::check_update_reply(reply_to(*msg, 0, "b3RoZXItc2VjcmV0"), *msg, o);
  REQUIRE(!forged);
  CHECK(forged.error().message ==
        "the reply's TSIG signature does not verify (key acme-key. hmac-sha256)");

  auto unsigned_ok = acme::detail::check_update_reply(reply_to(*msg, 0, ""), *msg, o);
  REQUIRE(!unsigned_ok);
  CHECK(unsigned_ok.error().message == "the server answered NOERROR without a TSIG signature");

  // RFC 8945 §5.3.2: NOTAUTH with TSIG error BADSIG when the server cannot verify us.
  auto badsig = acme::detail::check_update_reply(reply_to(*msg, 9, o.tsig_secret, 16), *msg, o);
  REQUIRE(!badsig);
  CHECK(badsig.error().message ==
        "TSIG rejected by the server: NOTAUTH BADSIG (key acme-key. hmac-sha256): the secret "
        "does not match the server's");

  auto refused = acme::detail::check_update_reply(reply_to(*msg, 5, ""), *msg, o);
  REQUIRE(!refused);
  CHECK(refused.error().message ==
        "the server answered REFUSED: the key may not update this name (update-policy)");

  auto other =
      *acme::detail::build_txt_update("example.test.", "x.example.test.", "v", true, 60, o);
  other.id = static_cast<uint16_t>(msg->id + 1);
  CHECK(acme::detail::check_update_reply(reply_to(*msg, 0, o.tsig_secret), other, o)
            .error()
            .message == "reply has another message ID");
  CHECK(!acme::detail::check_update_reply("garbage", *msg, o));
}

// ---- exec provider ------------------------------------------------------------------------

TEST_CASE("exec hook: PROGRAM present|cleanup FQDN VALUE, values also in the environment") {
  CHECK(acme::detail::exec_hook_argv("/usr/local/bin/dns-hook", "present",
                                     "_acme-challenge.example.com.", "VALUE") ==
        std::vector<std::string>{"/usr/local/bin/dns-hook", "present",
                                 "_acme-challenge.example.com.", "VALUE"});
  // A value with spaces or quotes stays one argument: there is no shell to split it.
  CHECK(acme::detail::exec_hook_argv("/h", "cleanup", "a.", "x y;$(z)")[3] == "x y;$(z)");

  std::string keep = "PATH=/usr/bin";
  std::string stale = "ACMECTL_DNS01_VALUE=old";
  std::string other = "ACMECTL_STATE_DIR=/s";
  char* base[] = {keep.data(), stale.data(), other.data(), nullptr};
  auto env = acme::detail::exec_hook_env(base, "present", "_acme-challenge.a.", "V");
  CHECK(env == std::vector<std::string>{
                   "PATH=/usr/bin", "ACMECTL_STATE_DIR=/s", "ACMECTL_DNS01_ACTION=present",
                   "ACMECTL_DNS01_FQDN=_acme-challenge.a.", "ACMECTL_DNS01_VALUE=V"});
}

TEST_CASE("exec hook errors show the last line of stderr") {
  CHECK(acme::detail::last_line("first\nsecond line  \n\n  \n") == "second line");
  CHECK(acme::detail::last_line("") == "");
  CHECK(acme::detail::last_line("only") == "only");
  CHECK(acme::detail::last_line(std::string(400, 'x')).size() == 300);
  CHECK(acme::detail::last_line("a\tb\n") == "a b");
}

namespace {

// A throw-away executable script, removed at the end of the test.
struct Script {
  explicit Script(const std::string& body) {
    char tmpl[] = "/tmp/acmectl-dns01-hook-XXXXXX";
    const int fd = ::mkstemp(tmpl);
    REQUIRE(fd >= 0);
    ::close(fd);
    path = tmpl;
    std::ofstream(path) << "#!/bin/sh\n" << body;
    ::chmod(path.c_str(), 0700);
  }
  ~Script() { ::unlink(path.c_str()); }
  Script(const Script&) = delete;
  Script& operator=(const Script&) = delete;
  std::string path;
};

}  // namespace

TEST_CASE("exec hook: exit 0 is success, non-zero an error naming the call and its stderr") {
  Script ok_script("exit 0\n");
  auto p = acme::make_exec_provider({ok_script.path, std::chrono::seconds(10)});
  CHECK(p->add_txt("_acme-challenge.a.test.", "V"));

  Script failing("echo noise on stdout\necho 'first' >&2\necho \"no zone for $2\" >&2\nexit 3\n");
  auto f = acme::make_exec_provider({failing.path, std::chrono::seconds(10)});
  auto r = f->add_txt("_acme-challenge.a.test.", "VALUE");
  REQUIRE(!r);
  CHECK(r.error().message == "dns exec hook " + failing.path +
                                 " present _acme-challenge.a.test. VALUE exited with status 3: "
                                 "no zone for _acme-challenge.a.test.");
  auto c = f->remove_txt("_acme-challenge.a.test.", "VALUE");
  REQUIRE(!c);
  CHECK(c.error().message.find(" cleanup _acme-challenge.a.test. VALUE exited with status 3") !=
        std::string::npos);

  Script env_check(
      "[ \"$ACMECTL_DNS01_ACTION $ACMECTL_DNS01_FQDN $ACMECTL_DNS01_VALUE\" = "
      "\"$1 $2 $3\" ] || { echo env differs >&2; exit 1; }\n");
  auto e = acme::make_exec_provider({env_check.path, std::chrono::seconds(10)});
  CHECK(e->add_txt("_acme-challenge.b.test.", "W"));
}

TEST_CASE("exec hook: a hook that hangs is stopped after the timeout") {
  Script slow("sleep 30\n");
  auto p = acme::make_exec_provider({slow.path, std::chrono::milliseconds(200)});
  const auto t0 = std::chrono::steady_clock::now();
  auto r = p->add_txt("_acme-challenge.a.test.", "V");
  REQUIRE(!r);
  CHECK(r.error().code == Errc::kTimeout);
  CHECK(r.error().message == "dns exec hook " + slow.path +
                                 " present _acme-challenge.a.test. V timed out after 200ms and "
                                 "was stopped");
  CHECK(std::chrono::steady_clock::now() - t0 < std::chrono::seconds(10));
}

TEST_CASE("exec hook: a program that cannot run is an error, not a crash") {
  auto p = acme::make_exec_provider({"/nonexistent/hook", std::chrono::seconds(5)});
  auto r = p->add_txt("_acme-challenge.a.test.", "V");
  REQUIRE(!r);
  CHECK(r.error().message ==
        "dns exec hook /nonexistent/hook present _acme-challenge.a.test. V: cannot execute "
        "/nonexistent/hook: No such file or directory");
}

// ---- lookups: CNAME, zone, authoritative servers ------------------------------------------

TEST_CASE("CNAMEs are followed from _acme-challenge.NAME to where the chain ends") {
  FakeResolver dns;
  dns.set("", "_acme-challenge.www.example.com.", DnsType::kCname,
          answer({{"_acme-challenge.www.example.com.", DnsType::kCname, 60,
                   "www.example.com.challenges.example.net."}}));
  dns.set("", "www.example.com.challenges.example.net.", DnsType::kCname,
          answer({{"www.example.com.challenges.example.net.", DnsType::kCname, 60,
                   "Final.Example.ORG."}}));
  auto r = acme::follow_cnames(dns, "_acme-challenge.www.example.com", {});
  REQUIRE(r);
  CHECK(*r == "final.example.org.");
  // No CNAME (NXDOMAIN here): the name itself.
  CHECK(*acme::follow_cnames(dns, "_acme-challenge.other.example.com.", {}) ==
        "_acme-challenge.other.example.com.");
}

TEST_CASE("a chain given whole in one answer is followed without asking again") {
  FakeResolver dns;
  dns.set("", "_acme-challenge.a.test.", DnsType::kCname,
          answer({{"_acme-challenge.a.test.", DnsType::kCname, 60, "b.test."},
                  {"b.test.", DnsType::kCname, 60, "c.test."}}));
  CHECK(*acme::follow_cnames(dns, "_acme-challenge.a.test.", {}) == "c.test.");
  CHECK(dns.asked.size() == 2);  // a (the chain to c) and c (no further CNAME)
}

TEST_CASE("CNAME loops and lookups that fail are errors") {
  FakeResolver dns;
  dns.set("", "a.test.", DnsType::kCname, answer({{"a.test.", DnsType::kCname, 60, "b.test."}}));
  dns.set("", "b.test.", DnsType::kCname, answer({{"b.test.", DnsType::kCname, 60, "a.test."}}));
  auto loop = acme::follow_cnames(dns, "a.test.", {});
  REQUIRE(!loop);
  CHECK(loop.error().message == "CNAME loop from a.test. at b.test. -> a.test.");

  dns.fail("", "c.test.", DnsType::kCname);
  auto down = acme::follow_cnames(dns, "c.test.", {});
  REQUIRE(!down);
  CHECK(down.error().message == "following CNAMEs from c.test.: DNS query c.test.: no answer");
}

TEST_CASE("the zone is found by walking up to the name that has the SOA") {
  FakeResolver dns;
  add_example_zone(dns);
  // The record's parent exists but is no zone apex: NOERROR without SOA (a CNAME, say).
  dns.set("", "www.example.com.", DnsType::kSoa,
          answer({{"www.example.com.", DnsType::kCname, 60, "example.com."}}));
  auto zone = acme::find_zone(dns, "_acme-challenge.www.example.com.", {}, true);
  REQUIRE(zone);
  CHECK(*zone == "example.com.");
  REQUIRE(dns.asked.size() == 3);
  CHECK(dns.asked[0].name == "_acme-challenge.www.example.com.");
  CHECK(dns.asked[1].name == "www.example.com.");
  CHECK(dns.asked[2].name == "example.com.");
  for (const auto& q : dns.asked) CHECK(q.type == DnsType::kSoa);
}

TEST_CASE("no zone: the walk ends at the root with an error naming the last answer") {
  FakeResolver dns;
  DnsResponse refused;
  refused.rcode = 5;
  for (const char* n : {"a.nowhere.", "nowhere.", "."}) {
    dns.set("127.0.0.1:5300", n, DnsType::kSoa, refused);
  }
  auto zone = acme::find_zone(dns, "a.nowhere.", {{"127.0.0.1", 5300}}, false);
  REQUIRE(!zone);
  CHECK(zone.error().message ==
        "no zone holds a.nowhere.: no SOA record found at 127.0.0.1:5300 (last: . SOA: REFUSED)");
  CHECK(!dns.asked.front().rd);
}

TEST_CASE("authoritative servers: every NS, by address, port 53") {
  FakeResolver dns;
  add_example_zone(dns);
  auto servers = acme::authoritative_servers(dns, "example.com.", {});
  REQUIRE(servers);
  REQUIRE(servers->size() == 2);
  CHECK((*servers)[0].to_string() == kNs1);
  CHECK((*servers)[1].to_string() == kNs2);

  dns.set("", "empty.test.", DnsType::kNs, answer({}));
  auto none = acme::authoritative_servers(dns, "empty.test.", {});
  REQUIRE(!none);
  CHECK(none.error().message ==
        "zone empty.test. has no NS records (NOERROR from the system resolvers)");
}

// ---- propagation --------------------------------------------------------------------------

TEST_CASE("propagation: every authoritative server is asked directly, without recursion") {
  FakeResolver dns;
  add_example_zone(dns);
  const std::string name = "_acme-challenge.example.com.";
  dns.set_txt(kNs1, name, {"apex", "wild"});
  dns.set_txt(kNs2, name, {"wild", "apex", "other"});
  acme::test::FakeClock clock;
  acme::PropagationOptions o;
  auto r = acme::wait_for_propagation(dns, clock, {{name, {"apex", "wild"}}}, o);
  REQUIRE(r);
  CHECK(clock.sleeps().empty());
  std::set<std::string> txt_servers;
  for (const auto& q : dns.asked) {
    if (q.type != DnsType::kTxt) continue;
    txt_servers.insert(q.server);
    CHECK(!q.rd);
  }
  CHECK(txt_servers == std::set<std::string>{kNs1, kNs2});
}

TEST_CASE("propagation: all NS must agree; a lagging server is asked again until it does") {
  FakeResolver dns;
  add_example_zone(dns);
  const std::string name = "_acme-challenge.example.com.";
  dns.set_txt(kNs1, name, {"v"});
  dns.set_txt(kNs2, name, {});  // the secondary has not transferred the zone yet
  acme::test::FakeClock clock;
  acme::PropagationOptions o;
  o.interval = std::chrono::seconds(2);
  std::vector<std::string> log;
  o.log = [&log](const std::string& line) { log.push_back(line); };

  // The secondary catches up during the second sleep.
  HookClock catching;
  catching.on_sleep = [&](size_t n) {
    if (n == 2) dns.set_txt(kNs2, name, {"v"});
  };
  auto r = acme::wait_for_propagation(dns, catching, {{name, {"v"}}}, o);
  REQUIRE(r);
  CHECK(catching.sleeps() ==
        std::vector<acme::Clock::Duration>{std::chrono::seconds(2), std::chrono::seconds(2)});
  // The first server answered at once: it was not asked again.
  int ns1_asked = 0;
  for (const auto& q : dns.asked) ns1_asked += q.type == DnsType::kTxt && q.server == kNs1;
  CHECK(ns1_asked == 1);
  REQUIRE(!log.empty());
  CHECK(log.front() == "propagation: zone example.com. for " + name + ", authoritative servers " +
                           kNs1 + ", " + kNs2);
  CHECK(log.back() == "propagation: 2 server answers hold every value (took 4s)");
}

TEST_CASE("propagation: the timeout names the server, the value and what it answered") {
  FakeResolver dns;
  add_example_zone(dns);
  const std::string name = "_acme-challenge.example.com.";
  dns.set_txt(kNs1, name, {"v"});
  dns.set_txt(kNs2, name, {"stale"});
  acme::test::FakeClock clock;
  acme::PropagationOptions o;
  o.timeout = std::chrono::seconds(5);
  o.interval = std::chrono::seconds(2);
  auto r = acme::wait_for_propagation(dns, clock, {{name, {"v"}}}, o);
  REQUIRE(!r);
  CHECK(r.error().code == Errc::kTimeout);
  CHECK(r.error().message == "DNS propagation timed out after 5s: " + kNs2 +
                                 " does not serve TXT \"v\" at " + name +
                                 " (answered NOERROR with TXT \"stale\")");
  // 2 + 2 + the 1 s left: never past the deadline.
  CHECK(clock.sleeps() == std::vector<acme::Clock::Duration>{std::chrono::seconds(2),
                                                             std::chrono::seconds(2),
                                                             std::chrono::seconds(1)});
}

TEST_CASE("propagation: --dns-resolver servers replace the authoritative ones (RD set)") {
  FakeResolver dns;  // no SOA, no NS: neither may be asked
  const std::string name = "_acme-challenge.example.test.";
  dns.set_txt("127.0.0.1:5300", name, {"a", "b"});
  acme::test::FakeClock clock;
  acme::PropagationOptions o;
  o.servers = {{"127.0.0.1", 5300}};
  REQUIRE(acme::wait_for_propagation(dns, clock, {{name, {"a", "b"}}}, o));
  REQUIRE(dns.asked.size() == 1);
  CHECK(dns.asked[0].server == "127.0.0.1:5300");
  CHECK(dns.asked[0].type == DnsType::kTxt);
  CHECK(dns.asked[0].rd);

  dns.asked.clear();
  o.timeout = std::chrono::seconds(0);
  auto r = acme::wait_for_propagation(dns, clock, {{name, {"a", "c"}}, {"x.test.", {"d"}}}, o);
  REQUIRE(!r);
  CHECK(r.error().message ==
        "DNS propagation timed out after 0s: 127.0.0.1:5300 does not serve "
        "TXT \"c\" at " +
            name +
            " (answered NOERROR with TXT \"a\", \"b\") "
            "(and 1 more)");
}

TEST_CASE("propagation: a cancelled clock stops the wait") {
  HookClock clock;
  clock.cancel = true;
  FakeResolver dns;
  acme::PropagationOptions o;
  o.servers = {{"127.0.0.1", 5300}};
  auto r = acme::wait_for_propagation(dns, clock, {{"a.test.", {"v"}}}, o);
  REQUIRE(!r);
  CHECK(r.error().code == Errc::kCancelled);
}

TEST_CASE("propagation: no zone for the name is an error at once, not a timeout") {
  FakeResolver dns;
  acme::test::FakeClock clock;
  auto r = acme::wait_for_propagation(dns, clock, {{"_acme-challenge.nowhere.", {"v"}}}, {});
  REQUIRE(!r);
  CHECK(r.error().message.rfind("DNS propagation check: no zone holds _acme-challenge.nowhere.",
                                0) == 0);
  CHECK(clock.sleeps().empty());
}

// ---- the solver ---------------------------------------------------------------------------

namespace {

acme::ChallengeContext challenge(const std::string& name, const std::string& token) {
  return {{"dns", name}, "dns-01", token, token + ".thumbprint"};
}

}  // namespace

TEST_CASE("solver: a wildcard and its apex put two values under one name; cleanup removes each") {
  auto dns = std::make_shared<FakeResolver>();
  auto provider = std::make_unique<RecordingProvider>();
  RecordingProvider& p = *provider;
  acme::test::FakeClock clock;
  acme::Dns01Options o;
  o.resolvers = {{"127.0.0.1", 5300}};
  acme::Dns01Solver solver(std::move(provider), dns, clock, o);
  CHECK(solver.challenge_type() == "dns-01");

  // RFC 8555 §7.1.3: the authorization for *.example.test names example.test.
  const auto wild = challenge("example.test", "tokenWild");
  const auto apex = challenge("example.test", "tokenApex");
  REQUIRE(solver.present(wild));
  REQUIRE(solver.present(apex));
  const std::string name = "_acme-challenge.example.test.";
  const std::string v_wild = acme::dns01_txt_value(wild.key_authorization);
  const std::string v_apex = acme::dns01_txt_value(apex.key_authorization);
  CHECK(p.calls ==
        std::vector<std::string>{"add " + name + " " + v_wild, "add " + name + " " + v_apex});

  dns->set_txt("127.0.0.1:5300", name, {v_apex, v_wild});
  REQUIRE(solver.wait_ready());

  solver.cleanup(wild);
  CHECK(p.records == std::set<std::pair<std::string, std::string>>{{name, v_apex}});
  solver.cleanup(wild);  // twice: nothing more to remove
  solver.cleanup(apex);
  CHECK(p.records.empty());
  CHECK(p.calls.size() == 4);
}

TEST_CASE("solver: wait_ready checks every value presented, and times out clearly") {
  auto dns = std::make_shared<FakeResolver>();
  acme::test::FakeClock clock;
  acme::Dns01Options o;
  o.resolvers = {{"127.0.0.1", 5300}};
  o.propagation_timeout = std::chrono::seconds(3);
  acme::Dns01Solver solver(std::make_unique<RecordingProvider>(), dns, clock, o);
  const auto a = challenge("a.example.test", "tokA");
  const auto b = challenge("b.example.test", "tokB");
  REQUIRE(solver.present(a));
  REQUIRE(solver.present(b));
  dns->set_txt("127.0.0.1:5300", "_acme-challenge.a.example.test.",
               {acme::dns01_txt_value(a.key_authorization)});
  auto r = solver.wait_ready();
  REQUIRE(!r);
  CHECK(r.error().code == Errc::kTimeout);
  CHECK(r.error().message.find("does not serve TXT \"" +
                               acme::dns01_txt_value(b.key_authorization) +
                               "\" at _acme-challenge.b.example.test.") != std::string::npos);
}

TEST_CASE("solver: a CNAME'd _acme-challenge is updated where the chain ends") {
  auto dns = std::make_shared<FakeResolver>();
  dns->set(
      "127.0.0.1:5300", "_acme-challenge.www.example.test.", DnsType::kCname,
      answer({{"_acme-challenge.www.example.test.", DnsType::kCname, 60, "www.challenges.test."}}));
  auto provider = std::make_unique<RecordingProvider>();
  RecordingProvider& p = *provider;
  acme::test::FakeClock clock;
  acme::Dns01Options o;
  o.resolvers = {{"127.0.0.1", 5300}};
  std::vector<std::string> log;
  o.log = [&log](const std::string& line) { log.push_back(line); };
  acme::Dns01Solver solver(std::move(provider), dns, clock, o);
  const auto ctx = challenge("www.example.test", "tok");
  const std::string v = acme::dns01_txt_value(ctx.key_authorization);
  REQUIRE(solver.present(ctx));
  CHECK(p.calls == std::vector<std::string>{"add www.challenges.test. " + v});
  REQUIRE(!log.empty());
  CHECK(log.front() ==
        "fake add TXT www.challenges.test. (CNAME from "
        "_acme-challenge.www.example.test.) for www.example.test");
  // Propagation is checked at the target, the name the CA ends up reading.
  dns->set_txt("127.0.0.1:5300", "www.challenges.test.", {v});
  REQUIRE(solver.wait_ready());
  solver.cleanup(ctx);
  CHECK(p.calls.back() == "remove www.challenges.test. " + v);
}

TEST_CASE("solver: cleanup after a failed present removes nothing") {
  auto dns = std::make_shared<FakeResolver>();
  auto provider = std::make_unique<RecordingProvider>();
  RecordingProvider& p = *provider;
  p.fail_add = true;
  acme::test::FakeClock clock;
  acme::Dns01Solver solver(std::move(provider), dns, clock, {});
  const auto ctx = challenge("a.test", "tok");
  auto r = solver.present(ctx);
  REQUIRE(!r);
  CHECK(r.error().message == "fake: add refused");
  solver.cleanup(ctx);
  CHECK(p.calls.size() == 1);  // the add only
  CHECK(solver.wait_ready());  // nothing presented: nothing to wait for
}

TEST_CASE("solver: dns-01 cannot prove an IP address") {
  acme::test::FakeClock clock;
  acme::Dns01Solver solver(std::make_unique<RecordingProvider>(), std::make_shared<FakeResolver>(),
                           clock, {});
  acme::ChallengeContext ctx{{"ip", "192.0.2.1"}, "dns-01", "tok", "tok.x"};
  CHECK(!solver.present(ctx));
}
