// Parse Mermaid diagrams with the real parser (mermaid 11 under jsdom).
// Reads one JSON-encoded diagram per line on stdin and answers each with one
// JSON line {"ok": bool, "error": string|null} on stdout, so a test session
// pays for loading mermaid once.
import { JSDOM } from "jsdom";
import readline from "node:readline";

const dom = new JSDOM("<!doctype html><html><body></body></html>", { pretendToBeVisual: true });
globalThis.window = dom.window;
globalThis.document = dom.window.document;
for (const key of ["Element", "HTMLElement", "SVGElement", "DOMParser", "XMLSerializer"]) {
  if (!(key in globalThis)) globalThis[key] = dom.window[key];
}

const { default: mermaid } = await import("mermaid");
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
