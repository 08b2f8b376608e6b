// therabill intake form: click the body diagram to mark the areas to avoid (no inline script).
(function () {
  "use strict";

  function field() { return document.getElementById("avoid_regions"); }

  function marked() {
    var input = field();
    return input && input.value ? input.value.split(",").filter(Boolean) : [];
  }

  function show(list) {
    var text = document.getElementById("avoid-text");
    var names = [];
    document.querySelectorAll("[data-avoid-region]").forEach(function (g) {
      var id = g.getAttribute("data-avoid-region");
      var on = list.indexOf(id) >= 0;
      g.classList.toggle("avoid", on);
      g.setAttribute("aria-pressed", on ? "true" : "false");
      if (on) names.push(g.getAttribute("aria-label").replace(" (do not work here)", ""));
    });
    if (text) text.textContent = names.length ? names.join(", ") : "none";
  }

  function toggle(g) {
    var input = field();
    if (!input) return;
    var id = g.getAttribute("data-avoid-region");
    var list = marked();
    var at = list.indexOf(id);
    if (at >= 0) list.splice(at, 1); else list.push(id);
    input.value = list.join(",");
    show(list);
  }

  document.addEventListener("click", function (event) {
    var g = event.target.closest ? event.target.closest("[data-avoid-region]") : null;
    if (g) toggle(g);
  });

  document.addEventListener("keydown", function (event) {
    var g = event.target.closest ? event.target.closest("[data-avoid-region]") : null;
    if (g && (event.key === "Enter" || event.key === " ")) { event.preventDefault(); toggle(g); }
  });

  document.addEventListener("DOMContentLoaded", function () { if (field()) show(marked()); });
})();
