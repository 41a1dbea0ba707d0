// Parse Mermaid diagrams with the real parser (mermaid 11 under jsdom).
// Reads one JSON-encoded diagram per line on stdin and answers each with one
// JSON line {"ok": bool, "error": string|null} on stdout, so a test session
// pays for loading mermaid once.
//
// The parser is the mermaid.min.js the site ships (archdoc/assets; test_site.py checks it is
// the npm package's own file), run as the browser runs it: one script that sets window.mermaid.
// It also loads in a third of the time of the package's many ES modules.
import { JSDOM } from "jsdom";
import fs from "node:fs";
import readline from "node:readline";
import vm from "node:vm";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const key of ["Element", "HTMLElement", "SVGElement", "DOMParser", "XMLSerializer"]) {
  if (!(key in globalThis)) globalThis[key] = dom.window[key];
}

const shipped = new URL("../../archdoc/assets/mermaid.min.js", import.meta.url);
vm.runInThisContext(fs.readFileSync(shipped, "utf8"), { filename: "mermaid.min.js" });
const mermaid = globalThis.mermaid;
mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });

const lines = readline.createInterface({ input: process.stdin, crlfDelay: Infinity });
for await (const line of lines) {
  if (!line.trim()) continue;
  let answer;
  try {
    await mermaid.parse(JSON.parse(line));
    answer = { ok: true, error: null };
  } catch (err) {
    const text = String(err && err.message ? err.message : err);
    answer = { ok: false, error: text.split("\n").slice(0, 4).join(" ") };
  }
  process.stdout.write(JSON.stringify(answer) + "\n");
}
