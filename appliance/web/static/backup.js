// Backups: a progress bar that follows a long operation (it polls a small JSON
// status: files and bytes done out of the total, and how it ended), and the
// emergency kit's print button.
"use strict";
(function () {
  for (const button of document.querySelectorAll("[data-print]")) {
    button.addEventListener("click", () => window.print());
  }
  for (const box of document.querySelectorAll("[data-progress]")) {
    const bar = box.querySelector("progress");
    const words = box.querySelector("[data-words]");
    const ended = box.querySelector("[data-ended]");
    const poll = async () => {
      let status = null;
      try {
        const reply = await fetch(box.dataset.progress, { credentials: "same-origin",
                                                          headers: { Accept: "application/json" } });
        if (reply.ok) status = await reply.json();
      } catch (e) { /* the box is busy or restarting: ask again */ }
      if (status) {
        bar.value = status.percent;
        bar.textContent = status.percent + " %";
        words.textContent = box.dataset.template
          .replace("{percent}", status.percent)
          .replace("{files}", status.files_done).replace("{files_total}", status.files_total);
        if (status.state === "done" || status.state === "failed") {
          box.dataset.state = status.state;
          ended.hidden = false;
          ended.className = status.state === "done" ? "ok" : "error";
          ended.textContent = status.message;
          // done: go on (the page, or signing in after a move); failed: show this page again
          if (status.state === "done" && box.dataset.then) window.location.assign(box.dataset.then);
          else if (box.dataset.then) window.location.reload();
          return;
        }
      }
      setTimeout(poll, 500);
    };
    poll();
  }
})();
