// SLA alerts: the sla job's live events carry a toast for the conversation's assignee
// and its team's supervisors (the board refreshes the card for everyone on its own).
(function () {
  "use strict";
  function listen() {
    var lv = window.atiendeLive;
    if (!lv || listen.done || !document.body || !document.body.getAttribute("data-user-id")) return;
    listen.done = true;
    lv.on(function (name, m) {
      if (name !== "change" || !m || m.kind !== "sla" || !m.text) return;
      if (window.atiendeToast) window.atiendeToast(m.text, "", "/conversations/" + m.conv);
      if ("Notification" in window && Notification.permission === "granted" && document.hidden) {
        try {
          var n = new Notification("SLA", { body: m.text, tag: "sla-" + m.conv, icon: "/static/img/favicon.svg" });
          n.onclick = function () { window.focus(); location.href = "/conversations/" + m.conv; n.close(); };
        } catch (e) {}
      }
    });
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", listen);
  else listen();
  window.addEventListener("load", listen);
})();
