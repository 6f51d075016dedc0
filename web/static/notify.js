// The top bar's bell: polls the unread count (and the open tasks) every
// few seconds while the page is visible, so a task that arrives shows
// without a reload. No third-party service: one small JSON request.
(function () {
  "use strict";
  const bell = document.getElementById("nav-bell");
  if (!bell || !bell.dataset.countUrl) return;
  const every = 4000;
  let timer = 0;

  function show(badge, n) {
    badge.textContent = String(n);
    badge.hidden = !(n > 0);
  }

  function tasks(n) {
    const link = document.getElementById("nav-tasks");
    if (!link) return;
    let badge = link.querySelector(".badge");
    if (!badge) {
      if (!(n > 0)) return;
      badge = document.createElement("span");
      badge.className = "badge";
      link.appendChild(badge);
    }
    show(badge, n);
  }

  function poll() {
    timer = 0;
    if (document.hidden) return; // visibilitychange polls again
    fetch(bell.dataset.countUrl, { credentials: "same-origin", headers: { Accept: "application/json" } })
      .then(function (r) {
        if (r.status === 401 || r.status === 423) return null; // signed out or frozen: stop
        schedule();
        return r.ok ? r.json() : null;
      })
      .then(function (d) {
        if (!d) return;
        show(bell.querySelector("[data-unread]"), d.unread);
        bell.dataset.unread = String(d.unread);
        tasks(d.tasks);
      })
      .catch(schedule);
  }

  function schedule() {
    if (!timer) timer = setTimeout(poll, every);
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden && !timer) poll();
  });
  schedule();
})();
