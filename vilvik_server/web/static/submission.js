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
    if (!svg || points.length === 0 || !window.VilvikChart) return;
    function line(index) {
      return points.map(function (p) {
        return [p[0], typeof p[index] === "number" && isFinite(p[index]) ? p[index] : null];
      });
    }
    window.VilvikChart.update(svg, [{label: "best fitness", css: "best", points: line(1)},
                                    {label: "mean fitness", css: "mean", points: line(2)}]);
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
      if (window.VilvikChart) live.querySelectorAll("svg.chart[data-series]").forEach(window.VilvikChart.setup);
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
