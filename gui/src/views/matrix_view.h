#pragma once
// The zone-by-zone matrix; a cell edits the rule behind it (see MatrixModel). With several
// rules in a cell, a dialog asks which rule's services to change. Rows are all as tall as the
// tallest cell needs, and fill the pane when they fit (no ragged rows, no empty half).
#include <QWidget>

class QTableView;

namespace bulwark::console {

class MatrixModel;
class PolicyDocument;

class MatrixView : public QWidget {
  Q_OBJECT
 public:
  MatrixView(PolicyDocument* doc, QWidget* parent = nullptr);
  [[nodiscard]] MatrixModel* model() const { return model_; }
  [[nodiscard]] QTableView* table() const { return table_; }

 signals:
  void message(const QString& text);

 protected:
  void resizeEvent(QResizeEvent* e) override;

 private:
  void editCell(const class QModelIndex& index);
  void fitRows();
  MatrixModel* model_;
  QTableView* table_;
};

}  // namespace bulwark::console
