// The error summary (templates/includes/error_summary.html): focused when the page loads, so a
// screen reader reads it and a keyboard starts from it; its links move the focus to the field
// they name (to the first input of a group of radio buttons, or of a material's section).
(function () {
  "use strict";
  var summary = document.querySelector("[data-error-summary]");
  if (!summary) return;
  summary.focus();
  summary.addEventListener("click", function (event) {
    var link = event.target.closest("a[href^='#']");
    if (!link) return;
    var target = document.getElementById(decodeURIComponent(link.hash.slice(1)));
    if (!target) return;
    var focusable = target.matches("input, select, textarea, button")
      ? target
      : target.querySelector("input:not([type=hidden]), select, textarea, button");
    if (!focusable) return;
    event.preventDefault();
    target.scrollIntoView({ block: "center" });
    focusable.focus({ preventScroll: true });
  });
})();
