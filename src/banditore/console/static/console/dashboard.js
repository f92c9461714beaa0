// The dashboard's subscriber chart: the series from /console/dati/iscritti.json, drawn by uPlot.
(function () {
  "use strict";
  var box = document.getElementById("subscriber-chart");
  if (!box || typeof uPlot === "undefined") return;
  fetch(box.dataset.src, { credentials: "same-origin" })
    .then(function (r) { return r.json(); })
    .then(function (data) {
      var width = Math.max(280, box.clientWidth || 600);
      new uPlot({
        width: width,
        height: 220,
        series: [{}, { label: box.dataset.label, stroke: "#0066cc", width: 2 }],
        axes: [{}, {}],
        legend: { show: true },
      }, [data.days, data.active], box);
    });
})();
