// Passwords that were not given with -p: asked for without echo on a
// terminal, otherwise read as the first line of stdin. Never printed.
import { CliError, type CliIO } from './context.js';

const MAX_LINE_BYTES = 64 * 1024;

/** Gets a password from the terminal (asked twice when `confirm`) or from stdin's first line. */
export async function readPassword(io: CliIO, options: { confirm: boolean; prompt?: string }): Promise<string> {
  const { stdin } = io;
  if (stdin.isTTY && typeof stdin.setRawMode === 'function') {
    const password = await promptHidden(io, options.prompt ?? 'Password: ');
    if (options.confirm && (await promptHidden(io, 'Repeat password: ')) !== password) {
      throw new CliError('the passwords do not match');
    }
    return password;
  }
  const line = await readFirstLine(stdin);
  if (line === null) throw new CliError('no password: give -p PASSWORD, or pipe it in on stdin');
  return line;
}

/** Reads one line from a terminal in raw mode, echoing nothing. */
function promptHidden(io: CliIO, prompt: string): Promise<string> {
  const input = io.stdin;
  return new Promise((resolve, reject) => {
    io.stderr.write(prompt);
    let value = '';
    const wasRaw = input.isRaw ?? false;
    const finish = (err?: CliError) => {
      input.removeListener('data', onData);
      input.setRawMode?.(wasRaw);
      input.pause();
      io.stderr.write('\n');
      if (err) reject(err);
      else resolve(value);
    };
    const onData = (chunk: Buffer | string) => {
      for (const ch of typeof chunk === 'string' ? chunk : chunk.toString('utf8')) {
        if (ch === '\r' || ch === '\n') return finish();
        if (ch === '\u0003') return finish(new CliError('cancelled', 130)); // Ctrl-C
        if (ch === '\u0004') {
          if (value === '') return finish(new CliError('cancelled')); // Ctrl-D on an empty line
          continue;
        }
        if (ch === '\u007f' || ch === '\b') value = [...value].slice(0, -1).join('');
        else if (ch === '\u0015') value = ''; // Ctrl-U
        else if (ch >= ' ') value += ch;
      }
    };
    input.setRawMode?.(true);
    input.on('data', onData);
    input.resume();
  });
}

/** The first line of a stream (without its line ending), or null when the stream ends before any byte. */
async function readFirstLine(input: NodeJS.ReadableStream): Promise<string | null> {
  const chunks: Buffer[] = [];
  let size = 0;
  let any = false;
  for await (const chunk of input) {
    const buf = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : (chunk as Buffer);
    if (buf.length) any = true;
    const nl = buf.indexOf(0x0a);
    chunks.push(nl >= 0 ? buf.subarray(0, nl) : buf);
    size += buf.length;
    if (nl >= 0) break; // stops reading: stdin may go on forever (`yes | kc.eportal ...`)
    if (size > MAX_LINE_BYTES) throw new CliError('the first line of stdin is too long for a password');
  }
  if (!any) return null;
  return Buffer.concat(chunks).toString('utf8').replace(/\r$/, '');
}
