// Live progress on a submission's page: follow the run's event stream (or poll when the
// stream is refused), draw the points into the live chart, and when the run ends swap in
// the server-rendered panel (final chart, result, usage, actions). No page reload.
(function () {
  "use strict";
  var live = document.getElementById("live");
  if (!live) return;
  var TERMINAL = ["succeeded", "failed", "cancelled"];
  if (TERMINAL.indexOf(live.dataset.status) >= 0) return;
  var announce = document.getElementById("announce");
  var points = [];  // [generation, best, mean]
  var finished = false;
  var SVG = "http://www.w3.org/2000/svg";

  function setField(name, text) {
    var node = live.querySelector('[data-field="' + name + '"]');
    if (node) node.textContent = text;
  }

  function show(value) {
    if (value === null || value === undefined) return "—";
    if (Array.isArray(value)) return value.map(show).join(", ");
    return typeof value === "number" ? String(Number(value.toPrecision(10))) : String(value);
  }

  function draw() {
    var svg = document.getElementById("live-chart");
    if (!svg || points.length === 0) return;
    var left = +svg.dataset.left, top = +svg.dataset.top, width = +svg.dataset.width,
        height = +svg.dataset.height, last = +svg.dataset.last || 1;
    var values = [];
    points.forEach(function (p) {
      [p[1], p[2]].forEach(function (v) { if (typeof v === "number" && isFinite(v)) values.push(v); });
    });
    if (values.length === 0) return;
    var min = Math.min.apply(null, values), max = Math.max.apply(null, values);
    var pad = max > min ? (max - min) * 0.05 : Math.max(Math.abs(max) * 0.1, 1);
    var low = min - pad, high = max + pad;
    function x(g) { return (left + width * g / last).toFixed(1); }
    function y(v) { return (top + height * (1 - (v - low) / (high - low))).toFixed(1); }
    [["best", 1], ["mean", 2]].forEach(function (pair) {
      var line = svg.querySelector("polyline." + pair[0]);
      if (!line) return;
      line.setAttribute("points", points.filter(function (p) {
        return typeof p[pair[1]] === "number" && isFinite(p[pair[1]]);
      }).map(function (p) { return x(p[0]) + "," + y(p[pair[1]]); }).join(" "));
    });
    // The server drew y ticks for an empty chart: relabel the two ends for this range.
    svg.querySelectorAll(".live-range").forEach(function (n) { n.remove(); });
    (max > min ? [min, max] : [max]).forEach(function (value) {
      var text = document.createElementNS(SVG, "text");
      text.setAttribute("class", "tick y live-range");
      text.setAttribute("x", left - 6);
      text.setAttribute("y", +y(value) + 4);
      text.textContent = String(Number(value.toPrecision(4)));
      svg.appendChild(text);
    });
    svg.querySelectorAll(".tick.y:not(.live-range), .grid").forEach(function (n) { n.remove(); });
  }

  function progress(data) {
    var badge = live.querySelector("#status-heading .status");
    if (badge && badge.textContent !== "running") { badge.textContent = "running"; badge.className = "status running"; }
    var bar = document.getElementById("progress-bar");
    if (bar) { bar.max = data.num_generations; bar.value = data.generations_completed; }
    setField("generations", data.generations_completed);
    setField("best", show(data.best_fitness));
    setField("mean", show(data.mean_fitness));
    var best = Array.isArray(data.best_fitness) ? data.best_fitness[0] : data.best_fitness;
    points.push([data.generations_completed, best, data.mean_fitness]);
    draw();
  }

  function refreshPanel(status) {
    if (finished) return;
    finished = true;
    fetch(live.dataset.panelUrl, {credentials: "same-origin"}).then(function (response) {
      if (!response.ok) throw new Error(response.status);
      return response.text();
    }).then(function (html) {
      live.innerHTML = html;
      live.dataset.status = status;
      if (announce) announce.textContent = "The run " + status + ".";
    }).catch(function () {
      if (announce) announce.textContent = "The run " + status + ". Reload the page to see the result.";
    });
  }

  function poll() {
    // The stream was refused (too many open) or broke: ask for the panel every two seconds.
    var timer = setInterval(function () {
      fetch(live.dataset.panelUrl, {credentials: "same-origin"}).then(function (r) { return r.text(); })
        .then(function (html) {
          var box = document.createElement("div");
          box.innerHTML = html;
          var badge = box.querySelector(".status");
          var status = badge ? badge.textContent.trim() : "";
          if (TERMINAL.indexOf(status) >= 0) { clearInterval(timer); refreshPanel(status); return; }
          ["generations", "best", "mean"].forEach(function (name) {
            var node = box.querySelector('[data-field="' + name + '"]');
            if (node) setField(name, node.textContent);
          });
          var fresh = box.querySelector("#progress-bar"), bar = document.getElementById("progress-bar");
          if (fresh && bar) bar.value = fresh.value;
        }).catch(function () {});
    }, 2000);
  }

  if (!window.EventSource) { poll(); return; }
  var source = new EventSource(live.dataset.eventsUrl);
  source.addEventListener("progress", function (event) { progress(JSON.parse(event.data)); });
  source.addEventListener("status", function (event) {
    source.close();
    var status = JSON.parse(event.data).status;
    if (status === "deleted") { finished = true; if (announce) announce.textContent = "The submission was deleted."; return; }
    refreshPanel(status);
  });
  source.onerror = function () {
    if (finished) return;
    source.close();
    poll();
  };
})();
