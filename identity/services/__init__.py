"""Domain operations of the identity app: ``voters`` (roll import, turnout marks),
``credentials`` (the credential authority), ``login`` (one-time codes), ``ratelimit``."""
