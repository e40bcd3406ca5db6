"""The console's pages, in the order of its tabs: each module registers its routes on the
blueprint when imported here, and names its tab in `SECTIONS`."""

from app.admin import audit as _audit  # noqa: F401  (registers its routes)
from app.admin import bp
from app.admin import confirm as _confirm  # noqa: F401  (registers its routes)
from app.admin import customers as _customers  # noqa: F401  (registers its routes)
from app.admin import drift as _drift  # noqa: F401  (registers its routes)
from app.admin import overview as _overview  # noqa: F401  (registers its routes)
from app.admin import webhooks as _webhooks  # noqa: F401  (registers its routes)

# (endpoint, tab label): a page module adds its own line here when it is added.
SECTIONS: list[tuple[str, str]] = [
    ("admin.overview", "Overview"),
    ("admin.customers", "Customers"),
    ("admin.webhooks", "Webhooks"),
    ("admin.outbox", "Outbox"),
    ("admin.drift", "Drift report"),
    ("admin.audit", "Audit log"),
]


@bp.context_processor
def admin_sections() -> dict[str, object]:
    return {"admin_sections": SECTIONS}
