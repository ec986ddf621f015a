// `bootlab serve …` runs until asked to stop; stopping on request is a clean exit, so the servers wait for
// SIGINT/SIGTERM themselves instead of the CLI's stop-everything handler.

/** Resolves with the name of the first SIGINT or SIGTERM, then stops listening. */
export function untilSignal(): Promise<"SIGINT" | "SIGTERM"> {
  return new Promise((done) => {
    const on = (sig: "SIGINT" | "SIGTERM") => () => {
      process.off("SIGINT", onInt);
      process.off("SIGTERM", onTerm);
      done(sig);
    };
    const onInt = on("SIGINT");
    const onTerm = on("SIGTERM");
    process.on("SIGINT", onInt);
    process.on("SIGTERM", onTerm);
  });
}
