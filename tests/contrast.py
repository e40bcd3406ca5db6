"""Text contrast of the site's pills and notices, read from static/css/*.css.

Every rule that styles a `.badge`, `.status` or `.notice` (or a disabled `.button`) is a
pair: its text colour on its background, each taken from the rule or, when missing, from
the element's base rule (`.badge`, `.status`, …), with `var(--x)` resolved from `:root`.
Run it to see the table: `.venv/bin/python -m tests.contrast`.
"""

import re
from pathlib import Path

CSS_DIR = Path(__file__).resolve().parent.parent / "static" / "css"
# The rules whose text sits on a background of their own, and what they inherit from.
FAMILIES = {".badge": ".badge", ".status": ".status", ".notice": ".notice"}
DISABLED = re.compile(r"\.button(\[disabled\]|:disabled)")


def _rules(css: str) -> list[tuple[str, dict[str, str]]]:
    css = re.sub(r"/\*.*?\*/", "", css, flags=re.S)
    found = []
    for selector, body in re.findall(r"([^{}]+)\{([^{}]*)\}", css):
        props = {}
        for decl in body.split(";"):
            if ":" in decl:
                name, value = decl.split(":", 1)
                props[name.strip()] = value.strip()
        found.append((" ".join(selector.split()), props))
    return found


def _variables(rules) -> dict[str, str]:
    return {k: v for sel, props in rules if sel == ":root" for k, v in props.items()
            if k.startswith("--")}


def _resolve(value: str, variables: dict[str, str]) -> str:
    while (m := re.fullmatch(r"var\((--[\w-]+)\)", value.strip())):
        value = variables[m.group(1)]
    return value.strip()


def _rgb(hex_colour: str) -> tuple[float, float, float]:
    h = hex_colour.lstrip("#")
    if len(h) == 3:
        h = "".join(c * 2 for c in h)
    return tuple(int(h[i:i + 2], 16) / 255 for i in (0, 2, 4))  # type: ignore[return-value]


def luminance(hex_colour: str) -> float:
    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4
    r, g, b = (channel(c) for c in _rgb(hex_colour))
    return 0.2126 * r + 0.7152 * g + 0.0722 * b


def ratio(foreground: str, background: str) -> float:
    """WCAG contrast ratio of two #rrggbb colours."""
    a, b = sorted((luminance(foreground), luminance(background)), reverse=True)
    return (a + 0.05) / (b + 0.05)


def pairs() -> list[tuple[str, str, str, float]]:
    """(selector, text colour, background, ratio) for every pill, notice and disabled button."""
    rules = [r for path in sorted(CSS_DIR.glob("*.css")) for r in _rules(path.read_text())]
    variables = _variables(rules)
    base = {sel: props for sel, props in rules if sel in FAMILIES}
    text = _resolve("var(--text)", variables)
    found = []
    for selector, props in rules:
        for part in (s.strip() for s in selector.split(",")):
            family = next((f for f in FAMILIES if re.search(re.escape(f) + r"(-|\b)", part)),
                          None)
            if family is None and not DISABLED.search(part):
                continue
            if "color" not in props and "background" not in props:
                continue
            inherited = base.get(FAMILIES.get(family or "", ""), {})
            colour = _resolve(props.get("color") or inherited.get("color") or text, variables)
            background = _resolve(props.get("background")
                                  or inherited.get("background") or "#fff", variables)
            if not (colour.startswith("#") and background.startswith("#")):
                continue  # inherit / currentColor / rgba: not a pair of its own
            found.append((part, colour, background, ratio(colour, background)))
    return found


if __name__ == "__main__":
    for selector, colour, background, value in pairs():
        flag = "" if value >= 4.5 else "   < 4.5"
        print(f"{value:5.2f}:1  {colour} on {background}  {selector}{flag}")
