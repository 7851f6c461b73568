/* Reply form of an inbox thread (it works without this script): characters left,
   Ctrl/Cmd + Enter to send, and one submission per click. */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var form = document.querySelector("[data-reply-form]");
  if (!form) { return; }
  var field = form.querySelector("textarea");
  var count = form.querySelector("[data-reply-count]");
  var submit = form.querySelector("[data-reply-submit]");
  var limit = parseInt(field.getAttribute("maxlength"), 10) || 0;

  function update() {
    if (!count || !limit) { return; }
    var left = limit - field.value.length;
    count.textContent = left < 500 ? left + " characters left." : "";
  }
  field.addEventListener("input", update);
  field.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && (event.ctrlKey || event.metaKey)) {
      event.preventDefault();
      if (typeof form.requestSubmit === "function") { form.requestSubmit(); } else { form.submit(); }
    }
  });
  form.addEventListener("submit", function (event) {
    if (!field.value.trim()) { return; }  // the server says what is missing
    if (submit.disabled) { event.preventDefault(); return; }
    submit.disabled = true;
    submit.textContent = "Sending…";
  });
  update();
})();
