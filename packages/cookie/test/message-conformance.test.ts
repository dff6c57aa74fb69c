import { createFallbackStorage, createSessionMessageStorage } from "@porter/core";
import { describeMessageStorage } from "@porter/core/conformance";
import { createCookieMessageStorage } from "../src/index.js";
import { SECRET } from "./helpers.js";

describeMessageStorage("cookie", { create: () => createCookieMessageStorage({ secret: SECRET }) });

describeMessageStorage("fallback(cookie, session)", {
  create: () =>
    createFallbackStorage([createCookieMessageStorage({ secret: SECRET }), createSessionMessageStorage()]),
});
