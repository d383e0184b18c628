// A real OpenLDAP server for tests: its own config (slapd.conf), an mdb
// database loaded with slapadd, listening on 127.0.0.1 only (ldap:// with
// StartTLS, and ldaps://), with a throw-away CA and server certificate made by
// openssl. Needs Debian's slapd and ldap-utils (scripts/ensure-test-deps.sh).
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A directory entry under ou=people. */
export interface LdapUser {
  uid: string;
  password: string;
}

/** A running slapd. */
export interface Slapd {
  /** ldap://127.0.0.1:PORT (plain; StartTLS available) */
  url: string;
  /** ldaps://localhost:PORT (the certificate names localhost and 127.0.0.1) */
  ldapsUrl: string;
  /** PEM of the CA that signed the server certificate */
  caFile: string;
  /** uid=%s,ou=people,dc=example,dc=com */
  dnTemplate: string;
  stop(): Promise<void>;
}

const SUFFIX = 'dc=example,dc=com';

function bin(name: string): string {
  for (const dir of ['/usr/sbin', '/usr/bin', '/sbin', '/bin']) if (existsSync(path.join(dir, name))) return path.join(dir, name);
  return name;
}

/** Whether slapd and slapadd are installed. */
export function slapdAvailable(): boolean {
  return existsSync(bin('slapd')) && existsSync(bin('slapadd'));
}

async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

async function waitForPort(port: number, child: ChildProcess, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`slapd exited with ${child.exitCode}`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.once('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('slapd did not start listening');
}

function makeCertificates(dir: string): void {
  const ssl = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' });
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes'];
  ssl('req', '-x509', ...ec, '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '2', '-subj', '/CN=eportal test CA');
  ssl('req', ...ec, '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=localhost');
  writeFileSync(path.join(dir, 'san.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
  ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '2', '-extfile', 'san.ext');
}

function ldif(users: LdapUser[]): string {
  const entries = [
    `dn: ${SUFFIX}\nobjectClass: top\nobjectClass: dcObject\nobjectClass: organization\no: Example\ndc: example`,
    `dn: ou=people,${SUFFIX}\nobjectClass: organizationalUnit\nou: people`,
    ...users.map((u) => {
      // LDIF: a value with a DN-special character is safest base64-encoded (::)
      const b64 = (v: string) => Buffer.from(v, 'utf8').toString('base64');
      const dnValue = u.uid.replace(/([,+"\\<>;=])/g, '\\$1');
      return [
        `dn:: ${b64(`uid=${dnValue},ou=people,${SUFFIX}`)}`,
        'objectClass: inetOrgPerson',
        `uid:: ${b64(u.uid)}`,
        `cn:: ${b64(u.uid)}`,
        `sn:: ${b64(u.uid)}`,
        `userPassword:: ${b64(u.password)}`,
      ].join('\n');
    }),
  ];
  return entries.join('\n\n') + '\n';
}

/** Starts a slapd with `users` under ou=people,dc=example,dc=com. */
export async function startSlapd(users: LdapUser[]): Promise<Slapd> {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'eportal-slapd-'));
  mkdirSync(path.join(dir, 'db'));
  makeCertificates(dir);
  const conf = path.join(dir, 'slapd.conf');
  writeFileSync(conf, [
    'include /etc/ldap/schema/core.schema',
    'include /etc/ldap/schema/cosine.schema',
    'include /etc/ldap/schema/nis.schema',
    'include /etc/ldap/schema/inetorgperson.schema',
    `pidfile ${dir}/slapd.pid`,
    'modulepath /usr/lib/ldap',
    'moduleload back_mdb',
    `TLSCACertificateFile ${dir}/ca.crt`,
    `TLSCertificateFile ${dir}/server.crt`,
    `TLSCertificateKeyFile ${dir}/server.key`,
    'database mdb',
    'maxsize 10485760',
    `suffix "${SUFFIX}"`,
    `rootdn "cn=admin,${SUFFIX}"`,
    'rootpw not-used-by-tests',
    `directory ${dir}/db`,
    'access to attrs=userPassword by anonymous auth by self write by * none',
    'access to * by * read',
    '',
  ].join('\n'));
  writeFileSync(path.join(dir, 'data.ldif'), ldif(users));
  execFileSync(bin('slapadd'), ['-f', conf, '-l', path.join(dir, 'data.ldif')], { stdio: 'pipe' });
  const [port, tlsPort] = [await freePort(), await freePort()];
  const child = spawn(bin('slapd'), ['-f', conf, '-h', `ldap://127.0.0.1:${port}/ ldaps://127.0.0.1:${tlsPort}/`, '-d', '0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr!.setEncoding('utf8').on('data', (s: string) => (stderr = (stderr + s).slice(-4000)));
  try {
    await waitForPort(port, child);
    await waitForPort(tlsPort, child);
  } catch (err) {
    child.kill('SIGKILL');
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`${(err as Error).message}: ${stderr}`);
  }
  return {
    url: `ldap://127.0.0.1:${port}`,
    ldapsUrl: `ldaps://localhost:${tlsPort}`,
    caFile: path.join(dir, 'ca.crt'),
    dnTemplate: `uid=%s,ou=people,${SUFFIX}`,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
        await exited;
        clearTimeout(timer);
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
