// Sends bytes the way a broken or hostile client would: no URL or header
// validation, so fuzz tests can reach the server with anything.
import net from 'node:net';

export interface RawResponse {
  status: number;
  head: string;
  body: Buffer;
}

/** Sends one raw HTTP/1.1 request (target given as bytes) and reads the answer to EOF. */
export function rawRequest(port: number, target: Buffer | string, headers: Record<string, string | Buffer> = {}, method = 'GET'): Promise<RawResponse> {
  return new Promise((resolve, reject) => {
    const sock = net.connect(port, '127.0.0.1');
    const chunks: Buffer[] = [];
    sock.setTimeout(10_000, () => sock.destroy(new Error('raw request timed out')));
    sock.on('data', (c) => chunks.push(c));
    sock.on('error', reject);
    sock.on('close', () => {
      const all = Buffer.concat(chunks);
      const split = all.indexOf('\r\n\r\n');
      const head = (split < 0 ? all : all.subarray(0, split)).toString('latin1');
      const m = /^HTTP\/1\.[01] (\d{3})/.exec(head);
      resolve({ status: m ? Number(m[1]) : 0, head, body: split < 0 ? Buffer.alloc(0) : all.subarray(split + 4) });
    });
    const parts: Buffer[] = [Buffer.from(`${method} `), Buffer.from(target), Buffer.from(' HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n')];
    for (const [k, v] of Object.entries(headers)) parts.push(Buffer.from(`${k}: `), Buffer.from(v), Buffer.from('\r\n'));
    parts.push(Buffer.from('\r\n'));
    sock.end(Buffer.concat(parts));
  });
}
