// Property photo gallery: previous/next buttons for the scroll-snap strip. Without
// this script the strip still scrolls (touch, trackpad, arrow keys when focused).
(function () {
  "use strict";
  function setUp(gallery) {
    var track = gallery.querySelector(".gallery-track");
    var controls = gallery.querySelector("[data-gallery-controls]");
    if (!track || !controls) return;
    var slides = track.querySelectorAll(".gallery-slide");
    var prev = controls.querySelector("[data-gallery-prev]");
    var next = controls.querySelector("[data-gallery-next]");
    // The slide a button click is heading for, until the scroll settles: a second
    // click during the smooth scroll moves on from there, not from mid-way.
    var target = null;
    var settle = null;
    function clamp(index) {
      return Math.max(0, Math.min(slides.length - 1, index));
    }
    function current() {
      if (target !== null) return target;
      return clamp(Math.round(track.scrollLeft / Math.max(track.clientWidth, 1)));
    }
    function update() {
      var index = current();
      prev.disabled = index <= 0;
      next.disabled = index >= slides.length - 1;
    }
    function go(delta) {
      target = clamp(current() + delta);
      track.scrollTo({ left: slides[target].offsetLeft - track.offsetLeft });
      update();
    }
    prev.addEventListener("click", function () { go(-1); });
    next.addEventListener("click", function () { go(1); });
    track.addEventListener("scroll", function () {
      window.clearTimeout(settle);
      settle = window.setTimeout(function () { target = null; update(); }, 150);
    }, { passive: true });
    controls.hidden = false;
    update();
  }
  document.querySelectorAll("[data-gallery]").forEach(setUp);
})();
