#pragma once
// The byte stream a control connection runs over (connection.h): a Unix socket here, TLS
// over TCP in tls_listener.cpp. Non-blocking; the connection core drives it from the event
// loop and never needs to know which one it has.
#include <sys/socket.h>

#include <cerrno>
#include <cstddef>

#include "bulwark/base/unique_fd.h"

namespace bulwark::daemon {

class ByteStream {
 public:
  enum class Io {
    Done,       // n bytes moved
    WantRead,   // nothing now: wait for the fd to be readable
    WantWrite,  // nothing now: wait for the fd to be writable (TLS: also for a read)
    Closed,     // the peer ended the stream cleanly
    Failed,     // the stream is broken
  };
  struct Result {
    Io io = Io::Failed;
    std::size_t n = 0;
  };
  virtual ~ByteStream() = default;
  [[nodiscard]] virtual int fd() const = 0;
  [[nodiscard]] virtual Result read(char* buf, std::size_t cap) = 0;
  [[nodiscard]] virtual Result write(const char* data, std::size_t len) = 0;
  // Bytes already read from the fd but not yet returned (TLS records): epoll cannot see them.
  [[nodiscard]] virtual bool buffered() const { return false; }
  // Best-effort goodbye before the fd closes (TLS: close_notify); never blocks.
  virtual void goodbye() {}
};

// A connected Unix stream socket (non-blocking).
class UnixStream final : public ByteStream {
 public:
  explicit UnixStream(UniqueFd fd) : fd_(std::move(fd)) {}
  [[nodiscard]] int fd() const override { return fd_.get(); }
  [[nodiscard]] Result read(char* buf, std::size_t cap) override {
    for (;;) {
      ssize_t n = ::recv(fd_.get(), buf, cap, 0);
      if (n > 0) return {Io::Done, static_cast<std::size_t>(n)};
      if (n == 0) return {Io::Closed, 0};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {Io::WantRead, 0};
      return {Io::Failed, 0};
    }
  }
  [[nodiscard]] Result write(const char* data, std::size_t len) override {
    for (;;) {
      ssize_t n = ::send(fd_.get(), data, len, MSG_NOSIGNAL);
      if (n >= 0) return {Io::Done, static_cast<std::size_t>(n)};
      if (errno == EINTR) continue;
      if (errno == EAGAIN || errno == EWOULDBLOCK) return {Io::WantWrite, 0};
      return {Io::Failed, 0};
    }
  }

 private:
  UniqueFd fd_;
};

}  // namespace bulwark::daemon
