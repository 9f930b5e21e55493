/* The public viewer of a shared document and the watch page of a shared video.
   Documents: one page at a time; the seconds spent on a page are sent when the reader moves to
   another page, when the tab is hidden or closed (a reader leaving mid-page), and every 15 s
   while reading. Hidden tabs do not count. Videos: the watch depth (25/50/75/100 %) and the
   seconds played. Beacons go to the link's own /beacon URL (same origin, strict CSP). */
(function () {
  "use strict";
  var FLUSH_EVERY_MS = 15000;

  function send(url, payload) {
    var body = JSON.stringify(payload);
    if (navigator.sendBeacon && navigator.sendBeacon(url, new Blob([body], {type: "application/json"}))) {
      return;
    }
    fetch(url, {method: "POST", body: body, headers: {"Content-Type": "application/json"},
                credentials: "same-origin", keepalive: true}).catch(function () {});
  }

  function documentViewer(root) {
    var url = root.dataset.beaconUrl, view = root.dataset.view;
    var pages = Array.prototype.slice.call(root.querySelectorAll(".viewer-page"));
    var total = pages.length, current = 1, since = null;
    var prev = document.getElementById("viewer-prev"), next = document.getElementById("viewer-next");
    var position = document.getElementById("viewer-position");
    var label = position.textContent;

    function elapsed() {
      if (since === null) { return 0; }
      var seconds = (performance.now() - since) / 1000;
      since = performance.now();
      return Math.min(seconds, 1800);
    }
    function flush() {
      var seconds = elapsed();
      if (seconds >= 0.2) { send(url, {view: view, page: current, seconds: Math.round(seconds * 10) / 10}); }
    }
    function show(number) {
      if (number < 1 || number > total || number === current) { return; }
      flush();
      current = number;
      pages.forEach(function (li) { li.hidden = Number(li.dataset.page) !== current; });
      position.textContent = label.replace(/\d+/, String(current));
      prev.disabled = current === 1;
      next.disabled = current === total;
      root.dataset.current = String(current);
      window.scrollTo(0, 0);
    }
    pages.forEach(function (li) { li.hidden = Number(li.dataset.page) !== 1; });
    root.dataset.current = "1";
    prev.addEventListener("click", function () { show(current - 1); });
    next.addEventListener("click", function () { show(current + 1); });
    document.addEventListener("keydown", function (event) {
      if (event.key === "ArrowRight" || event.key === "PageDown") { show(current + 1); }
      if (event.key === "ArrowLeft" || event.key === "PageUp") { show(current - 1); }
    });
    document.addEventListener("visibilitychange", function () {
      if (document.visibilityState === "hidden") { flush(); since = null; }
      else { since = performance.now(); }
    });
    window.addEventListener("pagehide", function () { flush(); since = null; });
    setInterval(function () { if (since !== null) { flush(); } }, FLUSH_EVERY_MS);
    since = document.visibilityState === "hidden" ? null : performance.now();
    send(url, {view: view, page: 1, seconds: 0});  // the session starts: the sender learns it now
  }

  function videoWatch(root) {
    var url = root.dataset.beaconUrl, view = root.dataset.view;
    var video = document.getElementById("watch-video");
    var reached = 0, played = 0, lastTime = null, started = false;
    function milestone() {
      if (!video.duration || !isFinite(video.duration)) { return 0; }
      var share = video.currentTime / video.duration;
      if (video.ended || share >= 0.99) { return 100; }
      return [75, 50, 25].filter(function (m) { return share * 100 >= m; })[0] || 0;
    }
    function report(force) {
      var m = milestone();
      if (m > reached || force) {
        if (m > reached) { reached = m; }
        send(url, {view: view, percent: reached, seconds: Math.round(played * 10) / 10});
        played = 0;
        root.dataset.reached = String(reached);
      }
    }
    video.addEventListener("play", function () {
      lastTime = video.currentTime;
      if (!started) { started = true; send(url, {view: view, percent: 0, seconds: 0}); }
    });
    video.addEventListener("timeupdate", function () {
      if (lastTime !== null && !video.paused) {
        var step = video.currentTime - lastTime;
        if (step > 0 && step < 5) { played += step; }  // seeking is not watching
      }
      lastTime = video.currentTime;
      report(false);
    });
    video.addEventListener("ended", function () { report(true); });
    window.addEventListener("pagehide", function () { if (played > 0.2) { report(true); } });
  }

  var doc = document.getElementById("content-viewer");
  if (doc) { documentViewer(doc); }
  var watch = document.getElementById("content-watch");
  if (watch) { videoWatch(watch); }
})();
