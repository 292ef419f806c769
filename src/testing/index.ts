// Test doubles for switchboard pipelines: `import { scriptedModel } from "switchboard/testing"`.
export { scriptedModel } from "./scripted-model.ts"
export type { ScriptedCall, ScriptedModel, ScriptedReply } from "./scripted-model.ts"
export { memoryJournal } from "../runtime/journal.ts"
export { pathCases } from "../verify/testing.ts"
export type { PathCase } from "../verify/testing.ts"
export { replayModel, replayModels } from "../verify/replay.ts"
export type { ReplayModel } from "../verify/replay.ts"
