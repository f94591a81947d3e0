"""The Telegram face of Bashkë: thin handlers that call services in ``bot`` and render replies."""
