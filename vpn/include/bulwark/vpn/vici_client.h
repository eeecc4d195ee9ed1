#pragma once
// A VICI session over one connection: one command in flight at a time (the protocol has no
// request ids). Replies are returned as they are; checkSuccess() turns `success = no` into a
// Command error, keeping it apart from transport failures.
//
//   auto c = ViciClient::connect("unix:///run/charon.vici");
//   auto v = c->call("version");
//   auto sas = c->stream("list-sas", "list-sa", {}, [](const Message& m) { ... });
//
// Events: ViciEventStream is a SEPARATE long-lived connection registered for events such as
// ike-updown and child-updown; poll its fd() or call next(timeout).
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "bulwark/vpn/vici_error.h"
#include "bulwark/vpn/vici_message.h"
#include "bulwark/vpn/vici_transport.h"

namespace bulwark::vpn {

struct ClientOptions {
  int timeoutMs = 30000;  // per reply (initiate/terminate pass their own, longer, wait)
};

class ViciClient;
using ViciClientPtr = std::unique_ptr<ViciClient>;

class ViciClient {
 public:
  explicit ViciClient(ViciTransportPtr&& transport, ClientOptions options = {});

  [[nodiscard]] static ViciResult<ViciClientPtr> connect(std::string_view uri, ClientOptions options = {});

  // CMD_REQUEST → CMD_RESPONSE. CMD_UNKNOWN → Unknown error. Stray events are skipped.
  [[nodiscard]] ViciResult<Message> call(std::string_view command, const Message& request = {},
                                         int timeoutMs = 0);
  // Streamed listing: register `event`, send `command`, hand every `event` packet to
  // onEvent until the CMD_RESPONSE arrives, unregister. Returns the final response.
  using EventHandler = std::function<void(const Message&)>;
  [[nodiscard]] ViciResult<Message> stream(std::string_view command, std::string_view event,
                                           const Message& request, const EventHandler& onEvent,
                                           int timeoutMs = 0);

  [[nodiscard]] ViciStatus registerEvent(std::string_view event);
  [[nodiscard]] ViciStatus unregisterEvent(std::string_view event);
  // The next EVENT packet (name + message); Transport error on EOF/timeout.
  [[nodiscard]] ViciResult<Packet> nextEvent(int timeoutMs);

  [[nodiscard]] int pollFd() const { return transport_->pollFd(); }
  [[nodiscard]] ViciTransport& transportForTest() { return *transport_; }

 private:
  [[nodiscard]] ViciStatus eventControl(PacketType type, std::string_view event);
  [[nodiscard]] ViciResult<Message> awaitResponse(std::string_view command, std::string_view event,
                                                  const EventHandler* onEvent, int timeoutMs);
  int timeout(int overrideMs) const { return overrideMs != 0 ? overrideMs : options_.timeoutMs; }

  ViciTransportPtr transport_;
  ClientOptions options_;
};

// `success = yes` or a Command error carrying errmsg. A missing `success` is a failure
// (as in swanctl: vici_find_str(res, "no", "success")).
[[nodiscard]] ViciStatus checkSuccess(const Message& reply, std::string_view command);

// A separate connection subscribed to events.
struct ViciEvent {
  std::string name;
  Message message;
};

class ViciEventStream {
 public:
  [[nodiscard]] static ViciResult<std::unique_ptr<ViciEventStream>> open(std::string_view uri,
                                                                        const std::vector<std::string>& events);
  explicit ViciEventStream(ViciClientPtr&& client) : client_(std::move(client)) {}
  // Readable when an event (or EOF) is waiting.
  [[nodiscard]] int fd() const { return client_->pollFd(); }
  // Waits up to timeoutMs; Transport error with sysErrno ETIMEDOUT when nothing came,
  // sysErrno 0 when charon closed the connection (it stopped or restarted).
  [[nodiscard]] ViciResult<ViciEvent> next(int timeoutMs);

 private:
  ViciClientPtr client_;
};

}  // namespace bulwark::vpn
