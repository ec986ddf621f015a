// @ts-nocheck — deliberately malformed, for the validation tests
import { scenario } from "../../../harness/mod.ts";
export const s = scenario({ name: "exported under the wrong name", targets: "all" }, async () => {});
