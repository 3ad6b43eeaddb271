// The survey question editor, enhanced: each question shows only the fields of its type, and after a move, an
// addition or a removal the keyboard is back on the button pressed (autofocus alone is ignored inside the LMS's
// cross-origin frame). Without JavaScript every field shows and the buttons work the same.
"use strict";
for (const row of document.querySelectorAll(".question-row")) {
  const type = row.querySelector("select[name$='-type']");
  const show = () => {
    for (const part of row.querySelectorAll("[data-for]")) {
      part.hidden = !part.dataset.for.split(" ").includes(type.value);
    }
  };
  type.addEventListener("change", show);
  show();
}
const focused = document.querySelector(".question-editor [autofocus], #preview-title[autofocus]");
if (focused && document.activeElement !== focused) {
  focused.focus();
}
