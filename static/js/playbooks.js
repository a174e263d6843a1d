// Live playbook panel: while a run is active, re-fetch the panel every few seconds.
// Progressive enhancement only; without JavaScript the page shows the state at load time.
(function () {
  "use strict";
  var ERROR_RETRY_MS = 10000;

  function panel() {
    return document.getElementById("playbook-panel");
  }

  function userIsTyping(el) {
    var focused = document.activeElement;
    return focused && el.contains(focused) && /^(INPUT|TEXTAREA|SELECT)$/.test(focused.tagName);
  }

  function schedule(delay) {
    var el = panel();
    if (!el || el.getAttribute("data-active") !== "1") {
      return;
    }
    var seconds = parseInt(el.getAttribute("data-poll-seconds") || "3", 10);
    window.setTimeout(refresh, delay || seconds * 1000);
  }

  function refresh() {
    var el = panel();
    if (!el) {
      return;
    }
    if (userIsTyping(el) || document.hidden) {
      schedule();
      return;
    }
    fetch(el.getAttribute("data-poll-url"), { headers: { Accept: "application/json" }, credentials: "same-origin" })
      .then(function (response) {
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        return response.json();
      })
      .then(function (data) {
        var holder = document.createElement("div");
        holder.innerHTML = data.html; // server-rendered, auto-escaped template
        var fresh = holder.querySelector("#playbook-panel");
        if (fresh) {
          el.replaceWith(fresh);
        }
        schedule();
      })
      .catch(function () {
        schedule(ERROR_RETRY_MS);
      });
  }

  document.addEventListener("DOMContentLoaded", function () {
    schedule();
  });
})();
