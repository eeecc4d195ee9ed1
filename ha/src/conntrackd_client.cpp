#include "bulwark/ha/conntrackd_client.h"

#include <fcntl.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>

#include <cerrno>
#include <charconv>
#include <cstring>

namespace bulwark::ha {

std::string_view commandName(CtdCommand c) {
  switch (c) {
    case CtdCommand::Stats: return "stats";
    case CtdCommand::SendBulk: return "bulk-send";
    case CtdCommand::RequestResync: return "request-resync";
    case CtdCommand::ResetTimers: return "purge-timer";
    case CtdCommand::StatsNetwork: return "stats-network";
    case CtdCommand::ResyncMaster: return "resync";
    case CtdCommand::FlushCaches: return "flush";
    case CtdCommand::Commit: return "commit";
  }
  return "?";
}

std::string_view commandFlag(CtdCommand c) {
  switch (c) {
    case CtdCommand::Stats: return "-s";
    case CtdCommand::SendBulk: return "-B";
    case CtdCommand::RequestResync: return "-n";
    case CtdCommand::ResetTimers: return "-t";
    case CtdCommand::StatsNetwork: return "-s network";
    case CtdCommand::ResyncMaster: return "-R";
    case CtdCommand::FlushCaches: return "-f";
    case CtdCommand::Commit: return "-c";
  }
  return "?";
}

Result<CtdRequest> CtdRequest::start(const std::filesystem::path& socket, CtdCommand command) {
  sockaddr_un addr{};
  if (socket.string().size() >= sizeof addr.sun_path) return Error{"conntrackd socket path too long: " + socket.string()};
  UniqueFd fd(::socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0));
  if (!fd.valid()) return sysError("socket", errno);
  addr.sun_family = AF_UNIX;
  std::strncpy(addr.sun_path, socket.c_str(), sizeof addr.sun_path - 1);
  // A UNIX stream connect completes at once or fails (EAGAIN: the backlog is full).
  if (::connect(fd.get(), reinterpret_cast<sockaddr*>(&addr), sizeof addr) != 0) {
    return sysError("conntrackd " + std::string(commandFlag(command)) + ": connect " + socket.string(), errno);
  }
  int code = static_cast<int>(command);
  if (::send(fd.get(), &code, sizeof code, MSG_NOSIGNAL) != static_cast<ssize_t>(sizeof code)) {
    return sysError("conntrackd " + std::string(commandFlag(command)) + ": send", errno);
  }
  return CtdRequest(std::move(fd), command);
}

Result<bool> CtdRequest::read() {
  char buf[4096];
  for (;;) {
    ssize_t n = ::recv(fd_.get(), buf, sizeof buf, 0);
    if (n > 0) {
      if (reply_.size() + static_cast<std::size_t>(n) > kMaxReply) {
        return Error{"conntrackd " + std::string(commandFlag(command_)) + ": reply longer than " +
                     std::to_string(kMaxReply) + " bytes"};
      }
      reply_.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n == 0) return true;
    if (errno == EAGAIN || errno == EWOULDBLOCK) return false;
    if (errno == EINTR) continue;
    return sysError("conntrackd " + std::string(commandFlag(command_)) + ": recv", errno);
  }
}

Result<std::string> conntrackdRequest(const std::filesystem::path& socket, CtdCommand command,
                                      std::chrono::milliseconds timeout) {
  auto req = CtdRequest::start(socket, command);
  if (!req) return req.error();
  auto deadline = std::chrono::steady_clock::now() + timeout;
  for (;;) {
    auto done = req->read();
    if (!done) return done.error();
    if (*done) return req->reply();
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0) {
      return Error{"conntrackd " + std::string(commandFlag(command)) + ": no answer within " +
                   std::to_string(timeout.count()) + " ms"};
    }
    pollfd p{req->fd(), POLLIN, 0};
    ::poll(&p, 1, static_cast<int>(left.count()));
  }
}

namespace {

std::optional<long> numberAfter(std::string_view text, std::string_view label) {
  auto at = text.find(label);
  if (at == std::string_view::npos) return std::nullopt;
  auto rest = text.substr(at + label.size());
  auto digit = rest.find_first_of("0123456789");
  if (digit == std::string_view::npos) return std::nullopt;
  long v = 0;
  auto [end, ec] = std::from_chars(rest.data() + digit, rest.data() + rest.size(), v);
  if (ec != std::errc{}) return std::nullopt;
  return v;
}

}  // namespace

std::optional<long> cacheActive(std::string_view stats, std::string_view cache) {
  auto at = stats.find("cache " + std::string(cache) + ":");
  if (at == std::string_view::npos) return std::nullopt;
  return numberAfter(stats.substr(at), "current active connections:");
}

std::optional<long> packetsReceived(std::string_view stats) {
  // "                   1 Pckts sent                    0 Pckts recv"
  auto at = stats.find("Pckts recv");
  if (at == std::string_view::npos) return std::nullopt;
  auto line = stats.rfind('\n', at);
  auto head = stats.substr(line == std::string_view::npos ? 0 : line + 1, at - (line == std::string_view::npos ? 0 : line + 1));
  auto sent = head.find("Pckts sent");
  if (sent == std::string_view::npos) return std::nullopt;
  return numberAfter(head.substr(sent), "Pckts sent");
}

std::optional<long> committedEntries(std::string_view log) {
  constexpr std::string_view kLine = "Committed ";
  auto at = log.rfind(kLine);
  while (at != std::string_view::npos) {
    auto rest = log.substr(at + kLine.size());
    long v = 0;
    auto [end, ec] = std::from_chars(rest.data(), rest.data() + rest.size(), v);
    std::string_view after(end, static_cast<std::size_t>(rest.data() + rest.size() - end));
    if (ec == std::errc{} && after.substr(0, 12) == " new entries") return v;
    if (at == 0) break;
    at = log.rfind(kLine, at - 1);
  }
  return std::nullopt;
}

}  // namespace bulwark::ha
