// Send the CSRF token with every HTMX request, from the meta tag base.html renders.
document.addEventListener("htmx:configRequest", function (event) {
  var meta = document.querySelector('meta[name="csrf-token"]');
  if (meta) { event.detail.headers["X-CSRFToken"] = meta.content; }
});

// Swap 422 responses too: they carry the form again with messages at the fields.
if (window.htmx) {
  htmx.config.responseHandling = [
    {code: "204", swap: false},
    {code: "[23]..", swap: true},
    {code: "422", swap: true},
    {code: "[45]..", swap: false, error: true},
  ];
}

// Forms that ask first (macros/forms.html `button(..., confirm=...)`): the question is in
// data-confirm, not an inline onsubmit, which the Content-Security-Policy would refuse.
document.addEventListener("submit", function (event) {
  var question = event.target.getAttribute && event.target.getAttribute("data-confirm");
  if (question && !window.confirm(question)) { event.preventDefault(); }
}, true);
