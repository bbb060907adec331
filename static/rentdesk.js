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
  // A field with data-limit turns its hint (the element <id>-limit: "At most 200 characters.") into a warning while its
  // text is longer, and cuts nothing: a maxlength would cut a pasted name without a word; the app refuses a longer
  // one with the limit said, the text kept whole for the technician to shorten.
  function checkLimit(field) {
    var hint = document.getElementById(field.id + "-limit");
    if (hint) hint.classList.toggle("over", Array.from(field.value).length > Number(field.getAttribute("data-limit")));
  }
  document.addEventListener("input", function (event) {
    if (event.target.matches && event.target.matches("[data-limit]")) checkLimit(event.target);
  });
  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-limit]").forEach(checkLimit);
  });
  // The license editor previews as the technician types (after a short delay), and its summary is worked out
  // again after a sync or at its own second. Either fired while "Queue these licenses" is on its way would
  // replace (abort) the save: it is dropped instead, since the save's answer redraws the editor (or leaves the
  // page) anyway.
  var saving = 0;
  document.addEventListener("htmx:confirm", function (event) {
    var elt = event.detail.elt;
    if (saving && elt && (elt.id === "license-editor" || elt.id === "editor-summary")) event.preventDefault();
  });
  document.addEventListener("htmx:beforeRequest", function (event) {
    if (event.detail.elt && event.detail.elt.hasAttribute && event.detail.elt.hasAttribute("data-saves-editor")) saving += 1;
  });
  document.addEventListener("htmx:afterRequest", function (event) {
    if (event.detail.elt && event.detail.elt.hasAttribute && event.detail.elt.hasAttribute("data-saves-editor")) saving = Math.max(0, saving - 1);
  });
  // A form refused: the focus goes to its first field refused (aria-invalid), where its error is said, so a keyboard
  // user corrects it there instead of tabbing back from the top of the page. After a submit only (a form swapped in
  // place, or a page drawn again with the errors), never while a preview answers what is being typed.
  function focusRefused(root) {
    var field = root && root.querySelector ? root.querySelector("[aria-invalid=true]") : null;
    if (field && typeof field.focus === "function") field.focus();
  }
  document.addEventListener("DOMContentLoaded", function () { focusRefused(document); });
  document.addEventListener("htmx:afterSettle", function (event) {
    var config = event.detail.requestConfig;
    var how = config && config.triggeringEvent ? config.triggeringEvent.type : null;
    if (how !== "submit") return;
    var form = config.elt && config.elt.id ? document.getElementById(config.elt.id) : null;
    focusRefused(form || event.detail.target);
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
  // Issue 21: after a sync the page's watch (#sync-watch) fires rentdesk:synced, and each component showing synced
  // data ([data-refresh]) fetches itself again. None is swapped under the technician: not while a pointer is pressed
  // anywhere (a swap then moves or replaces what is being clicked, so the press and the release land on two
  // elements and the click is lost), nor while it holds the focused field, a form with something typed in it or
  // an opened <details>.
  // Such a swap is dropped and the component marked data-stale; it fetches itself again once the technician is done.
  var pressing = false;
  function isEdited(root) {
    var fields = root.querySelectorAll("input, textarea, select");
    for (var i = 0; i < fields.length; i++) {
      var field = fields[i];
      if (field.type === "hidden" || field.type === "submit" || field.type === "button") continue;
      if (field.type === "checkbox" || field.type === "radio") {
        if (field.checked !== field.defaultChecked) return true;
      } else if (field.tagName === "SELECT") {
        for (var j = 0; j < field.options.length; j++) {
          if (field.options[j].selected !== field.options[j].defaultSelected) return true;
        }
      } else if (field.value !== field.defaultValue) {
        return true;
      }
    }
    return false;
  }
  function isBusy(component) {
    if (pressing) return true;
    var active = document.activeElement;
    if (active && component.contains(active) && active.matches("input, textarea, select")) return true;
    if (component.querySelector("details[open]")) return true;  // being read: "why?", older answers
    return isEdited(component);
  }
  document.addEventListener("htmx:beforeSwap", function (event) {
    var target = event.detail.target;
    // only a component's own refresh (a search filling the accounts list is the technician's doing)
    if (!target || event.detail.elt !== target || !target.hasAttribute("data-refresh")) return;
    if (isBusy(target)) {
      event.detail.shouldSwap = false;
      target.setAttribute("data-stale", "");
    }
  });
  function refreshStale() {
    document.querySelectorAll("[data-refresh][data-stale]").forEach(function (component) {
      if (isBusy(component)) return;
      component.removeAttribute("data-stale");
      // not bubbling: only this component (hx-trigger "rentdesk:refresh" on itself)
      component.dispatchEvent(new CustomEvent("rentdesk:refresh", {bubbles: false}));
    });
  }
  function released() {
    pressing = false;
    setTimeout(refreshStale, 0);  // after the click this release makes
  }
  document.addEventListener("pointerdown", function () { pressing = true; }, true);
  document.addEventListener("pointerup", released, true);
  document.addEventListener("pointercancel", released, true);
  window.addEventListener("blur", released);  // released outside the window
  document.addEventListener("focusout", function () { setTimeout(refreshStale, 0); });
  document.addEventListener("htmx:afterRequest", function (event) {  // a form sent: its component may refresh
    if (event.detail.elt && event.detail.elt.tagName === "FORM") setTimeout(refreshStale, 0);
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
