// Live regions: an element with data-live-url is re-fetched every data-live-seconds seconds
// (default 15) and replaced by the server's fresh HTML for it. The last ETag is sent back as
// If-None-Match, so an unchanged region is a 304 without a body and nothing on the page moves.
// The poller pauses while the tab is hidden, and skips a round while the analyst is typing in
// the region or has rows selected in it. Progressive enhancement: without JavaScript the page
// shows the state at load time.
(function () {
  "use strict";
  var ERROR_RETRY_SECONDS = 30;

  function busy(el) {
    var focused = document.activeElement;
    if (focused && el.contains(focused) && /^(INPUT|TEXTAREA|SELECT)$/.test(focused.tagName) &&
        focused.type !== "checkbox") {
      return true;
    }
    return el.querySelector('input[type="checkbox"]:checked') !== null || el.querySelector("details[open][data-live-keep]") !== null;
  }

  function Region(el) {
    this.el = el;
    this.etag = el.getAttribute("data-live-etag") || "";
    this.timer = null;
    this.schedule();
  }

  Region.prototype.seconds = function () {
    return parseInt(this.el.getAttribute("data-live-seconds") || "15", 10);
  };

  Region.prototype.schedule = function (seconds) {
    var self = this;
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(function () { self.refresh(); }, (seconds || this.seconds()) * 1000);
  };

  Region.prototype.refresh = function () {
    var self = this;
    if (document.hidden || busy(this.el)) {
      this.schedule();
      return;
    }
    var headers = { "X-Soar-Live": this.el.getAttribute("data-live") || "1" };
    if (this.etag) {
      headers["If-None-Match"] = this.etag;
    }
    fetch(this.el.getAttribute("data-live-url"), { headers: headers, credentials: "same-origin", cache: "no-store" })
      .then(function (response) {
        if (response.status === 304) {
          return null;
        }
        if (!response.ok) {
          throw new Error("HTTP " + response.status);
        }
        self.etag = response.headers.get("ETag") || "";
        return response.text();
      })
      .then(function (html) {
        if (html !== null && !busy(self.el)) {
          self.swap(html);
        }
        self.schedule();
      })
      .catch(function () {
        self.schedule(ERROR_RETRY_SECONDS);
      });
  };

  Region.prototype.swap = function (html) {
    // A <template> parses table parts (<tbody>, <tr>) as they are; a <div> would drop them.
    var holder = document.createElement("template");
    holder.innerHTML = html.trim(); // server-rendered, auto-escaped template
    var fresh = holder.content.firstElementChild;
    if (!fresh) {
      return;
    }
    this.el.innerHTML = fresh.innerHTML;
    this.el.setAttribute("data-live-updated", new Date().toISOString());
    this.el.dispatchEvent(new CustomEvent("live:updated", { bubbles: true }));
  };

  function start(root) {
    (root || document).querySelectorAll("[data-live-url]").forEach(function (el) {
      if (!el.soarLive) {
        el.soarLive = new Region(el);
      }
    });
  }

  document.addEventListener("visibilitychange", function () {
    if (!document.hidden) {
      document.querySelectorAll("[data-live-url]").forEach(function (el) {
        if (el.soarLive) {
          el.soarLive.schedule(1);
        }
      });
    }
  });
  document.addEventListener("DOMContentLoaded", function () { start(); });
})();
