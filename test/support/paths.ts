// Editing a request body by path, for validation tables that send a valid
// request with one field changed.

/** Put at a path to remove the field instead of setting it. */
export const DELETE = Symbol('delete');

/** Sets (or deletes) the value at a path like `audience_spec.x[0].y`; returns the object. */
export function setPath<T extends object>(obj: T, path: string, value: unknown): T {
  const keys = path.split(/\.|\[(\d+)\]/).filter((k) => k !== undefined && k !== '');
  let o: any = obj;
  for (const k of keys.slice(0, -1)) o = o[k];
  const last = keys[keys.length - 1];
  if (value === DELETE) delete o[last];
  else o[last] = value;
  return obj;
}
