// Keyboard shortcuts for the analyst pages (no framework; every action also has a button or link).
//   Queue:     j / k move the selection, o or Enter open, a assign to me, t triage
//   Case page: a assign to me, t triage
//   Anywhere:  / focus the search box, ? this list (a <dialog>)
// Nothing fires while typing in a field, with Ctrl/Alt/Meta held, or while the help is open.
(function () {
  "use strict";

  var SELECTED = "kb-selected";
  var STORE_KEY = "soar.queue.selected";
  var selected = null;
  var NON_TEXT_INPUTS = ["checkbox", "radio", "button", "submit", "reset", "image", "file", "range", "color"];

  var SHORTCUTS = [
    ["j", "Next case in the queue"],
    ["k", "Previous case in the queue"],
    ["o or Enter", "Open the selected case"],
    ["a", "Assign the selected case (or this case) to me"],
    ["t", "Triage the selected case (or this case)"],
    ["/", "Focus the search box"],
    ["?", "Show this list"],
    ["Esc", "Close this list"]
  ];

  function isTyping(target) {
    if (!target || target === document.body) { return false; }
    if (target.isContentEditable) { return true; }
    var tag = target.tagName;
    if (tag === "INPUT") {
      // A focused check box (the row's) is not typing: j/k still move from it.
      return NON_TEXT_INPUTS.indexOf(String(target.type).toLowerCase()) === -1;
    }
    return tag === "TEXTAREA" || tag === "SELECT";
  }

  function rows() {
    return Array.prototype.filter.call(document.querySelectorAll("tr.case-row"), function (row) {
      return row.offsetParent !== null;
    });
  }

  function linkOf(row) {
    return row && row.querySelector("a[data-case-link], td.title a");
  }

  function select(row, focus) {
    if (selected) {
      selected.classList.remove(SELECTED);
      selected.removeAttribute("aria-current");
    }
    selected = row;
    if (!row) { return; }
    row.classList.add(SELECTED);
    row.setAttribute("aria-current", "true");
    var link = linkOf(row);
    if (focus && link) {
      link.focus();
    }
    row.scrollIntoView({block: "nearest"});
  }

  function move(step) {
    var all = rows();
    if (!all.length) { return; }
    var index = selected ? all.indexOf(selected) : -1;
    if (index === -1) {
      // Start from the row holding the focus, if any, else from the top.
      var current = document.activeElement && document.activeElement.closest("tr.case-row");
      index = current ? all.indexOf(current) : (step > 0 ? -1 : all.length);
    }
    select(all[Math.max(0, Math.min(all.length - 1, index + step))], true);
  }

  function announce(text) {
    var box = document.getElementById("shortcut-status");
    if (!box) {
      box = document.createElement("div");
      box.id = "shortcut-status";
      box.className = "msg msg-info shortcut-status";
      box.setAttribute("role", "status");
      (document.getElementById("content") || document.body).prepend(box);
    }
    box.textContent = text;
  }

  function csrfToken() {
    var input = document.querySelector("input[name=csrfmiddlewaretoken]");
    return input ? input.value : "";
  }

  // POST as the row's own forms would; the server answers with a redirect (done, or refused with a
  // message flashed for the next page), so reload the queue to show the result and keep the row.
  function postFromQueue(row, urlAttribute, fields, busyText) {
    var url = row.getAttribute(urlAttribute);
    if (!url) {
      announce("You cannot change this case.");
      return;
    }
    var body = new URLSearchParams(fields);
    body.append("csrfmiddlewaretoken", csrfToken());
    announce(busyText);
    fetch(url, {method: "POST", body: body, credentials: "same-origin", redirect: "manual",
                headers: {"X-CSRFToken": csrfToken()}})
      .then(function (response) {
        if (response.type === "opaqueredirect" || response.ok) {
          try { sessionStorage.setItem(STORE_KEY, row.getAttribute("data-case-id")); } catch (e) { /* private mode */ }
          window.location.reload();
        } else {
          announce(response.status === 403 ? "You may not change this case." : "The change failed (" + response.status + ").");
        }
      })
      .catch(function () { announce("The change failed: the server cannot be reached."); });
  }

  function submitOnCasePage(selector, missing) {
    var control = document.querySelector(selector);
    if (!control) {
      announce(missing);
      return;
    }
    var form = control.form || control.closest("form");
    if (control.tagName === "BUTTON") {
      form.requestSubmit(control);
    } else {
      form.requestSubmit();
    }
  }

  function assignToMe() {
    if (selected) {
      postFromQueue(selected, "data-assign-url", {assignee: "me"}, "Assigning case #" + selected.getAttribute("data-case-id") + " to you…");
    } else if (!rows().length) {
      var me = document.querySelector('form input[name="assignee"][value="me"]');
      if (me) {
        me.form.requestSubmit();
      } else {
        announce("Nothing to assign here (already yours, or read-only).");
      }
    } else {
      announce("Select a case first (j / k).");
    }
  }

  function triage() {
    if (selected) {
      if (selected.getAttribute("data-status") !== "NEW") {
        announce("Only new cases can be triaged.");
        return;
      }
      postFromQueue(selected, "data-transition-url", {status: "TRIAGED"}, "Triaging case #" + selected.getAttribute("data-case-id") + "…");
    } else if (!rows().length) {
      submitOnCasePage('button[data-transition="TRIAGED"]', "This case cannot be triaged now.");
    } else {
      announce("Select a case first (j / k).");
    }
  }

  function focusSearch() {
    var box = document.querySelector("[data-shortcut-search]") || document.querySelector("header input[type=search]") ||
      document.querySelector("input[type=search]");
    if (box) {
      box.focus();
      box.select();
    }
    return Boolean(box);
  }

  function helpDialog() {
    var dialog = document.getElementById("shortcut-help");
    if (dialog) { return dialog; }
    dialog = document.createElement("dialog");
    dialog.id = "shortcut-help";
    dialog.className = "shortcut-help";
    dialog.setAttribute("aria-labelledby", "shortcut-help-title");
    var title = document.createElement("h2");
    title.id = "shortcut-help-title";
    title.textContent = "Keyboard shortcuts";
    dialog.appendChild(title);
    var list = document.createElement("dl");
    SHORTCUTS.forEach(function (pair) {
      var dt = document.createElement("dt");
      pair[0].split(" or ").forEach(function (key, n) {
        if (n) { dt.appendChild(document.createTextNode(" or ")); }
        var kbd = document.createElement("kbd");
        kbd.textContent = key;
        dt.appendChild(kbd);
      });
      var dd = document.createElement("dd");
      dd.textContent = pair[1];
      list.appendChild(dt);
      list.appendChild(dd);
    });
    dialog.appendChild(list);
    var form = document.createElement("form");
    form.method = "dialog";
    var close = document.createElement("button");
    close.className = "btn";
    close.textContent = "Close";
    form.appendChild(close);
    dialog.appendChild(form);
    document.body.appendChild(dialog);
    return dialog;
  }

  // A live refresh (static/js/live.js) replaces the rows: keep the same case selected.
  document.addEventListener("live:updated", function () {
    if (!selected) {
      return;
    }
    var id = selected.getAttribute("data-case-id");
    var again = document.querySelector('tr.case-row[data-case-id="' + id + '"]');
    var hadFocus = !document.activeElement || document.activeElement === document.body;
    selected = null;
    if (again) {
      select(again, hadFocus);
    }
  });

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || isTyping(event.target)) {
      return;
    }
    var open = document.getElementById("shortcut-help");
    if (open && open.open) { return; }  // the dialog handles Esc itself
    var key = event.key;
    var handled = true;
    if (key === "j") {
      move(1);
    } else if (key === "k") {
      move(-1);
    } else if (key === "o" || (key === "Enter" && selected && !event.target.closest("a, button, summary"))) {
      var link = linkOf(selected);
      if (link) { window.location.assign(link.href); } else { handled = false; }
    } else if (key === "a") {
      assignToMe();
    } else if (key === "t") {
      triage();
    } else if (key === "/") {
      handled = focusSearch();
    } else if (key === "?") {
      helpDialog().showModal();
    } else {
      handled = false;
    }
    if (handled) { event.preventDefault(); }
  });

  // A row that gets the focus by Tab or a click becomes the selection too.
  document.addEventListener("focusin", function (event) {
    var row = event.target.closest && event.target.closest("tr.case-row");
    if (row && row !== selected) { select(row, false); }
  });

  document.addEventListener("DOMContentLoaded", function () {
    var kept = null;
    try {
      kept = sessionStorage.getItem(STORE_KEY);
      sessionStorage.removeItem(STORE_KEY);
    } catch (e) { /* private mode */ }
    if (kept) {
      var row = document.querySelector('tr.case-row[data-case-id="' + kept.replace(/\D/g, "") + '"]');
      if (row) { select(row, true); }
    }
  });
})();
