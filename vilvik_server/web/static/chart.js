// The fitness chart, drawn in the browser at the size it is shown: axes fitted to the
// generations run and the values seen, a linear/log switch where every value has one
// sign, and a read-out of each line's value at the generation under the pointer.
// Without this script the server's SVG (same data) stays, so the page works without it.
(function () {
  "use strict";
  var SVG = "http://www.w3.org/2000/svg";
  var HEIGHT = 280, TOP = 14, RIGHT = 14, BOTTOM = 40;

  function el(name, attrs, text) {
    var node = document.createElementNS(SVG, name);
    Object.keys(attrs || {}).forEach(function (key) { node.setAttribute(key, attrs[key]); });
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function label(value) {
    // A real minus sign (U+2212), short: 4 significant digits, exponents for the very large or small.
    if (value === 0) return "0";
    var abs = Math.abs(value);
    var text = (abs >= 1e5 || abs < 1e-3) ? value.toExponential(1).replace("e+", "e") :
      String(Number(value.toPrecision(4)));
    return text.replace(/-/g, "\u2212");
  }

  function niceTicks(low, high, count) {
    var span = high - low, raw = span > 0 ? span / count : 1;
    var magnitude = Math.pow(10, Math.floor(Math.log10(raw)));
    var step = [1, 2, 2.5, 5, 10].map(function (m) { return m * magnitude; })
      .filter(function (s) { return s >= raw; })[0];
    var ticks = [], first = Math.ceil(low / step) * step;
    for (var i = 0; first + i * step <= high + step * 1e-9 && i < count * 3; i++) ticks.push(first + i * step);
    return ticks;
  }

  // The values of every line, and whether a log scale can show them (one sign, no zero spanning).
  function scales(series) {
    var values = [];
    series.forEach(function (s) { s.points.forEach(function (p) { if (p[1] !== null) values.push(p[1]); }); });
    var positive = values.length > 1 && values.every(function (v) { return v > 0; });
    var negative = values.length > 1 && values.every(function (v) { return v < 0; });
    return {values: values, log: positive ? 1 : (negative ? -1 : 0)};
  }

  function draw(svg) {
    var series = svg._series || [];
    var width = Math.max(300, Math.round(svg.getBoundingClientRect().width || 640));
    var info = scales(series), log = svg._log && info.log !== 0, sign = info.log;
    var last = 1;
    series.forEach(function (s) { s.points.forEach(function (p) { if (p[0] > last) last = p[0]; }); });
    // Log of |fitness|, its sign kept so that higher fitness stays higher (-0.01 above -10).
    var tv = function (v) { return log ? sign * Math.log10(Math.abs(v)) : v; };
    var shown = info.values.map(tv);
    var min = shown.length ? Math.min.apply(null, shown) : 0, max = shown.length ? Math.max.apply(null, shown) : 1;
    var pad = max > min ? (max - min) * 0.05 : Math.max(Math.abs(max) * 0.1, 1);
    var low = min - pad, high = max + pad;
    var yTicks = log ? niceTicks(Math.ceil(low), Math.floor(high), 5).filter(function (t) { return t === Math.round(t); })
      : niceTicks(low, high, width < 480 ? 4 : 5);
    if (log && yTicks.length < 2) yTicks = niceTicks(low, high, 4);
    var tickText = yTicks.map(function (t) { return label(log ? sign * Math.pow(10, sign * t) : t); });
    var left = 12 + 7.2 * Math.max.apply(null, tickText.map(function (t) { return t.length; }).concat([3]));
    var plotW = width - left - RIGHT, plotH = HEIGHT - TOP - BOTTOM;
    var x = function (g) { return left + plotW * g / last; };
    var y = function (v) { return TOP + plotH * (1 - (tv(v) - low) / (high - low)); };
    while (svg.firstChild) svg.removeChild(svg.firstChild);
    svg.setAttribute("viewBox", "0 0 " + width + " " + HEIGHT);
    svg.appendChild(el("title", {id: svg.id + "-title"}, "Fitness per generation"));
    svg.appendChild(el("desc", {id: svg.id + "-desc"}, svg.dataset.desc || ""));
    yTicks.forEach(function (t, i) {
      var at = TOP + plotH * (1 - (t - low) / (high - low));
      svg.appendChild(el("line", {"class": "grid", x1: left, x2: left + plotW, y1: at, y2: at}));
      svg.appendChild(el("text", {"class": "tick y", x: left - 6, y: at + 4}, tickText[i]));
    });
    niceTicks(0, last, width < 480 ? 4 : 6).filter(function (t) { return t === Math.round(t); }).forEach(function (t) {
      svg.appendChild(el("text", {"class": "tick x", x: x(t), y: TOP + plotH + 16}, String(t)));
    });
    svg.appendChild(el("text", {"class": "axis", x: left + plotW / 2, y: HEIGHT - 4},
                       "generation" + (log ? " \u00b7 log scale" : "")));
    svg.appendChild(el("rect", {"class": "frame", x: left, y: TOP, width: plotW, height: plotH}));
    series.forEach(function (s) {
      var pts = s.points.filter(function (p) { return p[1] !== null && (!log || p[1] !== 0); });
      svg.appendChild(el("polyline", {"class": "line " + s.css, points: pts.map(function (p) {
        return x(p[0]).toFixed(1) + "," + y(p[1]).toFixed(1); }).join(" ")}));
    });
    svg._geometry = {left: left, plotW: plotW, plotH: plotH, last: last, x: x, y: y, width: width};
    readout(svg, null);
  }

  function valueAt(points, generation) {
    var best = null;
    for (var i = 0; i < points.length && points[i][0] <= generation; i++) best = points[i];
    return best;
  }

  // A vertical line and a box with each line's value at the generation under the pointer.
  function readout(svg, clientX) {
    var old = svg.querySelector(".readout");
    if (old) old.remove();
    var box = svg.parentNode.querySelector(".chart-readout");
    var geo = svg._geometry;
    if (clientX === null || !geo) { if (box) box.textContent = box.dataset.idle || ""; return; }
    var rect = svg.getBoundingClientRect();
    var px = (clientX - rect.left) * geo.width / rect.width;
    var generation = Math.round(Math.min(Math.max((px - geo.left) / geo.plotW, 0), 1) * geo.last);
    var group = el("g", {"class": "readout"});
    group.appendChild(el("line", {x1: geo.x(generation), x2: geo.x(generation), y1: TOP, y2: TOP + geo.plotH}));
    var parts = ["generation " + generation];
    (svg._series || []).forEach(function (s) {
      var point = valueAt(s.points, generation);
      if (!point || point[1] === null) return;
      parts.push(s.label + " " + label(point[1]));
      group.appendChild(el("circle", {"class": "dot " + s.css, cx: geo.x(point[0]), cy: geo.y(point[1]), r: 3.5}));
    });
    svg.appendChild(group);
    if (box) box.textContent = parts.join(" \u00b7 ");
  }

  function setup(svg) {
    if (svg._ready) return;
    svg._ready = true;
    svg._series = JSON.parse(svg.dataset.series || "[]");
    svg._log = false;
    var figure = svg.parentNode;
    var box = document.createElement("p");
    box.className = "chart-readout";
    box.setAttribute("aria-live", "off");
    box.dataset.idle = "Point at the chart (or touch it) to read the values of a generation.";
    figure.insertBefore(box, svg.nextSibling);
    var toggle = document.createElement("button");
    toggle.type = "button";
    toggle.className = "chart-scale";
    toggle.setAttribute("aria-pressed", "false");
    toggle.textContent = "Log scale";
    toggle.addEventListener("click", function () {
      svg._log = !svg._log;
      toggle.setAttribute("aria-pressed", String(svg._log));
      draw(svg);
    });
    figure.insertBefore(toggle, svg);
    function refreshToggle() { toggle.hidden = scales(svg._series).log === 0; }
    svg._refreshToggle = refreshToggle;
    refreshToggle();
    ["mousemove", "touchmove", "touchstart"].forEach(function (kind) {
      svg.addEventListener(kind, function (event) {
        var point = event.touches ? event.touches[0] : event;
        readout(svg, point.clientX);
      }, {passive: true});
    });
    svg.addEventListener("mouseleave", function () { readout(svg, null); });
    draw(svg);
  }

  window.VilvikChart = {
    setup: setup,
    // The live chart: replace the lines' points ([[generation, value], ...] per series) and redraw.
    update: function (svg, series) {
      setup(svg);
      svg._series = series;
      svg._refreshToggle();
      draw(svg);
    }
  };

  function all() { document.querySelectorAll("svg.chart[data-series]").forEach(setup); }
  var resizing = null;
  window.addEventListener("resize", function () {
    clearTimeout(resizing);
    resizing = setTimeout(function () { document.querySelectorAll("svg.chart[data-series]").forEach(draw); }, 100);
  });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", all); else all();
})();
