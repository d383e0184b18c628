// Hostile queries: depth, width, cost, tokens, fragment bombs, huge bodies and
// variables, batching. Each is refused quickly with a stable code.
import { getIntrospectionQuery } from 'graphql';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Gql, startApiPortal, wsClient } from './helpers.js';

let portal: Awaited<ReturnType<typeof startApiPortal>>;
let admin: Gql;

beforeAll(async () => {
  portal = await startApiPortal();
  admin = await portal.admin();
});
afterAll(async () => {
  await portal.stop();
});

// feeds { keys { feed { keys { ... id } } } }: levels + 1 deep
const nested = (levels: number) => {
  const path = Array.from({ length: levels }, (_, i) => (i % 2 ? 'feed' : 'keys'));
  return `{ feeds { ${path.map((p) => `${p} {`).join(' ')} id ${'}'.repeat(levels)} } }`;
};

describe('operation limits', () => {
  it('refuses a query nested deeper than 10 levels, allows a normal one', async () => {
    expect((await admin.request(nested(4))).errors).toEqual([]);
    const deep = await admin.request(nested(12));
    expect(deep.code).toBe('QUERY_TOO_COMPLEX');
    expect(deep.data).toBeNull();
  });

  it('refuses too many aliases (wide queries)', async () => {
    const wide = `{ ${Array.from({ length: 40 }, (_, i) => `a${i}: stats { totalServers }`).join(' ')} }`;
    expect((await admin.request(wide)).code).toBe('QUERY_TOO_COMPLEX');
  });

  it('refuses a page size times fields above the cost limit', async () => {
    const fields = 'id hostname ip kernelId effectiveKernel release machine distro distroVersion agentVersion patchLevel patchType uptime virt registeredAt lastCheckinAt serverIdHint active outOfDate latestLevel tags { name value } key { key feed { name } }';
    const costly = `{ servers(first: 500) { nodes { ${fields} } edges { cursor node { ${fields} } } } }`;
    expect((await admin.request(costly)).code).toBe('QUERY_TOO_COMPLEX');
    const viaVariable = `query($n: Int) { servers(first: $n) { nodes { ${fields} } edges { cursor node { ${fields} } } } }`;
    expect((await admin.request(viaVariable, { n: 1 })).code).toBe('QUERY_TOO_COMPLEX'); // a variable counts as the largest page
    expect((await admin.request(`{ servers(first: 500) { nodes { ${fields} } } }`)).errors).toEqual([]);
    expect((await admin.request(`{ servers(first: 50) { nodes { ${fields} } edges { cursor node { ${fields} } } } }`)).errors).toEqual([]);
  });

  it('refuses documents above the token limit', async () => {
    const long = `{ ${Array.from({ length: 1600 }, () => 'me { id }').join(' ')} }`;
    const r = await admin.request(long);
    expect(r.code).toBe('QUERY_TOO_COMPLEX');
    expect(r.errors[0]!.message).toMatch(/too long/);
  });

  it('stops a fragment bomb quickly', async () => {
    const frags = Array.from({ length: 20 }, (_, i) => `fragment F${i} on Query { ${i === 19 ? 'me { id }' : `a: me { ...F${i + 1}_x } ...F${i + 1} ...F${i + 1}`} }`)
      .map((f) => f.replace(/\.\.\.F(\d+)_x/g, 'id'))
      .join('\n');
    const t0 = Date.now();
    const r = await admin.request(`query { ...F0 }\n${frags}`);
    expect(Date.now() - t0).toBeLessThan(2000);
    expect(r.data).toBeNull();
    expect(r.errors.length).toBeGreaterThan(0);
  });

  it('still answers the standard introspection query', async () => {
    const r = await admin.request(getIntrospectionQuery());
    expect(r.errors).toEqual([]);
  });
});

describe('request shape', () => {
  it('refuses bodies above 100 kB (huge variables), declared or streamed', async () => {
    const big = await admin.request('query($x: String) { me { id } }', { x: 'y'.repeat(200_000) });
    expect(big.status).toBe(413);
    const chunks = new ReadableStream<Uint8Array>({
      start(c) {
        c.enqueue(new TextEncoder().encode(`{"query":"{ me { id } }","variables":{"x":"`));
        for (let i = 0; i < 30; i++) c.enqueue(new TextEncoder().encode('z'.repeat(10_000)));
        c.enqueue(new TextEncoder().encode('"}}'));
        c.close();
      },
    });
    const streamed = await fetch(`${portal.url}/graphql`, { method: 'POST', headers: { 'content-type': 'application/json', cookie: admin.cookie! }, body: chunks, duplex: 'half' } as RequestInit);
    expect(streamed.status).toBe(413);
  });

  it('refuses batched requests (an array of operations)', async () => {
    const r = await admin.request('', undefined, { body: JSON.stringify([{ query: '{ me { id } }' }, { query: '{ me { id } }' }]) });
    expect(r.status).toBe(400);
    expect(r.data).toBeNull();
  });

  it('refuses oversized strings in inputs with INVALID_INPUT', async () => {
    const r = await admin.request('mutation($d: String) { createKey(input: {description: $d}) { key } }', { d: 'd'.repeat(5000) });
    expect(r.code).toBe('INVALID_INPUT');
    const p = await admin.request('query($h: String) { servers(filter: {hostname: $h}) { totalCount } }', { h: `${'*'.repeat(300)}` });
    expect(p.code).toBe('INVALID_INPUT');
  });
});

describe('over WebSocket', () => {
  it('applies the same limits', async () => {
    const client = wsClient(portal.url, { cookie: admin.cookie });
    try {
      const result = await new Promise<{ errors?: readonly { message: string; extensions?: Record<string, unknown> }[] }>((resolve) => {
        let errors: readonly { message: string; extensions?: Record<string, unknown> }[] | undefined;
        client.subscribe({ query: nested(12) }, { next: (v) => (errors = v.errors), error: (e) => resolve({ errors: e as never }), complete: () => resolve({ errors }) });
      });
      expect(JSON.stringify(result.errors)).toContain('too deep');
    } finally {
      await client.dispose();
    }
  });
});
