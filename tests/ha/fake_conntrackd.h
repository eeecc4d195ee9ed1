#pragma once
// A stand-in for conntrackd's control socket (tests without a network namespace): records
// the request codes it receives, answers Stats with a canned reply, and for a commit appends
// "Committed N new entries" to a log file before closing, as conntrackd does.
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <mutex>
#include <thread>
#include <vector>

namespace bulwark::ha::test {

class FakeConntrackd {
 public:
  FakeConntrackd(std::filesystem::path socket, std::filesystem::path log) : socket_(std::move(socket)), log_(std::move(log)) {
    fd_ = ::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    sockaddr_un a{};
    a.sun_family = AF_UNIX;
    std::strncpy(a.sun_path, socket_.c_str(), sizeof a.sun_path - 1);
    ::unlink(socket_.c_str());
    if (::bind(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 || ::listen(fd_, 8) != 0) std::abort();
    thread_ = std::thread([this] { serve(); });
  }
  ~FakeConntrackd() {
    stop_ = true;
    ::shutdown(fd_, SHUT_RDWR);
    thread_.join();
    ::close(fd_);
    ::unlink(socket_.c_str());
  }
  std::vector<int> codes() {
    std::lock_guard<std::mutex> g(m_);
    return codes_;
  }
  std::atomic<int> commitDelayMs{0};
  std::atomic<long> committed{0};
  std::atomic<long> external{0};
  std::atomic<bool> silent{false};  // never answer (a hung conntrackd)

 private:
  void serve() {
    while (!stop_) {
      int c = ::accept(fd_, nullptr, nullptr);
      if (c < 0) return;
      int code = 0;
      if (::recv(c, &code, sizeof code, MSG_WAITALL) == sizeof code) {
        {
          std::lock_guard<std::mutex> g(m_);
          codes_.push_back(code);
        }
        if (silent) {
          hung_.push_back(c);
          continue;
        }
        if (code == 21) {
          std::string r = "cache internal:\ncurrent active connections:\t           3\n\ncache external:\n"
                          "current active connections:\t        " + std::to_string(external.load()) +
                          "\n\nUDP traffic (active device=eth2):\n        100 Bytes sent        200 Bytes recv\n"
                          "                   7 Pckts sent                   42 Pckts recv\n";
          ::send(c, r.data(), r.size(), MSG_NOSIGNAL);
        }
        if (code == 46) {
          std::this_thread::sleep_for(std::chrono::milliseconds(commitDelayMs.load()));
          std::ofstream(log_, std::ios::app) << "[x] (pid=1) [notice] committing all external caches\n"
                                             << "[x] (pid=1) [notice] Committed " << committed.load()
                                             << " new entries\n";
        }
      }
      ::close(c);
    }
    for (int c : hung_) ::close(c);
  }
  std::filesystem::path socket_, log_;
  int fd_ = -1;
  std::atomic<bool> stop_{false};
  std::thread thread_;
  std::mutex m_;
  std::vector<int> codes_;
  std::vector<int> hung_;
};

}  // namespace bulwark::ha::test
