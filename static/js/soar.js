// Progressive enhancement only: every page works without JavaScript.
(function () {
  "use strict";

  // Times are shown in the analyst's zone: the profile setting, else this browser's (read by
  // cases.middleware from this cookie on the next request).
  try {
    var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
    if (zone && document.cookie.indexOf("soar_tz=" + encodeURIComponent(zone)) === -1) {
      document.cookie = "soar_tz=" + encodeURIComponent(zone) + "; path=/; max-age=31536000; SameSite=Lax";
    }
  } catch (e) { /* no Intl: UTC */ }

  function boxesFor(master) {
    var table = master.closest("table");
    return table ? table.querySelectorAll('tbody input[type="checkbox"][name="ids"]') : [];
  }

  function updateCount() {
    var n = document.querySelectorAll('input[type="checkbox"][name="ids"]:checked').length;
    document.querySelectorAll("[data-selected-count]").forEach(function (el) { el.textContent = String(n); });
  }

  document.addEventListener("change", function (event) {
    var target = event.target;
    if (target.matches("[data-select-all]")) {
      boxesFor(target).forEach(function (box) { box.checked = target.checked; });
    }
    if (target.matches("[data-select-all], input[name='ids']")) {
      updateCount();
    }
    if (target.matches("[data-bulk-action]")) {
      showBulkFields(target);
    }
  });

  function showBulkFields(select) {
    var form = select.form;
    form.querySelectorAll("[data-bulk-for]").forEach(function (el) {
      var wanted = el.getAttribute("data-bulk-for").split(" ");
      el.hidden = wanted.indexOf(select.value) === -1;
    });
  }

  document.addEventListener("submit", function (event) {
    // The button that submitted may carry its own question (e.g. Approve vs Deny on one form).
    var message = (event.submitter && event.submitter.getAttribute("data-confirm")) ||
      event.target.getAttribute("data-confirm");
    if (message && !window.confirm(message)) {
      event.preventDefault();
    }
  });

  document.addEventListener("DOMContentLoaded", function () {
    document.querySelectorAll("[data-bulk-action]").forEach(showBulkFields);
    updateCount();
  });
})();
