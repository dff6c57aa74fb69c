import { randomBytes } from "node:crypto";

/** Session lifetime used throughout, seconds (one day: Porter's touchAfter is then its default 3600 s). */
export const MAX_AGE = 86_400;

/**
 * A logged-in visitor's session of about 1 KB as JSON: the auth keys Porter (and Django) keep,
 * a profile, a cart and preferences, with nested objects, arrays and dates.
 */
export function sessionData(visitor: number): Record<string, unknown> {
  const day = 86_400_000;
  const t = Date.UTC(2025, 0, 15, 12, 0, 0);
  return {
    _auth_user_id: String(1000 + visitor),
    _auth_user_backend: "porter.auth.PasswordBackend",
    _auth_user_hash: "9f2c1b7e4a0d63c58e1f2a9b7c4d0e6f13a8b5c2d9e07f4a6b1c3d8e5f2a7b0c",
    csrf: "Jq3Xv9kLmP2sT8wR4yZ1aB6cD0eF5gH7iK",
    profile: {
      name: `Visitor ${visitor}`,
      email: `visitor${visitor}@example.com`,
      locale: "en-GB",
      timeZone: "Europe/London",
      roles: ["reader", "editor"],
      joined: new Date(t - 400 * day),
      lastSeen: new Date(t),
    },
    cart: {
      currency: "EUR",
      items: [
        { sku: "BK-1001", title: "The Django Book", qty: 1, price: 39.5, addedAt: new Date(t - 3 * day) },
        { sku: "MG-2002", title: "Coffee mug", qty: 2, price: 12, addedAt: new Date(t - 2 * day) },
        { sku: "ST-3003", title: "Sticker pack", qty: 5, price: 3.25, addedAt: new Date(t - day) },
      ],
      coupon: null,
    },
    prefs: {
      theme: "dark",
      pageSize: 50,
      notifications: { email: true, sms: false, push: { enabled: true, quietHours: [22, 7] } },
      recentSearches: ["session stores", "django signing", "pbkdf2 iterations"],
    },
    flow: { step: 3, startedAt: new Date(t - 600_000), answers: { a: 1, b: "two", c: [3, 4] } },
    counter: 0,
  };
}

/** The name of the value a modified request changes. */
export const CHANGED_KEY = "counter";

/** A unique tag for this run's keys, tables and directories (lower-case letters and digits). */
export const RUN_ID = `${Date.now().toString(36)}${randomBytes(3).toString("hex")}`;
