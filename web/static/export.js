// Follows an export on its progress page: polls the export's status and
// moves the progress bar until the file is ready (then shows the download
// link) or the export stops (rejected, failed, expired).
(function () {
  "use strict";
  const root = document.getElementById("export");
  if (!root) return;
  const msgs = JSON.parse(document.getElementById("exp-msgs").textContent);
  const bar = document.getElementById("exp-bar");
  const state = document.getElementById("exp-state");
  const rows = document.getElementById("exp-rows");
  const link = document.getElementById("exp-download");
  const moving = new Set(["queued", "running", "awaiting_approval"]);

  function show(e) {
    root.dataset.status = e.status;
    state.textContent = msgs[e.status] || e.status;
    const pct = e.status === "done" ? 100 : e.rows > 0 ? Math.min(100, Math.floor((e.done * 100) / e.rows)) : 0;
    bar.value = pct;
    rows.textContent = msgs.rows.replace("%d", e.done).replace("%d", e.rows);
    if (e.file) {
      link.href = e.file;
      link.hidden = false;
    }
  }

  async function poll() {
    try {
      const res = await fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (res.ok) {
        const e = await res.json();
        show(e);
        if (!moving.has(e.status)) return;
      }
    } catch (err) {
      // the network hiccuped: try again
    }
    setTimeout(poll, root.dataset.status === "awaiting_approval" ? 5000 : 400);
  }
  if (moving.has(root.dataset.status)) poll();
})();
