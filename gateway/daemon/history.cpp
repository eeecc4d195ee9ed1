#include "history.h"

#include <fcntl.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <ctime>
#include <fstream>
#include <sstream>

namespace bulwark::daemon {

namespace fs = std::filesystem;

std::string utcNow() {
  auto now = std::chrono::system_clock::now();
  auto t = std::chrono::system_clock::to_time_t(now);
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(now.time_since_epoch()).count() % 1000;
  std::tm tm{};
  gmtime_r(&t, &tm);
  char buf[64];
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900, tm.tm_mon + 1,
                tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms));
  return buf;
}

gateway::Status writeFileAtomic(const fs::path& path, const std::string& data) {
  auto tmp = path;
  tmp += ".tmp";
  int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  if (fd < 0) return gateway::sysError("cannot write " + tmp.string(), errno);
  std::size_t off = 0;
  while (off < data.size()) {
    ssize_t n = ::write(fd, data.data() + off, data.size() - off);
    if (n < 0) {
      if (errno == EINTR) continue;
      int e = errno;
      ::close(fd);
      return gateway::sysError("cannot write " + tmp.string(), e);
    }
    off += static_cast<std::size_t>(n);
  }
  if (::fsync(fd) != 0) {
    int e = errno;
    ::close(fd);
    return gateway::sysError("fsync " + tmp.string(), e);
  }
  ::close(fd);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return gateway::sysError("rename to " + path.string(), errno);
  return gateway::okStatus();
}

nlohmann::json Revision::meta() const {
  nlohmann::json j{{"revision", number}, {"hash", hash},         {"who", who},
                   {"uid", uid},           {"time", time},         {"git_commit", gitCommit},
                   {"origin", origin},     {"summary", summary},   {"status", status}};
  if (!parts.empty()) j["parts"] = parts;  // absent: every kind
  return j;
}

namespace {

Revision fromJson(const nlohmann::json& j, bool withSources) {
  Revision r;
  r.number = j.value("revision", 0);
  r.hash = j.value("hash", "");
  r.who = j.value("who", "");
  r.uid = j.value("uid", -1L);
  r.time = j.value("time", "");
  r.gitCommit = j.value("git_commit", "");
  r.origin = j.value("origin", "");
  r.summary = j.value("summary", "");
  r.status = j.value("status", "");
  if (j.contains("parts") && j["parts"].is_array()) {
    for (const auto& p : j["parts"]) {
      if (p.is_string()) r.parts.push_back(p.get<std::string>());
    }
  }
  if (withSources && j.contains("sources") && j["sources"].is_array()) {
    for (const auto& s : j["sources"]) r.sources.push_back({s.value("name", ""), s.value("text", "")});
  }
  return r;
}

gateway::Result<nlohmann::json> readJson(const fs::path& p) {
  std::ifstream in(p);
  if (!in) return gateway::sysError("cannot read " + p.string(), errno);
  std::ostringstream ss;
  ss << in.rdbuf();
  auto j = nlohmann::json::parse(ss.str(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) return gateway::Error{p.string() + ": not a revision file"};
  return j;
}

}  // namespace

gateway::Result<History> History::open(const fs::path& stateDir) {
  auto dir = stateDir / "revisions";
  std::error_code ec;
  fs::create_directories(dir, ec);
  if (ec) return gateway::Error{"cannot create " + dir.string() + ": " + ec.message(), ec.value()};
  History h(dir);
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    if (e.path().extension() != ".json") continue;
    auto j = readJson(e.path());
    if (!j) continue;  // a damaged file is skipped, not fatal
    auto r = fromJson(*j, false);
    if (r.number > 0) h.revs_.push_back(std::move(r));
  }
  std::sort(h.revs_.begin(), h.revs_.end(), [](const Revision& a, const Revision& b) { return a.number < b.number; });
  return h;
}

fs::path History::fileOf(int number) const {
  char name[32];
  std::snprintf(name, sizeof name, "%06d.json", number);
  return dir_ / name;
}

gateway::Status History::write(const Revision& rev) const {
  auto j = rev.meta();
  j["sources"] = nlohmann::json::array();
  for (const auto& s : rev.sources) j["sources"].push_back({{"name", s.name}, {"text", s.text}});
  return writeFileAtomic(fileOf(rev.number), j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace));
}

gateway::Result<int> History::record(Revision rev, int number) {
  const int next = revs_.empty() ? 1 : revs_.back().number + 1;
  if (number > 0 && number < next) {
    return gateway::Error{"revision " + std::to_string(number) + " is taken here (the latest is " +
                          std::to_string(next - 1) + ")"};
  }
  rev.number = number > 0 ? number : next;
  if (rev.time.empty()) rev.time = utcNow();
  auto w = write(rev);
  if (!w) return w.error();
  rev.sources.clear();
  revs_.push_back(std::move(rev));
  return revs_.back().number;
}

gateway::Status History::setStatus(int number, const std::string& status) {
  auto full = load(number);
  if (!full) return full.error();
  full->status = status;
  auto w = write(*full);
  if (!w) return w;
  for (auto& r : revs_) {
    if (r.number == number) r.status = status;
  }
  return gateway::okStatus();
}

gateway::Result<Revision> History::load(int number) const {
  if (!find(number)) return gateway::Error{"no revision " + std::to_string(number)};
  return loadFile(fileOf(number));
}

std::optional<fs::path> History::fileIfRecorded(int number) const {
  if (!find(number)) return std::nullopt;
  return fileOf(number);
}

gateway::Result<Revision> History::loadFile(const fs::path& file) {
  auto j = readJson(file);
  if (!j) return j.error();
  return fromJson(*j, true);
}

std::vector<Revision> History::list(std::size_t limit) const {
  std::vector<Revision> out;
  for (auto it = revs_.rbegin(); it != revs_.rend() && out.size() < limit; ++it) out.push_back(*it);
  return out;
}

const Revision* History::find(int number) const {
  for (const auto& r : revs_) {
    if (r.number == number) return &r;
  }
  return nullptr;
}

gateway::Result<nlohmann::json> readJsonFile(const fs::path& path) { return readJson(path); }

}  // namespace bulwark::daemon
