// Per-line detection for ingest: a line's type judged by its shape
// (detect.ts), then normalized as that type into the caller's KeyBatch.
// A line whose shape fits no type, or several the hint does not narrow to
// one, is refused with detect.ts's reason naming the candidates.
import { detectType } from './detect.js';
import { normalizeInto, type KeyBatch } from './normalize.js';
import type { Family, IdTypeName } from './types.js';

export type DetectHint = ReadonlyArray<Family | IdTypeName>;

export function detectInto(line: string, hint: DetectHint | undefined, out: KeyBatch): boolean {
  const r = detectType(line, hint);
  if (!r.ok) return out.refuse(r.reason);
  return normalizeInto(r.type, line, out);
}
