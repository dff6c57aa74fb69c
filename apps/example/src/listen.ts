import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { createApp } from "./app.js";
import { type Backends, createBackends } from "./backends.js";
import type { AppConfig } from "./config.js";

/** A running app: its URL, its backends, and how to stop it. */
export interface RunningApp {
  readonly url: string;
  readonly server: Server;
  readonly backends: Backends;
  /** Stops accepting connections, ends idle ones, then closes the stores' clients. */
  close(): Promise<void>;
}

export interface StartOptions {
  /** Where request errors go. @default console.error */
  log?: (line: string) => void;
}

/** Builds the backends, prepares the user store (the `readers` group) and listens. */
export async function startApp(config: AppConfig, options: StartOptions = {}): Promise<RunningApp> {
  const backends = createBackends(config);
  try {
    await backends.seed();
    const server = createServer(createApp(backends, options));
    await new Promise<void>((resolve, reject) => {
      server.once("error", reject);
      server.listen(config.port, config.host, () => {
        server.off("error", reject);
        resolve();
      });
    });
    const { address, port } = server.address() as AddressInfo;
    const host = address.includes(":") ? `[${address}]` : address;
    let closing: Promise<void> | undefined;
    return {
      url: `http://${host}:${port}`,
      server,
      backends,
      close() {
        closing ??= (async () => {
          const closed = new Promise<void>((resolve) => server.close(() => resolve()));
          server.closeIdleConnections();
          await closed;
          await backends.close();
        })();
        return closing;
      },
    };
  } catch (error) {
    await backends.close();
    throw error;
  }
}
