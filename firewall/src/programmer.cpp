// Ruleset IR → one nf_tables batch: NEWTABLE (create if missing), DELTABLE, NEWTABLE, every
// set with its elements, every chain, every rule. Each message has its own seq; failures
// are reported against the IR object (and the rule's Origin) that produced the message.
#include "bulwark/firewall/programmer.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <cerrno>
#include <cstring>
#include <map>
#include <string_view>
#include <unordered_map>

#include "nl/nftnl.h"
#include "nl/socket.h"
#include "render_words.h"

namespace bulwark::firewall {
namespace {

using nl::Batch;

constexpr std::uint16_t kFamily = NFPROTO_INET;
constexpr std::size_t kElemsPerMessage = 128;

const SetDef* findSetDef(const Ruleset& rs, const std::string& name) {
  for (const auto& s : rs.sets) {
    if (s.name == name) {
      return &s;
    }
  }
  return nullptr;
}

std::string originText(const Origin& o) {
  if (o.where.file.empty()) {
    return "bulwark (built-in)";
  }
  return o.where.str();
}

std::uint32_t hookNum(Hook h) {
  switch (h) {
    case Hook::Prerouting: return NF_INET_PRE_ROUTING;
    case Hook::Input: return NF_INET_LOCAL_IN;
    case Hook::Forward: return NF_INET_FORWARD;
    case Hook::Output: return NF_INET_LOCAL_OUT;
    case Hook::Postrouting: return NF_INET_POST_ROUTING;
  }
  return NF_INET_FORWARD;
}

// Builds batch messages and remembers what each seq stands for.
class Builder {
 public:
  explicit Builder(const ApplyOptions& o) : batch_(o.expectedGenId) {}

  Batch batch_;
  std::map<std::uint32_t, std::string> what_;  // seq → "…: kernel rejected …"
  std::vector<std::string> encodeErrors;

  void table(std::uint16_t type, const std::string& what) {
    nl::TablePtr t(nftnl_table_alloc());
    nftnl_table_set_str(t.get(), NFTNL_TABLE_NAME, kTableName);
    nftnl_table_set_u32(t.get(), NFTNL_TABLE_FAMILY, kFamily);
    const std::uint16_t flags = type == NFT_MSG_NEWTABLE ? (NLM_F_CREATE | NLM_F_ACK) : NLM_F_ACK;
    auto seq = batch_.add(1024, [&](char* buf, std::uint32_t s) {
      nlmsghdr* nlh = nftnl_table_nlmsg_build_hdr(buf, type, kFamily, flags, s);
      nftnl_table_nlmsg_build_payload(nlh, t.get());
      return nlh;
    });
    what_[seq] = "kernel rejected " + what + " of table inet " + kTableName;
  }

  void set(const SetDef& s, std::uint32_t id) {
    nl::SetPtr n(nftnl_set_alloc());
    nftnl_set_set_str(n.get(), NFTNL_SET_TABLE, kTableName);
    nftnl_set_set_str(n.get(), NFTNL_SET_NAME, s.name.c_str());
    nftnl_set_set_u32(n.get(), NFTNL_SET_FAMILY, kFamily);
    nftnl_set_set_u32(n.get(), NFTNL_SET_ID, id);
    nftnl_set_set_u32(n.get(), NFTNL_SET_KEY_TYPE, nl::setKeyTypeId(s));
    nftnl_set_set_u32(n.get(), NFTNL_SET_KEY_LEN, nl::setKeyLen(s));
    std::uint32_t flags = 0;
    if (s.interval) {
      flags |= NFT_SET_INTERVAL;
      if (s.key.size() > 1) {
        flags |= NFT_SET_CONCAT;
      }
    }
    if (s.verdictMap) {
      flags |= NFT_SET_MAP;
      nftnl_set_set_u32(n.get(), NFTNL_SET_DATA_TYPE, NFT_DATA_VERDICT);
    } else if (s.addressMap) {
      flags |= NFT_SET_MAP;
      const bool v4 = *s.addressMap == policies::Family::V4;
      nftnl_set_set_u32(n.get(), NFTNL_SET_DATA_TYPE, nl::keyTypeId(v4 ? KeyType::Ipv4Addr : KeyType::Ipv6Addr));
      nftnl_set_set_u32(n.get(), NFTNL_SET_DATA_LEN, v4 ? 4 : 16);
    }
    if (s.dynamic) {
      flags |= NFT_SET_EVAL;
    }
    if (s.timeoutSec != 0) {
      flags |= NFT_SET_TIMEOUT;
      nftnl_set_set_u64(n.get(), NFTNL_SET_TIMEOUT, static_cast<std::uint64_t>(s.timeoutSec) * 1000);
    }
    nftnl_set_set_u32(n.get(), NFTNL_SET_FLAGS, flags);
    if (s.size != 0) {
      nftnl_set_set_u32(n.get(), NFTNL_SET_DESC_SIZE, s.size);
    }
    // Field lengths only for concatenated ranges (pipapo); the kernel refuses a field
    // description without NFT_SET_CONCAT.
    if (s.key.size() > 1 && s.interval) {
      std::vector<std::uint8_t> lens;
      for (KeyType t : s.key) {
        lens.push_back(static_cast<std::uint8_t>(nl::keyTypeLen(t)));
      }
      nftnl_set_set_data(n.get(), NFTNL_SET_DESC_CONCAT, lens.data(), static_cast<std::uint32_t>(lens.size()));
    }
    const nl::Bytes ud = nl::setUserdata(s);
    nftnl_set_set_data(n.get(), NFTNL_SET_USERDATA, ud.data(), static_cast<std::uint32_t>(ud.size()));
    auto seq = batch_.add(4096 + s.comment.size(), [&](char* buf, std::uint32_t sq) {
      nlmsghdr* nlh = nftnl_set_nlmsg_build_hdr(buf, NFT_MSG_NEWSET, kFamily, NLM_F_CREATE | NLM_F_ACK, sq);
      nftnl_set_nlmsg_build_payload(nlh, n.get());
      return nlh;
    });
    what_[seq] = "kernel rejected set '" + s.name + "'";
  }

  // NEWSETELEM / DELSETELEM in chunks. Returns false when an element cannot be encoded.
  bool elements(const SetDef& s, const std::vector<const SetElement*>& elems, std::uint16_t type) {
    const char* verb = type == NFT_MSG_NEWSETELEM ? "adding" : "removing";
    for (std::size_t from = 0; from < elems.size(); from += kElemsPerMessage) {
      const std::size_t to = std::min(elems.size(), from + kElemsPerMessage);
      nl::SetPtr n(nftnl_set_alloc());
      nftnl_set_set_str(n.get(), NFTNL_SET_TABLE, kTableName);
      nftnl_set_set_str(n.get(), NFTNL_SET_NAME, s.name.c_str());
      nftnl_set_set_u32(n.get(), NFTNL_SET_FAMILY, kFamily);
      std::size_t reserve = 1024;
      for (std::size_t i = from; i < to; ++i) {
        const SetElement& e = *elems[i];
        auto enc = nl::encodeElement(s, e);
        if (!enc.error.empty()) {
          encodeErrors.push_back("set '" + s.name + "' element " + elementText(e, true) + ": " + enc.error);
          continue;
        }
        for (std::size_t k = 0; k < enc.elems.size(); ++k) {
          const auto& x = enc.elems[k];
          nftnl_set_elem* el = nftnl_set_elem_alloc();
          if (el == nullptr) {
            std::abort();
          }
          nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY, x.key.data(), static_cast<std::uint32_t>(x.key.size()));
          if (x.data && type == NFT_MSG_NEWSETELEM) {
            nftnl_set_elem_set(el, NFTNL_SET_ELEM_DATA, x.data->data(), static_cast<std::uint32_t>(x.data->size()));
          }
          if (x.keyEnd) {
            nftnl_set_elem_set(el, NFTNL_SET_ELEM_KEY_END, x.keyEnd->data(),
                               static_cast<std::uint32_t>(x.keyEnd->size()));
          }
          if (x.intervalEnd) {
            nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_FLAGS, NFT_SET_ELEM_INTERVAL_END);
          } else if (type == NFT_MSG_NEWSETELEM) {
            if (s.verdictMap) {
              nftnl_set_elem_set_u32(el, NFTNL_SET_ELEM_VERDICT, static_cast<std::uint32_t>(NFT_GOTO));
              nftnl_set_elem_set_str(el, NFTNL_SET_ELEM_CHAIN, e.jumpTo.c_str());
            }
            if (!e.comment.empty()) {
              auto ud = nl::udataComment(NFTNL_UDATA_SET_ELEM_COMMENT, e.comment);
              nftnl_set_elem_set(el, NFTNL_SET_ELEM_USERDATA, nftnl_udata_buf_data(ud.get()),
                                 nftnl_udata_buf_len(ud.get()));
            }
          }
          nftnl_set_elem_add(n.get(), el);  // owned by the set from here
          reserve += 2 * x.key.size() + 128 + e.comment.size() + e.jumpTo.size();
        }
      }
      const std::uint16_t flags = type == NFT_MSG_NEWSETELEM ? (NLM_F_CREATE | NLM_F_ACK) : NLM_F_ACK;
      auto seq = batch_.add(reserve, [&](char* buf, std::uint32_t sq) {
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(buf, type, kFamily, flags, sq);
        nftnl_set_elems_nlmsg_build_payload(nlh, n.get());
        return nlh;
      });
      std::string sample = from < to ? elementText(*elems[from], true) : "";
      what_[seq] = "kernel rejected " + std::string(verb) + " elements of set '" + s.name + "' (" +
                   std::to_string(to - from) + " element(s) from {" + sample + "})";
    }
    return encodeErrors.empty();
  }

  void chain(const Chain& c) {
    nl::ChainPtr n(nftnl_chain_alloc());
    nftnl_chain_set_str(n.get(), NFTNL_CHAIN_TABLE, kTableName);
    nftnl_chain_set_str(n.get(), NFTNL_CHAIN_NAME, c.name.c_str());
    nftnl_chain_set_u32(n.get(), NFTNL_CHAIN_FAMILY, kFamily);
    if (c.base) {
      nftnl_chain_set_u32(n.get(), NFTNL_CHAIN_HOOKNUM, hookNum(c.base->hook));
      nftnl_chain_set_s32(n.get(), NFTNL_CHAIN_PRIO, c.base->priority);
      nftnl_chain_set_str(n.get(), NFTNL_CHAIN_TYPE, c.base->type == ChainType::Nat ? "nat" : "filter");
      nftnl_chain_set_u32(n.get(), NFTNL_CHAIN_POLICY, c.base->policyDrop ? NF_DROP : NF_ACCEPT);
    }
    nl::UdataPtr ud;
    if (!c.comment.empty()) {
      ud = nl::udataComment(NFTNL_UDATA_CHAIN_COMMENT, c.comment);
      nftnl_chain_set_data(n.get(), NFTNL_CHAIN_USERDATA, nftnl_udata_buf_data(ud.get()),
                           nftnl_udata_buf_len(ud.get()));
    }
    auto seq = batch_.add(2048 + c.comment.size(), [&](char* buf, std::uint32_t sq) {
      nlmsghdr* nlh = nftnl_chain_nlmsg_build_hdr(buf, NFT_MSG_NEWCHAIN, kFamily, NLM_F_CREATE | NLM_F_ACK, sq);
      nftnl_chain_nlmsg_build_payload(nlh, n.get());
      return nlh;
    });
    what_[seq] = "kernel rejected chain '" + c.name + "'";
  }

  void rule(const Chain& c, const Rule& r, std::size_t index) {
    nl::RulePtr n(nftnl_rule_alloc());
    nftnl_rule_set_str(n.get(), NFTNL_RULE_TABLE, kTableName);
    nftnl_rule_set_str(n.get(), NFTNL_RULE_CHAIN, c.name.c_str());
    nftnl_rule_set_u32(n.get(), NFTNL_RULE_FAMILY, kFamily);
    const auto ops = nl::lower(r);
    for (const auto& op : ops) {
      nftnl_rule_add_expr(n.get(), nl::toNftnl(op).release());  // owned by the rule
    }
    const std::string comment = r.comment();
    nl::UdataPtr ud;
    if (!comment.empty()) {
      ud = nl::udataComment(NFTNL_UDATA_RULE_COMMENT, comment);
      nftnl_rule_set_data(n.get(), NFTNL_RULE_USERDATA, nftnl_udata_buf_data(ud.get()),
                          nftnl_udata_buf_len(ud.get()));
    }
    auto seq = batch_.add(2048 + ops.size() * 512, [&](char* buf, std::uint32_t sq) {
      nlmsghdr* nlh = nftnl_rule_nlmsg_build_hdr(buf, NFT_MSG_NEWRULE, kFamily,
                                                NLM_F_APPEND | NLM_F_CREATE | NLM_F_ACK, sq);
      nftnl_rule_nlmsg_build_payload(nlh, n.get());
      return nlh;
    });
    const std::string name = r.origin.what.empty() ? "#" + std::to_string(index + 1) : r.origin.what;
    what_[seq] = originText(r.origin) + ": kernel rejected rule '" + name + "' in chain '" + c.name + "'";
  }

  // DELRULE naming the chain and no handle: every rule of the chain.
  void flush(const Chain& c) {
    nl::RulePtr n(nftnl_rule_alloc());
    nftnl_rule_set_str(n.get(), NFTNL_RULE_TABLE, kTableName);
    nftnl_rule_set_str(n.get(), NFTNL_RULE_CHAIN, c.name.c_str());
    nftnl_rule_set_u32(n.get(), NFTNL_RULE_FAMILY, kFamily);
    auto seq = batch_.add(1024, [&](char* buf, std::uint32_t sq) {
      nlmsghdr* nlh = nftnl_rule_nlmsg_build_hdr(buf, NFT_MSG_DELRULE, kFamily, NLM_F_ACK, sq);
      nftnl_rule_nlmsg_build_payload(nlh, n.get());
      return nlh;
    });
    what_[seq] = "kernel rejected flushing chain '" + c.name + "'";
  }
};

KernelResult<ApplyReport> send(Builder& b, nl::Socket* open = nullptr) {
  if (!b.encodeErrors.empty()) {
    KernelError e;
    e.sysErrno = EINVAL;
    e.items = b.encodeErrors;
    for (const auto& s : e.items) {
      e.message += (e.message.empty() ? "" : "\n") + s;
    }
    return e;
  }
  b.batch_.end();
  std::optional<KernelResult<nl::Socket>> own;
  if (open == nullptr) {
    own.emplace(nl::Socket::open());
    if (!*own) {
      return own->error();
    }
    open = &own->value();
  }
  auto acks = open->talk(b.batch_);
  if (!acks) {
    return acks.error();
  }
  if (acks->empty()) {
    return ApplyReport{b.batch_.messages(), b.batch_.size()};
  }
  KernelError e;
  e.sysErrno = acks->front().err;
  for (const auto& a : *acks) {
    std::string line;
    if (a.seq == b.batch_.beginSeq() && a.err == ERESTART) {
      line = "the ruleset changed since it was read (generation mismatch): re-plan and apply again";
    } else if (auto it = b.what_.find(a.seq); it != b.what_.end()) {
      line = it->second;
    } else {
      line = "kernel rejected batch message " + std::to_string(a.seq);
    }
    line += ": " + std::string(std::strerror(a.err));
    if (!a.extMessage.empty()) {
      line += " (" + a.extMessage + ")";
    }
    e.items.push_back(line);
    e.message += (e.message.empty() ? "" : "\n") + line;
  }
  return e;
}

}  // namespace

KernelResult<ApplyReport> apply(const Ruleset& rs, const ApplyOptions& options) {
  Builder b(options);
  b.table(NFT_MSG_NEWTABLE, "creating");
  b.table(NFT_MSG_DELTABLE, "deleting");
  b.table(NFT_MSG_NEWTABLE, "defining");
  // nft's order: chains first (verdict-map elements and rules name them, and the kernel
  // resolves those names while processing each message), then sets and their elements,
  // then rules.
  for (const auto& c : rs.chains) {
    b.chain(c);
  }
  std::uint32_t id = 1;
  for (const auto& s : rs.sets) {
    b.set(s, id++);
  }
  for (const auto& s : rs.sets) {
    if (s.elements.empty()) {
      continue;
    }
    std::vector<const SetElement*> elems;
    elems.reserve(s.elements.size());
    for (const auto& e : s.elements) {
      elems.push_back(&e);
    }
    b.elements(s, elems, NFT_MSG_NEWSETELEM);
  }
  for (const auto& c : rs.chains) {
    for (std::size_t i = 0; i < c.rules.size(); ++i) {
      b.rule(c, c.rules[i], i);
    }
  }
  return send(b);
}

namespace {

void buildElementChanges(Builder& b, const Ruleset& defs, const std::vector<ElementChange>& additions,
                         const std::vector<ElementChange>& removals) {
  auto group = [&](const std::vector<ElementChange>& changes, std::uint16_t type) -> bool {
    std::map<std::string, std::vector<const SetElement*>> bySet;
    for (const auto& c : changes) {
      bySet[c.set].push_back(&c.element);
    }
    for (const auto& [name, elems] : bySet) {
      const SetDef* def = findSetDef(defs, name);
      if (def == nullptr) {
        b.encodeErrors.push_back("set '" + name + "' is not part of the ruleset");
        continue;
      }
      b.elements(*def, elems, type);
    }
    return true;
  };
  group(removals, NFT_MSG_DELSETELEM);
  group(additions, NFT_MSG_NEWSETELEM);
}

}  // namespace

KernelResult<ApplyReport> applyChainRewrites(const Ruleset& rs, const std::vector<std::string>& chains,
                                             const std::vector<ElementChange>& additions,
                                             const std::vector<ElementChange>& removals, const ApplyOptions& options) {
  Builder b(options);
  buildElementChanges(b, rs, additions, removals);
  std::unordered_map<std::string_view, const Chain*> byName;
  for (const auto& c : rs.chains) byName.emplace(c.name, &c);
  for (const auto& name : chains) {
    auto it = byName.find(name);
    if (it == byName.end()) {
      b.encodeErrors.push_back("chain '" + name + "' is not part of the ruleset");
      continue;
    }
    const Chain& c = *it->second;
    b.flush(c);
    for (std::size_t i = 0; i < c.rules.size(); ++i) b.rule(c, c.rules[i], i);
  }
  return send(b);
}

KernelResult<ApplyReport> applyElementChanges(const Ruleset& defs, const std::vector<ElementChange>& additions,
                                              const std::vector<ElementChange>& removals,
                                              const ApplyOptions& options) {
  Builder b(options);
  buildElementChanges(b, defs, additions, removals);
  return send(b);
}

ElementWriter::ElementWriter(std::unique_ptr<nl::Socket> s) : sock_(std::move(s)) {}
ElementWriter::ElementWriter(ElementWriter&&) noexcept = default;
ElementWriter& ElementWriter::operator=(ElementWriter&&) noexcept = default;
ElementWriter::~ElementWriter() = default;

KernelResult<ElementWriter> ElementWriter::open() {
  auto sock = nl::Socket::open();
  if (!sock) {
    return sock.error();
  }
  return ElementWriter(std::make_unique<nl::Socket>(std::move(sock.value())));
}

KernelResult<ApplyReport> ElementWriter::apply(const Ruleset& defs, const std::vector<ElementChange>& additions,
                                               const std::vector<ElementChange>& removals,
                                               const ApplyOptions& options) {
  Builder b(options);
  buildElementChanges(b, defs, additions, removals);
  return send(b, sock_.get());
}

KernelResult<ApplyReport> deleteTable(const ApplyOptions& options) {
  Builder b(options);
  // DESTROY would ignore absence, but needs Linux 6.3: DELTABLE, and ENOENT means done.
  b.table(NFT_MSG_DELTABLE, "deleting");
  auto r = send(b);
  if (!r && r.error().sysErrno == ENOENT && r.error().items.size() == 1) {
    return ApplyReport{b.batch_.messages(), b.batch_.size()};
  }
  return r;
}

KernelResult<std::uint32_t> currentGenId() {
  auto sock = nl::Socket::open();
  if (!sock) {
    return sock.error();
  }
  return sock->genId();
}

}  // namespace bulwark::firewall
