// panva's openid-client, unmodified, as the relying party of the reference authorization
// server: discovery, authorization code with PKCE and nonce through the login and consent
// forms, ID token validation, userinfo, refresh, prompt=none with and without a session, and
// the hybrid flow (code id_token). Exits non-zero on the first failed check.
//
// Environment: ISSUER (the reference AS's base URL), CLIENT_ID, CLIENT_SECRET and REDIRECT_URI;
// or CREDENTIALS_FILE (what `castellan-reference-as --credentials-file` writes) and REDIRECT_URI.

import assert from 'node:assert/strict'
import { readFileSync } from 'node:fs'
import * as client from 'openid-client'

const file = process.env.CREDENTIALS_FILE ? JSON.parse(readFileSync(process.env.CREDENTIALS_FILE, 'utf8')) : {}
const issuer = new URL(process.env.ISSUER ?? file.issuer)
const clientId = process.env.CLIENT_ID ?? file.client_id
const clientSecret = process.env.CLIENT_SECRET ?? file.client_secret
const redirectUri = process.env.REDIRECT_URI
for (const [name, value] of Object.entries({ ISSUER: issuer, CLIENT_ID: clientId, CLIENT_SECRET: clientSecret, REDIRECT_URI: redirectUri })) {
  assert.ok(value, `${name} must be set`)
}

/** A user agent with one session cookie that does not follow redirects. */
class Browser {
  cookie = null

  async fetch (url, init = {}) {
    const headers = new Headers(init.headers ?? {})
    if (this.cookie) headers.set('cookie', this.cookie)
    const response = await fetch(url, { ...init, headers, redirect: 'manual' })
    const set = response.headers.get('set-cookie')
    if (set) this.cookie = set.split(';')[0]
    return response
  }

  postForm (path, fields) {
    return this.fetch(new URL(path, issuer), { method: 'POST', body: new URLSearchParams(fields) })
  }
}

/** Signs the demo user in and approves; returns where the server sends the browser back. */
async function loginAndConsent (browser, authorizationUrl) {
  let response = await browser.fetch(authorizationUrl)
  assert.equal(response.status, 200, 'the login page')
  assert.match(await response.text(), /name="username"/)
  response = await browser.postForm('/login', { username: 'testuser01', password: 'testuser01' })
  assert.equal(response.status, 200, 'the consent page')
  const consentPage = await response.text()
  assert.match(consentPage, /name="decision"/)
  // The form's hidden field ties the decision to the request it shows.
  const request = consentPage.match(/name="request" value="([^"]*)"/)?.[1]
  assert.ok(request, 'the consent form names its request')
  response = await browser.postForm('/consent', { decision: 'approve', request })
  assert.equal(response.status, 302, 'the redirect back to the client')
  return new URL(response.headers.get('location'))
}

async function configure (...extra) {
  // Plain HTTP on loopback: the test servers have no TLS.
  return client.discovery(issuer, clientId, undefined, client.ClientSecretBasic(clientSecret), {
    execute: [client.allowInsecureRequests, ...extra]
  })
}

async function pkce () {
  const verifier = client.randomPKCECodeVerifier()
  return { verifier, challenge: await client.calculatePKCECodeChallenge(verifier) }
}

function authorizationUrl (config, { challenge }, nonce, state, extra = {}) {
  return client.buildAuthorizationUrl(config, {
    redirect_uri: redirectUri,
    scope: 'openid email profile',
    code_challenge: challenge,
    code_challenge_method: 'S256',
    nonce,
    state,
    ...extra
  })
}

const config = await configure()
assert.equal(config.serverMetadata().issuer, issuer.href.replace(/\/$/, ''))

// 1. Authorization code with PKCE and nonce.
const browser = new Browser()
let keys = await pkce()
let nonce = client.randomNonce()
let state = client.randomState()
const back = await loginAndConsent(browser, authorizationUrl(config, keys, nonce, state))
const tokens = await client.authorizationCodeGrant(config, back, {
  pkceCodeVerifier: keys.verifier, expectedNonce: nonce, expectedState: state, idTokenExpected: true
})
const claims = tokens.claims()
assert.equal(claims.sub, 'testuser01')
assert.equal(claims.aud, clientId)
const info = await client.fetchUserInfo(config, tokens.access_token, claims.sub)
assert.equal(info.email, 'testuser01@example.com')
assert.equal(info.name, 'Test User 01')
const refreshed = await client.refreshTokenGrant(config, tokens.refresh_token)
assert.ok(refreshed.access_token && refreshed.access_token !== tokens.access_token)
console.log('ok - code flow: ID token, userinfo, refresh')

// 2. prompt=none: a code at once with the session, login_required without.
keys = await pkce()
nonce = client.randomNonce()
state = client.randomState()
let response = await browser.fetch(authorizationUrl(config, keys, nonce, state, { prompt: 'none' }))
assert.equal(response.status, 302)
const silent = await client.authorizationCodeGrant(config, new URL(response.headers.get('location')), {
  pkceCodeVerifier: keys.verifier, expectedNonce: nonce, expectedState: state
})
assert.equal(silent.claims().sub, 'testuser01')
state = client.randomState()
response = await new Browser().fetch(authorizationUrl(config, keys, nonce, state, { prompt: 'none' }))
assert.equal(response.status, 302)
await assert.rejects(
  client.authorizationCodeGrant(config, new URL(response.headers.get('location')), { expectedState: state }),
  (err) => err.error === 'login_required'
)
console.log('ok - prompt=none with and without a session')

// 3. Hybrid flow: code id_token in the fragment, c_hash checked, then the code.
const hybrid = await configure(client.useCodeIdTokenResponseType)
keys = await pkce()
nonce = client.randomNonce()
state = client.randomState()
const hybridBack = await loginAndConsent(new Browser(), authorizationUrl(hybrid, keys, nonce, state))
assert.ok(hybridBack.hash.includes('id_token='), 'the ID token comes in the fragment')
const hybridTokens = await client.authorizationCodeGrant(hybrid, hybridBack, {
  pkceCodeVerifier: keys.verifier, expectedNonce: nonce, expectedState: state
})
assert.equal(hybridTokens.claims().sub, 'testuser01')
console.log('ok - hybrid flow (code id_token)')
