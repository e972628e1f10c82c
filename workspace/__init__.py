"""The Audit Team's workspace: a Teams tab (personal and channel) served by the bot's own
aiohttp app, with a JSON API and downloads, behind Teams single sign-on."""
