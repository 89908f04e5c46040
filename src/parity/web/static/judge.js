// Keyboard shortcuts of the blind judging page: a, b, t and s press the matching button.
// The buttons are ordinary submit buttons, so Tab and Enter work too, without this script.
(function () {
  "use strict";
  document.addEventListener("DOMContentLoaded", function () {
    const form = document.getElementById("verdict");
    if (!form) return;
    let sent = false;
    form.addEventListener("submit", function () { sent = true; });
    document.addEventListener("keydown", function (event) {
      if (sent || event.altKey || event.ctrlKey || event.metaKey || event.repeat) return;
      const target = event.target;
      if (target && (target.isContentEditable || ["INPUT", "TEXTAREA", "SELECT"].includes(target.tagName))) return;
      const button = form.querySelector('button[data-key="' + event.key.toLowerCase() + '"]');
      if (!button) return;
      event.preventDefault();
      button.focus();
      form.requestSubmit(button);
    });
  });
})();
