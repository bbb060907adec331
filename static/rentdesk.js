/* RentDesk: the few behaviours htmx does not cover. No inline scripts (CSP script-src 'self'). */
(function () {
  "use strict";
  // Typed confirmation (R13): the delete button stays disabled until the exact text is typed.
  function wireConfirm(root) {
    root.querySelectorAll("input[data-confirm-text]").forEach(function (input) {
      var button = document.getElementById(input.getAttribute("data-confirm-button"));
      if (!button) return;
      var check = function () {
        button.disabled = input.value.trim() !== input.getAttribute("data-confirm-text");
      };
      input.addEventListener("input", check);
      check();
    });
  }
  document.addEventListener("DOMContentLoaded", function () { wireConfirm(document); });
  document.addEventListener("htmx:afterSwap", function (event) { wireConfirm(event.target); });
  // Long work (sync, backup): while the request runs, show its progress bar, which then polls itself.
  document.addEventListener("htmx:beforeRequest", function (event) {
    var form = event.detail.elt;
    if (!form || !form.getAttribute || !form.getAttribute("data-progress-url")) return;
    setTimeout(function () {
      htmx.ajax("GET", form.getAttribute("data-progress-url"),
                {target: form.getAttribute("data-progress-target"), swap: "outerHTML"});
    }, 150);
  });
})();
