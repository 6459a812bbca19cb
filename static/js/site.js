// Every page: what a phone needs beyond the stylesheet. The pages work without it (the menu
// stays open, tables scroll sideways, filters stay unfolded); it only makes small screens easier.
(function () {
  "use strict";
  var root = document.documentElement;
  root.classList.add("js");
  var phone = window.matchMedia("(max-width: 40rem)");

  // The header's menu: one button on a phone, the links behind it.
  function menu() {
    var header = document.querySelector(".site-header");
    var toggle = document.getElementById("menu-toggle");
    if (!header || !toggle) { return; }
    toggle.addEventListener("click", function () {
      var open = toggle.getAttribute("aria-expanded") !== "true";
      toggle.setAttribute("aria-expanded", open ? "true" : "false");
      header.classList.toggle("menu-open", open);
    });
  }

  // Data tables: each cell learns its column's name (data-label), so that on a phone the
  // stylesheet can show every row as a card of "name: value" lines. Lesson tables keep their grid.
  function headerRow(table) {
    if (table.tHead && table.tHead.rows.length) {
      return table.tHead.rows[table.tHead.rows.length - 1];
    }
    return null;
  }

  function labels(row) {
    var result = [];
    Array.prototype.forEach.call(row.cells, function (cell) {
      var text = (cell.innerText || cell.textContent || "").replace(/\s+/g, " ").trim();
      for (var i = 0; i < (cell.colSpan || 1); i += 1) { result.push(text); }
    });
    return result;
  }

  function stack(table) {
    var header = headerRow(table);
    if (!header || table.closest(".prose") || table.hasAttribute("data-no-stack")) { return; }
    var names = labels(header);
    table.setAttribute("role", "table");
    Array.prototype.forEach.call(table.querySelectorAll("thead, tbody, tfoot"), function (group) {
      group.setAttribute("role", "rowgroup");
    });
    Array.prototype.forEach.call(table.rows, function (row) {
      row.setAttribute("role", "row");
      var column = 0;
      Array.prototype.forEach.call(row.cells, function (cell) {
        var inHead = row.parentNode === table.tHead;
        if (inHead) {
          cell.setAttribute("role", "columnheader");
        } else {
          cell.setAttribute("role", cell.tagName === "TH" ? "rowheader" : "cell");
          if (names[column] && !cell.hasAttribute("data-label")) { cell.setAttribute("data-label", names[column]); }
        }
        column += cell.colSpan || 1;
      });
    });
    table.classList.add("stack");
  }

  // Report filters fold away on a phone unless one is in use.
  function fold(details) {
    if (!phone.matches) { return; }
    var used = Array.prototype.some.call(details.querySelectorAll("select, input"), function (field) {
      return field.type !== "hidden" && field.type !== "submit" && field.value !== "";
    });
    if (!used) { details.open = false; }
  }

  // "Back to the form" after an expired form: the browser's Back keeps what was typed.
  function back(link) {
    link.addEventListener("click", function (event) {
      if (window.history.length > 1) {
        event.preventDefault();
        window.history.back();
      }
    });
  }

  // A table wider than its box scrolls sideways: the keyboard can scroll it only from a box it
  // can focus. Focusable while it is too wide (after the phone's cards), no extra Tab stop else.
  function scrollable(box) {
    if (box.scrollWidth > box.clientWidth) {
      box.setAttribute("tabindex", "0");
    } else {
      box.removeAttribute("tabindex");
    }
  }

  function scrollables() {
    Array.prototype.forEach.call(document.querySelectorAll(".table-scroll"), scrollable);
  }

  menu();
  Array.prototype.forEach.call(document.querySelectorAll("a[data-back]"), back);
  Array.prototype.forEach.call(document.querySelectorAll("main table"), stack);
  Array.prototype.forEach.call(document.querySelectorAll("details.filters-fold"), fold);
  scrollables();
  window.addEventListener("resize", scrollables);
}());
