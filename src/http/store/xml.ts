// The embedded store answers in the XML its clients expect. Values are
// escaped; nothing here parses untrusted XML beyond the tiny, fixed
// CompleteMultipartUpload document (see multipart.ts).

export function esc(s: string | number): string {
  return String(s).replace(/[<>&'"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', "'": '&apos;', '"': '&quot;' })[c]!);
}

export function xmlDoc(root: string, fields: Record<string, string | number | undefined>): string {
  const body = Object.entries(fields)
    .filter(([, v]) => v !== undefined)
    .map(([k, v]) => `<${k}>${esc(v!)}</${k}>`)
    .join('');
  return `<?xml version="1.0" encoding="UTF-8"?>\n<${root}>${body}</${root}>`;
}
