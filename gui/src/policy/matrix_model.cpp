#include "policy/matrix_model.h"

#include <QColor>

#include "policy/policy_document.h"
#include "policy/yaml_span.h"

namespace bulwark::console {

MatrixModel::MatrixModel(PolicyDocument* doc, QObject* parent) : QAbstractTableModel(parent), doc_(doc) {}

void MatrixModel::setAnalysis(AnalysisPtr analysis) {
  beginResetModel();
  analysis_ = std::move(analysis);
  endResetModel();
}

int MatrixModel::rowCount(const QModelIndex& parent) const {
  return parent.isValid() || !analysis_ ? 0 : static_cast<int>(analysis_->matrix.zones.size());
}
int MatrixModel::columnCount(const QModelIndex& parent) const { return rowCount(parent); }

QString MatrixModel::zone(int i) const {
  if (!analysis_ || i < 0 || i >= rowCount()) return {};
  return QString::fromStdString(analysis_->matrix.zones[static_cast<std::size_t>(i)]);
}

const std::vector<policies::MatrixEntry>* MatrixModel::cell(const QModelIndex& index) const {
  if (!analysis_ || !index.isValid()) return nullptr;
  auto it = analysis_->matrix.cells.find({zone(index.row()).toStdString(), zone(index.column()).toStdString()});
  return it == analysis_->matrix.cells.end() ? nullptr : &it->second;
}

QVariant MatrixModel::data(const QModelIndex& index, int role) const {
  if (!analysis_ || !index.isValid()) return {};
  const auto* entries = cell(index);
  switch (role) {
    case Qt::DisplayRole: {
      if (!entries) return QString();
      QStringList out;
      for (const auto& e : *entries) {
        QString s = QString::fromStdString(e.service);
        if (e.action != policies::Action::Allow) s = QStringLiteral("✗ ") + s;
        if (e.partial) s += QLatin1Char('*');
        if (!out.contains(s)) out << s;
      }
      return out.join(QStringLiteral(", "));
    }
    case Qt::EditRole: {
      auto rules = data(index, RulesRole).toStringList();
      return rules.size() == 1 ? ruleServices(rules.first()).join(QStringLiteral(", ")) : QString();
    }
    case Qt::ToolTipRole: {
      if (!entries) return QStringLiteral("%1 → %2: nothing allowed (edit to add a rule)").arg(zone(index.row()), zone(index.column()));
      QStringList lines;
      for (const auto& e : *entries) {
        lines << QStringLiteral("%1 %2 (rule %3)%4")
                     .arg(QString::fromStdString(std::string(policies::actionName(e.action))),
                          QString::fromStdString(e.service), QString::fromStdString(e.rule),
                          e.partial ? QStringLiteral(", some hosts only") : QString());
      }
      return lines.join(QLatin1Char('\n'));
    }
    case RulesRole: {
      QStringList rules;
      if (entries) {
        for (const auto& e : *entries) {
          auto r = QString::fromStdString(e.rule);
          if (!rules.contains(r)) rules << r;
        }
      }
      return rules;
    }
    case Qt::BackgroundRole:
      if (entries && !entries->empty()) return QColor(0xe3, 0xf2, 0xe1);
      return {};
    default: return {};
  }
}

QVariant MatrixModel::headerData(int section, Qt::Orientation, int role) const {
  if (role == Qt::DisplayRole) return zone(section);
  return {};
}

Qt::ItemFlags MatrixModel::flags(const QModelIndex& index) const {
  auto f = QAbstractTableModel::flags(index);
  if (!doc_ || !index.isValid()) return f;
  // Editable in place when one policy rule (not a VPN access entry) or none makes the cell.
  auto rules = data(index, RulesRole).toStringList();
  if (rules.isEmpty() || (rules.size() == 1 && rule(rules.first()))) f |= Qt::ItemIsEditable;
  return f;
}

const policies::Rule* MatrixModel::rule(const QString& name) const {
  if (!analysis_) return nullptr;
  for (const auto& r : analysis_->policy.rules) {
    if (QString::fromStdString(r.name) == name) return &r;
  }
  return nullptr;
}

QStringList MatrixModel::ruleServices(const QString& name) const {
  QStringList out;
  if (const auto* r = rule(name)) {
    for (const auto& s : r->services) out << QString::fromStdString(s.text);
  }
  return out;
}

bool MatrixModel::setRuleServices(const QString& name, const QStringList& services, QString* error) {
  const auto* r = rule(name);
  if (!r || !doc_) {
    if (error) *error = QStringLiteral("no rule %1").arg(name);
    return false;
  }
  auto it = r->fields.find("services");
  if (it == r->fields.end()) {
    if (error) *error = QStringLiteral("rule %1 has no services field").arg(name);
    return false;
  }
  return doc_->replaceValue(QString::fromStdString(it->second.file), it->second.line, it->second.col,
                            yamlFlowList(services), error);
}

bool MatrixModel::addRule(const QString& from, const QString& to, const QStringList& services, QString* error) {
  if (!doc_ || doc_->fileCount() == 0) return false;
  // The file that already has rules, else the first.
  int file = 0;
  if (analysis_ && !analysis_->policy.rules.empty()) {
    file = std::max(0, doc_->fileIndex(QString::fromStdString(analysis_->policy.rules.back().where.file)));
  }
  QString name = QStringLiteral("%1-to-%2").arg(from, to);
  for (int n = 2; rule(name); ++n) name = QStringLiteral("%1-to-%2-%3").arg(from, to).arg(n);
  QString block = QStringLiteral("  - name: %1\n    from: %2\n    to: %3\n    services: %4\n    action: allow\n")
                      .arg(name, yamlScalar(from), yamlScalar(to), yamlFlowList(services));
  return doc_->appendToSection(file, QStringLiteral("rules:"), block, error);
}

bool MatrixModel::setData(const QModelIndex& index, const QVariant& value, int role) {
  if (role != Qt::EditRole || !doc_ || !index.isValid()) return false;
  QStringList services;
  for (const auto& s : value.toString().split(QLatin1Char(','), Qt::SkipEmptyParts)) services << s.trimmed();
  auto rules = data(index, RulesRole).toStringList();
  QString error;
  bool ok = false;
  if (rules.isEmpty()) {
    if (services.isEmpty()) return false;
    ok = addRule(zone(index.row()), zone(index.column()), services, &error);
  } else if (rules.size() == 1) {
    ok = setRuleServices(rules.first(), services, &error);
  } else {
    error = QStringLiteral("%1 rules make this cell (%2): pick one").arg(rules.size()).arg(rules.join(QStringLiteral(", ")));
  }
  if (!ok) emit editFailed(error);
  return ok;
}

}  // namespace bulwark::console
