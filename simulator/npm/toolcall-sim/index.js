// The toolcall simulator from Node: find the platform package's binary,
// run `toolcall-sim serve`, and open isolated sessions on it (each with its
// own script, journal and counters; its base URLs carry its name).
import { spawn } from "node:child_process";
import { createRequire } from "node:module";
import { createInterface } from "node:readline";

const require = createRequire(import.meta.url);

/** The platform package of this machine, as esbuild and Biome name theirs. */
export function platformPackage() {
  return `@toolcall/sim-${process.platform}-${process.arch}`;
}

/** The path of `toolcall-sim`: `$TOOLCALL_SIM_BIN`, else the platform package's. */
export function findBinary() {
  if (process.env.TOOLCALL_SIM_BIN) return process.env.TOOLCALL_SIM_BIN;
  const name = platformPackage();
  const exe = process.platform === "win32" ? "toolcall-sim.exe" : "toolcall-sim";
  try {
    return require.resolve(`${name}/bin/${exe}`);
  } catch {
    throw new Error(
      `toolcall-sim: the package ${name} is not installed (no build for this platform, ` +
        `or optional dependencies were skipped); set TOOLCALL_SIM_BIN to a toolcall-sim binary`,
    );
  }
}

/** A script turn used up or a request past the script, named by the server. */
export class VerifyError extends Error {
  constructor(report) {
    super(`toolcall-sim: ${report.message}`);
    this.name = "VerifyError";
    this.report = report;
  }
}

/** One isolated session of a server. */
export class Session {
  constructor(root, name) {
    this.name = name;
    this.baseUrl = `${root}/__sim/s/${name}`;
    /** For `new OpenAI({ baseURL })`. */
    this.openaiBaseUrl = `${this.baseUrl}/v1`;
    /** For `new Anthropic({ baseURL })`. */
    this.anthropicBaseUrl = this.baseUrl;
    /** For the Google Gen AI SDK's `httpOptions: { baseUrl }`. */
    this.geminiBaseUrl = this.baseUrl;
    /** Headers naming this session, for a client given the server's URL. */
    this.headers = { "x-sim-session": name };
  }

  async #call(method, path, body) {
    const response = await fetch(this.baseUrl + path, {
      method,
      headers: { "content-type": "application/json" },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const value = await response.json();
    if (response.status === 409 && value && "unused_turns" in value) throw new VerifyError(value);
    if (!response.ok) {
      throw new Error(`toolcall-sim: ${method} ${path}: ${response.status} ${value?.error?.message ?? ""}`);
    }
    return value;
  }

  /** Follow these turns from the first (an array, or `{ turns: [...] }`). */
  async script(turns) {
    const body = Array.isArray(turns) ? { turns } : turns;
    return (await this.#call("PUT", "/__sim/script", body)).turns;
  }

  /**
   * Answer from these fixtures, first match wins, before any script: an
   * array of `{ match: {...}, response: {...} }` (or `{ fixtures: [...] }`).
   * `match` takes `endpoint`, `model`, `user_message`, `tool_results`,
   * `tools`, `turn_index`; a fixture may add `times`, `min_uses`, `latency`.
   * A request none matches gets a 404 naming the closest (`unmatched:
   * "auto"`: auto mode answers it).
   */
  async fixtures(fixtures, { unmatched = "error" } = {}) {
    const body = Array.isArray(fixtures) ? { fixtures, unmatched } : fixtures;
    return (await this.#call("PUT", "/__sim/fixtures", body)).fixtures;
  }

  /** The requests of this session so far, oldest first. */
  async journal() {
    return (await this.#call("GET", "/__sim/journal")).entries;
  }

  /** Exact counts: requests, replies, errors, faults. */
  async stats() {
    return (await this.#call("GET", "/__sim/journal")).stats;
  }

  /** Throw a VerifyError naming unused turns and requests past the script. */
  async verify() {
    return this.#call("GET", "/__sim/verify");
  }

  /** End the session on the server. */
  async close() {
    await this.#call("DELETE", "/__sim/session");
  }
}

/** `toolcall-sim serve --port 0` as a child process. */
export class Server {
  static async start(args = [], binary = findBinary()) {
    const child = spawn(binary, ["serve", "--port", "0", ...args], {
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stderr = "";
    child.stderr.on("data", (chunk) => {
      stderr += chunk;
    });
    const line = await new Promise((resolve, reject) => {
      const lines = createInterface({ input: child.stdout });
      lines.once("line", (first) => {
        lines.close();
        resolve(first.trim());
      });
      child.once("error", reject);
      child.once("exit", (code) => reject(new Error(`toolcall-sim exited (${code}): ${stderr}`)));
    });
    return new Server(child, line.replace(/\/v1$/, ""));
  }

  constructor(child, url) {
    this.child = child;
    /** The root URL, without `/v1`. */
    this.url = url;
  }

  /** A session named `name` (letters, digits, `-_.:`). */
  session(name) {
    return new Session(this.url, name);
  }

  /** Stop the server and wait for it. */
  async close() {
    if (this.child.exitCode !== null) return;
    const exited = new Promise((resolve) => this.child.once("exit", resolve));
    this.child.kill("SIGTERM");
    await exited;
  }
}
