/* The call player of conversation review (templates/reviews/player.html). Vanilla JS under
   the strict CSP: no inline handlers; the page's data comes from the JSON block #player-data.

   - waveform on a canvas from the recording's peaks, progress, comment and tracker marks;
     a click seeks there and fills the comment's "at second" field;
   - who-talks-when bands from the speech segments per side;
   - play/pause, ±5 s, speed 1×/1.25×/1.5×/2×, keyboard shortcuts (listed on the page);
   - every [data-seek] button (transcript lines, comments, tracker marks) jumps the audio;
   - ?t=<seconds> in the address starts there. */
(function () {
  "use strict";

  var audio = document.getElementById("review-audio");
  var wave = document.getElementById("waveform");
  var dataNode = document.getElementById("player-data");
  if (!audio || !wave || !dataNode) { return; }
  var data = JSON.parse(dataNode.textContent || "{}");
  var bands = document.getElementById("bands");
  var playButton = document.getElementById("play");
  var speedSelect = document.getElementById("speed");
  var current = document.getElementById("current");
  var commentAt = document.getElementById("comment-at");
  var commentBody = document.getElementById("comment-body");
  var lines = Array.prototype.slice.call(document.querySelectorAll("#transcript-lines li"));
  var SPEEDS = [1, 1.25, 1.5, 2];
  var COLORS = { wave: "#9aa5b1", played: "#1f6feb", rep: "#1f6feb", prospect: "#d97706",
                 comment: "#b42318", tracker: "#067647", cursor: "#111827" };

  function duration() {
    return data.duration || (isFinite(audio.duration) ? audio.duration : 0) || 0;
  }

  function clock(seconds) {
    var s = Math.max(0, Math.floor(seconds || 0));
    return Math.floor(s / 60) + ":" + String(s % 60).padStart(2, "0");
  }

  function fit(canvas) {
    var ratio = window.devicePixelRatio || 1;
    var width = canvas.clientWidth || canvas.parentNode.clientWidth || 600;
    var height = parseInt(canvas.getAttribute("height"), 10) || 80;
    canvas.width = Math.round(width * ratio);
    canvas.height = Math.round(height * ratio);
    canvas.style.height = height + "px";
    var ctx = canvas.getContext("2d");
    ctx.setTransform(ratio, 0, 0, ratio, 0, 0);
    return { ctx: ctx, width: width, height: height };
  }

  function xOf(seconds, width) {
    var total = duration();
    return total ? (seconds / total) * width : 0;
  }

  function drawWave() {
    var c = fit(wave);
    var peaks = data.peaks || [];
    var played = xOf(audio.currentTime, c.width);
    var mid = c.height / 2;
    c.ctx.clearRect(0, 0, c.width, c.height);
    var n = peaks.length || 1;
    var step = c.width / n;
    for (var i = 0; i < peaks.length; i++) {
      var x = i * step;
      var h = Math.max(1, peaks[i] * (c.height - 8));
      c.ctx.fillStyle = x < played ? COLORS.played : COLORS.wave;
      c.ctx.fillRect(x, mid - h / 2, Math.max(1, step - 0.5), h);
    }
    marks(c, data.marks || [], COLORS.tracker, c.height - 6, 6);
    marks(c, data.comments || [], COLORS.comment, 0, 8);
    c.ctx.fillStyle = COLORS.cursor;
    c.ctx.fillRect(played, 0, 2, c.height);
    wave.setAttribute("aria-valuenow", audio.currentTime.toFixed(1));
    wave.setAttribute("aria-valuetext", clock(audio.currentTime));
  }

  function marks(c, list, color, y, size) {
    c.ctx.fillStyle = color;
    list.forEach(function (mark) {
      var x = xOf(mark.at, c.width);
      c.ctx.fillRect(x - 2, y, 4, size);
    });
  }

  function drawBands() {
    if (!bands) { return; }
    var c = fit(bands);
    c.ctx.clearRect(0, 0, c.width, c.height);
    var rows = [["rep", 0], ["prospect", c.height / 2], ["speech", 0]];
    rows.forEach(function (row) {
      var spans = (data.segments || {})[row[0]] || [];
      c.ctx.fillStyle = row[0] === "prospect" ? COLORS.prospect : COLORS.rep;
      spans.forEach(function (span) {
        var x0 = xOf(span[0], c.width), x1 = xOf(span[1], c.width);
        c.ctx.fillRect(x0, row[1] + 2, Math.max(1, x1 - x0), c.height / 2 - 4);
      });
    });
  }

  function seek(seconds, play) {
    var total = duration();
    var target = Math.max(0, total ? Math.min(seconds, total) : seconds);
    audio.currentTime = target;
    if (play) { audio.play().catch(function () { /* autoplay refused: the user presses play */ }); }
    tick();
  }

  function toggle() {
    if (audio.paused) { audio.play().catch(function () {}); } else { audio.pause(); }
  }

  function setSpeed(value) {
    audio.playbackRate = value;
    if (speedSelect) { speedSelect.value = String(value); }
  }

  function nextSpeed() {
    var i = SPEEDS.indexOf(audio.playbackRate);
    setSpeed(SPEEDS[(i + 1) % SPEEDS.length]);
  }

  function commentNow(seconds) {
    if (!commentAt) { return; }
    commentAt.value = (Math.round(seconds * 10) / 10).toFixed(1);
    commentAt.dispatchEvent(new Event("change"));
    if (commentBody) { commentBody.focus(); }
  }

  function highlight() {
    var t = audio.currentTime;
    lines.forEach(function (li) {
      var on = t >= parseFloat(li.dataset.start) && t < parseFloat(li.dataset.end);
      li.classList.toggle("current", on);
    });
  }

  function tick() {
    if (current) { current.textContent = clock(audio.currentTime); }
    drawWave();
    highlight();
  }

  wave.addEventListener("click", function (event) {
    var rect = wave.getBoundingClientRect();
    var seconds = ((event.clientX - rect.left) / rect.width) * duration();
    seek(seconds, false);
    commentNow(seconds);
    wave.dataset.clickedAt = seconds.toFixed(2);
  });

  document.addEventListener("click", function (event) {
    var target = event.target.closest("[data-seek]");
    if (target) {
      event.preventDefault();
      seek(parseFloat(target.dataset.seek), true);
      return;
    }
    var fill = event.target.closest("[data-fill]");
    if (fill) {
      var input = document.getElementById(fill.dataset.fill);
      if (input) { input.value = audio.currentTime.toFixed(1); }
    }
  });

  if (playButton) { playButton.addEventListener("click", toggle); }
  var back = document.getElementById("back");
  var forward = document.getElementById("forward");
  if (back) { back.addEventListener("click", function () { seek(audio.currentTime - 5, false); }); }
  if (forward) { forward.addEventListener("click", function () { seek(audio.currentTime + 5, false); }); }
  if (speedSelect) { speedSelect.addEventListener("change", function () { setSpeed(parseFloat(speedSelect.value)); }); }
  var commentButton = document.getElementById("comment-now");
  if (commentButton) { commentButton.addEventListener("click", function () { commentNow(audio.currentTime); }); }

  audio.addEventListener("play", function () {
    if (playButton) { playButton.textContent = "Pause"; playButton.setAttribute("aria-pressed", "true"); }
  });
  audio.addEventListener("pause", function () {
    if (playButton) { playButton.textContent = "Play"; playButton.setAttribute("aria-pressed", "false"); }
  });
  audio.addEventListener("timeupdate", tick);
  audio.addEventListener("seeked", tick);
  audio.addEventListener("loadedmetadata", function () { drawWave(); drawBands(); });
  window.addEventListener("resize", function () { drawWave(); drawBands(); });

  document.addEventListener("keydown", function (event) {
    var tag = (event.target.tagName || "").toLowerCase();
    if (tag === "input" || tag === "textarea" || tag === "select" || event.target.isContentEditable) { return; }
    if (event.ctrlKey || event.metaKey || event.altKey) { return; }
    var key = event.key;
    var handled = true;
    if (key === " " || key === "k" || key === "K") { toggle(); }
    else if (key === "ArrowLeft") { seek(audio.currentTime - 5, false); }
    else if (key === "ArrowRight") { seek(audio.currentTime + 5, false); }
    else if (key === "j" || key === "J") { seek(audio.currentTime - 15, false); }
    else if (key === "l" || key === "L") { seek(audio.currentTime + 15, false); }
    else if (key === "s" || key === "S") { nextSpeed(); }
    else if ((key === "c" || key === "C") && commentAt) { event.preventDefault(); commentNow(audio.currentTime); }
    else { handled = false; }
    if (handled) { event.preventDefault(); }
  });

  var start = parseFloat(new URLSearchParams(window.location.search).get("t"));
  if (isFinite(start) && start > 0) {
    if (audio.readyState >= 1) { seek(start, false); }
    else { audio.addEventListener("loadedmetadata", function () { seek(start, false); }, { once: true }); }
  }
  drawWave();
  drawBands();
})();
