// Bulk actions on the board: select cards (checkbox on hover, shift-click for a
// range, "Seleccionar todas las visibles"), then assign, transfer, label or close them
// in one request; one toast says what happened and names the ones that could not be
// changed. The selection survives live updates of the cards (it is kept by id).
(function () {
  "use strict";

  var selected = {}; // id -> name
  var last = null;   // id of the last card clicked, for shift-click ranges

  function page() { return document.getElementById("board-page"); }
  function bar() { return document.getElementById("bulk-bar"); }
  function boxes() { return Array.prototype.slice.call(document.querySelectorAll('#board-page [data-role="bulk-check"]')); }
  function visible(el) { return !!(el.offsetWidth || el.offsetHeight || el.getClientRects().length); }
  function csrf() { var m = document.querySelector('meta[name="csrf-token"]'); return m ? m.getAttribute("content") : ""; }
  function toast(msg, kind) { if (window.atiendeToast) window.atiendeToast(msg, kind); }
  function count() { return Object.keys(selected).length; }
  function plural(n, one, many) { return n === 1 ? one : many; }

  function paint() {
    var p = page(), b = bar();
    if (!p || !b) return;
    boxes().forEach(function (cb) {
      var on = !!selected[cb.getAttribute("data-id")];
      cb.checked = on;
      var card = cb.closest(".bcard");
      if (card) card.classList.toggle("is-selected", on);
    });
    var n = count();
    p.classList.toggle("is-selecting", n > 0);
    b.hidden = n === 0;
    var c = b.querySelector('[data-role="bulk-count"]');
    var text = n + " " + plural(n, "seleccionada", "seleccionadas");
    if (c && c.textContent !== text) c.textContent = text;
    var all = b.querySelector('[data-action="bulk-all"]');
    if (all) {
      var rest = boxes().filter(function (cb) { return visible(cb.closest(".bcard")) && !selected[cb.getAttribute("data-id")]; }).length;
      if (all.hidden !== (rest === 0)) all.hidden = rest === 0;
    }
  }

  function set(cb, on) {
    var id = cb.getAttribute("data-id");
    if (on) selected[id] = cb.getAttribute("data-name") || ""; else delete selected[id];
  }

  function clear() {
    selected = {};
    last = null;
    closeMenus();
    paint();
  }
  function closeMenus() {
    var b = bar();
    if (b) Array.prototype.forEach.call(b.querySelectorAll("details[open]"), function (d) { d.open = false; });
  }

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    var cb = t.closest && t.closest('[data-role="bulk-check"]');
    if (cb) {
      var on = cb.checked;
      if (ev.shiftKey && last !== null) {
        // Everything between the last card clicked and this one, in board order.
        var list = boxes().filter(function (x) { return visible(x.closest(".bcard")); });
        var a = list.findIndex(function (x) { return x.getAttribute("data-id") === last; });
        var b = list.indexOf(cb);
        if (a >= 0 && b >= 0) {
          list.slice(Math.min(a, b), Math.max(a, b) + 1).forEach(function (x) { set(x, on); });
        }
      }
      set(cb, on);
      last = cb.getAttribute("data-id");
      paint();
      return;
    }
    var act = t.closest && t.closest("[data-action]");
    if (!act) return;
    switch (act.getAttribute("data-action")) {
      case "bulk-all":
        boxes().forEach(function (x) { if (visible(x.closest(".bcard"))) set(x, true); });
        paint();
        break;
      case "bulk-clear":
        clear();
        break;
    }
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.key === "Escape" && count() > 0 && !document.querySelector("dialog[open]")) {
      var open = bar() && bar().querySelector("details[open]");
      if (open) open.open = false; else clear();
    }
  });
  // One menu open at a time.
  document.addEventListener("toggle", function (ev) {
    var d = ev.target;
    if (!d || !d.classList || !d.classList.contains("bulk-menu") || !d.open) return;
    Array.prototype.forEach.call(bar().querySelectorAll("details.bulk-menu[open]"), function (o) { if (o !== d) o.open = false; });
    var first = d.querySelector("select, textarea");
    if (first) first.focus();
  }, true);

  var DONE = {
    assign: ["asignada", "asignadas"], transfer: ["transferida", "transferidas"],
    label: ["etiquetada", "etiquetadas"], close: ["cerrada", "cerradas"]
  };

  function summary(action, res) {
    var ok = res.done.length, bad = res.failed.length, words = DONE[action] || ["cambiada", "cambiadas"];
    var msg = ok ? ok + " " + plural(ok, "conversación " + words[0], "conversaciones " + words[1]) + "." : "No se cambió ninguna conversación.";
    if (bad) {
      var names = res.failed.map(function (f) {
        var name = selected[String(f.id)] || f.name || "una conversación";
        return name + " (" + f.reason + ")";
      });
      msg += " " + (ok ? "No se " + plural(bad, "pudo cambiar", "pudieron cambiar") + " " + bad + ": " : "Motivo: ") + names.join(", ") + ".";
    }
    return msg;
  }

  document.addEventListener("submit", function (ev) {
    var form = ev.target;
    if (!form.matches || !form.matches("[data-bulk-action]")) return;
    ev.preventDefault();
    var action = form.getAttribute("data-bulk-action");
    var body = new URLSearchParams(new FormData(form));
    body.set("action", action);
    Object.keys(selected).forEach(function (id) { body.append("id", id); });
    var btn = form.querySelector('button[type="submit"]');
    if (btn) btn.disabled = true;
    fetch("/board/bulk", {
      method: "POST", credentials: "same-origin", body: body,
      headers: { "X-CSRF-Token": csrf(), "Content-Type": "application/x-www-form-urlencoded" }
    }).then(function (r) {
      return r.text().then(function (text) {
        if (!r.ok) throw new Error(text && text.length < 300 && text.indexOf("<") !== 0 ? text : "No se pudo completar la acción. Inténtalo de nuevo.");
        return JSON.parse(text);
      });
    }).then(function (res) {
      var msg = summary(action, res);
      toast(msg, res.done.length ? "" : "error");
      var box = document.getElementById("bulk-result");
      if (box) box.textContent = msg;
      form.reset();
      clear();
      if (window.htmx) window.htmx.ajax("GET", location.pathname + location.search, { target: "#board-page", swap: "outerHTML" });
    }).catch(function (err) {
      toast(err.message || "Sin conexión con el servidor. Revisa tu red e inténtalo de nuevo.", "error");
    }).then(function () {
      if (btn) btn.disabled = false;
    });
  });

  // Live updates and "Cargar más" replace cards: keep their checkboxes in step.
  document.addEventListener("htmx:load", function () { paint(); });
  document.addEventListener("htmx:afterSwap", function (ev) {
    var t = ev.detail && ev.detail.target;
    if (t && t.id === "board-page") {
      // A new board (filters changed): drop what is no longer shown.
      var shown = {};
      boxes().forEach(function (x) { shown[x.getAttribute("data-id")] = true; });
      Object.keys(selected).forEach(function (id) { if (!shown[id]) delete selected[id]; });
    }
    paint();
  });
  // Only the columns are watched (cards added or replaced live), not the bar, which
  // paint itself changes.
  var mo = window.MutationObserver && new MutationObserver(function () { if (count() > 0) paint(); });
  function watch() {
    var board = document.querySelector('#board-page [data-testid="board"]');
    if (mo && board && !board.atiendeBulkWatched) { board.atiendeBulkWatched = true; mo.observe(board, { childList: true, subtree: true }); }
  }
  document.addEventListener("htmx:load", watch);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", watch); else watch();
})();
