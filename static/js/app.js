// Small progressive enhancements; every page works without JavaScript.
document.addEventListener("click", (event) => {
  // Close the account menu when clicking elsewhere.
  document.querySelectorAll("details.account-menu[open]").forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});

// Forms marked data-once disable their submit buttons after the first submit,
// so a double click cannot send two purchases.
document.addEventListener("submit", (event) => {
  const form = event.target;
  if (!form.matches("form[data-once]")) return;
  if (form.dataset.submitted) { event.preventDefault(); return; }
  form.dataset.submitted = "1";
  form.querySelectorAll("button[type=submit], input[type=submit]").forEach((b) => {
    setTimeout(() => { b.disabled = true; }, 0);
  });
});
