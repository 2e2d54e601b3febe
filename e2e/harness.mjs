// What the console tests stand on: certificates made with the openssl CLI, the processes
// they start (tlsdeck serve, openssl s_server) and stop by PID, the REST calls that set up
// users and orgs, Debian's Chromium through playwright-core, and numbered screenshots.
// Every address used is loopback; every wait is bounded.

import { spawn, execFileSync } from 'node:child_process';
import { createWriteStream } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';

import { chromium } from 'playwright-core';

export const E2E_DIR = dirname(fileURLToPath(import.meta.url));
export const REPO_ROOT = resolve(E2E_DIR, '..');
export const OUTPUT_DIR = join(E2E_DIR, 'output');
export const TLSDECK_BIN = process.env.TLSDECK_BIN
  ? resolve(process.env.TLSDECK_BIN)
  : join(REPO_ROOT, 'target', 'debug', 'tlsdeck');
export const CHROMIUM = process.env.E2E_CHROMIUM || '/usr/bin/chromium';

/** The flags Chromium needs here: no sandbox as root, and no traffic of its own. */
const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--no-proxy-server',
];

const LOOPBACK_HOSTS = ['127.0.0.1', 'localhost', '[::1]'];

/** True for a URL on this machine's loopback. */
export function isLoopback(url) {
  return LOOPBACK_HOSTS.includes(new URL(url).hostname);
}

/** How long one openssl command may take. */
const OPENSSL_TIMEOUT_MS = 20_000;

// ---------------------------------------------------------------------------------------
// Temp folder and certificates

/** A fresh temp folder; `remove()` deletes it. */
export async function tempDir() {
  const path = await mkdtemp(join(tmpdir(), 'tlsdeck-e2e-'));
  return { path, remove: () => rm(path, { recursive: true, force: true }) };
}

function openssl(args, cwd) {
  return execFileSync('openssl', args, {
    cwd,
    timeout: OPENSSL_TIMEOUT_MS,
    stdio: ['ignore', 'pipe', 'pipe'],
    encoding: 'utf8',
  });
}

/** A new P-256 key and a CSR (or a self-signed certificate with `selfSigned`). */
function newKeyAndRequest(dir, base, subject, extra = []) {
  openssl(
    [
      'req', '-new', ...extra,
      '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:P-256', '-nodes',
      '-subj', subject,
      '-keyout', `${base}.key`,
      '-out', extra.includes('-x509') ? `${base}.pem` : `${base}.csr`,
    ],
    dir,
  );
}

/** Signs `${base}.csr` with the CA into `${base}.pem`, with the extensions given. */
async function signWithCa(dir, base, extensions) {
  await writeFile(join(dir, `${base}.ext`), extensions.join('\n') + '\n');
  const serial = '0x' + [...Array(16)].map(() => Math.floor(Math.random() * 16).toString(16)).join('');
  openssl(
    [
      'x509', '-req', '-in', `${base}.csr`,
      '-CA', 'ca.pem', '-CAkey', 'ca.key', '-set_serial', serial,
      '-days', '365', '-sha256',
      '-extfile', `${base}.ext`,
      '-out', `${base}.pem`,
    ],
    dir,
  );
}

/** The certificate's notAfter as `YYYY-MM-DD` (UTC). */
function expiryDate(dir, pemFile) {
  const line = openssl(['x509', '-noout', '-enddate', '-in', pemFile], dir).trim();
  const when = new Date(line.replace(/^notAfter=/, ''));
  if (Number.isNaN(when.getTime())) throw new Error(`cannot read the expiry from "${line}"`);
  return when.toISOString().slice(0, 10);
}

/**
 * Makes in `dir`: a CA (CN "e2e CA": ca.pem, ca.key), a server certificate for localhost
 * signed by it (server.pem, server.key) and a client certificate signed by it whose
 * certificate and unencrypted key are together in client-bundle.pem.
 */
export async function makeCertificates(dir) {
  newKeyAndRequest(dir, 'ca', '/CN=e2e CA', [
    '-x509', '-days', '365', '-sha256',
    '-addext', 'basicConstraints=critical,CA:TRUE',
    '-addext', 'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  newKeyAndRequest(dir, 'server', '/CN=localhost');
  await signWithCa(dir, 'server', [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=serverAuth',
    'subjectAltName=DNS:localhost,IP:127.0.0.1',
  ]);
  newKeyAndRequest(dir, 'client', '/CN=e2e client');
  await signWithCa(dir, 'client', [
    'basicConstraints=critical,CA:FALSE',
    'keyUsage=critical,digitalSignature',
    'extendedKeyUsage=clientAuth',
  ]);
  const bundle =
    (await readFile(join(dir, 'client.pem'), 'utf8')) + (await readFile(join(dir, 'client.key'), 'utf8'));
  await writeFile(join(dir, 'client-bundle.pem'), bundle);
  return {
    caPem: join(dir, 'ca.pem'),
    caSubject: 'CN=e2e CA',
    caExpiry: expiryDate(dir, 'ca.pem'),
    serverPem: join(dir, 'server.pem'),
    serverKey: join(dir, 'server.key'),
    clientBundle: join(dir, 'client-bundle.pem'),
    clientSubject: 'CN=e2e client',
    clientExpiry: expiryDate(dir, 'client.pem'),
  };
}

// ---------------------------------------------------------------------------------------
// Processes

/** Every process started here and not yet stopped, so that an exit still ends them. */
const running = new Set();

function killAllNow() {
  for (const child of running) {
    try {
      process.kill(child.pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}

process.on('exit', killAllNow);
for (const signal of ['SIGINT', 'SIGTERM']) {
  process.once(signal, () => {
    killAllNow();
    process.exit(signal === 'SIGINT' ? 130 : 143);
  });
}

/**
 * Starts a process whose stdout and stderr are copied to `logFile`, and waits (at most
 * `timeoutMs`) for a stdout line matching `ready`. Resolves to `{ pid, match, stop, log }`.
 */
export async function startProcess({ name, command, args, env, logFile, ready, timeoutMs }) {
  const log = createWriteStream(logFile);
  const child = spawn(command, args, {
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  running.add(child);
  const exited = new Promise((done) => child.once('exit', (code, signal) => done({ code, signal })));
  child.once('exit', () => running.delete(child));
  child.once('close', () => log.end());

  const stop = () => stopProcess(child, exited, name);
  const match = await new Promise((done, fail) => {
    const timer = setTimeout(() => {
      fail(new Error(`${name} printed no line matching ${ready} within ${timeoutMs} ms (see ${logFile})`));
    }, timeoutMs);
    const settle = (fn, value) => {
      clearTimeout(timer);
      fn(value);
    };
    child.once('error', (err) => settle(fail, new Error(`${name} could not start: ${err.message}`)));
    exited.then(({ code, signal }) =>
      settle(fail, new Error(`${name} ended (code ${code}, signal ${signal}) before it was ready (see ${logFile})`)),
    );
    createInterface({ input: child.stdout }).on('line', (line) => {
      log.write(`${line}\n`);
      const m = line.match(ready);
      if (m) settle(done, m);
    });
    child.stderr.on('data', (chunk) => log.write(chunk));
  }).catch(async (err) => {
    await stop();
    throw err;
  });
  return { pid: child.pid, match, stop, log: logFile };
}

/** SIGTERM by PID, up to 5 s to go, then SIGKILL; resolves once the process is gone. */
async function stopProcess(child, exited, name) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const within = (ms) => Promise.race([exited.then(() => true), sleep(ms).then(() => false)]);
  try {
    process.kill(child.pid, 'SIGTERM');
  } catch {
    return;
  }
  if (await within(5_000)) return;
  console.error(`${name} (pid ${child.pid}) ignored SIGTERM; killing it`);
  try {
    process.kill(child.pid, 'SIGKILL');
  } catch {
    return;
  }
  await within(2_000);
}

export function sleep(ms) {
  return new Promise((done) => setTimeout(done, ms));
}

/** `tlsdeck serve` on a port the system picks; resolves with its URL and `stop()`. */
export async function startTlsdeck({ dataDir, adminPassword, logFile }) {
  const proc = await startProcess({
    name: 'tlsdeck serve',
    command: TLSDECK_BIN,
    args: ['serve', '--listen', '127.0.0.1:0', '--data-dir', dataDir],
    env: { TLSDECK_ADMIN_PASSWORD: adminPassword },
    logFile,
    ready: /tlsdeck listening on (http:\/\/127\.0\.0\.1:(\d+))/,
    timeoutMs: 20_000,
  });
  return { ...proc, url: proc.match[1], port: Number(proc.match[2]) };
}

/** `openssl s_server -www` on 127.0.0.1 and a port the system picks. */
export async function startTlsPeer({ cert, key, logFile }) {
  const proc = await startProcess({
    name: 'openssl s_server',
    command: 'openssl',
    args: ['s_server', '-accept', '127.0.0.1:0', '-www', '-cert', cert, '-key', key],
    env: {},
    logFile,
    ready: /^ACCEPT\s+\S*:(\d+)\s*$/,
    timeoutMs: 10_000,
  });
  return { ...proc, port: Number(proc.match[1]) };
}

// ---------------------------------------------------------------------------------------
// REST API (loopback only)

/** A small client of tlsdeck's REST API at `baseUrl`, which must be on loopback. */
export function restClient(baseUrl) {
  if (!isLoopback(baseUrl)) {
    throw new Error(`refusing a non-loopback API address: ${baseUrl}`);
  }
  let token = null;
  async function call(method, path, body) {
    const res = await fetch(new URL(path, baseUrl), {
      method,
      headers: {
        'content-type': 'application/json',
        ...(token ? { authorization: `Bearer ${token}` } : {}),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
      redirect: 'manual',
      signal: AbortSignal.timeout(10_000),
    });
    const text = await res.text();
    let json = null;
    try {
      json = text ? JSON.parse(text) : null;
    } catch {
      // not JSON; kept as text below
    }
    if (!res.ok) throw new Error(`${method} ${path} answered ${res.status}: ${text.slice(0, 500)}`);
    return json;
  }
  return {
    async logIn(username, password, realm) {
      const answer = await call('POST', '/api/token', { username, password, realm, grant_type: 'password' });
      if (!answer?.access_token) throw new Error(`POST /api/token gave no access_token: ${JSON.stringify(answer)}`);
      token = answer.access_token;
    },
    createUser: (username, realm, password) => call('POST', '/api/users', { username, realm, password }),
    setMember: (org, username, roles) => call('POST', `/api/orgs/${org}/members`, { username, roles }),
    createOrg: (name, title, owner) => call('POST', '/api/orgs', { name, title, owner }),
  };
}

// ---------------------------------------------------------------------------------------
// Browser and screenshots

/** Debian's Chromium, headless, through playwright-core (no browser download). */
export function launchBrowser() {
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    timeout: 30_000,
  });
}

/**
 * A browser context for the console at `baseURL`, with the page timeouts the tests use;
 * any request a page makes off loopback is aborted (and noted) rather than sent.
 */
export async function newConsoleContext(browser, baseURL) {
  const context = await browser.newContext({ baseURL, viewport: { width: 1280, height: 900 } });
  context.setDefaultTimeout(10_000);
  context.setDefaultNavigationTimeout(15_000);
  await context.route(
    (url) => !isLoopback(url.href) && ['http:', 'https:', 'ws:', 'wss:'].includes(url.protocol),
    (route) => {
      console.error(`blocked a request off loopback: ${route.request().url()}`);
      return route.abort('blockedbyclient');
    },
  );
  return context;
}

/** Empties e2e/output and returns `shot(page, name)`, which saves NN-name.png there. */
export async function screenshotter() {
  await rm(OUTPUT_DIR, { recursive: true, force: true });
  await mkdir(OUTPUT_DIR, { recursive: true });
  let count = 0;
  return async function shot(page, name) {
    count += 1;
    const safe = name.toLowerCase().replace(/[^a-z0-9]+/g, '-').replace(/^-|-$/g, '');
    const file = join(OUTPUT_DIR, `${String(count).padStart(2, '0')}-${safe}.png`);
    await page.screenshot({ path: file, fullPage: true, timeout: 10_000 });
    return file;
  };
}

/** Polls `check` (sync or async, truthy = done) every 100 ms for at most `timeoutMs`. */
export async function eventually(what, check, timeoutMs = 5_000) {
  const deadline = Date.now() + timeoutMs;
  let last;
  for (let i = 0; i < 1_000 && Date.now() < deadline; i += 1) {
    try {
      last = await check();
      if (last) return last;
    } catch (err) {
      last = err;
    }
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what} (last: ${last})`);
}
