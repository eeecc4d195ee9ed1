// Request/response, streamed listings and event registration over one VICI connection.
#include "bulwark/vpn/vici_client.h"

#include <cerrno>
#include <utility>

namespace bulwark::vpn {

namespace {

ViciError withCommand(ViciError e, std::string_view command) {
  if (e.command.empty()) {
    e.command = std::string(command);
    e.message = std::string(command) + ": " + e.message;
  }
  return e;
}

}  // namespace

ViciClient::ViciClient(ViciTransportPtr&& transport, ClientOptions options)
    : transport_(std::move(transport)), options_(options) {}

ViciResult<ViciClientPtr> ViciClient::connect(std::string_view uri, ClientOptions options) {
  auto t = UnixTransport::connect(uri);
  if (!t) {
    return t.error();
  }
  return std::make_unique<ViciClient>(std::move(*t), options);
}

ViciResult<Message> ViciClient::awaitResponse(std::string_view command, std::string_view event,
                                              const EventHandler* onEvent, int timeoutMs) {
  for (;;) {
    auto p = transport_->receive(timeout(timeoutMs));
    if (!p) {
      return withCommand(p.error(), command);
    }
    switch (p->type) {
      case PacketType::CmdResponse:
        return std::move(p->message);
      case PacketType::CmdUnknown:
        return ViciError{ViciErrorKind::Unknown, std::string(command) + ": charon does not know this command", 0,
                         std::string(command)};
      case PacketType::Event:
        if (onEvent && p->name == event) {
          (*onEvent)(p->message);
        }
        continue;  // events of other kinds may interleave; they are not ours here
      default:
        return ViciError{ViciErrorKind::Malformed,
                         std::string(command) + ": unexpected " + packetTypeName(p->type) + " while waiting for the response",
                         0, std::string(command)};
    }
  }
}

ViciResult<Message> ViciClient::call(std::string_view command, const Message& request, int timeoutMs) {
  Packet req{PacketType::CmdRequest, std::string(command), request};
  auto st = transport_->send(req);
  if (!st) {
    return withCommand(st.error(), command);
  }
  return awaitResponse(command, {}, nullptr, timeoutMs);
}

ViciResult<Message> ViciClient::stream(std::string_view command, std::string_view event, const Message& request,
                                       const EventHandler& onEvent, int timeoutMs) {
  auto reg = registerEvent(event);
  if (!reg) {
    return withCommand(reg.error(), command);
  }
  Packet req{PacketType::CmdRequest, std::string(command), request};
  auto st = transport_->send(req);
  if (!st) {
    return withCommand(st.error(), command);
  }
  auto reply = awaitResponse(command, event, &onEvent, timeoutMs);
  if (!reply) {
    return reply;  // the connection is unusable or charon refused; no unregister attempt
  }
  auto unreg = unregisterEvent(event);
  if (!unreg) {
    return withCommand(unreg.error(), command);
  }
  return reply;
}

ViciStatus ViciClient::eventControl(PacketType type, std::string_view event) {
  Packet req{type, std::string(event), {}};
  auto st = transport_->send(req);
  if (!st) {
    return withCommand(st.error(), event);
  }
  for (;;) {
    auto p = transport_->receive(options_.timeoutMs);
    if (!p) {
      return withCommand(p.error(), event);
    }
    if (p->type == PacketType::EventConfirm) {
      return viciOk();
    }
    if (p->type == PacketType::EventUnknown) {
      return ViciError{ViciErrorKind::Unknown, std::string(event) + ": charon does not know this event", 0,
                       std::string(event)};
    }
    if (p->type == PacketType::Event) {
      continue;  // an event already registered may arrive before the confirmation
    }
    return ViciError{ViciErrorKind::Malformed,
                     std::string(event) + ": unexpected " + packetTypeName(p->type) + " after event (un)registration",
                     0, std::string(event)};
  }
}

ViciStatus ViciClient::registerEvent(std::string_view event) { return eventControl(PacketType::EventRegister, event); }

ViciStatus ViciClient::unregisterEvent(std::string_view event) {
  return eventControl(PacketType::EventUnregister, event);
}

ViciResult<Packet> ViciClient::nextEvent(int timeoutMs) {
  for (;;) {
    auto p = transport_->receive(timeoutMs);
    if (!p) {
      return p;
    }
    if (p->type == PacketType::Event) {
      return p;
    }
    return ViciError{ViciErrorKind::Malformed,
                     std::string("vici: unexpected ") + packetTypeName(p->type) + " on an event connection", 0, {}};
  }
}

ViciStatus checkSuccess(const Message& reply, std::string_view command) {
  if (reply.get("success", "no") == "yes") {
    return viciOk();
  }
  std::string errmsg = reply.get("errmsg");
  return ViciError{ViciErrorKind::Command,
                   std::string(command) + " failed" + (errmsg.empty() ? std::string() : ": " + errmsg), 0,
                   std::string(command)};
}

ViciResult<std::unique_ptr<ViciEventStream>> ViciEventStream::open(std::string_view uri,
                                                                  const std::vector<std::string>& events) {
  auto c = ViciClient::connect(uri);
  if (!c) {
    return c.error();
  }
  for (const auto& e : events) {
    auto st = (*c)->registerEvent(e);
    if (!st) {
      return st.error();
    }
  }
  return std::make_unique<ViciEventStream>(std::move(*c));
}

ViciResult<ViciEvent> ViciEventStream::next(int timeoutMs) {
  auto p = client_->nextEvent(timeoutMs);
  if (!p) {
    return p.error();
  }
  return ViciEvent{std::move(p->name), std::move(p->message)};
}

}  // namespace bulwark::vpn
