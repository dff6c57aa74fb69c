import { createAccount, isGroupName, isPermission } from "./accounts.js";
import { createBackends } from "./backends.js";
import { type AppConfig, ConfigurationError, loadConfig } from "./config.js";

/** Where a command writes, and how it asks for a password (a TTY prompt, or nothing). */
export interface CommandIO {
  readonly env: NodeJS.ProcessEnv;
  out(line: string): void;
  err(line: string): void;
  /** Asks for a secret without echoing it; `null` when there is no terminal to ask on. */
  promptSecret: ((prompt: string) => Promise<string>) | null;
}

export const USAGE = `Usage: node dist/cli.js <command>

  migrate                                   create the tables, indexes and collections the configured stores need
  clearsessions                             remove expired sessions (for stores that do not expire them natively)
  createuser <username> [--superuser] [--group <g>]...
                                            create a user; the password comes from PORTER_PASSWORD or a prompt
  grant <group> <permission>...             add permissions (app_label.codename) to a group

The stores are chosen by the same environment variables as the server (see README.md).`;

class UsageError extends Error {}

interface CreateUserArgs {
  username: string;
  superuser: boolean;
  groups: string[];
}

function parseCreateUser(args: readonly string[]): CreateUserArgs {
  const parsed: CreateUserArgs = { username: "", superuser: false, groups: [] };
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (arg === "--superuser") parsed.superuser = true;
    else if (arg === "--group" || arg.startsWith("--group=")) {
      const group = arg === "--group" ? args[++i] : arg.slice("--group=".length);
      if (group === undefined || group === "") throw new UsageError("--group needs a group name");
      parsed.groups.push(group);
    } else if (arg.startsWith("--")) throw new UsageError(`unknown option ${arg}`);
    else if (parsed.username === "") parsed.username = arg;
    else throw new UsageError(`unexpected argument ${arg}`);
  }
  if (parsed.username === "") throw new UsageError("createuser needs a username");
  return parsed;
}

async function readPassword(io: CommandIO): Promise<string> {
  const fromEnv = io.env.PORTER_PASSWORD;
  if (fromEnv !== undefined && fromEnv !== "") return fromEnv;
  if (io.promptSecret === null) {
    throw new UsageError("no terminal to ask for the password on: set PORTER_PASSWORD");
  }
  const first = await io.promptSecret("Password: ");
  const second = await io.promptSecret("Password (again): ");
  if (first !== second) throw new UsageError("the passwords do not match");
  return first;
}

/** Runs one command; resolves the process exit code. */
export async function runCommand(argv: readonly string[], io: CommandIO): Promise<number> {
  const [command, ...args] = argv;
  if (command === undefined || command === "help" || command === "--help" || command === "-h") {
    (command === undefined ? io.err : io.out)(USAGE);
    return command === undefined ? 2 : 0;
  }
  if (!["migrate", "clearsessions", "createuser", "grant"].includes(command)) {
    io.err(`unknown command ${command}\n\n${USAGE}`);
    return 2;
  }

  let config: AppConfig;
  let createArgs: CreateUserArgs | undefined;
  try {
    if (command === "createuser") createArgs = parseCreateUser(args);
    if (command === "grant") {
      const [group, ...permissions] = args;
      if (group === undefined || permissions.length === 0)
        throw new UsageError("grant needs a group and permissions");
      if (!isGroupName(group)) throw new UsageError(`${group} is not a valid group name`);
      const bad = permissions.find((p) => !isPermission(p));
      if (bad !== undefined) throw new UsageError(`${bad} is not a permission (app_label.codename)`);
    }
    config = loadConfig(io.env);
  } catch (error) {
    if (error instanceof UsageError || error instanceof ConfigurationError) {
      io.err(`error: ${error.message}`);
      return 2;
    }
    throw error;
  }

  const backends = createBackends(config);
  try {
    switch (command) {
      case "migrate": {
        for (const name of await backends.migrate()) io.out(`ready: ${name}`);
        await backends.seed();
        io.out(`ready: group readers (notes.view unless it already had permissions)`);
        io.out(`migrated sessions=${config.sessions} users=${config.users}`);
        return 0;
      }
      case "clearsessions": {
        const removed = await backends.clearExpiredSessions();
        io.out(`removed ${removed} expired session${removed === 1 ? "" : "s"} (sessions=${config.sessions})`);
        return 0;
      }
      case "createuser": {
        const { username, superuser, groups } = createArgs!;
        const password = await readPassword(io);
        const result = await createAccount(backends.users, {
          username,
          password,
          groups,
          isSuperuser: superuser,
        });
        if (!result.ok) {
          io.err(`error: ${result.problem}`);
          return 1;
        }
        const inGroups = groups.length > 0 ? `, groups: ${groups.join(", ")}` : "";
        io.out(
          `created ${superuser ? "superuser" : "user"} ${result.user.username} (id ${result.user.id}${inGroups})`,
        );
        return 0;
      }
      default: {
        const [group, ...permissions] = args as [string, ...string[]];
        const current = await backends.users.groupPermissions([group]);
        const next = [...new Set([...current, ...permissions])].sort();
        await backends.users.setGroupPermissions(group, next);
        io.out(`group ${group}: ${next.join(", ")}`);
        return 0;
      }
    }
  } catch (error) {
    if (error instanceof UsageError) {
      io.err(`error: ${error.message}`);
      return 2;
    }
    throw error;
  } finally {
    await backends.close();
  }
}
