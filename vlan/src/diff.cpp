// desired × observed → ordered operations, each with its undo. Everything that can be checked
// without writing is checked here, so a plan with a conflict never starts writing.
#include <algorithm>
#include <map>
#include <set>
#include <unordered_map>

#include "bulwark/vlan/links.h"

namespace bulwark::vlan {
namespace {

constexpr std::uint16_t kEthP8021Q = 0x8100;

std::string at(const policies::Location& where) { return where.line > 0 ? where.str() + ": " : ""; }

Op baseOp(OpKind kind, const std::string& link, const std::string& segment, const policies::Location& where) {
  Op op;
  op.kind = kind;
  op.link = link;
  op.segment = segment;
  op.where = where;
  return op;
}

class Differ {
 public:
  Differ(const LinkSet& desired, const ObservedState& observed) : d_(desired), o_(observed) {
    v6Available_ = std::any_of(o_.conf.begin(), o_.conf.end(),
                               [](const auto& c) { return c.second.ipv6Forwarding >= 0; });
    // Indexes: the no-op reconcile of hundreds of links must stay well under a millisecond here.
    for (const auto& l : o_.links) {
      byName_.emplace(l.name, &l);
      byIndex_.emplace(l.index, &l);
      if (l.kind == "vlan" && l.vlanId) {
        byVlan_.emplace(std::pair{l.parentIndex, *l.vlanId}, &l);
      }
    }
    for (const auto& [index, c] : o_.conf) {
      conf_.emplace(index, c);
    }
  }

  Result<std::vector<Op>> run() {
    if (!d_.problems.empty()) {
      return fail(Error::Code::InvalidPolicy, d_.problems);
    }
    checkTrunk();
    for (const auto& l : d_.links) {
      names_.insert(l.name);
    }
    for (const auto& l : d_.links) {
      if (l.kind == LinkKind::Vlan) {
        vlanLink(l);
      } else {
        plainLink(l);
      }
    }
    removedSegments();
    if (!errors_.empty()) {
      return fail(code_, errors_);
    }
    return std::move(ops_);
  }

 private:
  Error fail(Error::Code code, const std::vector<std::string>& lines) {
    Error e;
    e.code = code;
    for (const auto& l : lines) {
      e.message += (e.message.empty() ? "" : "\n") + l;
    }
    return e;
  }

  void error(Error::Code code, std::string line) {
    if (errors_.empty()) {
      code_ = code;
    }
    errors_.push_back(std::move(line));
  }

  void checkTrunk() {
    auto first = std::find_if(d_.links.begin(), d_.links.end(),
                              [](const DesiredLink& l) { return l.kind == LinkKind::Vlan; });
    if (first == d_.links.end()) {
      return;
    }
    trunk_ = find(d_.trunk);
    if (trunk_ == nullptr) {
      error(Error::Code::Missing, at(first->where) + "cannot create VLAN " + std::to_string(first->vlanId) +
                                      " on " + d_.trunk + ": trunk interface " + d_.trunk +
                                      " does not exist");
    }
  }

  // ---- VLAN sub-interfaces (created and owned by Bulwark) ----------------------------------
  void vlanLink(const DesiredLink& l) {
    if (trunk_ == nullptr) {
      return;  // reported once by checkTrunk
    }
    const std::string what = "cannot create VLAN " + std::to_string(l.vlanId) + " on " + l.parent;
    if (l.mtu > trunk_->mtu) {
      error(Error::Code::InvalidPolicy, at(l.where) + what + ": MTU " + std::to_string(l.mtu) + " of segment '" +
                                            l.segment + "' exceeds the MTU " + std::to_string(trunk_->mtu) +
                                            " of trunk " + l.parent + " (raise the trunk's MTU first)");
      return;
    }
    // The same VLAN id on the trunk under another name: the kernel would refuse (EEXIST).
    if (auto it = byVlan_.find(std::pair{trunk_->index, l.vlanId}); it != byVlan_.end() && it->second->name != l.name) {
      const ObservedLink& o = *it->second;
      auto m = parseMark(o.alias);
      error(Error::Code::Conflict, at(l.where) + what + ": link " + o.name + " already carries VLAN " +
                                       std::to_string(l.vlanId) + " on " + l.parent +
                                       (m ? " (marked for segment '" + m->segment + "')" : " (not Bulwark's)"));
      return;
    }
    const std::string mark = formatMark(Mark{l.segment, false, {}});
    const ObservedLink* o = find(l.name);
    if (o != nullptr) {
      auto m = parseMark(o->alias);
      if (!m || m->adopted) {
        error(Error::Code::Conflict,
              at(l.where) + what + ": a link named " + l.name + " already exists and is not Bulwark's" +
                  (o->alias.empty() ? "" : " (alias '" + o->alias + "')") +
                  "; Bulwark does not take over links it did not create: remove or rename it");
        return;
      }
      const bool shapeOk = o->kind == "vlan" && o->parentIndex == trunk_->index && o->vlanId == l.vlanId &&
                           (o->vlanProtocol == 0 || o->vlanProtocol == kEthP8021Q);
      if (!shapeOk) {
        // Ours, but not what the policy says (drift): recreate it.
        ops_.push_back(deleteOp(*o, l.segment, l.where));
        o = nullptr;
      }
    }
    if (o == nullptr) {
      Op create = baseOp(OpKind::CreateVlan, l.name, l.segment, l.where);
      create.parent = l.parent;
      create.vlanId = l.vlanId;
      create.mtu = l.mtu;
      create.alias = mark;
      create.undo.push_back(baseOp(OpKind::DeleteLink, l.name, l.segment, l.where));
      ops_.push_back(std::move(create));
      setUp(l, false);
      addresses(l, {}, {}, true);
      sysctls(l, nullptr);
      return;
    }
    if (o->mtu != l.mtu) {
      setMtu(l, o->mtu);
    }
    if (o->alias != mark) {
      setAlias(l, mark, o->alias);  // the segment was renamed
    }
    if (!o->up) {
      setUp(l, true);
    }
    addresses(l, o->addresses, {}, true);
    sysctls(l, o);
  }

  // ---- plain interfaces (adopted: configured, never created or deleted) --------------------
  void plainLink(const DesiredLink& l) {
    const ObservedLink* o = find(l.name);
    const std::string what = "cannot configure interface " + l.name + " of segment '" + l.segment + "'";
    if (o == nullptr) {
      error(Error::Code::Missing, at(l.where) + what + ": it does not exist");
      return;
    }
    auto m = parseMark(o->alias);
    if (!o->alias.empty() && !m) {
      error(Error::Code::Conflict, at(l.where) + what + ": it is marked '" + o->alias +
                                       "' by someone else; Bulwark does not take it over "
                                       "(clear its alias to hand it to Bulwark)");
      return;
    }
    if (o->mtu != l.mtu) {
      setMtu(l, o->mtu);
    }
    if (!o->up) {
      setUp(l, true);
    }
    // Addresses Bulwark may take away: those it recorded (adopted), or all but link-local on
    // a link it created itself.
    std::vector<Address> mine;
    bool all = false;
    if (m && m->adopted) {
      mine = m->recorded;
    } else if (m) {
      all = true;
    }
    const std::string mark = formatMark(Mark{l.segment, true, l.addresses});
    addresses(l, o->addresses, mine, all, [&] {
      if (o->alias != mark) {
        setAlias(l, mark, o->alias);
      }
    });
    sysctls(l, o);
  }

  // ---- segments no longer in the policy ----------------------------------------------------
  void removedSegments() {
    for (const auto& o : o_.links) {
      if (names_.count(o.name) != 0) {
        continue;
      }
      auto m = parseMark(o.alias);
      if (!m) {
        continue;
      }
      if (m->adopted) {
        for (const auto& a : m->recorded) {
          if (std::find(o.addresses.begin(), o.addresses.end(), a) != o.addresses.end()) {
            Op rm = baseOp(OpKind::RemoveAddress, o.name, m->segment, {});
            rm.address = a;
            Op add = baseOp(OpKind::AddAddress, o.name, m->segment, {});
            add.address = a;
            rm.undo.push_back(std::move(add));
            ops_.push_back(std::move(rm));
          }
        }
        Op clear = baseOp(OpKind::SetAlias, o.name, m->segment, {});
        Op back = clear;
        back.alias = o.alias;
        clear.undo.push_back(std::move(back));
        ops_.push_back(std::move(clear));
      } else if (o.kind == "vlan") {
        ops_.push_back(deleteOp(o, m->segment, {}));
      }
      // A non-VLAN link marked as created by Bulwark was not created by Bulwark: leave it.
    }
  }

  // ---- op builders -------------------------------------------------------------------------
  Op deleteOp(const ObservedLink& o, const std::string& segment, const policies::Location& where) {
    Op del = baseOp(OpKind::DeleteLink, o.name, segment, where);
    // Undo: recreate it as it was (sysctls come back as the namespace's defaults).
    auto pit = byIndex_.find(o.parentIndex);
    const ObservedLink* parent = pit == byIndex_.end() ? nullptr : pit->second;
    if (parent != nullptr && o.vlanId) {
      Op create = baseOp(OpKind::CreateVlan, o.name, segment, where);
      create.parent = parent->name;
      create.vlanId = *o.vlanId;
      create.mtu = o.mtu;
      create.alias = o.alias;
      del.undo.push_back(std::move(create));
      if (o.up) {
        del.undo.push_back(baseOp(OpKind::SetUp, o.name, segment, where));
      }
      for (const auto& a : o.addresses) {
        if (!a.linkLocalV6()) {
          Op add = baseOp(OpKind::AddAddress, o.name, segment, where);
          add.address = a;
          del.undo.push_back(std::move(add));
        }
      }
    }
    return del;
  }

  void setMtu(const DesiredLink& l, std::uint32_t old) {
    Op op = baseOp(OpKind::SetMtu, l.name, l.segment, l.where);
    op.mtu = l.mtu;
    Op back = op;
    back.mtu = old;
    op.undo.push_back(std::move(back));
    ops_.push_back(std::move(op));
  }

  void setAlias(const DesiredLink& l, const std::string& alias, const std::string& old) {
    Op op = baseOp(OpKind::SetAlias, l.name, l.segment, l.where);
    op.alias = alias;
    Op back = op;
    back.alias = old;
    op.undo.push_back(std::move(back));
    ops_.push_back(std::move(op));
  }

  void setUp(const DesiredLink& l, bool undoable) {
    Op op = baseOp(OpKind::SetUp, l.name, l.segment, l.where);
    if (undoable) {
      Op back = op;
      back.up = false;
      op.undo.push_back(std::move(back));
    }
    ops_.push_back(std::move(op));
  }

  // `kind` (AddAddress or RemoveAddress) of `a` on `l`, undone by the other one.
  void addressOp(const DesiredLink& l, const Address& a, OpKind kind, OpKind undoKind) {
    Op op = baseOp(kind, l.name, l.segment, l.where);
    op.address = a;
    Op back = op;
    back.kind = undoKind;
    op.undo.push_back(std::move(back));
    ops_.push_back(std::move(op));
  }

  // Removals of `mine` (or all non-link-local when `all`) not desired, then `between`, then
  // additions of desired addresses not present.
  template <typename Between = void (*)()>
  void addresses(const DesiredLink& l, const std::vector<Address>& present, const std::vector<Address>& mine,
                 bool all, Between between = [] {}) {
    auto wanted = [&](const Address& a) {
      return std::find(l.addresses.begin(), l.addresses.end(), a) != l.addresses.end();
    };
    auto keepalived = [&](const Address& a) {  // a pair's floating address: never Bulwark's to remove
      return std::find(l.tolerated.begin(), l.tolerated.end(), a) != l.tolerated.end();
    };
    for (const auto& a : present) {
      const bool ours = all ? !a.linkLocalV6() : std::find(mine.begin(), mine.end(), a) != mine.end();
      if (ours && !wanted(a) && !keepalived(a)) {
        addressOp(l, a, OpKind::RemoveAddress, OpKind::AddAddress);
      }
    }
    between();
    for (const auto& a : l.addresses) {
      if (std::find(present.begin(), present.end(), a) == present.end()) {
        addressOp(l, a, OpKind::AddAddress, OpKind::RemoveAddress);
      }
    }
  }

  // `o` null: the link is being created (its sysctls start as the namespace defaults, and
  // deleting it on undo takes them along).
  void sysctls(const DesiredLink& l, const ObservedLink* o) {
    LinkConf c;
    if (o != nullptr) {
      if (auto it = conf_.find(o->index); it != conf_.end()) {
        c = it->second;
      }
    }
    for (const auto& [path, value] : linkSysctls(l)) {
      int current = -1;
      const bool v6 = path.rfind("net/ipv6/", 0) == 0;
      if (v6 && !v6Available_) {
        continue;  // IPv6 disabled in this namespace: no such file
      }
      if (o != nullptr) {
        current = v6 ? c.ipv6Forwarding : path.ends_with("rp_filter") ? c.rpFilter : c.ipv4Forwarding;
        if (current < 0 || std::to_string(current) == value) {
          continue;  // not reported (no IPv4/IPv6 on it) or already right
        }
      }
      Op op = baseOp(OpKind::SetSysctl, l.name, l.segment, l.where);
      op.sysctl = path;
      op.value = value;
      if (o != nullptr) {
        Op back = op;
        back.value = std::to_string(current);
        op.undo.push_back(std::move(back));
      }
      ops_.push_back(std::move(op));
    }
  }

  const ObservedLink* find(const std::string& name) const {
    auto it = byName_.find(name);
    return it == byName_.end() ? nullptr : it->second;
  }

  const LinkSet& d_;
  const ObservedState& o_;
  std::unordered_map<std::string_view, const ObservedLink*> byName_;
  std::unordered_map<int, const ObservedLink*> byIndex_;
  std::map<std::pair<int, std::uint16_t>, const ObservedLink*> byVlan_;
  std::unordered_map<int, LinkConf> conf_;
  const ObservedLink* trunk_ = nullptr;
  bool v6Available_ = false;
  std::set<std::string> names_;
  std::vector<Op> ops_;
  std::vector<std::string> errors_;
  Error::Code code_ = Error::Code::Conflict;
};

}  // namespace

Result<std::vector<Op>> diff(const LinkSet& desired, const ObservedState& observed) {
  return Differ(desired, observed).run();
}

}  // namespace bulwark::vlan
