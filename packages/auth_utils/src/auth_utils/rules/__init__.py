"""Rules with no I/O: what a username, password, address or token must be, password
hashing, sealing values at rest, SMTP_URL, the clock, the client's address from proxy
headers, readable browser names.
Nothing here reads the database, the environment or the network, so each rule is tested
with plain values; every other layer may import it."""
