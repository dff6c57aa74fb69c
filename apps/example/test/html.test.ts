import { describe, expect, it } from "vitest";
import { escapeHtml, html, SafeHtml } from "../src/html.js";

describe("html", () => {
  it("escapes the five characters that matter in content and quoted attributes", () => {
    expect(escapeHtml(`<a href="x" title='y'>&amp;</a>`)).toBe(
      "&lt;a href=&quot;x&quot; title=&#x27;y&#x27;&gt;&amp;amp;&lt;/a&gt;",
    );
  });

  it("escapes every interpolation but nested html", () => {
    const name = `"><script>alert(1)</script>`;
    const out = html`<p title="${name}">${name} ${html`<b>${name}</b>`}</p>`.value;
    expect(out).not.toContain("<script>");
    expect(out).toBe(
      '<p title="&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;">&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt; ' +
        "<b>&quot;&gt;&lt;script&gt;alert(1)&lt;/script&gt;</b></p>",
    );
  });

  it("joins arrays and renders nothing for null, undefined and false", () => {
    expect(html`${["<", html`<i>`, 1]}|${null}|${undefined}|${false}|${0}`.value).toBe("&lt;<i>1||||0");
  });

  it("does not treat an object with a value property as safe", () => {
    expect(html`${{ value: "<b>", toString: () => "<b>" }}`.value).toBe("&lt;b&gt;");
    expect(html`${new SafeHtml("<b>")}`.value).toBe("<b>");
  });
});
