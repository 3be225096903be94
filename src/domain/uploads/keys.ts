// File names come from clients; storage keys are built by us from validated
// parts only, so no name can steer a key (or a disk path) anywhere else.
import { err } from '../../errors.js';

const MAX_NAME_BYTES = 255;

/** Refuses anything that is not a plain file name: separators, `..`, control characters, over 255 bytes. */
export function validateFileName(name: unknown, field = 'file_name'): string {
  if (typeof name !== 'string' || name.length === 0) throw err('MissingParameter', `${field} is required`, field);
  if (Buffer.byteLength(name, 'utf8') > MAX_NAME_BYTES) throw err('InvalidFileName', `${field} is longer than ${MAX_NAME_BYTES} bytes`, field);
  if (/[\u0000-\u001f\u007f-\u009f\u2028\u2029]/.test(name)) throw err('InvalidFileName', `${field} contains a control character`, field);
  if (/[\\/]/.test(name)) throw err('InvalidFileName', `${field} must not contain a slash or backslash`, field);
  if (name === '.' || name === '..' || name.includes('..')) throw err('InvalidFileName', `${field} must not contain ".."`, field);
  if (name.trim() !== name) throw err('InvalidFileName', `${field} must not start or end with a space`, field);
  return name;
}

export function storageKeyFor(accountId: string, uploadId: string, fileName: string, at: Date): string {
  const day = at.toISOString().slice(0, 10).replace(/-/g, '');
  return `${accountId}/${day}/${uploadId}/${fileName}`;
}

/**
 * A key received on the wire (decoded). Keys we issue never contain empty
 * segments, `.` or `..`; anything else is refused before it reaches a store.
 */
export function isSafeKey(key: string): boolean {
  if (!key || key.length > 1024 || key.includes('\0') || key.includes('\\')) return false;
  return key.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..');
}
