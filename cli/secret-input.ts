/**
 * Reads one secret line without showing it: from a terminal in raw mode
 * (nothing echoed, not even stars; raw mode is always switched off again),
 * or the first line of piped standard input (`echo $KEY | k2p-web login`).
 */
import { InterruptedError } from './remote';

/** What readSecret needs of standard input: process.stdin, or a stand-in in tests. */
export interface SecretSource extends NodeJS.ReadableStream {
  isTTY?: boolean;
  setRawMode?: (mode: boolean) => unknown;
}

const MAX_SECRET = 4096;

/** The line typed or piped, trimmed; the prompt goes to `prompt` (stderr) only on a terminal. */
export async function readSecret(input: SecretSource, prompt: NodeJS.WritableStream, question: string): Promise<string> {
  return input.isTTY === true && typeof input.setRawMode === 'function' ? readFromTerminal(input, prompt, question) : readPiped(input);
}

function readFromTerminal(input: SecretSource, prompt: NodeJS.WritableStream, question: string): Promise<string> {
  prompt.write(question);
  input.setRawMode!(true);
  input.setEncoding('utf8');
  let typed = '';
  // Arrow and function keys arrive as escape sequences (ESC [ … final byte): none of it is part of a key.
  let escape: 'none' | 'start' | 'csi' = 'none';
  return new Promise<string>((resolve, reject) => {
    const finish = (error?: Error) => {
      input.off('data', onData);
      input.off('end', onEnd);
      input.setRawMode!(false);
      input.pause();
      prompt.write('\n');
      if (error) reject(error);
      else resolve(typed.trim());
    };
    const onEnd = () => finish();
    const onData = (chunk: string | Buffer) => {
      // A paste arrives as one chunk, possibly with the Enter in it: look at each character.
      for (const char of String(chunk)) {
        if (escape === 'start') {
          escape = char === '[' ? 'csi' : 'none';
          continue;
        }
        if (escape === 'csi') {
          if (char >= '@' && char <= '~') escape = 'none';
          continue;
        }
        if (char === '\u001b') {
          escape = 'start';
          continue;
        }
        if (char === '\r' || char === '\n') return finish();
        if (char === '\u0003') return finish(new InterruptedError());
        if (char === '\u0004') return typed === '' ? finish(new InterruptedError()) : finish();
        if (char === '\u007f' || char === '\b') typed = Array.from(typed).slice(0, -1).join('');
        else if (char === '\u0015')
          typed = ''; // Ctrl-U: start over
        else if (char >= ' ' && typed.length < MAX_SECRET) typed += char;
      }
    };
    input.on('data', onData);
    input.once('end', onEnd);
    input.resume();
  });
}

async function readPiped(input: SecretSource): Promise<string> {
  let text = '';
  for await (const chunk of input) {
    text += String(chunk);
    if (text.includes('\n') || text.length > MAX_SECRET) break;
  }
  return (text.split(/\r?\n/)[0] ?? '').trim();
}
