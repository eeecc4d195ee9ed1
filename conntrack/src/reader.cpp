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

}  // namespace

struct Reader::Impl {
  struct Closer {
    void operator()(nfct_handle* h) const { nfct_close(h); }
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

Status Reader::dump(std::vector<Flow>& out, std::size_t limit, std::size_t& seen) {
  out.clear();
  DumpCtx ctx{&out, limit};
  nfct_callback_unregister(impl_->h.get());
  if (nfct_callback_register(impl_->h.get(), NFCT_T_ALL, onEntry, &ctx) < 0) {
    return sysError<Error>(errno, "ctnetlink callback");
  }
  std::uint32_t family = AF_UNSPEC;
  int r = nfct_query(impl_->h.get(), NFCT_Q_DUMP, &family);
  seen = ctx.seen;
  if (r < 0) return sysError<Error>(errno, "conntrack dump");
  return Unit{};
}

int accountingEnabled() {
  std::ifstream in("/proc/sys/net/netfilter/nf_conntrack_acct");
  int v = -1;
  if (!(in >> v)) return -1;
  return v;
}

}  // namespace bulwark::conntrack
