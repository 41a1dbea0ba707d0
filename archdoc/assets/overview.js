/* archdoc: the overview's table sorts by any column and filters by family.
 *
 * The table is Markdown rendered by MkDocs, right after <div class="archdoc-overview">.
 * Numbers with units (11.69 M, 1.81 G) sort by value; text sorts alphabetically;
 * a second selection of the same heading reverses the order. */
(function () {
  "use strict";
  var UNITS = { k: 1e3, M: 1e6, G: 1e9, T: 1e12 };

  function value(cell) {
    var text = cell.textContent.trim();
    var match = /^([\d.,]+)\s*([kMGT]?)/.exec(text);
    if (match && /^\d/.test(text)) {
      return parseFloat(match[1].replace(/,/g, "")) * (UNITS[match[2]] || 1);
    }
    return text.toLowerCase();
  }

  function setUp(marker) {
    var table = null;
    for (var node = marker.nextElementSibling; node && !table; node = node.nextElementSibling) {
      table = node.tagName === "TABLE" ? node : node.querySelector("table");
    }
    if (!table || table.__archdocSorted) {
      return;
    }
    table.__archdocSorted = true;
    var body = table.tBodies[0];
    var original = Array.prototype.slice.call(body.rows);
    var headings = Array.prototype.slice.call(table.tHead.rows[0].cells);
    var state = { column: -1, descending: false };

    headings.forEach(function (th, column) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "archdoc-sort";
      button.textContent = th.textContent;
      button.title = "Sort by " + th.textContent.toLowerCase();
      th.textContent = "";
      th.appendChild(button);
      th.setAttribute("aria-sort", "none");
      button.addEventListener("click", function () {
        state.descending = state.column === column ? !state.descending : false;
        state.column = column;
        var rows = original.slice().sort(function (a, b) {
          var x = value(a.cells[column]), y = value(b.cells[column]);
          var order = typeof x === "number" && typeof y === "number" ? x - y : String(x).localeCompare(String(y));
          return state.descending ? -order : order;
        });
        rows.forEach(function (row) { body.appendChild(row); });
        headings.forEach(function (other) { other.setAttribute("aria-sort", "none"); });
        th.setAttribute("aria-sort", state.descending ? "descending" : "ascending");
      });
    });

    var family;
    try {
      family = JSON.parse(marker.getAttribute("data-families") || "[]");
    } catch (error) {
      family = [];
    }
    if (family.length !== original.length) {
      return;
    }
    original.forEach(function (row, i) { row.setAttribute("data-family", family[i]); });
    var families = family.filter(function (name, i) { return family.indexOf(name) === i; });
    var label = document.createElement("label");
    label.className = "archdoc-filter";
    label.textContent = "Family ";
    var select = document.createElement("select");
    var all = document.createElement("option");
    all.value = "";
    all.textContent = "All families (" + original.length + " models)";
    select.appendChild(all);
    families.forEach(function (name) {
      var option = document.createElement("option");
      option.value = name;
      option.textContent = name;
      select.appendChild(option);
    });
    select.addEventListener("change", function () {
      original.forEach(function (row) {
        row.hidden = select.value !== "" && row.getAttribute("data-family") !== select.value;
      });
    });
    label.appendChild(select);
    marker.appendChild(label);
  }

  function start() {
    Array.prototype.forEach.call(document.querySelectorAll(".archdoc-overview"), setUp);
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", start);
  } else {
    start();
  }
})();
