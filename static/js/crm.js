// Oportunidades y Tareas: dragging leads between stages (server-validated; a lost
// stage asks for the reason), auto-submitting filters, the stage select's reason field,
// and live "task due" notices (toast + browser notification).
(function () {
  "use strict";

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function toast(msg, kind) { if (window.atiendeToast) window.atiendeToast(msg, kind); }
  function csrf() {
    var m = $('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }

  // ---- Lead board: drag between stages ------------------------------------------
  // revert puts a card back where it was: the board is read again from the server
  // (Sortable keeps its own idea of where the card is, so moving it back by hand
  // confuses the next drag).
  function revert() {
    var page = $("#leads-page");
    if (!page || !window.htmx) { location.reload(); return; }
    window.htmx.ajax("GET", location.pathname + location.search, { target: "#leads-page", swap: "outerHTML" });
  }

  function askReason() {
    var dlg = $("#lost-dialog");
    if (!dlg || typeof dlg.showModal !== "function") {
      var r = window.prompt("¿Por qué se perdió la oportunidad?");
      return Promise.resolve(r && r.trim() ? r.trim() : null);
    }
    var input = $('input[name="reason"]', dlg);
    input.value = "";
    return new Promise(function (resolve) {
      dlg.addEventListener("close", function onClose() {
        dlg.removeEventListener("close", onClose);
        var v = input.value.trim();
        resolve(dlg.returnValue === "ok" && v ? v : null);
      });
      dlg.returnValue = "";
      dlg.showModal();
      input.focus();
    });
  }

  function applyMove(html, item) {
    var tpl = document.createElement("template");
    tpl.innerHTML = html;
    var card = tpl.content.querySelector(".lcard");
    if (card && item.parentNode) item.replaceWith(card);
    $all("[hx-swap-oob]", tpl.content).forEach(function (oob) {
      var target = (oob.getAttribute("hx-swap-oob") || "").replace(/^outerHTML:/, "");
      var old = target ? document.querySelector(target) : null;
      var fresh = oob.firstElementChild;
      if (old && fresh) old.replaceWith(fresh);
    });
  }

  function move(evt) {
    var page = $("#leads-page");
    var item = evt.item;
    var col = evt.to.closest(".lcol");
    if (!page || !col || evt.from === evt.to) return;
    var stage = col.getAttribute("data-stage");
    var ask = col.getAttribute("data-kind") === "lost" ? askReason() : Promise.resolve("");
    ask.then(function (reason) {
      if (reason === null) { revert(evt); return; }
      item.classList.add("is-saving");
      var body = new URLSearchParams();
      body.set("stage_id", stage);
      if (reason) body.set("reason", reason);
      var q = page.getAttribute("data-query") || "";
      fetch("/leads/" + item.getAttribute("data-id") + "/stage" + (q ? "?" + q : ""), {
        method: "POST", credentials: "same-origin",
        headers: { "X-CSRF-Token": csrf(), "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" },
        body: body.toString()
      }).then(function (res) {
        return res.text().then(function (text) {
          item.classList.remove("is-saving");
          if (!res.ok) {
            revert(evt);
            toast(text && text.length < 300 && text.charAt(0) !== "<" ? text : "No se pudo mover la oportunidad. Inténtalo de nuevo.", "error");
            return;
          }
          applyMove(text, item);
          toast("Movida a " + col.getAttribute("data-name") + ".");
        });
      }).catch(function () {
        item.classList.remove("is-saving");
        revert(evt);
        toast("Sin conexión con el servidor. La oportunidad volvió a su lugar.", "error");
      });
    });
  }

  function initBoard(root) {
    if (!window.Sortable) return;
    $all(".lcol-body", root).forEach(function (body) {
      if (body.dataset.sortable) return;
      body.dataset.sortable = "1";
      window.Sortable.create(body, {
        group: "leads", draggable: ".lcard", animation: 120, ghostClass: "is-ghost",
        delay: 120, delayOnTouchOnly: true, onEnd: move
      });
    });
  }

  // ---- Filters submit themselves; the stage select shows the reason when lost ------
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    var form = t.closest && t.closest("form[data-autosubmit]");
    if (form && t.name !== "close_from" && t.name !== "close_to") { form.submit(); return; }
    if (t.matches && t.matches("[data-stage-select]")) {
      var opt = t.options[t.selectedIndex];
      var box = $("[data-lost-reason]", t.form);
      if (box) {
        var lost = opt && opt.getAttribute("data-kind") === "lost";
        box.hidden = !lost;
        var input = $("input", box);
        if (input) input.required = lost;
        if (lost && input) input.focus();
      }
    }
  });

  // ---- Task due notices ----------------------------------------------------------
  function showTask(data) {
    var t;
    try { t = typeof data === "string" ? JSON.parse(data) : data; } catch (e) { return; }
    if (t && typeof t.task === "string") { try { t = JSON.parse(t.task); } catch (e) { return; } }
    if (!t || !t.id) return;
    var text = t.kind + (t.title ? ": " + t.title : "") + (t.contact ? " · " + t.contact : "");
    toast("Tarea para ahora — " + text);
    if ("Notification" in window && Notification.permission === "granted") {
      try {
        var n = new Notification("Tarea para ahora", { body: text, tag: "task-" + t.id, icon: "/static/img/favicon.svg" });
        n.onclick = function () { window.focus(); location.href = "/tasks"; n.close(); };
      } catch (e) {}
    }
    var group = $('[data-testid="tasks-page"]');
    if (group && window.htmx) window.htmx.ajax("GET", "/tasks", { target: "#content", select: "#content > *" });
  }
  document.addEventListener("atiende:task", function (ev) { showTask(ev.detail); });

  // Due tasks arrive on the browser's one shared live stream (live.js).
  function listen() {
    if (!window.atiendeLive || !document.body.getAttribute("data-user-id") || listen.done) return;
    listen.done = true;
    window.atiendeLive.on(function (name, m) { if (name === "task_due") showTask(m); });
  }

  function setupNotifyButton() {
    var btn = $('[data-action="enable-task-notifications"]');
    if (!btn) return;
    btn.hidden = !("Notification" in window) || Notification.permission !== "default";
    btn.onclick = function () {
      Notification.requestPermission().then(function (p) {
        btn.hidden = true;
        if (p === "granted") toast("Listo: te avisaremos cuando venza una tarea.");
      });
    };
  }

  document.addEventListener("htmx:load", function (ev) { initBoard(ev.detail && ev.detail.elt); setupNotifyButton(); });
  window.addEventListener("load", function () { initBoard(document); setupNotifyButton(); listen(); });
})();
