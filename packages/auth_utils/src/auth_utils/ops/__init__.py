"""Operations: what an operator runs and reads, beside the apps. `auth-admin` (the
command line on users, sessions, clients and keys) and where the `auth.events` lines go.
The top layer: it builds a core like an app does and nothing imports it."""
