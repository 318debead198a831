// Sortable tables, served from the site itself: click a column header to sort by it, click
// again to reverse. Numbers sort as numbers ("118,384 B (115.6 KiB)" sorts as 118384), text
// as text, dashes and empty cells last. Runs after every instant navigation (document$).
(function () {
  "use strict";

  var NUMBER = /^[+\-\u2212]?(\d[\d,]*)?\.?\d+/;

  function key(cell) {
    var text = (cell.textContent || "").trim();
    var match = NUMBER.exec(text);
    if (match) {
      var n = parseFloat(match[0].replace(/,/g, "").replace("\u2212", "-"));
      if (!isNaN(n)) return { n: n, t: text };
    }
    return { n: null, t: text.toLowerCase() };
  }

  function compare(a, b) {
    var emptyA = a.t === "" || a.t === "—", emptyB = b.t === "" || b.t === "—";
    if (emptyA !== emptyB) return emptyA ? 1 : -1;
    if (a.n !== null && b.n !== null) return a.n - b.n;
    if (a.n !== null) return -1;
    if (b.n !== null) return 1;
    return a.t < b.t ? -1 : a.t > b.t ? 1 : 0;
  }

  function sortBy(table, index, th) {
    var body = table.tBodies[0];
    var rows = Array.prototype.slice.call(body.rows);
    var ascending = th.getAttribute("aria-sort") !== "ascending";
    var keyed = rows.map(function (row, i) {
      return { row: row, k: key(row.cells[index] || row), i: i };
    });
    keyed.sort(function (a, b) {
      var c = compare(a.k, b.k);
      if (c === 0) return a.i - b.i;
      return ascending ? c : -c;
    });
    keyed.forEach(function (item) { body.appendChild(item.row); });
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (cell) {
      cell.removeAttribute("aria-sort");
    });
    th.setAttribute("aria-sort", ascending ? "ascending" : "descending");
  }

  function enable(table) {
    if (table.getAttribute("data-sortable") === "1") return;
    if (!table.tHead || !table.tBodies[0] || table.tBodies[0].rows.length < 2) return;
    if (table.tHead.rows[0].cells.length < 3) return; // key-value tables keep their order
    table.setAttribute("data-sortable", "1");
    Array.prototype.forEach.call(table.tHead.rows[0].cells, function (th, index) {
      th.classList.add("tr-sortable");
      th.setAttribute("tabindex", "0");
      th.setAttribute("title", "Sort by this column");
      th.addEventListener("click", function () { sortBy(table, index, th); });
      th.addEventListener("keydown", function (event) {
        if (event.key === "Enter" || event.key === " ") {
          event.preventDefault();
          sortBy(table, index, th);
        }
      });
    });
  }

  function enableAll() {
    document.querySelectorAll("article table").forEach(enable);
  }

  if (typeof window.document$ !== "undefined") {
    window.document$.subscribe(enableAll);
  } else if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", enableAll);
  } else {
    enableAll();
  }
})();
