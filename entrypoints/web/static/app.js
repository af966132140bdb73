// Backupchecks web pages: small improvements only; every page works without this file.
"use strict";
document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement)) { return; }
  if (form.dataset.busy === "1") { event.preventDefault(); return; }  // a double click never posts twice
  var question = form.dataset.confirm;
  if (question && !window.confirm(question)) { event.preventDefault(); return; }
  form.dataset.busy = "1";
  var button = form.querySelector("button[type=submit]");
  if (button) {
    button.setAttribute("aria-busy", "true");
    // Disabled after the submit event, so the browser still sends the form.
    window.setTimeout(function () { button.disabled = true; }, 0);
  }
});
window.addEventListener("pageshow", function (event) {
  if (!event.persisted) { return; }  // back/forward cache: make the forms usable again
  document.querySelectorAll("form[data-busy]").forEach(function (form) {
    delete form.dataset.busy;
    var button = form.querySelector("button[type=submit]");
    if (button) { button.disabled = false; button.removeAttribute("aria-busy"); }
  });
});
