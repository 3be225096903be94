import { createHash, randomBytes } from 'node:crypto';

const ALPHABET = '0123456789abcdefghijklmnopqrstuvwxyz';

/** Random lower-case alphanumeric string (ids, key ids, secrets). */
export function randomToken(length: number, alphabet = ALPHABET): string {
  const out: string[] = [];
  // Rejection sampling keeps every character equally likely.
  const limit = 256 - (256 % alphabet.length);
  while (out.length < length) {
    for (const b of randomBytes(length * 2)) {
      if (b < limit && out.length < length) out.push(alphabet[b % alphabet.length]);
    }
  }
  return out.join('');
}

export const newId = (prefix: string) => `${prefix}_${randomToken(20)}`;

export const sha256Hex = (s: string | Buffer) => createHash('sha256').update(s).digest('hex');
