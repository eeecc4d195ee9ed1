#include "bulwark/conntrack/reader.h"

#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netfilter/nfnetlink_conntrack.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <fstream>

#include "bulwark/base/mnl_socket.h"
#include "flow_message.h"

namespace bulwark::conntrack {
namespace {

// The kernel sizes a dump's batches by the reads (up to its 32 KiB cap): 64 KiB never
// truncates one. Measured: 8 KiB, 64 KiB, 1 MiB reads and a 4 MiB SO_RCVBUF cost the same
// CPU per dump -- it is the kernel filling the entries (docs/performance.md, "Web view").
constexpr std::size_t kRecvBuf = 65536;
constexpr std::uint16_t kCtGet = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_GET;
constexpr std::uint16_t kCtNew = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_NEW;
constexpr std::uint16_t kCtDelete = (NFNL_SUBSYS_CTNETLINK << 8) | IPCTNL_MSG_CT_DELETE;

void readAddresses(const nf_conntrack* ct, std::uint8_t family, Tuple& t, bool orig) {
  if (family == AF_INET) {
    std::uint32_t s = nfct_get_attr_u32(ct, orig ? ATTR_ORIG_IPV4_SRC : ATTR_REPL_IPV4_SRC);
    std::uint32_t d = nfct_get_attr_u32(ct, orig ? ATTR_ORIG_IPV4_DST : ATTR_REPL_IPV4_DST);
    std::memcpy(t.src.data(), &s, 4);
    std::memcpy(t.dst.data(), &d, 4);
  } else {
    std::memcpy(t.src.data(), nfct_get_attr(ct, orig ? ATTR_ORIG_IPV6_SRC : ATTR_REPL_IPV6_SRC), 16);
    std::memcpy(t.dst.data(), nfct_get_attr(ct, orig ? ATTR_ORIG_IPV6_DST : ATTR_REPL_IPV6_DST), 16);
  }
  const auto sp = orig ? ATTR_ORIG_PORT_SRC : ATTR_REPL_PORT_SRC;
  const auto dp = orig ? ATTR_ORIG_PORT_DST : ATTR_REPL_PORT_DST;
  if (nfct_attr_is_set(ct, sp) > 0) t.sport = ntohs(nfct_get_attr_u16(ct, sp));
  if (nfct_attr_is_set(ct, dp) > 0) t.dport = ntohs(nfct_get_attr_u16(ct, dp));
}

// Both tuples, zone, id and ICMP identity of a parsed entry; false for other families.
bool toEntry(const nf_conntrack* ct, Entry& e) {
  e.family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
  if (e.family != AF_INET && e.family != AF_INET6) return false;
  e.proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
  if (nfct_attr_is_set(ct, ATTR_ID) > 0) e.id = nfct_get_attr_u32(ct, ATTR_ID);
  if (nfct_attr_is_set(ct, ATTR_ZONE) > 0) e.zone = nfct_get_attr_u16(ct, ATTR_ZONE);
  readAddresses(ct, e.family, e.orig, true);
  readAddresses(ct, e.family, e.reply, false);
  if (nfct_attr_is_set(ct, ATTR_ICMP_TYPE) > 0) e.icmpType = nfct_get_attr_u8(ct, ATTR_ICMP_TYPE);
  if (nfct_attr_is_set(ct, ATTR_ICMP_CODE) > 0) e.icmpCode = nfct_get_attr_u8(ct, ATTR_ICMP_CODE);
  if (nfct_attr_is_set(ct, ATTR_ICMP_ID) > 0) e.icmpId = nfct_get_attr_u16(ct, ATTR_ICMP_ID);
  return true;
}

struct FreeCt {
  void operator()(nf_conntrack* c) const { nfct_destroy(c); }
};
using CtPtr = std::unique_ptr<nf_conntrack, FreeCt>;

}  // namespace

// One ctnetlink socket (libmnl); libnetfilter_conntrack builds and parses whole entries
// where revocation needs them (nfct_nlmsg_build / nfct_nlmsg_parse).
struct Reader::Impl : MnlSocket {
  // One request; every reply message of this seq to `each` until NLMSG_DONE (a dump) or the
  // ack (NLM_F_ACK). A refusal comes back as its errno.
  template <typename Each>
  Status talk(nlmsghdr* req, const char* what, Each&& each);
  // One dump of both families into `out` (cleared; at most `limit` kept, all counted in
  // `seen`); `parse(nlh, T&)` reads an entry in place, false skips it.
  template <typename T, typename Parse>
  Status dumpInto(std::vector<T>& out, std::size_t limit, std::size_t& seen, Parse&& parse);
};

template <typename Each>
Status Reader::Impl::talk(nlmsghdr* req, const char* what, Each&& each) {
  req->nlmsg_seq = ++seq;
  if (mnl_socket_sendto(sock.get(), req, req->nlmsg_len) < 0) return sysError<Error>(errno, what);
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      return sysError<Error>(errno, what);
    }
    int len = static_cast<int>(n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      if (!mnl_nlmsg_portid_ok(nlh, portid) || !mnl_nlmsg_seq_ok(nlh, seq)) continue;  // not ours
      if (nlh->nlmsg_type == NLMSG_DONE) return Unit{};
      if (nlh->nlmsg_type == NLMSG_ERROR) {
        if (mnl_nlmsg_get_payload_len(nlh) < sizeof(nlmsgerr)) return sysError<Error>(EPROTO, what);
        const int err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh))->error;
        if (err != 0) return sysError<Error>(-err, what);
        return Unit{};  // the ack
      }
      each(nlh);
    }
  }
}

namespace {

// IPCTNL_MSG_CT_GET with NLM_F_DUMP for both families.
nlmsghdr* dumpRequest(char* buf) {
  nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
  nlh->nlmsg_type = kCtGet;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = AF_UNSPEC;
  nfg->version = NFNETLINK_V0;
  return nlh;
}

}  // namespace

template <typename T, typename Parse>
Status Reader::Impl::dumpInto(std::vector<T>& out, std::size_t limit, std::size_t& seen, Parse&& parse) {
  out.clear();
  seen = 0;
  char req[64] = {};
  return talk(dumpRequest(req), "conntrack dump", [&](const nlmsghdr* nlh) {
    if (nlh->nlmsg_type != kCtNew) return;
    ++seen;
    if (out.size() >= limit) return;
    out.emplace_back();
    if (!parse(nlh, out.back())) out.pop_back();
  });
}

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

Result<Reader> Reader::open() {
  auto impl = std::make_unique<Impl>();
  if (auto err = impl->open<Error>(NETLINK_NETFILTER, "ctnetlink", kRecvBuf)) return *err;
  return Reader(std::move(impl));
}

Status Reader::dump(std::vector<Flow>& out, std::size_t limit, std::size_t& seen) {
  return impl_->dumpInto(out, limit, seen, parseFlow);
}

Status Reader::dumpEntries(std::vector<Entry>& out, std::size_t limit, std::size_t& seen) {
  return impl_->dumpInto(out, limit, seen, [](const nlmsghdr* nlh, Entry& e) {
    // A fresh object per entry: nfct_nlmsg_parse only sets what the message carries.
    CtPtr ct(nfct_new());
    return ct && nfct_nlmsg_parse(nlh, ct.get()) >= 0 && toEntry(ct.get(), e);
  });
}

Status Reader::destroy(const Entry& e, bool& gone) {
  gone = false;
  CtPtr ct(nfct_new());
  if (!ct) return sysError<Error>(ENOMEM, "conntrack entry");
  nf_conntrack* c = ct.get();
  nfct_set_attr_u8(c, ATTR_ORIG_L3PROTO, e.family);
  nfct_set_attr_u8(c, ATTR_ORIG_L4PROTO, e.proto);
  if (e.family == AF_INET) {
    std::uint32_t s = 0, d = 0;
    std::memcpy(&s, e.orig.src.data(), 4);
    std::memcpy(&d, e.orig.dst.data(), 4);
    nfct_set_attr_u32(c, ATTR_ORIG_IPV4_SRC, s);
    nfct_set_attr_u32(c, ATTR_ORIG_IPV4_DST, d);
  } else {
    nfct_set_attr(c, ATTR_ORIG_IPV6_SRC, e.orig.src.data());
    nfct_set_attr(c, ATTR_ORIG_IPV6_DST, e.orig.dst.data());
  }
  if (e.proto == IPPROTO_ICMP || e.proto == IPPROTO_ICMPV6) {
    nfct_set_attr_u8(c, ATTR_ICMP_TYPE, e.icmpType);
    nfct_set_attr_u8(c, ATTR_ICMP_CODE, e.icmpCode);
    nfct_set_attr_u16(c, ATTR_ICMP_ID, e.icmpId);
  } else if (e.orig.sport != 0 || e.orig.dport != 0) {
    nfct_set_attr_u16(c, ATTR_ORIG_PORT_SRC, htons(e.orig.sport));
    nfct_set_attr_u16(c, ATTR_ORIG_PORT_DST, htons(e.orig.dport));
  }
  nfct_set_attr_u16(c, ATTR_ZONE, e.zone);
  if (e.id != 0) nfct_set_attr_u32(c, ATTR_ID, e.id);
  char req[1024] = {};
  nlmsghdr* nlh = mnl_nlmsg_put_header(req);
  nlh->nlmsg_type = kCtDelete;
  nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
  auto* nfg = static_cast<nfgenmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nfgenmsg)));
  nfg->nfgen_family = e.family;
  nfg->version = NFNETLINK_V0;
  if (nfct_nlmsg_build(nlh, c) < 0) return sysError<Error>(errno, "conntrack delete request");
  auto st = impl_->talk(nlh, "conntrack delete", [](const nlmsghdr*) {});
  if (!st && st.error().sysErrno == ENOENT) {
    gone = true;
    return Unit{};
  }
  return st;
}

std::size_t tableMax() {
  std::ifstream in("/proc/sys/net/netfilter/nf_conntrack_max");
  std::size_t v = 0;
  if (!(in >> v)) return 0;
  return v;
}

int accountingEnabled() {
  std::ifstream in("/proc/sys/net/netfilter/nf_conntrack_acct");
  int v = -1;
  if (!(in >> v)) return -1;
  return v;
}

}  // namespace bulwark::conntrack
