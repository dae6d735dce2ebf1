"""Block Kit builders: every message and modal the bot shows, as plain data.

Builders take models and return dicts (tested as data); they escape every text a person or a
dialer wrote through ``commands.text``.
"""
