import { describeClientSessionStore } from "@porter/core/conformance";
import { createCookieSessionStore } from "../src/index.js";
import { OTHER_SECRET, SECRET } from "./helpers.js";

for (const mode of ["encrypted", "signed", "django"] as const) {
  describeClientSessionStore(`cookie (${mode})`, {
    create: () => createCookieSessionStore({ secret: SECRET, mode }),
    createWithOtherSecret: () => createCookieSessionStore({ secret: OTHER_SECRET, mode }),
    maxDataLength: 2500,
  });
}
