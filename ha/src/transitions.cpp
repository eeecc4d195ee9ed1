#include "bulwark/ha/transitions.h"

#include <fstream>
#include <sstream>

namespace bulwark::ha {

namespace {

double msSince(Clock::time_point t) {
  return std::chrono::duration<double, std::milli>(Clock::now() - t).count();
}

// A commit of a large table takes long; nothing else should.
std::chrono::milliseconds timeoutOf(CtdCommand c) {
  return c == CtdCommand::Commit ? std::chrono::milliseconds(30000) : std::chrono::milliseconds(5000);
}

constexpr std::uintmax_t kMaxLogRead = 64 * 1024;

std::string readFrom(const std::filesystem::path& p, std::uintmax_t offset) {
  std::ifstream in(p, std::ios::binary);
  if (!in) return {};
  in.seekg(0, std::ios::end);
  auto size = static_cast<std::uintmax_t>(in.tellg());
  if (size <= offset) return {};
  auto from = std::max(offset, size > kMaxLogRead ? size - kMaxLogRead : 0);
  in.seekg(static_cast<std::streamoff>(from));
  std::string out(static_cast<std::size_t>(size - from), '\0');
  in.read(out.data(), static_cast<std::streamsize>(out.size()));
  return out;
}

}  // namespace

std::vector<CtdCommand> transitionSteps(VrrpState to) {
  switch (to) {
    case VrrpState::Master:
      return {CtdCommand::Commit, CtdCommand::FlushCaches, CtdCommand::ResyncMaster, CtdCommand::SendBulk};
    case VrrpState::Backup:
      return {CtdCommand::ResetTimers, CtdCommand::RequestResync};
    case VrrpState::Fault:
      return {CtdCommand::ResetTimers};
    case VrrpState::Init:
    case VrrpState::Stop:
      return {};
  }
  return {};
}

bool TransitionReport::ok() const {
  return std::all_of(steps.begin(), steps.end(), [](const StepResult& s) { return s.error.empty(); });
}

std::string TransitionReport::summary() const {
  std::ostringstream o;
  o.setf(std::ios::fixed);
  o.precision(1);
  bool first = true;
  for (const auto& s : steps) {
    if (s.command == CtdCommand::Stats) continue;  // the measurement, not a step
    o << (first ? "" : ", ") << commandName(s.command) << " (" << commandFlag(s.command) << ") ";
    if (s.error.empty()) o << s.millis << " ms";
    else o << "FAILED: " << s.error;
    if (s.command == CtdCommand::Commit && committed) o << " (" << *committed << " entries)";
    first = false;
  }
  if (first) o << "no conntrackd steps";
  return o.str();
}

TransitionRunner::TransitionRunner(Loop& loop, RuntimePaths paths, std::function<void(const TransitionReport&)> done)
    : loop_(loop), paths_(std::move(paths)), done_(std::move(done)) {}

TransitionRunner::~TransitionRunner() {
  if (advance_) loop_.cancel(advance_);
  if (current_) {
    if (current_->timeout) loop_.cancel(current_->timeout);
    if (current_->request) loop_.unwatch(current_->request->fd());
  }
}

void TransitionRunner::run(VrrpState to) {
  queue_.push_back(to);
  if (!current_) startNext();
}

void TransitionRunner::startNext() {
  if (queue_.empty()) return;
  Running r;
  r.report.to = queue_.front();
  queue_.pop_front();
  r.todo = transitionSteps(r.report.to);
  if (r.report.to == VrrpState::Master) r.todo.insert(r.todo.begin(), CtdCommand::Stats);
  r.started = Clock::now();
  current_ = std::move(r);
  stepStart();
}

void TransitionRunner::stepStart() {
  auto& r = *current_;
  if (r.next >= r.todo.size()) {
    finish();
    return;
  }
  auto cmd = r.todo[r.next];
  r.stepStarted = Clock::now();
  if (cmd == CtdCommand::Commit) {
    std::error_code ec;
    auto size = std::filesystem::file_size(paths_.conntrackdLog(), ec);
    r.logOffset = ec ? 0 : size;
  }
  auto req = CtdRequest::start(paths_.conntrackdSocket(), cmd);
  if (!req) {
    stepDone(req.error().message);
    return;
  }
  r.request = std::move(*req);
  loop_.watchReadable(r.request->fd(), [this] { onReadable(); });
  r.timeout = loop_.after(timeoutOf(cmd), [this, cmd] {
    current_->timeout = 0;
    stepDone("no answer within " + std::to_string(timeoutOf(cmd).count()) + " ms");
  });
}

void TransitionRunner::onReadable() {
  if (!current_ || !current_->request) return;
  auto done = current_->request->read();
  if (!done) {
    stepDone(done.error().message);
  } else if (*done) {
    stepDone({});
  }
}

void TransitionRunner::stepDone(std::string error) {
  auto& r = *current_;
  auto cmd = r.todo[r.next];
  std::string reply;
  if (r.request) {
    loop_.unwatch(r.request->fd());
    reply = r.request->reply();
    r.request.reset();
  }
  if (r.timeout) loop_.cancel(r.timeout);
  r.timeout = 0;
  r.report.steps.push_back({cmd, msSince(r.stepStarted), error});
  if (error.empty() && cmd == CtdCommand::Stats) r.report.externalBefore = cacheActive(reply, "external");
  if (error.empty() && cmd == CtdCommand::Commit) {
    r.report.committed = committedEntries(readFrom(paths_.conntrackdLog(), r.logOffset));
  }
  ++r.next;
  // The next step on the next turn: a step never nests inside another's callback.
  advance_ = loop_.after(std::chrono::milliseconds(0), [this] {
    advance_ = 0;
    stepStart();
  });
}

void TransitionRunner::finish() {
  auto report = std::move(current_->report);
  report.millis = msSince(current_->started);
  current_.reset();
  if (done_) done_(report);
  startNext();
}

}  // namespace bulwark::ha
