#pragma once
// VICI transport: each packet travels in a frame of u32 network-order length (not counting
// itself) + data, at most 512 KiB of data. ViciTransport is the interface the client talks
// to (tests substitute a scripted one); UnixTransport is the real Unix stream socket.
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "bulwark/vpn/vici_error.h"
#include "bulwark/vpn/vici_message.h"

namespace bulwark::vpn {

inline constexpr std::size_t kMaxFrame = 512 * 1024;
inline constexpr std::string_view kDefaultViciUri = "unix:///var/run/charon.vici";

// Frame helpers (pure). frameLength: the data length a 4-byte header announces, or an error
// for 0 (a packet needs its type byte) and for more than kMaxFrame.
[[nodiscard]] ViciResult<std::string> frame(std::string_view packetBytes);
[[nodiscard]] ViciResult<std::size_t> frameLength(const std::uint8_t header[4]);

// "unix:///run/x.vici" or a plain absolute path → the socket path; error otherwise.
[[nodiscard]] ViciResult<std::string> socketPathFromUri(std::string_view uri);

class ViciTransport {
 public:
  virtual ~ViciTransport() = default;
  [[nodiscard]] virtual ViciStatus send(const Packet& packet) = 0;
  // Waits at most timeoutMs (negative: forever). A timeout is a Transport error with
  // sysErrno ETIMEDOUT; EOF is a Transport error with sysErrno 0.
  [[nodiscard]] virtual ViciResult<Packet> receive(int timeoutMs) = 0;
  // A descriptor that becomes readable when receive() has something, or -1.
  [[nodiscard]] virtual int pollFd() const = 0;
};
using ViciTransportPtr = std::unique_ptr<ViciTransport>;

// RAII Unix stream socket. The fd is closed by the destructor; not copyable.
class UnixTransport final : public ViciTransport {
 public:
  [[nodiscard]] static ViciResult<ViciTransportPtr> connect(std::string_view uri, int timeoutMs = 5000);
  // Takes ownership of a connected stream socket (tests use a socketpair); makes it
  // non-blocking, as every wait goes through poll() with a deadline.
  explicit UnixTransport(int fd);
  ~UnixTransport() override;
  UnixTransport(const UnixTransport&) = delete;
  UnixTransport& operator=(const UnixTransport&) = delete;

  [[nodiscard]] ViciStatus send(const Packet& packet) override;
  [[nodiscard]] ViciResult<Packet> receive(int timeoutMs) override;
  [[nodiscard]] int pollFd() const override { return fd_; }

 private:
  [[nodiscard]] ViciStatus readExactly(char* buf, std::size_t n, int timeoutMs, bool& sawEof);
  int fd_ = -1;
};

}  // namespace bulwark::vpn
