// Brings a live page of the Herald console up to date: when the server says what the page
// shows has changed, the page fetches itself again and takes the new content in place,
// keeping where the reader was. Without JavaScript the page is the same, only not live.
(function () {
  "use strict";
  var url = document.body.dataset.live;
  if (!url || !window.EventSource) return;
  var source = new EventSource(url);
  source.addEventListener("change", function () {
    // Someone typing in a form keeps what they typed; the next change brings the page up
    // to date.
    var active = document.activeElement;
    if (active && active.form && document.getElementById("main").contains(active)) return;
    fetch(window.location.href, { credentials: "same-origin" })
      .then(function (response) { return response.ok ? response.text() : null; })
      .then(function (text) {
        if (!text) return;
        var fresh = new DOMParser().parseFromString(text, "text/html").getElementById("main");
        var main = document.getElementById("main");
        if (fresh && main) {
          main.innerHTML = fresh.innerHTML;
          document.body.dataset.updated = String(Date.now());
        }
      });
  });
})();
