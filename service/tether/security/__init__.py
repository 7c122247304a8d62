"""What keeps a shared service safe from its requests: bounds on every field, linear-time user
regexes, and redaction of secrets from every output, record and log."""
