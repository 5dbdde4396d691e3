// oO: say "offline" as soon as the browser knows, and show a reaction taken offline as queued.
// The websocket notices a dead network only after its ping timeout (tens of seconds); the browser's
// own online/offline events arrive at once. This sets <html data-offline="1"> while offline, and
// <html data-queued="1"> when a reaction button ([data-queue]) is pressed offline. Reflex keeps the
// event and sends it when the connection is back; "queued" clears a moment after coming back.
(function () {
  var root = document.documentElement;
  function set(name, on) {
    if (on) root.setAttribute(name, "1");
    else root.removeAttribute(name);
  }
  function sync() {
    set("data-offline", !navigator.onLine);
  }
  window.addEventListener("offline", sync);
  window.addEventListener("online", function () {
    sync();
    setTimeout(function () { set("data-queued", false); }, 1500);
  });
  document.addEventListener(
    "click",
    function (e) {
      var button = e.target && e.target.closest && e.target.closest("[data-queue]");
      if (button && !navigator.onLine) set("data-queued", true);
    },
    true
  );
  sync();
})();
