// @ts-nocheck — deliberately malformed, for the validation tests
import { scenario } from "../../../harness/mod.ts";
export default scenario({ name: "no body", targets: "all" }, "boot it");
