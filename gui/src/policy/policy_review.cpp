#include "policy/policy_review.h"

#include <QElapsedTimer>

#include "bulwark/review/review.h"

namespace bulwark::console {

namespace {

std::vector<policies::Source> sources(const std::vector<WorkingFile>& files) {
  std::vector<policies::Source> out;
  for (const auto& f : files) out.push_back({f.name.toStdString(), f.text.toStdString()});
  return out;
}

}  // namespace

PolicyReview reviewAgainstHead(const QString& root, const std::vector<WorkingFile>& files) {
  QElapsedTimer clock;
  clock.start();
  PolicyReview out;
  if (root.isEmpty() || files.empty()) {
    out.error = QStringLiteral("in-memory policy: no working copy to compare with HEAD");
    return out;
  }
  auto head = headFiles(root, files);
  if (!head.problem.isEmpty()) {
    out.error = head.problem;
    return out;
  }
  auto result = review::reviewChange({"HEAD", sources(head.files)}, {"the editor (working copy)", sources(files)});
  out.millis = static_cast<double>(clock.nsecsElapsed()) / 1e6;
  if (!result.review) {
    QStringList lines{QStringLiteral("the policy does not load on one side (HEAD → the editor):")};
    for (const auto& d : result.diagnostics.items()) lines << QString::fromStdString(d.str());
    out.error = lines.join(QLatin1Char('\n'));
    return out;
  }
  auto& r = *result.review;
  review::capReview(r, review::ReviewLimits{});  // as bulwarkd's plan reply bounds it
  out.changed = r.changed();
  out.text = QString::fromStdString(review::reviewText(r));
  if (!head.notInHead.isEmpty()) {
    out.text.prepend(QStringLiteral("(not in HEAD, compared as added: %1)\n").arg(head.notInHead.join(QStringLiteral(", "))));
  }
  return out;
}

}  // namespace bulwark::console
