// Composer tools: the character count near WhatsApp's 4,096 limit, the offer to send
// a longer reply as several messages (never a cut text), and the preview with
// WhatsApp's formatting (rendered by the server: POST /compose/preview).
(function () {
  "use strict";

  var SHOW_FROM = 3600;

  function $(sel, root) { return (root || document).querySelector(sel); }
  function form() { return document.getElementById("composer-form"); }
  function field() { var f = form(); return f ? $('textarea[name="body"]', f) : null; }
  function tools() { var f = form(); return f ? $('[data-role="compose-tools"]', f) : null; }
  function max() { var t = tools(); return t ? Number(t.getAttribute("data-max")) || 4096 : 4096; }
  function isNote() { var n = $('#conv-composer input[name="mode"][value="note"]'); return !!(n && n.checked); }
  function csrf() { var m = $('meta[name="csrf-token"]'); return m ? m.getAttribute("content") : ""; }
  function number(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "."); }

  // chars counts as the server does: line breaks as one character, ends trimmed,
  // characters (not UTF-16 units: an emoji is one).
  function chars(text) { return Array.from(text.replace(/\r\n/g, "\n").trim()).length; }

  // parts mirrors the server's split (app/inbox/split.go) to say how many messages.
  function lastIndex(r, sep) {
    var s = Array.from(sep);
    for (var i = r.length - s.length; i >= 0; i--) {
      if (r.slice(i, i + s.length).join("") === sep) return i;
    }
    return -1;
  }
  function parts(text) {
    var r = Array.from(text.replace(/\r\n/g, "\n").trim()), m = max(), n = 0;
    while (r.length > m) {
      var win = r.slice(0, m + 1), cut = -1;
      for (var k = 0, seps = ["\n\n", "\n", " "]; k < seps.length; k++) {
        var i = lastIndex(win, seps[k]);
        if (i >= Math.floor(m / 3)) { cut = i; break; }
      }
      if (cut < 0) cut = m;
      n++;
      r = r.slice(cut);
      while (r.length && /\s/.test(r[0])) r.shift();
    }
    return n + (r.length ? 1 : 0);
  }

  function update() {
    var ta = field(), t = tools();
    if (!ta || !t) return;
    var n = chars(ta.value), m = max(), over = n > m;
    var count = $('[data-role="count"]', t);
    if (count) {
      count.hidden = n < SHOW_FROM;
      count.textContent = number(n) + " / " + number(m);
      count.classList.toggle("is-over", over);
      count.title = over ? "Supera el límite de WhatsApp" : "Caracteres: WhatsApp admite hasta " + number(m) + " por mensaje";
    }
    var offer = $('[data-role="split"]', form());
    if (offer && !over) offer.hidden = true;
    if (offer && over && !offer.hidden) showOffer(n);
    refreshPreview();
  }

  function showOffer(n) {
    var offer = $('[data-role="split"]', form());
    if (!offer) return;
    var text = $('[data-role="split-text"]', offer), btn = $('[data-action="send-split"]', offer);
    if (isNote()) {
      text.textContent = "La nota tiene " + number(n) + " caracteres y el máximo es " + number(max()) + ". Acórtala para guardarla.";
      btn.hidden = true;
    } else {
      var k = parts(field().value);
      text.textContent = "Tu respuesta tiene " + number(n) + " caracteres y WhatsApp admite " + number(max()) +
        " por mensaje. Puedes acortarla o enviarla completa en " + k + " mensajes seguidos.";
      btn.hidden = false;
      btn.textContent = "Enviar en " + k + " mensajes";
    }
    offer.hidden = false;
  }

  // A reply over the limit is not sent as is: the composer offers to split it.
  document.addEventListener("submit", function (ev) {
    var f = ev.target;
    if (!f || f.id !== "composer-form") return;
    var ta = field(), split = $('[data-role="split-input"]', f);
    if (!ta || (split && split.value === "1")) return;
    var n = chars(ta.value);
    if (n <= max()) return;
    ev.preventDefault();
    ev.stopImmediatePropagation();
    showOffer(n);
    ta.dispatchEvent(new Event("input", { bubbles: true })); // keep the draft
    var btn = $('[data-action="send-split"]', f);
    if (btn && !btn.hidden) btn.focus(); else ta.focus();
  }, true);

  // ---- Preview -------------------------------------------------------------------
  var previewTimer = null, previewSeq = 0;
  function previewOpen() { var p = $('[data-role="preview"]', form()); return !!(p && !p.hidden); }
  function refreshPreview() {
    if (!previewOpen()) return;
    clearTimeout(previewTimer);
    previewTimer = setTimeout(function () {
      var ta = field(), box = $('[data-role="preview-body"]', form());
      if (!ta || !box) return;
      if (!ta.value.trim()) { box.textContent = "Escribe algo para ver cómo se verá."; box.classList.add("is-empty"); return; }
      var seq = ++previewSeq;
      fetch("/compose/preview", {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" },
        body: "body=" + encodeURIComponent(ta.value)
      }).then(function (r) { return r.ok ? r.text() : null; }).then(function (html) {
        if (html == null || seq !== previewSeq) return;
        box.classList.remove("is-empty");
        box.innerHTML = html; // rendered and escaped by the server
      }).catch(function () {});
    }, 200);
  }

  document.addEventListener("click", function (ev) {
    var a = ev.target.closest && ev.target.closest("[data-action]");
    if (!a || !a.closest("#composer-form")) return;
    if (a.getAttribute("data-action") === "toggle-preview") {
      var p = $('[data-role="preview"]', form());
      if (!p) return;
      p.hidden = !p.hidden;
      a.setAttribute("aria-pressed", p.hidden ? "false" : "true");
      a.classList.toggle("is-on", !p.hidden);
      refreshPreview();
    }
    if (a.getAttribute("data-action") === "send-split") {
      var f = form(), split = $('[data-role="split-input"]', f);
      if (!f || !split) return;
      split.value = "1";
      if (f.requestSubmit) f.requestSubmit(); else f.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
    }
  });

  document.addEventListener("input", function (ev) {
    if (ev.target && ev.target.name === "body" && ev.target.closest && ev.target.closest("#composer-form")) update();
  });
  document.addEventListener("change", function (ev) {
    if (ev.target && ev.target.name === "mode" && ev.target.closest && ev.target.closest("#composer-form")) {
      var offer = $('[data-role="split"]', form());
      if (offer && !offer.hidden) showOffer(chars(field().value));
    }
  });
  document.addEventListener("htmx:load", update);
})();
