#pragma once
// All raw netlink of the firewall: one NETLINK_NETFILTER transport (transport.h; libmnl for
// the kernel), batches (NFNL_MSG_BATCH_BEGIN … END, one sendmsg, every ack drained), dumps,
// and the notifications of a subscribed socket. Every message of the process has its own seq.
#include <libmnl/libmnl.h>

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "bulwark/firewall/kernel_error.h"
#include "bulwark/firewall/transport.h"

struct nlmsghdr;

namespace bulwark::firewall::nl {

// The next netlink sequence number of this process (batch messages and requests alike).
[[nodiscard]] std::uint32_t nextSeq();

// A transport from the opener (transport.h): the kernel's NETLINK_NETFILTER socket unless a
// test installed another.
[[nodiscard]] KernelResult<NetlinkTransportPtr> openTransport(bool nonBlocking);

// A batch under construction: a growable buffer of netlink messages with unique seqs.
class Batch {
 public:
  explicit Batch(std::optional<std::uint32_t> genId = std::nullopt);
  // Append one message; `build(buf)` writes it at buf (≤ maxLen bytes) and returns its
  // nlmsghdr. Returns the message's seq.
  std::uint32_t add(std::size_t maxLen, const std::function<nlmsghdr*(char* buf, std::uint32_t seq)>& build);
  void end();
  [[nodiscard]] const char* data() const { return buf_.data(); }
  [[nodiscard]] std::size_t size() const { return len_; }
  [[nodiscard]] std::size_t messages() const { return count_; }
  [[nodiscard]] std::uint32_t beginSeq() const { return beginSeq_; }
  [[nodiscard]] std::uint32_t endSeq() const { return endSeq_; }
  [[nodiscard]] std::size_t ackedMessages() const { return count_ >= 2 ? count_ - 2 : 0; }

 private:
  std::vector<char> buf_;
  std::size_t len_ = 0;
  std::size_t count_ = 0;
  std::uint32_t beginSeq_ = 0;
  std::uint32_t endSeq_ = 0;
};

// One NLMSG_ERROR with a non-zero error.
struct AckError {
  std::uint32_t seq = 0;
  int err = 0;             // positive errno
  std::string extMessage;  // NLMSGERR_ATTR_MSG, if the kernel sent one
};

class Socket {
 public:
  static KernelResult<Socket> open(bool nonBlocking = false);
  explicit Socket(NetlinkTransportPtr transport) : t_(std::move(transport)) {}

  // Send the whole batch with one sendmsg, then drain every ack. Returns the failures
  // (empty = committed).
  KernelResult<std::vector<AckError>> talk(const Batch& batch);

  // A request (dump or get); `cb` gets every reply message. ENOENT etc. come back as errors
  // with sysErrno set.
  using MsgCallback = std::function<int(const nlmsghdr*)>;
  KernelResult<Unit> request(const std::function<nlmsghdr*(char* buf, std::uint32_t seq)>& build,
                             const MsgCallback& cb);

  // NFT_MSG_GETGEN.
  KernelResult<std::uint32_t> genId();

  // Notifications (a socket opened non-blocking and subscribed): every queued message to
  // `cb`, without waiting. Returns true when some were lost meanwhile (ENOBUFS).
  KernelResult<Unit> subscribe(unsigned group, std::size_t receiveBuffer);
  bool drain(const std::function<void(const nlmsghdr*)>& cb);
  [[nodiscard]] int fd() const { return t_->fd(); }

 private:
  NetlinkTransportPtr t_;
};

}  // namespace bulwark::firewall::nl
