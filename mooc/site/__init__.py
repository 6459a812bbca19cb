"""The site's frame: home page, health check, language switch."""
