// Child processes for the CI-only suites: spawn, keep their output, wait for a line or for the exit with a deadline
// (never a sleep), stop them by their own pid.
import { spawn, type ChildProcess, type SpawnOptions } from 'node:child_process';
import { createServer } from 'node:net';

export interface ExitStatus {
  code: number | null;
  signal: NodeJS.Signals | null;
}

export class ChildRun {
  readonly name: string;
  readonly child: ChildProcess;
  private _output = '';
  private _exit: ExitStatus | null = null;
  private readonly _exited: Promise<ExitStatus>;
  private _listeners: Array<() => void> = [];

  constructor(name: string, command: string, args: readonly string[], options: SpawnOptions = {}) {
    this.name = name;
    this.child = spawn(command, args, { ...options, stdio: ['ignore', 'pipe', 'pipe'] });
    const append = (chunk: Buffer): void => {
      this._output += chunk.toString('utf8');
      this._notify();
    };
    this.child.stdout?.on('data', append);
    this.child.stderr?.on('data', append);
    this._exited = new Promise((resolve) => {
      this.child.on('error', (err) => {
        this._output += `\n[spawn error] ${err.message}\n`;
        this._exit = { code: null, signal: null };
        this._notify();
        resolve(this._exit);
      });
      this.child.on('close', (code, signal) => {
        this._exit = { code, signal };
        this._notify();
        resolve(this._exit);
      });
    });
  }

  /** Everything written to stdout and stderr so far, interleaved as it arrived. */
  get output(): string {
    return this._output;
  }

  get exitStatus(): ExitStatus | null {
    return this._exit;
  }

  private _notify(): void {
    for (const l of this._listeners) l();
  }

  /** Resolves with the first match of `pattern` in the output; rejects if the process exits first or on timeout. */
  waitForOutput(pattern: RegExp, timeoutMs: number): Promise<RegExpMatchArray> {
    return new Promise((resolve, reject) => {
      const check = (): boolean => {
        const m = this._output.match(pattern);
        if (m) {
          done();
          resolve(m);
          return true;
        }
        if (this._exit) {
          done();
          reject(new Error(`${this.name} exited (${JSON.stringify(this._exit)}) before printing ${String(pattern)}:\n${this.tail()}`));
          return true;
        }
        return false;
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`${this.name}: no ${String(pattern)} within ${timeoutMs} ms:\n${this.tail()}`));
      }, timeoutMs);
      const listener = (): void => void check();
      const done = (): void => {
        clearTimeout(timer);
        this._listeners = this._listeners.filter((l) => l !== listener);
      };
      this._listeners.push(listener);
      check();
    });
  }

  /** Waits for the exit; rejects after `timeoutMs` (the process is left running: call kill()). */
  waitForExit(timeoutMs: number): Promise<ExitStatus> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`${this.name} did not exit within ${timeoutMs} ms:\n${this.tail()}`)), timeoutMs);
      void this._exited.then((s) => {
        clearTimeout(timer);
        resolve(s);
      });
    });
  }

  /** SIGTERM (graceful), then the exit status. */
  async stop(timeoutMs = 15_000): Promise<ExitStatus> {
    if (this._exit) return this._exit;
    this.child.kill('SIGTERM');
    return this.waitForExit(timeoutMs);
  }

  /** Last-resort cleanup: SIGKILL if still running. */
  async kill(): Promise<void> {
    if (this._exit) return;
    this.child.kill('SIGKILL');
    await this._exited;
  }

  tail(lines = 40): string {
    return this._output.split('\n').slice(-lines).join('\n');
  }
}

/**
 * A loopback port that was free a moment ago (bound with port 0, then closed), for a peer that cannot report the
 * port it bound itself. Callers retry with a new one if the peer then hits EADDRINUSE.
 */
export async function freeLoopbackPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const address = server.address();
  await new Promise<void>((resolve) => server.close(() => resolve()));
  if (address === null || typeof address === 'string') throw new Error('no port');
  return address.port;
}

/** True when running under CI (CI set to anything but empty/false). */
export function underCi(): boolean {
  const ci = process.env['CI'];
  return ci !== undefined && ci !== '' && ci !== 'false' && ci !== '0';
}
