// The `audiencehub` command. Administrative commands (account, key, token)
// work directly on the data folder, like `createuser` on a database server;
// they are safe to run while the service runs (SQLite WAL, or PostgreSQL).
// The client commands (upload, audience, jobs) act as an account against a
// running service over HTTP, with its key.
import { Command, Option } from 'commander';
import type { AdminApp } from '../app.js';
import { loadConfig, type ConfigOverrides } from '../config.js';
import { AppError } from '../errors.js';
import { registerAudience, registerJobs } from './audience.js';
import { CliError } from './client.js';
import { closeLine } from './progress.js';
import { registerUpload } from './upload.js';

const program = new Command('audiencehub').description('Self-hosted audience platform').showHelpAfterError();

const configOptions = (c: Command) =>
  c
    .option('--data-dir <dir>', 'data folder (env AUDIENCEHUB_DATA_DIR)', undefined)
    .option('--config <file>', 'JSON config file (env AUDIENCEHUB_CONFIG)')
    .option('--database-url <url>', 'PostgreSQL URL for the metadata (env AUDIENCEHUB_DATABASE_URL); default SQLite in the data folder');

function print(json: boolean, value: unknown, text: () => string) {
  process.stdout.write(json ? JSON.stringify(value, null, 2) + '\n' : text() + '\n');
}

// The service's own modules (Fastify, the stores, their SDKs) are loaded only
// by the commands that use them, so that the client commands start quickly.
async function withApp<T>(opts: ConfigOverrides, fn: (app: AdminApp) => Promise<T>): Promise<T> {
  const app = await (await import('../app.js')).openAdmin(loadConfig(opts));
  try {
    return await fn(app);
  } finally {
    await app.close();
  }
}

configOptions(
  program
    .command('serve')
    .description('run the service (API, dialects, embedded store)')
    .option('--host <host>', 'listen address (env AUDIENCEHUB_HOST)')
    .option('--port <port>', 'listen port (env AUDIENCEHUB_PORT)')
    .option('--public-url <url>', 'base URL clients reach this service at (env AUDIENCEHUB_PUBLIC_URL)')
    .addOption(new Option('--log-level <level>', 'log level').choices(['fatal', 'error', 'warn', 'info', 'debug', 'trace']))
    .addOption(new Option('--role <role>', 'api: HTTP only; worker: jobs and housekeeping only; all: both').choices(['api', 'worker', 'all']).env('AUDIENCEHUB_ROLE').default('all')),
).action(async (opts) => (await import('./serve.js')).serve(loadConfig(opts), { role: opts.role }));

const account = program.command('account').description('manage accounts');
configOptions(account.command('create').description('create an account and its first key pair').requiredOption('--name <name>', 'account name').option('--json', 'print JSON')).action(
  async (opts) =>
    withApp(opts, async (app) => {
      const { account: a, key } = await app.accounts.create(opts.name);
      print(opts.json, { account: a, key: { access_key_id: key.accessKeyId, secret: key.secret } }, () =>
        [`account ${a.id} (${a.name}) created`, `access key id: ${key.accessKeyId}`, `secret:        ${key.secret}`, 'The secret is shown only now; keep it safe.'].join('\n'),
      );
    }),
);
configOptions(account.command('list').description('list accounts').option('--json', 'print JSON')).action(async (opts) =>
  withApp(opts, async (app) => {
    const items = await app.accounts.list();
    print(opts.json, { items }, () => items.map((a) => `${a.id}\t${a.name}\t${a.status}\t${a.createdAt}`).join('\n'));
  }),
);

const key = program.command('key').description("manage an account's key pairs");
configOptions(key.command('list').description('list keys').requiredOption('--account <id>').option('--json', 'print JSON')).action(async (opts) =>
  withApp(opts, async (app) => {
    const items = await app.accounts.listKeys(opts.account);
    print(opts.json, { items }, () => items.map((k) => `${k.id}\t${k.status}\t${k.createdAt}${k.revokedAt ? `\trevoked ${k.revokedAt}` : ''}`).join('\n'));
  }),
);
configOptions(key.command('create').description('create a key pair').requiredOption('--account <id>').option('--json', 'print JSON')).action(async (opts) =>
  withApp(opts, async (app) => {
    const k = await app.accounts.createKey(opts.account);
    print(opts.json, { access_key_id: k.accessKeyId, secret: k.secret }, () => `access key id: ${k.accessKeyId}\nsecret:        ${k.secret}`);
  }),
);
configOptions(key.command('revoke').description('revoke a key').requiredOption('--account <id>').argument('<key-id>').option('--json', 'print JSON')).action(async (keyId, opts) =>
  withApp(opts, async (app) => {
    await app.accounts.revokeKey(opts.account, keyId);
    print(opts.json, { revoked: keyId }, () => `key ${keyId} revoked`);
  }),
);
configOptions(key.command('rotate').description('issue a new key and revoke this one').requiredOption('--account <id>').argument('<key-id>').option('--json', 'print JSON')).action(
  async (keyId, opts) =>
    withApp(opts, async (app) => {
      const k = await app.accounts.rotateKey(opts.account, keyId);
      print(opts.json, { access_key_id: k.accessKeyId, secret: k.secret, revoked: keyId }, () => `access key id: ${k.accessKeyId}\nsecret:        ${k.secret}\nkey ${keyId} revoked`);
    }),
);

const token = program.command('token').description('Tencent Ads access tokens');
configOptions(token.command('create').description('issue an access token and a refresh token for a key').requiredOption('--account <id>').requiredOption('--key <key-id>').option('--json', 'print JSON')).action(
  async (opts) =>
    withApp(opts, async (app) => {
      const c = app.config.auth;
      const t = await app.accounts.issueTokens(opts.account, opts.key, { accessSeconds: c.accessTokenTtlSeconds, refreshSeconds: c.refreshTokenTtlSeconds });
      const out = { access_token: t.accessToken, refresh_token: t.refreshToken, access_token_expires_in: t.accessTokenExpiresIn, refresh_token_expires_in: t.refreshTokenExpiresIn, account_id: t.accountId };
      print(opts.json, out, () => Object.entries(out).map(([k, v]) => `${k}: ${v}`).join('\n'));
    }),
);

registerUpload(program);
registerAudience(program);
registerJobs(program);

program.parseAsync().catch((e) => {
  closeLine();
  if (e instanceof CliError) {
    process.stderr.write(`error: ${e.code ? `${e.code}: ` : ''}${e.message}\n`);
    process.exit(e.exitCode);
  }
  if (e instanceof AppError) {
    process.stderr.write(`audiencehub: ${e.code}: ${e.message}\n`);
    process.exit(2);
  }
  process.stderr.write(`audiencehub: ${(e as Error).message}\n`);
  process.exit(1);
});
