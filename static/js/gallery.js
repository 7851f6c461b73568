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
    function current() {
      return Math.round(track.scrollLeft / Math.max(track.clientWidth, 1));
    }
    function go(index) {
      var target = slides[Math.max(0, Math.min(slides.length - 1, index))];
      track.scrollTo({ left: target.offsetLeft - track.offsetLeft });
    }
    function update() {
      var index = current();
      prev.disabled = index <= 0;
      next.disabled = index >= slides.length - 1;
    }
    prev.addEventListener("click", function () { go(current() - 1); });
    next.addEventListener("click", function () { go(current() + 1); });
    track.addEventListener("scroll", function () { window.requestAnimationFrame(update); }, { passive: true });
    controls.hidden = false;
    update();
  }
  document.querySelectorAll("[data-gallery]").forEach(setUp);
})();
