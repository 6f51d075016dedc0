// Follows a backup or verify started on /admin/backups: polls its status,
// moves the progress bar, and reloads the page when it has ended (the page
// then shows the result and the new list).
(function () {
  "use strict";
  const root = document.getElementById("backup-job");
  if (!root || root.dataset.status !== "running") return;
  const bar = document.getElementById("bk-bar");

  async function poll() {
    try {
      const res = await fetch(root.dataset.statusUrl, { headers: { Accept: "application/json" }, credentials: "same-origin" });
      if (res.ok) {
        const j = await res.json();
        bar.max = j.total;
        bar.value = j.done;
        if (j.status !== "running") {
          location.reload();
          return;
        }
      }
    } catch (err) {
      // the network hiccuped: try again
    }
    setTimeout(poll, 300);
  }
  poll();
})();
