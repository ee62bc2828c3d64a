// Settings › Update: follow an update through the box's restart. It polls a small
// JSON status every 2 s; while the daemon restarts the requests fail, which is
// expected, and polling goes on until the updater says how it ended.
"use strict";
(function () {
  const box = document.querySelector("[data-update-status]");
  if (!box) return;
  const words = box.querySelector("[data-update-message]");
  const bar = box.querySelector("[data-update-progress]");
  const form = document.querySelector("[data-update-form]");
  const busy = (state) => state === "waiting" || state === "installing";
  const show = (status) => {
    box.dataset.state = status.state;
    box.dataset.version = status.version;
    words.textContent = status.message;
    words.className = status.state === "done" ? "ok"
      : (status.state === "refused" || status.state === "rolled-back") ? "error" : "hint";
    bar.hidden = !busy(status.state);
    if (form) form.hidden = busy(status.state);
  };
  let following = busy(box.dataset.state);
  const poll = async () => {
    let status = null;
    try {
      const reply = await fetch(box.dataset.updateStatus, {
        credentials: "same-origin", headers: { Accept: "application/json" } });
      if (reply.ok) status = await reply.json();
    } catch (e) { /* the box is restarting: ask again */ }
    if (status) {
      show(status);
      if (!busy(status.state)) {
        following = false;
        // the new version serves its own page once it runs
        const running = document.querySelector("[data-testid=running-version]");
        if (running && status.running && !running.textContent.includes(status.running)) {
          window.location.reload();
        }
        return;
      }
    }
    setTimeout(poll, 2000);
  };
  if (following) setTimeout(poll, 2000);
})();
