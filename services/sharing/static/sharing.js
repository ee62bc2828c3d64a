// Copy a share link with one tap; plain HTTP has no clipboard API, so select and copy.
"use strict";
(function () {
  for (const button of document.querySelectorAll("button[data-copy]")) {
    button.addEventListener("click", async () => {
      const field = button.parentElement.querySelector("input");
      field.select();
      try {
        await navigator.clipboard.writeText(field.value);
      } catch (e) {
        document.execCommand("copy");
      }
      button.textContent = button.dataset.copied;
    });
  }
})();
