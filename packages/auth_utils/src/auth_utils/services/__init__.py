"""The stateful pieces of the core, each over the storage interface and none over
another's storage: sessions (and their per-process cache), throttling, the second factor,
passkeys, the activity log and its notices, the mail outbox and its sender, signing keys,
back-channel log-out, our client of outside OpenID Connect providers, the database's
availability, metrics and the background worker. The flows compose them; they never call
a flow."""
