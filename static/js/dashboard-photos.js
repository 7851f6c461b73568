/* A property's photo page: drop or choose many files, each uploaded straight to
   storage with its own progress bar (request an upload from the owner API, POST the
   bytes to the URL it names — S3's presigned POST, or the app's local stand-in —,
   then confirm), new photos added to the list, their processing state followed until
   ready, and reordering by dragging or by the Earlier/Later buttons.
   Without this script the page is plain forms: a multipart upload, move buttons that
   submit, and the Publish button, which this script leaves to the browser as well. */
(function () {
  "use strict";
  var form = document.querySelector("[data-photo-form]");
  var uploadForm = document.querySelector("[data-upload-form]");
  if (!form || !uploadForm || !window.fetch || !window.FormData || !window.Promise) { return; }
  document.documentElement.classList.add("js");

  var list = form.querySelector("[data-photo-list]");
  var template = document.querySelector("[data-photo-template]");
  var uploads = document.querySelector("[data-upload-list]");
  var input = uploadForm.querySelector("input[type=file]");
  var dropzone = uploadForm.querySelector("[data-dropzone]");
  var emptyNote = form.querySelector("[data-empty-note]");
  var moveStatus = form.querySelector("[data-move-status]");
  var progressBox = document.querySelector("[data-progress]");
  var csrf = form.querySelector("input[name=csrfmiddlewaretoken]").value;
  var requestUrl = uploadForm.getAttribute("data-request-url");
  var confirmUrl = uploadForm.getAttribute("data-confirm-url");
  var listUrl = uploadForm.getAttribute("data-list-url");
  var maxBytes = parseInt(uploadForm.getAttribute("data-max-bytes"), 10);
  var accepted = uploadForm.getAttribute("data-accept").split(",");
  var PARALLEL = 3;
  var BADGES = {
    uploaded: ["Uploaded", "neutral"],
    processing: ["Processing", "info"],
    ready: ["Ready", "ok"],
    failed: ["Failed", "bad"]
  };
  var queue = [];
  var active = 0;
  var pollTimer = null;
  var pollDelay = 2000;

  // --- Talking to the owner API (session cookie + CSRF token) -------------------------

  function readError(text, status) {
    try {
      var data = JSON.parse(text);
      if (data && data.error && data.error.message) { return data.error.message; }
    } catch (e) { /* not JSON: S3 answers XML */ }
    if (status === 400 || status === 403) { return "The storage refused the file (" + status + ")."; }
    return "The server answered " + status + "; try again.";
  }

  function api(url, body) {
    var options = {
      method: body ? "POST" : "GET",
      credentials: "same-origin",
      headers: { "Accept": "application/json", "X-CSRFToken": csrf }
    };
    if (body) {
      options.headers["Content-Type"] = "application/json";
      options.body = JSON.stringify(body);
    }
    return fetch(url, options).then(function (response) {
      return response.text().then(function (text) {
        if (!response.ok) { throw new Error(readError(text, response.status)); }
        return JSON.parse(text);
      });
    });
  }

  // --- Uploads ------------------------------------------------------------------------

  function uploadItem(file) {
    var li = document.createElement("li");
    li.className = "upload-item";
    var name = document.createElement("span");
    name.className = "upload-name";
    name.textContent = file.name;
    var status = document.createElement("span");
    status.className = "upload-status";
    status.setAttribute("role", "status");
    var bar = document.createElement("progress");
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", "Upload of " + file.name);
    li.appendChild(name);
    li.appendChild(status);
    li.appendChild(bar);
    uploads.appendChild(li);
    return {
      file: file,
      bar: bar,
      say: function (text) { status.textContent = text; },
      fail: function (text) {
        li.classList.add("is-failed");
        bar.hidden = true;
        status.textContent = "Not added: " + text;
      }
    };
  }

  function post(ticket, job) {
    return new Promise(function (resolve, reject) {
      var data = new FormData();
      Object.keys(ticket.fields).forEach(function (key) { data.append(key, ticket.fields[key]); });
      data.append("file", job.file);
      var xhr = new XMLHttpRequest();
      xhr.open("POST", ticket.url);
      xhr.upload.addEventListener("progress", function (event) {
        if (!event.lengthComputable) { return; }
        var pct = Math.min(99, Math.round((event.loaded / event.total) * 100));
        job.bar.value = pct;
        job.say(pct + "%");
      });
      xhr.addEventListener("load", function () {
        if (xhr.status >= 200 && xhr.status < 300) { resolve(); } else { reject(new Error(readError(xhr.responseText, xhr.status))); }
      });
      xhr.addEventListener("error", function () { reject(new Error("the upload was interrupted; try again.")); });
      xhr.send(data);
    });
  }

  function uploadOne(job) {
    job.say("Starting…");
    return api(requestUrl, { filename: job.file.name, content_type: job.file.type, size: job.file.size })
      .then(function (ticket) { return post(ticket, job).then(function () { return ticket; }); })
      .then(function (ticket) {
        job.say("Checking…");
        return api(confirmUrl, { token: ticket.token });
      })
      .then(function (photo) {
        job.bar.value = 100;
        job.say("Uploaded; processing");
        addRow(photo);
        poll(pollDelay);
      })
      .catch(function (error) { job.fail(error.message); });
  }

  function pump() {
    while (active < PARALLEL && queue.length) {
      active += 1;
      uploadOne(queue.shift()).then(function () {
        active -= 1;
        pump();
      });
    }
  }

  function enqueue(files) {
    Array.prototype.forEach.call(files, function (file) {
      var job = uploadItem(file);
      if (accepted.indexOf(file.type) === -1) {
        job.fail("not a JPEG, PNG or WebP image.");
      } else if (file.size > maxBytes) {
        job.fail("larger than " + Math.round(maxBytes / 1048576) + " MB.");
      } else {
        job.say("Waiting");
        queue.push(job);
      }
    });
    pump();
  }

  input.addEventListener("change", function () {
    enqueue(input.files);
    input.value = "";
  });
  function hasFiles(event) {
    return event.dataTransfer && Array.prototype.indexOf.call(event.dataTransfer.types, "Files") !== -1;
  }
  dropzone.addEventListener("dragover", function (event) {
    if (!hasFiles(event)) { return; }
    event.preventDefault();
    dropzone.classList.add("is-over");
  });
  dropzone.addEventListener("dragleave", function () { dropzone.classList.remove("is-over"); });
  dropzone.addEventListener("drop", function (event) {
    if (!hasFiles(event)) { return; }
    event.preventDefault();
    dropzone.classList.remove("is-over");
    enqueue(event.dataTransfer.files);
  });
  // A file dropped beside the zone must not replace the page (and lose typed text).
  window.addEventListener("dragover", function (event) { if (hasFiles(event)) { event.preventDefault(); } });
  window.addEventListener("drop", function (event) { if (hasFiles(event)) { event.preventDefault(); } });

  // --- The photo list ------------------------------------------------------------------

  function rowOf(id) { return list.querySelector('[data-photo-id="' + id + '"]'); }

  function showState(li, photo) {
    var badge = li.querySelector("[data-badge]");
    var names = BADGES[photo.state] || BADGES.uploaded;
    li.setAttribute("data-state", photo.state);
    badge.textContent = names[0];
    badge.className = "badge badge-" + names[1];
    li.querySelector("[data-public]").textContent = photo.public ? "On your site" : (photo.state === "failed" ? "Not shown" : "Not shown yet");
    var failure = li.querySelector("[data-failure]");
    failure.hidden = !photo.failure_reason;
    failure.textContent = photo.failure_reason ? "Why it failed: " + photo.failure_reason : "";
    var thumb = li.querySelector("[data-thumb]");
    if (photo.thumbnail_url && !thumb.querySelector("img")) {
      var img = document.createElement("img");
      img.src = photo.thumbnail_url;
      img.alt = "";
      img.width = 160;
      img.height = Math.round((160 * photo.height) / Math.max(photo.width, 1));
      thumb.textContent = "";
      thumb.appendChild(img);
    }
  }

  function addRow(photo) {
    if (rowOf(photo.id)) { return; }
    var holder = document.createElement("ol");
    holder.innerHTML = template.innerHTML.replace(/__ID__/g, String(photo.id)).trim();
    var li = holder.firstElementChild;
    li.querySelector("#alt-" + photo.id).value = photo.alt_text;
    li.querySelector("#caption-" + photo.id).value = photo.caption;
    list.appendChild(li);
    li.draggable = true;
    showState(li, photo);
    emptyNote.hidden = true;
    renumber();
  }

  function renumber() {
    var rows = list.querySelectorAll("[data-photo-id]");
    Array.prototype.forEach.call(rows, function (li, index) {
      li.querySelector("[data-number]").textContent = "Photo " + (index + 1);
      Array.prototype.forEach.call(li.querySelectorAll("[data-move-label]"), function (span) {
        span.textContent = " (photo " + (index + 1) + ")";
      });
    });
  }

  function announce(li) {
    var rows = Array.prototype.slice.call(list.querySelectorAll("[data-photo-id]"));
    moveStatus.textContent = "Moved to position " + (rows.indexOf(li) + 1) + " of " + rows.length + ". Publish to keep this order.";
  }

  function showProgress(data) {
    if (!progressBox) { return; }
    var shown = data.photos.filter(function (p) { return p.public; }).length;
    var text = data.progress.label;
    if (data.progress.failed) { text += " · " + data.progress.failed + " failed"; }
    progressBox.textContent = text + " · " + shown + " on your site";
  }

  function pending() {
    return list.querySelector('[data-state="uploaded"], [data-state="processing"]') !== null;
  }

  function poll(delay) {
    if (pollTimer) { return; }
    pollTimer = window.setTimeout(function () {
      pollTimer = null;
      api(listUrl).then(function (data) {
        data.photos.forEach(function (photo) {
          var li = rowOf(photo.id);
          if (li) { showState(li, photo); }
        });
        showProgress(data);
        if (pending() || active || queue.length) { poll(pollDelay); }
      }).catch(function () { poll(pollDelay * 4); });
    }, delay);
  }

  // Earlier / Later: move in the page (Publish saves the order); focus stays on the button.
  list.addEventListener("click", function (event) {
    var button = event.target.closest("[data-move]");
    if (!button) { return; }
    event.preventDefault();
    var li = button.closest("[data-photo-id]");
    if (button.getAttribute("data-move") === "-1") {
      if (li.previousElementSibling) { list.insertBefore(li, li.previousElementSibling); }
    } else if (li.nextElementSibling) {
      list.insertBefore(li.nextElementSibling, li);
    }
    renumber();
    button.focus();
    announce(li);
  });

  // Dragging a photo onto another puts it before or after it (by the pointer's half).
  var dragged = null;
  function target(event) {
    var li = event.target.closest ? event.target.closest("[data-photo-id]") : null;
    return li && li !== dragged && li.parentNode === list ? li : null;
  }
  function clearTargets() {
    Array.prototype.forEach.call(list.querySelectorAll(".is-drop-target"), function (li) { li.classList.remove("is-drop-target"); });
  }
  Array.prototype.forEach.call(list.querySelectorAll("[data-photo-id]"), function (li) { li.draggable = true; });
  list.addEventListener("dragstart", function (event) {
    var li = event.target.closest ? event.target.closest("[data-photo-id]") : null;
    if (!li || event.target.closest("input")) { return; }
    dragged = li;
    li.classList.add("is-dragging");
    event.dataTransfer.effectAllowed = "move";
    event.dataTransfer.setData("text/plain", li.getAttribute("data-photo-id"));
  });
  list.addEventListener("dragover", function (event) {
    if (!dragged) { return; }
    event.preventDefault();
    clearTargets();
    var li = target(event);
    if (li) { li.classList.add("is-drop-target"); }
  });
  list.addEventListener("drop", function (event) {
    if (!dragged) { return; }
    event.preventDefault();
    var li = target(event);
    if (li) {
      var box = li.getBoundingClientRect();
      list.insertBefore(dragged, event.clientY > box.top + box.height / 2 ? li.nextSibling : li);
      renumber();
      announce(dragged);
    }
  });
  list.addEventListener("dragend", function () {
    if (dragged) { dragged.classList.remove("is-dragging"); }
    dragged = null;
    clearTargets();
  });

  if (pending()) { poll(pollDelay); }
})();
