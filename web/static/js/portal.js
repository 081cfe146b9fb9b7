/* Progressive enhancement only: every form works without this file.
   - Forms marked data-once disable their submit button after the first submit, so an impatient
     double click sends one request (the server is idempotent anyway).
   - Forms marked data-reset are cleared after htmx posted them (the chat box). */
(function () {
  "use strict";
  document.addEventListener("submit", function (event) {
    var form = event.target;
    if (!form || !form.hasAttribute || !form.hasAttribute("data-once")) { return; }
    if (form.getAttribute("data-sent") === "1") { event.preventDefault(); return; }
    form.setAttribute("data-sent", "1");
    var buttons = form.querySelectorAll("button[type=submit]");
    for (var i = 0; i < buttons.length; i++) { buttons[i].setAttribute("aria-disabled", "true"); }
  }, true);
  document.addEventListener("htmx:afterRequest", function (event) {
    var form = event.target;
    if (form && form.hasAttribute && form.hasAttribute("data-reset") && event.detail.successful) {
      form.reset();
    }
  });
})();
