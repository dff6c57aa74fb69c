#!/usr/bin/env node
import { runCommand } from "./commands.js";

/** Reads a line from the terminal without echoing it. */
function promptSecret(prompt: string): Promise<string> {
  const input = process.stdin;
  return new Promise((resolve, reject) => {
    let value = "";
    const finish = () => {
      input.off("data", onData);
      input.setRawMode(false);
      input.pause();
      process.stdout.write("\n");
    };
    const onData = (chunk: string) => {
      for (const ch of chunk) {
        if (ch === "\r" || ch === "\n") {
          finish();
          resolve(value);
          return;
        }
        if (ch === "\u0003" || ch === "\u0004") {
          finish();
          reject(new Error("cancelled"));
          return;
        }
        if (ch === "\u007f" || ch === "\b") value = Array.from(value).slice(0, -1).join("");
        else value += ch;
      }
    };
    process.stdout.write(prompt);
    input.setEncoding("utf8");
    input.setRawMode(true);
    input.resume();
    input.on("data", onData);
  });
}

try {
  process.exitCode = await runCommand(process.argv.slice(2), {
    env: process.env,
    out: (line) => console.log(line),
    err: (line) => console.error(line),
    promptSecret: process.stdin.isTTY ? promptSecret : null,
  });
} catch (error) {
  console.error(`error: ${error instanceof Error ? error.message : String(error)}`);
  const cause = (error as { cause?: unknown }).cause;
  if (cause instanceof Error) console.error(`  cause: ${cause.message}`);
  process.exitCode = 1;
}
