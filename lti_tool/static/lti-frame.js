// In an LMS frame (Canvas's window messages, which other LMSs ignore): tell the LMS the page's height
// (`lti.frameResize`) whenever it changes, so that the frame grows with the page instead of scrolling inside it,
// and on a page that follows a form post (it shows a flash message or a form's errors) ask the LMS to scroll to the
// frame's top (`lti.scrollToTop`), where that message is. The messages carry nothing but a height, so they go to
// the LMS window with the target origin "*".
(function () {
  "use strict";
  var lms = window.parent !== window ? window.parent : null;
  if (!lms) {
    return;
  }
  var sent = 0;
  function resize() {
    var height = Math.ceil(document.documentElement.offsetHeight);
    if (height > 0 && height !== sent) {
      sent = height;
      lms.postMessage({ subject: "lti.frameResize", height: height }, "*");
    }
  }
  resize();
  if (typeof window.ResizeObserver === "function") {
    new window.ResizeObserver(resize).observe(document.documentElement);
  } else {
    window.addEventListener("load", resize);
  }
  if (document.body.hasAttribute("data-after-post") || document.querySelector(".flash, .field-errors")) {
    lms.postMessage({ subject: "lti.scrollToTop" }, "*");
  }
})();
