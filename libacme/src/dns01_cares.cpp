// The production DnsResolver: c-ares sends the question (UDP, TCP when truncated, retries,
// timeouts); ldns parses the answer, so no wire format is read by hand here.
#include <ares.h>
#include <arpa/inet.h>
#include <poll.h>

#include <cctype>
#include <cerrno>
#include <memory>
#include <mutex>

// ldns/common.h defines `bool` as a macro unless stdbool.h came first.
// clang-format off
#include <stdbool.h>  // NOLINT(modernize-deprecated-headers)
#include <ldns/ldns.h>
// clang-format on

#include "acme/dns01.hpp"

namespace acme {
namespace {

constexpr int kClassIn = 1;  // RFC 1035 §3.2.4

struct ChannelDeleter {
  void operator()(ares_channeldata* c) const noexcept { ares_destroy(c); }
};
using Channel = std::unique_ptr<ares_channeldata, ChannelDeleter>;

struct PktDeleter {
  void operator()(ldns_pkt* p) const noexcept { ldns_pkt_free(p); }
};
using Pkt = std::unique_ptr<ldns_pkt, PktDeleter>;

struct FreeDeleter {
  void operator()(char* p) const noexcept { std::free(p); }  // NOLINT: ldns allocates with malloc
};

std::string lower(std::string s) {
  for (char& c : s) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return s;
}

std::string rdf_text(const ldns_rdf* rdf) {
  if (rdf == nullptr) return {};
  std::unique_ptr<char, FreeDeleter> s(ldns_rdf2str(rdf));
  return s ? std::string(s.get()) : std::string();
}

// A TXT RR's character-strings (RFC 1035 §3.3.14), raw and concatenated.
std::string txt_data(const ldns_rr* rr) {
  std::string out;
  for (size_t i = 0; i < ldns_rr_rd_count(rr); ++i) {
    const ldns_rdf* rdf = ldns_rr_rdf(rr, i);
    const uint8_t* d = ldns_rdf_data(rdf);
    const size_t size = ldns_rdf_size(rdf);
    if (size == 0) continue;
    const size_t len = std::min<size_t>(d[0], size - 1);
    out.append(reinterpret_cast<const char*>(d + 1), len);
  }
  return out;
}

// RFC 8659 §4.1: flags (1 octet), tag length (1 octet), tag, value (the rest). ldns splits
// it into three rdfs: int8 flags, the tag with its length octet, the value without one.
bool caa_data(const ldns_rr* rr, std::string& out) {
  if (ldns_rr_rd_count(rr) != 3) return false;
  const ldns_rdf* flags = ldns_rr_rdf(rr, 0);
  const ldns_rdf* tag = ldns_rr_rdf(rr, 1);
  const ldns_rdf* value = ldns_rr_rdf(rr, 2);
  if (ldns_rdf_size(flags) != 1 || ldns_rdf_size(tag) < 1) return false;
  const uint8_t* t = ldns_rdf_data(tag);
  const size_t tag_len = std::min<size_t>(t[0], ldns_rdf_size(tag) - 1);
  out = std::to_string(ldns_rdf_data(flags)[0]) + " " +
        lower(std::string(reinterpret_cast<const char*>(t + 1), tag_len)) + " " +
        std::string(reinterpret_cast<const char*>(ldns_rdf_data(value)), ldns_rdf_size(value));
  return true;
}

void convert(const ldns_rr_list* list, std::vector<DnsRecord>& out) {
  if (list == nullptr) return;
  for (size_t i = 0; i < ldns_rr_list_rr_count(list); ++i) {
    const ldns_rr* rr = ldns_rr_list_rr(list, i);
    if (ldns_rr_get_class(rr) != LDNS_RR_CLASS_IN) continue;
    DnsRecord rec;
    rec.name = lower(rdf_text(ldns_rr_owner(rr)));
    rec.ttl = ldns_rr_ttl(rr);
    switch (ldns_rr_get_type(rr)) {
      case LDNS_RR_TYPE_A: rec.type = DnsType::kA; break;
      case LDNS_RR_TYPE_AAAA: rec.type = DnsType::kAaaa; break;
      case LDNS_RR_TYPE_NS: rec.type = DnsType::kNs; break;
      case LDNS_RR_TYPE_CNAME: rec.type = DnsType::kCname; break;
      case LDNS_RR_TYPE_SOA: rec.type = DnsType::kSoa; break;
      case LDNS_RR_TYPE_TXT: rec.type = DnsType::kTxt; break;
      case LDNS_RR_TYPE_CAA: rec.type = DnsType::kCaa; break;
      default: continue;
    }
    if (rec.type == DnsType::kTxt) {
      rec.data = txt_data(rr);
    } else if (rec.type == DnsType::kCaa) {
      if (!caa_data(rr, rec.data)) continue;
    } else if (ldns_rr_rd_count(rr) > 0) {
      rec.data = rdf_text(ldns_rr_rdf(rr, 0));
      if (rec.type != DnsType::kA && rec.type != DnsType::kAaaa) rec.data = lower(rec.data);
    }
    out.push_back(std::move(rec));
  }
}

struct QueryState {
  bool done = false;
  int status = ARES_SUCCESS;
  std::string answer;
};

void on_answer(void* arg, int status, int /*timeouts*/, unsigned char* abuf, int alen) {
  auto* st = static_cast<QueryState*>(arg);
  st->done = true;
  st->status = status;
  if (abuf != nullptr && alen > 0) st->answer.assign(reinterpret_cast<char*>(abuf), alen);
}

// Runs the channel until the query finished: c-ares tells which sockets to watch and when
// its next timeout is due.
void run(ares_channeldata* channel, const QueryState& st) {
  while (!st.done) {
    ares_socket_t socks[ARES_GETSOCK_MAXNUM];
    const int bits = ares_getsock(channel, socks, ARES_GETSOCK_MAXNUM);
    pollfd fds[ARES_GETSOCK_MAXNUM];
    nfds_t n = 0;
    for (int i = 0; i < ARES_GETSOCK_MAXNUM; ++i) {
      const bool r = ARES_GETSOCK_READABLE(bits, i) != 0;
      const bool w = ARES_GETSOCK_WRITABLE(bits, i) != 0;
      if (!r && !w) continue;
      fds[n++] = pollfd{socks[i], static_cast<short>((r ? POLLIN : 0) | (w ? POLLOUT : 0)), 0};
    }
    timeval max{1, 0};
    timeval tv{};
    const timeval* t = ares_timeout(channel, &max, &tv);
    const int ms = static_cast<int>(t->tv_sec * 1000 + t->tv_usec / 1000) + 1;
    const int ready = ::poll(fds, n, ms);
    if (ready < 0 && errno == EINTR) continue;
    if (ready <= 0) {
      ares_process_fd(channel, ARES_SOCKET_BAD, ARES_SOCKET_BAD);  // timeouts
      continue;
    }
    for (nfds_t i = 0; i < n; ++i) {
      const bool r = (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) != 0;
      const bool w = (fds[i].revents & POLLOUT) != 0;
      if (r || w) {
        ares_process_fd(channel, r ? fds[i].fd : ARES_SOCKET_BAD, w ? fds[i].fd : ARES_SOCKET_BAD);
      }
    }
  }
}

std::string describe_servers(const std::vector<DnsServer>& servers) {
  if (servers.empty()) return "the system resolvers";
  std::string out;
  for (const auto& s : servers) out += (out.empty() ? "" : ", ") + s.to_string();
  return out;
}

class CaresResolver final : public DnsResolver {
 public:
  explicit CaresResolver(CaresResolverOptions options) : options_(options) {
    // c-ares global init, once per process (only does work on Windows, but is the contract).
    static std::once_flag once;
    std::call_once(once, [] { ares_library_init(ARES_LIB_INIT_ALL); });
  }

  Result<DnsResponse> query(std::string_view name, DnsType type,
                            const std::vector<DnsServer>& servers,
                            bool recursion_desired) override {
    const std::string what = "DNS query " + std::string(name) + " " + std::string(to_string(type)) +
                             " at " + describe_servers(servers);
    ares_options opts{};
    int mask = ARES_OPT_FLAGS | ARES_OPT_TIMEOUTMS | ARES_OPT_TRIES;
    // Explicit servers: see their REFUSED/SERVFAIL as answers instead of trying elsewhere.
    opts.flags = ARES_FLAG_NOSEARCH | (servers.empty() ? 0 : ARES_FLAG_NOCHECKRESP) |
                 (recursion_desired ? 0 : ARES_FLAG_NORECURSE);
    opts.timeout = static_cast<int>(options_.timeout.count());
    opts.tries = options_.tries;
    QueryState st;  // outlives the channel: its destruction may still call back
    ares_channeldata* raw = nullptr;
    if (int rc = ares_init_options(&raw, &opts, mask); rc != ARES_SUCCESS) {
      return make_error(Errc::kNetwork, what + ": c-ares init: " + ares_strerror(rc));
    }
    Channel channel(raw);
    if (!servers.empty()) {
      std::vector<ares_addr_port_node> nodes(servers.size());
      for (size_t i = 0; i < servers.size(); ++i) {
        auto& node = nodes[i];
        node.next = i + 1 < servers.size() ? &nodes[i + 1] : nullptr;
        node.udp_port = node.tcp_port = servers[i].port;
        if (::inet_pton(AF_INET, servers[i].address.c_str(), &node.addr.addr4) == 1) {
          node.family = AF_INET;
        } else if (::inet_pton(AF_INET6, servers[i].address.c_str(), &node.addr.addr6) == 1) {
          node.family = AF_INET6;
        } else {
          return make_error(Errc::kInvalidInput,
                            what + ": not an IP address: " + servers[i].address);
        }
      }
      if (int rc = ares_set_servers_ports(channel.get(), nodes.data()); rc != ARES_SUCCESS) {
        return make_error(Errc::kNetwork, what + ": c-ares servers: " + ares_strerror(rc));
      }
    }
    const std::string qname(name);
    ares_query(channel.get(), qname.c_str(), kClassIn, static_cast<int>(type), on_answer, &st);
    run(channel.get(), st);
    if (st.answer.empty()) {
      // No message at all. A status that stands for an rcode comes from a resolver that
      // said so (c-ares dropped the message after trying every server): keep it an answer.
      DnsResponse r;
      switch (st.status) {
        case ARES_ENOTFOUND: r.rcode = 3; return r;
        case ARES_ENODATA: r.rcode = 0; return r;
        case ARES_ESERVFAIL: r.rcode = 2; return r;
        case ARES_EREFUSED: r.rcode = 5; return r;
        case ARES_ENOTIMP: r.rcode = 4; return r;
        case ARES_EFORMERR: r.rcode = 1; return r;
        case ARES_ETIMEOUT: return make_error(Errc::kNetwork, what + ": no answer (timeout)");
        default: return make_error(Errc::kNetwork, what + ": " + ares_strerror(st.status));
      }
    }
    ldns_pkt* raw_pkt = nullptr;
    const auto* wire = reinterpret_cast<const uint8_t*>(st.answer.data());
    if (ldns_wire2pkt(&raw_pkt, wire, st.answer.size()) != LDNS_STATUS_OK || raw_pkt == nullptr) {
      return make_error(Errc::kNetwork, what + ": unparsable answer");
    }
    Pkt pkt(raw_pkt);
    DnsResponse r;
    r.rcode = static_cast<int>(ldns_pkt_get_rcode(pkt.get()));
    r.authoritative = ldns_pkt_aa(pkt.get());
    convert(ldns_pkt_answer(pkt.get()), r.answers);
    convert(ldns_pkt_authority(pkt.get()), r.authority);
    return r;
  }

 private:
  CaresResolverOptions options_;
};

}  // namespace

std::shared_ptr<DnsResolver> make_cares_resolver(CaresResolverOptions options) {
  return std::make_shared<CaresResolver>(options);
}

}  // namespace acme
