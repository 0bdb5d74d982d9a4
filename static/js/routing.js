// Routing setup screens (Configuración → Enrutamiento, menús, horarios, automatizaciones):
// rules reordered by drag (saved at once by the form's hx-trigger="end"), fields that
// follow the chosen kind, and the live WhatsApp preview of a welcome menu.
(function () {
  "use strict";

  function $all(sel, root) { return Array.prototype.slice.call((root || document).querySelectorAll(sel)); }

  // ---- Rules: drag to reorder ------------------------------------------------------
  function initRules(root) {
    if (!window.Sortable) return;
    $all("[data-sortable-rules]", root).forEach(function (list) {
      if (list.dataset.sortableReady) return;
      list.dataset.sortableReady = "1";
      window.Sortable.create(list, {
        draggable: ".rule", animation: 120, ghostClass: "is-ghost", chosenClass: "is-chosen",
        filter: "a, button, input, select, .btn", preventOnFilter: false,
        forceFallback: true, fallbackTolerance: 4, delay: 150, delayOnTouchOnly: true,
        onEnd: function (evt) {
          // Sortable dispatches "end" on the list; the enclosing form posts on it.
          if (evt.oldIndex === evt.newIndex) return;
          $all("[data-testid=rule-position]", list).forEach(function (el, i) { el.textContent = String(i + 1); });
          list.classList.add("is-saving");
        }
      });
    });
  }

  // A refused order (someone changed the rules meanwhile) shows the stored order again.
  document.addEventListener("htmx:responseError", function (ev) {
    var form = ev.target && ev.target.closest && ev.target.closest("[data-testid=rules-form]");
    if (form) setTimeout(function () { location.reload(); }, 1500);
  });

  // ---- Fields that follow a kind select --------------------------------------------
  // An element with data-kind="x" shows when its form's kind select (the one named by
  // data-kind-of, or the only one) has value x.
  function syncKinds(form) {
    $all("[data-kind-select]", form).forEach(function (sel) {
      var group = sel.getAttribute("data-kind-select");
      $all("[data-kind]", form).forEach(function (el) {
        if ((el.getAttribute("data-kind-of") || "") !== group) return;
        var show = el.getAttribute("data-kind") === sel.value;
        el.hidden = !show;
        $all("input, select, textarea", el).forEach(function (i) { i.disabled = !show; });
      });
    });
  }

  // ---- Template variables of the chosen template ----------------------------------
  function syncTemplate(form) {
    var sel = form.querySelector("[data-template-select]");
    if (!sel) return;
    $all("[data-template-params]", form).forEach(function (box) {
      var show = box.getAttribute("data-template-params") === sel.value;
      box.hidden = !show;
      $all("input", box).forEach(function (i) { i.disabled = !show; });
    });
  }

  // ---- Welcome menu preview ---------------------------------------------------------
  // shorten is whatsapp.Shorten: at most n characters, at a word's end when one is near.
  function shorten(t, n) {
    var r = Array.from(t);
    if (r.length <= n) return t;
    var head = r.slice(0, n - 1).join("");
    var i = head.lastIndexOf(" ");
    if (i > head.length / 2) head = head.slice(0, i);
    return head.replace(/[ ,.;:-]+$/, "") + "…";
  }

  function syncMenu(form) {
    var preview = document.querySelector("[data-testid=menu-preview]");
    if (!preview) return;
    var text = form.querySelector("[data-menu-text]").value.trim();
    var p = preview.querySelector("[data-preview-text]");
    p.textContent = text || "Escribe el texto del mensaje…";
    p.classList.toggle("muted", !text);
    var titles = [];
    $all("[data-menu-title]", form).forEach(function (input) {
      var t = input.value.trim();
      var count = input.parentNode.querySelector("[data-menu-count]");
      if (count) {
        var n = Array.from(t).length;
        count.textContent = n + "/24";
        count.classList.toggle("is-long", n > 24);
      }
      if (t) titles.push(t);
    });
    var buttons = preview.querySelector("[data-preview-buttons]");
    var list = preview.querySelector("[data-preview-list]");
    var rows = preview.querySelector("[data-preview-rows]");
    buttons.innerHTML = "";
    rows.innerHTML = "";
    titles.slice(0, 10).forEach(function (t) {
      var b = document.createElement("span");
      b.className = "wa-button";
      b.setAttribute("data-testid", "preview-button");
      b.textContent = shorten(t, 20);
      buttons.appendChild(b);
      var li = document.createElement("li");
      li.setAttribute("data-testid", "preview-row");
      var box = document.createElement("span");
      box.className = "wa-row-text";
      var s = document.createElement("span");
      s.textContent = shorten(t, 24);
      box.appendChild(s);
      if (s.textContent !== t) {
        var d = document.createElement("small");
        d.className = "wa-row-desc";
        d.textContent = shorten(t, 72);
        box.appendChild(d);
      }
      var r = document.createElement("span");
      r.className = "wa-radio";
      li.appendChild(box);
      li.appendChild(r);
      rows.appendChild(li);
    });
    buttons.hidden = titles.length === 0 || titles.length > 3;
    list.hidden = titles.length <= 3;
  }

  function init(root) {
    initRules(root);
    $all("form[data-kind-form]", root).forEach(function (f) { syncKinds(f); syncTemplate(f); });
    $all("form[data-menu-form]", root).forEach(syncMenu);
  }

  document.addEventListener("change", function (ev) {
    var form = ev.target.closest && ev.target.closest("form[data-kind-form]");
    if (form) { syncKinds(form); syncTemplate(form); }
  });
  document.addEventListener("input", function (ev) {
    var form = ev.target.closest && ev.target.closest("form[data-menu-form]");
    if (form) syncMenu(form);
  });
  document.addEventListener("htmx:load", function (ev) { init(ev.target); });
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", function () { init(document); });
  else init(document);
})();
