#pragma once
// A scripted ViciTransport for unit tests: records what the client sends, answers from a
// queue (or with a function), reports EOF when the queue is empty.
#include <cerrno>
#include <deque>
#include <functional>
#include <string>
#include <vector>

#include "bulwark/vpn/vici_transport.h"

namespace bulwark::vpn::testing {

class FakeTransport final : public ViciTransport {
 public:
  // When set, called for each sent packet; may push replies.
  std::function<void(const Packet&, std::deque<Packet>&)> onSend;
  std::vector<Packet>* sentLog = nullptr;     // not owned
  std::deque<Packet>* replies = nullptr;      // not owned
  std::vector<int>* waits = nullptr;          // not owned: each receive()'s timeout

  ViciStatus send(const Packet& p) override {
    // Sent packets must encode (the real transport would refuse otherwise).
    auto bytes = encodePacket(p);
    if (!bytes) {
      return bytes.error();
    }
    if (sentLog) {
      sentLog->push_back(p);
    }
    if (onSend && replies) {
      onSend(p, *replies);
    }
    return viciOk();
  }
  ViciResult<Packet> receive(int timeoutMs) override {
    if (waits) {
      waits->push_back(timeoutMs);
    }
    if (!replies || replies->empty()) {
      return ViciError{ViciErrorKind::Transport, "vici: connection closed by charon", 0, {}};
    }
    Packet p = std::move(replies->front());
    replies->pop_front();
    return p;
  }
  int pollFd() const override { return -1; }
};

inline Packet response(Message m = {}) { return Packet{PacketType::CmdResponse, {}, std::move(m)}; }
inline Packet event(std::string name, Message m = {}) { return Packet{PacketType::Event, std::move(name), std::move(m)}; }
inline Packet confirm() { return Packet{PacketType::EventConfirm, {}, {}}; }
inline Message success() {
  Message m;
  m.add("success", "yes");
  return m;
}
inline Message failure(std::string errmsg) {
  Message m;
  m.add("success", "no");
  m.add("errmsg", std::move(errmsg));
  return m;
}

}  // namespace bulwark::vpn::testing
