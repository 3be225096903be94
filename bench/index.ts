// `npm run bench -- <name> [options]`: runs one benchmark by name.
// Each benchmark is a module exporting `run(args)`, which resolves to the
// process exit code (non-zero when a target is missed).

interface Bench {
  summary: string;
  load: () => Promise<{ run(args: string[]): Promise<number> }>;
}

const BENCHES: Record<string, Bench> = {
  upload: {
    summary: 'a 1 GiB pre-signed PUT into the embedded store over loopback, against md5sum on the same file',
    load: () => import('./upload.js'),
  },
  dictionary: {
    summary: 'identity dictionary inserts and lookups, radix sort and Roaring bitmap build (figures only)',
    load: () => import('./dictionary.js'),
  },
  ingest: {
    summary: '30 M lines of MD5 hex → bitmap, against md5sum on the same file; all new ids and again all known',
    load: () => import('./ingest.js'),
  },
  combine: {
    summary: 'COMBINE through the service: AND/OR/ANDNOT of two 30 M audiences (≤ 200 ms to SUCCESS), OR of 500 x 1 M (≤ 2x CRoaring orMany)',
    load: () => import('./combine.js'),
  },
  lookup: {
    summary: 'membership lookups through POST /v1/audiences/:id/members in batches, JSON and text (≥ 1 M ids/s), beside the same lookups in process',
    load: () => import('./lookup.js'),
  },
  rules: { summary: 'behaviour data: 100 M generated user actions and 100 M pings loaded with identity mapping (≥ 1 M events/s) beside DuckDB alone, then FILTER, AGGREGATION and CUSTOM_LOCATION audiences beside the same rules hand-written in SQL', load: () => import('./rules.js') },
  scan: { summary: 'the ingest line scanner over 30 M lines of 32-hex read in 16 MiB chunks, beside wc -l (figures only)', load: () => import('./scan.js') },
};

function usage(): string {
  const width = Math.max(...Object.keys(BENCHES).map((n) => n.length));
  const lines = Object.entries(BENCHES).map(([name, b]) => `  ${name.padEnd(width)}  ${b.summary}`);
  return ['usage: npm run bench -- <name> [options]', '', 'benchmarks:', ...lines].join('\n');
}

const [name, ...rest] = process.argv.slice(2);
const bench = name === undefined ? undefined : BENCHES[name];
if (!bench) {
  if (name !== undefined && name !== '--help' && name !== '-h') console.error(`unknown benchmark: ${name}\n`);
  console.error(usage());
  process.exit(name === '--help' || name === '-h' ? 0 : 2);
}
try {
  process.exitCode = await (await bench.load()).run(rest);
} catch (e) {
  console.error(`${name}: ${(e as Error).message}`);
  process.exitCode = 2;
}
