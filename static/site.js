// ruledex: small enhancements; every page works without this script.
// - a filter box above tables marked `filterable` with more than 15 rows
// - a copy button on code blocks
// - "/" focuses the search box (the search page's, else the header's)
(function () {
  "use strict";
  function filterBox(table) {
    var rows = table.tBodies[0] ? Array.prototype.slice.call(table.tBodies[0].rows) : [];
    if (rows.length <= 15) return;
    var box = document.createElement("div");
    box.className = "filter";
    var input = document.createElement("input");
    input.type = "search";
    input.placeholder = "Filter " + rows.length + " rows";
    input.setAttribute("aria-label", "Filter the table below");
    box.appendChild(input);
    var wrap = table.closest(".table-wrap") || table;
    wrap.parentNode.insertBefore(box, wrap);
    input.addEventListener("input", function () {
      var q = input.value.trim().toLowerCase();
      rows.forEach(function (r) {
        r.hidden = q !== "" && r.textContent.toLowerCase().indexOf(q) < 0;
      });
    });
  }
  function copyButton(pre) {
    if (!navigator.clipboard) return;
    var box = document.createElement("div");
    box.className = "code-box";
    pre.parentNode.insertBefore(box, pre);
    box.appendChild(pre);
    var b = document.createElement("button");
    b.type = "button";
    b.className = "copy";
    b.textContent = "Copy";
    b.setAttribute("aria-label", "Copy this code");
    b.addEventListener("click", function () {
      navigator.clipboard.writeText(pre.innerText).then(function () {
        b.textContent = "Copied";
        setTimeout(function () { b.textContent = "Copy"; }, 1500);
      });
    });
    box.appendChild(b);
  }
  function slashToSearch(e) {
    if (e.key !== "/" || e.ctrlKey || e.metaKey || e.altKey || e.defaultPrevented) return;
    var t = e.target;
    if (t && (t.isContentEditable || /^(INPUT|TEXTAREA|SELECT)$/.test(t.tagName))) return;
    var box = document.getElementById("search-q") ||
      document.querySelector("form.site-search input[name=q]");
    if (!box) return;
    e.preventDefault();
    box.focus();
    box.select();
  }
  document.addEventListener("keydown", slashToSearch);
  document.querySelectorAll("table.filterable").forEach(filterBox);
  document.querySelectorAll("pre.code, pre.condition").forEach(copyButton);
})();
