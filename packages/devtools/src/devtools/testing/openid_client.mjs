// A relying party no one here wrote: panva's openid-client (npm), driven by
// apps/landing/tests/test_provider_interop.py. It prints {"authorize": URL}, reads the
// URL our provider sent the browser back to (one line on stdin), then runs the code
// exchange (PKCE, state, nonce, iss and the ID token checked by openid-client),
// userinfo, a refresh (with its new ID token), a revocation and a refresh after it; prints the results as JSON.
import * as client from 'openid-client';
import { createInterface } from 'node:readline';

const { ISSUER, CLIENT_ID, CLIENT_SECRET, REDIRECT_URI } = process.env;
const config = await client.discovery(
  new URL(ISSUER), CLIENT_ID,
  { client_secret: CLIENT_SECRET, id_token_signed_response_alg: 'ES256' },
  client.ClientSecretBasic(CLIENT_SECRET),
  { execute: [client.allowInsecureRequests] }, // loopback http in tests only
);
const verifier = client.randomPKCECodeVerifier();
const state = client.randomState();
const nonce = client.randomNonce();
const url = client.buildAuthorizationUrl(config, {
  redirect_uri: REDIRECT_URI, scope: 'openid profile', state, nonce,
  code_challenge: await client.calculatePKCECodeChallenge(verifier),
  code_challenge_method: 'S256',
});
console.log(JSON.stringify({ authorize: url.href }));

const lines = createInterface({ input: process.stdin });
const callback = await new Promise((resolve) => lines.once('line', resolve));
lines.close();
const result = {};
try {
  const tokens = await client.authorizationCodeGrant(config, new URL(callback), {
    pkceCodeVerifier: verifier, expectedState: state, expectedNonce: nonce,
    idTokenExpected: true,
  });
  const claims = tokens.claims();
  result.claims = claims;
  result.userinfo = await client.fetchUserInfo(config, tokens.access_token, claims.sub);
  const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token);
  result.rotated = Boolean(refreshed.refresh_token) &&
    refreshed.refresh_token !== tokens.refresh_token;
  // OpenID Connect Core 12.2: a new ID token, validated by openid-client (signature,
  // iss, aud, iat/exp); the test compares its sub and auth_time with the first one's.
  result.refreshed_claims = refreshed.claims() ?? null;
  result.userinfo_after_refresh = await client.fetchUserInfo(
    config, refreshed.access_token, claims.sub);
  await client.tokenRevocation(config, refreshed.refresh_token);
  try {
    await client.refreshTokenGrant(config, refreshed.refresh_token);
    result.after_revocation = 'accepted';
  } catch (error) {
    result.after_revocation = error.error ?? String(error);
  }
  result.end_session = client.buildEndSessionUrl(config, {
    id_token_hint: tokens.id_token }).href;
} catch (error) {
  result.error = `${error.name}: ${error.message} ${error.error ?? ''}`;
}
console.log(JSON.stringify(result));
