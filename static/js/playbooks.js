// Live playbook panel (runs, steps, approvals): re-fetched every few seconds while a run is
// active, every IDLE_SECONDS otherwise (a run or an approval started elsewhere shows up), with
// the last ETag sent back so that an unchanged panel is a 304. Paused in hidden tabs.
// Progressive enhancement only; without JavaScript the page shows the state at load time.
(function () {
  "use strict";
  var ERROR_RETRY_MS = 10000;
  var IDLE_SECONDS = 20;
  var etag = "";

  function panel() {
    return document.getElementById("playbook-panel");
  }

  function userIsTyping(el) {
    var focused = document.activeElement;
    return focused && el.contains(focused) && /^(INPUT|TEXTAREA|SELECT)$/.test(focused.tagName);
  }

  function schedule(delay) {
    var el = panel();
    if (!el) {
      return;
    }
    var seconds = el.getAttribute("data-active") === "1" ? parseInt(el.getAttribute("data-poll-seconds") || "3", 10)
      : IDLE_SECONDS;
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
    var headers = { Accept: "application/json" };
    if (etag) {
      headers["If-None-Match"] = etag;
    }
    fetch(el.getAttribute("data-poll-url"), { headers: headers, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 304) {
          return null;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        etag = response.headers.get("ETag") || "";
        return response.json();
      })
      .then(function (data) {
        if (data === null) {
          schedule();
          return;
        }
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
