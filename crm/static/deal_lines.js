// Deal lines editor: add and remove product-line rows, and show each line's amount and the
// total as you type. Without JavaScript the form still works with its fixed empty rows.
(function () {
  "use strict";

  var table = document.querySelector("[data-lines-editor]");
  if (!table) { return; }
  var body = table.querySelector("tbody");
  var addButton = table.querySelector("[data-add-line]");
  var totalCell = table.querySelector("[data-lines-total]");
  var MAX_ROWS = 100;
  var money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

  function number(input) {
    var text = (input.value || "").replace(/\s/g, "").replace(",", ".");
    var value = parseFloat(text);
    return isFinite(value) ? value : null;
  }

  function rows() { return Array.prototype.slice.call(body.querySelectorAll("tr.line-row")); }

  function field(row, name) { return row.querySelector("[name$='-" + name + "']"); }

  function recalc() {
    var total = 0;
    rows().forEach(function (row) {
      var qty = number(field(row, "quantity"));
      var price = number(field(row, "unit_price"));
      var cell = row.querySelector("[data-line-amount]");
      if (qty !== null && price !== null) {
        cell.textContent = money.format(qty * price);
        total += qty * price;
      } else {
        cell.textContent = "";
      }
    });
    totalCell.textContent = money.format(total);
  }

  // Rows are numbered lines-0, lines-1, ... so WTForms reads them back in order.
  function renumber() {
    rows().forEach(function (row, index) {
      row.querySelectorAll("input, select").forEach(function (input) {
        input.name = input.name.replace(/^lines-\d+-/, "lines-" + index + "-");
        input.id = input.name;
        var label = input.getAttribute("aria-label");
        if (label) { input.setAttribute("aria-label", label.replace(/\d+$/, String(index + 1))); }
      });
      var remove = row.querySelector("[data-remove-line]");
      remove.setAttribute("aria-label", "Remove line " + (index + 1));
    });
    addButton.disabled = rows().length >= MAX_ROWS;
  }

  function addRow() {
    var template = rows()[rows().length - 1];
    var row = template.cloneNode(true);
    row.querySelectorAll("input").forEach(function (input) { input.value = ""; input.removeAttribute("aria-invalid"); });
    row.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
    row.querySelectorAll(".error").forEach(function (error) { error.remove(); });
    body.appendChild(row);
    renumber();
    recalc();
    field(row, "family").focus();
  }

  function removeRow(row) {
    if (rows().length > 1) {
      row.remove();
    } else {
      row.querySelectorAll("input").forEach(function (input) { input.value = ""; });
      row.querySelectorAll("select").forEach(function (select) { select.selectedIndex = 0; });
    }
    renumber();
    recalc();
  }

  addButton.hidden = false;
  table.querySelectorAll("[data-remove-line]").forEach(function (button) { button.hidden = false; });
  addButton.addEventListener("click", addRow);
  body.addEventListener("click", function (event) {
    var button = event.target.closest("[data-remove-line]");
    if (button) { removeRow(button.closest("tr")); }
  });
  body.addEventListener("input", recalc);
  recalc();
}());
