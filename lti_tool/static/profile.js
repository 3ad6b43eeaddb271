// Profile form: on a new profile, pre-select the browser's time zone instead of the server's default (UTC).
// Only a suggestion: the select stays editable and the server validates whatever is sent.
document.addEventListener("DOMContentLoaded", function () {
  var select = document.querySelector("select[data-guess-timezone]");
  if (!select || typeof Intl === "undefined") {
    return;
  }
  var zone = Intl.DateTimeFormat().resolvedOptions().timeZone;
  for (var i = 0; i < select.options.length; i += 1) {
    if (select.options[i].value === zone) {
      select.selectedIndex = i;
      return;
    }
  }
});
