// The console's own script (progressive enhancement only: every page works without it).
// Live countdowns: every <time data-countdown datetime="…"> shows the time left until (or past)
// its moment, in the page's language, refreshed every second.
(function () {
  "use strict";
  var root = document.documentElement;
  var left = root.getAttribute("data-left") || "%t left";
  var late = root.getAttribute("data-late") || "%t late";
  function span(ms) {
    var s = Math.floor(Math.abs(ms) / 1000);
    var h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60), r = s % 60;
    var pad = function (n) { return (n < 10 ? "0" : "") + n; };
    return (h > 0 ? h + ":" + pad(m) : m) + ":" + pad(r);
  }
  function tick() {
    var now = Date.now();
    var els = document.querySelectorAll("time[data-countdown]");
    for (var i = 0; i < els.length; i++) {
      var el = els[i];
      var at = Date.parse(el.getAttribute("datetime"));
      if (isNaN(at)) { continue; }
      var out = el.nextElementSibling;
      if (!out || !out.classList.contains("countdown")) {
        out = document.createElement("span");
        out.className = "countdown";
        el.parentNode.insertBefore(out, el.nextSibling);
      }
      var d = at - now;
      out.textContent = " (" + (d >= 0 ? left : late).replace("%t", span(d)) + ")";
      out.classList.toggle("late", d < 0);
    }
  }
  document.addEventListener("DOMContentLoaded", function () {
    tick();
    setInterval(tick, 1000);
  });
  document.addEventListener("htmx:afterSwap", tick);
  // A file input with data-progress shows the upload's progress in the element it names.
  document.addEventListener("htmx:xhr:progress", function (e) {
    var bar = document.getElementById(e.target.getAttribute("data-progress") || "");
    if (bar && e.detail.lengthComputable) {
      bar.value = Math.round((e.detail.loaded / e.detail.total) * 100);
    }
  });
})();
