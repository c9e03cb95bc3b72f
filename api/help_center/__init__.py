"""The help center customers search themselves (`/help`): pages rendered from the knowledge
base's Markdown files, searched with the bot's engine."""
