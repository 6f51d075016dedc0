// The import page's progress bar: while an import runs, follow its
// progress through the API and move the bar; when it is over, reload the
// page for the report.
(function () {
  "use strict";
  var box = document.getElementById("import-progress");
  if (!box || !box.dataset.poll) return;
  var bar = document.getElementById("import-bar");
  var status = document.getElementById("import-status");
  var fmt = box.dataset.fmt || "%d / %d";
  function show(done, total) {
    bar.max = Math.max(total, 1);
    bar.value = done;
    var n = 0;
    status.textContent = fmt.replace(/%d/g, function () { return String(n++ === 0 ? done : total); });
  }
  function poll() {
    fetch(box.dataset.poll, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (j) {
        if (!j) { setTimeout(poll, 2000); return; }
        show(j.processed, j.rows);
        if (j.status === "done" || j.status === "failed") {
          setTimeout(function () { window.location.reload(); }, 400);
          return;
        }
        setTimeout(poll, 400);
      })
      .catch(function () { setTimeout(poll, 2000); });
  }
  poll();
})();
