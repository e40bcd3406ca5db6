"""Layout checks run inside the page: horizontal overflow, the main column's width, and
controls pushed out of sight. Each returns the problems it found as sentences."""

# Elements inside a container that scrolls or clips sideways (a wide table in its
# .table-wrap) do not widen the page, so they are not blamed for it.
_FIND_PROBLEMS = """
() => {
  const limit = document.documentElement.clientWidth;  // the window, less any scrollbar
  const describe = (el) => {
    const r = el.getBoundingClientRect();
    let name = el.tagName.toLowerCase();
    if (el.id) name += "#" + el.id;
    for (const c of el.classList) name += "." + c;
    const text = (el.innerText || el.value || "").trim().replace(/\\s+/g, " ").slice(0, 40);
    return `<${name}>${text ? ` "${text}"` : ""} (${Math.round(r.width)} px wide,`
      + ` right edge at ${Math.round(r.right)})`;
  };
  const inScroller = (el) => {
    for (let a = el.parentElement; a && a !== document.body; a = a.parentElement) {
      if (getComputedStyle(a).overflowX !== "visible") return a;
    }
    return null;
  };
  const shown = (el) => {
    if (el.checkVisibility && !el.checkVisibility({visibilityProperty: true})) return false;
    const r = el.getBoundingClientRect();
    return r.width > 1 && r.height > 1;
  };
  const problems = [];
  const all = [...document.body.querySelectorAll("*")].filter(shown);

  const width = document.documentElement.scrollWidth;
  if (width > limit) {
    const offenders = all
      .filter((el) => el.getBoundingClientRect().right > limit + 0.5 && !inScroller(el))
      .sort((a, b) => b.getBoundingClientRect().width - a.getBoundingClientRect().width);
    problems.push(`the page is ${width} px wide in a ${limit} px window; widest offender: `
      + (offenders.length ? describe(offenders[0]) : "none found")
      + (offenders.length > 1 ? `; also ${offenders.slice(1, 4).map(describe).join(", ")}` : ""));
  }

  // The main column spans the page like the header's, rather than shrinking to its content.
  const main = document.querySelector("main");
  const header = document.querySelector(".site-header .container");
  if (main && header) {
    const m = main.getBoundingClientRect(), h = header.getBoundingClientRect();
    if (Math.abs(m.left - h.left) > 1 || Math.abs(m.width - h.width) > 1) {
      problems.push(`the main column is ${Math.round(m.width)} px wide at x=${Math.round(m.left)}`
        + ` but the header's is ${Math.round(h.width)} px at x=${Math.round(h.left)}`);
    }
  }

  // Every control can be seen without scrolling anything sideways.
  for (const el of all.filter((e) => e.matches("button, .button, input, select, textarea"))) {
    const r = el.getBoundingClientRect();
    const scroller = inScroller(el);
    const box = scroller ? scroller.getBoundingClientRect() : {left: 0, right: limit};
    if (r.left < Math.max(box.left, 0) - 0.5 || r.right > Math.min(box.right, limit) + 0.5) {
      problems.push(`${describe(el)} is cut off` + (scroller ? ` by ${describe(scroller)}` : ""));
    }
  }
  return problems;
}
"""


def layout_problems(page) -> list[str]:
    """What is wrong with the layout of the page as it is displayed now."""
    return page.evaluate(_FIND_PROBLEMS)
