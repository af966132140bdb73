// Backupchecks web pages: small improvements only; every page works without this file.
"use strict";

function setBusy(form, busy) {
  var button = form.querySelector("button[type=submit]");
  if (busy) { form.dataset.busy = "1"; } else { delete form.dataset.busy; }
  if (!button) { return; }
  if (busy) {
    button.setAttribute("aria-busy", "true");
    // Disabled after the submit event, so a plain submission still sends the form.
    window.setTimeout(function () { button.disabled = true; }, 0);
  } else {
    button.disabled = false;
    button.removeAttribute("aria-busy");
  }
}

// A ticket action on Run Checks: post it in the background and replace only its run and the message, so the page
// keeps its place. The answer is the same page a plain submission would get (POST, then redirect, then GET).
function postInline(form, row) {
  fetch(form.action, { method: "POST", body: new FormData(form), credentials: "same-origin" })
    .then(function (response) {
      return response.text().then(function (html) { return { ok: response.ok, html: html }; });
    })
    .then(function (answer) {
      var fresh = new DOMParser().parseFromString(answer.html, "text/html");
      var newRow = fresh.getElementById(row.id);
      if (!answer.ok || !newRow) {  // signed out, refused, or the run is no longer listed: show the whole answer
        document.open(); document.write(answer.html); document.close();
        return;
      }
      row.replaceWith(newRow);
      var flash = fresh.querySelector(".flash");
      var old = document.querySelector("main > .flash");
      if (old) { old.remove(); }
      if (flash) { document.querySelector("main").prepend(flash); }
    })
    .catch(function () { setBusy(form, false); form.submit(); });
}

// "Create Autotask ticket" on Run Checks: fetch the ticket's preview (exactly what the create will send) and show it in
// the run's row, with its own "Create this ticket" button; without this file the preview is a page of its own.
function previewInline(form) {
  var url = form.action + "?" + new URLSearchParams(new FormData(form)).toString();
  fetch(url, { credentials: "same-origin" })
    .then(function (response) { return response.text(); })
    .then(function (html) {
      var preview = new DOMParser().parseFromString(html, "text/html").getElementById("ticket-preview");
      if (!preview) { window.location.assign(url); return; }  // refused: the page itself says why
      form.replaceWith(preview);
      var confirm = preview.querySelector("button[type=submit]");
      if (confirm) { confirm.focus(); }
    })
    .catch(function () { window.location.assign(url); });
}

document.addEventListener("submit", function (event) {
  var form = event.target;
  if (!(form instanceof HTMLFormElement)) { return; }
  if (form.dataset.busy === "1") { event.preventDefault(); return; }  // a double click never posts twice
  var question = form.dataset.confirm;
  if (question && !window.confirm(question)) { event.preventDefault(); return; }
  if (form.dataset.preview === "1" && window.fetch && window.DOMParser) {
    event.preventDefault();
    setBusy(form, true);
    previewInline(form);
    return;
  }
  var row = form.closest("li.run[id]");
  if (row && window.fetch && window.DOMParser && form.method === "post") {
    event.preventDefault();
    setBusy(form, true);
    postInline(form, row);
    return;
  }
  setBusy(form, true);
});

window.addEventListener("pageshow", function (event) {
  if (!event.persisted) { return; }  // back/forward cache: make the forms usable again
  document.querySelectorAll("form[data-busy]").forEach(function (form) { setBusy(form, false); });
});
