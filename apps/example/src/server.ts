import { ConfigurationError, loadConfig } from "./config.js";
import { startApp } from "./listen.js";

function fail(message: string): never {
  console.error(`error: ${message}`);
  process.exit(1);
}

let config: ReturnType<typeof loadConfig>;
try {
  config = loadConfig();
} catch (error) {
  if (error instanceof ConfigurationError) fail(error.message);
  throw error;
}
for (const warning of config.warnings) console.warn(`warning: ${warning}`);

let app: Awaited<ReturnType<typeof startApp>>;
try {
  app = await startApp(config);
} catch (error) {
  if ((error as NodeJS.ErrnoException).code === "EADDRINUSE") {
    fail(`${config.host}:${config.port} is in use; choose another port with PORT=…`);
  }
  const cause = (error as { cause?: unknown }).cause;
  const detail = cause instanceof Error ? ` (${cause.message})` : "";
  fail(
    `could not start: ${error instanceof Error ? error.message : String(error)}${detail}\n` +
      `Are the servers behind PORTER_SESSIONS=${config.sessions} and PORTER_USERS=${config.users} up, and their ` +
      "tables made? Run: pnpm --filter @porter/example migrate",
  );
}

console.log(
  `sessions=${config.sessions} users=${config.users} messages=${config.messages} data=${config.dataDir}`,
);
if (config.secureCookies) console.log("cookies are Secure (NODE_ENV=production): serve the app over HTTPS");
console.log(`Porter example listening on ${app.url}`);

for (const signal of ["SIGINT", "SIGTERM"] as const) {
  process.once(signal, () => {
    console.log(`${signal}: closing the server and the stores' clients`);
    const force = setTimeout(() => process.exit(1), 10_000);
    force.unref();
    app.close().then(
      () => process.exit(0),
      (error: unknown) => fail(`while closing: ${error instanceof Error ? error.message : String(error)}`),
    );
  });
}
