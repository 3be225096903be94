// Progress on stderr, so stdout stays the command's answer. On a terminal one
// line is redrawn in place (at most ten times a second); when stderr is a
// pipe or a file, plain lines are written at each tenth of the work (or each
// change of status), so logs stay short; with --json nothing is written.
export type ProgressMode = 'tty' | 'lines' | 'off';

export const progressMode = (json: boolean | undefined): ProgressMode => (json ? 'off' : process.stderr.isTTY ? 'tty' : 'lines');

// Whether a redrawn line is on screen, so an error message starts on a line of its own.
let lineOpen = false;

function draw(text: string) {
  const width = process.stderr.columns || 100;
  process.stderr.write(`\r${text.length >= width ? text.slice(0, width - 1) : text}\x1b[K`);
  lineOpen = true;
}

/** Ends a redrawn line, if one is open (before printing an error). */
export function closeLine() {
  if (lineOpen) process.stderr.write('\n');
  lineOpen = false;
}

const UNITS = ['B', 'kB', 'MB', 'GB', 'TB'];

/** Bytes in decimal units (1 MB = 10^6 B), as transfer rates are quoted. */
export function formatBytes(n: number): string {
  let i = 0;
  let v = n;
  while (v >= 1000 && i < UNITS.length - 1) {
    v /= 1000;
    i++;
  }
  return i === 0 ? `${n} B` : `${v.toFixed(v < 10 ? 2 : 1)} ${UNITS[i]}`;
}

export interface ByteProgress {
  update(done: number): void;
  finish(): void;
}

/** Progress over a known number of bytes: percent, bytes done of total, MB/s. */
export function byteProgress(label: string, total: number, mode: ProgressMode): ByteProgress {
  const start = Date.now();
  let done = 0;
  let lastDraw = 0;
  let lastTenth = 0;
  const rate = () => {
    const s = (Date.now() - start) / 1000;
    return s > 0 ? done / s : 0;
  };
  const pct = () => (total > 0 ? Math.min(100, (done / total) * 100) : 100);
  const bar = () => {
    const w = 24;
    const full = Math.round((pct() / 100) * w);
    return `[${'#'.repeat(full)}${'-'.repeat(w - full)}]`;
  };
  const render = () => {
    draw(`${label} ${bar()} ${pct().toFixed(0).padStart(3)}%  ${formatBytes(done)} / ${formatBytes(total)}  ${(rate() / 1e6).toFixed(1)} MB/s`);
  };
  return {
    update(n) {
      done = n;
      if (mode === 'tty') {
        const now = Date.now();
        if (now - lastDraw >= 100) {
          lastDraw = now;
          render();
        }
      } else if (mode === 'lines') {
        const tenth = Math.floor(pct() / 10);
        if (tenth > lastTenth && tenth < 10) {
          lastTenth = tenth;
          process.stderr.write(`${label}: ${pct().toFixed(0)}% (${formatBytes(done)} of ${formatBytes(total)}, ${(rate() / 1e6).toFixed(1)} MB/s)\n`);
        }
      }
    },
    finish() {
      done = total;
      const secs = (Date.now() - start) / 1000;
      // A rate over a few milliseconds says nothing: left out for tiny transfers.
      const speed = secs >= 0.05 ? `, ${(rate() / 1e6).toFixed(1)} MB/s` : '';
      if (mode === 'tty') {
        render();
        closeLine();
      } else if (mode === 'lines') {
        process.stderr.write(`${label}: 100% (${formatBytes(total)} in ${secs.toFixed(1)} s${speed})\n`);
      }
    },
  };
}

export interface StatusLine {
  show(text: string): void;
  finish(): void;
}

/** A status that changes over time (a job being worked): redrawn on a terminal, one line per change otherwise. */
export function statusLine(mode: ProgressMode): StatusLine {
  let last = '';
  return {
    show(text) {
      if (text === last) return;
      last = text;
      if (mode === 'tty') draw(text);
      else if (mode === 'lines') process.stderr.write(text + '\n');
    },
    finish() {
      if (mode === 'tty') closeLine();
    },
  };
}
