"""Card actions of `/settings/billing`: add (setup-mode Checkout), reorder, default, remove."""
