// A real OpenID Connect provider for the tests: panva's oidc-provider (npm), which nobody
// here wrote, with its development log-in pages (any login name and password log in; the
// login name becomes the subject). Started by devtools.testing.oidc on a loopback port.
//
// Environment: PORT, OIDC_CLIENTS (a JSON list of oidc-provider client metadata).
// A login name starting with "verified-" gets email_verified true, any other false; the
// e-mail address is the login name after an optional "verified-", "@example.com".
import Provider from 'oidc-provider';

const port = Number(process.env.PORT);
const issuer = `http://127.0.0.1:${port}`;

const provider = new Provider(issuer, {
  clients: JSON.parse(process.env.OIDC_CLIENTS),
  // Test-only keys: the cookies of this throwaway provider sign nothing that matters.
  cookies: { keys: ['test-only-provider-cookie-key'] },
  pkce: { required: () => true },
  features: { devInteractions: { enabled: true } },
  // The scopes' claims in the ID token itself (not only from userinfo).
  conformIdTokenClaims: false,
  claims: {
    openid: ['sub'],
    email: ['email', 'email_verified'],
    profile: ['name', 'preferred_username'],
  },
  async findAccount(ctx, id) {
    const verified = id.startsWith('verified-');
    const local = verified ? id.slice('verified-'.length) : id;
    return {
      accountId: id,
      async claims() {
        return {
          sub: id, email: `${local}@example.com`, email_verified: verified,
          name: local, preferred_username: local,
        };
      },
    };
  },
});
provider.proxy = false;

const server = provider.listen(port, '127.0.0.1', () => {
  process.stdout.write(`ready ${issuer}\n`);
});
for (const signal of ['SIGTERM', 'SIGINT']) {
  process.on(signal, () => server.close(() => process.exit(0)));
}
