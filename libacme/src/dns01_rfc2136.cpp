// The rfc2136 DnsProvider: one TXT RR added or deleted per dynamic UPDATE (RFC 2136),
// signed with TSIG (RFC 8945). ldns builds, signs, parses and verifies the messages; this
// file only moves bytes over TCP (RFC 1035 §4.2.2: two-octet length prefix), so a large
// reply is never truncated and a retransmitted UDP update can never apply twice.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <mutex>

// ldns/common.h defines `bool` as a macro unless stdbool.h came first.
// clang-format off
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)
#include <ldns/ldns.h>
// clang-format on

#include "acme/dns01.hpp"
#include "acme/host_port.hpp"
#include "acme/unique_fd.hpp"
#include "dns01_detail.hpp"

namespace acme {
namespace detail {
namespace {

constexpr uint16_t kTsigFudge = 300;  // RFC 8945 §10: 300 seconds recommended
constexpr int kTsigErrorRdf = 5;      // RFC 8945 §4.2: Algorithm, Time, Fudge, MAC, ID, Error
constexpr int kTsigMacRdf = 3;

struct PktDeleter {
  void operator()(ldns_pkt* p) const noexcept { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktDeleter>;
struct RrListDeleter {
  void operator()(ldns_rr_list* l) const noexcept { ldns_rr_list_deep_free(l); }
};
struct RrDeleter {
  void operator()(ldns_rr* r) const noexcept { ldns_rr_free(r); }
};
struct RdfDeleter {
  void operator()(ldns_rdf* r) const noexcept { ldns_rdf_deep_free(r); }
};
using Rdf = std::unique_ptr<ldns_rdf, RdfDeleter>;
struct BufDeleter {
  void operator()(uint8_t* p) const noexcept { std::free(p); }  // NOLINT: ldns uses malloc
};

std::string with_dot(std::string name) {
  if (name.empty() || name.back() != '.') name.push_back('.');
  return name;
}

std::string status_text(ldns_status s) {
  const char* t = ldns_get_errorstr_by_id(s);
  return t ? t : "ldns error " + std::to_string(static_cast<int>(s));
}

}  // namespace

Result<UpdateMessage> build_txt_update(const std::string& zone, const std::string& fqdn,
                                       const std::string& value, bool add, uint32_t ttl,
                                       const Rfc2136Options& options) {
  if (value.empty() || value.size() > 255) {
    return make_error(Errc::kInvalidInput, "TXT value must be 1 to 255 octets");
  }
  ldns_rdf* zone_rdf = ldns_dname_new_frm_str(zone.c_str());
  ldns_rdf* owner = ldns_dname_new_frm_str(fqdn.c_str());
  if (zone_rdf == nullptr || owner == nullptr) {
    if (zone_rdf) ldns_rdf_deep_free(zone_rdf);
    if (owner) ldns_rdf_deep_free(owner);
    return make_error(Errc::kInvalidInput, "not a domain name: " + fqdn + " / " + zone);
  }
  std::unique_ptr<ldns_rr, RrDeleter> rr(ldns_rr_new());
  ldns_rr_set_owner(rr.get(), owner);
  ldns_rr_set_type(rr.get(), LDNS_RR_TYPE_TXT);
  // RFC 2136 §2.5.1: add with CLASS = zone class; §2.5.4: delete one RR with CLASS NONE, TTL 0.
  ldns_rr_set_class(rr.get(), add ? LDNS_RR_CLASS_IN : LDNS_RR_CLASS_NONE);
  ldns_rr_set_ttl(rr.get(), add ? ttl : 0);
  // One character-string (RFC 1035 §3.3.14), built from bytes: no text parser sees the value.
  std::string str(1, static_cast<char>(value.size()));
  str += value;
  ldns_rr_push_rdf(rr.get(), ldns_rdf_new_frm_data(LDNS_RDF_TYPE_STR, str.size(), str.data()));
  std::unique_ptr<ldns_rr_list, RrListDeleter> updates(ldns_rr_list_new());
  ldns_rr_list_push_rr(updates.get(), rr.release());

  // Takes zone_rdf; copies the update list.
  Pkt pkt(ldns_update_pkt_new(zone_rdf, LDNS_RR_CLASS_IN, nullptr, updates.get(), nullptr));
  if (!pkt) return make_error(Errc::kInternal, "ldns_update_pkt_new failed");
  ldns_pkt_set_rd(pkt.get(), false);  // RFC 2136 §2.2: not used in UPDATE, zero
  ldns_pkt_set_random_id(pkt.get());
  const std::string key = with_dot(dns_fqdn(options.tsig_name));
  const std::string alg(tsig_algorithm_dname(options.tsig_algorithm));
  if (!is_base64(options.tsig_secret)) {
    return make_error(Errc::kInvalidInput, "TSIG secret is not base64");
  }
  if (ldns_status s = ldns_pkt_tsig_sign(pkt.get(), key.c_str(), options.tsig_secret.c_str(),
                                         kTsigFudge, alg.c_str(), nullptr);
      s != LDNS_STATUS_OK) {
    return make_error(Errc::kCrypto, "TSIG signing (" + alg + "): " + status_text(s));
  }
  uint8_t* raw = nullptr;
  size_t size = 0;
  if (ldns_status s = ldns_pkt2wire(&raw, pkt.get(), &size); s != LDNS_STATUS_OK) {
    return make_error(Errc::kInternal, "encoding the UPDATE: " + status_text(s));
  }
  std::unique_ptr<uint8_t, BufDeleter> wire(raw);
  UpdateMessage out;
  out.wire.assign(reinterpret_cast<const char*>(wire.get()), size);
  out.id = ldns_pkt_id(pkt.get());
  const ldns_rdf* mac = ldns_rr_rdf(ldns_pkt_tsig(pkt.get()), kTsigMacRdf);
  out.mac.assign(reinterpret_cast<const char*>(ldns_rdf_data(mac)), ldns_rdf_size(mac));
  return out;
}

Result<void> check_update_reply(const std::string& reply_wire, const UpdateMessage& request,
                                const Rfc2136Options& options) {
  ldns_pkt* raw = nullptr;
  const auto* wire = reinterpret_cast<const uint8_t*>(reply_wire.data());
  if (ldns_wire2pkt(&raw, wire, reply_wire.size()) != LDNS_STATUS_OK || raw == nullptr) {
    return make_error(Errc::kProtocol, "unparsable reply");
  }
  Pkt reply(raw);
  if (ldns_pkt_id(reply.get()) != request.id) {
    return make_error(Errc::kProtocol, "reply has another message ID");
  }
  const int rcode = static_cast<int>(ldns_pkt_get_rcode(reply.get()));
  const ldns_rr* tsig = ldns_pkt_tsig(reply.get());
  int tsig_error = 0;
  if (tsig != nullptr && ldns_rr_rd_count(tsig) > kTsigErrorRdf) {
    tsig_error = ldns_rdf2native_int16(ldns_rr_rdf(tsig, kTsigErrorRdf));
  }
  const std::string key =
      "key " + dns_fqdn(options.tsig_name) + " " + std::string(to_string(options.tsig_algorithm));
  if (tsig_error != 0) {
    // RFC 8945 §5.3.2: the server could not verify us; it answers NOTAUTH + a TSIG error.
    std::string hint;
    if (tsig_error == 16) hint = ": the secret does not match the server's";
    if (tsig_error == 17) hint = ": the server does not know this key name and algorithm";
    if (tsig_error == 18) hint = ": the clocks differ by more than 300 s";
    return make_error(Errc::kInvalidInput, "TSIG rejected by the server: " + dns_rcode_name(rcode) +
                                               " " + tsig_error_name(tsig_error) + " (" + key +
                                               ")" + hint);
  }
  if (rcode != LDNS_RCODE_NOERROR) {
    std::string hint;
    if (rcode == LDNS_RCODE_REFUSED) hint = ": the key may not update this name (update-policy)";
    if (rcode == LDNS_RCODE_NOTAUTH) {
      hint = tsig == nullptr ? ": not authoritative for the zone, or the TSIG key is unknown"
                             : ": not authoritative for the zone";
    }
    if (rcode == LDNS_RCODE_NOTZONE) hint = ": the name is outside the zone";
    return make_error(rcode == LDNS_RCODE_SERVFAIL ? Errc::kNetwork : Errc::kInvalidInput,
                      "the server answered " + dns_rcode_name(rcode) + hint);
  }
  // RFC 8945 §5.3: the reply to a signed request is signed; an unsigned or forged one is not
  // proof that the change was made.
  if (tsig == nullptr) {
    return make_error(Errc::kProtocol, "the server answered NOERROR without a TSIG signature");
  }
  Rdf mac(ldns_rdf_new_frm_data(LDNS_RDF_TYPE_INT16_DATA, request.mac.size(), request.mac.data()));
  const std::string key_name = dns_fqdn(options.tsig_name);
  if (!ldns_pkt_tsig_verify(reply.get(), wire, reply_wire.size(), key_name.c_str(),
                            options.tsig_secret.c_str(), mac.get())) {
    return make_error(Errc::kProtocol, "the reply's TSIG signature does not verify (" + key + ")");
  }
  return ok();
}

}  // namespace detail

namespace {

using Deadline = std::chrono::steady_clock::time_point;

int ms_left(Deadline deadline) {
  const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
      deadline - std::chrono::steady_clock::now());
  return left.count() <= 0 ? 0 : static_cast<int>(std::min<long long>(left.count(), 60'000));
}

Result<void> wait_fd(int fd, short events, Deadline deadline, const std::string& what) {
  for (;;) {
    pollfd p{fd, events, 0};
    const int r = ::poll(&p, 1, ms_left(deadline));
    if (r < 0 && errno == EINTR) continue;
    if (r < 0) return make_error(Errc::kNetwork, what + ": poll: " + std::strerror(errno));
    if (r == 0) return make_error(Errc::kNetwork, what + ": timed out");
    return ok();
  }
}

// One DNS message exchange over TCP.
Result<std::string> exchange_tcp(const DnsServer& server, const std::string& message,
                                 std::chrono::milliseconds timeout) {
  const Deadline deadline = std::chrono::steady_clock::now() + timeout;
  if (!is_ip_literal(server.address)) {
    return make_error(Errc::kInvalidInput, "not an IP address: " + server.address);
  }
  ACME_ASSIGN(const SocketAddress addr,
              to_socket_address(HostPort{server.address, server.port}, "DNS server"));
  UniqueFd fd(::socket(addr.family(), SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (fd.get() < 0)
    return make_error(Errc::kNetwork, std::string("socket: ") + std::strerror(errno));
  if (::connect(fd.get(), addr.get(), addr.length) != 0) {
    if (errno != EINPROGRESS) {
      return make_error(Errc::kNetwork, std::string("connect: ") + std::strerror(errno));
    }
    ACME_CHECK(wait_fd(fd.get(), POLLOUT, deadline, "connect"));
    int err = 0;
    socklen_t errlen = sizeof err;
    ::getsockopt(fd.get(), SOL_SOCKET, SO_ERROR, &err, &errlen);
    if (err != 0) return make_error(Errc::kNetwork, std::string("connect: ") + std::strerror(err));
  }
  std::string out(2, '\0');
  out[0] = static_cast<char>((message.size() >> 8) & 0xff);
  out[1] = static_cast<char>(message.size() & 0xff);
  out += message;
  for (size_t off = 0; off < out.size();) {
    const ssize_t n = ::send(fd.get(), out.data() + off, out.size() - off, MSG_NOSIGNAL);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ACME_CHECK(wait_fd(fd.get(), POLLOUT, deadline, "send"));
      continue;
    }
    if (n < 0) return make_error(Errc::kNetwork, std::string("send: ") + std::strerror(errno));
    off += static_cast<size_t>(n);
  }
  std::string in;
  size_t want = 2;
  bool have_length = false;
  while (in.size() < want) {
    char buf[4096];
    const ssize_t n = ::recv(fd.get(), buf, std::min(sizeof buf, want - in.size()), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
      ACME_CHECK(wait_fd(fd.get(), POLLIN, deadline, "waiting for the reply"));
      continue;
    }
    if (n < 0) return make_error(Errc::kNetwork, std::string("recv: ") + std::strerror(errno));
    if (n == 0) return make_error(Errc::kNetwork, "the server closed the connection");
    in.append(buf, static_cast<size_t>(n));
    if (!have_length && in.size() == 2) {
      want = 2 + ((static_cast<unsigned char>(in[0]) << 8) | static_cast<unsigned char>(in[1]));
      have_length = true;
    }
  }
  return in.substr(2);
}

class Rfc2136Provider final : public DnsProvider {
 public:
  Rfc2136Provider(Rfc2136Options options, std::shared_ptr<DnsResolver> resolver)
      : options_(std::move(options)), resolver_(std::move(resolver)) {}

  std::string_view name() const noexcept override { return "rfc2136"; }

  Result<void> add_txt(const std::string& fqdn, const std::string& value) override {
    return update(fqdn, value, true);
  }
  Result<void> remove_txt(const std::string& fqdn, const std::string& value) override {
    return update(fqdn, value, false);
  }

 private:
  Result<std::string> zone_of(const std::string& fqdn) {
    {
      std::lock_guard lock(mu_);
      if (auto it = zones_.find(fqdn); it != zones_.end()) return it->second;
    }
    // The update server is authoritative for the zone it updates: ask it, not the world.
    ACME_ASSIGN(std::string zone, find_zone(*resolver_, fqdn, {options_.server}, false));
    std::lock_guard lock(mu_);
    zones_[fqdn] = zone;
    return zone;
  }

  Result<void> update(const std::string& name, const std::string& value, bool add) {
    const std::string fqdn = dns_fqdn(name);
    const std::string what = std::string("rfc2136: UPDATE ") + (add ? "add" : "delete") + " TXT " +
                             fqdn + " at " + options_.server.to_string();
    auto zone = zone_of(fqdn);
    if (!zone) return std::move(zone).error().context(what);
    auto msg = detail::build_txt_update(*zone, fqdn, value, add, options_.ttl, options_);
    if (!msg) return std::move(msg).error().context(what);
    const std::string in_zone = what + " (zone " + *zone + ")";
    auto reply = exchange_tcp(options_.server, msg->wire, options_.timeout);
    if (!reply) return std::move(reply).error().context(in_zone);
    if (auto r = detail::check_update_reply(*reply, *msg, options_); !r) {
      return std::move(r).error().context(in_zone);
    }
    return ok();
  }

  Rfc2136Options options_;
  std::shared_ptr<DnsResolver> resolver_;
  std::mutex mu_;
  std::map<std::string, std::string> zones_;
};

}  // namespace

std::unique_ptr<DnsProvider> make_rfc2136_provider(Rfc2136Options options,
                                                   std::shared_ptr<DnsResolver> resolver) {
  if (!resolver) resolver = make_cares_resolver();
  return std::make_unique<Rfc2136Provider>(std::move(options), std::move(resolver));
}

}  // namespace acme
