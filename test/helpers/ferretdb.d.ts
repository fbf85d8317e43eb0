export interface RunningFerretdb {
  bin: string;
  dir: string;
  port: number;
  pid: number;
  /** `mongodb://127.0.0.1:<port>/` */
  uri: string;
  stop(opts?: { keepData?: boolean }): Promise<void>;
}
export function findFerretdb(): string | null;
export function startFerretdb(opts?: { bin?: string; dir?: string; port?: number }): Promise<RunningFerretdb>;
export function stopOrphan(): void;
export const PID_FILE: string;
