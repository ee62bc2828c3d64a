// The note's preview follows the text as it is typed, rendered by the box.
"use strict";
(function () {
  const area = document.querySelector("textarea[data-preview]");
  const preview = document.getElementById("preview");
  if (!area || !preview) return;
  let timer = null;
  let asked = 0;
  const refresh = async () => {
    const mine = ++asked;
    try {
      const reply = await window.hearth.fetch(area.dataset.preview, {
        method: "POST", body: new URLSearchParams({ text: area.value }) });
      if (reply.ok && mine === asked) preview.innerHTML = await reply.text();
    } catch (e) { /* the box is restarting: the next keystroke tries again */ }
  };
  area.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(refresh, 300);
  });
  // Leaving with unsaved changes asks first.
  const form = document.getElementById("note-form");
  let saved = area.value;
  form.addEventListener("submit", () => { saved = area.value; });
  window.addEventListener("beforeunload", (event) => {
    if (area.value !== saved) event.preventDefault();
  });
})();
