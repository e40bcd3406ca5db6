// "Copy link" buttons: <button data-copy="FIELD-ID" data-copy-status="STATUS-ID" hidden>.
// Without JavaScript the button stays hidden and the read-only field can still be selected
// and copied by hand; with it, the button copies the field and the status (a polite live
// region) says so.
document.querySelectorAll("button[data-copy]").forEach((button) => {
  const field = document.getElementById(button.dataset.copy);
  const status = document.getElementById(button.dataset.copyStatus);
  if (!field) return;
  let clear;

  const say = (text) => {
    if (!status) return;
    status.textContent = text;
    clearTimeout(clear);
    clear = setTimeout(() => { status.textContent = ""; }, 4000);
  };

  const copy = async () => {
    try {
      await navigator.clipboard.writeText(field.value);
      return true;
    } catch {
      // No Clipboard API (an insecure origin, an old browser) or no permission: the
      // older way, from the selected field.
      field.focus();
      field.select();
      try { return document.execCommand("copy"); } catch { return false; }
    }
  };

  // One click in the field selects the whole link, ready to copy by hand.
  field.addEventListener("focus", () => field.select());
  button.addEventListener("click", async () => {
    say(await copy() ? "Copied" : "Press Ctrl+C (or \u2318C on a Mac) to copy the selected link");
  });
  button.hidden = false;
});
