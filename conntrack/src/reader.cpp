#include "bulwark/conntrack/reader.h"

#include <arpa/inet.h>
#include <libnetfilter_conntrack/libnetfilter_conntrack.h>
#include <libnfnetlink/libnfnetlink.h>
#include <netinet/in.h>

#include <cerrno>
#include <cstring>
#include <fstream>

namespace bulwark::conntrack {
namespace {

struct DumpCtx {
  std::vector<Flow>* out;
  std::size_t limit;
  std::size_t seen = 0;
};

int onEntry(enum nf_conntrack_msg_type /*type*/, struct nf_conntrack* ct, void* data) {
  auto* c = static_cast<DumpCtx*>(data);
  ++c->seen;
  if (c->out->size() >= c->limit) return NFCT_CB_CONTINUE;
  Flow f;
  f.family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
  f.proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
  if (nfct_attr_is_set(ct, ATTR_ID) > 0) f.id = nfct_get_attr_u32(ct, ATTR_ID);
  if (f.family == AF_INET) {
    std::uint32_t s = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_SRC);
    std::uint32_t d = nfct_get_attr_u32(ct, ATTR_ORIG_IPV4_DST);
    std::memcpy(f.src.data(), &s, 4);
    std::memcpy(f.dst.data(), &d, 4);
  } else if (f.family == AF_INET6) {
    std::memcpy(f.src.data(), nfct_get_attr(ct, ATTR_ORIG_IPV6_SRC), 16);
    std::memcpy(f.dst.data(), nfct_get_attr(ct, ATTR_ORIG_IPV6_DST), 16);
  } else {
    return NFCT_CB_CONTINUE;
  }
  if (nfct_attr_is_set(ct, ATTR_ORIG_PORT_SRC) > 0) f.sport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_SRC));
  if (nfct_attr_is_set(ct, ATTR_ORIG_PORT_DST) > 0) f.dport = ntohs(nfct_get_attr_u16(ct, ATTR_ORIG_PORT_DST));
  for (auto a : {ATTR_ORIG_COUNTER_BYTES, ATTR_REPL_COUNTER_BYTES}) {
    if (nfct_attr_is_set(ct, a) > 0) f.bytes += nfct_get_attr_u64(ct, a);
  }
  for (auto a : {ATTR_ORIG_COUNTER_PACKETS, ATTR_REPL_COUNTER_PACKETS}) {
    if (nfct_attr_is_set(ct, a) > 0) f.packets += nfct_get_attr_u64(ct, a);
  }
  c->out->push_back(f);
  return NFCT_CB_CONTINUE;
}

struct EntryCtx {
  std::vector<Entry>* out;
  std::size_t limit;
  std::size_t seen = 0;
};

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

int onFullEntry(enum nf_conntrack_msg_type /*type*/, struct nf_conntrack* ct, void* data) {
  auto* c = static_cast<EntryCtx*>(data);
  ++c->seen;
  if (c->out->size() >= c->limit) return NFCT_CB_CONTINUE;
  Entry e;
  e.family = nfct_get_attr_u8(ct, ATTR_ORIG_L3PROTO);
  if (e.family != AF_INET && e.family != AF_INET6) return NFCT_CB_CONTINUE;
  e.proto = nfct_get_attr_u8(ct, ATTR_ORIG_L4PROTO);
  if (nfct_attr_is_set(ct, ATTR_ID) > 0) e.id = nfct_get_attr_u32(ct, ATTR_ID);
  if (nfct_attr_is_set(ct, ATTR_ZONE) > 0) e.zone = nfct_get_attr_u16(ct, ATTR_ZONE);
  readAddresses(ct, e.family, e.orig, true);
  readAddresses(ct, e.family, e.reply, false);
  if (nfct_attr_is_set(ct, ATTR_ICMP_TYPE) > 0) e.icmpType = nfct_get_attr_u8(ct, ATTR_ICMP_TYPE);
  if (nfct_attr_is_set(ct, ATTR_ICMP_CODE) > 0) e.icmpCode = nfct_get_attr_u8(ct, ATTR_ICMP_CODE);
  if (nfct_attr_is_set(ct, ATTR_ICMP_ID) > 0) e.icmpId = nfct_get_attr_u16(ct, ATTR_ICMP_ID);
  c->out->push_back(e);
  return NFCT_CB_CONTINUE;
}

}  // namespace

struct Reader::Impl {
  struct Closer {
    void operator()(nfct_handle* handle) const { nfct_close(handle); }
  };
  std::unique_ptr<nfct_handle, Closer> h;
};

Reader::Reader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
Reader::~Reader() = default;
Reader::Reader(Reader&&) noexcept = default;
Reader& Reader::operator=(Reader&&) noexcept = default;

Result<Reader> Reader::open() {
  auto impl = std::make_unique<Impl>();
  impl->h.reset(nfct_open(CONNTRACK, 0));  // no event groups: dumps only
  if (!impl->h) return sysError<Error>(errno, "ctnetlink socket");
  // Read the dump in 64 KiB gulps, not libnfnetlink's default 8 KiB: the kernel then fills
  // larger batches and a 10k-entry dump takes a quarter of the system calls.
  nfnl_set_rcv_buffer_size(const_cast<nfnl_handle*>(nfct_nfnlh(impl->h.get())), 65536);
  return Reader(std::move(impl));
}

namespace {

// One NFCT_Q_DUMP of both families through `cb`; `ctx.seen` counts every entry read.
template <typename Ctx>
Status runDump(nfct_handle* h, int (*cb)(enum nf_conntrack_msg_type, struct nf_conntrack*, void*), Ctx& ctx,
               std::size_t& seen) {
  nfct_callback_unregister(h);
  if (nfct_callback_register(h, NFCT_T_ALL, cb, &ctx) < 0) return sysError<Error>(errno, "ctnetlink callback");
  std::uint32_t family = AF_UNSPEC;
  int r = nfct_query(h, NFCT_Q_DUMP, &family);
  seen = ctx.seen;
  if (r < 0) return sysError<Error>(errno, "conntrack dump");
  return Unit{};
}

}  // namespace

Status Reader::dump(std::vector<Flow>& out, std::size_t limit, std::size_t& seen) {
  out.clear();
  DumpCtx ctx{&out, limit};
  return runDump(impl_->h.get(), onEntry, ctx, seen);
}

Status Reader::dumpEntries(std::vector<Entry>& out, std::size_t limit, std::size_t& seen) {
  out.clear();
  EntryCtx ctx{&out, limit};
  return runDump(impl_->h.get(), onFullEntry, ctx, seen);
}

Status Reader::destroy(const Entry& e, bool& gone) {
  gone = false;
  struct Free {
    void operator()(nf_conntrack* c) const { nfct_destroy(c); }
  };
  std::unique_ptr<nf_conntrack, Free> ct(nfct_new());
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
  nfct_callback_unregister(impl_->h.get());
  if (nfct_query(impl_->h.get(), NFCT_Q_DESTROY, c) < 0) {
    if (errno == ENOENT) {
      gone = true;
      return Unit{};
    }
    return sysError<Error>(errno, "conntrack delete");
  }
  return Unit{};
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
