#include "views/matrix_view.h"

#include <algorithm>

#include <QHeaderView>
#include <QInputDialog>
#include <QLabel>
#include <QResizeEvent>
#include <QTableView>
#include <QVBoxLayout>

#include "policy/matrix_model.h"
#include "policy/policy_document.h"

namespace bulwark::console {

MatrixView::MatrixView(PolicyDocument* doc, QWidget* parent) : QWidget(parent) {
  model_ = new MatrixModel(doc, this);
  table_ = new QTableView;
  table_->setModel(model_);
  table_->setWordWrap(true);
  table_->horizontalHeader()->setSectionResizeMode(QHeaderView::Stretch);
  table_->verticalHeader()->setSectionResizeMode(QHeaderView::Fixed);  // fitRows sets them
  table_->setEditTriggers(QAbstractItemView::NoEditTriggers);  // editCell decides
  auto* hint = new QLabel(tr("Rows: from zone · columns: to zone · ✗ deny/reject · * some hosts only. "
                             "Double-click a cell to edit the services of the rule behind it (or add a rule)."));
  hint->setWordWrap(true);
  auto* lay = new QVBoxLayout(this);
  lay->addWidget(hint);
  lay->addWidget(table_, 1);
  connect(doc, &PolicyDocument::analysed, model_, &MatrixModel::setAnalysis);
  connect(model_, &MatrixModel::editFailed, this, &MatrixView::message);
  connect(table_, &QTableView::doubleClicked, this, &MatrixView::editCell);
  connect(model_, &QAbstractItemModel::modelReset, this, &MatrixView::fitRows);
  connect(model_, &QAbstractItemModel::dataChanged, this, &MatrixView::fitRows);
}

void MatrixView::resizeEvent(QResizeEvent* e) {
  QWidget::resizeEvent(e);
  fitRows();  // column widths follow the pane, so the wrapped cells' heights do too
}

// One height for every row: the tallest cell's, or the pane's share when that is more.
void MatrixView::fitRows() {
  const int rows = model_->rowCount();
  if (rows == 0) return;
  // QTableView keeps its override protected; the base class's is the public one.
  const QAbstractItemView* view = table_;
  int tallest = 0;
  for (int r = 0; r < rows; ++r) tallest = std::max(tallest, view->sizeHintForRow(r));
  const int h = std::max(tallest, table_->viewport()->height() / rows);
  for (int r = 0; r < rows; ++r) table_->setRowHeight(r, h);
}

void MatrixView::editCell(const QModelIndex& index) {
  auto rules = model_->data(index, MatrixModel::RulesRole).toStringList();
  QString rule;
  if (rules.size() > 1) {
    bool ok = false;
    rule = QInputDialog::getItem(this, tr("Edit rule"), tr("Several rules make this cell; edit which one?"), rules, 0,
                                 false, &ok);
    if (!ok) return;
  } else if (rules.size() == 1) {
    rule = rules.first();
  }
  const QString current = rule.isEmpty() ? QString() : model_->ruleServices(rule).join(QStringLiteral(", "));
  const QString label = rule.isEmpty()
                            ? tr("New allow rule %1 → %2; services (comma separated):").arg(model_->zone(index.row()), model_->zone(index.column()))
                            : tr("Services of rule %1 (it may span other zone pairs too):").arg(rule);
  bool ok = false;
  auto text = QInputDialog::getText(this, tr("Edit cell"), label, QLineEdit::Normal, current, &ok);
  if (!ok) return;
  QStringList services;
  for (const auto& s : text.split(QLatin1Char(','), Qt::SkipEmptyParts)) services << s.trimmed();
  QString error;
  bool done = rule.isEmpty() ? model_->addRule(model_->zone(index.row()), model_->zone(index.column()), services, &error)
                             : model_->setRuleServices(rule, services, &error);
  if (!done) emit message(error);
}

}  // namespace bulwark::console
