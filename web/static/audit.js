// The audit page's activity chart: events per day, stacked by store or
// department and by person, drawn with the vendored Apache ECharts from
// the counts the server put in #audit-chart-data.
(function () {
  'use strict';
  function draw() {
    var el = document.getElementById('audit-chart-data');
    if (!el || !window.echarts) return;
    var d = JSON.parse(el.dataset.chart || '{}');
    document.querySelectorAll('.audit-chart').forEach(function (box) {
      var series = (d[box.dataset.chartKind] || []).map(function (s) {
        return { name: s.name, type: 'bar', stack: 'all', data: s.data, emphasis: { focus: 'series' } };
      });
      var chart = window.echarts.init(box);
      chart.setOption({
        animation: false,
        tooltip: { trigger: 'axis', axisPointer: { type: 'shadow' } },
        legend: { type: 'scroll', bottom: 0 },
        grid: { left: 40, right: 12, top: 12, bottom: 48 },
        xAxis: { type: 'category', data: d.days || [] },
        yAxis: { type: 'value', minInterval: 1 },
        series: series
      });
      box.dataset.drawn = 'true';
      window.addEventListener('resize', function () { chart.resize(); });
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', draw);
  else draw();
})();
