// After a form is sent, move focus to what the page says about it, so that keyboard and screen-reader users start
// there instead of at the top of the page: the error summary of a failed submit (its links lead to each field),
// or else the flash message of a success. Both carry tabindex="-1" in the templates. It waits for the load and one
// more turn: the browser's own move to the URL's #fragment would otherwise take the focus back to the body.
(function () {
  "use strict";
  var target = document.querySelector(".error-summary") || document.querySelector("p.flash");
  if (!target) {
    return;
  }
  function focus() {
    window.setTimeout(function () {
      target.focus();
    }, 0);
  }
  if (document.readyState === "complete") {
    focus();
  } else {
    window.addEventListener("load", focus);
  }
})();
