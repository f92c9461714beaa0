// The confirmation page notices by itself when the citizen has sent the code from WhatsApp:
// it asks the server every few seconds and reloads once the sign-up is no longer pending, so
// the page a person left open on the computer tells them they are subscribed.
(function () {
  "use strict";
  var status = document.getElementById("stato-conferma");
  if (!status || !window.fetch) return;
  var url = status.getAttribute("data-status-url");
  var delay = 3000;
  var maxDelay = 30000;
  // A person rarely takes longer than this; after it, reloading the page asks again.
  var stopAt = Date.now() + 30 * 60 * 1000;

  function ask() {
    if (Date.now() > stopAt) return;
    fetch(url, { headers: { Accept: "application/json" }, cache: "no-store" })
      .then(function (response) {
        if (!response.ok) throw new Error(String(response.status));
        return response.json();
      })
      .then(function (data) {
        if (data.state && data.state !== "pending") {
          status.textContent = status.getAttribute("data-confirmed-text");
          window.location.reload();
          return;
        }
        setTimeout(ask, delay);
      })
      .catch(function () {
        // The server is busy or the connection dropped: ask again, less often.
        delay = Math.min(delay * 2, maxDelay);
        setTimeout(ask, delay);
      });
  }
  setTimeout(ask, delay);
})();
