// MD5 of an upload, computed beside the receiving loop. MD5 cannot be split
// across cores, and on the main thread it costs as much as everything else the
// loop does (socket reads, the text check, file writes), so large uploads hash
// on a worker thread: chunks are copied into 2 MiB batches whose buffers are
// transferred to the worker (no second copy) and handed back once hashed. At
// most BATCHES batches are in flight; beyond that the receiving loop waits,
// which back-pressures the socket. Small uploads hash inline, where a worker
// would cost more than it saves.
import { createHash, type Hash } from 'node:crypto';
import { Worker } from 'node:worker_threads';

export interface Md5Hasher {
  /** False when the caller should `await drain()` before the next update. */
  update(chunk: Buffer): boolean;
  drain(): Promise<void>;
  digest(): Promise<string>;
  /** Gives the hasher up (after a failure); safe to call more than once. */
  abandon(): void;
}

/** Below this many bytes the upload hashes inline. */
export const OFFLOAD_MIN_BYTES = 16 << 20;
const BATCH = 2 << 20;
const BATCHES = 4;
const MAX_IDLE_WORKERS = 2;

class InlineMd5 implements Md5Hasher {
  private readonly h: Hash = createHash('md5');
  update(chunk: Buffer): boolean {
    this.h.update(chunk);
    return true;
  }
  async drain(): Promise<void> {}
  async digest(): Promise<string> {
    return this.h.digest('hex');
  }
  abandon(): void {}
}

// Plain CommonJS evaluated from a string, so the worker runs the same from the
// compiled build and from the TypeScript sources under test.
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { createHash } = require('node:crypto');
let h = createHash('md5');
parentPort.on('message', (m) => {
  if (m.buf) {
    h.update(new Uint8Array(m.buf, 0, m.length));
    parentPort.postMessage({ buf: m.buf }, [m.buf]);
  } else {
    parentPort.postMessage({ hex: h.digest('hex') });
    h = createHash('md5');
  }
});
`;

const idleWorkers: Worker[] = [];

class WorkerMd5 implements Md5Hasher {
  private readonly worker: Worker;
  private readonly free: ArrayBuffer[] = [];
  private current = Buffer.from(new ArrayBuffer(BATCH));
  private filled = 0;
  private inFlight = 0;
  private wake: (() => void) | undefined;
  private failed: Error | undefined;
  private result: ((hex: string) => void) | undefined;
  private settled = false;

  constructor() {
    this.worker = idleWorkers.pop() ?? new Worker(WORKER_SOURCE, { eval: true, resourceLimits: { maxYoungGenerationSizeMb: 2, maxOldGenerationSizeMb: 16 } });
    this.worker.unref();
    this.worker.on('message', this.onMessage);
    this.worker.on('error', this.onError);
  }

  private onMessage = (m: { buf?: ArrayBuffer; hex?: string }) => {
    if (m.buf) {
      if (this.free.length < BATCHES) this.free.push(m.buf);
      this.inFlight--;
      this.wakeUp();
    } else if (m.hex !== undefined) this.result?.(m.hex);
  };

  private onError = (e: Error) => {
    this.failed = e;
    this.wakeUp();
  };

  private wakeUp(): void {
    const w = this.wake;
    this.wake = undefined;
    w?.();
  }

  private send(): void {
    const buf = this.current.buffer as ArrayBuffer;
    this.worker.postMessage({ buf, length: this.filled }, [buf]);
    this.inFlight++;
    this.filled = 0;
    this.current = Buffer.from(this.free.pop() ?? new ArrayBuffer(BATCH));
  }

  update(chunk: Buffer): boolean {
    let at = 0;
    while (at < chunk.length) {
      const n = chunk.copy(this.current, this.filled, at);
      this.filled += n;
      at += n;
      if (this.filled === BATCH) this.send();
    }
    return this.inFlight < BATCHES;
  }

  async drain(): Promise<void> {
    while (this.inFlight >= BATCHES && !this.failed) await new Promise<void>((r) => (this.wake = r));
    if (this.failed) throw this.failed;
  }

  async digest(): Promise<string> {
    if (this.filled > 0) this.send();
    const hex = await new Promise<string>((resolve, reject) => {
      this.result = resolve;
      this.wake = () => this.failed && reject(this.failed);
      this.worker.postMessage({ end: true });
    });
    this.detach(idleWorkers.length < MAX_IDLE_WORKERS);
    return hex;
  }

  abandon(): void {
    // Its hash state is mid-file: never reuse it.
    this.detach(false);
  }

  private detach(reuse: boolean): void {
    if (this.settled) return;
    this.settled = true;
    this.worker.off('message', this.onMessage);
    this.worker.off('error', this.onError);
    if (reuse && !this.failed) idleWorkers.push(this.worker);
    else void this.worker.terminate();
  }
}

export function md5Hasher(expectedBytes: number): Md5Hasher {
  return expectedBytes >= OFFLOAD_MIN_BYTES ? new WorkerMd5() : new InlineMd5();
}
