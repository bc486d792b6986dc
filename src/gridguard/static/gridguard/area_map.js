/* Draw the boundaries of the areas below the current one with ECharts (no tile server). */
(function () {
  function draw() {
    var el = document.getElementById("area-map");
    var data = document.getElementById("area-geojson");
    if (!el || !data || !window.echarts) return;
    var geo = JSON.parse(data.textContent);
    echarts.registerMap("gg-area", geo);
    var chart = echarts.init(el);
    chart.setOption({
      tooltip: { trigger: "item", formatter: function (p) { return p.name; } },
      series: [{
        type: "map", map: "gg-area", roam: true, nameProperty: "name",
        label: { show: true, fontSize: 11 },
        itemStyle: { areaColor: "#fdecee", borderColor: "#c8102e" },
        emphasis: { itemStyle: { areaColor: "#f7c1c9" } },
        data: geo.features.map(function (f) { return { name: f.properties.name, code: f.properties.code }; })
      }]
    });
    chart.on("click", function (p) {
      if (p.data && p.data.code) window.location.href = "/territory/" + encodeURIComponent(p.data.code) + "/";
    });
    window.addEventListener("resize", function () { chart.resize(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", draw);
  else draw();
})();
