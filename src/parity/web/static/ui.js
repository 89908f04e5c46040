// Draws every <canvas data-chart="ID"> from the JSON in <script type="application/json" id="ID">.
// Chart configurations are built on the server (parity/web/charts.py); tick formats are named
// under "parity" because JSON cannot carry functions.
(function () {
  "use strict";

  function formatter(kind) {
    if (kind === "usd") {
      return function (value) {
        const v = Number(value);
        if (Math.abs(v) >= 1e6) return "$" + (v / 1e6).toLocaleString(undefined, {maximumFractionDigits: 2}) + "M";
        if (Math.abs(v) >= 1e3) return "$" + (v / 1e3).toLocaleString(undefined, {maximumFractionDigits: 1}) + "k";
        if (Math.abs(v) >= 1 || v === 0) return "$" + v.toLocaleString(undefined, {maximumFractionDigits: 2});
        return "$" + v.toPrecision(2);
      };
    }
    if (kind === "tokens") {
      return function (value) {
        const v = Number(value);
        if (v >= 1e9) return (v / 1e9).toLocaleString() + "B";
        if (v >= 1e6) return (v / 1e6).toLocaleString() + "M";
        if (v >= 1e3) return (v / 1e3).toLocaleString() + "k";
        return v.toLocaleString();
      };
    }
    if (kind === "percent") {
      return function (value) { return Math.round(Number(value) * 100) + "%"; };
    }
    return null;
  }

  function draw(canvas) {
    const source = document.getElementById(canvas.dataset.chart);
    if (!source || typeof Chart === "undefined") return;
    const config = JSON.parse(source.textContent);
    const formats = config.parity || {};
    delete config.parity;
    for (const axis of Object.keys(formats)) {
      const format = formatter(formats[axis]);
      const scale = config.options.scales[axis];
      if (format && scale) {
        const log = scale.type === "logarithmic";
        scale.ticks = Object.assign({}, scale.ticks, {
          callback: function (value) {
            // A log axis gets a tick per integer; label only 1, 2 and 5 of each decade.
            if (log) {
              const lead = Number(value) / Math.pow(10, Math.floor(Math.log10(Number(value))));
              if (![1, 2, 5].some(function (m) { return Math.abs(lead - m) < 1e-6; })) return "";
            }
            return format(value);
          },
        });
      }
    }
    new Chart(canvas, config);
    canvas.dataset.drawn = "true";
  }

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("canvas[data-chart]").forEach(draw);
    document.body.dataset.chartsReady = "true";
  });
})();
