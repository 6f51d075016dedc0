// The print page's one button: open the browser's print dialog.
document.addEventListener('click', function (e) {
  var b = e.target.closest('[data-action="print-now"]');
  if (b) { window.print(); }
});
