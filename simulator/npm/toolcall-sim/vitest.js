// The Vitest helper: `const sim = useToolcallSim()` at the top of a test
// file starts one server for the file, gives each test a session of its
// own (`sim.current`), and checks at each test's end that it used every
// scripted turn.
import { afterAll, afterEach, beforeAll, beforeEach } from "vitest";
import { Server } from "./index.js";

let counter = 0;

export function useToolcallSim({ args = [] } = {}) {
  const handle = { server: undefined, current: undefined };
  beforeAll(async () => {
    handle.server = await Server.start(args);
  });
  afterAll(async () => {
    await handle.server?.close();
  });
  beforeEach((context) => {
    const readable = (context.task?.name ?? "test").replace(/[^A-Za-z0-9_.-]+/g, "-").slice(0, 64);
    counter += 1;
    handle.current = handle.server.session(`${readable}.${process.pid}.${counter}`);
  });
  afterEach(async (context) => {
    const session = handle.current;
    handle.current = undefined;
    try {
      if (context.task?.result?.state !== "fail") await session.verify();
    } finally {
      await session.close();
    }
  });
  return handle;
}
