/* Progressive enhancement of the property page: the date form, the guests choice and
   the calendar's date links update the quote and the calendar in place. Without this
   script the same links and form reload the page with identical results. */
(function () {
  "use strict";
  var cal = document.getElementById("calendar");
  if (!cal || !window.fetch || !window.DOMParser) return;

  function refresh(url, focusDay) {
    fetch(url, { headers: { "X-Requested-With": "fetch" }, credentials: "same-origin" })
      .then(function (r) { return r.ok ? r.text() : Promise.reject(r.status); })
      .then(function (html) {
        var doc = new DOMParser().parseFromString(html, "text/html");
        var quote = document.getElementById("quote-result");
        var newQuote = doc.getElementById("quote-result");
        var newCal = doc.getElementById("calendar");
        if (!quote || !newQuote || !newCal) { window.location.href = url; return; }
        // The form itself is kept (focus stays where the visitor is typing); only its
        // values follow a date picked in the calendar.
        ["check_in", "check_out", "guests"].forEach(function (id) {
          var mine = document.getElementById(id), theirs = doc.getElementById(id);
          if (mine && theirs && mine !== document.activeElement) mine.value = theirs.value;
        });
        quote.innerHTML = newQuote.innerHTML;
        cal.innerHTML = newCal.innerHTML;
        history.replaceState(null, "", url);
        if (focusDay) {
          var again = cal.querySelector('a[data-day="' + focusDay + '"]');
          if (again) again.focus();
        }
      })
      .catch(function () { window.location.href = url; });
  }

  function formUrl(form) {
    var params = new URLSearchParams(new FormData(form));
    return window.location.pathname + "?" + params.toString();
  }

  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form.classList || !form.classList.contains("date-form")) return;
    event.preventDefault();
    refresh(formUrl(form));
  });

  document.addEventListener("change", function (event) {
    var form = event.target.form;
    if (!form || !form.classList.contains("date-form")) return;
    if (form.check_in.value && form.check_out.value) refresh(formUrl(form));
  });

  document.addEventListener("click", function (event) {
    var link = event.target.closest ? event.target.closest("#calendar a") : null;
    if (!link || event.ctrlKey || event.metaKey || event.shiftKey) return;
    event.preventDefault();
    refresh(link.getAttribute("href").split("#")[0], link.getAttribute("data-day"));
  });
})();
