// The web console end to end: a real `tlsdeck serve` and a real `openssl s_server` on
// loopback, driven through Debian's Chromium. One browser and one page go through the
// steps in order; once a step fails the later ones are skipped. Every page visited is saved
// as e2e/output/NN-name.png, next to the two servers' logs.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { join } from 'node:path';

import {
  OUTPUT_DIR,
  eventually,
  launchBrowser,
  makeCertificates,
  newConsoleContext,
  restClient,
  screenshotter,
  startTlsdeck,
  startTlsPeer,
  tempDir,
} from './harness.mjs';

const ADMIN_REALM = 'admin/default-idp-1';
const PROVIDER_REALM = 'provider/default-idp-2';
const ADMIN = { username: 'admin', password: 'E2e-Admin-Passw0rd!', realm: ADMIN_REALM };
const VIEWER = { username: 'vera', password: 'E2e-Viewer-Passw0rd!', realm: ADMIN_REALM };
const PROVIDER_OWNER = { username: 'pat', password: 'E2e-Provider-Passw0rd!', realm: PROVIDER_REALM };
const PROVIDER_ORG = { name: 'acme', title: 'Acme' };

const TRUSTSTORE = { title: 'E2E CA Trust', name: 'e2e-ca-trust' };
const KEYSTORE = { title: 'E2E Client Keys', name: 'e2e-client-keys' };
const PROFILE = { title: 'Orders Backend 2', name: 'orders-backend-2', version: '1.0.0' };
const DEFAULT_PROFILE = { name: 'tls-client-profile-default', version: '1.0.0' };
const TLS12_SUITES = ['ECDHE_RSA_WITH_AES_128_GCM_SHA256', 'ECDHE_ECDSA_WITH_AES_128_GCM_SHA256'];
const TLS13_SUITES = ['TLS_AES_256_GCM_SHA384', 'TLS_CHACHA20_POLY1305_SHA256', 'TLS_AES_128_GCM_SHA256'];
/** Cipher checkboxes are labelled by canonical names: capitals, digits and underscores. */
const CIPHER_LABEL = /^[A-Z0-9_]+$/;

const TLS_PAGE = '/orgs/admin/tls';
const profilePath = (p) => `/orgs/admin/tls-client-profiles/${p.name}/${p.version}`;

/** What the steps share; set up in `before`. */
let tmp, certs, tlsdeck, peer, browser, context, page, shot;

// ---------------------------------------------------------------------------------------
// Small helpers over the shared page

/** Goes to `path` on the console, saves a screenshot, and checks the answer was not an error. */
async function visit(path, name) {
  const res = await page.goto(path);
  await shot(page, name);
  assert.ok(res, `no answer for ${path}`);
  assert.ok(res.status() < 400, `GET ${path} answered ${res.status()}`);
}

/** Waits until the page is at `pathname` (query and fragment ignored). */
async function atPath(pathname) {
  try {
    await page.waitForURL((url) => url.pathname === pathname);
  } catch (err) {
    throw new Error(`expected the page at ${pathname}, but it is at ${new URL(page.url()).pathname}: ${err.message}`);
  }
}

/** Clicks a submit button and waits for its form's POST to be answered. */
async function submit(button) {
  const answered = page.waitForResponse(
    (r) => r.request().method() === 'POST' && r.request().resourceType() === 'document',
  );
  await button.click();
  return answered;
}

const region = (name) => page.getByRole('region', { name, exact: true });
const input = (label) => page.getByLabel(label, { exact: true });
const button = (name) => page.getByRole('button', { name, exact: true });
/** The `.field` wrapper that holds the control labelled `label`. */
const field = (label) => page.locator('.field').filter({ has: input(label) });

async function assertHeading(text) {
  const h1 = page.getByRole('heading', { level: 1 });
  await h1.first().waitFor();
  assert.equal((await h1.first().innerText()).trim(), text);
}

/** Waits (bounded) until the locator's text holds every one of `parts`. */
async function assertContains(locator, parts, what) {
  await locator.first().waitFor();
  await eventually(`${what} to show ${parts.join(', ')}`, async () => {
    const text = await locator.first().innerText();
    return parts.every((p) => (p instanceof RegExp ? p.test(text) : text.includes(p)));
  });
}

async function logIn({ username, password, realm }) {
  await input('Username').fill(username);
  await input('Password').fill(password);
  await page.getByLabel('Realm', { exact: true }).selectOption(realm);
  await submit(button('Log in'));
}

/** Ticks exactly the cipher checkboxes named in `wanted`. */
async function chooseCiphers(wanted) {
  const boxes = await page.getByRole('checkbox', { name: CIPHER_LABEL }).all();
  assert.ok(boxes.length > 10, `expected the whole cipher catalogue, found ${boxes.length} checkboxes`);
  for (const box of boxes) await box.setChecked(false);
  for (const name of wanted) await input(name).check();
}

async function chooseProtocols(wanted) {
  for (const v of ['TLS 1.0', 'TLS 1.1', 'TLS 1.2', 'TLS 1.3']) await input(v).setChecked(wanted.includes(v));
}

/**
 * POSTs from inside the page, with the session cookie as the browser sends it: the form
 * of `formButton` as that button submits it, or else `fields` to `action`; once for each
 * of `tokens` as `csrf` (null = left out). Resolves to the statuses, redirects not followed.
 */
async function postFromPage({ action, fields, formButton }, tokens) {
  const target = formButton ?? page.locator('body');
  return target.evaluate(
    async (el, { action, fields, tokens, useForm }) => {
      const statuses = [];
      for (const token of tokens) {
        const data = useForm ? new FormData(el.form, el) : new FormData();
        for (const [k, v] of Object.entries(fields)) data.set(k, v);
        if (token === null) data.delete('csrf');
        else data.set('csrf', token);
        const res = await fetch(action || el.form.action, {
          method: 'POST',
          body: new URLSearchParams(data),
          redirect: 'manual',
          credentials: 'same-origin',
          signal: AbortSignal.timeout(10000),
        });
        statuses.push(res.type === 'opaqueredirect' ? 'redirect' : res.status);
      }
      return statuses;
    },
    { action: action ?? null, fields: fields ?? {}, tokens, useForm: Boolean(formButton) },
  );
}

/** The value of the hidden `csrf` input of this page's forms (the Log out form has one). */
const csrfToken = () => page.locator('input[name="csrf"]').first().inputValue();

// ---------------------------------------------------------------------------------------
// Steps

let failedStep = null;

/** A test that runs only while every earlier one passed, and saves a screenshot on failure. */
function step(name, fn) {
  test(name, async (t) => {
    if (failedStep) {
      t.skip(`after the failure of "${failedStep}"`);
      return;
    }
    try {
      await fn();
    } catch (err) {
      failedStep = name;
      if (page) await shot(page, `failed ${name}`).catch(() => {});
      throw err;
    }
  });
}

describe('tlsdeck web console', { timeout: 150_000 }, () => {
  before(async () => {
    shot = await screenshotter();
    tmp = await tempDir();
    certs = await makeCertificates(tmp.path);
    tlsdeck = await startTlsdeck({
      dataDir: join(tmp.path, 'data'),
      adminPassword: ADMIN.password,
      logFile: join(OUTPUT_DIR, 'tlsdeck.log'),
    });
    peer = await startTlsPeer({
      cert: certs.serverPem,
      key: certs.serverKey,
      logFile: join(OUTPUT_DIR, 's_server.log'),
    });

    const api = restClient(tlsdeck.url);
    await api.logIn(ADMIN.username, ADMIN.password, ADMIN.realm);
    await api.createUser(VIEWER.username, VIEWER.realm, VIEWER.password);
    await api.setMember('admin', VIEWER.username, ['viewer']);
    await api.createUser(PROVIDER_OWNER.username, PROVIDER_OWNER.realm, PROVIDER_OWNER.password);
    await api.createOrg(PROVIDER_ORG.name, PROVIDER_ORG.title, {
      username: PROVIDER_OWNER.username,
      realm: PROVIDER_OWNER.realm,
    });

    browser = await launchBrowser();
    context = await newConsoleContext(browser, tlsdeck.url);
    page = await context.newPage();
  }, { timeout: 60_000 });

  after(async () => {
    // Each part on its own, so one failing does not leave the others running.
    const quietly = async (what, fn) => {
      try {
        await fn();
      } catch (err) {
        console.error(`cleanup: ${what}: ${err.message}`);
      }
    };
    await quietly('close the browser', () => browser?.close());
    await quietly('stop s_server', () => peer?.stop());
    await quietly('stop tlsdeck', () => tlsdeck?.stop());
    await quietly('remove the temp folder', () => tmp?.remove());
  }, { timeout: 30_000 });

  step('admin logs in through the login page and lands on Resources → TLS', async () => {
    await visit('/login', 'login');
    await logIn({ ...ADMIN, password: 'not-the-password' });
    await page.getByRole('alert').first().waitFor();
    await shot(page, 'login refused');
    assert.equal(new URL(page.url()).pathname, '/login');

    await logIn(ADMIN);
    await atPath(TLS_PAGE);
    await shot(page, 'tls as admin');
    await assertHeading('TLS');
    const nav = page.getByRole('navigation', { name: 'Main' });
    await nav.getByRole('link', { name: 'Resources', exact: true }).waitFor();
    await nav.getByRole('link', { name: 'TLS', exact: true }).waitFor();
    await button('Log out').waitFor();
    for (const name of ['TLS Client Profiles', 'TLS Server Profiles', 'Keystores', 'Truststores']) {
      await region(name).waitFor();
    }
  });

  step('the session cookie is HttpOnly and SameSite=Strict', async () => {
    const cookie = (await context.cookies()).find((c) => c.name === 'tlsdeck_session');
    assert.ok(cookie, 'no tlsdeck_session cookie after logging in');
    assert.equal(cookie.httpOnly, true);
    assert.equal(cookie.sameSite, 'Strict');
  });

  step('a truststore made from an uploaded PEM shows its certificate', async () => {
    await visit(TLS_PAGE, 'tls');
    await region('Truststores').getByRole('link', { name: 'Create truststore', exact: true }).click();
    await atPath('/orgs/admin/truststores/new');
    await input('Title').fill(TRUSTSTORE.title);
    await input('Name').fill(TRUSTSTORE.name);
    await page.getByLabel('Certificates file').setInputFiles(certs.caPem);
    await shot(page, 'truststore form');
    await submit(button('Save'));

    await atPath(`/orgs/admin/truststores/${TRUSTSTORE.name}`);
    await shot(page, 'truststore detail');
    await assertHeading(TRUSTSTORE.title);
    await assertContains(region('Certificates'), [certs.caSubject, certs.caExpiry], 'Certificates');
  });

  step('a keystore made from an uploaded certificate+key PEM shows its certificate', async () => {
    await visit(TLS_PAGE, 'tls');
    await region('Keystores').getByRole('link', { name: 'Create keystore', exact: true }).click();
    await atPath('/orgs/admin/keystores/new');
    await input('Title').fill(KEYSTORE.title);
    await input('Name').fill(KEYSTORE.name);
    await page.getByLabel('Keystore file').setInputFiles(certs.clientBundle);
    await shot(page, 'keystore form');
    await submit(button('Save'));

    await atPath(`/orgs/admin/keystores/${KEYSTORE.name}`);
    await shot(page, 'keystore detail');
    await assertHeading(KEYSTORE.title);
    await assertContains(region('Certificates'), [certs.clientSubject, certs.clientExpiry], 'Certificates');
  });

  step('a client profile made through the form gets the TLS 1.3 suites added', async () => {
    await visit(TLS_PAGE, 'tls');
    await region('TLS Client Profiles').getByRole('link', { name: 'Create TLS client profile', exact: true }).click();
    await atPath('/orgs/admin/tls-client-profiles/new');
    await shot(page, 'client profile form');
    assert.equal(await input('Version').inputValue(), '1.0.0');

    // The name follows the title, and can still be edited by hand.
    const name = input('Name');
    await input('Title').fill(PROFILE.title);
    await input('Title').press('Tab');
    await eventually(`Name to become ${PROFILE.name}`, async () => (await name.inputValue()) === PROFILE.name);
    assert.ok(await name.isEditable(), 'the Name field should stay editable');
    await name.fill('hand-typed-name');
    assert.equal(await name.inputValue(), 'hand-typed-name');
    await name.fill(PROFILE.name);

    await input('Summary').fill('Made by the browser tests.');
    await chooseProtocols(['TLS 1.2', 'TLS 1.3']);
    const tls13 = page.getByRole('group', { name: 'TLS 1.3 suites' });
    await tls13.getByRole('checkbox', { name: TLS13_SUITES[0], exact: true }).waitFor();
    await chooseCiphers(TLS12_SUITES);
    await page.getByLabel('Truststore', { exact: true }).selectOption(TRUSTSTORE.name);
    await page.getByLabel('Keystore', { exact: true }).selectOption(KEYSTORE.name);
    await shot(page, 'client profile form filled');
    await submit(button('Save'));

    await atPath(profilePath(PROFILE));
    await shot(page, 'client profile detail');
    await assertHeading(PROFILE.title);
    const ciphers = region('Ciphers').getByRole('listitem');
    await ciphers.first().waitFor();
    // One item per stored suite, its canonical name first (a badge may follow).
    const listed = (await ciphers.allInnerTexts()).map((t) => t.trim().split(/\s+/)[0]);
    for (const suite of [...TLS13_SUITES, ...TLS12_SUITES]) {
      assert.ok(listed.includes(suite), `Ciphers should list ${suite}; it lists ${listed.join(', ')}`);
    }
    assert.deepEqual(
      listed.filter((c) => c.includes('_WITH_')).sort(),
      [...TLS12_SUITES].sort(),
      'only the ticked TLS 1.2 suites are stored',
    );
    const lastTls13 = Math.max(...TLS13_SUITES.map((s) => listed.indexOf(s)));
    const firstTls12 = Math.min(...TLS12_SUITES.map((s) => listed.indexOf(s)));
    assert.ok(lastTls13 < firstTls12, 'the TLS 1.3 suites are added in front');
  });

  step('Test connection succeeds against s_server through the new truststore', async () => {
    const testing = region('Test connection');
    await testing.getByLabel('Target', { exact: true }).fill(`localhost:${peer.port}`);
    await testing.getByRole('button', { name: 'Test connection', exact: true }).click();
    const outcome = page.getByRole('status').filter({ hasText: /Handshake (succeeded|failed)/ });
    await outcome.first().waitFor({ timeout: 20_000 });
    await shot(page, 'test connection succeeded');
    assert.match(await outcome.first().innerText(), /Handshake succeeded/);
  });

  step('Test connection through the default profile fails: the OS trust store lacks the e2e CA', async () => {
    await visit(profilePath(DEFAULT_PROFILE), 'default profile detail');
    const testing = region('Test connection');
    await testing.getByLabel('Target', { exact: true }).fill(`localhost:${peer.port}`);
    await testing.getByRole('button', { name: 'Test connection', exact: true }).click();
    const outcome = page.getByRole('status').filter({ hasText: /Handshake (succeeded|failed)/ });
    await outcome.first().waitFor({ timeout: 20_000 });
    await shot(page, 'test connection failed');
    const text = await outcome.first().innerText();
    assert.match(text, /Handshake failed/);
    // The engine's category for a chain that leads to no trusted certificate.
    assert.match(text, /untrusted_certificate/);
  });

  step('visibility: Custom with a provider org, then Public, shown on the detail page', async () => {
    await visit(TLS_PAGE, 'tls');
    const key = `${PROFILE.name}:${PROFILE.version}`;
    await region('TLS Client Profiles').getByRole('link', { name: new RegExp(`^Visibility\\b.*${key}`) }).click();
    const visibilityPath = `${profilePath(PROFILE)}/visibility`;
    await atPath(visibilityPath);
    await shot(page, 'visibility form');

    await page.getByRole('radio', { name: 'Custom', exact: true }).check();
    await input(PROVIDER_ORG.name).check();
    await shot(page, 'visibility custom chosen');
    await submit(button('Save visibility'));
    await visit(profilePath(PROFILE), 'detail custom visibility');
    await assertContains(region('Settings'), ['Visibility', /custom/i, PROVIDER_ORG.name], 'Settings');

    await visit(visibilityPath, 'visibility form again');
    await page.getByRole('radio', { name: 'Public', exact: true }).check();
    await submit(button('Save visibility'));
    await visit(profilePath(PROFILE), 'detail public visibility');
    await assertContains(region('Settings'), ['Visibility', /public/i], 'Settings');
  });

  step('a form with errors shows each next to its field and keeps what was typed', async () => {
    await visit('/orgs/admin/tls-client-profiles/new', 'client profile form');
    // An empty title and a bad version; the other fields must come back as typed.
    await input('Title').fill('');
    await input('Name').fill('kept-name');
    await input('Version').fill('!!');
    await input('Summary').fill('kept summary');
    await chooseProtocols(['TLS 1.2', 'TLS 1.3']);
    await chooseCiphers([]);
    await submit(button('Save'));

    await page.getByRole('alert').first().waitFor();
    await shot(page, 'client profile form errors');
    for (const label of ['Title', 'Version']) {
      const error = field(label).locator('.field-error');
      await error.first().waitFor();
      assert.notEqual((await error.first().innerText()).trim(), '', `the ${label} error says something`);
    }
    await page.getByRole('group', { name: 'Ciphers', exact: true }).locator('.field-error').last().waitFor();
    assert.equal(await input('Name').inputValue(), 'kept-name');
    assert.equal(await input('Version').inputValue(), '!!');
    assert.equal(await input('Summary').inputValue(), 'kept summary');
    assert.equal(await input('TLS 1.3').isChecked(), true);
    assert.equal(await input('TLS 1.1').isChecked(), false);
  });

  step('a POST with a wrong or missing CSRF token is refused with 403', async () => {
    await visit('/orgs/admin/tls-client-profiles/new', 'client profile form');
    await input('Title').fill('CSRF Probe');
    await input('Name').fill('csrf-probe');
    await chooseProtocols(['TLS 1.2']);
    await chooseCiphers([TLS12_SUITES[0]]);
    const save = button('Save');
    const token = await csrfToken();
    assert.deepEqual(await postFromPage({ formButton: save }, ['forged-token', null]), [403, 403]);

    await visit(TLS_PAGE, 'tls after forged posts');
    const rows = region('TLS Client Profiles').getByRole('row').filter({ hasText: 'CSRF Probe' });
    assert.equal(await rows.count(), 0, 'a refused POST must not create the profile');

    // The same body with the session's own token is accepted: the token alone made the 403s.
    await visit('/orgs/admin/tls-client-profiles/new', 'client profile form');
    await input('Title').fill('CSRF Probe');
    await input('Name').fill('csrf-probe');
    await chooseProtocols(['TLS 1.2']);
    await chooseCiphers([TLS12_SUITES[0]]);
    assert.deepEqual(await postFromPage({ formButton: save }, [token]), ['redirect']);
    await visit(TLS_PAGE, 'tls after the genuine post');
    assert.equal(await rows.count(), 1, 'the POST with the right token creates the profile');
  });

  step('a truststore in use cannot be deleted; the page names its users', async () => {
    await visit(TLS_PAGE, 'tls');
    await region('Truststores').getByRole('link', { name: new RegExp(`^Delete\\b.*${TRUSTSTORE.name}`) }).click();
    await atPath(`/orgs/admin/truststores/${TRUSTSTORE.name}/delete`);
    await shot(page, 'truststore delete refused');
    const h1 = page.getByRole('heading', { level: 1 });
    assert.match(await h1.first().innerText(), /^Delete/);
    await page.getByText('Used by', { exact: true }).first().waitFor();
    await page.getByRole('listitem').filter({ hasText: PROFILE.name }).first().waitFor();
    assert.equal(await button('Delete').count(), 0, 'no Delete button while the truststore is used');
  });

  step('deleting the profile after confirmation leaves it off the TLS page', async () => {
    await visit(TLS_PAGE, 'tls');
    const key = `${PROFILE.name}:${PROFILE.version}`;
    await region('TLS Client Profiles').getByRole('link', { name: new RegExp(`^Delete\\b.*${key}`) }).click();
    await atPath(`${profilePath(PROFILE)}/delete`);
    await shot(page, 'client profile delete');
    assert.match(await page.getByRole('heading', { level: 1 }).first().innerText(), /^Delete/);
    await submit(button('Delete'));

    await atPath(TLS_PAGE);
    await shot(page, 'tls after profile deleted');
    await page.getByRole('status').first().waitFor();
    const rows = region('TLS Client Profiles').getByRole('row').filter({ hasText: PROFILE.title });
    assert.equal(await rows.count(), 0, `${PROFILE.title} should be gone`);
  });

  step('the truststore, no longer used, is deleted', async () => {
    await region('Truststores').getByRole('link', { name: new RegExp(`^Delete\\b.*${TRUSTSTORE.name}`) }).click();
    await atPath(`/orgs/admin/truststores/${TRUSTSTORE.name}/delete`);
    await shot(page, 'truststore delete');
    await submit(button('Delete'));
    await atPath(TLS_PAGE);
    await shot(page, 'tls after truststore deleted');
    const rows = region('Truststores').getByRole('row').filter({ hasText: TRUSTSTORE.title });
    assert.equal(await rows.count(), 0, `${TRUSTSTORE.title} should be gone`);
  });

  step('a viewer sees no Create links, and her POSTs are refused with 403', async () => {
    await submit(button('Log out'));
    await atPath('/login');
    await shot(page, 'logged out');

    await logIn(VIEWER);
    await atPath(TLS_PAGE);
    await shot(page, 'tls as viewer');
    await assertHeading('TLS');
    await region('TLS Client Profiles').waitFor();
    assert.equal(await page.getByRole('link', { name: /^Create/ }).count(), 0, 'a viewer gets no Create link');
    const changeLinks = page.getByRole('link', { name: /^(Edit|Delete|Visibility)\b/ });
    assert.equal(await changeLinks.count(), 0, 'a viewer gets no Edit, Delete or Visibility link');

    // Her own valid token (from the Log out form) does not lift the viewer role, and a
    // wrong or missing token is refused anyway.
    const token = await csrfToken();
    assert.ok(token, 'the page should hold a csrf input');
    const fields = { title: 'Forged By Viewer', name: 'forged-by-viewer', version: '1.0.0' };
    const statuses = await postFromPage(
      { action: '/orgs/admin/tls-client-profiles', fields },
      [token, 'forged-token', null],
    );
    assert.deepEqual(statuses, [403, 403, 403]);
    await visit(TLS_PAGE, 'tls as viewer after forged posts');
    const rows = region('TLS Client Profiles').getByRole('row').filter({ hasText: fields.title });
    assert.equal(await rows.count(), 0);
  });
});
