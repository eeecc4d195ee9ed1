#include "nl/socket.h"

#include <arpa/inet.h>
#include <libnftnl/batch.h>
#include <libnftnl/common.h>
#include <libnftnl/gen.h>
#include <linux/netfilter/nf_tables.h>
#include <linux/netfilter/nfnetlink.h>
#include <linux/netlink.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <ctime>

namespace bulwark::firewall::nl {

std::uint32_t nextSeq() {
  // Starts at the clock so that a restarted process does not reuse its predecessor's seqs
  // on a socket the kernel may still hold replies for (it does not: ports are per socket).
  static std::atomic<std::uint32_t> seq{static_cast<std::uint32_t>(std::time(nullptr))};
  return seq.fetch_add(1, std::memory_order_relaxed);
}

// ---- Batch ----------------------------------------------------------------------------------
Batch::Batch(std::optional<std::uint32_t> genId) {
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
  const std::uint32_t seq = nextSeq();
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
KernelResult<Socket> Socket::open(bool nonBlocking) {
  auto t = openTransport(nonBlocking);
  if (!t) {
    return t.error();
  }
  return Socket(std::move(t.value()));
}

namespace {

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
  t_->reserve(batch.size() + 65536, batch.messages() * 1024 + 65536);
  if (auto sent = t_->send(batch.data(), batch.size()); !sent) {
    KernelError e = sent.error();
    e.message = "sending the nftables batch: " + e.message;
    return e;
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
    auto n = t_->receive(buf.data(), buf.size(), complete ? 0 : 5000);
    if (!n) {
      // ENOBUFS: acks were lost; the outcome of the batch is unknown → re-observe.
      KernelError e = n.error();
      e.message = "receiving nftables acks: " + e.message;
      return e;
    }
    if (*n == 0) {
      if (!complete) {
        return sysError<KernelError>(ETIMEDOUT, "waiting for nftables acks (" + std::to_string(ctx.acks) +
                                                    "/" + std::to_string(expected) + ")");
      }
      break;
    }
    errno = 0;
    const int r = mnl_cb_run2(buf.data(), *n, 0, t_->portId(), nullptr, &ctx, ctl, NLMSG_MIN_TYPE);
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
  const std::uint32_t seq = nextSeq();
  nlmsghdr* nlh = build(out.data(), seq);
  if (auto sent = t_->send(out.data(), nlh->nlmsg_len); !sent) {
    return sent.error();
  }
  std::vector<char> buf(32768);
  DumpCtx ctx{&cb};
  for (;;) {
    auto n = t_->receive(buf.data(), buf.size(), -1);
    if (!n) {
      return n.error();
    }
    errno = 0;
    const int r = mnl_cb_run(buf.data(), *n, seq, t_->portId(), onData, &ctx);
    if (r < 0) {
      return sysError<KernelError>(errno == 0 ? EPROTO : errno, "netlink request");
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

KernelResult<Unit> Socket::subscribe(unsigned group, std::size_t receiveBuffer) {
  t_->reserve(0, receiveBuffer);
  return t_->subscribe(group);
}

bool Socket::drain(const std::function<void(const nlmsghdr*)>& cb) {
  std::vector<char> buf(MNL_SOCKET_BUFFER_SIZE * 4);
  bool lost = false;
  for (;;) {
    auto n = t_->receive(buf.data(), buf.size(), 0);
    if (!n) {
      if (n.error().sysErrno == ENOBUFS) {
        lost = true;  // the socket overran: notifications were dropped
        continue;
      }
      break;
    }
    if (*n == 0) {
      break;  // drained
    }
    int len = static_cast<int>(*n);
    for (auto* nlh = reinterpret_cast<const nlmsghdr*>(buf.data()); mnl_nlmsg_ok(nlh, len);
         nlh = mnl_nlmsg_next(nlh, &len)) {
      cb(nlh);
    }
  }
  return lost;
}

}  // namespace bulwark::firewall::nl
