"""Documents from templates: versioned, hashed, rendered to HTML and PDF."""
