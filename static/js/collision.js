// Collision warning: who else has this conversation open, and who is writing a reply
// ("Luis está escribiendo…"), so two agents never answer the same customer twice.
// Each open conversation announces itself (POST …/viewing) when it opens, every 20 s,
// when the agent starts typing a reply (not a note) and when it closes; the others
// arrive as "viewing" events of the shared live stream (live.js) and are forgotten
// a while after their last announcement.
(function () {
  "use strict";

  var BEAT = 20000;        // announce "viewing" this often
  var FORGET = 75000;      // forget someone not heard of for this long (background tabs beat once a minute)
  var TYPING_FOR = 6000;   // "está escribiendo…" lasts this long after the last keystroke heard
  var TYPING_EVERY = 2500; // announce typing at most this often

  var convId = null;
  var others = {};         // user id → { name, seen, typingUntil }
  var lastTyping = 0;
  var answerTimer = null;

  function csrf() {
    var m = document.querySelector('meta[name="csrf-token"]');
    return m ? m.getAttribute("content") : "";
  }
  function currentConv() {
    var c = document.getElementById("conv");
    return c && !c.classList.contains("conv-gone") ? c.getAttribute("data-conv-id") : null;
  }

  function announce(id, state, beacon) {
    if (!id) return;
    var url = "/conversations/" + id + "/viewing";
    if (beacon && navigator.sendBeacon) {
      var fd = new FormData();
      fd.append("_csrf", csrf());
      fd.append("state", state);
      try { if (navigator.sendBeacon(url, fd)) return; } catch (e) {}
    }
    fetch(url, {
      method: "POST", credentials: "same-origin", keepalive: !!beacon,
      headers: { "X-CSRF-Token": csrf(), "HX-Request": "true", "Content-Type": "application/x-www-form-urlencoded" },
      body: "state=" + encodeURIComponent(state)
    }).catch(function () {});
  }

  function firstName(name) { return (name || "").split(/\s+/)[0] || name || "Alguien"; }
  function initials(name) {
    var p = (name || "").trim().split(/\s+/);
    return ((p[0] || "").charAt(0) + (p.length > 1 ? p[p.length - 1].charAt(0) : "")).toUpperCase() || "?";
  }
  function list(names) {
    if (names.length <= 1) return names.join("");
    return names.slice(0, -1).join(", ") + " y " + names[names.length - 1];
  }

  function render() {
    var box = document.getElementById("conv-collision");
    if (!box) return;
    var now = Date.now();
    var ids = Object.keys(others).filter(function (u) { return now - others[u].seen < FORGET; });
    Object.keys(others).forEach(function (u) { if (ids.indexOf(u) < 0) delete others[u]; });
    if (!ids.length) { box.hidden = true; box.textContent = ""; box.removeAttribute("data-typing"); return; }
    var typing = ids.filter(function (u) { return others[u].typingUntil > now; });
    var names = ids.map(function (u) { return others[u].name; }).sort();
    var text;
    if (typing.length) {
      var tn = typing.map(function (u) { return firstName(others[u].name); }).sort();
      text = list(tn) + (tn.length > 1 ? " están escribiendo…" : " está escribiendo…");
    } else {
      text = list(names) + (names.length > 1 ? " también están viendo esta conversación" : " también está viendo esta conversación");
    }
    var key = ids.sort().join(",") + "|" + text;
    if (box.getAttribute("data-key") === key && !box.hidden) return;
    box.setAttribute("data-key", key);
    box.textContent = "";
    var faces = document.createElement("span");
    faces.className = "cv-collision-faces";
    names.forEach(function (n) {
      var a = document.createElement("span");
      a.className = "avatar avatar-sm";
      a.title = n;
      a.textContent = initials(n);
      faces.appendChild(a);
    });
    var t = document.createElement("span");
    t.className = "cv-collision-text";
    t.setAttribute("data-testid", "collision-text");
    t.textContent = text;
    box.appendChild(faces);
    box.appendChild(t);
    if (typing.length) {
      box.setAttribute("data-typing", "");
      var dots = document.createElement("span");
      dots.className = "cv-typing-dots";
      dots.setAttribute("aria-hidden", "true");
      dots.innerHTML = "<i></i><i></i><i></i>";
      box.appendChild(dots);
    } else box.removeAttribute("data-typing");
    box.hidden = false;
  }

  // sync follows the page: a new conversation in the panel says hello (and goodbye to
  // the previous one); none left says goodbye.
  function sync() {
    var id = currentConv();
    if (id === convId) { render(); return; }
    if (convId) announce(convId, "left");
    convId = id;
    others = {};
    lastTyping = 0;
    if (id) announce(id, "viewing");
    render();
  }

  if (window.atiendeLive) {
    window.atiendeLive.on(function (name, m) {
      if (name === "hello" && m.again && convId) { announce(convId, "viewing"); return; }
      if (name !== "viewing" || !convId || String(m.conv) !== convId) return;
      var uid = String(m.user);
      if (m.state === "left") { delete others[uid]; render(); return; }
      var known = !!others[uid];
      var o = others[uid] || { typingUntil: 0 };
      o.name = m.name || "Alguien";
      o.seen = Date.now();
      if (m.state === "typing") o.typingUntil = Date.now() + TYPING_FOR;
      others[uid] = o;
      render();
      // Someone new opened it: tell them we are here too (once, soon).
      if (!known) {
        clearTimeout(answerTimer);
        answerTimer = setTimeout(function () { if (convId) announce(convId, "viewing"); }, 300 + Math.random() * 500);
      }
    });
  }

  document.addEventListener("input", function (ev) {
    var t = ev.target;
    if (!convId || !t || t.name !== "body" || !t.closest || !t.closest("#conv-composer")) return;
    var note = document.querySelector('#conv-composer input[name="mode"][value="note"]');
    if (note && note.checked) return; // a note answers nobody
    if (!t.value.trim()) return;
    var now = Date.now();
    if (now - lastTyping < TYPING_EVERY) return;
    lastTyping = now;
    announce(convId, "typing");
  });

  document.addEventListener("htmx:load", sync);
  document.addEventListener("htmx:afterSettle", sync);
  window.addEventListener("pagehide", function () {
    if (convId) announce(convId, "left", true);
    convId = null;
    others = {};
  });
  window.addEventListener("pageshow", function (ev) { if (ev.persisted) sync(); });
  // A page someone else took (read-only, conversation.js) has nothing left to announce.
  setInterval(function () { if (convId && !document.querySelector("#conv.is-readonly")) announce(convId, "viewing"); }, BEAT);
  setInterval(sync, 1000);
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", sync);
  else sync();
})();
