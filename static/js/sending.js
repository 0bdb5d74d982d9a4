// Sending: attachments in the composer (button, drag and drop, paste; preview, caption
// and WhatsApp's limits checked before uploading), scheduled replies and the template
// picker's header media. Delegated listeners, so they survive htmx swaps of #conv.
(function () {
  "use strict";

  function toast(msg, kind) { if (window.atiendeToast) window.atiendeToast(msg, kind); }
  function attachForm() { return document.getElementById("attach-form"); }
  function q(root, role) { return root ? root.querySelector('[data-role="' + role + '"]') : null; }

  // WhatsApp's limits for what a business sends (the server checks them again).
  var MB = 1024 * 1024;
  var TYPES = {
    "image/jpeg": "image", "image/png": "image",
    "audio/aac": "audio", "audio/amr": "audio", "audio/mpeg": "audio", "audio/mp4": "audio", "audio/ogg": "audio",
    "video/mp4": "video", "video/3gpp": "video",
    "application/pdf": "document", "text/plain": "document", "application/msword": "document",
    "application/vnd.ms-excel": "document", "application/vnd.ms-powerpoint": "document",
    "application/vnd.openxmlformats-officedocument.wordprocessingml.document": "document",
    "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet": "document",
    "application/vnd.openxmlformats-officedocument.presentationml.presentation": "document"
  };
  var BY_EXT = {
    jpg: "image/jpeg", jpeg: "image/jpeg", png: "image/png", pdf: "application/pdf", txt: "text/plain",
    doc: "application/msword", docx: "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    xls: "application/vnd.ms-excel", xlsx: "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    ppt: "application/vnd.ms-powerpoint", pptx: "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    mp3: "audio/mpeg", m4a: "audio/mp4", aac: "audio/aac", amr: "audio/amr", ogg: "audio/ogg", opus: "audio/ogg",
    mp4: "video/mp4", "3gp": "video/3gpp"
  };
  var LIMIT = { image: 5 * MB, audio: 16 * MB, video: 16 * MB, document: 100 * MB };
  var KIND_ES = { image: "Las fotos", audio: "Los audios", video: "Los videos", document: "Los documentos" };
  var NAME_ES = { image: "Foto", audio: "Audio", video: "Video", document: "Documento" };

  function ext(name) { var m = /\.([a-z0-9]+)$/i.exec(name || ""); return m ? m[1].toLowerCase() : ""; }
  function typeOf(file) {
    var t = (file.type || "").split(";")[0].toLowerCase();
    if (!TYPES[t]) t = BY_EXT[ext(file.name)] || t;
    return t;
  }
  function size(n) {
    if (n < 1024) return n + " B";
    if (n < MB) return Math.round(n / 1024) + " KB";
    return (n / MB).toFixed(1).replace(".", ",") + " MB";
  }
  // check returns a Spanish reason the file cannot go, or "".
  function check(file) {
    var kind = TYPES[typeOf(file)];
    if (!kind) {
      var e = ext(file.name);
      return "WhatsApp no admite " + (e ? "archivos «." + e + "»" : "este tipo de archivo") +
        ". Envía fotos JPG o PNG, PDF o documentos de Office, audio (MP3, OGG, M4A) o video MP4.";
    }
    if (file.size === 0) return "«" + file.name + "» está vacío.";
    if (file.size > LIMIT[kind]) {
      return "«" + file.name + "» pesa " + size(file.size) + ": " + KIND_ES[kind] + " pueden pesar hasta " + (LIMIT[kind] / MB) + " MB en WhatsApp." +
        (kind === "image" ? " Envíala como documento (PDF) o redúcela." : "");
    }
    return "";
  }

  var objectURL = null;
  function clearPreview() {
    if (objectURL) { URL.revokeObjectURL(objectURL); objectURL = null; }
  }

  function show(file) {
    var form = attachForm();
    if (!form) return;
    var panel = q(form, "attach-panel"), pv = q(form, "attach-preview"), err = q(form, "attach-error");
    clearPreview();
    pv.textContent = "";
    pv.className = "cv-attach-preview";
    var problem = check(file);
    var kind = TYPES[typeOf(file)] || "document";
    if (!problem && (kind === "image" || kind === "video")) {
      objectURL = URL.createObjectURL(file);
      var el = document.createElement(kind === "image" ? "img" : "video");
      el.src = objectURL;
      if (kind === "image") el.alt = "Vista previa de " + file.name; else { el.controls = true; el.preload = "metadata"; }
      el.setAttribute("data-testid", "attach-preview-" + kind);
      pv.appendChild(el);
      pv.classList.add("is-visual");
    }
    var box = document.createElement("div");
    box.className = "cv-attach-file";
    box.innerHTML = '<svg class="cv-icon" viewBox="0 0 24 24" fill="none" stroke="currentColor" stroke-width="2" stroke-linecap="round" stroke-linejoin="round" aria-hidden="true"><path d="M14.5 2H6a2 2 0 0 0-2 2v16a2 2 0 0 0 2 2h12a2 2 0 0 0 2-2V7.5z"></path><path d="M14 2v6h6"></path></svg>';
    var name = document.createElement("span");
    name.className = "cv-attach-name";
    var strong = document.createElement("strong");
    strong.textContent = file.name || "archivo";
    var small = document.createElement("small");
    small.textContent = (NAME_ES[kind] || "Archivo") + " · " + size(file.size);
    name.appendChild(strong); name.appendChild(small);
    box.appendChild(name);
    pv.appendChild(box);
    err.textContent = problem;
    err.hidden = !problem;
    panel.classList.toggle("has-error", !!problem);
    var cap = q(form, "attach-caption");
    if (cap) {
      cap.disabled = kind === "audio";
      cap.placeholder = kind === "audio" ? "WhatsApp no permite texto junto a un audio" : "Por ejemplo: «Te comparto la cotización»";
    }
    panel.hidden = false;
    var send = q(form, "attach-send");
    if (!problem && send) send.focus();
  }

  function clear() {
    var form = attachForm();
    if (!form) return;
    clearPreview();
    var input = q(form, "attach-input");
    if (input) input.value = "";
    var panel = q(form, "attach-panel");
    if (panel) { panel.hidden = true; panel.classList.remove("has-error"); }
    var cap = q(form, "attach-caption");
    if (cap) cap.value = "";
  }

  // take puts dropped or pasted files into the form's file input.
  function take(files) {
    var form = attachForm();
    if (!form || !files || !files.length) return false;
    if (files.length > 1) toast("Se adjunta un archivo por mensaje: envío el primero, «" + files[0].name + "».");
    var input = q(form, "attach-input");
    try {
      var dt = new DataTransfer();
      dt.items.add(files[0]);
      input.files = dt.files;
    } catch (e) {
      toast("Tu navegador no permite adjuntar así: usa el botón «Adjuntar».", "error");
      return true;
    }
    show(files[0]);
    return true;
  }

  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (t && t.matches && t.matches('[data-role="attach-input"]')) {
      if (t.files && t.files[0]) show(t.files[0]); else clear();
    }
  });

  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest('[data-action="attach-clear"]');
    if (a) { ev.preventDefault(); clear(); }
  });

  // Paste a screenshot or a copied file into the composer.
  document.addEventListener("paste", function (ev) {
    var t = ev.target;
    if (!t || !t.closest || !t.closest("#conv-composer")) return;
    var files = ev.clipboardData && ev.clipboardData.files;
    if (files && files.length && attachForm()) {
      ev.preventDefault();
      take(files);
    }
  });

  // Drag and drop anywhere on the conversation's main column.
  var depth = 0;
  function dropZone() { var f = attachForm(); return f ? document.querySelector('#conv [data-role="drop-zone"]') : null; }
  function hasFiles(ev) {
    var types = ev.dataTransfer && ev.dataTransfer.types;
    return !!types && Array.prototype.indexOf.call(types, "Files") >= 0;
  }
  function inMain(ev) { return ev.target && ev.target.closest && ev.target.closest("#conv .cv-main"); }
  document.addEventListener("dragenter", function (ev) {
    if (!hasFiles(ev) || !inMain(ev) || !dropZone()) return;
    depth++;
    dropZone().hidden = false;
  });
  document.addEventListener("dragleave", function (ev) {
    if (!hasFiles(ev) || !dropZone()) return;
    depth = Math.max(0, depth - 1);
    if (depth === 0) dropZone().hidden = true;
  });
  document.addEventListener("dragover", function (ev) {
    if (hasFiles(ev) && inMain(ev) && attachForm()) { ev.preventDefault(); ev.dataTransfer.dropEffect = "copy"; }
  });
  document.addEventListener("drop", function (ev) {
    var z = dropZone();
    depth = 0;
    if (z) z.hidden = true;
    if (!hasFiles(ev) || !inMain(ev) || !attachForm()) return;
    ev.preventDefault();
    take(ev.dataTransfer.files);
  });

  // Refuse to upload what WhatsApp would refuse; show the upload's progress.
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    if (!elt || elt.id !== "attach-form") return;
    var input = q(elt, "attach-input");
    var file = input && input.files && input.files[0];
    if (!file) { ev.preventDefault(); toast("Elige un archivo para enviar.", "error"); return; }
    var problem = check(file);
    if (problem) { ev.preventDefault(); show(file); }
  });
  document.addEventListener("htmx:xhr:progress", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    if (!elt || elt.id !== "attach-form" || !ev.detail.lengthComputable) return;
    var label = q(elt, "attach-send-label");
    if (label) label.textContent = "Subiendo… " + Math.round(100 * ev.detail.loaded / ev.detail.total) + " %";
  });
  document.addEventListener("htmx:afterRequest", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    if (!elt || elt.id !== "attach-form") return;
    var label = q(elt, "attach-send-label");
    if (label) label.textContent = "Enviar archivo";
  });
  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var form = attachForm();
    var panel = form && q(form, "attach-panel");
    if (panel && !panel.hidden) clear();
  });

  // ---- Programar envío: presets fill the date; the composer's text is what goes.
  function composerBody() { return document.querySelector('#composer-form [name="body"]'); }
  document.addEventListener("click", function (ev) {
    var t = ev.target.closest && ev.target.closest("[data-action]");
    if (!t) return;
    switch (t.getAttribute("data-action")) {
      case "sched-preset":
        ev.preventDefault();
        var form = t.closest("form"), at = form && form.querySelector('[name="send_at"]');
        if (at) { at.value = t.getAttribute("data-value"); at.focus(); }
        break;
      case "close-schedule":
        var d = document.getElementById("sched-picker");
        if (d) d.open = false;
        break;
      case "sched-edit":
        var li = t.closest("li"), ed = li && li.querySelector(".cv-sched-edit");
        if (ed) { ed.hidden = !ed.hidden; if (!ed.hidden) ed.querySelector("textarea").focus(); }
        break;
      case "sched-edit-cancel":
        var f = t.closest(".cv-sched-edit");
        if (f) { f.reset(); f.hidden = true; }
        break;
    }
  });
  document.addEventListener("toggle", function (ev) {
    var d = ev.target;
    if (!d || d.id !== "sched-picker" || !d.open) return;
    var ta = composerBody();
    if (ta && !ta.value.trim()) {
      d.open = false;
      toast("Escribe primero el mensaje que quieres programar.", "error");
      ta.focus();
    }
  }, true);
  document.addEventListener("htmx:beforeRequest", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    if (!elt || !elt.matches || !elt.matches('[data-testid="schedule-form"]')) return;
    var ta = composerBody();
    if (!ta || !ta.value.trim()) { ev.preventDefault(); toast("Escribe primero el mensaje que quieres programar.", "error"); }
  });
  // Scheduled: the text is no longer a draft of this conversation. (Before the swap:
  // the new panel restores drafts as it loads, and the old form is gone after it.)
  document.addEventListener("htmx:beforeSwap", function (ev) {
    var d = ev.detail || {}, xhr = d.xhr;
    var elt = (d.requestConfig && d.requestConfig.elt) || d.elt;
    if (!elt || !elt.matches || !elt.matches('[data-testid="schedule-form"]') || !xhr || xhr.status !== 200) return;
    var conv = document.getElementById("conv"), id = conv && conv.getAttribute("data-conv-id");
    try { if (id) sessionStorage.removeItem("atiende.draft." + id); } catch (e) {}
    var ta = composerBody();
    if (ta) ta.value = "";
  });
  document.body && document.body.addEventListener("atiende:scheduled", function (ev) {
    toast(ev.detail && ev.detail.value);
  });

  // ---- Template picker: the header file is checked and previewed like an attachment.
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (!t || !t.matches || !t.matches('[data-role="tpl-header-file"]')) return;
    var form = t.closest("form"), box = q(form, "tpl-hmedia"), err = q(form, "tpl-header-error");
    var file = t.files && t.files[0];
    var nameEl = q(form, "tpl-header-name");
    if (nameEl) nameEl.textContent = file ? file.name + " · " + size(file.size) : "Ningún archivo elegido";
    if (!file || !box) return;
    var kind = t.getAttribute("data-kind"), problem = check(file);
    if (!problem && TYPES[typeOf(file)] !== kind) {
      problem = kind === "image" ? "El encabezado es una imagen: elige una foto JPG o PNG." :
        kind === "video" ? "El encabezado es un video: elige un MP4 o 3GP." : "El encabezado es un documento: elige un PDF o un documento de Office.";
    }
    if (err) { err.textContent = problem; err.hidden = !problem; }
    t.setCustomValidity(problem);
    box.textContent = "";
    if (problem) { box.textContent = "Elige otro archivo."; return; }
    if (kind === "image") {
      var img = document.createElement("img");
      img.src = URL.createObjectURL(file);
      img.alt = "Encabezado: " + file.name;
      img.setAttribute("data-testid", "template-header-image");
      box.appendChild(img);
    } else {
      var s = document.createElement("span");
      s.textContent = "📄 " + file.name + " · " + size(file.size);
      box.appendChild(s);
    }
  });
  // Header text variables preview like the body's.
  document.addEventListener("input", function (ev) {
    var t = ev.target;
    if (!t || !t.matches || !t.matches("[data-hparam]")) return;
    var form = t.closest("form"), h = q(form, "tpl-htext");
    if (!h) return;
    var text = h.getAttribute("data-text") || "";
    Array.prototype.forEach.call(form.querySelectorAll("[data-hparam]"), function (inp) {
      var key = "{{" + inp.getAttribute("data-hparam") + "}}";
      text = text.split(key).join(inp.value.trim() || key);
    });
    h.textContent = text;
  });
})();
