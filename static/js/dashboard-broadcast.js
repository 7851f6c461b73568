/* Broadcast progress: polls the page's JSON counts every few seconds until every email
   is out. Without this script the page shows the counts as loaded, and a Refresh link. */
(function () {
  "use strict";
  var card = document.querySelector("[data-progress-url]");
  if (!card || !window.fetch) { return; }
  var url = card.getAttribute("data-progress-url");
  var bar = card.querySelector("[data-bar]");
  var summary = card.querySelector("[data-summary]");
  var announce = card.querySelector("[data-announce]");
  var note = card.querySelector("[data-live-note]");
  var delay = 3000;
  var failures = 0;

  function show(name, value) {
    var cell = card.querySelector('[data-count="' + name + '"]');
    if (cell) { cell.textContent = String(value); }
  }

  function update(data) {
    show("queued", data.queued);
    show("sent", data.sent);
    show("failed", data.failed);
    show("not_sent", data.skipped + data.cancelled);
    if (bar) {
      bar.max = Math.max(data.total, 1);
      bar.value = data.total ? data.total - data.queued : 1;
    }
    if (summary) { summary.textContent = data.summary; }
    if (data.done) {
      card.setAttribute("data-done", "");
      if (announce) { announce.textContent = data.summary; }
      if (note) { note.hidden = true; }
    }
  }

  function poll() {
    fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (response) {
        if (!response.ok || response.redirected) { throw new Error("HTTP " + response.status); }
        return response.json();
      })
      .then(function (data) {
        failures = 0;
        update(data);
        if (!data.done) { window.setTimeout(poll, delay); }
      })
      .catch(function () {
        // Signed out or offline: stop after a few tries; the Refresh link still works.
        failures += 1;
        if (failures < 3) { window.setTimeout(poll, delay * 2); }
        else if (note) { note.hidden = true; }
      });
  }

  if (!card.hasAttribute("data-done")) {
    if (note) { note.hidden = false; }
    window.setTimeout(poll, delay);
  }
})();
