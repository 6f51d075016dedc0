// Template gallery: follows a sample-data import. The job page carries the
// JSON progress endpoint in data-poll; this polls it and moves the bars
// and counts without a reload until the job is done or failed.
(function () {
  "use strict";
  var box = document.getElementById("tpl-job");
  if (!box) { return; }
  var url = box.getAttribute("data-poll");
  var lang = box.getAttribute("data-lang") === "en" ? "en" : "zh";
  var bar = document.getElementById("tpl-progress");
  var count = document.getElementById("tpl-count");
  var state = document.getElementById("tpl-state");
  var errBox = document.getElementById("tpl-job-error");
  var doneBox = document.getElementById("tpl-job-done");

  function fmt(tpl, a, b) { return tpl.replace("%d", String(a)).replace("%d", String(b)); }

  function show(j) {
    var total = Math.max(j.total || 0, 1);
    bar.max = total;
    bar.value = j.done || 0;
    bar.textContent = Math.floor((j.done || 0) * 100 / total) + "%";
    count.textContent = fmt(box.getAttribute("data-msg-records"), j.done || 0, j.total || 0);
    (j.forms || []).forEach(function (f) {
      var row = box.querySelector('tr[data-form="' + f.form + '"]');
      if (!row) { return; }
      var p = row.querySelector("progress");
      p.max = Math.max(f.total, 1);
      p.value = f.done;
      row.querySelector(".tpl-form-count").textContent = f.done + " / " + f.total;
    });
    box.setAttribute("data-state", j.state);
    var label = box.getAttribute("data-msg-" + j.state);
    if (label) { state.textContent = label; }
    if (j.state === "failed" && j.error) {
      errBox.textContent = j.error[lang] || j.error.zh || j.error.en;
      errBox.hidden = false;
    }
    if (j.state === "done") { doneBox.hidden = false; }
  }

  var delay = 300;
  function poll() {
    fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.json();
      })
      .then(function (j) {
        show(j);
        if (j.state !== "done" && j.state !== "failed") { setTimeout(poll, delay); }
      })
      .catch(function () {
        delay = Math.min(delay * 2, 5000);
        setTimeout(poll, delay);
      });
  }
  var st = box.getAttribute("data-state");
  if (st !== "done" && st !== "failed") { poll(); }
})();
