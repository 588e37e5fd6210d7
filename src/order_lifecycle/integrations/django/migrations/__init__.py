"""The app's migrations: its unmanaged placeholder models only (no table is made)."""
