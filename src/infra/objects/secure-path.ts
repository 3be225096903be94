// Every disk path the object store touches is built here, and nowhere else:
// a key that would resolve outside the root is refused, whatever it contains.
import { resolve, sep } from 'node:path';

export function securePath(root: string, key: string): string {
  if (key.includes('\0')) throw new Error('object key contains a NUL byte');
  const base = resolve(root);
  const full = resolve(base, key);
  if (full === base || !full.startsWith(base + sep)) throw new Error(`object key ${JSON.stringify(key)} escapes the store root`);
  return full;
}
