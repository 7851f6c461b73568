/* Calendar: pick nights to block by clicking a free night, then the last night, on one
   property's row. Fills the block form below (which works without this script). */
(function () {
  "use strict";
  document.documentElement.classList.add("js");
  var form = document.getElementById("block-form");
  if (!form) { return; }
  var propertyField = form.querySelector("[name=property]");
  var startField = form.querySelector("[name=start]");
  var endField = form.querySelector("[name=end]");
  var anchor = null;

  function iso(date) { return date.toISOString().slice(0, 10); }
  function nextDay(value) {
    var d = new Date(value + "T00:00:00Z");
    d.setUTCDate(d.getUTCDate() + 1);
    return iso(d);
  }
  function clear() {
    document.querySelectorAll(".cal-free.is-selected").forEach(function (cell) {
      cell.classList.remove("is-selected");
    });
  }
  function mark(row, from, to) {
    clear();
    row.querySelectorAll(".cal-free").forEach(function (cell) {
      var day = cell.getAttribute("data-date");
      if (day >= from && day <= to) { cell.classList.add("is-selected"); }
    });
  }

  document.addEventListener("click", function (event) {
    var cell = event.target.closest ? event.target.closest(".cal-free") : null;
    if (!cell) { return; }
    var row = cell.closest(".cal-row");
    var property = row.getAttribute("data-property");
    var day = cell.getAttribute("data-date");
    if (anchor && anchor.property === property && day >= anchor.day) {
      mark(row, anchor.day, day);
      startField.value = anchor.day;
      endField.value = nextDay(day);
      anchor = null;
      form.scrollIntoView({ block: "center" });
      form.querySelector("[name=note]").focus({ preventScroll: true });
      return;
    }
    anchor = { property: property, day: day };
    propertyField.value = property;
    startField.value = day;
    endField.value = nextDay(day);
    mark(row, day, day);
  });

  document.addEventListener("keydown", function (event) {
    if (event.key === "Escape" && anchor) { anchor = null; clear(); }
  });
})();
