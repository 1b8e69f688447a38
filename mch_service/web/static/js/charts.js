/* Trend charts of the monitoring pages, drawn by ECharts (vendored, served by the service) with
   the SVG renderer so that they print. The data comes from the page itself: a data-chart
   attribute with JSON written by the server (no inline script: the CSP forbids it).
   - #trend-chart: one indicator period by period, the plan's target as a markLine.
   - #quality-chart: an institution's data-quality counts month by month. */
(function () {
  "use strict";

  function read(el) {
    try {
      return JSON.parse(el.getAttribute("data-chart"));
    } catch (e) {
      return null;
    }
  }

  function start(el) {
    var chart = echarts.init(el, null, { renderer: "svg" });
    window.addEventListener("resize", function () { chart.resize(); });
    window.addEventListener("beforeprint", function () { chart.resize(); });
    return chart;
  }

  function indicatorChart(el, d) {
    var valueName = d.labels.value + (d.unit ? "（" + d.unit + "）" : "");
    var series = [{
      name: valueName,
      type: "line",
      data: d.values,
      connectNulls: false,
      symbolSize: 8,
      label: { show: true, formatter: function (p) { return p.value == null ? "" : Number(p.value).toFixed(1); } },
      lineStyle: { width: 2, color: "#0b6e4f" },
      itemStyle: { color: "#0b6e4f" }
    }];
    var legend = [valueName];
    if (d.target !== null && d.target !== undefined) {
      var targetName = d.labels.target + " " + (d.direction === "<=" ? "≤" : d.direction === "<" ? "<" : "≥") + d.target + d.unit;
      // the target as a markLine on an empty series of its own, so it has a legend entry
      series.push({
        name: targetName,
        type: "line",
        data: [],
        lineStyle: { color: "#b42318", type: "dashed" },
        itemStyle: { color: "#b42318" },
        markLine: {
          silent: true,
          symbol: "none",
          lineStyle: { color: "#b42318", type: "dashed", width: 2 },
          label: { formatter: targetName, position: "insideEndTop" },
          data: [{ yAxis: d.target, name: targetName }]
        }
      });
      legend.push(targetName);
    }
    var top = Math.max.apply(null, d.values.filter(function (v) { return v !== null; }).concat([d.target || 0]));
    start(el).setOption({
      animation: false,
      title: { text: d.title, left: "center", textStyle: { fontSize: 14 } },
      legend: { data: legend, bottom: 0 },
      grid: { left: 56, right: 32, top: 48, bottom: 64 },
      tooltip: {
        trigger: "axis",
        formatter: function (items) {
          var i = items[0].dataIndex;
          var c = d.counts[i];
          var v = d.values[i];
          return d.periods[i] + "<br>" + d.labels.value + ": " + (v == null ? "—" : Number(v).toFixed(2) + d.unit) +
            "<br>" + d.labels.numerator + "/" + d.labels.denominator + ": " + c[0] + "/" + c[1] +
            (d.flags[i].length ? "<br>" + d.flags[i].join("，") : "");
        }
      },
      xAxis: { type: "category", data: d.periods, name: d.labels.period, nameLocation: "middle", nameGap: 28 },
      yAxis: { type: "value", name: d.unit, min: 0, max: d.unit === "%" && top <= 100 ? 100 : null },
      series: series
    });
  }

  function qualityChart(el, d) {
    var colours = ["#b42318", "#8a4b00", "#6941c6", "#0a5c8a", "#0b6e4f"];
    start(el).setOption({
      animation: false,
      title: { text: d.title, left: "center", textStyle: { fontSize: 14 } },
      legend: { data: d.series.map(function (s) { return s.name; }), bottom: 0 },
      grid: { left: 56, right: 32, top: 48, bottom: 64 },
      tooltip: { trigger: "axis" },
      xAxis: { type: "category", data: d.periods },
      yAxis: { type: "value", minInterval: 1 },
      series: d.series.map(function (s, i) {
        return { name: s.name, type: "line", data: s.values, symbolSize: 6, itemStyle: { color: colours[i % colours.length] }, lineStyle: { color: colours[i % colours.length] } };
      })
    });
  }

  function draw() {
    if (typeof echarts === "undefined") { return; }
    var el = document.getElementById("trend-chart");
    var d = el && read(el);
    if (d) { indicatorChart(el, d); el.setAttribute("data-drawn", "true"); }
    el = document.getElementById("quality-chart");
    d = el && read(el);
    if (d) { qualityChart(el, d); el.setAttribute("data-drawn", "true"); }
  }

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", draw);
  } else {
    draw();
  }
})();
