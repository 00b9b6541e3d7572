// Behaviour that used to sit in inline handlers: the Content-Security-Policy (script-src 'self')
// forbids those. Buttons with data-copy-from copy an element's text; forms with data-confirm ask first.
document.addEventListener("click", (event) => {
  const button = event.target.closest("[data-copy-from]");
  if (!button || !navigator.clipboard) return;
  const source = document.getElementById(button.dataset.copyFrom);
  if (source) navigator.clipboard.writeText(source.textContent).then(() => { button.textContent = button.dataset.done; });
});
document.addEventListener("submit", (event) => {
  const form = event.target.closest("form[data-confirm]");
  if (form && !window.confirm(form.dataset.confirm)) event.preventDefault();
});
