// The Overview charts (uPlot): each element of class "chart" carries its data in data-series (see Chart.java):
// the span, the hours, and series of values per hour, each on the scale of its unit (left axis, then right axis).
(function () {
  "use strict";
  if (typeof uPlot === "undefined") {
    return;
  }
  var palette = ["#0b57d0", "#a4161a", "#1e7b34", "#7b3fa0", "#b35c00", "#00727a"];
  Array.prototype.forEach.call(document.querySelectorAll(".chart[data-series]"), function (element) {
    var data = JSON.parse(element.getAttribute("data-series"));
    if (data.hours.length === 0) {
      element.textContent = element.getAttribute("data-empty") || "No data in this period.";
      return;
    }
    var series = [{ label: "Hour (UTC)" }];
    var columns = [data.hours];
    data.series.forEach(function (one, index) {
      var right = data.units.indexOf(one.unit) === 1;
      series.push({ label: one.label === one.unit ? one.label : one.label + " (" + one.unit + ")", scale: one.unit, stroke: palette[index % palette.length], width: 2,
        dash: right ? [6, 4] : undefined, points: { show: true }, spanGaps: false });
      columns.push(one.values.map(function (value) { return value === null ? null : Number(value); }));
    });
    var scales = { x: { time: true, range: [data.from, data.to] } };
    var axes = [{}];
    data.units.forEach(function (unit, index) {
      scales[unit] = { range: function (u, min, max) { return [0, Math.max(index === 0 ? 10 : 0.000001, max * 1.1)]; } };
      axes.push({ label: unit, scale: unit, side: index === 0 ? 3 : 1, grid: { show: index === 0 } });
    });
    var width = Math.max(320, element.clientWidth - 16);
    // The x axis always spans the period the page shows, however few hours have data.
    new uPlot({ width: width, height: 260, series: series, axes: axes, scales: scales }, columns, element);
    element.setAttribute("data-rendered", "true");
  });
})();
