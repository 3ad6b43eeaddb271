// Program settings: keep each matching weight's share of the total up to date while the instructor types.
// The server renders the same figures, so the page works without this script.
(function () {
  "use strict";
  var inputs = Array.prototype.slice.call(document.querySelectorAll("input[data-weight]"));
  if (!inputs.length) {
    return;
  }
  function value(input) {
    var number = parseFloat(input.value);
    return isFinite(number) && number >= 0 && number <= 1 ? number : 0;
  }
  function update() {
    var total = inputs.reduce(function (sum, input) { return sum + value(input); }, 0);
    inputs.forEach(function (input) {
      var output = document.querySelector('output[data-share-for="' + input.id + '"]');
      if (output) {
        output.textContent = total > 0 ? Math.round((100 * value(input)) / total) + "%" : "–";
      }
    });
  }
  inputs.forEach(function (input) { input.addEventListener("input", update); });
})();
