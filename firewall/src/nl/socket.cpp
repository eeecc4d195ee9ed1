#include "nl/socket.h"

#include <arpa/inet.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>
#include <poll.h>
#include <sys/socket.h>

#include <cerrno>
#include <cstring>
#include <ctime>

namespace bulwark::firewall::nl {

// ---- Batch ----------------------------------------------------------------------------------
Batch::Batch(std::optional<std::uint32_t> genId)
    : seq_(static_cast<std::uint32_t>(std::time(nullptr))) {
  beginSeq_ = add(256, [&](char* buf, std::uint32_t seq) {
    nlmsghdr* nlh = nftnl_batch_begin(buf, seq);
    if (genId) {
      mnl_attr_put_u32(nlh, NFNL_BATCH_GENID, htonl(*genId));
    }
    return nlh;
  });
}

std::uint32_t Batch::add(std::size_t maxLen,
                         const std::function<nlmsghdr*(char* buf, std::uint32_t seq)>& build) {
  if (buf_.size() < len_ + maxLen) {
    buf_.resize(std::max(buf_.size() * 2, len_ + maxLen));
  }
  std::memset(buf_.data() + len_, 0, maxLen);
  const std::uint32_t seq = seq_++;
  nlmsghdr* nlh = build(buf_.data() + len_, seq);
  if (nlh->nlmsg_len > maxLen) {
    std::abort();  // a builder overran its reservation: a programming error, never input
  }
  len_ += NLMSG_ALIGN(nlh->nlmsg_len);
  ++count_;
  return seq;
}

void Batch::end() {
  endSeq_ = add(256, [](char* buf, std::uint32_t seq) { return nftnl_batch_end(buf, seq); });
}

// ---- Socket ---------------------------------------------------------------------------------
Socket::Socket(std::unique_ptr<mnl_socket, Closer> s)
    : sock_(std::move(s)), portid_(mnl_socket_get_portid(sock_.get())),
      seq_(static_cast<std::uint32_t>(std::time(nullptr)) ^ 0x5a5a0000u) {}

KernelResult<Socket> Socket::open() {
  std::unique_ptr<mnl_socket, Closer> s(mnl_socket_open2(NETLINK_NETFILTER, SOCK_CLOEXEC));
  if (!s) {
    return sysError<KernelError>(errno, "netlink socket");
  }
  if (mnl_socket_bind(s.get(), 0, MNL_SOCKET_AUTOPID) < 0) {
    return sysError<KernelError>(errno, "netlink bind");
  }
  int one = 1;
  // Best effort: error strings and capped acks (the request is not echoed back).
  mnl_socket_setsockopt(s.get(), NETLINK_EXT_ACK, &one, sizeof(one));
  mnl_socket_setsockopt(s.get(), NETLINK_CAP_ACK, &one, sizeof(one));
  return Socket(std::move(s));
}

namespace {

void raiseBuffer(int fd, int force, int plain, std::size_t want) {
  const int v = static_cast<int>(std::min<std::size_t>(want, 1u << 30));
  if (setsockopt(fd, SOL_SOCKET, force, &v, sizeof(v)) != 0) {
    setsockopt(fd, SOL_SOCKET, plain, &v, sizeof(v));  // unprivileged: capped by rmem_max
  }
}

struct AckCtx {
  std::vector<AckError>* errors;
  std::size_t acks = 0;
  bool batchFailed = false;
  std::uint32_t beginSeq = 0;
  std::uint32_t endSeq = 0;
};

int extAckAttr(const nlattr* attr, void* data) {
  auto* msg = static_cast<std::string*>(data);
  if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) >= 0) {
    *msg = mnl_attr_get_str(attr);
  }
  return MNL_CB_OK;
}

int onError(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<AckCtx*>(data);
  if (nlh->nlmsg_len < mnl_nlmsg_size(sizeof(nlmsgerr))) {
    return MNL_CB_OK;
  }
  const auto* err = static_cast<const nlmsgerr*>(mnl_nlmsg_get_payload(nlh));
  ++ctx->acks;
  if (err->error == 0) {
    return MNL_CB_OK;
  }
  AckError a;
  a.seq = err->msg.nlmsg_seq;
  a.err = -err->error;
  if ((nlh->nlmsg_flags & NLM_F_ACK_TLVS) != 0) {
    std::size_t off = sizeof(nlmsgerr);
    if ((nlh->nlmsg_flags & NLM_F_CAPPED) == 0) {
      off += err->msg.nlmsg_len - sizeof(nlmsghdr);
    }
    if (mnl_nlmsg_size(off) <= nlh->nlmsg_len) {
      mnl_attr_parse(nlh, static_cast<unsigned>(off), extAckAttr, &a.extMessage);
    }
  }
  if (a.seq == ctx->beginSeq || a.seq == ctx->endSeq) {
    ctx->batchFailed = true;  // the kernel stops at a batch-level error: no more acks
  }
  ctx->errors->push_back(std::move(a));
  return MNL_CB_OK;
}

int onNoop(const nlmsghdr*, void*) { return MNL_CB_OK; }

}  // namespace

KernelResult<std::vector<AckError>> Socket::talk(const Batch& batch) {
  const int fd = mnl_socket_get_fd(sock_.get());
  raiseBuffer(fd, SO_SNDBUFFORCE, SO_SNDBUF, batch.size() + 65536);
  raiseBuffer(fd, SO_RCVBUFFORCE, SO_RCVBUF, batch.messages() * 1024 + 65536);

  iovec iov{const_cast<char*>(batch.data()), batch.size()};
  sockaddr_nl addr{};
  addr.nl_family = AF_NETLINK;
  msghdr msg{};
  msg.msg_name = &addr;
  msg.msg_namelen = sizeof(addr);
  msg.msg_iov = &iov;
  msg.msg_iovlen = 1;
  if (sendmsg(fd, &msg, 0) < 0) {
    return sysError<KernelError>(errno, "sending the nftables batch (" + std::to_string(batch.size()) + " bytes)");
  }

  std::vector<AckError> errors;
  AckCtx ctx{&errors, 0, false, batch.beginSeq(), batch.endSeq()};
  mnl_cb_t ctl[NLMSG_MIN_TYPE] = {};
  ctl[NLMSG_ERROR] = onError;
  ctl[NLMSG_NOOP] = onNoop;
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
  // The kernel processes the batch inside sendmsg: every ack is queued by now. Still wait
  // (bounded) for the expected count, then drain whatever else is there.
  const std::size_t expected = batch.ackedMessages();
  for (;;) {
    const bool complete = ctx.acks >= expected || ctx.batchFailed;
    pollfd p{fd, POLLIN, 0};
    const int pr = poll(&p, 1, complete ? 0 : 5000);
    if (pr < 0 && errno == EINTR) {
      continue;
    }
    if (pr <= 0) {
      if (!complete) {
        return sysError<KernelError>(ETIMEDOUT, "waiting for nftables acks (" + std::to_string(ctx.acks) +
                                                    "/" + std::to_string(expected) + ")");
      }
      break;
    }
    const ssize_t n = recv(fd, buf.data(), buf.size(), MSG_DONTWAIT);
    if (n < 0) {
      if (errno == EAGAIN || errno == EINTR) {
        continue;
      }
      // ENOBUFS: acks were lost; the outcome of the batch is unknown → re-observe.
      return sysError<KernelError>(errno, "receiving nftables acks");
    }
    const int r = mnl_cb_run2(buf.data(), static_cast<std::size_t>(n), 0, portid_, nullptr, &ctx, ctl,
                              NLMSG_MIN_TYPE);
    if (r < 0 && errno != 0 && errno != ENOENT) {
      // mnl_cb_run2 only fails on malformed/foreign messages here.
      return sysError<KernelError>(errno, "parsing nftables acks");
    }
  }
  return errors;
}

namespace {
struct DumpCtx {
  const Socket::MsgCallback* cb;
};
int onData(const nlmsghdr* nlh, void* data) {
  auto* ctx = static_cast<DumpCtx*>(data);
  return (*ctx->cb)(nlh);
}
}  // namespace

KernelResult<Unit> Socket::request(const std::function<nlmsghdr*(char* buf, std::uint32_t seq)>& build,
                                   const MsgCallback& cb) {
  std::vector<char> out(MNL_SOCKET_BUFFER_SIZE);
  const std::uint32_t seq = ++seq_;
  nlmsghdr* nlh = build(out.data(), seq);
  if (mnl_socket_sendto(sock_.get(), nlh, nlh->nlmsg_len) < 0) {
    return sysError<KernelError>(errno, "netlink request");
  }
  std::vector<char> buf(32768);
  DumpCtx ctx{&cb};
  for (;;) {
    const ssize_t n = mnl_socket_recvfrom(sock_.get(), buf.data(), buf.size());
    if (n < 0) {
      if (errno == EINTR) {
        continue;
      }
      return sysError<KernelError>(errno, "netlink receive");
    }
    const int r = mnl_cb_run(buf.data(), static_cast<std::size_t>(n), seq, portid_, onData, &ctx);
    if (r < 0) {
      return sysError<KernelError>(errno, "netlink request");
    }
    if (r == MNL_CB_STOP) {
      break;
    }
  }
  return Unit{};
}

KernelResult<std::uint32_t> Socket::genId() {
  std::optional<std::uint32_t> gen;
  auto r = request(
      [](char* buf, std::uint32_t seq) {
        return nftnl_nlmsg_build_hdr(buf, NFT_MSG_GETGEN, AF_UNSPEC, NLM_F_ACK, seq);
      },
      [&](const nlmsghdr* nlh) {
        std::unique_ptr<nftnl_gen, void (*)(const nftnl_gen*)> g(nftnl_gen_alloc(), nftnl_gen_free);
        if (g && nftnl_gen_nlmsg_parse(nlh, g.get()) >= 0) {
          gen = nftnl_gen_get_u32(g.get(), NFTNL_GEN_ID);
        }
        return MNL_CB_OK;
      });
  if (!r) {
    return r.error();
  }
  if (!gen) {
    return sysError<KernelError>(EPROTO, "NFT_MSG_GETGEN: no generation in the reply");
  }
  return *gen;
}

}  // namespace bulwark::firewall::nl
