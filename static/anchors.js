// ruledex: a "#" link on each heading of the main content that has an id (its own or its
// section's), so any part of a page can be linked to. Pages read the same without it.
(function () {
  "use strict";
  document.querySelectorAll("main h2, main h3").forEach(function (h) {
    var id = h.id || (h.parentElement && h.parentElement.tagName === "SECTION" &&
      h.parentElement.firstElementChild === h ? h.parentElement.id : "");
    if (!id || h.querySelector("a.heading-anchor")) return;
    var a = document.createElement("a");
    a.className = "heading-anchor";
    a.href = "#" + id;
    a.textContent = "#";
    a.setAttribute("aria-label", "Link to this section: " + h.textContent.trim());
    h.appendChild(a);
  });
})();
