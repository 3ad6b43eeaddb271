// Copy buttons: <button data-copy="ID"> copies the text of the element with that id (the URLs an LMS administrator
// pastes). Without this script the buttons stay hidden and the URLs can be selected and copied by hand.
(function () {
  "use strict";
  Array.prototype.forEach.call(document.querySelectorAll("button[data-copy]"), function (button) {
    var source = document.getElementById(button.getAttribute("data-copy"));
    var status = document.getElementById(button.getAttribute("data-copy") + "-status");
    if (!source) {
      return;
    }
    button.hidden = false;
    button.addEventListener("click", function () {
      var text = source.textContent.trim();
      function selectIt() {
        var range = document.createRange();
        range.selectNodeContents(source);
        var selection = window.getSelection();
        selection.removeAllRanges();
        selection.addRange(range);
        if (status) { status.textContent = "Selected: press Ctrl+C (⌘C) to copy."; }
      }
      if (!navigator.clipboard) {
        selectIt();
        return;
      }
      navigator.clipboard.writeText(text).then(function () {
        if (status) { status.textContent = "Copied."; }
      }, selectIt);
    });
  });
})();
