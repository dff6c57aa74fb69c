import { porterVitestConfig } from "../../vitest.shared.js";

export default porterVitestConfig();
