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
  // The license editor previews as the technician types (after a short delay). A preview fired while
  // "Queue these licenses" is on its way would replace (abort) the save: it is dropped instead, since the
  // save's answer redraws the editor (or leaves the page) anyway.
  var saving = 0;
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    if (saving && elt && elt.id === "license-editor") event.preventDefault();
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.hasAttribute && event.detail.elt.hasAttribute("data-saves-editor")) saving += 1;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt && event.detail.elt.hasAttribute && event.detail.elt.hasAttribute("data-saves-editor")) saving = Math.max(0, saving - 1);
  });
  // rentdesk demo: "Use this key" puts a demo activation key in the key field, ready for "Load key".
  document.addEventListener("click", function (event) {
    // Settings: a folder found on this computer goes in the backup field the same way (data-fill-value).
    var button = event.target.closest ? event.target.closest("[data-fill-key], [data-fill-value]") : null;
    if (!button) return;
    var input = document.getElementById(button.getAttribute("data-fill-target"));
    if (!input) return;
    input.value = button.getAttribute("data-fill-key") || button.getAttribute("data-fill-value");
    input.focus();
  });
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
