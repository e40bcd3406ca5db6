// Small progressive enhancements; every page works without JavaScript.

// The account menu is a <details>: it opens and its links work without any script. These
// make it behave like the menu it announces itself as (role="menu"): it closes on a click
// elsewhere, on Escape (focus back on its button) and when focus moves out of it, and the
// arrow, Home and End keys move between its items.
const accountMenus = () => document.querySelectorAll("details.account-menu[open]");
const menuItems = (menu) => [...menu.querySelectorAll('[role="menuitem"]')];

document.addEventListener("click", (event) => {
  accountMenus().forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});

document.addEventListener("focusin", (event) => {
  accountMenus().forEach((menu) => {
    if (!menu.contains(event.target)) menu.removeAttribute("open");
  });
});

document.addEventListener("keydown", (event) => {
  const menu = event.target.closest && event.target.closest("details.account-menu[open]");
  if (!menu) return;
  if (event.key === "Escape") {
    menu.removeAttribute("open");
    menu.querySelector("summary").focus();
    event.preventDefault();
    return;
  }
  const items = menuItems(menu);
  const at = items.indexOf(event.target);
  const next = {
    ArrowDown: items[(at + 1) % items.length],
    ArrowUp: items[at <= 0 ? items.length - 1 : at - 1],
    Home: items[0],
    End: items[items.length - 1],
  }[event.key];
  if (next) {
    next.focus();
    event.preventDefault();
  }
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

// A receipt's Print button (hidden without JavaScript: the browser's own Print works too).
document.querySelectorAll("[data-print]").forEach((button) => {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
});
