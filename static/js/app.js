// Atiende front-end glue: small, no inline scripts (the CSP forbids them).
(function () {
  "use strict";
  var root = document.documentElement;
  try {
    if (localStorage.getItem("atiende.rail") === "collapsed") root.classList.add("rail-collapsed");
  } catch (e) {}

  document.addEventListener("click", function (ev) {
    var t = ev.target.closest("[data-action=toggle-rail]");
    if (!t) return;
    var collapsed = root.classList.toggle("rail-collapsed");
    t.setAttribute("aria-label", collapsed ? "Expandir menú" : "Contraer menú");
    try { localStorage.setItem("atiende.rail", collapsed ? "collapsed" : "open"); } catch (e) {}
  });

  // toast shows a short message in the corner; with href it is a link.
  function toast(msg, kind, href) {
    var box = document.getElementById("toasts");
    if (!box || !msg) return;
    // The same message twice is said once; never more than three at a time.
    var same = Array.prototype.some.call(box.children, function (t) { return t.textContent === msg; });
    if (same) return;
    while (box.children.length >= 3) box.removeChild(box.firstChild);
    var el = document.createElement("div");
    el.className = "toast" + (kind === "error" ? " toast-error" : "");
    el.setAttribute("role", kind === "error" ? "alert" : "status");
    if (href) {
      var a = document.createElement("a");
      a.href = href;
      a.className = "toast-link";
      a.textContent = msg;
      el.appendChild(a);
    } else el.textContent = msg;
    box.appendChild(el);
    setTimeout(function () { el.remove(); }, href ? 9000 : 5000);
  }
  window.atiendeToast = toast;

  document.addEventListener("htmx:responseError", function (ev) {
    var xhr = ev.detail.xhr, elt = ev.detail.elt;
    // A conversation someone else took: the page itself says so (conversation.js).
    if (xhr && (xhr.status === 409 || xhr.status === 404) && elt && elt.closest && elt.closest("#conv")) return;
    var text = (xhr && xhr.responseText) || "";
    if (text.length > 300 || text.indexOf("<") === 0) text = "";
    toast(text || "No se pudo completar la acción. Inténtalo de nuevo.", "error");
  });
  document.addEventListener("htmx:sendError", function () {
    toast("Sin conexión con el servidor. Revisa tu red e inténtalo de nuevo.", "error");
  });
  document.body && document.body.addEventListener("atiende:toast", function (ev) {
    toast(ev.detail && ev.detail.value, ev.detail && ev.detail.kind);
  });

  // Required fields say so in Spanish, whatever the browser's language: the message
  // comes from data-msg-required (or a sensible default), and data-msg-short for minlength.
  function spanishValidity(el) {
    if (!el || !el.validity || !el.setCustomValidity) return;
    el.setCustomValidity("");
    var v = el.validity;
    if (v.valid) return;
    var msg = "";
    if (v.valueMissing) {
      msg = el.getAttribute("data-msg-required") ||
        (el.tagName === "SELECT" ? "Elige una opción de la lista." : el.type === "checkbox" ? "Marca esta casilla para continuar." : "Completa este campo.");
    } else if (v.tooShort) {
      msg = el.getAttribute("data-msg-short") || "Escribe al menos " + el.getAttribute("minlength") + " caracteres.";
    } else if (v.typeMismatch && el.type === "email") {
      msg = "Escribe un correo válido, por ejemplo ana@empresa.com.";
    } else if (v.rangeUnderflow || v.rangeOverflow) {
      msg = "Escribe un número entre " + (el.min || "0") + " y " + (el.max || "…") + ".";
    } else if (v.typeMismatch || v.patternMismatch || v.badInput) {
      msg = "Revisa este valor.";
    }
    if (msg) el.setCustomValidity(msg);
  }
  document.addEventListener("invalid", function (ev) { spanishValidity(ev.target); }, true);
  document.addEventListener("input", function (ev) { if (ev.target && ev.target.setCustomValidity) { ev.target.setCustomValidity(""); } }, true);
  document.addEventListener("change", function (ev) { if (ev.target && ev.target.setCustomValidity) { ev.target.setCustomValidity(""); } }, true);
})();
