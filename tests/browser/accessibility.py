"""axe-core, run inside the page as it is displayed, through axe-playwright-python.

The package carries axe-core's own script (axe.min.js) and evaluates it in the page, so
nothing is fetched from a CDN and the page's Content-Security-Policy does not stand in
the way (Playwright's evaluate is not page script)."""

from axe_playwright_python.sync_playwright import Axe

# Moderate and minor findings (a best practice such as "every region has a landmark") are
# worth reading but do not fail the build; these two do.
FAILING = ("serious", "critical")

_axe = Axe()


def serious_violations(page) -> list[str]:
    """Each serious or critical axe violation on the page: rule, impact, selectors, why."""
    results = _axe.run(page).response
    found = []
    for violation in results["violations"]:
        if violation["impact"] not in FAILING:
            continue
        targets = "; ".join(" ".join(map(str, node["target"])) for node in violation["nodes"][:5])
        more = len(violation["nodes"]) - 5
        first = violation["nodes"][0]
        why = next((check["message"] for kind in ("any", "all", "none")
                    for check in first.get(kind, [])), violation["help"])
        found.append(f"{violation['id']} ({violation['impact']}) at {targets}"
                     + (f" and {more} more" if more > 0 else "") + f": {why}")
    return found
