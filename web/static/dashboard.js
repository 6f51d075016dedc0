// A dashboard's charts, drawn with the vendored Apache ECharts from the
// numbers the server put in #dash-grid; a click on a bar, a slice or a
// point opens the list of its records. Changing the period or the unit
// (and every few minutes) reads the page again and swaps the charts in,
// without reloading it.
(function () {
  'use strict';
  var charts = [];

  function draw() {
    charts.forEach(function (c) { c.dispose(); });
    charts = [];
    var grid = document.getElementById('dash-grid');
    if (!grid || !window.echarts) return;
    var d = JSON.parse(grid.dataset.dashboard || '{}');
    (d.charts || []).forEach(function (ch) {
      var box = document.querySelector('#chart-' + CSS.escape(ch.key) + ' .dash-canvas');
      if (!box || ch.refused || !ch.series || !ch.series.length) return;
      var c = window.echarts.init(box);
      c.setOption(option(ch));
      c.on('click', function (e) {
        var pt = ch.series[e.dataIndex];
        if (pt && pt.list) window.location.href = pt.list;
      });
      box.dataset.drawn = 'true';
      charts.push(c);
    });
  }

  function option(ch) {
    var labels = ch.series.map(function (p) { return p.label; });
    var values = ch.series.map(function (p) { return p.value; });
    if (ch.type === 'pie') {
      return {
        animation: false,
        tooltip: { trigger: 'item', formatter: '{b}: {c} ({d}%)', renderMode: 'richText' },
        series: [{ type: 'pie', radius: ['35%', '65%'], avoidLabelOverlap: true, cursor: 'pointer',
          label: { formatter: '{b}\n{c}' },
          data: ch.series.map(function (p) { return { name: p.label, value: p.value }; }) }]
      };
    }
    var narrow = window.innerWidth < 600;
    return {
      animation: false,
      tooltip: { trigger: 'axis', renderMode: 'richText' },
      grid: { left: 8, right: 16, top: 16, bottom: 8, containLabel: true },
      xAxis: { type: 'category', data: labels,
        axisLabel: { interval: 0, rotate: (labels.length > 5 || narrow) ? 30 : 0, hideOverlap: true } },
      yAxis: { type: 'value' },
      series: [{ type: ch.type === 'line' ? 'line' : 'bar', data: values, cursor: 'pointer',
        symbolSize: 8, barMaxWidth: 48 }]
    };
  }

  function query(form) {
    var params = new URLSearchParams();
    new FormData(form).forEach(function (v, k) {
      if (v !== '' || k === 'range') params.set(k, v);
    });
    if (params.get('range') !== 'custom') { params.delete('from'); params.delete('to'); }
    return params;
  }

  function customShown(form) {
    var custom = form.querySelector('#dash-range').value === 'custom';
    form.querySelectorAll('.dash-custom').forEach(function (el) { el.hidden = !custom; });
  }

  function refresh(form) {
    var params = query(form);
    var url = window.location.pathname + '?' + params.toString();
    var status = document.getElementById('dash-status');
    var grid = document.getElementById('dash-grid');
    grid.setAttribute('aria-busy', 'true');
    return fetch(url, { headers: { Accept: 'text/html' }, credentials: 'same-origin' }).then(function (r) {
      if (!r.ok) throw new Error(String(r.status));
      return r.text();
    }).then(function (html) {
      var doc = new DOMParser().parseFromString(html, 'text/html');
      var fresh = doc.getElementById('dash-grid');
      if (!fresh) throw new Error('no grid');
      grid.replaceWith(fresh);
      history.replaceState(null, '', url);
      status.textContent = '';
      draw();
    }).catch(function () {
      status.textContent = status.dataset.failed;
      grid.removeAttribute('aria-busy');
    });
  }

  function start() {
    draw();
    var form = document.getElementById('dash-pickers');
    if (!form) return;
    customShown(form);
    form.addEventListener('submit', function (e) { e.preventDefault(); refresh(form); });
    form.addEventListener('change', function (e) {
      customShown(form);
      if (e.target.id === 'dash-range' && e.target.value === 'custom') return;
      refresh(form);
    });
    var every = parseInt(form.dataset.refresh || '0', 10);
    if (every > 0) setInterval(function () { if (!document.hidden) refresh(form); }, every * 1000);
    window.addEventListener('resize', function () { charts.forEach(function (c) { c.resize(); }); });
  }

  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
