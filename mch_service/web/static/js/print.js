// The call sheet's print button (no inline script: the Content-Security-Policy allows our files only).
document.addEventListener("DOMContentLoaded", function () {
  var button = document.getElementById("print");
  if (button) {
    button.addEventListener("click", function () { window.print(); });
  }
});
