// Dump table inet bulwark (sets, elements, chains, rules) and rebuild the IR from it.
#include "bulwark/firewall/observe.h"

#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>

#include <algorithm>
#include <cerrno>
#include <string_view>
#include <unordered_map>

#include "bulwark/firewall/reconcile.h"
#include "nl/inet_request.h"
#include "nl/nftnl.h"
#include "observe_sets.h"

namespace bulwark::firewall {
namespace {

constexpr std::uint16_t kFamily = NFPROTO_INET;

std::string udataOf(const void* data, std::uint32_t len, std::uint8_t type) {
  return nl::udataFind(data, len, type);
}

std::optional<Hook> hookFrom(std::uint32_t n) {
  switch (n) {
    case NF_INET_PRE_ROUTING: return Hook::Prerouting;
    case NF_INET_LOCAL_IN: return Hook::Input;
    case NF_INET_FORWARD: return Hook::Forward;
    case NF_INET_LOCAL_OUT: return Hook::Output;
    case NF_INET_POST_ROUTING: return Hook::Postrouting;
    default: return std::nullopt;
  }
}

KernelResult<Unit> readElements(nl::Socket& sock, ObservedSet& os) {
  nl::SetPtr s(nftnl_set_alloc());
  nftnl_set_set_str(s.get(), NFTNL_SET_TABLE, kTableName);
  nftnl_set_set_str(s.get(), NFTNL_SET_NAME, os.def.name.c_str());
  nftnl_set_set_u32(s.get(), NFTNL_SET_FAMILY, kFamily);
  auto r = nl::requestInet(
      sock, NFT_MSG_GETSETELEM, NLM_F_DUMP, [&](nlmsghdr* nlh) { nftnl_set_elems_nlmsg_build_payload(nlh, s.get()); },
      [&](const nlmsghdr* nlh) {
        nftnl_set_elems_nlmsg_parse(nlh, s.get());
        return MNL_CB_OK;
      });
  if (!r) {
    return r.error();
  }
  takeElements(s.get(), os);
  return Unit{};
}

ObservedRule toObservedRule(nftnl_rule* r) {
  ObservedRule o;
  o.handle = nftnl_rule_get_u64(r, NFTNL_RULE_HANDLE);
  if (nftnl_rule_is_set(r, NFTNL_RULE_USERDATA)) {
    std::uint32_t len = 0;
    const void* d = nftnl_rule_get_data(r, NFTNL_RULE_USERDATA, &len);
    o.comment = udataOf(d, len, NFTNL_UDATA_RULE_COMMENT);
  }
  std::vector<nl::Op> ops;
  nl::ExprIterPtr it(nftnl_expr_iter_create(r));
  for (nftnl_expr* e = nftnl_expr_iter_next(it.get()); e != nullptr; e = nftnl_expr_iter_next(it.get())) {
    ops.push_back(nl::fromNftnl(e));
  }
  auto raised = nl::raise(ops);
  o.hasCounter = raised.hasCounter;
  o.packets = raised.packets;
  o.bytes = raised.bytes;
  if (raised.ok) {
    Rule rule;
    rule.exprs = std::move(raised.exprs);
    rule.verdict = raised.verdict;
    rule.origin = originOfComment(o.comment);
    o.rule = std::move(rule);
  } else {
    o.unknown = raised.problem + "; rule:";
    for (const auto& op : ops) {
      o.unknown += " [" + nl::describeOp(op) + "]";
    }
  }
  return o;
}

// The rules of table inet bulwark (of one chain when `chain` is set: the kernel filters the
// dump), each handed to `take`.
template <typename Take>
KernelResult<Unit> dumpRules(nl::Socket& sock, const char* chain, Take take) {
  nl::RulePtr rfilter(nftnl_rule_alloc());
  nftnl_rule_set_str(rfilter.get(), NFTNL_RULE_TABLE, kTableName);
  if (chain != nullptr) nftnl_rule_set_str(rfilter.get(), NFTNL_RULE_CHAIN, chain);
  auto rr = nl::requestInet(
      sock, NFT_MSG_GETRULE, NLM_F_DUMP, [&](nlmsghdr* nlh) { nftnl_rule_nlmsg_build_payload(nlh, rfilter.get()); },
      [&](const nlmsghdr* nlh) {
        nl::RulePtr r(nftnl_rule_alloc());
        if (nftnl_rule_nlmsg_parse(nlh, r.get()) < 0 ||
            std::string_view(nftnl_rule_get_str(r.get(), NFTNL_RULE_TABLE)) != kTableName ||
            nftnl_rule_get_u32(r.get(), NFTNL_RULE_FAMILY) != kFamily ||
            (chain != nullptr && std::string_view(nftnl_rule_get_str(r.get(), NFTNL_RULE_CHAIN)) != chain)) {
          return MNL_CB_OK;
        }
        take(r.get());
        return MNL_CB_OK;
      });
  if (!rr) {
    return rr.error();
  }
  return Unit{};
}

// One consistent read; EINTR when the generation moved while dumping.
KernelResult<TableState> observeOnce(nl::Socket& sock) {
  auto gen = sock.genId();
  if (!gen) {
    return gen.error();
  }
  TableState state;
  state.genId = *gen;
  ObservedTable t;
  t.genId = *gen;

  auto exists = nl::tableExists(sock);
  if (!exists) {
    return exists.error();
  }
  if (!*exists) {
    return state;
  }

  // Sets (the kernel filters the dump by table).
  nl::SetPtr filter(nftnl_set_alloc());
  nftnl_set_set_str(filter.get(), NFTNL_SET_TABLE, kTableName);
  auto sr = nl::requestInet(
      sock, NFT_MSG_GETSET, NLM_F_DUMP, [&](nlmsghdr* nlh) { nftnl_set_nlmsg_build_payload(nlh, filter.get()); },
      [&](const nlmsghdr* nlh) {
        nl::SetPtr s(nftnl_set_alloc());
        if (nftnl_set_nlmsg_parse(nlh, s.get()) < 0) {
          return MNL_CB_OK;
        }
        if (std::string_view(nftnl_set_get_str(s.get(), NFTNL_SET_TABLE)) != kTableName ||
            nftnl_set_get_u32(s.get(), NFTNL_SET_FAMILY) != kFamily) {
          return MNL_CB_OK;
        }
        t.sets.push_back(toObservedSet(s.get()));
        return MNL_CB_OK;
      });
  if (!sr) {
    return sr.error();
  }
  for (auto& s : t.sets) {
    if (!s.unknown.empty()) {
      continue;
    }
    auto er = readElements(sock, s);
    if (!er) {
      return er.error();
    }
  }

  // Chains (filtered here: the chain dump is per family).
  auto cr = nl::requestInet(
      sock, NFT_MSG_GETCHAIN, NLM_F_DUMP, {},
      [&](const nlmsghdr* nlh) {
        nl::ChainPtr c(nftnl_chain_alloc());
        if (nftnl_chain_nlmsg_parse(nlh, c.get()) < 0 ||
            std::string_view(nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TABLE)) != kTableName ||
            nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_FAMILY) != kFamily) {
          return MNL_CB_OK;
        }
        ObservedChain oc;
        oc.name = nftnl_chain_get_str(c.get(), NFTNL_CHAIN_NAME);
        oc.handle = nftnl_chain_get_u64(c.get(), NFTNL_CHAIN_HANDLE);
        if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_HOOKNUM)) {
          BaseChain b;
          auto hook = hookFrom(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM));
          const std::string type = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_TYPE)
                                       ? nftnl_chain_get_str(c.get(), NFTNL_CHAIN_TYPE)
                                       : "filter";
          if (!hook || (type != "filter" && type != "nat")) {
            oc.unknown = "base chain type " + type + " hook " +
                         std::to_string(nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_HOOKNUM));
          } else {
            b.hook = *hook;
            b.type = type == "nat" ? ChainType::Nat : ChainType::Filter;
          }
          b.priority = nftnl_chain_get_s32(c.get(), NFTNL_CHAIN_PRIO);
          b.policyDrop = nftnl_chain_is_set(c.get(), NFTNL_CHAIN_POLICY) &&
                         nftnl_chain_get_u32(c.get(), NFTNL_CHAIN_POLICY) == NF_DROP;
          oc.base = b;
        }
        if (nftnl_chain_is_set(c.get(), NFTNL_CHAIN_USERDATA)) {
          std::uint32_t len = 0;
          const void* d = nftnl_chain_get_data(c.get(), NFTNL_CHAIN_USERDATA, &len);
          oc.comment = udataOf(d, len, NFTNL_UDATA_CHAIN_COMMENT);
        }
        t.chains.push_back(std::move(oc));
        return MNL_CB_OK;
      });
  if (!cr) {
    return cr.error();
  }

  // Rules (the kernel filters the dump by table; checked again here). Each dumped rule names
  // its chain: found through an index, as a flat policy has one chain per rule.
  std::unordered_map<std::string, std::size_t> chainAt;
  for (std::size_t i = 0; i < t.chains.size(); ++i) chainAt.emplace(t.chains[i].name, i);
  auto rr = dumpRules(sock, nullptr, [&](nftnl_rule* r) {
    auto at = chainAt.find(nftnl_rule_get_str(r, NFTNL_RULE_CHAIN));
    if (at != chainAt.end()) t.chains[at->second].rules.push_back(toObservedRule(r));
  });
  if (!rr) {
    return rr.error();
  }

  auto gen2 = sock.genId();
  if (!gen2) {
    return gen2.error();
  }
  if (*gen2 != t.genId) {
    return sysError<KernelError>(EINTR, "ruleset changed while reading table inet bulwark");
  }
  state.table = std::move(t);
  return state;
}

KernelResult<TableState> observeState() {
  auto sock = nl::Socket::open();
  if (!sock) {
    return sock.error();
  }
  for (int attempt = 0;; ++attempt) {
    auto r = observeOnce(*sock);
    if (r || r.error().sysErrno != EINTR || attempt == 4) {
      return r;
    }
  }
}

// `before` with the rules of `chains` and the elements of `sets` read again, at generation
// `expected`. nullopt: the generation is another (something else committed, or the table
// changed while reading): the caller reads the whole table.
KernelResult<std::optional<TableState>> observePartOnce(nl::Socket& sock, const TableState& before,
                                                        std::uint32_t expected, const std::vector<std::string>& chains,
                                                        const std::vector<std::string>& sets) {
  auto gen = sock.genId();
  if (!gen) {
    return gen.error();
  }
  if (*gen != expected || !before.table) {
    return std::optional<TableState>{};
  }
  TableState state{before.table, expected};
  ObservedTable& t = *state.table;
  t.genId = expected;
  std::unordered_map<std::string_view, ObservedChain*> chainAt;
  for (auto& c : t.chains) chainAt.emplace(c.name, &c);
  for (const auto& name : chains) {
    auto at = chainAt.find(name);
    if (at == chainAt.end()) {
      return std::optional<TableState>{};  // not a chain the table had: read it all
    }
    ObservedChain& c = *at->second;
    c.rules.clear();
    auto rr = dumpRules(sock, c.name.c_str(), [&](nftnl_rule* r) { c.rules.push_back(toObservedRule(r)); });
    if (!rr) {
      return rr.error();
    }
  }
  for (const auto& name : sets) {
    auto it = std::find_if(t.sets.begin(), t.sets.end(), [&](const ObservedSet& s) { return s.def.name == name; });
    if (it == t.sets.end() || !it->unknown.empty()) {
      return std::optional<TableState>{};
    }
    it->def.elements.clear();
    it->unknownElements.clear();
    auto er = readElements(sock, *it);
    if (!er) {
      return er.error();
    }
  }
  auto gen2 = sock.genId();
  if (!gen2) {
    return gen2.error();
  }
  if (*gen2 != expected) {
    return std::optional<TableState>{};
  }
  return std::optional<TableState>{std::move(state)};
}

}  // namespace

KernelResult<TableStatePtr> observeSince(const TableStatePtr& before, std::uint32_t genId,
                                         const std::vector<std::string>& chains, const std::vector<std::string>& sets,
                                         bool* partial) {
  if (partial != nullptr) *partial = false;
  auto sock = nl::Socket::open();
  if (!sock) {
    return sock.error();
  }
  auto part = observePartOnce(*sock, *before, genId, chains, sets);
  if (!part) {
    return part.error();
  }
  if (*part) {
    if (partial != nullptr) *partial = true;
    return TableStatePtr(std::make_shared<const TableState>(std::move(**part)));
  }
  return observeTable();
}

KernelResult<TableStatePtr> observeWritten(const TableStatePtr& before, const std::vector<std::string>& chains,
                                           const std::vector<std::string>& sets) {
  return observeSince(before, before->genId + 1, chains, sets);
}

KernelResult<std::optional<ObservedTable>> observe() {
  auto r = observeState();
  if (!r) {
    return r.error();
  }
  return std::move(r->table);
}

KernelResult<TableStatePtr> observeTable() {
  auto r = observeState();
  if (!r) {
    return r.error();
  }
  return TableStatePtr(std::make_shared<const TableState>(std::move(r.value())));
}

const ObservedChain* ObservedTable::findChain(std::string_view name) const {
  for (const auto& c : chains) {
    if (c.name == name) {
      return &c;
    }
  }
  return nullptr;
}

const ObservedSet* ObservedTable::findSet(std::string_view name) const {
  for (const auto& s : sets) {
    if (s.def.name == name) {
      return &s;
    }
  }
  return nullptr;
}

Ruleset ObservedTable::ruleset() const {
  Ruleset rs;
  for (const auto& s : sets) {
    if (s.unknown.empty()) {
      rs.sets.push_back(s.def);
    }
  }
  for (const auto& c : chains) {
    Chain out;
    out.name = c.name;
    out.base = c.base;
    out.comment = c.comment;
    for (const auto& r : c.rules) {
      if (r.rule) {
        out.rules.push_back(*r.rule);
      }
    }
    rs.chains.push_back(std::move(out));
  }
  return rs;
}

std::vector<RuleCounter> ObservedTable::counters() const {
  std::vector<RuleCounter> out;
  for (const auto& c : chains) {
    for (std::size_t i = 0; i < c.rules.size(); ++i) {
      const auto& r = c.rules[i];
      if (r.hasCounter) {
        out.push_back({c.name, i, r.comment, r.packets, r.bytes});
      }
    }
  }
  return out;
}

}  // namespace bulwark::firewall
