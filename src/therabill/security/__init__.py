"""Security core: passwords, TOTP, sessions, CSRF, headers, throttling and permissions."""
