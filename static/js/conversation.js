// Conversación: composer tabs, Ctrl+Enter, "/" canned responses, drafts, the template
// picker, quoted replies, the 24-hour countdown, "Cargar más" and live refreshes.
// No inline scripts (the CSP forbids them): everything is wired here by data-action
// and data-role attributes, through delegated listeners that survive htmx swaps.
(function () {
  "use strict";

  function all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }
  function conv() { return document.getElementById("conv"); }
  function convId() { var c = conv(); return c ? c.getAttribute("data-conv-id") : null; }
  function composer() { return document.getElementById("conv-composer"); }
  function bodyField() { var c = composer(); return c ? c.querySelector('textarea[name="body"]') : null; }
  function history() { return document.getElementById("history"); }
  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  function process(el) { if (window.htmx && el) window.htmx.process(el); }
  function toast(msg, kind) { if (window.atiendeToast) window.atiendeToast(msg, kind); }
  function fold(s) {
    s = (s || "").toLowerCase();
    return s.normalize ? s.normalize("NFD").replace(/[\u0300-\u036f]/g, "") : s;
  }

  // ---- Scrolling: the history opens at the newest message and stays there while
  // the agent has not scrolled up.
  var stick = true;
  function atBottom(h) { return h.scrollHeight - h.scrollTop - h.clientHeight < 48; }
  function scrollToBottom() {
    var h = history();
    if (h) h.scrollTop = h.scrollHeight;
  }
  document.addEventListener("scroll", function (ev) {
    if (ev.target && ev.target.id === "history") stick = atBottom(ev.target);
  }, true);
  document.addEventListener("load", function (ev) {
    var t = ev.target;
    if (stick && t && (t.tagName === "IMG" || t.tagName === "VIDEO") && t.closest && t.closest("#history")) scrollToBottom();
  }, true);

  // ---- Drafts survive panel swaps (an action re-renders the whole panel) and moving
  // between conversations, for the browser tab's life.
  function draftKey(id) { return "atiende.draft." + id; }
  function saveDraft() {
    var ta = bodyField(), id = convId();
    if (!ta || !id) return;
    try {
      if (ta.value.trim()) sessionStorage.setItem(draftKey(id), ta.value);
      else sessionStorage.removeItem(draftKey(id));
    } catch (e) {}
  }
  function restoreDraft() {
    var ta = bodyField(), id = convId();
    if (!ta || !id || ta.value) return;
    try {
      var d = sessionStorage.getItem(draftKey(id));
      if (d) { ta.value = d; grow(ta); }
    } catch (e) {}
  }
  function dropDraft() {
    var id = convId();
    try { if (id) sessionStorage.removeItem(draftKey(id)); } catch (e) {}
  }

  function grow(ta) {
    ta.style.height = "auto";
    ta.style.height = Math.min(ta.scrollHeight + 2, window.innerHeight * 0.4) + "px";
  }

  // ---- Composer tabs: Responder / Nota interna. The note tab turns it yellow; a
  // closed window disables only the reply.
  function applyMode() {
    var comp = composer();
    if (!comp) return;
    var noteInput = comp.querySelector('input[name="mode"][value="note"]');
    var note = !!(noteInput && noteInput.checked);
    var open = comp.getAttribute("data-window-open") === "true";
    comp.classList.toggle("is-note", note);
    var ta = bodyField();
    if (ta) {
      ta.disabled = !note && !open;
      ta.placeholder = note ? ta.dataset.placeholderNote : (open ? ta.dataset.placeholderReply : ta.dataset.placeholderClosed);
    }
    var send = comp.querySelector('[data-testid="send"]');
    if (send) {
      send.disabled = !note && !open;
      var label = send.querySelector('[data-role="send-label"]');
      if (label) label.textContent = note ? send.dataset.labelNote : send.dataset.labelReply;
    }
    if (note) closeCanned();
  }

  var focusAfterSwap = false;
  function submitComposer() {
    var form = document.getElementById("composer-form");
    var ta = bodyField();
    if (!form || !ta || ta.disabled) return;
    if (!ta.value.trim()) { ta.focus(); return; }
    closeCanned();
    dropDraft();
    focusAfterSwap = true;
    if (form.requestSubmit) form.requestSubmit();
    else form.dispatchEvent(new Event("submit", { cancelable: true, bubbles: true }));
  }

  // ---- Canned responses: "/" at the start of the composer opens a filtered list.
  var activeCanned = -1;
  function cannedList() { return document.getElementById("canned-list"); }
  function visibleCanned() {
    var list = cannedList();
    return list ? all(".cv-canned-item", list).filter(function (li) { return !li.hidden; }) : [];
  }
  function setActiveCanned(i) {
    var items = visibleCanned(), ta = bodyField();
    all(".cv-canned-item.is-active").forEach(function (li) { li.classList.remove("is-active"); li.setAttribute("aria-selected", "false"); });
    if (!items.length) { activeCanned = -1; if (ta) ta.removeAttribute("aria-activedescendant"); return; }
    activeCanned = (i + items.length) % items.length;
    var li = items[activeCanned];
    li.classList.add("is-active");
    li.setAttribute("aria-selected", "true");
    if (ta) ta.setAttribute("aria-activedescendant", li.id);
    if (li.scrollIntoView) li.scrollIntoView({ block: "nearest" });
  }
  function cannedOpen() { var l = cannedList(); return !!(l && !l.hidden); }
  function closeCanned() {
    var list = cannedList(), ta = bodyField();
    if (list) list.hidden = true;
    if (ta) { ta.setAttribute("aria-expanded", "false"); ta.removeAttribute("aria-activedescendant"); }
    activeCanned = -1;
  }
  function updateCanned(ta) {
    var list = cannedList();
    if (!list) return;
    var m = /^\/(\S*)$/.exec(ta.value);
    if (!m || ta.disabled) { closeCanned(); return; }
    var q = fold(m[1]), any = false;
    all(".cv-canned-item", list).forEach(function (li) {
      var hit = !q || fold(li.dataset.shortcut).indexOf(q) === 0 || fold(li.dataset.title).indexOf(q) >= 0;
      li.hidden = !hit;
      any = any || hit;
    });
    var empty = list.querySelector('[data-role="empty-filter"]');
    if (empty) empty.hidden = any;
    list.hidden = false;
    ta.setAttribute("aria-expanded", "true");
    setActiveCanned(0);
  }
  function chooseCanned(li) {
    var ta = bodyField();
    if (!ta || !li) return;
    ta.value = li.dataset.body || "";
    closeCanned();
    ta.focus();
    ta.setSelectionRange(ta.value.length, ta.value.length);
    grow(ta);
    saveDraft();
  }

  // ---- Quoted replies: answer a specific customer message in context.
  function quote(msg) {
    var comp = composer();
    if (!comp || !msg) return;
    var ctx = comp.querySelector('[data-role="context"]');
    var box = comp.querySelector('[data-role="replying"]');
    if (!ctx || !box) return;
    ctx.value = msg.dataset.wamid || "";
    box.querySelector('[data-role="replying-text"]').textContent = msg.dataset.preview || "un mensaje";
    box.hidden = false;
    var reply = comp.querySelector('input[name="mode"][value="reply"]');
    if (reply && !reply.checked) { reply.checked = true; applyMode(); }
    var ta = bodyField();
    if (ta && !ta.disabled) ta.focus();
  }
  function unquote() {
    var comp = composer();
    if (!comp) return;
    var ctx = comp.querySelector('[data-role="context"]');
    var box = comp.querySelector('[data-role="replying"]');
    if (ctx) ctx.value = "";
    if (box) box.hidden = true;
  }

  // ---- Template picker: choose, fill {{1}}…, preview, send.
  function showTemplate() {
    var picker = document.getElementById("tpl-picker");
    if (!picker) return;
    var sel = picker.querySelector('[data-role="template-select"]');
    if (!sel) return;
    all(".cv-tpl-form", picker).forEach(function (f) { f.hidden = f.dataset.templateId !== sel.value; });
  }
  function preview(form) {
    var pv = form.querySelector('[data-role="template-preview"]');
    if (!pv) return;
    var body = pv.dataset.body || "";
    all("[data-param]", form).forEach(function (inp) {
      var key = "{{" + inp.dataset.param + "}}";
      body = body.split(key).join(inp.value.trim() || key);
    });
    pv.textContent = body;
  }
  function openTemplates() {
    var picker = document.getElementById("tpl-picker");
    if (!picker) return;
    picker.open = true;
    var form = all(".cv-tpl-form", picker).filter(function (f) { return !f.hidden; })[0];
    var first = (form && form.querySelector("[data-param]")) || picker.querySelector("select");
    if (first) first.focus();
  }

  // ---- The 24-hour window countdown.
  var countdown = null;
  function duration(ms) {
    var mins = Math.floor(ms / 60000);
    if (mins < 1) return "menos de 1 min";
    if (mins < 60) return mins + " min";
    if (mins % 60 === 0) return Math.floor(mins / 60) + " h";
    return Math.floor(mins / 60) + " h " + (mins % 60) + " min";
  }
  function tickWindow() {
    var el = document.querySelector('#conv [data-testid="window"]');
    if (!el) return;
    var exp = Number(el.dataset.expires || 0);
    if (!exp) return;
    var left = exp - Date.now(), text = el.querySelector('[data-role="window-left"]');
    if (left <= 0) {
      if (text) text.textContent = "cerrada";
      el.classList.add("is-closed");
      el.classList.remove("is-warn");
      var comp = composer();
      if (comp && comp.getAttribute("data-window-open") === "true") refreshPanel(true);
      return;
    }
    if (text) text.textContent = "quedan " + duration(left);
    el.classList.toggle("is-warn", left < 3600000);
  }

  // ---- History: "Cargar más" prepends the older page; live refreshes merge the
  // newest page by element id (new items appended, changed ones such as ticks and
  // reactions replaced in place).
  function parse(html) {
    var t = document.createElement("template");
    t.innerHTML = html;
    return t.content;
  }
  function fetchHTML(url) {
    return fetch(url, { credentials: "same-origin", headers: { "HX-Request": "true", "X-Atiende-Live": "1" } }).then(function (r) {
      if (!r.ok) {
        return r.text().then(function (text) {
          if (text.length > 300 || text.charAt(0) === "<") text = "";
          var e = new Error(text); e.status = r.status; throw e;
        });
      }
      return r.text();
    });
  }
  function loadOlder(link) {
    var list = document.getElementById("history-list"), h = history();
    if (!list || !h || link.dataset.loading) return;
    link.dataset.loading = "1";
    link.textContent = "Cargando…";
    fetchHTML(link.dataset.url).then(function (html) {
      var frag = parse(html), fromBottom = h.scrollHeight - h.scrollTop;
      var wrap = link.closest(".cv-load-more");
      if (wrap) wrap.remove();
      all("[id]", frag).forEach(function (el) {
        if (el.parentNode !== frag) return;
        var old = document.getElementById(el.id);
        // A day chip of the boundary day now belongs above the older messages.
        if (old && list.contains(old)) old.remove();
      });
      list.insertBefore(frag, list.firstChild);
      h.scrollTop = h.scrollHeight - fromBottom;
    }).catch(function () {
      delete link.dataset.loading;
      link.textContent = "Cargar más";
      toast("No se pudieron cargar los mensajes anteriores. Inténtalo de nuevo.", "error");
    });
  }
  function mergeHistory(freshItems) {
    var list = document.getElementById("history-list"), h = history();
    if (!list) return;
    var wasBottom = h ? atBottom(h) : true;
    var items = Array.prototype.slice.call(freshItems.children).filter(function (el) {
      return el.id && /^(msg|day|cycle)-/.test(el.id);
    });
    var overlap = items.some(function (el) { var o = document.getElementById(el.id); return o && list.contains(o); });
    var prev = null, changed = false;
    items.forEach(function (el) {
      var old = document.getElementById(el.id);
      if (old && list.contains(old)) {
        if (old.outerHTML !== el.outerHTML) { old.replaceWith(el); changed = true; prev = el; } else prev = old;
        return;
      }
      if (overlap && !prev) return; // older than what is loaded: "Cargar más" brings it
      if (prev) prev.after(el); else list.appendChild(el);
      prev = el;
      changed = true;
    });
    if (changed) {
      var empty = document.getElementById("history-empty");
      if (empty && list.querySelector(".msg, .cv-note, .cv-activity")) empty.remove();
      if (wasBottom) scrollToBottom();
    }
  }
  function markRead(id) {
    fetch("/conversations/" + id + "/read", { method: "POST", credentials: "same-origin", headers: { "X-CSRF-Token": csrf(), "HX-Request": "true" } });
  }

  // refreshMessages refetches the history partial; refreshPanel refetches the whole
  // panel and updates header, banner, contact panel and history, leaving the
  // composer alone unless its state changed and the agent is not writing.
  function refreshMessages(incoming) {
    var id = convId();
    if (!id) return;
    fetchHTML("/conversations/" + id + "/messages").then(function (html) {
      if (convId() !== id) return;
      mergeHistory(parse(html));
      if (incoming) markRead(id);
    }).catch(function () {});
  }
  function replaceIn(root, fresh, sel) {
    var old = root.querySelector(sel), neu = fresh.querySelector(sel);
    if (old && neu) { old.replaceWith(neu); process(neu); }
  }
  function refreshPanel(force, incoming) {
    var id = convId();
    if (!id) return;
    fetchHTML("/conversations/" + id).then(function (html) {
      var c = conv();
      if (!c || c.getAttribute("data-conv-id") !== id) return;
      var fresh = parse(html).getElementById("conv");
      if (!fresh) return;
      var side = c.classList.contains("show-side");
      c.className = fresh.className;
      c.classList.toggle("show-side", side);
      c.setAttribute("data-status", fresh.getAttribute("data-status"));
      if (!c.querySelector("#conv-head details[open]")) replaceIn(c, fresh, "#conv-head");
      var oldBanner = c.querySelector(".cv-banner"), newBanner = fresh.querySelector(".cv-banner");
      if (oldBanner) oldBanner.remove();
      if (newBanner) { var main = c.querySelector(".cv-main"); if (main) main.insertBefore(newBanner, main.firstChild); }
      replaceIn(c, fresh, "#conv-side");
      var list = fresh.querySelector("#history-list");
      if (list) mergeHistory(list);
      var comp = composer(), neu = fresh.querySelector("#conv-composer"), ta = bodyField();
      var busy = ta && (ta.value.trim() !== "" || document.activeElement === ta) ||
        (comp && comp.querySelector("details[open]"));
      if (comp && neu && (force || (comp.getAttribute("data-state") !== neu.getAttribute("data-state") && !busy))) {
        var keep = ta ? ta.value : "";
        comp.replaceWith(neu);
        process(neu);
        var nta = bodyField();
        if (nta && keep) nta.value = keep;
        applyMode();
        showTemplate();
      }
      if (c.classList.contains("is-readonly")) unlockPanel();
      if (incoming) markRead(id);
    }).catch(function (e) {
      if (e && (e.status === 404 || e.status === 409) && conv()) lockPanel(e.message);
    });
  }

  // unlockPanel: the page answered after all (a supervisor still sees the chat): the
  // message stays, the page works again.
  function unlockPanel() {
    var c = conv();
    if (!c) return;
    c.classList.remove("is-readonly");
    all("[inert]", c).forEach(function (el) { el.removeAttribute("inert"); el.removeAttribute("aria-disabled"); });
    applyMode();
  }

  // lockPanel turns the page read-only when the agent may no longer write here
  // (someone else took the chat): one clear message instead of a stack of toasts;
  // the history stays, the draft is kept, the composer and actions are disabled.
  function lockPanel(msg) {
    var c = conv();
    if (!c) return;
    msg = msg || "Ya no tienes acceso a esta conversación: la tomó o la recibió otra persona.";
    saveDraft();
    c.classList.add("is-readonly");
    var box = c.querySelector('[data-testid="conv-lost"]');
    if (!box) {
      box = document.createElement("div");
      box.className = "cv-lost";
      box.setAttribute("role", "alert");
      box.setAttribute("data-testid", "conv-lost");
      var text = document.createElement("p");
      text.setAttribute("data-role", "lost-text");
      var back = document.createElement("a");
      back.className = "btn btn-primary cv-btn-sm";
      back.href = "/board";
      back.textContent = "Volver al tablero";
      box.appendChild(text);
      box.appendChild(back);
      var main = c.querySelector(".cv-main");
      if (main) main.insertBefore(box, main.firstChild);
    }
    box.querySelector('[data-role="lost-text"]').textContent = msg;
    all(".cv-actions, .cv-labels, #conv-composer", c).forEach(function (el) {
      el.setAttribute("inert", "");
      el.setAttribute("aria-disabled", "true");
    });
    all("#conv-composer textarea, #conv-composer button, .cv-actions button, .cv-actions summary", c).forEach(function (el) { el.disabled = true; });
    all("details[open]", c).forEach(function (d) { d.open = false; });
  }

  var refreshTimer = null, pending = { panel: false, incoming: false };
  function scheduleRefresh(kind, incoming) {
    if (kind !== "message" && kind !== "delivery" && kind !== "note" && kind !== "read") pending.panel = true;
    if (incoming) pending.incoming = true;
    clearTimeout(refreshTimer);
    refreshTimer = setTimeout(function () {
      var p = pending;
      pending = { panel: false, incoming: false };
      if (p.panel) refreshPanel(false, p.incoming);
      else refreshMessages(p.incoming);
    }, 150);
  }
  function onConvEvent(ev) {
    var id = convId();
    if (!id) return;
    var data;
    try { data = JSON.parse(ev.data); } catch (e) { return; }
    if (!data || String(data.conv) !== id) return;
    // A message that moves the conversation (Pendientes → En atención) changes the
    // header too.
    var c = conv();
    var kind = data.status && c && data.status !== c.getAttribute("data-status") ? "status" : data.kind;
    scheduleRefresh(kind, !!data["in"]);
  }
  function onResync() { if (convId()) scheduleRefresh("resync", false); }

  // Live updates: board.js re-dispatches every change of the shared stream (live.js)
  // as an "atiende:live" event on document, on the board and on this page alike.
  document.addEventListener("atiende:live", function (ev) {
    var m = ev.detail;
    if (!m) return;
    if (m.kind === "resync") { onResync(); return; }
    if (m.kind === "presence") return;
    onConvEvent({ data: JSON.stringify(m) });
  });
  if (window.atiendeLive) {
    window.atiendeLive.on(function (name, m) { if (name === "hello" && m.again) onResync(); });
  }

  // ---- Setting up a freshly loaded panel (page load or htmx swap).
  function init() {
    var c = conv();
    if (!c || c.dataset.ready === "1") return;
    c.dataset.ready = "1";
    stick = true;
    applyMode();
    restoreDraft();
    showTemplate();
    all(".cv-tpl-form").forEach(preview);
    scrollToBottom();
    tickWindow();
    clearInterval(countdown);
    countdown = setInterval(tickWindow, 30000);
    if (focusAfterSwap) {
      focusAfterSwap = false;
      var ta = bodyField();
      if (ta && !ta.disabled) ta.focus();
    }
  }
  document.addEventListener("DOMContentLoaded", init);
  document.addEventListener("htmx:load", init);
  if (document.readyState !== "loading") init();

  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (!t.closest || !t.closest("#conv")) return;
    if (t.name === "mode") { applyMode(); var ta = bodyField(); if (ta && !ta.disabled) ta.focus(); }
    if (t.matches('[data-role="template-select"]')) showTemplate();
  });

  document.addEventListener("input", function (ev) {
    var t = ev.target;
    if (!t.closest || !t.closest("#conv")) return;
    if (t.name === "body" && t.closest("#conv-composer")) { grow(t); saveDraft(); updateCanned(t); }
    if (t.matches("[data-param]")) preview(t.closest("form"));
  });

  document.addEventListener("keydown", function (ev) {
    var t = ev.target;
    if (!t || !t.closest || !t.closest("#conv")) return;
    if (t.name === "body" && t.closest("#conv-composer")) {
      if (cannedOpen()) {
        if (ev.key === "ArrowDown" || ev.key === "ArrowUp") {
          ev.preventDefault();
          setActiveCanned(activeCanned + (ev.key === "ArrowDown" ? 1 : -1));
          return;
        }
        if ((ev.key === "Enter" && !ev.ctrlKey && !ev.metaKey) || ev.key === "Tab") {
          var items = visibleCanned();
          if (items.length && activeCanned >= 0) { ev.preventDefault(); chooseCanned(items[activeCanned]); return; }
        }
        if (ev.key === "Escape") { ev.preventDefault(); closeCanned(); return; }
      }
      if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey)) { ev.preventDefault(); submitComposer(); }
      return;
    }
    // Ctrl+Enter also sends the transfer, close and template forms.
    if (ev.key === "Enter" && (ev.ctrlKey || ev.metaKey) && t.form && t.closest(".cv-menu-panel, .cv-tpl-form")) {
      ev.preventDefault();
      if (t.form.reportValidity()) t.form.requestSubmit();
    }
  });

  // Escape closes an open menu of the panel first (before the board, listening on
  // document, takes it as "close the panel").
  window.addEventListener("keydown", function (ev) {
    if (ev.key !== "Escape") return;
    var open = document.querySelector("#conv details.cv-menu[open], #conv details.cv-tpl[open]");
    if (!open) return;
    ev.stopPropagation();
    open.open = false;
    var sum = open.querySelector("summary");
    if (sum) sum.focus();
  }, true);

  document.addEventListener("mousedown", function (ev) {
    // Keep the textarea's focus while picking a canned response.
    if (ev.target.closest && ev.target.closest(".cv-canned-item")) ev.preventDefault();
  });

  document.addEventListener("click", function (ev) {
    var t = ev.target;
    if (!t.closest) return;
    // Close open menus when clicking elsewhere.
    all("#conv details.cv-menu[open], #conv details.cv-tpl[open]").forEach(function (d) {
      if (!d.contains(t) && !t.closest('[data-action="open-templates"]')) d.open = false;
    });
    var item = t.closest(".cv-canned-item");
    if (item) { chooseCanned(item); return; }
    var a = t.closest("[data-action]");
    if (!a || !a.closest("#conv")) return;
    switch (a.dataset.action) {
      case "quote": quote(a.closest(".msg")); break;
      case "cancel-quote": unquote(); break;
      case "open-templates": ev.preventDefault(); openTemplates(); break;
      case "close-templates": var p = document.getElementById("tpl-picker"); if (p) p.open = false; break;
      case "load-older": ev.preventDefault(); loadOlder(a); break;
      case "toggle-side":
        var c = conv();
        var on = c.classList.toggle("show-side");
        all('[data-action="toggle-side"]', c).forEach(function (b) { b.setAttribute("aria-expanded", on ? "true" : "false"); });
        break;
    }
  });

  // Closing the canned list when the composer loses focus.
  document.addEventListener("focusout", function (ev) {
    if (ev.target && ev.target.name === "body" && ev.target.closest && ev.target.closest("#conv-composer")) {
      setTimeout(function () { if (document.activeElement !== bodyField()) closeCanned(); }, 120);
    }
  });

  // Someone else acted first (409): say so once, and show the panel as it is now.
  document.addEventListener("htmx:responseError", function (ev) {
    var xhr = ev.detail && ev.detail.xhr, elt = ev.detail && ev.detail.elt;
    if (xhr && (xhr.status === 409 || xhr.status === 404) && elt && elt.closest && elt.closest("#conv")) {
      var text = xhr.responseText || "";
      if (text.length > 300 || text.charAt(0) === "<") text = "";
      lockPanel(text);
      refreshPanel(true);
    }
    if (elt && elt.id === "composer-form") {
      // The message was not sent: keep it as a draft.
      saveDraft();
      focusAfterSwap = false;
    }
  });
})();
