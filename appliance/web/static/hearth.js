// Hearth's little bit of plain JavaScript: dates in the reader's own words, and
// the CSRF header for scripts that call the box with fetch().
"use strict";
(function () {
  const lang = document.documentElement.lang || "en";
  const format = new Intl.DateTimeFormat(lang, { dateStyle: "medium", timeStyle: "short" });
  // Dates in the reader's own words, for the page and for parts swapped in later.
  const showTimes = (root) => {
    for (const el of root.querySelectorAll("time[data-epoch]")) {
      const when = new Date(parseFloat(el.dataset.epoch) * 1000);
      el.dateTime = when.toISOString();
      el.textContent = format.format(when);
    }
  };
  showTimes(document);
  // Forms that destroy something ask first, in the page's language.
  // (delegated, so forms in live panels that were swapped in ask too)
  document.addEventListener("submit", (event) => {
    const form = event.target;
    if (form.dataset.confirm && !window.confirm(form.dataset.confirm)) event.preventDefault();
  });
  // Live panels (Settings › Storage) fetch their fresh state every few seconds.
  for (const panel of document.querySelectorAll("[data-refresh]")) {
    const refresh = async () => {
      try {
        const reply = await fetch(panel.dataset.refresh, { credentials: "same-origin" });
        if (reply.ok) {
          const html = await reply.text();
          if (html !== panel.innerHTML) {
            panel.innerHTML = html;
            showTimes(panel);
          }
        }
      } catch (e) { /* the box is restarting: try again next time */ }
      setTimeout(refresh, 2000);
    };
    setTimeout(refresh, 2000);
  }
  // A waiting page (the data disk is out of reach) reloads itself until the box is back.
  const reloading = document.querySelector("[data-reload-after]");
  if (reloading) setTimeout(() => window.location.reload(), reloading.dataset.reloadAfter * 1000);
  const meta = document.querySelector('meta[name="csrf-token"]');
  window.hearth = {
    csrf: meta ? meta.content : "",
    showTimes,
    // fetch() with the CSRF header every state-changing request needs.
    fetch(url, options = {}) {
      const headers = new Headers(options.headers || {});
      headers.set("X-CSRF-Token", this.csrf);
      return fetch(url, { credentials: "same-origin", ...options, headers });
    },
  };
})();
