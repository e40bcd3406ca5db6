// A page waiting on a payment (an upgrade's receipt, the return from a subscription's
// Checkout) asks for news every few seconds instead of reloading itself:
//
//   <article data-poll="URL" data-poll-state="pending" [data-poll-final]
//            [data-poll-until="ISO time the Checkout page closes"]>
//     ... parts marked data-poll-part="NAME", one of them a polite live region ...
//
// URL answers JSON {state, final, until, parts: {NAME: html}}. When the state changes the
// parts are replaced, so the live region's new sentence is read out once, without a reload.
// Checking slows down as it goes, pauses while the tab is hidden, and stops for good once
// the state is final, the Checkout page has closed, or after half an hour. Without
// JavaScript (or once checking stops) the page offers its Refresh link instead.
(() => {
  // "Print" buttons are hidden until there is a script to press them.
  const showPrintButtons = () => {
    document.querySelectorAll("[data-print]").forEach((button) => { button.hidden = false; });
  };
  document.addEventListener("click", (event) => {
    if (event.target.closest("[data-print]")) window.print();
  });
  showPrintButtons();

  const root = document.querySelector("[data-poll]");
  if (!root || "pollFinal" in root.dataset) return;

  const DELAYS = [2, 3, 5, 8, 13, 20, 30];  // seconds between checks; then every 30
  const GIVE_UP_AFTER = 30 * 60 * 1000;
  const started = Date.now();
  let until = root.dataset.pollUntil ? Date.parse(root.dataset.pollUntil) : null;
  let attempt = 0;
  let timer = null;
  let checking = false;
  let stopped = false;

  const hints = () => root.querySelectorAll("[data-poll-hint]");
  const sayChecking = () => hints().forEach((hint) => {
    hint.textContent = "This page updates by itself.";
  });
  // Stopped for good: the page says what it last knew; Refresh asks again.
  const stop = () => {
    stopped = true;
    clearTimeout(timer);
    hints().forEach((hint) => {
      hint.replaceChildren("Still waiting. ");
      const link = document.createElement("a");
      link.href = window.location.pathname + window.location.search;
      link.textContent = "Refresh";
      hint.append(link, " to check again.");
    });
  };

  const apply = (news) => {
    for (const [name, html] of Object.entries(news.parts || {})) {
      const part = root.querySelector(`[data-poll-part="${name}"]`);
      if (part) part.innerHTML = html;
    }
    root.dataset.pollState = news.state;
    showPrintButtons();
  };

  const schedule = () => {
    if (stopped || document.hidden) return;
    const now = Date.now();
    if (now - started > GIVE_UP_AFTER) { stop(); return; }
    let delay = DELAYS[Math.min(attempt, DELAYS.length - 1)] * 1000;
    // Once the Checkout page has closed, one last look (the answer will be final).
    if (until !== null) delay = Math.max(Math.min(delay, until - now + 1000), 1000);
    attempt += 1;
    timer = setTimeout(check, delay);
  };

  async function check() {
    timer = null;
    if (stopped || checking) return;
    checking = true;
    let news = null;
    try {
      const response = await fetch(root.dataset.poll, {
        headers: {Accept: "application/json"}, credentials: "same-origin", cache: "no-store"});
      // Logged out (sent to the log-in page) or gone: nothing more to learn here.
      if (response.redirected || (response.status >= 400 && response.status < 500)) {
        stop();
        return;
      }
      if (response.ok) news = await response.json();
    } catch {
      // Offline or the server is busy: try again later, as planned.
    } finally {
      checking = false;
    }
    if (news) {
      if (news.state !== root.dataset.pollState) {
        apply(news);
        attempt = 0;  // something is happening: look again soon
      }
      until = news.until ? Date.parse(news.until) : null;
      if (news.final) {
        stopped = true;
        return;
      }
      if (until !== null && Date.now() > until + 60 * 1000) { stop(); return; }
      sayChecking();
    }
    schedule();
  }

  document.addEventListener("visibilitychange", () => {
    // Back to the tab: look now, rather than at the next planned time.
    if (!document.hidden && !stopped && timer === null && !checking) check();
  });
  sayChecking();
  schedule();
})();
