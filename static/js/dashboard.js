/* Charts of the reporting dashboard, drawn from the figures the page embeds as JSON
   (#report-data, the same document as GET /api/v1/reports/summary). Chart.js is vendored. */
(function () {
  "use strict";

  var SEVERITY_COLORS = {info: "#8a94a6", low: "#3d8bd9", medium: "#e0a526", high: "#e06c26", critical: "#c62828"};

  function label(iso, bucket) {
    var date = new Date(iso);
    var day = date.toISOString().slice(0, 10);
    return bucket === "hour" ? day + " " + date.toISOString().slice(11, 16) : day;
  }

  // Axis labels, legends and grid lines in the page's theme (soar.css --chart-text/--chart-grid):
  // Chart.js's defaults are dark grey on transparent, unreadable on the dark theme.
  function themeColors() {
    var style = window.getComputedStyle(document.documentElement);
    var text = style.getPropertyValue("--chart-text").trim();
    var grid = style.getPropertyValue("--chart-grid").trim();
    if (text) { window.Chart.defaults.color = text; }
    if (grid) { window.Chart.defaults.borderColor = grid; }
  }

  function draw(data) {
    if (typeof window.Chart === "undefined") { return; }
    themeColors();
    var bucket = data.range.bucket;
    var volume = document.getElementById("chart-volume");
    if (volume) {
      new window.Chart(volume, {
        type: "line",
        data: {
          labels: data.volume.map(function (row) { return label(row.t, bucket); }),
          datasets: [
            {label: "Cases", data: data.volume.map(function (row) { return row.cases; }), borderColor: "#3d5afe",
             backgroundColor: "rgba(61,90,254,.15)", fill: true, tension: 0.2, pointRadius: 0},
            {label: "Alerts", data: data.volume.map(function (row) { return row.alerts; }), borderColor: "#e06c26",
             tension: 0.2, pointRadius: 0, yAxisID: "alerts"}
          ]
        },
        options: {
          animation: false, interaction: {mode: "index", intersect: false},
          scales: {y: {beginAtZero: true, title: {display: true, text: "cases"}},
                   alerts: {beginAtZero: true, position: "right", grid: {drawOnChartArea: false},
                            title: {display: true, text: "alerts"}}}
        }
      });
    }
    var severity = document.getElementById("chart-severity");
    if (severity) {
      var names = Object.keys(data.severity.cases);
      new window.Chart(severity, {
        type: "bar",
        data: {
          labels: names,
          datasets: [
            {label: "Cases", data: names.map(function (n) { return data.severity.cases[n]; }),
             backgroundColor: names.map(function (n) { return SEVERITY_COLORS[n] || "#888"; })},
            {label: "Alerts", data: names.map(function (n) { return data.severity.alerts[n]; }),
             backgroundColor: names.map(function (n) { return (SEVERITY_COLORS[n] || "#888") + "66"; })}
          ]
        },
        options: {animation: false, scales: {y: {beginAtZero: true}}}
      });
    }
    var sources = document.getElementById("chart-sources");
    if (sources) {
      new window.Chart(sources, {
        type: "bar",
        data: {
          labels: data.top_sources.map(function (row) { return row.source; }),
          datasets: [{label: "Alerts", data: data.top_sources.map(function (row) { return row.alerts; }),
                      backgroundColor: "#3d8bd9"}]
        },
        options: {animation: false, indexAxis: "y", plugins: {legend: {display: false}},
                  scales: {x: {beginAtZero: true}}}
      });
    }
  }

  document.addEventListener("DOMContentLoaded", function () {
    // A preset range replaces the custom dates (which would otherwise win).
    var days = document.getElementById("r-days");
    if (days) {
      days.addEventListener("change", function () {
        ["r-from", "r-to"].forEach(function (id) { var input = document.getElementById(id); if (input) { input.value = ""; } });
      });
    }
    var node = document.getElementById("report-data");
    if (node) { draw(JSON.parse(node.textContent)); }
  });
})();
