// bulwarkd's charon event stream (VpnEvents) against a stand-in charon on a Unix socket: the
// registrations are confirmed, then the stand-in goes away as a killed charon does. The loss
// must be reported at once (bulwarkd re-checks the VPN kind then, so status says vpn error
// within a second instead of at the next periodic drift check, 30 s later by default).
#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <string>
#include <thread>

#include "bulwark/base/unique_fd.h"
#include "event_loop.h"
#include "vpn_tunnels.h"

namespace bulwark::daemon {
namespace {

// Reads exactly n bytes; false on EOF or an error.
bool readAll(int fd, char* out, std::size_t n) {
  while (n > 0) {
    auto got = ::read(fd, out, n);
    if (got <= 0) return false;
    out += got;
    n -= static_cast<std::size_t>(got);
  }
  return true;
}

// A charon that confirms `registrations` event registrations on its first connection, then
// closes it and its listening socket (the process died: nothing answers any more).
class StandInCharon {
 public:
  StandInCharon(const std::filesystem::path& path, int registrations) : path_(path) {
    listener_ = UniqueFd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0));
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    path.string().copy(addr.sun_path, sizeof addr.sun_path - 1);
    bound_ = listener_.valid() && ::bind(listener_.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) == 0 &&
             ::listen(listener_.get(), 4) == 0;
    if (bound_) thread_ = std::thread([this, registrations] { serve(registrations); });
  }
  ~StandInCharon() {
    if (thread_.joinable()) thread_.join();
    std::filesystem::remove(path_);
  }
  StandInCharon(const StandInCharon&) = delete;
  StandInCharon& operator=(const StandInCharon&) = delete;

  [[nodiscard]] bool bound() const { return bound_; }
  [[nodiscard]] int confirmed() const { return confirmed_; }

 private:
  void serve(int registrations) {
    UniqueFd conn(::accept4(listener_.get(), nullptr, nullptr, SOCK_CLOEXEC));
    for (int i = 0; conn.valid() && i < registrations; ++i) {
      unsigned char len[4];
      if (!readAll(conn.get(), reinterpret_cast<char*>(len), 4)) return;
      std::string packet(static_cast<std::size_t>(len[0]) << 24 | len[1] << 16 | len[2] << 8 | len[3], '\0');
      if (!readAll(conn.get(), packet.data(), packet.size()) || packet.empty() || packet[0] != 3) return;  // EVENT_REGISTER
      const char confirm[5] = {0, 0, 0, 1, 5};  // EVENT_CONFIRM
      if (::write(conn.get(), confirm, sizeof confirm) != sizeof confirm) return;
      ++confirmed_;
    }
    // Died: the connection and the listening socket close (a reconnect is refused).
    listener_.reset();
  }

  std::filesystem::path path_;
  UniqueFd listener_;
  bool bound_ = false;
  int confirmed_ = 0;
  std::thread thread_;
};

TEST(VpnEvents, ReportsCharonGoneAtOnce) {
  const auto path = std::filesystem::temp_directory_path() / ("bulwark-vpn-events-" + std::to_string(::getpid()) + ".vici");
  std::filesystem::remove(path);
  StandInCharon charon(path, 2);  // ike-updown, child-updown
  ASSERT_TRUE(charon.bound());
  auto loop = EventLoop::create();
  ASSERT_TRUE(loop);
  EventLoop& ev = *loop;
  int lost = 0, reconnected = 0;
  ev.after(std::chrono::seconds(10), [&ev] { ev.stop(2); });  // only if the loss is never reported
  const auto t0 = std::chrono::steady_clock::now();
  VpnEvents events(ev, "unix://" + path.string(), [](const nlohmann::json&) {}, [&reconnected] { ++reconnected; },
                   [&ev, &lost] {
                     ++lost;
                     ev.stop(0);
                   });
  EXPECT_EQ(ev.run(), 0);
  EXPECT_EQ(lost, 1);
  EXPECT_EQ(reconnected, 0);
  EXPECT_EQ(charon.confirmed(), 2);
  // Reported when the connection closed, not by a retry timer (those are 1 s apart).
  EXPECT_LT(std::chrono::steady_clock::now() - t0, std::chrono::milliseconds(900));
}

}  // namespace
}  // namespace bulwark::daemon
