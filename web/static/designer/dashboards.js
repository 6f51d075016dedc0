// The designer's dashboards page: the add-chart form offers only the
// chosen form's fields, a field to measure only when the measure needs one,
// and the columns only for a pivot table. The server checks all of it again.
(function () {
  'use strict';
  function fit(form) {
    var chosen = form.querySelector('[data-form]').value;
    form.querySelectorAll('optgroup[data-for-form]').forEach(function (g) {
      var mine = g.dataset.forForm === chosen;
      g.hidden = !mine;
      g.disabled = !mine;
      var sel = g.parentElement;
      if (!mine && sel.selectedOptions[0] && sel.selectedOptions[0].parentElement === g) sel.value = '';
    });
    var type = form.querySelector('[data-type]').value;
    var op = form.querySelector('[data-op]').value;
    form.querySelector('[data-needs-measure]').hidden = op === 'count';
    form.querySelector('[data-group="columns"]').hidden = type !== 'pivot';
    form.querySelector('[data-group="group"]').hidden = type === 'number';
  }
  function start() {
    // a delete asks first; without scripts it goes straight through
    document.addEventListener('click', function (e) {
      var b = e.target.closest && e.target.closest('button[data-confirm]');
      if (b && !window.confirm(b.dataset.confirm)) e.preventDefault();
    });
    document.querySelectorAll('[data-chart-form]').forEach(function (form) {
      fit(form);
      form.addEventListener('change', function () { fit(form); });
    });
  }
  if (document.readyState === 'loading') document.addEventListener('DOMContentLoaded', start);
  else start();
})();
