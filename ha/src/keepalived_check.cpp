#include "bulwark/ha/keepalived_check.h"

#include <signal.h>

#include <fstream>
#include <sstream>

#include "bulwark/ha/child.h"

namespace bulwark::ha {

Status checkKeepalivedConfig(const std::string& binary, const std::filesystem::path& conf,
                             std::chrono::milliseconds timeout) {
  auto log = conf;
  log += ".check";
  std::error_code ec;
  std::filesystem::remove(log, ec);
  ChildSpec spec{"keepalived -t", {binary, "--config-test", "--use-file=" + conf.string()}, {"PATH=/usr/sbin:/usr/bin:/sbin:/bin"}, log};
  auto child = Child::spawn(spec);
  if (!child) return child.error();
  auto st = child->wait(timeout);
  if (!st) {
    child->signal(SIGKILL);
    (void)child->wait(std::chrono::milliseconds(2000));
    std::filesystem::remove(log, ec);
    return Error{"keepalived -t did not finish within " + std::to_string(timeout.count()) + " ms"};
  }
  std::ifstream in(log);
  std::string text, line;
  while (std::getline(in, line) && text.size() < 16 * 1024) {
    if (!line.empty()) text += (text.empty() ? "" : "\n") + line;
  }
  std::filesystem::remove(log, ec);
  if (st->code == 0 && st->signal == 0) return okStatus();
  return Error{"keepalived -t rejects " + conf.string() + " (" + st->str() + ")" + (text.empty() ? "" : ":\n" + text)};
}

}  // namespace bulwark::ha
