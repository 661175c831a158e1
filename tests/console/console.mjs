// Browser tests of the Service Owner Console, in headless Chromium (Debian's package) driven
// by playwright-core. Against a running `castellan serve`:
//   CASTELLAN_BASE_URL, OWNER_KEY, OWNER_SECRET  (the service owner's credentials)
//   SCREENSHOTS (optional): a folder for screenshots of the main pages
//   CHROMIUM (optional): the browser, /usr/bin/chromium by default
// Exits non-zero on the first failure.
import assert from "node:assert/strict";
import { mkdirSync } from "node:fs";
import { tmpdir } from "node:os";
import { chromium } from "playwright-core";

const base = process.env.CASTELLAN_BASE_URL;
const ownerKey = process.env.OWNER_KEY;
const ownerSecret = process.env.OWNER_SECRET;
const shots = process.env.SCREENSHOTS;
assert.ok(base && ownerKey && ownerSecret, "CASTELLAN_BASE_URL, OWNER_KEY and OWNER_SECRET are required");
if (shots) mkdirSync(shots, { recursive: true });

const browser = await chromium.launch({
  executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
  args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
    "--disable-background-networking", "--disable-component-update", "--disable-sync"],
});
const context = await browser.newContext({ viewport: { width: 1100, height: 760 } });
const page = await context.newPage();
// Any script the page runs that opens a dialog means injected markup was executed.
page.on("dialog", (dialog) => {
  throw new Error(`a dialog opened: ${dialog.message()}`);
});
const problems = [];
// A page that breaks its own Content-Security-Policy (an inline style or script) says so here.
page.on("console", (m) => { if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text()); });

async function step(name, body) {
  try {
    await body();
    console.log(`ok - ${name}`);
  } catch (e) {
    console.log(`not ok - ${name}`);
    const path = `${tmpdir()}/castellan-console-failure.png`;
    await page.screenshot({ path, fullPage: true }).then(() => console.log(`# the page: ${path}`), () => {});
    await browser.close();
    throw e;
  }
}

async function shot(name) {
  if (shots) await page.screenshot({ path: `${shots}/${name}.png`, fullPage: true });
}

const xssName = "<script>alert(1)</script><img src=x onerror=alert(2)>";
let apiKey, apiSecret, hostileKey, aliceClient;

await step("an anonymous visit lands on the sign-in page, with the security headers", async () => {
  const response = await page.goto(`${base}/console/services`);
  assert.match(page.url(), /\/console\/sign-in$/);
  const csp = response.headers()["content-security-policy"];
  assert.match(csp, /default-src 'none'/);
  assert.match(csp, /frame-ancestors 'none'/);
  assert.equal(response.headers()["x-frame-options"], "DENY");
  await shot("console-sign-in");
});

await step("a wrong secret is refused with a message", async () => {
  await page.fill("#api_key", ownerKey);
  await page.fill("#api_secret", "not-the-secret");
  const [response] = await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  assert.equal(response.status(), 401);
  assert.match(await page.textContent("[role=alert]"), /wrong/);
});

await step("the owner signs in; the session cookie is HttpOnly and SameSite=Strict", async () => {
  await page.fill("#api_key", ownerKey);
  await page.fill("#api_secret", ownerSecret);
  await Promise.all([page.waitForURL(/\/console\/services$/), page.click("button[type=submit]")]);
  const cookie = (await context.cookies()).find((c) => c.name === "castellan_console");
  assert.ok(cookie, "no session cookie");
  assert.equal(cookie.httpOnly, true);
  assert.equal(cookie.sameSite, "Strict");
  assert.equal(cookie.path, "/console");
});

async function createService(name, issuer) {
  await page.goto(`${base}/console/services/new`);
  await page.fill("#name", name);
  await page.fill("#issuer", issuer);
  await page.click("main button[type=submit]");
  await page.waitForSelector("#api-secret");
  return [(await page.textContent("#api-key")).trim(), (await page.textContent("#api-secret")).trim()];
}

await step("creating a service shows its API key and secret, once", async () => {
  await page.click("text=Create a service");
  assert.match(page.url(), /\/console\/services\/new$/);
  [apiKey, apiSecret] = await createService("Example service", "https://as.example.com");
  assert.equal((await page.textContent("h1")).trim(), "Example service");
  assert.match(apiKey, /^\d+$/);
  assert.match(apiSecret, /^[A-Za-z0-9_-]{43}$/);
  await shot("console-service-created");
  await page.goto(`${base}/console/services`);
  assert.equal((await page.content()).includes(apiSecret), false, "the secret was shown again");
});

await step("a hostile service name stays text everywhere", async () => {
  [hostileKey] = await createService(xssName, "https://as.example.org");
  assert.equal((await page.textContent("h1")).trim(), xssName);
  for (const path of ["/console/services", `/console/services/${hostileKey}`, `/console/services/${hostileKey}/edit`]) {
    await page.goto(`${base}${path}`);
    assert.equal(await page.locator("img[src=x]").count(), 0, `markup from the name was rendered on ${path}`);
    assert.equal(await page.locator("script:not([src])").count(), 0, `a script from the name is on ${path}`);
  }
  await page.goto(`${base}/console/services`);
  const row = page.locator("tr", { hasText: hostileKey });
  assert.equal((await row.locator("td a").textContent()).trim(), xssName);
  assert.equal((await page.title()).includes("<"), false);
  await shot("console-services");
});

await step("a signing key is generated and listed as verify-only until activated", async () => {
  await page.goto(`${base}/console/services/${apiKey}`);
  const rows = page.locator("table").nth(1).locator("tbody tr");
  assert.equal(await rows.count(), 4);
  await page.selectOption("select[name=alg]", "ES256");
  await page.click("text=Generate a key");
  await page.waitForSelector("[role=status]");
  assert.match(await page.textContent("[role=status]"), /added/);
  assert.equal(await rows.count(), 5);
  assert.equal(await page.locator("span.tag", { hasText: "verify only" }).count(), 1);
  await shot("console-service");
});

await step("settings are edited with validation", async () => {
  await page.click("text=Edit settings");
  // The browser's own number check would stop the form; post it as a client without one would.
  await page.evaluate(() => {
    document.querySelector("form.card").setAttribute("novalidate", "");
    document.querySelector("#access_token_duration").type = "text";
  });
  await page.fill("#access_token_duration", "soon");
  await page.click("main button[type=submit]");
  assert.match(await page.textContent("[role=alert]"), /access token lifetime/);
  await page.fill("#access_token_duration", "3600");
  await page.fill("#description", "Edited in the browser test");
  await page.fill("#endpoint_tokenEndpoint", "https://as.example.com/token");
  await page.fill("#claims", "email\nemail_verified");
  await page.click("main button[type=submit]");
  assert.match(await page.textContent("[role=status]"), /saved/);
  assert.match(await page.textContent("main"), /access 3600 s/);
  await page.goto(`${base}/console/services/${apiKey}/edit`);
  await shot("console-service-edit");
});

await step("forms without this session's CSRF token are refused", async () => {
  const statuses = await page.evaluate(async (key) => {
    const post = (path, body) => fetch(path, {
      method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" },
    }).then((r) => r.status);
    return [
      await post("/console/services/new", "name=forged&issuer=https%3A%2F%2Fx.example"),
      await post("/console/services/new", "csrf=guess&name=forged&issuer=https%3A%2F%2Fx.example"),
      await post(`/console/services/${key}/delete`, `confirm=${key}`),
    ];
  }, apiKey);
  assert.deepEqual(statuses, [403, 403, 403]);
  await page.goto(`${base}/console/services`);
  assert.equal(await page.locator("text=forged").count(), 0);
});


// ----- developers and the Developer Console -------------------------------------------------

await step("the owner adds two developers", async () => {
  await page.goto(`${base}/console/services/${apiKey}`);
  for (const [login, name, password] of [["alice", "Alice", "alice-password-1"], ["bob", "Bob", "bob-password-12"]]) {
    await page.fill("#dev_login", login);
    await page.fill("#dev_name", name);
    await page.fill("#dev_password", password);
    await page.click("text=Add the developer");
    assert.match(await page.textContent("[role=status]"), new RegExp(`Developer ${login} added`));
  }
  // A short password is refused with a message.
  await page.fill("#dev_login", "carol");
  await page.fill("#dev_password", "short");
  await page.evaluate(() => document.querySelector("#dev_password").removeAttribute("minlength"));
  await page.click("text=Add the developer");
  assert.match(await page.textContent("[role=alert]"), /at least 12 characters/);
  assert.equal(await page.locator("a", { hasText: `/console/developer/${apiKey}` }).count(), 1);
});

// Each developer has a browser of their own (a separate cookie jar).
async function developerPage(login, password) {
  const ctx = await browser.newContext({ viewport: { width: 1100, height: 760 } });
  const p = await ctx.newPage();
  p.on("dialog", (dialog) => { throw new Error(`a dialog opened: ${dialog.message()}`); });
  p.on("console", (m) => { if (/Content Security Policy|Refused to/.test(m.text())) problems.push(m.text()); });
  await p.goto(`${base}/console/developer/${apiKey}`);
  assert.match(p.url(), /\/sign-in$/);
  await p.fill("#login", login);
  await p.fill("#password", password);
  await Promise.all([p.waitForURL(/\/apps$/), p.click("main button[type=submit]")]);
  return p;
}

let alice, bob;
await step("a developer signs in and registers a confidential client; its secret is shown once", async () => {
  alice = await developerPage("alice", "alice-password-1");
  await alice.click("text=Register an application");
  await alice.fill("#client_name", "Alice's app");
  await alice.fill("#redirect_uris", "https://client.example.org/cb");
  await alice.fill("#contacts", "alice@client.example.org");
  await alice.selectOption("#id_token_sign_alg", "ES256");
  if (shots) await alice.screenshot({ path: `${shots}/developer-app-form.png`, fullPage: true });
  await alice.click("main button[type=submit]");
  await alice.waitForSelector("#client-secret");
  aliceClient = {
    id: (await alice.textContent("#client-id")).trim(),
    secret: (await alice.textContent("#client-secret")).trim(),
  };
  assert.match(aliceClient.id, /^\d+$/);
  assert.ok(aliceClient.secret.length >= 43);
  if (shots) await alice.screenshot({ path: `${shots}/developer-app-created.png`, fullPage: true });
  await alice.goto(`${base}/console/developer/${apiKey}/apps`);
  assert.equal(await alice.locator("tr", { hasText: aliceClient.id }).count(), 1);
  assert.equal((await alice.content()).includes(aliceClient.secret), false, "the secret was shown again");
  if (shots) await alice.screenshot({ path: `${shots}/developer-apps.png`, fullPage: true });
});

await step("a hostile application name stays text; forged forms are refused", async () => {
  await alice.goto(`${base}/console/developer/${apiKey}/apps/new`);
  await alice.fill("#client_name", xssName);
  await alice.fill("#redirect_uris", "https://client.example.org/other");
  await alice.click("main button[type=submit]");
  await alice.waitForSelector("#client-id");
  await alice.goto(`${base}/console/developer/${apiKey}/apps`);
  assert.equal(await alice.locator("img[src=x]").count(), 0);
  assert.equal(await alice.locator("td a", { hasText: "<script>" }).count(), 1);
  const status = await alice.evaluate(async (key) => (await fetch(`/console/developer/${key}/apps/new`, {
    method: "POST", headers: { "Content-Type": "application/x-www-form-urlencoded" },
    body: "client_name=forged&client_type=CONFIDENTIAL&application_type=WEB&token_auth_method=CLIENT_SECRET_BASIC&id_token_sign_alg=RS256",
  })).status, apiKey);
  assert.equal(status, 403);
});

await step("a developer changes their password; only the new one signs in", async () => {
  await alice.click("header a.muted");
  await alice.fill("#current", "not-my-password");
  await alice.fill("#new", "alice-password-2");
  await alice.fill("#repeat", "alice-password-2");
  await alice.click("main button[type=submit]");
  assert.match(await alice.textContent("[role=alert]"), /current password is wrong/);
  await alice.fill("#current", "alice-password-1");
  await alice.fill("#new", "alice-password-2");
  await alice.fill("#repeat", "alice-password-3");
  await alice.click("main button[type=submit]");
  assert.match(await alice.textContent("[role=alert]"), /differ/);
  await alice.fill("#current", "alice-password-1");
  await alice.fill("#new", "alice-password-2");
  await alice.fill("#repeat", "alice-password-2");
  await alice.click("main button[type=submit]");
  assert.match(await alice.textContent("main"), /password is changed/);
  await Promise.all([alice.waitForURL(/\/sign-in$/), alice.click("text=Sign out")]);
  await alice.fill("#login", "alice");
  await alice.fill("#password", "alice-password-1");
  const [refused] = await Promise.all([alice.waitForNavigation(), alice.click("main button[type=submit]")]);
  assert.equal(refused.status(), 401);
  await alice.fill("#login", "alice");
  await alice.fill("#password", "alice-password-2");
  await Promise.all([alice.waitForURL(/\/apps$/), alice.click("main button[type=submit]")]);
});

await step("another developer sees and changes none of it", async () => {
  bob = await developerPage("bob", "bob-password-12");
  assert.match(await bob.textContent("main"), /No application yet/);
  const response = await bob.goto(`${base}/console/developer/${apiKey}/apps/${aliceClient.id}`);
  assert.equal(response.status(), 404);
  const edit = await bob.goto(`${base}/console/developer/${apiKey}/apps/${aliceClient.id}/edit`);
  assert.equal(edit.status(), 404);
  // Bob's own form token does not open Alice's application either.
  const csrf = await bob.getAttribute("form[action$='/sign-out'] input[name=csrf]", "value");
  const statuses = await bob.evaluate(async ([key, id, token]) => {
    const post = (path, body) => fetch(path, { method: "POST", body, headers: { "Content-Type": "application/x-www-form-urlencoded" } }).then((r) => r.status);
    return [
      await post(`/console/developer/${key}/apps/${id}/secret`, `csrf=${encodeURIComponent(token)}`),
      await post(`/console/developer/${key}/apps/${id}/delete`, `csrf=${encodeURIComponent(token)}&confirm=${id}`),
    ];
  }, [apiKey, aliceClient.id, csrf]);
  assert.deepEqual(statuses, [404, 404]);
});

await step("a developer of one service has no access to another service's console", async () => {
  await bob.goto(`${base}/console/developer/${hostileKey}/apps`);
  assert.match(bob.url(), new RegExp(`/console/developer/${hostileKey}/sign-in$`));
  await bob.fill("#login", "bob");
  await bob.fill("#password", "bob-password-12");
  const [response] = await Promise.all([bob.waitForNavigation(), bob.click("main button[type=submit]")]);
  assert.equal(response.status(), 401);
  // The owner's console does not take a developer session either.
  await bob.goto(`${base}/console/services`);
  assert.match(bob.url(), /\/console\/sign-in$/);
});

await step("a developer the owner disables is signed out", async () => {
  await page.goto(`${base}/console/services/${apiKey}`);
  await page.locator("tr", { hasText: "bob" }).locator("text=Disable").click();
  assert.match(await page.textContent("[role=status]"), /disabled/);
  await bob.goto(`${base}/console/developer/${apiKey}/apps`);
  assert.match(bob.url(), /\/sign-in$/);
  await bob.fill("#login", "bob");
  await bob.fill("#password", "bob-password-12");
  const [response] = await Promise.all([bob.waitForNavigation(), bob.click("main button[type=submit]")]);
  assert.equal(response.status(), 401);
});

await step("the walk-through runs over the API with the service made by the owner and the client made by its developer", async () => {
  const auth = "Basic " + Buffer.from(`${apiKey}:${apiSecret}`).toString("base64");
  const api = async (path, body) => {
    const r = await fetch(`${base}${path}`, {
      method: "POST", headers: { Authorization: auth, "Content-Type": "application/json" }, body: JSON.stringify(body),
    });
    assert.equal(r.status, 200, path);
    return r.json();
  };
  const redirect = "https://client.example.org/cb";
  const client = { clientId: aliceClient.id, clientSecret: aliceClient.secret };
  const authz = await api("/api/auth/authorization", {
    parameters: `response_type=code&client_id=${client.clientId}&redirect_uri=${encodeURIComponent(redirect)}&state=s`,
  });
  assert.equal(authz.action, "INTERACTION");
  const issued = await api("/api/auth/authorization/issue", { ticket: authz.ticket, subject: "testuser01" });
  assert.equal(issued.action, "LOCATION");
  const token = await api("/api/auth/token", {
    parameters: `grant_type=authorization_code&code=${issued.authorizationCode}&redirect_uri=${encodeURIComponent(redirect)}`,
    clientId: String(client.clientId), clientSecret: client.clientSecret,
  });
  assert.equal(token.action, "OK");
  // Settings saved in the console reach the discovery document.
  const discovery = await (await fetch(`${base}/api/service/configuration`, { headers: { Authorization: auth } })).json();
  assert.equal(discovery.token_endpoint, "https://as.example.com/token");
  assert.deepEqual(discovery.claims_supported, ["email", "email_verified"]);
  const introspection = await api("/api/auth/introspection", { token: token.accessToken });
  assert.equal(introspection.action, "OK");
  assert.equal(introspection.subject, "testuser01");
  // The owner's page counts Alice's two applications.
  await page.goto(`${base}/console/services`);
  assert.equal((await page.locator("tr", { hasText: apiKey }).locator("td").nth(3).textContent()).trim(), "2");
  // A new secret replaces the old one at once.
  await alice.goto(`${base}/console/developer/${apiKey}/apps/${aliceClient.id}`);
  await alice.click("text=New client secret");
  const fresh = (await alice.textContent("#client-secret")).trim();
  assert.notEqual(fresh, aliceClient.secret);
  const again = await api("/api/auth/token", {
    parameters: `grant_type=refresh_token&refresh_token=${token.refreshToken}`,
    clientId: String(client.clientId), clientSecret: aliceClient.secret,
  });
  assert.equal(again.action, "INVALID_CLIENT");
});

await step("a new API secret is shown once and the old one stops working", async () => {
  await page.goto(`${base}/console/services/${apiKey}`);
  await page.click("text=New API secret");
  const fresh = (await page.textContent("#api-secret")).trim();
  assert.notEqual(fresh, apiSecret);
  assert.match(await page.textContent("[role=status]"), /no longer works/);
  const call = (secret) => fetch(`${base}/api/service/configuration`, {
    headers: { Authorization: "Basic " + Buffer.from(`${apiKey}:${secret}`).toString("base64") },
  }).then((r) => r.status);
  assert.equal(await call(apiSecret), 401);
  assert.equal(await call(fresh), 200);
  apiSecret = fresh;
});

await step("the public JWK Set holds no private key", async () => {
  await page.goto(`${base}/console/services/${apiKey}/jwks`);
  const jwks = JSON.parse(await page.textContent("#jwks"));
  assert.equal(jwks.keys.length, 5);
  assert.ok(jwks.keys.every((k) => k.d === undefined && k.p === undefined));
});

await step("deleting needs the API key typed, then the service is gone", async () => {
  await page.goto(`${base}/console/services/${apiKey}`);
  await page.click("text=Delete the service");
  assert.match(await page.textContent("[role=alert]"), /Type the service's API key/);
  await page.fill("#confirm", apiKey);
  await Promise.all([page.waitForURL(/\/console\/services$/), page.click("text=Delete the service")]);
  assert.equal(await page.locator("tr", { hasText: apiKey }).count(), 0);
});

await step("signing out ends the session", async () => {
  await Promise.all([page.waitForURL(/\/console\/sign-in$/), page.click("text=Sign out")]);
  await page.goto(`${base}/console/services`);
  assert.match(page.url(), /\/console\/sign-in$/);
});

await step("sign-in attempts are limited", async () => {
  let last;
  for (let i = 0; i < 11; i++) {
    await page.goto(`${base}/console/sign-in`);
    await page.fill("#api_key", "1");
    await page.fill("#api_secret", "guess");
    [last] = await Promise.all([page.waitForNavigation(), page.click("button[type=submit]")]);
  }
  assert.equal(last.status(), 429);
  assert.match(await page.textContent("[role=alert]"), /Too many/);
});

assert.deepEqual(problems, [], "the pages broke their Content-Security-Policy");
await browser.close();
console.log("all console tests passed");
