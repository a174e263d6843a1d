/* The playbook editor of the admin's playbook form: CodeMirror 5 (vendored, static/vendor/codemirror)
   with YAML highlighting; as one types, the text goes to POST /playbooks/validate and the lines it
   reports are marked (gutter dot, red background) and listed under the editor. Saving validates
   again on the server: this only helps. Without JavaScript the plain textarea remains. */
(function () {
  "use strict";
  var DELAY_MS = 400;

  function csrfToken(form) {
    var input = form ? form.querySelector("input[name=csrfmiddlewaretoken]") : null;
    return input ? input.value : "";
  }

  function setup(textarea) {
    if (typeof window.CodeMirror === "undefined" || typeof window.fetch === "undefined") { return; }
    var url = textarea.getAttribute("data-validate-url");
    var form = textarea.form;
    var editor = window.CodeMirror.fromTextArea(textarea, {
      mode: "yaml", lineNumbers: true, indentUnit: 2, tabSize: 2, lineWrapping: false,
      gutters: ["pb-problems", "CodeMirror-linenumbers"],
      extraKeys: {Tab: function (cm) { cm.replaceSelection("  "); }}
    });
    var list = document.createElement("ul");
    list.id = "playbook-problems";
    list.className = "pb-editor-problems";
    list.setAttribute("aria-live", "polite");
    var wrapper = editor.getWrapperElement();
    wrapper.parentNode.insertBefore(list, wrapper.nextSibling);
    var marked = [];
    var timer = null;
    var sequence = 0;

    function clear() {
      marked.forEach(function (handle) { editor.removeLineClass(handle, "background", "pb-error-line"); });
      marked = [];
      editor.clearGutter("pb-problems");
      list.textContent = "";
    }

    function item(text, line) {
      var li = document.createElement("li");
      li.textContent = text;
      if (line) {
        li.setAttribute("data-line", String(line));
        li.addEventListener("click", function () {
          editor.focus();
          editor.setCursor({line: line - 1, ch: 0});
        });
      }
      list.appendChild(li);
    }

    function show(problems) {
      clear();
      list.setAttribute("data-state", problems.length ? "invalid" : "valid");
      if (!problems.length) { item("No problems found.", 0); return; }
      problems.forEach(function (problem) {
        item((problem.line ? "Line " + problem.line + ": " : "") + problem.message, problem.line);
        if (!problem.line) { return; }
        var line = Math.min(problem.line, editor.lineCount()) - 1;
        marked.push(editor.addLineClass(line, "background", "pb-error-line"));
        var marker = document.createElement("span");
        marker.className = "pb-error-marker";
        marker.textContent = "\u25cf";
        marker.title = problem.message;
        editor.setGutterMarker(line, "pb-problems", marker);
      });
    }

    function validate() {
      var mine = ++sequence;
      var body = new URLSearchParams();
      body.set("definition", editor.getValue());
      window.fetch(url, {
        method: "POST", body: body, credentials: "same-origin",
        headers: {"X-CSRFToken": csrfToken(form), "Accept": "application/json"}
      }).then(function (response) {
        return response.ok ? response.json() : null;
      }).then(function (data) {
        if (data && mine === sequence) { show(data.problems || []); }
      }).catch(function () { /* offline or refused: the save still validates */ });
    }

    editor.on("change", function () {
      editor.save();
      window.clearTimeout(timer);
      timer = window.setTimeout(validate, DELAY_MS);
    });
    if (editor.getValue().trim()) { validate(); }
  }

  document.addEventListener("DOMContentLoaded", function () {
    Array.prototype.forEach.call(document.querySelectorAll("textarea[data-playbook-editor]"), setup);
  });
})();
