// Planner pages: draws the demand chart of each family and the calibration reliability chart
// with the vendored Chart.js (crm/static/vendor). The data comes from <script
// type="application/json"> blocks rendered by the server: the CSP forbids inline scripts, and
// JSON blocks are data, not code. Clicking a month of a demand chart opens the deals behind it.
(function () {
  "use strict";

  if (typeof window.Chart === "undefined") { return; }

  var COLORS = {
    baseline: "#9aa7bd",
    weighted: "#2e5bdb",
    band: "rgba(46, 91, 219, 0.14)",
    bandEdge: "rgba(46, 91, 219, 0.35)",
    demand: "#d97706",
    actual: "#1c2330",
    stage: "#9a6200",
    calibrated: "#17804a",
    grid: "#e3e6eb",
    text: "#4b5565"
  };
  var numbers = new Intl.NumberFormat(undefined, { maximumFractionDigits: 1 });
  var percent = new Intl.NumberFormat(undefined, { style: "percent", maximumFractionDigits: 0 });

  Chart.defaults.font.family = getComputedStyle(document.body).fontFamily;
  Chart.defaults.color = COLORS.text;
  Chart.defaults.animation = false; // figures, not a show; also keeps screenshots deterministic

  function readData(canvas, attribute) {
    var block = document.getElementById(canvas.getAttribute(attribute));
    if (!block) { return null; }
    try { return JSON.parse(block.textContent); } catch (e) { return null; }
  }

  function line(label, data, color, extra) {
    var dataset = {
      type: "line", label: label, data: data, borderColor: color, backgroundColor: color,
      borderWidth: 2, pointRadius: 2, pointHoverRadius: 4, fill: false, spanGaps: false,
      stack: label, order: 1
    };
    Object.keys(extra || {}).forEach(function (key) { dataset[key] = extra[key]; });
    return dataset;
  }

  function demandDatasets(data) {
    // The band is stepped so each month gets a flat 10-90 % range centred on its bar, not a
    // slope that suggests values between months.
    var band = { borderWidth: 1, pointRadius: 0, pointHoverRadius: 0, stepped: "middle", order: 2, pointStyle: "rect" };
    return [
      { type: "bar", label: "Baseline", data: data.baseline, backgroundColor: COLORS.baseline,
        stack: "demand", order: 3, borderRadius: 2, pointStyle: "rect" },
      { type: "bar", label: "Weighted pipeline", data: data.weighted, backgroundColor: COLORS.weighted,
        stack: "demand", order: 3, borderRadius: 2, pointStyle: "rect" },
      // "high" fills down to "low", the dataset declared just before it.
      line("Band low", data.low, COLORS.bandEdge, band),
      line("Band 10–90 %", data.high, COLORS.bandEdge,
        Object.assign({}, band, { fill: "-1", backgroundColor: COLORS.band })),
      line("Demand input", data.demand_input, COLORS.demand,
        { borderDash: [6, 4], pointRadius: 0, pointHoverRadius: 4, pointStyle: "line", order: 1 }),
      line("Actual orders", data.actual, COLORS.actual, { pointRadius: 3, pointStyle: "circle", order: 0 })
    ];
  }

  function openDrillDown(chart, event, data) {
    var hits = chart.getElementsAtEventForMode(event, "index", { intersect: false }, false);
    if (!hits.length) { return; }
    var url = data.drill[hits[0].index];
    if (url) { window.location.assign(url); }
  }

  function drawDemand(canvas) {
    var data = readData(canvas, "data-demand-chart");
    if (!data) { return; }
    new Chart(canvas, {
      data: { labels: data.labels, datasets: demandDatasets(data) },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        interaction: { mode: "index", intersect: false },
        scales: {
          x: { stacked: true, grid: { display: false } },
          y: { stacked: true, beginAtZero: true, grid: { color: COLORS.grid },
               title: { display: true, text: canvas.getAttribute("data-unit") || "units" } }
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12, usePointStyle: true,
            // Datasets in the order they are declared (not drawing order); the band once.
            sort: function (a, b) { return a.datasetIndex - b.datasetIndex; },
            filter: function (item) { return item.text !== "Band low"; } } },
          tooltip: { itemSort: function (a, b) { return a.datasetIndex - b.datasetIndex; }, callbacks: {
            label: function (ctx) {
              if (ctx.parsed.y === null || ctx.dataset.label === "Band low") { return null; }
              if (ctx.dataset.label === "Band 10–90 %") {
                return ctx.dataset.label + ": " + numbers.format(data.low[ctx.dataIndex]) + " – " +
                  numbers.format(ctx.parsed.y);
              }
              return ctx.dataset.label + ": " + numbers.format(ctx.parsed.y);
            },
            footer: function (items) {
              return items.length && data.drill[items[0].dataIndex] ? "Click to see the deals" : "";
            }
          } }
        },
        onClick: function (event, _elements, chart) { openDrillDown(chart, event, data); },
        onHover: function (event, elements) {
          event.native.target.classList.toggle("clickable", elements.length > 0);
        }
      }
    });
  }

  function drawReliability(canvas) {
    var data = readData(canvas, "data-reliability-chart");
    if (!data) { return; }
    var datasets = data.sources.map(function (source) {
      var color = COLORS[source.source] || COLORS.weighted;
      return { type: "line", label: source.source === "stage" ? "Stage defaults" : "Calibrated",
               data: source.points, borderColor: color, backgroundColor: color, pointRadius: 4,
               showLine: true, fill: false };
    });
    datasets.push({ type: "line", label: "Perfect calibration", data: [{ x: 0, y: 0 }, { x: 1, y: 1 }],
                    borderColor: "#b9c0cb", borderDash: [4, 4], pointRadius: 0, borderWidth: 1 });
    new Chart(canvas, {
      type: "scatter",
      data: { datasets: datasets },
      options: {
        responsive: true,
        maintainAspectRatio: false,
        scales: {
          x: { type: "linear", min: 0, max: 1, title: { display: true, text: "Predicted win probability" },
               ticks: { callback: function (v) { return percent.format(v); } }, grid: { color: COLORS.grid } },
          y: { min: 0, max: 1, title: { display: true, text: "Actual win rate" },
               ticks: { callback: function (v) { return percent.format(v); } }, grid: { color: COLORS.grid } }
        },
        plugins: {
          legend: { position: "bottom", labels: { boxWidth: 12, boxHeight: 12 } },
          tooltip: { callbacks: { label: function (ctx) {
            var point = ctx.raw || {};
            return ctx.dataset.label + ": predicted " + percent.format(ctx.parsed.x) + ", won " +
              percent.format(ctx.parsed.y) + (point.n ? " (" + point.n + " deals)" : "");
          } } }
        }
      }
    });
  }

  document.querySelectorAll("canvas[data-demand-chart]").forEach(drawDemand);
  document.querySelectorAll("canvas[data-reliability-chart]").forEach(drawReliability);
})();
