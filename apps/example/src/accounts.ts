import { makePassword, normalizeUsername, PorterError, type UserRecord, type UserStore } from "@porter/core";

export const MIN_PASSWORD_LENGTH = 8;
const PERMISSION = /^[a-z_][a-z0-9_]*\.[a-z0-9_]+$/;
const GROUP = /^[A-Za-z0-9_.-]{1,80}$/;

/** Why a new password is refused, or `null` (a small stand-in for Django's password validators). */
export function passwordProblem(password: string, username: string): string | null {
  if (password.length < MIN_PASSWORD_LENGTH)
    return `The password must be at least ${MIN_PASSWORD_LENGTH} characters.`;
  if (password.toLowerCase() === username.toLowerCase()) return "The password must not be the username.";
  if (/^\d+$/.test(password)) return "The password must not be entirely numeric.";
  return null;
}

/** Why a username is refused, or `null`. */
export function usernameProblem(username: string): string | null {
  if (normalizeUsername(username) === null) return "That username is not valid.";
  if (!/^[\p{L}\p{N}@.+_-]+$/u.test(username)) {
    return "Usernames may contain only letters, digits and @ . + - _ characters.";
  }
  return null;
}

export function isPermission(value: string): boolean {
  return PERMISSION.test(value);
}

export function isGroupName(value: string): boolean {
  return GROUP.test(value);
}

export type CreateUserResult = { ok: true; user: UserRecord } | { ok: false; problem: string };

/** Registration and `createuser`: validates, hashes (on the thread pool), creates. */
export async function createAccount(
  users: UserStore,
  input: { username: string; password: string; groups?: readonly string[]; isSuperuser?: boolean },
): Promise<CreateUserResult> {
  const problem = usernameProblem(input.username) ?? passwordProblem(input.password, input.username);
  if (problem !== null) return { ok: false, problem };
  for (const group of input.groups ?? []) {
    if (!isGroupName(group)) return { ok: false, problem: `${group} is not a valid group name.` };
  }
  try {
    const user = await users.create({
      username: input.username,
      passwordHash: await makePassword(input.password),
      groups: input.groups ?? [],
      isSuperuser: input.isSuperuser ?? false,
    });
    return { ok: true, user };
  } catch (error) {
    if (PorterError.is(error, "USERNAME_TAKEN")) return { ok: false, problem: "That username is taken." };
    throw error;
  }
}
