// observe / plan / apply: the kernel-facing half of the link reconciler. The netlink itself is
// in rtnl.cpp; per-link sysctls are /proc/sys writes (in the calling thread's netns).
#include "bulwark/vlan/reconcile.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>

#include "rtnl.h"

namespace bulwark::vlan {
namespace {

// "campus.yaml:18:5: cannot create VLAN 20 on eth1"
std::string blame(const Op& op) {
  std::string who = op.where.line > 0 ? op.where.str()
                                      : "segment '" + op.segment + "' (no longer in the policy)";
  std::string what;
  switch (op.kind) {
    case OpKind::CreateVlan:
      what = "cannot create VLAN " + std::to_string(op.vlanId) + " on " + op.parent;
      break;
    case OpKind::SetMtu:
      what = "cannot set MTU " + std::to_string(op.mtu) + " on " + op.link;
      break;
    case OpKind::SetAlias:
      what = op.alias.empty() ? "cannot clear the Bulwark mark of " + op.link
                              : "cannot mark " + op.link + " as Bulwark's";
      break;
    case OpKind::SetUp:
      what = "cannot bring " + op.link + (op.up ? " up" : " down");
      break;
    case OpKind::AddAddress:
      what = "cannot add address " + op.address.str() + " to " + op.link;
      break;
    case OpKind::RemoveAddress:
      what = "cannot remove address " + op.address.str() + " from " + op.link;
      break;
    case OpKind::SetSysctl:
      what = "cannot set " + op.description().substr(std::strlen("sysctl -w "));
      break;
    case OpKind::DeleteLink:
      what = "cannot delete link " + op.link;
      break;
  }
  return who + ": " + what;
}

Result<Unit> writeSysctl(const Op& op) {
  const std::string path = "/proc/sys/" + op.sysctl;
  const int fd = ::open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) {
    const int err = errno;
    return Error{Error::Code::Io, err, std::strerror(err)};
  }
  const ssize_t n = ::write(fd, op.value.data(), op.value.size());
  const int err = errno;
  ::close(fd);
  if (n != static_cast<ssize_t>(op.value.size())) {
    return Error{Error::Code::Io, n < 0 ? err : EIO, std::strerror(n < 0 ? err : EIO)};
  }
  return Unit{};
}

class Applier {
 public:
  explicit Applier(nl::Rtnl& rtnl) : rtnl_(rtnl) {}

  Result<Unit> run(const Op& op) {
    ++report_.ops;
    if (op.kind == OpKind::SetSysctl) {
      ++report_.sysctls;
      return writeSysctl(op);
    }
    return rtnl_.execute(op, report_.messages);
  }

  [[nodiscard]] const ApplyReport& report() const { return report_; }

 private:
  nl::Rtnl& rtnl_;
  ApplyReport report_;
};

}  // namespace

Result<ObservedState> observe() {
  auto rtnl = nl::Rtnl::open();
  if (!rtnl) {
    return rtnl.error();
  }
  return rtnl->observe();
}

Result<Plan> planLinks(const policies::Policy& policy, std::string_view haNode) {
  Plan plan;
  plan.desired = desiredLinks(policy, haNode);
  if (!plan.desired.problems.empty()) {
    // Do not even look at the kernel: the policy itself is unusable.
    auto r = diff(plan.desired, plan.observed);
    return r.error();
  }
  auto observed = observe();
  if (!observed) {
    return observed.error();
  }
  plan.observed = std::move(*observed);
  auto ops = diff(plan.desired, plan.observed);
  if (!ops) {
    return ops.error();
  }
  plan.ops = std::move(*ops);
  return plan;
}

Result<ApplyReport> applyLinks(const Plan& plan) {
  if (plan.ops.empty()) {
    return ApplyReport{};
  }
  auto rtnl = nl::Rtnl::open();
  if (!rtnl) {
    return rtnl.error();
  }
  // Optimistic lock: the kernel must still be as the plan saw it.
  auto now = rtnl->observe();
  if (!now) {
    return now.error();
  }
  auto fresh = diff(plan.desired, *now);
  if (!fresh) {
    return fresh.error();
  }
  bool same = fresh->size() == plan.ops.size();
  for (std::size_t i = 0; same && i < plan.ops.size(); ++i) {
    same = (*fresh)[i].description() == plan.ops[i].description();
  }
  if (!same) {
    return Error{Error::Code::Stale, 0,
                 "the interfaces changed since the plan was made (" + std::to_string(plan.ops.size()) +
                     " planned operations, " + std::to_string(fresh->size()) + " needed now): plan again"};
  }

  Applier applier(*rtnl);
  for (std::size_t i = 0; i < plan.ops.size(); ++i) {
    const Op& op = plan.ops[i];
    auto r = applier.run(op);
    if (r) {
      continue;
    }
    Error e = r.error();
    e.message = blame(op) + ": " + e.message;
    // Undo what this run did, newest first.
    std::string leftovers;
    for (std::size_t j = i; j-- > 0;) {
      for (const Op& u : plan.ops[j].undo) {
        if (auto ur = applier.run(u); !ur) {
          leftovers += "\n  could not undo '" + plan.ops[j].description() + "' (" + u.description() +
                       ": " + ur.error().message + ")";
        }
      }
    }
    if (!leftovers.empty()) {
      e.message += "\nrolling back failed; left behind:" + leftovers;
    } else if (i > 0) {
      e.message += "\n(rolled back the " + std::to_string(i) + " operation" + (i == 1 ? "" : "s") +
                   " already applied; nothing changed)";
    }
    return e;
  }
  return applier.report();
}

}  // namespace bulwark::vlan
