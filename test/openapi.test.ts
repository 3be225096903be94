// The running service describes its native API: /openapi.json is an OpenAPI 3
// document covering the /v1 upload, key and token routes (checked for the
// structure OpenAPI requires), and /docs answers a page to browse it.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startHarness, type Harness } from './support/harness.js';

let h: Harness;
let spec: any;

before(async () => {
  h = await startHarness();
  const res = await fetch(`${h.url}/openapi.json`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^application\/json/);
  spec = await res.json();
});
after(() => h.close());

const METHODS = ['get', 'put', 'post', 'delete', 'options', 'head', 'patch', 'trace'];

function operations(): Array<{ path: string; method: string; op: any }> {
  return Object.entries(spec.paths as Record<string, Record<string, any>>).flatMap(([path, item]) =>
    Object.entries(item)
      .filter(([method]) => METHODS.includes(method))
      .map(([method, op]) => ({ path, method, op })),
  );
}

test('the document is OpenAPI 3 with an info block and paths', () => {
  assert.match(spec.openapi, /^3\.\d+\.\d+$/);
  assert.equal(typeof spec.info?.title, 'string');
  assert.equal(typeof spec.info?.version, 'string');
  assert.equal(typeof spec.paths, 'object');
  for (const path of Object.keys(spec.paths)) assert.match(path, /^\//, `path ${path} must start with /`);
});

test('it covers the /v1 upload, key and token routes', () => {
  const want: Record<string, string[]> = {
    '/v1/uploads': ['post', 'get'],
    '/v1/uploads/{id}': ['get', 'delete'],
    '/v1/keys': ['get', 'post'],
    '/v1/keys/{id}': ['delete'],
    '/v1/keys/{id}/rotate': ['post'],
    '/v1/tokens': ['post'],
    '/v1/tokens/refresh': ['post'],
  };
  for (const [path, methods] of Object.entries(want)) {
    assert.ok(spec.paths[path], `${path} is documented`);
    for (const m of methods) assert.ok(spec.paths[path][m], `${m.toUpperCase()} ${path} is documented`);
  }
  const create = spec.paths['/v1/uploads'].post.requestBody?.content?.['application/json']?.schema;
  assert.ok(create?.properties?.file_name, 'POST /v1/uploads documents its body');
  assert.deepEqual(create.required, ['file_name']);
});

test('only the native API is described, not the dialects or the store', () => {
  for (const path of Object.keys(spec.paths)) assert.match(path, /^\/v1\//, `${path} is not a native route`);
});

test('every operation has responses and declares each path parameter', () => {
  for (const { path, method, op } of operations()) {
    const where = `${method.toUpperCase()} ${path}`;
    assert.ok(op.responses && Object.keys(op.responses).length > 0, `${where} has responses`);
    const declared = [...(spec.paths[path].parameters ?? []), ...(op.parameters ?? [])];
    for (const p of declared) {
      assert.ok(['query', 'header', 'path', 'cookie'].includes(p.in), `${where}: parameter ${p.name} has a valid "in"`);
      if (p.in === 'path') assert.equal(p.required, true, `${where}: path parameter ${p.name} is required`);
    }
    for (const [, name] of path.matchAll(/\{([^}]+)\}/g)) {
      assert.ok(
        declared.some((p) => p.in === 'path' && p.name === name),
        `${where} declares its path parameter ${name}`,
      );
    }
  }
});

test('security requirements name declared schemes, and every $ref resolves', () => {
  const schemes = spec.components?.securitySchemes ?? {};
  for (const { path, method, op } of operations()) {
    for (const req of op.security ?? []) {
      for (const name of Object.keys(req)) assert.ok(schemes[name], `${method.toUpperCase()} ${path}: security scheme ${name} is declared`);
    }
  }
  const refs: string[] = [];
  const collect = (v: unknown) => {
    if (Array.isArray(v)) v.forEach(collect);
    else if (v && typeof v === 'object') {
      for (const [k, x] of Object.entries(v)) {
        if (k === '$ref' && typeof x === 'string') refs.push(x);
        else collect(x);
      }
    }
  };
  collect(spec);
  for (const ref of refs) {
    assert.match(ref, /^#\//, `${ref} is a local reference`);
    const target = ref
      .slice(2)
      .split('/')
      .reduce<any>((node, part) => node?.[part.replace(/~1/g, '/').replace(/~0/g, '~')], spec);
    assert.ok(target !== undefined, `${ref} resolves`);
  }
});

test('/docs answers a page', async () => {
  const res = await fetch(`${h.url}/docs`);
  assert.equal(res.status, 200);
  assert.match(res.headers.get('content-type') ?? '', /^text\/html/);
  assert.match(await res.text(), /<html/i);
});
