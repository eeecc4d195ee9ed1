#pragma once
// A blocking client of the control socket: one request at a time, replies matched by id;
// events read one by one after subscribe.
#include <chrono>
#include <string>

#include <nlohmann/json.hpp>

#include "bulwark/gateway/protocol.h"
#include "bulwark/gateway/result.h"

namespace bulwark::gateway {

class ControlClient {
 public:
  [[nodiscard]] static Result<ControlClient> connect(const std::string& socketPath);
  ControlClient(ControlClient&& o) noexcept;
  ControlClient& operator=(ControlClient&& o) noexcept;
  ControlClient(const ControlClient&) = delete;
  ControlClient& operator=(const ControlClient&) = delete;
  ~ControlClient();

  // Sends {"id": n, "op": op, ...args} and waits for the reply with that id (events arriving
  // meanwhile are dropped). Transport errors are Errors; a reply with ok=false is a value.
  [[nodiscard]] Result<nlohmann::json> call(std::string_view op, nlohmann::json args = nlohmann::json::object(),
                                            std::chrono::milliseconds timeout = std::chrono::minutes(5));
  // The next message (after an "events" call). Error on EOF or timeout.
  [[nodiscard]] Result<nlohmann::json> readMessage(std::chrono::milliseconds timeout);

 private:
  explicit ControlClient(int fd) : fd_(fd) {}
  int fd_ = -1;
  long nextId_ = 1;
  LineFramer framer_;
};

}  // namespace bulwark::gateway
