#include "bulwark/ha/notify.h"

#include <fcntl.h>
#include <sys/stat.h>

#include <cerrno>
#include <charconv>

namespace bulwark::ha {

namespace {

constexpr std::size_t kMaxLine = 512;

std::optional<VrrpState> parseState(std::string_view s) {
  if (s == "MASTER") return VrrpState::Master;
  if (s == "BACKUP") return VrrpState::Backup;
  if (s == "FAULT") return VrrpState::Fault;
  if (s == "STOP" || s == "DELETED") return VrrpState::Stop;
  return std::nullopt;
}

}  // namespace

std::string_view stateName(VrrpState s) {
  switch (s) {
    case VrrpState::Init: return "init";
    case VrrpState::Backup: return "backup";
    case VrrpState::Master: return "master";
    case VrrpState::Fault: return "fault";
    case VrrpState::Stop: return "stop";
  }
  return "?";
}

std::optional<NotifyLine> parseNotifyLine(std::string_view line) {
  while (!line.empty() && (line.back() == '\n' || line.back() == '\r')) line.remove_suffix(1);
  NotifyLine out;
  auto sp = line.find(' ');
  if (sp == std::string_view::npos) return std::nullopt;
  auto kind = line.substr(0, sp);
  if (kind == "INSTANCE") out.kind = NotifyLine::Kind::Instance;
  else if (kind == "GROUP") out.kind = NotifyLine::Kind::Group;
  else if (kind == "MASTER_RX_LOWER_PRI") out.kind = NotifyLine::Kind::MasterRxLowerPriority;
  else return std::nullopt;
  auto rest = line.substr(sp + 1);
  if (rest.size() < 2 || rest.front() != '"') return std::nullopt;
  auto close = rest.find('"', 1);
  if (close == std::string_view::npos) return std::nullopt;
  out.name = std::string(rest.substr(1, close - 1));
  rest = rest.substr(close + 1);
  if (rest.empty() || rest.front() != ' ') return std::nullopt;
  rest.remove_prefix(1);
  sp = rest.find(' ');
  auto state = parseState(rest.substr(0, sp));
  if (!state) return std::nullopt;
  out.state = *state;
  if (sp != std::string_view::npos) {
    auto prio = rest.substr(sp + 1);
    auto [end, ec] = std::from_chars(prio.data(), prio.data() + prio.size(), out.priority);
    if (ec != std::errc{} || end != prio.data() + prio.size()) return std::nullopt;
  }
  return out;
}

Result<NotifyFifo> NotifyFifo::open(const std::filesystem::path& path) {
  struct stat st {};
  if (::lstat(path.c_str(), &st) == 0) {
    if (!S_ISFIFO(st.st_mode)) return Error{path.string() + " exists and is not a FIFO"};
  } else if (::mkfifo(path.c_str(), 0600) != 0) {
    return sysError("mkfifo " + path.string(), errno);
  }
  UniqueFd r(::open(path.c_str(), O_RDONLY | O_NONBLOCK | O_CLOEXEC));
  if (!r.valid()) return sysError("open " + path.string(), errno);
  UniqueFd w(::open(path.c_str(), O_WRONLY | O_NONBLOCK | O_CLOEXEC));
  if (!w.valid()) return sysError("open " + path.string() + " for writing", errno);
  return NotifyFifo(std::move(r), std::move(w));
}

std::vector<std::string> NotifyFifo::readLines() {
  std::vector<std::string> out;
  char buf[4096];
  for (;;) {
    ssize_t n = ::read(read_.get(), buf, sizeof buf);
    if (n <= 0) break;
    for (ssize_t i = 0; i < n; ++i) {
      if (buf[i] == '\n') {
        if (partial_.size() <= kMaxLine) out.push_back(std::move(partial_));
        partial_.clear();
      } else if (partial_.size() <= kMaxLine) {
        partial_ += buf[i];
      }
    }
  }
  return out;
}

}  // namespace bulwark::ha
