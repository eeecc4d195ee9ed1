#include "bulwark/vlan/link_stats.h"

#include <libmnl/libmnl.h>
#include <net/if.h>  // before the linux/ headers (libc-compat)
#include <linux/if_link.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <vector>

#include "bulwark/base/mnl_socket.h"

namespace bulwark::vlan {
namespace {

constexpr std::size_t kRecvBuf = 65536;
constexpr int kDumpAttempts = 3;

// What sysError fills in: the socket failed (Io), or the kernel refused (Kernel).
const Error kIoError{Error::Code::Io, 0, {}};
const Error kKernelError{Error::Code::Kernel, 0, {}};

struct Attrs {
  const nlattr* name = nullptr;
  const nlattr* stats64 = nullptr;
};

int linkAttr(const nlattr* a, void* data) {
  auto* t = static_cast<Attrs*>(data);
  switch (mnl_attr_get_type(a)) {
    case IFLA_IFNAME:
      if (mnl_attr_validate(a, MNL_TYPE_NUL_STRING) < 0) return MNL_CB_ERROR;
      t->name = a;
      break;
    case IFLA_STATS64:
      // Validated by length: an older, shorter struct from the kernel is refused, not misread.
      if (mnl_attr_get_payload_len(a) < offsetof(rtnl_link_stats64, rx_length_errors)) return MNL_CB_ERROR;
      t->stats64 = a;
      break;
    default:
      break;
  }
  return MNL_CB_OK;
}

int parseLink(const nlmsghdr* nlh, void* data) {
  auto* out = static_cast<std::vector<LinkStats>*>(data);
  if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) return MNL_CB_OK;
  const auto* ifm = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  Attrs tb;
  if (mnl_attr_parse(nlh, sizeof(*ifm), linkAttr, &tb) < 0) return MNL_CB_ERROR;
  if (tb.name == nullptr) return MNL_CB_OK;
  LinkStats l;
  l.index = ifm->ifi_index;
  l.name = mnl_attr_get_str(tb.name);
  l.up = (ifm->ifi_flags & IFF_UP) != 0;
  l.running = (ifm->ifi_flags & IFF_RUNNING) != 0;
  if (tb.stats64 != nullptr) {
    rtnl_link_stats64 s{};
    // The attribute is 4-byte aligned only: copy, never cast.
    std::memcpy(&s, mnl_attr_get_payload(tb.stats64),
                std::min<std::size_t>(sizeof s, mnl_attr_get_payload_len(tb.stats64)));
    l.rxBytes = s.rx_bytes;
    l.txBytes = s.tx_bytes;
    l.rxPackets = s.rx_packets;
    l.txPackets = s.tx_packets;
    l.rxErrors = s.rx_errors;
    l.txErrors = s.tx_errors;
    l.rxDropped = s.rx_dropped;
    l.txDropped = s.tx_dropped;
  }
  out->push_back(std::move(l));
  return MNL_CB_OK;
}

bool containsDone(const char* buf, ssize_t n) {
  const auto* nlh = reinterpret_cast<const nlmsghdr*>(buf);
  int len = static_cast<int>(n);
  for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
    if (nlh->nlmsg_type == NLMSG_DONE || nlh->nlmsg_type == NLMSG_ERROR) return true;
  }
  return false;
}

}  // namespace

struct LinkStatsReader::Impl : MnlSocket {};

LinkStatsReader::LinkStatsReader(std::unique_ptr<Impl> impl) : impl_(std::move(impl)) {}
LinkStatsReader::~LinkStatsReader() = default;
LinkStatsReader::LinkStatsReader(LinkStatsReader&&) noexcept = default;
LinkStatsReader& LinkStatsReader::operator=(LinkStatsReader&&) noexcept = default;

Result<LinkStatsReader> LinkStatsReader::open() {
  auto impl = std::make_unique<Impl>();
  if (auto err = impl->open(NETLINK_ROUTE, "rtnetlink", kRecvBuf, kIoError)) return *err;
  return LinkStatsReader(std::move(impl));
}

Result<std::vector<LinkStats>> LinkStatsReader::read() {
  Impl& m = *impl_;
  for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
    std::vector<LinkStats> links;
    char req[256] = {};
    nlmsghdr* nlh = mnl_nlmsg_put_header(req);
    nlh->nlmsg_type = RTM_GETLINK;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++m.seq;
    auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifm->ifi_family = AF_UNSPEC;
    // No VF info: the smallest dump that still carries IFLA_STATS64.
    mnl_attr_put_u32(nlh, IFLA_EXT_MASK, 0);
    if (mnl_socket_sendto(m.sock.get(), nlh, nlh->nlmsg_len) < 0) return sysError(errno, "rtnetlink dump request", kIoError);
    bool interrupted = false;
    for (bool done = false; !done;) {
      const ssize_t n = mnl_socket_recvfrom(m.sock.get(), m.buf.data(), m.buf.size());
      if (n < 0) {
        if (errno == EINTR) continue;
        return sysError(errno, "rtnetlink dump", kIoError);
      }
      if (interrupted) {
        done = containsDone(m.buf.data(), n);  // drain the rest of the interrupted dump
        continue;
      }
      errno = 0;
      const int r = mnl_cb_run(m.buf.data(), static_cast<std::size_t>(n), m.seq, m.portid, parseLink, &links);
      if (r == MNL_CB_STOP) {
        done = true;
      } else if (r < 0) {
        if (errno == EINTR) {
          interrupted = true;  // NLM_F_DUMP_INTR: links changed mid-dump
          done = containsDone(m.buf.data(), n);
          continue;
        }
        return sysError(errno == 0 ? EPROTO : errno, "rtnetlink dump", errno == 0 ? kIoError : kKernelError);
      }
    }
    if (!interrupted) {
      std::sort(links.begin(), links.end(), [](const auto& a, const auto& b) { return a.name < b.name; });
      return links;
    }
  }
  return sysError(EINTR, "rtnetlink dump kept changing", kIoError);
}

}  // namespace bulwark::vlan
