/** Everything the request handlers share, created once per mock registry. */
import type { AuthDecision, Authenticator } from "./auth.js";
import type { RequestContext } from "./http.js";
import type { ModeTable } from "./modes.js";
import type { RedirectSigner } from "./redirect.js";
import type { StatsRecorder } from "./stats.js";
import type { RegistryStorage, UploadSession } from "./storage/types.js";
import type { BehaviourModes } from "./types.js";

export interface RegistryState {
  storage: RegistryStorage;
  modes: ModeTable;
  stats: StatsRecorder;
  auth: Authenticator;
  uploads: Map<string, UploadSession>;
  maxUploadBytes: number;
  maxManifestBytes: number;
  redirect: RedirectSigner;
}

/** One request being handled on the registry origin. */
export interface Handling {
  ctx: RequestContext;
  state: RegistryState;
  modes: BehaviourModes;
  decision: AuthDecision;
}
