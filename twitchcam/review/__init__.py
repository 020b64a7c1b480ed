"""The review page: confirm or reject each one-sided event of a session in a browser."""
