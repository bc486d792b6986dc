/* A gate's day as grouped bars per hour (entries, refused, visitors, vehicles) with ECharts.
   The numbers come from the page (json_script "hourly-data"); the table beside it holds the
   same figures for screen readers and for phones without JavaScript. */
(function () {
  function draw() {
    var el = document.getElementById("hourly-chart");
    var data = document.getElementById("hourly-data");
    if (!el || !data || !window.echarts) return;
    var d = JSON.parse(data.textContent);
    var colours = ["#2e7d32", "#c8102e", "#1565c0", "#6d4c41"];
    var chart = echarts.init(el);
    chart.setOption({
      color: colours,
      tooltip: { trigger: "axis" },
      legend: { top: 0 },
      grid: { left: 32, right: 8, top: 32, bottom: 24 },
      xAxis: { type: "category", data: d.hours, axisLabel: { interval: 2 } },
      yAxis: { type: "value", minInterval: 1 },
      series: d.series.map(function (s) { return { name: s.name, type: "bar", data: s.data }; })
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
