// Formwork "My tasks": the select-all box of the inbox and the batch
// button, enabled only while some task is checked. The page works without
// it (the server refuses an empty batch with a readable page).
(function () {
  "use strict";
  function setup() {
    var form = document.getElementById("batch-form");
    if (!form) return;
    var all = document.getElementById("select-all");
    var button = document.getElementById("batch-approve");
    var boxes = form.querySelectorAll("input.task-check");
    function sync() {
      var n = 0;
      for (var i = 0; i < boxes.length; i++) if (boxes[i].checked) n++;
      if (button) button.disabled = n === 0;
      if (all) {
        all.checked = n > 0 && n === boxes.length;
        all.indeterminate = n > 0 && n < boxes.length;
      }
    }
    if (all) {
      all.addEventListener("change", function () {
        for (var i = 0; i < boxes.length; i++) boxes[i].checked = all.checked;
        sync();
      });
    }
    for (var i = 0; i < boxes.length; i++) boxes[i].addEventListener("change", sync);
    sync();
  }
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", setup);
  else setup();
})();
