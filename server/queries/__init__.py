"""Read-side queries shared by pages and the API (lists, search, figures)."""
