// The Drive's plain JavaScript: uploads (pickers, drag and drop, progress), and the folder
// picker of Move or copy. Everything else in the Drive is plain links and forms.
"use strict";
(function () {
  const encodePath = (path) => path.split("/").map(encodeURIComponent).join("/");
  const joinPath = (folder, name) => folder.replace(/\/+$/, "") + "/" + name;
  const fill = (text, values) => text.replace(/%\((\w+)\)s/g, (_, key) => values[key]);
  const make = (tag, props = {}, ...children) => {
    const el = Object.assign(document.createElement(tag), props);
    el.append(...children);
    return el;
  };
  const showTimes = (root) => window.hearth.showTimes(root);

  // ---- Uploads: one streamed PUT per file, a few at a time, with progress bars.
  function setUpUploads(box) {
    const words = JSON.parse(box.dataset.words);
    const here = box.dataset.here;
    const panel = document.getElementById("uploads");
    const list = document.getElementById("upload-list");
    const total = document.getElementById("upload-total");
    const summary = document.getElementById("upload-summary");
    const cancel = document.getElementById("upload-cancel");
    const close = document.getElementById("upload-close");
    const zone = document.getElementById("listing");
    const PARALLEL = 2;
    const jobs = [];
    let sent = 0;  // files saved since the listing was last refreshed
    box.hidden = false;

    const busy = () => jobs.some((job) => job.state === "waiting" || job.state === "sending");

    function update() {
      const size = jobs.reduce((sum, job) => sum + job.file.size, 0);
      const loaded = jobs.reduce((sum, job) =>
        sum + (job.state === "done" ? job.file.size : job.loaded), 0);
      total.max = Math.max(size, 1);
      total.value = size ? loaded : (busy() ? 0 : 1);
      const done = jobs.filter((job) => job.state === "done").length;
      const failed = jobs.filter((job) => job.state === "failed").length;
      let text = fill(words.summary, { done, count: jobs.length });
      if (failed) text += " · " + fill(words.failed, { failed });
      summary.textContent = text;
      cancel.hidden = !busy();
      close.hidden = busy();
    }

    function setState(job, state, text) {
      job.state = state;
      job.row.className = state;
      job.status.textContent = text;
      job.replace.hidden = true;
    }

    async function refresh() {
      const reply = await fetch(window.location.href, { credentials: "same-origin" });
      if (!reply.ok) return;
      const page = new DOMParser().parseFromString(await reply.text(), "text/html");
      for (const id of ["listing", "usage"]) {
        const fresh = page.getElementById(id);
        const old = document.getElementById(id);
        if (fresh && old) {
          old.innerHTML = fresh.innerHTML;
          showTimes(old);
        }
      }
    }

    function pump() {
      while (jobs.filter((job) => job.state === "sending").length < PARALLEL) {
        const job = jobs.find((j) => j.state === "waiting");
        if (!job) break;
        send(job);
      }
      update();
      if (!busy() && sent) {
        sent = 0;
        refresh();
      }
    }

    function finish(job, xhr) {
      job.xhr = null;
      if (xhr.status >= 200 && xhr.status < 300) {
        job.bar.value = job.bar.max;
        setState(job, "done", words.done);
        sent += 1;
      } else {
        let reply = {};
        try { reply = JSON.parse(xhr.responseText); } catch (e) { /* not JSON */ }
        setState(job, "failed", reply.error || words.lost);
        job.replace.hidden = reply.kind !== "Exists";
      }
      pump();
    }

    function send(job) {
      const xhr = new XMLHttpRequest();
      job.xhr = xhr;
      job.loaded = 0;
      setState(job, "sending", words.sending);
      xhr.open("PUT", box.dataset.files + encodePath(job.path) + (job.overwrite ? "?overwrite=1" : ""));
      xhr.setRequestHeader("X-CSRF-Token", window.hearth.csrf);
      xhr.setRequestHeader("Content-Type", "application/octet-stream");
      xhr.upload.addEventListener("progress", (event) => {
        job.loaded = event.loaded;
        job.bar.value = event.loaded;
        update();
      });
      xhr.addEventListener("load", () => finish(job, xhr));
      xhr.addEventListener("error", () => finish(job, xhr));
      xhr.addEventListener("abort", () => {
        job.xhr = null;
        setState(job, "failed", words.cancelled);
        pump();
      });
      xhr.send(job.file);
    }

    function add(files, folders) {
      panel.hidden = false;
      for (const folder of folders) {
        window.hearth.fetch(box.dataset.folders + encodePath(joinPath(here, folder)),
          { method: "POST" }).then(async (reply) => {
          if (reply.ok) {
            sent += 1;
          } else {
            const said = await reply.json().catch(() => ({}));
            list.append(make("li", { className: "failed" }, make("span", { className: "file" },
              folder), make("small", { className: "state" }, said.error || words.lost)));
          }
          pump();
        }, () => pump());
      }
      for (const { file, path } of files) {
        const job = { file, path: joinPath(here, path), loaded: 0, overwrite: false };
        job.bar = make("progress", { max: Math.max(file.size, 1), value: 0 });
        job.bar.setAttribute("aria-label", path);
        job.status = make("small", { className: "state" }, words.waiting);
        job.replace = make("button", { type: "button", className: "link", hidden: true },
          words.replace);
        job.replace.addEventListener("click", () => {
          job.overwrite = true;
          setState(job, "waiting", words.waiting);
          pump();
        });
        job.row = make("li", { className: "waiting" },
          make("span", { className: "file" }, path), job.status, job.bar, job.replace);
        job.state = "waiting";
        list.append(job.row);
        jobs.push(job);
      }
      pump();
    }

    cancel.addEventListener("click", () => {
      for (const job of jobs) {
        if (job.state === "waiting") setState(job, "failed", words.cancelled);
        if (job.xhr) job.xhr.abort();
      }
      update();
    });
    close.addEventListener("click", () => {
      jobs.length = 0;
      list.replaceChildren();
      panel.hidden = true;
    });
    window.addEventListener("beforeunload", (event) => {
      if (busy()) event.preventDefault();
    });

    const picked = (input, relative) => input.addEventListener("change", () => {
      add([...input.files].map((file) =>
        ({ file, path: relative && file.webkitRelativePath || file.name })), []);
      input.value = "";
    });
    picked(document.getElementById("pick-files"), false);
    picked(document.getElementById("pick-folder"), true);

    // Drag and drop, folders included (read through the File System entries API).
    const read = (entry) => new Promise((ok, ko) => entry.file(ok, ko));
    const children = async (folder) => {
      const reader = folder.createReader();
      const all = [];
      for (;;) {
        const batch = await new Promise((ok, ko) => reader.readEntries(ok, ko));
        if (!batch.length) return all;
        all.push(...batch);
      }
    };
    async function walk(entry, prefix, files, folders) {
      if (entry.isFile) {
        files.push({ file: await read(entry), path: prefix + entry.name });
        return;
      }
      const inside = await children(entry);
      if (!inside.length) folders.push(prefix + entry.name);
      for (const child of inside) await walk(child, prefix + entry.name + "/", files, folders);
    }
    const carriesFiles = (event) => event.dataTransfer &&
      [...event.dataTransfer.types].includes("Files");
    document.addEventListener("dragover", (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      zone.classList.add("dragging");
    });
    document.addEventListener("dragleave", (event) => {
      if (!event.relatedTarget) zone.classList.remove("dragging");
    });
    document.addEventListener("drop", async (event) => {
      if (!carriesFiles(event)) return;
      event.preventDefault();
      zone.classList.remove("dragging");
      // The entries must be taken before the event ends; reading them can wait.
      const items = [...event.dataTransfer.items].filter((item) => item.kind === "file");
      const entries = items.map((item) => item.webkitGetAsEntry && item.webkitGetAsEntry());
      if (entries.some((entry) => !entry)) {
        add([...event.dataTransfer.files].map((file) => ({ file, path: file.name })), []);
        return;
      }
      const files = [];
      const folders = [];
      for (const entry of entries) await walk(entry, "", files, folders);
      add(files, folders);
    });
  }

  // ---- The folder picker of Move or copy: browse the folders, pick one.
  function setUpPicker(dialog) {
    const words = JSON.parse(dialog.dataset.words);
    const crumbs = document.getElementById("picker-crumbs");
    const list = document.getElementById("picker-list");
    let target = null;
    let current = "/";
    const go = (label, path, className) => {
      const button = make("button", { type: "button", className }, label);
      button.addEventListener("click", () => show(path));
      return button;
    };

    async function show(path) {
      const reply = await fetch(dialog.dataset.api + encodePath(path),
        { credentials: "same-origin" });
      if (!reply.ok) {
        if (path !== "/") await show("/");
        return;
      }
      const here = await reply.json();
      current = here.path;
      crumbs.replaceChildren(...here.crumbs.map((c) => make("li", {}, go(c.name, c.path, "link"))));
      list.replaceChildren(...(here.folders.length
        ? here.folders.map((f) => make("li", { className: "entry folder" },
          go(make("span", {}, "📁 ", f.name), f.path, "name")))
        : [make("li", { className: "entry empty" }, words.none)]));
    }

    for (const button of document.querySelectorAll("button.pick")) {
      button.hidden = false;
      button.addEventListener("click", async () => {
        target = document.getElementById(button.dataset.for);
        await show(target.value.trim() || "/");
        dialog.showModal();
      });
    }
    document.getElementById("picker-cancel").addEventListener("click", () => dialog.close());
    document.getElementById("picker-choose").addEventListener("click", () => {
      target.value = current;
      dialog.close();
      target.focus();
    });
  }

  const box = document.getElementById("uploader");
  if (box) setUpUploads(box);
  const picker = document.getElementById("picker");
  if (picker) setUpPicker(picker);
})();
