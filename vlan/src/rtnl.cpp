#include "rtnl.h"

#include <arpa/inet.h>
#include <net/if.h>  // before the linux/ headers (libc-compat)
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_vlan.h>
#include <linux/netconf.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <sys/socket.h>

#include <algorithm>
#include <array>
#include <cerrno>
#include <cstring>
#include <ctime>
#include <vector>

namespace bulwark::vlan::nl {
namespace {

constexpr std::size_t kRecvBuf = 65536;
constexpr int kDumpAttempts = 3;
constexpr std::size_t kRequestBuf = 8192;  // our requests are < 200 bytes
// What sysError fills in: the socket failed (Io), or the kernel refused (Kernel).
const Error kIoError{Error::Code::Io, 0, {}};
const Error kKernelError{Error::Code::Kernel, 0, {}};

// ---- attribute tables (validated before anything reads them) ------------------------------
template <int Max>
struct Table {
  const nlattr* tb[Max + 1] = {};
  const nlattr* operator[](int i) const { return tb[i]; }
};

// One validation rule per attribute we read; others are ignored unread.
struct Rule {
  int type;
  mnl_attr_data_type kind;
  std::size_t len;  // for MNL_TYPE_BINARY: exact length; 0 = any
};

template <int Max>
int fill(const nlattr* attr, Table<Max>& t, std::initializer_list<Rule> rules) {
  const int type = mnl_attr_get_type(attr);
  if (type < 0 || type > Max) {
    return MNL_CB_OK;
  }
  for (const auto& r : rules) {
    if (r.type != type) {
      continue;
    }
    const int ok = r.len != 0 ? mnl_attr_validate2(attr, r.kind, r.len) : mnl_attr_validate(attr, r.kind);
    if (ok < 0) {
      return MNL_CB_ERROR;  // a malformed attribute from the kernel: refuse the whole dump
    }
    t.tb[type] = attr;
  }
  return MNL_CB_OK;
}

int vlanDataAttr(const nlattr* a, void* data) {
  return fill(a, *static_cast<Table<IFLA_VLAN_MAX>*>(data),
              {{IFLA_VLAN_ID, MNL_TYPE_U16, 0}, {IFLA_VLAN_PROTOCOL, MNL_TYPE_U16, 0}});
}

int linkInfoAttr(const nlattr* a, void* data) {
  return fill(a, *static_cast<Table<IFLA_INFO_MAX>*>(data),
              {{IFLA_INFO_KIND, MNL_TYPE_STRING, 0}, {IFLA_INFO_DATA, MNL_TYPE_NESTED, 0}});
}

int linkAttr(const nlattr* a, void* data) {
  return fill(a, *static_cast<Table<IFLA_MAX>*>(data),
              {{IFLA_IFNAME, MNL_TYPE_NUL_STRING, 0},
               {IFLA_MTU, MNL_TYPE_U32, 0},
               {IFLA_LINK, MNL_TYPE_U32, 0},
               {IFLA_LINK_NETNSID, MNL_TYPE_U32, 0},
               {IFLA_IFALIAS, MNL_TYPE_STRING, 0},
               {IFLA_LINKINFO, MNL_TYPE_NESTED, 0}});
}

// mnl_attr_get_str on a MNL_TYPE_STRING attribute need not be NUL-terminated.
std::string str(const nlattr* a) {
  const auto* p = static_cast<const char*>(mnl_attr_get_payload(a));
  return std::string(p, strnlen(p, mnl_attr_get_payload_len(a)));
}

int parseLink(const nlmsghdr* nlh, void* data) {
  auto* st = static_cast<ObservedState*>(data);
  if (nlh->nlmsg_type != RTM_NEWLINK || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ifinfomsg))) {
    return MNL_CB_OK;
  }
  const auto* ifm = static_cast<const ifinfomsg*>(mnl_nlmsg_get_payload(nlh));
  Table<IFLA_MAX> tb;
  if (mnl_attr_parse(nlh, sizeof(*ifm), linkAttr, &tb) < 0) {
    return MNL_CB_ERROR;
  }
  if (tb[IFLA_IFNAME] == nullptr) {
    return MNL_CB_OK;
  }
  ObservedLink l;
  l.index = ifm->ifi_index;
  l.up = (ifm->ifi_flags & IFF_UP) != 0;
  l.name = mnl_attr_get_str(tb[IFLA_IFNAME]);
  if (tb[IFLA_MTU] != nullptr) {
    l.mtu = mnl_attr_get_u32(tb[IFLA_MTU]);
  }
  if (tb[IFLA_LINK] != nullptr) {
    // A parent in another namespace (veth peer, moved VLAN) is not one of ours: -1.
    l.parentIndex = tb[IFLA_LINK_NETNSID] != nullptr ? -1 : static_cast<int>(mnl_attr_get_u32(tb[IFLA_LINK]));
  }
  if (tb[IFLA_IFALIAS] != nullptr) {
    l.alias = str(tb[IFLA_IFALIAS]);
  }
  if (tb[IFLA_LINKINFO] != nullptr) {
    Table<IFLA_INFO_MAX> info;
    if (mnl_attr_parse_nested(tb[IFLA_LINKINFO], linkInfoAttr, &info) < 0) {
      return MNL_CB_ERROR;
    }
    if (info[IFLA_INFO_KIND] != nullptr) {
      l.kind = str(info[IFLA_INFO_KIND]);
    }
    if (l.kind == "vlan" && info[IFLA_INFO_DATA] != nullptr) {
      Table<IFLA_VLAN_MAX> vd;
      if (mnl_attr_parse_nested(info[IFLA_INFO_DATA], vlanDataAttr, &vd) < 0) {
        return MNL_CB_ERROR;
      }
      if (vd[IFLA_VLAN_ID] != nullptr) {
        l.vlanId = mnl_attr_get_u16(vd[IFLA_VLAN_ID]);
      }
      if (vd[IFLA_VLAN_PROTOCOL] != nullptr) {
        l.vlanProtocol = ntohs(mnl_attr_get_u16(vd[IFLA_VLAN_PROTOCOL]));
      }
    }
  }
  st->links.push_back(std::move(l));
  return MNL_CB_OK;
}

struct AddrTable {
  Table<IFA_MAX> tb;
  std::size_t len = 0;
};

int addrAttr(const nlattr* a, void* data) {
  auto* t = static_cast<AddrTable*>(data);
  return fill(a, t->tb, {{IFA_ADDRESS, MNL_TYPE_BINARY, t->len}, {IFA_LOCAL, MNL_TYPE_BINARY, t->len}});
}

int parseAddr(const nlmsghdr* nlh, void* data) {
  auto* st = static_cast<ObservedState*>(data);
  if (nlh->nlmsg_type != RTM_NEWADDR || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(ifaddrmsg))) {
    return MNL_CB_OK;
  }
  const auto* ifa = static_cast<const ifaddrmsg*>(mnl_nlmsg_get_payload(nlh));
  if (ifa->ifa_family != AF_INET && ifa->ifa_family != AF_INET6) {
    return MNL_CB_OK;
  }
  const bool v4 = ifa->ifa_family == AF_INET;
  AddrTable t;
  t.len = v4 ? 4 : 16;
  if (mnl_attr_parse(nlh, sizeof(*ifa), addrAttr, &t) < 0) {
    return MNL_CB_ERROR;
  }
  // IPv4: IFA_LOCAL is the interface's own address (IFA_ADDRESS is the peer on p2p links).
  const nlattr* a = v4 && t.tb[IFA_LOCAL] != nullptr ? t.tb[IFA_LOCAL] : t.tb[IFA_ADDRESS];
  if (a == nullptr || ifa->ifa_prefixlen > (v4 ? 32 : 128)) {
    return MNL_CB_OK;
  }
  std::array<std::uint8_t, 16> bytes{};
  std::memcpy(bytes.data(), mnl_attr_get_payload(a), t.len);
  Address addr{policies::IpAddress::fromBytes(v4 ? policies::Family::V4 : policies::Family::V6, bytes),
               ifa->ifa_prefixlen};
  for (auto& l : st->links) {
    if (l.index == static_cast<int>(ifa->ifa_index)) {
      l.addresses.push_back(addr);
      break;
    }
  }
  return MNL_CB_OK;
}

struct ConfCtx {
  ObservedState* st;
  bool v6;
};

int confAttr(const nlattr* a, void* data) {
  return fill(a, *static_cast<Table<NETCONFA_MAX>*>(data),
              {{NETCONFA_IFINDEX, MNL_TYPE_U32, 0},
               {NETCONFA_FORWARDING, MNL_TYPE_U32, 0},
               {NETCONFA_RP_FILTER, MNL_TYPE_U32, 0}});
}

int parseConf(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<ConfCtx*>(data);
  if (nlh->nlmsg_type != RTM_NEWNETCONF || nlh->nlmsg_len < mnl_nlmsg_size(sizeof(netconfmsg))) {
    return MNL_CB_OK;
  }
  Table<NETCONFA_MAX> tb;
  if (mnl_attr_parse(nlh, NLMSG_ALIGN(sizeof(netconfmsg)), confAttr, &tb) < 0) {
    return MNL_CB_ERROR;
  }
  if (tb[NETCONFA_IFINDEX] == nullptr) {
    return MNL_CB_OK;
  }
  const auto index = static_cast<std::int32_t>(mnl_attr_get_u32(tb[NETCONFA_IFINDEX]));
  if (index <= 0) {
    return MNL_CB_OK;  // NETCONFA_IFINDEX_ALL / _DEFAULT
  }
  auto get = [&](int type) { return tb[type] != nullptr ? static_cast<int>(mnl_attr_get_u32(tb[type])) : -1; };
  auto& confs = ctx->st->conf;
  auto it = std::find_if(confs.begin(), confs.end(), [&](const auto& c) { return c.first == index; });
  if (it == confs.end()) {
    confs.emplace_back(index, LinkConf{});
    it = confs.end() - 1;
  }
  if (ctx->v6) {
    it->second.ipv6Forwarding = get(NETCONFA_FORWARDING);
  } else {
    it->second.ipv4Forwarding = get(NETCONFA_FORWARDING);
    it->second.rpFilter = get(NETCONFA_RP_FILTER);
  }
  return MNL_CB_OK;
}

bool containsDone(const char* buf, ssize_t n) {
  int rest = static_cast<int>(n);
  for (auto* m = reinterpret_cast<const nlmsghdr*>(buf); mnl_nlmsg_ok(m, rest); m = mnl_nlmsg_next(m, &rest)) {
    if (m->nlmsg_type == NLMSG_DONE || m->nlmsg_type == NLMSG_ERROR) {
      return true;
    }
  }
  return false;
}

// NLMSG_ERROR for a request: record errno and the extended-ack text.
int onError(const nlmsghdr* nlh, void* data) {
  auto* r = static_cast<Refusal*>(data);
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
    r->err = EBADMSG;
    return MNL_CB_ERROR;
  }
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  r->err = -err->error;
  if (r->err != 0 && (nlh->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
    std::size_t off = sizeof(nlmsgerr);
    if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0) {
      off += err->msg.nlmsg_len - sizeof(nlmsghdr);
    }
    if (mnl_nlmsg_size(off) <= nlh->nlmsg_len) {
      mnl_attr_parse(
          nlh, static_cast<unsigned>(off),
          [](const nlattr* a, void* d) {
            if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG && mnl_attr_validate(a, MNL_TYPE_NUL_STRING) >= 0) {
              *static_cast<std::string*>(d) = mnl_attr_get_str(a);
            }
            return MNL_CB_OK;
          },
          &r->extMessage);
    }
  }
  return MNL_CB_STOP;  // the ack ends the request either way
}

}  // namespace

Rtnl::Rtnl(std::unique_ptr<mnl_socket, Closer> s)
    : sock_(std::move(s)), portid_(mnl_socket_get_portid(sock_.get())),
      seq_(static_cast<std::uint32_t>(std::time(nullptr))) {}

Result<Rtnl> Rtnl::open() {
  std::unique_ptr<mnl_socket, Closer> s(mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC));
  if (!s) {
    return sysError(errno, "rtnetlink socket", kIoError);
  }
  if (mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return sysError(errno, "rtnetlink bind", kIoError);
  }
  int one = 1;
  // Best effort: error strings in acks, and acks that do not echo the request.
  mnl_socket_setsockopt(s.get(), NETLINK_EXT_ACK, &one, sizeof(one));
  mnl_socket_setsockopt(s.get(), NETLINK_CAP_ACK, &one, sizeof(one));
  return Rtnl(std::move(s));
}

Result<Rtnl> Rtnl::openWatch(std::initializer_list<unsigned> groups) {
  std::unique_ptr<mnl_socket, Closer> s(mnl_socket_open2(NETLINK_ROUTE, SOCK_NONBLOCK | SOCK_CLOEXEC));
  if (!s) {
    return sysError(errno, "rtnetlink socket", kIoError);
  }
  if (mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return sysError(errno, "rtnetlink bind", kIoError);
  }
  for (unsigned g : groups) {
    int group = static_cast<int>(g);
    if (mnl_socket_setsockopt(s.get(), NETLINK_ADD_MEMBERSHIP, &group, sizeof group) < 0) {
      return sysError(errno, "subscribe to rtnetlink group " + std::to_string(g), kIoError);
    }
  }
  return Rtnl(std::move(s));
}

bool Rtnl::drain() {
  // Which link changed does not matter (see watch.h): only whether anything did.
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE);
  bool any = false;
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
    if (n < 0 && errno == ENOBUFS) {
      any = true;  // notifications were lost: re-plan
      continue;
    }
    if (n < 0 && errno == EINTR) {
      continue;
    }
    if (n <= 0) {
      break;  // EAGAIN: drained
    }
    any = true;
  }
  return any;
}

Result<Unit> Rtnl::dump(std::uint16_t type, std::uint8_t family, Parser parse, void* data, int& dumps) {
  std::vector<char> buf(kRecvBuf);
  for (int attempt = 0; attempt < kDumpAttempts; ++attempt) {
    char req[kRequestBuf] = {};
    nlmsghdr* nlh = mnl_nlmsg_put_header(req);
    nlh->nlmsg_type = type;
    nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nlh->nlmsg_seq = ++seq_;
    if (type == RTM_GETLINK) {
      auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
      ifm->ifi_family = family;
      mnl_attr_put_u32(nlh, IFLA_EXT_MASK, RTEXT_FILTER_SKIP_STATS);  // no counters: smaller dump
    } else if (type == RTM_GETADDR) {
      auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
      ifa->ifa_family = family;
    } else {
      auto* ncm = static_cast<netconfmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(netconfmsg)));
      ncm->ncm_family = family;
    }
    ++dumps;
    if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
      return sysError(errno, "rtnetlink dump request", kIoError);
    }
    bool interrupted = false;
    bool done = false;
    while (!done) {
      const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
      if (n < 0) {
        if (errno == EINTR) {
          continue;
        }
        return sysError(errno, "rtnetlink dump", kIoError);
      }
      if (interrupted) {
        done = containsDone(buf.data(), n);  // drain the rest of the interrupted dump
        continue;
      }
      errno = 0;
      const int r = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq_, portid_, parse, data);
      if (r == MNL_CB_STOP) {
        done = true;
      } else if (r < 0) {
        if (errno == EINTR) {
          interrupted = true;  // NLM_F_DUMP_INTR: the kernel's view changed mid-dump
          done = containsDone(buf.data(), n);
          continue;
        }
        return sysError(errno == 0 ? EPROTO : errno, "rtnetlink dump", errno == 0 ? kIoError : kKernelError);
      }
    }
    if (!interrupted) {
      return Unit{};
    }
    // Start the parse over: drop what this attempt collected.
    if (type == RTM_GETLINK) {
      static_cast<ObservedState*>(data)->links.clear();
    } else if (type == RTM_GETADDR) {
      for (auto& l : static_cast<ObservedState*>(data)->links) {
        l.addresses.clear();
      }
    }
  }
  return sysError(EINTR, "rtnetlink dump kept changing", kIoError);
}

Result<ObservedState> Rtnl::observe() {
  ObservedState st;
  if (auto r = dump(RTM_GETLINK, AF_UNSPEC, parseLink, &st, st.dumps); !r) {
    return r.error();
  }
  if (auto r = dump(RTM_GETADDR, AF_UNSPEC, parseAddr, &st, st.dumps); !r) {
    return r.error();
  }
  ConfCtx v4{&st, false};
  if (auto r = dump(RTM_GETNETCONF, AF_INET, parseConf, &v4, st.dumps); !r) {
    return r.error();
  }
  ConfCtx v6{&st, true};
  if (auto r = dump(RTM_GETNETCONF, AF_INET6, parseConf, &v6, st.dumps); !r) {
    // IPv6 disabled (ipv6.disable=1): no AF_INET6 netconf at all.
    if (r.error().sysErrno != EAFNOSUPPORT && r.error().sysErrno != EOPNOTSUPP) {
      return r.error();
    }
  }
  return st;
}

Result<Unit> Rtnl::ack(nlmsghdr* nlh) {
  nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
  nlh->nlmsg_seq = ++seq_;
  if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
    return sysError(errno, "rtnetlink request", kIoError);
  }
  std::vector<char> buf(kRecvBuf);
  Refusal refusal;
  mnl_cb_t ctl[NLMSG_MIN_TYPE] = {};
  ctl[NLMSG_ERROR] = onError;
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sysError(errno, "rtnetlink ack", kIoError);
    }
    const int r = mnl_cb_run2(buf.data(), static_cast<std::size_t>(n), seq_, portid_, nullptr, &refusal, ctl,
                              NLMSG_MIN_TYPE);
    if (r == MNL_CB_STOP || refusal.err != 0) {
      break;
    }
    if (r < 0) {
      return sysError(errno, "rtnetlink ack", kIoError);
    }
  }
  if (refusal.err != 0) {
    Error e{Error::Code::Kernel, refusal.err, std::strerror(refusal.err)};
    if (!refusal.extMessage.empty()) {
      e.message += " (" + refusal.extMessage + ")";
    }
    return e;
  }
  return Unit{};
}

Result<Unit> Rtnl::execute(const Op& op, std::size_t& messages) {
  auto indexOf = [](const std::string& name) -> Result<int> {
    const unsigned idx = if_nametoindex(name.c_str());
    if (idx == 0) {
      return Error{Error::Code::Missing, ENODEV, "no interface " + name};
    }
    return static_cast<int>(idx);
  };
  char buf[kRequestBuf] = {};
  auto linkMsg = [&](std::uint16_t type, int index) {
    nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
    nlh->nlmsg_type = type;
    auto* ifm = static_cast<ifinfomsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifinfomsg)));
    ifm->ifi_family = AF_UNSPEC;
    ifm->ifi_index = index;
    return std::pair{nlh, ifm};
  };
  auto send = [&](nlmsghdr* nlh) {
    ++messages;
    return ack(nlh);
  };

  if (op.kind == OpKind::CreateVlan) {
    auto parent = indexOf(op.parent);
    if (!parent) {
      return parent.error();
    }
    auto [nlh, ifm] = linkMsg(RTM_NEWLINK, 0);
    nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
    mnl_attr_put_strz(nlh, IFLA_IFNAME, op.link.c_str());
    mnl_attr_put_u32(nlh, IFLA_LINK, static_cast<std::uint32_t>(*parent));
    mnl_attr_put_u32(nlh, IFLA_MTU, op.mtu);
    nlattr* info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
    mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "vlan");
    nlattr* vd = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
    mnl_attr_put_u16(nlh, IFLA_VLAN_ID, op.vlanId);
    mnl_attr_put_u16(nlh, IFLA_VLAN_PROTOCOL, htons(ETH_P_8021Q));
    mnl_attr_nest_end(nlh, vd);
    mnl_attr_nest_end(nlh, info);
    if (auto r = send(nlh); !r) {
      return r;
    }
    // The kernel ignores IFLA_IFALIAS when creating: mark it right after; if that fails,
    // take the link away again so no unmarked link of ours is left behind.
    Op mark = op;
    mark.kind = OpKind::SetAlias;
    if (auto r = execute(mark, messages); !r) {
      Op del = op;
      del.kind = OpKind::DeleteLink;
      (void)execute(del, messages);
      return r;
    }
    return Unit{};
  }

  auto index = indexOf(op.link);
  if (!index) {
    return index.error();
  }
  switch (op.kind) {
    case OpKind::SetMtu: {
      auto [nlh, ifm] = linkMsg(RTM_NEWLINK, *index);
      mnl_attr_put_u32(nlh, IFLA_MTU, op.mtu);
      return send(nlh);
    }
    case OpKind::SetAlias: {
      auto [nlh, ifm] = linkMsg(RTM_NEWLINK, *index);
      mnl_attr_put(nlh, IFLA_IFALIAS, op.alias.size(), op.alias.data());  // empty: clear
      return send(nlh);
    }
    case OpKind::SetUp: {
      auto [nlh, ifm] = linkMsg(RTM_NEWLINK, *index);
      ifm->ifi_change = IFF_UP;
      ifm->ifi_flags = op.up ? IFF_UP : 0;
      return send(nlh);
    }
    case OpKind::DeleteLink: {
      auto [nlh, ifm] = linkMsg(RTM_DELLINK, *index);
      return send(nlh);
    }
    case OpKind::AddAddress:
    case OpKind::RemoveAddress: {
      nlmsghdr* nlh = mnl_nlmsg_put_header(buf);
      const bool add = op.kind == OpKind::AddAddress;
      nlh->nlmsg_type = add ? RTM_NEWADDR : RTM_DELADDR;
      nlh->nlmsg_flags = add ? NLM_F_CREATE | NLM_F_EXCL : 0;
      auto* ifa = static_cast<ifaddrmsg*>(mnl_nlmsg_put_extra_header(nlh, sizeof(ifaddrmsg)));
      const bool v4 = op.address.ip.isV4();
      ifa->ifa_family = v4 ? AF_INET : AF_INET6;
      ifa->ifa_prefixlen = static_cast<std::uint8_t>(op.address.prefixLen);
      ifa->ifa_scope = RT_SCOPE_UNIVERSE;
      ifa->ifa_index = static_cast<std::uint32_t>(*index);
      const std::size_t len = v4 ? 4 : 16;
      mnl_attr_put(nlh, IFA_LOCAL, len, op.address.ip.bytes().data());
      mnl_attr_put(nlh, IFA_ADDRESS, len, op.address.ip.bytes().data());
      return send(nlh);
    }
    case OpKind::CreateVlan:
    case OpKind::SetSysctl:
      break;
  }
  Error e;
  e.code = Error::Code::Io;
  e.sysErrno = EINVAL;
  e.message = "not a netlink operation";
  return e;
}

}  // namespace bulwark::vlan::nl
