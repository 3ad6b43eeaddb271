// LTI Dynamic Registration, last step: tell the LMS the registration is over, so that it closes this window or
// frame and shows the new tool (Moodle lists it as pending, Canvas opens its review). The LMS that opened this page
// is the opener of a popup or the parent of a frame; the message carries no data, so any origin may receive it.
(function () {
  "use strict";
  var button = document.querySelector("[data-lti-close]");
  if (!button) {
    return;
  }
  button.addEventListener("click", function () {
    var lms = window.opener || (window.parent !== window ? window.parent : null);
    if (lms) {
      lms.postMessage({ subject: "org.imsglobal.lti.close" }, "*");
    }
    // Opened directly, or by an LMS that does not listen: say how to leave.
    var fallback = document.querySelector("[data-lti-close-fallback]");
    if (fallback) {
      window.setTimeout(function () { fallback.hidden = false; }, lms ? 1500 : 0);
    }
  });
})();
