#pragma once
// A fake nf_tables behind firewall::NetlinkTransport, enough to unit-test the programmer,
// observe and the reconcile without root: batches are processed the way the kernel's
// nfnetlink_rcv_batch does (generation check on BATCH_BEGIN → ERESTART, every message acked
// or refused with its own seq, all or nothing at BATCH_END), and the dumps replay what the
// batches created, as libnftnl messages. It keeps only table inet bulwark.
#include <arpa/inet.h>
#include <libmnl/libmnl.h>
#include <libnftnl/chain.h>
#include <libnftnl/common.h>
#include <libnftnl/rule.h>
#include <libnftnl/set.h>
#include <libnftnl/table.h>
#include <linux/netfilter.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <set>
#include <string>
#include <vector>

#include "bulwark/firewall/transport.h"
#include "bulwark/firewall/ruleset.h"

namespace bulwark::firewall::test {

using Message = std::vector<char>;  // one netlink message, as sent

inline std::uint16_t nftType(const nlmsghdr* nlh) { return static_cast<std::uint16_t>(nlh->nlmsg_type & 0xff); }

// One set element as the kernel keeps it: its attributes as sent (NFTA_SET_ELEM_*), and what
// identifies it (key, key end, flags).
struct FakeElement {
  std::vector<char> attrs;
  std::vector<char> id;
  bool operator==(const FakeElement& o) const { return id == o.id; }
};

struct FakeTable {
  bool exists = false;
  std::vector<Message> chains;  // NEWCHAIN messages
  std::vector<std::pair<std::string, Message>> sets;  // name, NEWSET message
  std::map<std::string, std::vector<FakeElement>> elements;
  std::vector<Message> rules;  // NEWRULE messages, in append order
};

class FakeTransport;

// The kernel's side: the table, the generation, and what the tests program.
struct FakeNetfilter {
  std::uint32_t gen = 100;
  FakeTable table;
  // errno to refuse a batch message with (0: accept), asked for each message in order.
  std::function<int(const nlmsghdr*)> refuse;
  // Accept a batch message but do not keep it (what the read-back must catch).
  std::function<bool(const nlmsghdr*)> forget;
  int bumpGenAtGetGen = 0;  // the n-th NFT_MSG_GETGEN (1-based) finds the generation moved
  int getGens = 0;
  std::vector<std::vector<Message>> batches;  // every batch received, message by message
  std::vector<FakeTransport*> subscribers;
};

namespace detail {

inline Message copyOf(const nlmsghdr* nlh) {
  const auto* p = reinterpret_cast<const char*>(nlh);
  return Message(p, p + nlh->nlmsg_len);
}

inline std::string setNameOf(const nlmsghdr* nlh) {
  std::unique_ptr<nftnl_set, void (*)(const nftnl_set*)> s(nftnl_set_alloc(), nftnl_set_free);
  if (nftnl_set_nlmsg_parse(nlh, s.get()) < 0 || !nftnl_set_is_set(s.get(), NFTNL_SET_NAME)) return {};
  return nftnl_set_get_str(s.get(), NFTNL_SET_NAME);
}

// The top-level attributes of an nf_tables message, by type.
inline std::map<std::uint16_t, const nlattr*> attrsOf(const nlmsghdr* nlh) {
  std::map<std::uint16_t, const nlattr*> out;
  mnl_attr_parse(
      nlh, sizeof(nfgenmsg),
      [](const nlattr* a, void* data) {
        (*static_cast<std::map<std::uint16_t, const nlattr*>*>(data))[mnl_attr_get_type(a)] = a;
        return MNL_CB_OK;
      },
      &out);
  return out;
}

// A NEWRULE/DELRULE's chain name.
inline std::string ruleChainOf(const nlmsghdr* nlh) {
  auto a = attrsOf(nlh);
  auto it = a.find(NFTA_RULE_CHAIN);
  return it == a.end() ? std::string() : std::string(mnl_attr_get_str(it->second));
}

// A NEWSETELEM/DELSETELEM/GETSETELEM's set name.
inline std::string elementSetOf(const nlmsghdr* nlh) {
  auto a = attrsOf(nlh);
  auto it = a.find(NFTA_SET_ELEM_LIST_SET);
  return it == a.end() ? std::string() : std::string(mnl_attr_get_str(it->second));
}

// Its elements, read with libmnl: libnftnl numbers the list items 1, 2, 3... when it builds a
// request (the kernel does not mind) but parses only NFTA_LIST_ELEM items back.
inline std::vector<FakeElement> elementsOf(const nlmsghdr* nlh) {
  std::vector<FakeElement> out;
  auto a = attrsOf(nlh);
  auto list = a.find(NFTA_SET_ELEM_LIST_ELEMENTS);
  if (list == a.end()) return out;
  mnl_attr_parse_nested(
      list->second,
      [](const nlattr* item, void* data) {
        FakeElement e;
        const auto* p = static_cast<const char*>(mnl_attr_get_payload(item));
        e.attrs.assign(p, p + mnl_attr_get_payload_len(item));
        mnl_attr_parse_nested(
            item,
            [](const nlattr* in, void* id) {
              const auto t = mnl_attr_get_type(in);
              if (t == NFTA_SET_ELEM_KEY || t == NFTA_SET_ELEM_KEY_END || t == NFTA_SET_ELEM_FLAGS) {
                const auto* b = reinterpret_cast<const char*>(in);
                static_cast<std::vector<char>*>(id)->insert(static_cast<std::vector<char>*>(id)->end(), b,
                                                            b + in->nla_len);
              }
              return MNL_CB_OK;
            },
            &e.id);
        static_cast<std::vector<FakeElement>*>(data)->push_back(std::move(e));
        return MNL_CB_OK;
      },
      &out);
  return out;
}

// One nf_tables message of a batch against `t`: 0 or the errno the kernel would answer.
inline int applyMessage(FakeTable& t, const nlmsghdr* nlh) {
  switch (nftType(nlh)) {
    case NFT_MSG_NEWTABLE:
      t.exists = true;
      return 0;
    case NFT_MSG_DELTABLE:
      if (!t.exists) return ENOENT;
      t = FakeTable{};
      return 0;
    case NFT_MSG_NEWCHAIN:
      if (!t.exists) return ENOENT;
      t.chains.push_back(copyOf(nlh));
      return 0;
    case NFT_MSG_NEWSET: {
      if (!t.exists) return ENOENT;
      auto name = setNameOf(nlh);
      if (name.empty()) return EINVAL;
      t.sets.emplace_back(name, copyOf(nlh));
      t.elements[name];
      return 0;
    }
    case NFT_MSG_NEWSETELEM:
    case NFT_MSG_DELSETELEM: {
      auto name = elementSetOf(nlh);
      auto it = t.elements.find(name);
      if (!t.exists || it == t.elements.end()) return ENOENT;
      for (auto& e : elementsOf(nlh)) {
        auto at = std::find(it->second.begin(), it->second.end(), e);
        if (nftType(nlh) == NFT_MSG_NEWSETELEM) {
          if (at == it->second.end()) it->second.push_back(std::move(e));
        } else {
          if (at == it->second.end()) return ENOENT;
          it->second.erase(at);
        }
      }
      return 0;
    }
    case NFT_MSG_NEWRULE:
      if (!t.exists) return ENOENT;
      t.rules.push_back(copyOf(nlh));
      return 0;
    case NFT_MSG_DELRULE: {  // a chain and no handle: every rule of the chain (a flush)
      if (!t.exists || attrsOf(nlh).count(NFTA_RULE_HANDLE) != 0) return EOPNOTSUPP;
      const auto chain = ruleChainOf(nlh);
      std::erase_if(t.rules, [&](const Message& r) {
        return ruleChainOf(reinterpret_cast<const nlmsghdr*>(r.data())) == chain;
      });
      return 0;
    }
    default:
      return EOPNOTSUPP;
  }
}

inline void putAck(std::vector<Message>& out, const nlmsghdr* req, int err, std::uint32_t portid) {
  Message m(MNL_SOCKET_BUFFER_SIZE);
  nlmsghdr* nlh = mnl_nlmsg_put_header(m.data());
  nlh->nlmsg_type = NLMSG_ERROR;
  nlh->nlmsg_flags = NLM_F_CAPPED;
  nlh->nlmsg_seq = req->nlmsg_seq;
  nlh->nlmsg_pid = portid;
  auto* e = static_cast<nlmsgerr*>(mnl_nlmsg_put_extra_header(nlh, sizeof(nlmsgerr)));
  e->error = -err;
  e->msg = *req;
  m.resize(nlh->nlmsg_len);
  out.push_back(std::move(m));
}

inline void putDone(std::vector<Message>& out, std::uint32_t seq, std::uint32_t portid) {
  Message m(NLMSG_HDRLEN + sizeof(int));
  nlmsghdr* nlh = mnl_nlmsg_put_header(m.data());
  nlh->nlmsg_type = NLMSG_DONE;
  nlh->nlmsg_flags = NLM_F_MULTI;
  nlh->nlmsg_seq = seq;
  nlh->nlmsg_pid = portid;
  mnl_nlmsg_put_extra_header(nlh, sizeof(int));
  m.resize(nlh->nlmsg_len);
  out.push_back(std::move(m));
}

// A stored message sent back as a reply (dump part or get answer).
inline Message asReply(const Message& stored, std::uint32_t seq, std::uint32_t portid, bool multi,
                       std::uint32_t gen) {
  Message m = stored;
  auto* nlh = reinterpret_cast<nlmsghdr*>(m.data());
  nlh->nlmsg_seq = seq;
  nlh->nlmsg_pid = portid;
  nlh->nlmsg_flags = multi ? NLM_F_MULTI : 0;
  static_cast<nfgenmsg*>(mnl_nlmsg_get_payload(nlh))->res_id = htons(static_cast<std::uint16_t>(gen));
  return m;
}

}  // namespace detail

// One socket to the fake kernel.
class FakeTransport final : public NetlinkTransport {
 public:
  FakeTransport(FakeNetfilter& k, std::uint32_t portid) : k_(k), portid_(portid) {}
  ~FakeTransport() override {
    k_.subscribers.erase(std::remove(k_.subscribers.begin(), k_.subscribers.end(), this), k_.subscribers.end());
  }

  std::uint32_t portId() const override { return portid_; }
  int fd() const override { return -1; }
  void reserve(std::size_t, std::size_t) override {}
  KernelResult<Unit> subscribe(unsigned group) override {
    if (group != NFNLGRP_NFTABLES) return sysError<KernelError>(EINVAL, "fake: group");
    k_.subscribers.push_back(this);
    return Unit{};
  }

  KernelResult<Unit> send(const char* data, std::size_t len) override {
    std::vector<const nlmsghdr*> msgs;
    int left = static_cast<int>(len);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(data); mnl_nlmsg_ok(nlh, left); nlh = mnl_nlmsg_next(nlh, &left)) {
      msgs.push_back(nlh);
    }
    if (msgs.empty()) return sysError<KernelError>(EINVAL, "fake: empty send");
    if (msgs.front()->nlmsg_type == NFNL_MSG_BATCH_BEGIN) {
      batch(msgs);
    } else {
      for (const auto* m : msgs) request(m);
    }
    return Unit{};
  }

  KernelResult<std::size_t> receive(char* buf, std::size_t len, int timeoutMs) override {
    if (lost_) {
      lost_ = false;
      return sysError<KernelError>(ENOBUFS, "fake: receive");
    }
    if (queue_.empty()) {
      if (timeoutMs < 0) return sysError<KernelError>(EAGAIN, "fake: nothing to receive (a request would hang)");
      return std::size_t{0};
    }
    Message d = std::move(queue_.front());
    queue_.pop_front();
    if (d.size() > len) return sysError<KernelError>(EMSGSIZE, "fake: datagram larger than the buffer");
    std::memcpy(buf, d.data(), d.size());
    return d.size();
  }

  // For the watch tests: a notification arrives, or the socket overran.
  void notify(const Message& m) { queue_.push_back(m); }
  void overrun() { lost_ = true; }

 private:
  // Replies go out in datagrams of at most ~8 KiB (several messages each), as the kernel's.
  void queue(const std::vector<Message>& msgs) {
    Message d;
    for (const auto& m : msgs) {
      if (!d.empty() && d.size() + m.size() > 8192) {
        queue_.push_back(std::move(d));
        d.clear();
      }
      d.insert(d.end(), m.begin(), m.end());
      d.resize(NLMSG_ALIGN(d.size()));
    }
    if (!d.empty()) queue_.push_back(std::move(d));
  }

  void batch(const std::vector<const nlmsghdr*>& msgs) {
    std::vector<Message> acks;
    auto& record = k_.batches.emplace_back();
    for (const auto* m : msgs) record.push_back(detail::copyOf(m));
    const nlmsghdr* begin = msgs.front();
    // NFNL_BATCH_GENID: the optimistic lock.
    std::optional<std::uint32_t> want;
    mnl_attr_parse(
        begin, sizeof(nfgenmsg),
        [](const nlattr* a, void* data) {
          if (mnl_attr_get_type(a) == NFNL_BATCH_GENID) {
            *static_cast<std::optional<std::uint32_t>*>(data) = ntohl(mnl_attr_get_u32(a));
          }
          return MNL_CB_OK;
        },
        &want);
    if (want && *want != k_.gen) {
      detail::putAck(acks, begin, ERESTART, portid_);
      queue(acks);
      return;
    }
    FakeTable work = k_.table;
    bool failed = false;
    bool changed = false;
    for (std::size_t i = 1; i < msgs.size(); ++i) {
      const nlmsghdr* m = msgs[i];
      if (m->nlmsg_type == NFNL_MSG_BATCH_END) break;
      int err = k_.refuse ? k_.refuse(m) : 0;
      if (err == 0 && !(k_.forget && k_.forget(m))) err = detail::applyMessage(work, m);
      if (err != 0) {
        failed = true;
        detail::putAck(acks, m, err, portid_);
      } else if ((m->nlmsg_flags & NLM_F_ACK) != 0) {
        detail::putAck(acks, m, 0, portid_);
      }
      changed = true;
    }
    if (!failed && changed) {
      k_.table = std::move(work);
      ++k_.gen;
    }
    queue(acks);
  }

  void request(const nlmsghdr* req) {
    std::vector<Message> out;
    const auto& t = k_.table;
    const bool dump = (req->nlmsg_flags & NLM_F_DUMP) == NLM_F_DUMP;
    auto done = [&] {
      if (dump) {
        detail::putDone(out, req->nlmsg_seq, portid_);
      } else {
        detail::putAck(out, req, 0, portid_);
      }
    };
    switch (nftType(req)) {
      case NFT_MSG_GETGEN: {
        if (++k_.getGens == k_.bumpGenAtGetGen) ++k_.gen;
        Message m(256);
        nlmsghdr* nlh = nftnl_nlmsg_build_hdr(m.data(), NFT_MSG_NEWGEN, AF_UNSPEC, 0, req->nlmsg_seq);
        mnl_attr_put_u32(nlh, NFTA_GEN_ID, htonl(k_.gen));
        nlh->nlmsg_pid = portid_;
        m.resize(nlh->nlmsg_len);
        out.push_back(std::move(m));
        done();
        break;
      }
      case NFT_MSG_GETTABLE: {
        if (!t.exists) {
          detail::putAck(out, req, ENOENT, portid_);
          break;
        }
        Message m(1024);
        std::unique_ptr<nftnl_table, void (*)(const nftnl_table*)> tb(nftnl_table_alloc(), nftnl_table_free);
        nftnl_table_set_str(tb.get(), NFTNL_TABLE_NAME, kTableName);
        nlmsghdr* nlh = nftnl_table_nlmsg_build_hdr(m.data(), NFT_MSG_NEWTABLE, NFPROTO_INET, 0, req->nlmsg_seq);
        nftnl_table_nlmsg_build_payload(nlh, tb.get());
        nlh->nlmsg_pid = portid_;
        m.resize(nlh->nlmsg_len);
        out.push_back(std::move(m));
        done();
        break;
      }
      case NFT_MSG_GETCHAIN:
        for (const auto& c : t.chains) out.push_back(detail::asReply(c, req->nlmsg_seq, portid_, true, k_.gen));
        done();
        break;
      case NFT_MSG_GETSET:
        for (const auto& [name, s] : t.sets) out.push_back(detail::asReply(s, req->nlmsg_seq, portid_, true, k_.gen));
        done();
        break;
      case NFT_MSG_GETRULE:
        for (const auto& r : t.rules) out.push_back(detail::asReply(r, req->nlmsg_seq, portid_, true, k_.gen));
        done();
        break;
      case NFT_MSG_GETSETELEM: {
        auto name = detail::elementSetOf(req);
        auto it = t.elements.find(name);
        if (it == t.elements.end()) {
          detail::putAck(out, req, ENOENT, portid_);
          break;
        }
        // 64 elements per reply message, as the kernel splits a large set.
        for (std::size_t from = 0; from < it->second.size(); from += 64) {
          const std::size_t to = std::min(from + 64, it->second.size());
          std::size_t size = 1024;
          for (std::size_t i = from; i < to; ++i) size += it->second[i].attrs.size() + 8;
          Message m(size);
          nlmsghdr* nlh = nftnl_nlmsg_build_hdr(m.data(), NFT_MSG_NEWSETELEM, NFPROTO_INET, NLM_F_MULTI, req->nlmsg_seq);
          mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_TABLE, kTableName);
          mnl_attr_put_strz(nlh, NFTA_SET_ELEM_LIST_SET, name.c_str());
          nlattr* list = mnl_attr_nest_start(nlh, NFTA_SET_ELEM_LIST_ELEMENTS);
          for (std::size_t i = from; i < to; ++i) {
            const auto& x = it->second[i];
            mnl_attr_put(nlh, NFTA_LIST_ELEM | NLA_F_NESTED, x.attrs.size(), x.attrs.data());
          }
          mnl_attr_nest_end(nlh, list);
          nlh->nlmsg_pid = portid_;
          m.resize(nlh->nlmsg_len);
          out.push_back(std::move(m));
        }
        done();
        break;
      }
      default:
        detail::putAck(out, req, EOPNOTSUPP, portid_);
        break;
    }
    queue(out);
  }

  FakeNetfilter& k_;
  std::uint32_t portid_;
  std::deque<Message> queue_;
  bool lost_ = false;
};

// Installs the fake as the firewall's transport for the lifetime of this object.
class FakeNetfilterScope {
 public:
  explicit FakeNetfilterScope(FakeNetfilter& k) {
    setTransportOpenerForTest([&k, port = std::uint32_t{4000}](bool) mutable -> KernelResult<NetlinkTransportPtr> {
      return NetlinkTransportPtr(std::make_unique<FakeTransport>(k, ++port));
    });
  }
  ~FakeNetfilterScope() { setTransportOpenerForTest({}); }
  FakeNetfilterScope(const FakeNetfilterScope&) = delete;
  FakeNetfilterScope& operator=(const FakeNetfilterScope&) = delete;
};

}  // namespace bulwark::firewall::test
