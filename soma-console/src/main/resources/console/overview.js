// The Overview chart: tokens per hour by model (uPlot), from the data the page carries in data-series.
(function () {
  "use strict";
  var element = document.getElementById("usage-chart");
  if (!element || typeof uPlot === "undefined") {
    return;
  }
  var data = JSON.parse(element.getAttribute("data-series"));
  if (data.hours.length === 0) {
    element.textContent = "No usage in the last 48 hours.";
    return;
  }
  var palette = ["#0b57d0", "#a4161a", "#1e7b34", "#7b3fa0", "#b35c00", "#00727a"];
  var series = [{ label: "Hour (UTC)" }];
  var columns = [data.hours];
  data.series.forEach(function (one, index) {
    series.push({ label: one.model + " tokens", stroke: palette[index % palette.length], width: 2, points: { show: true } });
    columns.push(one.tokens);
  });
  var width = Math.max(320, element.clientWidth - 16);
  // The x axis always spans the 48 hours the page shows, however few hours have usage.
  var scales = { x: { time: true, range: [data.from, data.to] }, y: { range: function (u, min, max) { return [0, Math.max(10, max * 1.1)]; } } };
  new uPlot({ width: width, height: 260, series: series, axes: [{}, { label: "tokens" }], scales: scales }, columns, element);
  element.setAttribute("data-rendered", "true");
})();
