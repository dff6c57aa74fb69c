// The parts of untyped dev dependencies the benchmark uses.

declare module "connect-pg-simple" {
  import type session from "express-session";
  import type { Pool } from "pg";

  interface PGStoreOptions {
    pool?: Pool;
    schemaName?: string;
    tableName?: string;
    pruneSessionInterval?: false | number;
    ttl?: number;
  }
  interface PGStore extends session.Store {
    pruneSessions(fn?: (err?: unknown) => void): void;
    close(): Promise<void>;
  }
  export default function connectPgSimple(s: typeof session): new (options: PGStoreOptions) => PGStore;
}

declare module "session-file-store" {
  import type session from "express-session";

  interface FileStoreOptions {
    path?: string;
    ttl?: number;
    retries?: number;
    reapInterval?: number;
    logFn?: (...args: unknown[]) => void;
  }
  export default function fileStore(s: typeof session): new (options: FileStoreOptions) => session.Store;
}

declare module "dynalite" {
  import type { Server } from "node:http";

  interface DynaliteOptions {
    createTableMs?: number;
    deleteTableMs?: number;
    updateTableMs?: number;
    path?: string;
  }
  export default function dynalite(options?: DynaliteOptions): Server;
}

declare module "autocannon" {
  interface Options {
    url: string;
    connections?: number;
    duration?: number;
    amount?: number;
    pipelining?: number;
    headers?: Record<string, string>;
    method?: string;
    timeout?: number;
  }
  interface Histogram {
    average: number;
    mean: number;
    p50: number;
    p99: number;
    max: number;
    min: number;
    total: number;
  }
  interface Result {
    requests: Histogram & { sent: number };
    latency: Histogram;
    throughput: Histogram;
    errors: number;
    timeouts: number;
    non2xx: number;
    duration: number;
    "2xx": number;
  }
  export default function autocannon(options: Options): Promise<Result>;
}
