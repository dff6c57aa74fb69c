#!/usr/bin/env node
// Adds up what every test runner in a log reported (vitest's "Tests" lines, node:test's
// "# pass" lines) and prints one closing line: "tests: N passed, N failed, N skipped".
import { readFileSync } from "node:fs";

const text = readFileSync(process.argv[2], "utf8").replace(/\u001b\[[0-9;]*m/g, "");
let passed = 0;
let failed = 0;
let skipped = 0;
for (const line of text.split("\n")) {
  if (/^\S*\s*Tests\s+\d/.test(line.replace(/^@porter\/[\w-]+:test:\s*/, ""))) {
    passed += Number(/(\d+) passed/.exec(line)?.[1] ?? 0);
    failed += Number(/(\d+) failed/.exec(line)?.[1] ?? 0);
    skipped += Number(/(\d+) skipped/.exec(line)?.[1] ?? 0);
  }
  const tap = /:test:\s+# (pass|fail|skipped) (\d+)$/.exec(line);
  if (tap) {
    const n = Number(tap[2]);
    if (tap[1] === "pass") passed += n;
    else if (tap[1] === "fail") failed += n;
    else skipped += n;
  }
}
console.log(`tests: ${passed} passed, ${failed} failed, ${skipped} skipped`);
