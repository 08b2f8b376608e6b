// therabill pages: the body diagram and the ICD-10 picker of the visit form, tables as cards on
// phones, the main menu, the live panel's summary (no inline script, no framework).
(function () {
  "use strict";

  function activeRow() {
    var checked = document.querySelector("input[name=active-row]:checked");
    return checked ? checked.value : "0";
  }

  function regionsOf(row) {
    var input = document.getElementById("svc-" + row + "-regions");
    return input && input.value ? input.value.split(",").filter(Boolean) : [];
  }

  function paint() {
    var diagram = document.getElementById("body-diagram");
    if (!diagram) return;
    var mine = regionsOf(activeRow());
    var all = [];
    document.querySelectorAll("input[id$=-regions]").forEach(function (input) {
      if (input.value) all = all.concat(input.value.split(","));
    });
    diagram.querySelectorAll("[data-region]").forEach(function (g) {
      var id = g.getAttribute("data-region");
      g.classList.toggle("selected", mine.indexOf(id) >= 0);
      g.classList.toggle("other", mine.indexOf(id) < 0 && all.indexOf(id) >= 0);
      g.setAttribute("aria-pressed", mine.indexOf(id) >= 0 ? "true" : "false");
    });
  }

  function changed(form) {
    if (window.htmx && form) window.htmx.trigger(form, "change");
  }

  function toggleRegion(g) {
    var row = activeRow();
    var input = document.getElementById("svc-" + row + "-regions");
    if (!input) return;
    var id = g.getAttribute("data-region");
    var list = regionsOf(row);
    var at = list.indexOf(id);
    if (at >= 0) list.splice(at, 1); else list.push(id);
    input.value = list.join(",");
    var text = document.getElementById("svc-" + row + "-regions-text");
    if (text) text.textContent = list.length ? list.join(", ") : "none";
    paint();
    changed(input.form);
  }

  document.addEventListener("click", function (event) {
    var g = event.target.closest ? event.target.closest("[data-region]") : null;
    if (g) { toggleRegion(g); return; }
    var pick = event.target.closest ? event.target.closest(".icd-pick") : null;
    if (pick) {
      var field = document.getElementById("diagnoses");
      var codes = field.value ? field.value.split(",").map(function (s) { return s.trim(); }).filter(Boolean) : [];
      var code = pick.getAttribute("data-icd");
      if (codes.indexOf(code) < 0) codes.push(code);
      field.value = codes.join(", ");
      changed(field.form);
    }
  });

  document.addEventListener("keydown", function (event) {
    var g = event.target.closest ? event.target.closest("[data-region]") : null;
    if (g && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); toggleRegion(g); }
  });

  document.addEventListener("change", function (event) {
    if (event.target && event.target.name === "active-row") paint();
  });

  document.addEventListener("DOMContentLoaded", paint);

  // Tables become cards on phones: each cell is labelled with its column's heading (app.css).
  function stackTables(root) {
    (root || document).querySelectorAll("main table").forEach(function (table) {
      if (table.classList.contains("no-stack") || table.closest(".no-stack")) return;
      var heads = table.querySelectorAll("thead th");
      if (!heads.length) return;
      var labels = Array.prototype.map.call(heads, function (th) { return th.textContent.trim(); });
      table.querySelectorAll("tbody tr, tfoot tr").forEach(function (tr) {
        var col = 0;
        Array.prototype.forEach.call(tr.children, function (cell) {
          if (!cell.hasAttribute("data-label")) cell.setAttribute("data-label", labels[col] || "");
          col += cell.colSpan || 1;
        });
      });
      table.classList.add("stacked");
    });
  }

  // The main menu is open on wide screens (a row of tabs) and a "Menu" button on phones.
  function menu() {
    var nav = document.getElementById("nav-menu");
    if (!nav || !window.matchMedia) return;
    var wide = window.matchMedia("(min-width: 1000px)");
    function apply() { if (wide.matches) nav.setAttribute("open", ""); else nav.removeAttribute("open"); }
    apply();
    if (wide.addEventListener) wide.addEventListener("change", apply);
  }

  // The live panel's one-line summary (units and findings) for the collapsed bar on phones.
  function summarize() {
    var panel = document.getElementById("preview-panel");
    var out = document.getElementById("live-summary-text");
    if (!panel || !out) return;
    var total = panel.querySelector("#units-total");
    var errors = panel.querySelectorAll(".finding.error").length;
    var others = panel.querySelectorAll(".finding").length - errors;
    var parts = [total ? total.textContent.trim() + " units" : "No units yet"];
    if (errors) parts.push(errors + " to fix");
    if (others) parts.push(others + " to review");
    if (!errors && !others && panel.querySelector(".ok")) parts.push("claim check clean");
    out.textContent = parts.join(" · ");
    var status = document.getElementById("live-status");
    if (status && status.textContent !== out.textContent) status.textContent = out.textContent;
  }

  // On phones the live panel starts as its one-line summary bar (tap to open it).
  function collapseLive() {
    var live = document.querySelector("aside.preview.live > details");
    if (live && window.matchMedia && !window.matchMedia("(min-width: 1000px)").matches) live.removeAttribute("open");
  }

  document.addEventListener("DOMContentLoaded", function () { stackTables(); menu(); collapseLive(); summarize(); });
  document.addEventListener("htmx:afterSwap", function (event) { stackTables(event.target.parentNode || document); summarize(); });
})();
