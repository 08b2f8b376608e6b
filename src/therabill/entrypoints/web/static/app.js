// therabill pages: the body diagram and the ICD-10 picker of the visit form (no inline script).
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
})();
