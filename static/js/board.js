// Atiende board: drag and drop between columns, the "Mover a…" menu, the close
// dialog, live updates over SSE, notifications, presence and heartbeats.
// No inline scripts and no eval (the CSP forbids both): everything hangs off data-*.
(function () {
  "use strict";

  var STATUSES = ["new", "active", "pending", "closed"];
  var LABELS = { new: "Nuevos", active: "En atención", pending: "Pendientes", closed: "Cerrados" };
  var PRESENCE = { online: "En línea", busy: "Ocupado", offline: "Desconectado" };

  function $(sel, root) { return (root || document).querySelector(sel); }
  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function page() { return document.getElementById("board-page"); }
  function me() { return document.body ? document.body.getAttribute("data-user-id") || "" : ""; }
  function csrf() {
    var m = $('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  function toast(msg, kind) { if (window.atiendeToast) window.atiendeToast(msg, kind); }

  // boardURL adds the board's filters (data-query) to a path, so every answer is
  // computed for the view the user is looking at.
  function boardURL(path, extra) {
    var p = page();
    var q = p ? p.getAttribute("data-query") || "" : "";
    var parts = [q, extra || ""].filter(Boolean).join("&");
    if (!parts) return path;
    return path + (path.indexOf("?") >= 0 ? "&" : "?") + parts;
  }

  function request(method, url, body) {
    var headers = { "HX-Request": "true", "X-CSRF-Token": csrf() };
    if (body != null) headers["Content-Type"] = "application/x-www-form-urlencoded";
    return fetch(url, { method: method, headers: headers, body: body, credentials: "same-origin", cache: "no-store" }).then(function (res) {
      if (res.status === 401) {
        window.location.href = "/login?next=" + encodeURIComponent(location.pathname + location.search);
        throw new Error("signed out");
      }
      return res;
    });
  }

  function fragment(html) {
    var t = document.createElement("template");
    t.innerHTML = html.trim();
    return t.content.firstElementChild;
  }

  function process(el) { if (window.htmx && el) window.htmx.process(el); }

  // ---- Counts, total and the unread badge in the tab title -------------------------
  // number writes n as the board does: 1.234.
  function number(n) { return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, "."); }

  function applyCounts(res) {
    var raw = res.headers.get("X-Board-Counts");
    if (!raw) return;
    var counts;
    try { counts = JSON.parse(raw); } catch (e) { return; }
    var total = 0;
    STATUSES.forEach(function (st) {
      var n = counts[st] || 0;
      total += n;
      $all('[data-count="' + st + '"]').forEach(function (el) {
        el.textContent = number(n);
        el.setAttribute("aria-label", number(n) + " conversaciones");
      });
    });
    var t = $('[data-testid="board-total"]');
    if (t) t.textContent = total === 1 ? "1 conversación" : number(total) + " conversaciones";
    if (total > 0) hideEmpty();
    setUnread(counts.unread || 0);
  }

  function setUnread(n) {
    var base = document.title.replace(/^\(\d+\)\s*/, "");
    document.title = n > 0 ? "(" + n + ") " + base : base;
  }

  function hideEmpty() {
    $all('[data-testid="board-empty"], [data-testid="board-no-match"]').forEach(function (el) { el.remove(); });
  }

  // ---- Placing cards -------------------------------------------------------------
  function cardsOf(body) { return $all(":scope > .bcard", body); }

  // placeCard puts a card rendered by the server where the board's order says:
  // newest activity first. A card that would land after the last loaded one is left
  // for "Cargar más" to bring, unless the person just moved it there (keep: the card
  // stays in sight at the end; "Cargar más" will not bring it twice).
  function placeCard(el, fresh, keep) {
    if (!el || !el.classList.contains("bcard")) return;
    var old = document.getElementById(el.id);
    var body = $('.column-body[data-status="' + el.getAttribute("data-status") + '"]');
    if (!body) { if (old) old.remove(); return; }
    var key = el.getAttribute("data-sort");
    var before = null;
    cardsOf(body).some(function (c) {
      if (c !== old && c.getAttribute("data-sort") < key) { before = c; return true; }
      return false;
    });
    var more = $(":scope > .more", body);
    var wasFocused = old && old.contains(document.activeElement);
    if (old) old.remove();
    if (!before && more && !keep) return;
    body.insertBefore(el, before || more || null);
    process(el);
    if (fresh) {
      el.classList.add("is-fresh");
      setTimeout(function () { el.classList.remove("is-fresh"); }, 1700);
    }
    if (wasFocused) { var link = $(".bcard-open", el); if (link) link.focus(); }
    hideEmpty();
  }

  function removeCard(id) {
    var el = document.getElementById("card-" + id);
    if (el) el.remove();
  }

  // ---- Live refresh of changed cards ---------------------------------------------
  var queued = {};
  var queueTimer = null;
  var seq = {};
  var dragging = false;
  var notifyQueue = {};

  function queueCard(id) {
    queued[id] = true;
    if (!queueTimer) queueTimer = setTimeout(flushQueue, 120);
  }

  function flushQueue() {
    queueTimer = null;
    if (dragging) { queueTimer = setTimeout(flushQueue, 300); return; }
    var ids = Object.keys(queued);
    queued = {};
    if (ids.length > 30) { resync(); return; }
    ids.forEach(function (id, i) { refreshCard(id, i === ids.length - 1, true); });
  }

  function refreshCard(id, withCounts, fresh) {
    var n = (seq[id] || 0) + 1;
    seq[id] = n;
    return request("GET", boardURL("/board/cards/" + id, withCounts ? "counts=1" : "")).then(function (res) {
      if (seq[id] !== n) return null; // a newer answer is on its way
      if (withCounts) applyCounts(res);
      if (res.status === 200) {
        return res.text().then(function (html) {
          if (seq[id] !== n) return null;
          var el = fragment(html);
          placeCard(el, fresh);
          notifyAfterRefresh(id, el);
          return el;
        });
      }
      if (res.status === 204 || res.status === 404) removeCard(id);
      notifyAfterRefresh(id, null);
      return null;
    }).catch(function () { return null; });
  }

  // resync fetches every column again: after a reconnect, a lost LISTEN connection,
  // or coming back through the history.
  var resyncing = null;
  function resync() {
    if (!page()) return Promise.resolve();
    if (resyncing) return resyncing;
    page().setAttribute("data-syncing", "");
    resyncing = Promise.all(STATUSES.map(function (st) {
      return request("GET", boardURL("/board/columns/" + st)).then(function (res) {
        if (!res.ok) return;
        applyCounts(res);
        return res.text().then(function (html) {
          var fresh = fragment(html);
          var old = document.getElementById("column-" + st);
          if (!fresh || !old) return;
          old.replaceWith(fresh);
          process(fresh);
          initSortable(fresh);
        });
      });
    })).catch(function () {}).then(function () {
      resyncing = null;
      var p = page();
      if (p) p.removeAttribute("data-syncing");
    });
    return resyncing;
  }

  // ---- Notifications -------------------------------------------------------------
  function wantsNotice(m) {
    var uid = me();
    if (!uid) return "";
    var mine = m.assignee != null && String(m.assignee) === uid;
    var byMe = m.actor != null && String(m.actor) === uid;
    // Mi perfil → Notificaciones: "Cuando me asignan una conversación nueva".
    var prefs = ((document.body && document.body.getAttribute("data-notify")) || "").split(" ");
    if (prefs.indexOf("assigned") < 0) return "";
    if (m.kind === "assignment" && mine && String(m.prev_assignee) !== uid && !byMe) return "Te asignaron una conversación";
    if (m.kind === "message" && m.in && mine) return "Nuevo mensaje";
    return "";
  }

  function notifyAfterRefresh(id, el) {
    var title = notifyQueue[id];
    if (!title) return;
    delete notifyQueue[id];
    var name = el ? ($(".bcard-name", el) || {}).textContent || "" : "";
    var preview = el ? ($(".bcard-preview", el) || {}).textContent || "" : "";
    var body = (name ? name + ": " : "") + preview.replace(/\s+/g, " ").trim();
    if (!("Notification" in window) || Notification.permission !== "granted" || !document.hidden) return;
    try {
      var n = new Notification(title, { body: body, tag: "conv-" + id, icon: "/static/img/favicon.svg" });
      n.onclick = function () { window.focus(); openConversation(id); n.close(); };
    } catch (e) {}
  }

  function setupNotifyButton() {
    var btn = $('[data-action="enable-notifications"]');
    if (!btn) return;
    btn.hidden = !("Notification" in window) || Notification.permission !== "default";
  }

  function openConversation(id) {
    if (!window.htmx || !$("#panel")) { location.href = "/conversations/" + id; return; }
    window.htmx.ajax("GET", "/conversations/" + id, { target: "#panel" }).then(function () {
      history.pushState({ htmx: true }, "", "/conversations/" + id);
      panelPushed = true;
    });
  }

  // ---- Live updates (live.js: one stream shared by the browser's tabs) ------------
  // liveState shows whether the board is live ("En vivo") or catching up.
  function liveState(state) {
    $all("[data-live-state]").forEach(function (el) {
      el.setAttribute("data-live-state", state);
      var text = $(".live-text", el);
      if (text) text.textContent = state === "on" ? "En vivo" : state === "off" ? "Reconectando…" : "Conectando…";
    });
  }
  function liveNow() { return window.atiendeLive ? window.atiendeLive.state : "connecting"; }

  var subscribed = false;
  function connect() {
    var lv = window.atiendeLive;
    if (subscribed || !lv) return;
    subscribed = true;
    lv.onState(liveState);
    lv.on(function (name, m) {
      if (name === "hello") {
        if (m.again) resync(); // a fresh stream after a closed one: catch up
        return;
      }
      if (name === "resync") { document.dispatchEvent(new CustomEvent("atiende:live", { detail: m })); resync(); return; }
      if (name === "change") {
        document.dispatchEvent(new CustomEvent("atiende:live", { detail: m }));
        if (!page() || !m.conv) return;
        var notice = wantsNotice(m);
        if (notice) notifyQueue[m.conv] = notice;
        queueCard(String(m.conv));
        return;
      }
      if (name === "presence") {
        document.dispatchEvent(new CustomEvent("atiende:live", { detail: m }));
        showPresence(String(m.user), m.presence);
      }
    });
  }

  // ---- Presence ------------------------------------------------------------------
  function showPresence(uid, presence) {
    if (!PRESENCE[presence]) return;
    $all('[data-presence-user="' + uid + '"]').forEach(function (el) {
      el.classList.remove("presence-online", "presence-busy", "presence-offline");
      el.classList.add("presence-" + presence);
      var t = el.getAttribute("title") || "";
      el.setAttribute("title", t.replace(/ · [^·]*$/, "") + " · " + PRESENCE[presence]);
    });
    if (uid !== me()) return;
    var av = $('[data-testid="me"] .avatar');
    if (av) {
      av.classList.remove("presence-online", "presence-busy", "presence-offline");
      av.classList.add("presence-" + presence);
      av.setAttribute("title", PRESENCE[presence]);
    }
    var picker = $("#presence-picker");
    if (picker) {
      var dot = $("summary .presence-dot", picker);
      if (dot) dot.className = "presence-dot presence-dot-" + presence;
      var cur = $('[data-testid="presence-current"]', picker);
      if (cur) cur.textContent = PRESENCE[presence];
      $all(".presence-item", picker).forEach(function (b) {
        var on = b.value === presence;
        b.classList.toggle("is-current", on);
        b.setAttribute("aria-pressed", on ? "true" : "false");
      });
    }
  }

  function heartbeat() {
    if (!me() || me() === "0") return;
    request("POST", "/me/heartbeat", "").then(function (res) {
      return res.ok ? res.json() : null;
    }).then(function (d) {
      if (d && d.presence) showPresence(me(), d.presence);
    }).catch(function () {});
  }

  // ---- Moving cards ----------------------------------------------------------------
  // askReason opens the close dialog; it resolves with the reason, or null when the
  // person cancels (Esc included).
  function askReason() {
    var dlg = $("#close-dialog");
    if (!dlg || typeof dlg.showModal !== "function") return Promise.resolve("");
    var area = $("textarea", dlg);
    if (area) area.value = "";
    dlg.returnValue = "";
    dlg.showModal();
    if (area) area.focus();
    return new Promise(function (resolve) {
      dlg.addEventListener("close", function onClose() {
        dlg.removeEventListener("close", onClose);
        resolve(dlg.returnValue === "confirm" ? (area ? area.value : "") : null);
      });
    });
  }

  function snapBack(card, origin) {
    if (!origin || !origin.from) return;
    var cards = cardsOf(origin.from).filter(function (c) { return c !== card; });
    var ref = cards[origin.index] || $(":scope > .more", origin.from) || null;
    origin.from.insertBefore(card, ref);
  }

  // move asks the server to move card to status; on refusal the card goes back where
  // it was and the reason is shown.
  function move(card, to, origin) {
    var id = card.getAttribute("data-id");
    var ask = to === "closed" ? askReason() : Promise.resolve("");
    return ask.then(function (reason) {
      if (reason === null) { snapBack(card, origin); if (origin && origin.focus) focusCard(card); return; }
      card.classList.add("is-saving");
      var body = "status=" + encodeURIComponent(to) + "&reason=" + encodeURIComponent(reason);
      return request("POST", boardURL("/conversations/" + id + "/move"), body).then(function (res) {
        card.classList.remove("is-saving");
        if (!res.ok) {
          return res.text().then(function (text) {
            snapBack(card, origin);
            if (text.length > 300 || text.charAt(0) === "<") text = "";
            toast(text || "No se pudo mover la conversación. Inténtalo de nuevo.", "error");
            if (origin && origin.focus) focusCard(card);
          });
        }
        applyCounts(res);
        if (res.status === 204) {
          card.remove();
          toast("Movida a " + LABELS[to] + ". Ya no coincide con los filtros de esta vista.");
          return;
        }
        return res.text().then(function (html) {
          var el = fragment(html);
          placeCard(el, false, true);
          if (origin && origin.focus) focusCard(el);
          if (origin && origin.focus) toast("Movida a " + LABELS[to] + ".");
        });
      }).catch(function () {
        card.classList.remove("is-saving");
        snapBack(card, origin);
        toast("Sin conexión con el servidor. La tarjeta volvió a su lugar.", "error");
      });
    });
  }

  function focusCard(card) {
    var el = card && document.getElementById(card.id);
    var link = el && $(".bcard-open", el);
    if (link) link.focus();
  }

  var suppressClickUntil = 0;

  function initSortable(root) {
    if (typeof window.Sortable === "undefined" || !root) return;
    var bodies = root.matches && root.matches(".column-body") ? [root] : $all(".column-body", root);
    bodies.forEach(function (body) {
      if (body._sortable) return;
      body._sortable = window.Sortable.create(body, {
        group: "board",
        draggable: ".bcard",
        filter: ".move-menu, .more, .column-empty",
        preventOnFilter: false,
        forceFallback: true,
        fallbackTolerance: 4,
        delayOnTouchOnly: true,
        delay: 180,
        animation: 150,
        ghostClass: "is-ghost",
        chosenClass: "is-chosen",
        dragClass: "is-dragging",
        fallbackClass: "is-dragging",
        scroll: true,
        bubbleScroll: true,
        onStart: function () {
          dragging = true;
          var p = page();
          if (p) p.classList.add("is-dragging");
          $all("details.move-menu[open]").forEach(function (d) { d.removeAttribute("open"); });
        },
        onMove: function (ev) {
          $all(".column.is-drop-target").forEach(function (c) { c.classList.remove("is-drop-target"); });
          var col = ev.to && ev.to.closest(".column");
          if (col) col.classList.add("is-drop-target");
        },
        onEnd: function (ev) {
          dragging = false;
          suppressClickUntil = Date.now() + 300;
          var p = page();
          if (p) p.classList.remove("is-dragging");
          $all(".column.is-drop-target").forEach(function (c) { c.classList.remove("is-drop-target"); });
          var origin = { from: ev.from, index: ev.oldDraggableIndex != null ? ev.oldDraggableIndex : ev.oldIndex };
          if (ev.from === ev.to) { snapBack(ev.item, origin); return; } // a column's order is its activity
          move(ev.item, ev.to.getAttribute("data-status"), origin);
        }
      });
    });
  }

  // A click right after a drop is the end of the drag, not "open the conversation".
  document.addEventListener("click", function (ev) {
    if (Date.now() < suppressClickUntil && ev.target.closest && ev.target.closest(".bcard")) {
      ev.preventDefault();
      ev.stopPropagation();
    }
  }, true);

  // The "Mover a…" menu: a plain form without JavaScript, a move in place with it.
  document.addEventListener("submit", function (ev) {
    var form = ev.target.closest && ev.target.closest("[data-move-form]");
    if (!form) return;
    ev.preventDefault();
    var card = form.closest(".bcard");
    var to = ev.submitter && ev.submitter.value;
    var menu = form.closest("details");
    if (menu) menu.removeAttribute("open");
    if (!card || !to) return;
    var body = card.parentNode;
    move(card, to, { from: body, index: cardsOf(body).indexOf(card), focus: true });
  });

  // Menus: one open at a time, closed by a click elsewhere or Esc; the move menu is
  // positioned against the viewport so a scrolling column does not clip it.
  document.addEventListener("toggle", function (ev) {
    var d = ev.target;
    if (!d.matches || !d.matches("details.move-menu, details.presence-picker") || !d.open) return;
    $all("details.move-menu[open], details.presence-picker[open]").forEach(function (o) { if (o !== d) o.removeAttribute("open"); });
    if (!d.matches(".move-menu")) return;
    var list = $(".move-list", d);
    var r = $("summary", d).getBoundingClientRect();
    list.style.position = "fixed";
    list.style.right = Math.max(8, window.innerWidth - r.right) + "px";
    list.style.top = r.bottom + 4 + "px";
    var h = list.offsetHeight;
    if (r.bottom + 4 + h > window.innerHeight - 8) list.style.top = Math.max(8, r.top - h - 4) + "px";
    var first = $("button", list);
    if (first) first.focus();
  }, true);

  document.addEventListener("scroll", function (ev) {
    if (ev.target.classList && ev.target.classList.contains("column-body")) {
      $all("details.move-menu[open]", ev.target).forEach(function (d) { d.removeAttribute("open"); });
    }
  }, true);

  document.addEventListener("click", function (ev) {
    $all("details.move-menu[open], details.presence-picker[open]").forEach(function (d) {
      if (!d.contains(ev.target)) d.removeAttribute("open");
    });
    var t = ev.target.closest && ev.target.closest("[data-action]");
    if (!t) return;
    var action = t.getAttribute("data-action");
    if (action === "close-panel") closePanel();
    if (action === "enable-notifications" && "Notification" in window) {
      Notification.requestPermission().then(function (p) {
        setupNotifyButton();
        if (p === "granted") toast("Listo: te avisaremos de mensajes y asignaciones nuevas.");
      });
    }
  });

  document.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var open = $("details.move-menu[open], details.presence-picker[open]");
    if (open) {
      open.removeAttribute("open");
      var s = $("summary", open);
      if (s) s.focus();
      return;
    }
    if ($("dialog[open]")) return; // the dialog handles its own Esc
    var panel = $("#panel");
    var inField = /^(INPUT|TEXTAREA|SELECT)$/.test((document.activeElement || {}).tagName || "");
    if (panel && panel.firstChild && !inField) closePanel();
  });

  // ---- Side panel ------------------------------------------------------------------
  var panelPushed = false;
  document.addEventListener("htmx:pushedIntoHistory", function (ev) {
    var path = (ev.detail && ev.detail.path) || "";
    panelPushed = path.indexOf("/conversations/") === 0;
  });

  function closePanel() {
    var panel = $("#panel");
    if (!panel) return;
    if (panelPushed && location.pathname.indexOf("/conversations/") === 0) {
      panelPushed = false;
      history.back(); // htmx restores the board as it was; resync brings it up to date
      return;
    }
    panel.innerHTML = "";
    var q = (page() && page().getAttribute("data-query")) || "";
    if (location.pathname.indexOf("/conversations/") === 0) history.replaceState(null, "", "/board" + (q ? "?" + q : ""));
  }

  // ---- Relative times ------------------------------------------------------------
  var MONTHS = ["ene", "feb", "mar", "abr", "may", "jun", "jul", "ago", "sept", "oct", "nov", "dic"];
  function span(ms) {
    var m = Math.max(1, Math.floor(ms / 60000));
    if (m < 60) return m + " min";
    if (m < 1440) return m % 60 ? Math.floor(m / 60) + " h " + (m % 60) + " min" : m / 60 + " h";
    var d = Math.floor(m / 1440), h = Math.floor((m % 1440) / 60);
    return h ? d + " d " + h + " h" : d + " d";
  }
  function ago(ts, now) {
    var d = now - ts;
    if (d < 60000) return "ahora";
    if (d < 3600000) return "hace " + Math.floor(d / 60000) + " min";
    if (d < 86400000) return "hace " + Math.floor(d / 3600000) + " h";
    if (d < 172800000) return "ayer";
    if (d < 604800000) return "hace " + Math.floor(d / 86400000) + " d";
    var t = new Date(ts);
    return t.getDate() + " " + MONTHS[t.getMonth()] + (t.getFullYear() === new Date(now).getFullYear() ? "" : " " + t.getFullYear());
  }
  function refreshTimes() {
    var now = Date.now();
    $all(".board-page [data-fmt]").forEach(function (el) {
      var ts = el.hasAttribute("datetime") ? Date.parse(el.getAttribute("datetime")) : parseInt(el.getAttribute("data-ts"), 10);
      if (!ts) return;
      var fmt = el.getAttribute("data-fmt");
      if (fmt === "ago") el.textContent = ago(ts, now);
      else if (fmt === "wait") el.textContent = "espera " + span(now - ts);
      else if (fmt === "sla") {
        // The badge turns red at the deadline even before the sla job marks the card.
        var due = ts - now;
        if (due > 0) el.textContent = "Vence en " + span(due);
        else {
          el.textContent = "Vencido hace " + span(-due);
          el.classList.remove("sla-ok", "sla-warning");
          el.classList.add("sla-breached");
        }
      }
      else if (fmt === "window-warning") {
        var wl = ts - now, wt = $(".win-warn-text", el);
        if (wt) wt.textContent = wl > 0 ? "La ventana de 24 h cierra en " + span(wl) : "La ventana de 24 h se cerró: solo plantillas";
      }
      else if (fmt === "window") {
        var left = ts - now;
        var text = $(".win-text", el);
        if (!text) return;
        if (left <= 0) {
          text.textContent = "Ventana cerrada";
          el.className = "win win-closed";
        } else {
          text.textContent = left < 3600000 ? Math.max(1, Math.floor(left / 60000)) + " min" : Math.floor(left / 3600000) + " h";
          el.classList.toggle("win-closing", left < 7200000);
          el.title = "Ventana de 24 h: quedan " + span(left);
        }
      }
    });
  }

  // Filters leave only what is set in the URL: /board?view=mine&team=3, not a row of
  // empty parameters (shareable, and the same URL as the server's own links).
  document.addEventListener("htmx:configRequest", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    if (!elt || elt.id !== "board-filters") return;
    var params = ev.detail.parameters;
    var drop = [];
    var keys = typeof params.keys === "function" ? Array.from(params.keys()) : Object.keys(params);
    keys.forEach(function (k) {
      var v = typeof params.get === "function" ? params.get(k) : params[k];
      if (v === "" || v == null || (k === "view" && v === "all")) drop.push(k);
    });
    drop.forEach(function (k) { if (typeof params.delete === "function") params.delete(k); else delete params[k]; });
  });

  // ---- Filters row on a phone: a fade says more filters lie beyond the edge --------
  function markFilters() {
    var f = document.getElementById("board-filters");
    if (!f) return;
    var left = f.scrollLeft > 4, right = f.scrollLeft + f.clientWidth < f.scrollWidth - 4;
    var more = left && right ? "both" : right ? "right" : left ? "left" : "";
    if (more) f.setAttribute("data-more", more); else f.removeAttribute("data-more");
  }
  document.addEventListener("scroll", function (ev) { if (ev.target && ev.target.id === "board-filters") markFilters(); }, true);
  window.addEventListener("resize", markFilters);

  // ---- Start -----------------------------------------------------------------------
  function init(root) {
    initSortable(root || document);
    markFilters();
    setupNotifyButton();
    connect();
    liveState(liveNow());
  }

  // A page of "Cargar más" may bring a card the board already shows (moved or updated
  // live meanwhile): the one just loaded is the current one.
  function dedupe(root) {
    if (!root || !root.querySelectorAll) return;
    var cards = root.classList && root.classList.contains("bcard") ? [root] : $all(".bcard", root);
    cards.forEach(function (c) {
      $all('[id="' + c.id + '"]').forEach(function (o) { if (o !== c) o.remove(); });
    });
  }

  document.addEventListener("htmx:load", function (ev) {
    var elt = ev.detail && ev.detail.elt;
    if (elt && elt.closest && elt.closest(".column-body")) dedupe(elt);
    init(elt);
  });
  document.addEventListener("htmx:historyRestore", function () {
    initSortable(document);
    setupNotifyButton();
    panelPushed = false;
    connect();
    if (page()) resync();
  });
  // The presence picker answers with itself: keep the rail's avatar in step.
  document.addEventListener("htmx:afterSwap", function (ev) {
    var target = ev.detail && ev.detail.target;
    if (!target || target.id !== "presence-picker") return;
    var on = $("#presence-picker .presence-item.is-current");
    if (on) showPresence(me(), on.value);
  });

  function start() {
    init(document);
    heartbeat();
    setInterval(heartbeat, 30000);
    setInterval(refreshTimes, 30000);
    document.addEventListener("visibilitychange", function () { if (!document.hidden) refreshTimes(); });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
