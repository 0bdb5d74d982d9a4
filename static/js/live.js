// Atiende live stream, shared by every Atiende tab of the browser.
//
// Browsers allow six connections per host over HTTP/1.1, and a page kept in the
// back/forward cache keeps its EventSource open. So:
//   - the stream is closed on pagehide and opened again on pageshow;
//   - one tab (the holder of a Web Lock) opens /events and relays every event to the
//     other tabs over a BroadcastChannel; when it closes, another tab takes over.
// Without Web Locks or BroadcastChannel each tab opens its own stream.
//
// Consumers: window.atiendeLive.on(function (name, data) {…}) with name "hello",
// "resync", "change", "presence", "viewing", "mention" or "task_due"; atiendeLive.onState(fn) with
// "connecting", "on" or "off"; atiendeLive.state.
(function () {
  "use strict";

  var EVENTS = ["hello", "resync", "change", "presence", "viewing", "mention", "task_due"];
  var listeners = [];
  var stateListeners = [];
  var live = {
    state: "connecting",
    role: "none", // leader | follower | solo
    on: function (fn) { listeners.push(fn); },
    onState: function (fn) { stateListeners.push(fn); }
  };
  window.atiendeLive = live;

  function me() { return document.body ? document.body.getAttribute("data-user-id") || "" : ""; }

  // hadStream: this tab has been live before. A "hello" after that (a new stream, a new
  // leader) means events may have been missed: data.again tells consumers to catch up.
  var hadStream = false;
  function emit(name, data) {
    if (name === "hello") {
      data = Object.assign({}, data, { again: hadStream });
      hadStream = true;
    }
    listeners.slice().forEach(function (fn) { try { fn(name, data); } catch (e) { if (window.console) console.error(e); } });
  }
  function setState(s) {
    if (live.state === s) return;
    live.state = s;
    stateListeners.slice().forEach(function (fn) { try { fn(s); } catch (e) {} });
  }

  var shared = "locks" in navigator && typeof BroadcastChannel === "function";
  var source = null;     // the EventSource this tab holds (leader or solo)
  var channel = null;    // BroadcastChannel to the other tabs
  var releaseLock = null;
  var lockAbort = null;
  var retryTimer = null;
  var running = false;

  function parse(ev) {
    try { return JSON.parse(ev.data); } catch (e) { return null; }
  }

  // openSource opens the stream in this tab; relay says whether to pass what arrives
  // to the other tabs.
  function openSource(relay) {
    if (source) return;
    var es;
    try { es = new EventSource("/events"); } catch (e) { return; }
    source = es;
    EVENTS.forEach(function (name) {
      es.addEventListener(name, function (ev) {
        if (source !== es) return;
        var data = parse(ev);
        if (!data) return;
        if (name === "hello" || name === "resync") setState("on");
        emit(name, data);
        if (relay && channel) {
          try { channel.postMessage({ t: "event", name: name, data: data }); } catch (e) {}
          if (name === "hello" || name === "resync") broadcastState();
        }
      });
    });
    es.onerror = function () {
      if (source !== es) return;
      setState("off");
      if (relay) broadcastState();
      // The browser retries by itself; when it gives up (an error answer), start over.
      if (es.readyState === 2) {
        source = null;
        clearTimeout(retryTimer);
        retryTimer = setTimeout(function () { if (running && (live.role === "leader" || live.role === "solo")) openSource(relay); }, 3000 + Math.random() * 2000);
      }
    };
  }

  function closeSource() {
    clearTimeout(retryTimer);
    if (source) { source.close(); source = null; }
  }

  function broadcastState() {
    if (channel) { try { channel.postMessage({ t: "state", state: live.state }); } catch (e) {} }
  }

  function onChannel(ev) {
    var m = ev.data || {};
    if (m.t === "event" && live.role === "follower") {
      if (m.name === "hello" || m.name === "resync") setState("on");
      emit(m.name, m.data);
    } else if (m.t === "state" && live.role === "follower") {
      if (m.state === "on") hadStream = true;
      setState(m.state);
    } else if (m.t === "ask" && live.role === "leader") {
      broadcastState();
    }
  }

  function start() {
    if (running || !me() || !window.EventSource) return;
    running = true;
    if (!shared) {
      live.role = "solo";
      setState("connecting");
      openSource(false);
      return;
    }
    channel = new BroadcastChannel("atiende-live-" + me());
    channel.onmessage = onChannel;
    live.role = "follower";
    setState("connecting");
    try { channel.postMessage({ t: "ask" }); } catch (e) {}
    lockAbort = typeof AbortController === "function" ? new AbortController() : null;
    var opts = lockAbort ? { signal: lockAbort.signal } : {};
    navigator.locks.request("atiende-live-" + me(), opts, function () {
      if (!running) return;
      // This tab now holds the stream for every tab of the browser.
      live.role = "leader";
      setState("connecting");
      openSource(true);
      return new Promise(function (resolve) { releaseLock = resolve; });
    }).catch(function () {});
  }

  function stop() {
    if (!running) return;
    running = false;
    closeSource();
    if (releaseLock) { releaseLock(); releaseLock = null; }
    if (lockAbort) { try { lockAbort.abort(); } catch (e) {} lockAbort = null; }
    if (channel) {
      if (live.role === "leader") { try { channel.postMessage({ t: "state", state: "connecting" }); } catch (e) {} }
      channel.close();
      channel = null;
    }
    live.role = "none";
    setState("connecting");
  }

  // The page leaves (another page, the back/forward cache, the tab closes): give the
  // connection back. Coming back from the cache: open it again and catch up.
  window.addEventListener("pagehide", stop);
  window.addEventListener("pageshow", function (ev) {
    if (ev.persisted) {
      start();
      emit("resync", { kind: "resync" });
    }
  });

  live.start = start;
  live.stop = stop;
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", start);
  else start();
})();
