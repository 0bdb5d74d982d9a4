// The rail's badges on Tablero (my unread chats, my teams' unassigned ones), mentions
// in internal notes (a toast and a browser notification linking to the chat), and the
// live preview of the colour in Mi perfil.
(function () {
  "use strict";

  function me() { return document.body ? document.body.getAttribute("data-user-id") || "" : ""; }
  function wants(kind) { return ((document.body && document.body.getAttribute("data-notify")) || "").split(" ").indexOf(kind) >= 0; }
  function number(n) { return n > 99 ? "99+" : String(n); }

  // ---- Badges --------------------------------------------------------------------
  var timer = null, inflight = false, again = false;
  function setBadge(name, n, title) {
    document.querySelectorAll('[data-badge="' + name + '"]').forEach(function (el) {
      el.hidden = !n;
      el.textContent = number(n);
      el.title = title(n);
      el.setAttribute("aria-label", title(n));
    });
  }
  function load() {
    if (!me() || !document.querySelector("[data-badge]")) return;
    if (inflight) { again = true; return; }
    inflight = true;
    fetch("/me/badges", { credentials: "same-origin", headers: { "HX-Request": "true" }, cache: "no-store" })
      .then(function (r) { return r.ok ? r.json() : null; })
      .then(function (b) {
        if (!b) return;
        setBadge("mine", b.mine, function (n) { return n === 1 ? "1 conversación tuya sin leer" : n + " conversaciones tuyas sin leer"; });
        setBadge("unassigned", b.unassigned, function (n) { return n === 1 ? "1 conversación sin asignar en tus equipos" : n + " conversaciones sin asignar en tus equipos"; });
      })
      .catch(function () {})
      .then(function () {
        inflight = false;
        if (again) { again = false; schedule(); }
      });
  }
  // schedule: at most one refresh a second, however busy the workspace.
  function schedule() {
    if (timer) return;
    timer = setTimeout(function () { timer = null; load(); }, 1000);
  }

  // ---- Mentions ------------------------------------------------------------------
  function mention(m) {
    var who = m.name || "Alguien";
    var href = "/conversations/" + m.conv;
    var text = who + " te mencionó en una nota";
    if (window.atiendeToast) window.atiendeToast(text + (m.text ? ": «" + m.text + "»" : "."), "", href);
    if (!wants("mentions") || !("Notification" in window) || Notification.permission !== "granted") return;
    try {
      var n = new Notification(text, { body: m.text || "", tag: "mention-" + m.conv, icon: "/static/img/favicon.svg" });
      n.onclick = function () { window.focus(); location.href = href; n.close(); };
    } catch (e) {}
  }

  if (window.atiendeLive) {
    window.atiendeLive.on(function (name, m) {
      if (name === "mention") { mention(m); schedule(); return; }
      if (name === "hello" || name === "resync" || name === "change") schedule();
    });
  }
  document.addEventListener("htmx:afterSwap", schedule);

  // ---- Mi perfil: the colour previewed as it is picked ---------------------------
  document.addEventListener("change", function (ev) {
    var t = ev.target;
    if (!t || t.name !== "avatar_color") return;
    var css = t.getAttribute("data-css") || "";
    document.querySelectorAll('[data-role="avatar-preview"]').forEach(function (el) { el.style.background = css; });
  });

  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", load);
  else load();
})();
