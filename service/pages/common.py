"""What every page answers with."""

# Pages load only what the app serves itself; no inline script, ever. The chain drawing is inline
# SVG with presentation attributes only, so styles need no exception either.
PAGE_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
    # A page may show what only a key may see, and holds a form's CSRF token: never cached by others.
    "Cache-Control": "no-store",
}
