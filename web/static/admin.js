// Formwork admin pages: the reassignment progress bar on a user's page
// follows the background job without reloading the page.
(function () {
  "use strict";

  function follow(box) {
    var url = box.getAttribute("data-status-url");
    var bar = document.getElementById("reassign-progress");
    var status = document.getElementById("reassign-status");
    var owned = document.getElementById("owned");
    if (!url || !bar || !status) return;
    var doneText = box.getAttribute("data-done-text") || "";
    var delay = 500;

    function show(r) {
      bar.value = r.percent;
      bar.textContent = r.percent + "%";
      var to = status.textContent.split("→")[1] || "";
      var line = r.moved + " / " + r.total + " →" + to;
      if (r.status === "done") line = doneText + ": " + line;
      status.textContent = line;
      status.setAttribute("data-status", r.status);
      if (r.status === "done" && owned) owned.textContent = "0";
    }

    function poll() {
      fetch(url, { credentials: "same-origin", headers: { "Accept": "application/json" } })
        .then(function (res) {
          if (!res.ok) throw new Error("status " + res.status);
          return res.json();
        })
        .then(function (r) {
          show(r);
          if (r.status !== "done") {
            setTimeout(poll, delay);
          } else {
            var form = document.getElementById("reassign-form");
            if (form) form.hidden = false;
          }
        })
        .catch(function () {
          delay = Math.min(delay * 2, 10000);
          setTimeout(poll, delay);
        });
    }

    if (status.getAttribute("data-status") !== "done") poll();
  }

  document.addEventListener("DOMContentLoaded", function () {
    var box = document.getElementById("reassign-box");
    if (box) follow(box);
  });
})();
